; gtp.asm -- the gittorrent cluster protocol (GTP) v1 over UDP port 7184: the header gate
; (docs/protocol.md, "Frame": every field checked before any payload byte is read), then one
; handler per message type.

; payload sizes (docs/protocol.md, "Messages")
GTP_T_ANNOUNCE      equ 1
GTP_T_WHO_HAS       equ 2
GTP_T_I_HAVE        equ 3
GTP_T_GET           equ 4
GTP_T_DATA          equ 5
GTP_T_HAVE          equ 6
GTP_T_NOT_HERE      equ 7
GTP_T_CONTROL       equ 8
GTP_T_MAX           equ 8
GTP_ANNOUNCE_FIXED  equ 47              ; rev 20, kernel 20, objects 4, flags 2, vlen 1
GTP_VERSION_MAX     equ 32
GTP_CHUNK_MAX       equ 1400
GTP_DATA_FIXED      equ 48              ; hash 20, fid 4, offset 8, total 8, crc 4, otype 1, pad 3
GTP_CONTROL_MIN     equ 4
GTP_PAYLOAD_MAX     equ UDP_MAX_PAYLOAD - gtp_hdr_size - GTP_HMAC_BYTES

; ---------------------------------------------------------------------------------------------
; gtp_rx -- One UDP payload to our port: the header gate, then the type's handler.
; Checked in the order docs/protocol.md lists: length >= header (short), magic, version (and no
; unknown flag bit), 20 + length (+ 20 with AUTH) = datagram length (length), type known (type),
; payload size for the type (size), AUTH present exactly for ANNOUNCE and CONTROL (auth),
; sender not 0 and not us (self).
;  IN:  RSI = GTP frame, ECX = its length; net_rx_src_ip, net_rx_mac
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R14
gtp_rx:
	cmp ecx, gtp_hdr_size
	jb .short
	cmp word [rsi + gtp_hdr.magic], GTP_MAGIC
	jne .magic
	cmp byte [rsi + gtp_hdr.version], GTP_VERSION
	jne .version
	movzx edx, word [rsi + gtp_hdr.flags]
	test edx, ~GTP_FLAG_AUTH
	jnz .version
	movzx eax, word [rsi + gtp_hdr.length]
	add eax, gtp_hdr_size
	test edx, GTP_FLAG_AUTH
	jz .len_plain
	add eax, GTP_HMAC_BYTES
.len_plain:
	cmp eax, ecx
	jne .length
	movzx ebx, byte [rsi + gtp_hdr.type]
	test ebx, ebx
	jz .type
	cmp ebx, GTP_T_MAX
	ja .type
	movzx eax, word [rsi + gtp_hdr.length]
	cmp ax, [gtp_size_min + rbx * 2]
	jb .size
	cmp ax, [gtp_size_max + rbx * 2]
	ja .size
	cmp ebx, GTP_T_ANNOUNCE
	jne .size_ok
	movzx ecx, byte [rsi + gtp_hdr_size + GTP_ANNOUNCE_FIXED - 1]   ; vlen
	cmp ecx, GTP_VERSION_MAX
	ja .size
	add ecx, GTP_ANNOUNCE_FIXED
	cmp eax, ecx
	jne .size
.size_ok:
	movzx ecx, byte [gtp_needs_auth + rbx]
	mov eax, edx
	and eax, GTP_FLAG_AUTH
	cmp eax, ecx
	jne .auth
	mov eax, [rsi + gtp_hdr.sender]
	test eax, eax
	jz .self
	cmp eax, [net_node]
	je .self
	test edx, GTP_FLAG_AUTH
	jz .accepted
	call gtp_auth_check                 ; HMAC and replay window
	jc .out
.accepted:
	inc qword [gtp_rx_ok]
	mov [gtp_rx_frame], rsi
	jmp [gtp_handlers + rbx * 8]
.out:
	ret
.short:
	mov eax, NET_DROP_SHORT
	jmp net_drop
.magic:
	mov eax, NET_DROP_MAGIC
	jmp net_drop
.version:
	mov eax, NET_DROP_VERSION
	jmp net_drop
.length:
	mov eax, NET_DROP_LENGTH
	jmp net_drop
.type:
	mov eax, NET_DROP_TYPE
	jmp net_drop
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop
.auth:
	mov eax, NET_DROP_AUTH
	jmp net_drop
.self:
	mov eax, NET_DROP_SELF
	jmp net_drop

align 2
gtp_size_min:       dw 0, GTP_ANNOUNCE_FIXED, 24, 36, 36, GTP_DATA_FIXED + 1, 32, 24, GTP_CONTROL_MIN
gtp_size_max:       dw 0, GTP_ANNOUNCE_FIXED + GTP_VERSION_MAX, 24, 36, 36
                    dw GTP_DATA_FIXED + GTP_CHUNK_MAX, 32, 24, GTP_PAYLOAD_MAX
gtp_needs_auth:     db 0, GTP_FLAG_AUTH, 0, 0, 0, 0, 0, 0, GTP_FLAG_AUTH

; ---------------------------------------------------------------------------------------------
; gtp_auth_check -- The HMAC and replay window of an authenticated frame.
;  IN:  RSI = frame (header gate passed, AUTH set)
;  OUT: CF = 0 accepted; CF = 1 dropped and counted (no key, bad HMAC: auth; replay)
;  CLOBBERS: RAX, RCX, RDX, RDI, R8-R14
gtp_auth_check:
	inc qword [gtp_auth_fail]
	mov eax, NET_DROP_AUTH
	call net_drop
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_ignore -- A message type this node does not act on yet.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: nothing
gtp_ignore:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_tick -- The protocol's timers, from net_poll.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_tick:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_peer_count -- Peers heard.
;  IN:  nothing
;  OUT: RAX = count
;  CLOBBERS: nothing
gtp_peer_count:
	xor eax, eax
	ret

align 8
gtp_handlers:
	dq gtp_ignore, gtp_ignore, gtp_ignore, gtp_ignore, gtp_ignore
	dq gtp_ignore, gtp_ignore, gtp_ignore, gtp_ignore
gtp_counter_table:
	dq str_gc_gtp_rx, gtp_rx_ok
	dq str_gc_auth_fail, gtp_auth_fail
	dq 0, 0

str_gc_gtp_rx:       db "gtp_rx", 0
str_gc_auth_fail:    db "auth_fail", 0

	section .bss
	alignb 8
gtp_rx_ok:          resq 1              ; frames through the header gate
gtp_auth_fail:      resq 1
gtp_rx_frame:       resq 1
	section .text
