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
GTP_T_MAX           equ 24              ; 9, 10 gtp_sync.asm; 17-22 gtp_bcast.asm; 23, 24 gtp_delta.asm
GTP_ANNOUNCE_FIXED  equ gtp_announce_pl_size  ; 47: rev 20, kernel 20, objects 4, flags 2, vlen 1
GTP_VERSION_MAX     equ 32
GTP_DATA_FIXED      equ gtp_data_size   ; 48: hash 20, fid 4, offset 8, total 8, crc 4, otype 1, pad 3
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
	cmp word [gtp_size_max + rbx * 2], 0
	je .type                            ; a row without sizes: a type this node does not know
	movzx eax, word [rsi + gtp_hdr.length]
	cmp ax, [gtp_size_min + rbx * 2]
	jb .size
	cmp ax, [gtp_size_max + rbx * 2]
	ja .size
	cmp ebx, GTP_T_ANNOUNCE
	jne .size_ok
	movzx ecx, byte [rsi + gtp_hdr_size + gtp_announce_pl.vlen]
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
	mov r12d, ebx                       ; the type
	mov r13d, edx                       ; the flags
	mov eax, [net_rx_src_ip]            ; unicast answers go straight back
	mov rdx, net_rx_mac
	call arp_learn
	test r13d, GTP_FLAG_AUTH
	jz .accepted
	call gtp_auth_check                 ; HMAC and replay window; RBX = the sender's entry
	jc .out
.accepted:
	inc qword [gtp_rx_ok]
	mov [gtp_rx_frame], rsi
	jmp [gtp_handlers + r12 * 8]
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
gtp_size_min:       dw 0, GTP_ANNOUNCE_FIXED, gtp_who_has_size, gtp_i_have_size, gtp_get_size
                    dw GTP_DATA_FIXED, gtp_have_size, gtp_not_here_size, GTP_CONTROL_MIN
                    dw gtp_sync_req_size, gtp_sync_ans_size
                    times 6 dw 0        ; 11-16
                    dw bc_update_size + 1, bc_piece_size + 1, bc_pstatus_size, bc_pstatus_size, bc_pwho_size, bc_pmap_size + 1
                    dw gtp_get_delta_pl_size, GTP_DELTA_FIXED
gtp_size_max:       dw 0, GTP_ANNOUNCE_FIXED + GTP_VERSION_MAX, gtp_who_has_size, gtp_i_have_size, gtp_get_size
                    dw GTP_DATA_FIXED + GTP_CHUNK_MAX, gtp_have_size, gtp_not_here_size, GTP_PAYLOAD_MAX
                    dw gtp_sync_req_size, gtp_sync_ans_size + SYNC_PAGE * SYNC_ENTRY
                    times 6 dw 0        ; 11-16: no such type (dropped as type)
                    dw GTP_PAYLOAD_MAX, bc_piece_size + GTP_CHUNK_MAX, bc_pstatus_size, bc_pstatus_size, bc_pwho_size, bc_pmap_size + BC_MAP_BYTES
                    dw gtp_get_delta_pl_size, GTP_DELTA_FIXED + GTP_CHUNK_MAX
gtp_needs_auth:     db 0, GTP_FLAG_AUTH, 0, 0, 0, 0, 0, 0, GTP_FLAG_AUTH
                    db GTP_FLAG_AUTH, GTP_FLAG_AUTH   ; 9 SYNC_REQ, 10 SYNC_ANS
                    times 6 db 0        ; 11-16
                    db GTP_FLAG_AUTH, 0, 0, 0, 0, 0   ; 17 UPDATE .. 22 PIECE_MAP
                    db 0, 0             ; 23 GET_DELTA, 24 DELTA

GTP_KEY_MIN         equ 16
GTP_KEY_MAX         equ 64
GTP_HMAC_BLOCK      equ 64
GTP_PEERS           equ 64
GTP_ANNOUNCE_TICKS  equ 2000            ; every 2 s
GTP_STALE_TICKS     equ 10000           ; a peer not heard for 10 s is stale
GTP_WINDOW_BITS     equ 64              ; replay window (RFC 4303)
GTP_HOST_NODE       equ 65534           ; the host peer's node number

struc gtp_peer
  .node             resd 1              ; 0: free
  .ip               resd 1
  .mac              resb 6
  .vlen             resb 1
  .pad              resb 1
  .epoch            resd 1              ; replay window: newest (epoch, seq) accepted
  .seq              resd 1
  .window           resq 1              ; bit i: seq - i seen
  .heard            resq 1              ; ticks at the last verified ANNOUNCE
  .objects          resd 1
  .flags            resd 1
  .rev              resb HASH_SIZE
  .kernel           resb HASH_SIZE
  .version          resb GTP_VERSION_MAX
endstruc

; ---------------------------------------------------------------------------------------------
; gtp_init -- Reads the cluster key from fw_cfg (opt/gittorrent/key, 16-64 bytes) into the HMAC
; pads (the key itself is not kept), and takes the boot epoch from the RTC. Without a key,
; authenticated frames can be neither sent nor accepted. Prints EVENT gtp key=present|absent
; epoch=N. The query and fetch ids start from the epoch and the TSC, not from 0: peers answer a
; (node, qid) once and take DATA by fid, so a restarted node must not reuse its last life's ids.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
gtp_init:
	call rtc_unix_time
	mov [gtp_epoch], eax
	imul ebx, eax, 2654435761           ; (Knuth's multiplicative hash of the epoch)
	call rdtsc64
	xor eax, ebx
	mov [gtp_qid_next], eax
	rol eax, 16
	mov [gtp_fid_next], eax
	mov byte [gtp_have_key], 0
	mov rsi, str_gtp_key_file
	call fwcfg_find
	jc .report
	cmp eax, GTP_KEY_MIN
	jb .report
	cmp eax, GTP_KEY_MAX
	ja .report
	mov r8d, eax
	mov ax, bx
	call fwcfg_select
	mov rdi, gtp_hmac_ipad              ; raw key, zero-padded to the block
	mov ecx, r8d
	call fwcfg_read
	xor ecx, ecx
.pads:
	mov al, [gtp_hmac_ipad + rcx]
	mov dl, al
	xor al, 0x36
	xor dl, 0x5C
	mov [gtp_hmac_ipad + rcx], al
	mov [gtp_hmac_opad + rcx], dl
	inc ecx
	cmp ecx, GTP_HMAC_BLOCK
	jb .pads
	mov byte [gtp_have_key], 1
.report:
	mov rsi, str_ev_gtp
	call event_begin
	mov rsi, str_gtp_key_key
	mov rdx, str_gtp_present
	cmp byte [gtp_have_key], 0
	jne .say
	mov rdx, str_net_absent
.say:
	call event_kv_str
	mov rsi, str_gtp_key_epoch
	mov eax, [gtp_epoch]
	call event_kv_dec
	call event_end
	mov rax, [ticks]
	mov [gtp_next_announce], rax        ; the first ANNOUNCE at the first poll
	ret

; ---------------------------------------------------------------------------------------------
; gtp_hmac -- HMAC-SHA1 (RFC 2104) under the cluster key.
;  IN:  RSI = message, RCX = length, RDX = 20-byte output (may not overlap the message)
;  OUT: [RDX] = the MAC
;  CLOBBERS: nothing
gtp_hmac:
	push rdi
	push rsi
	push rcx
	mov rdi, gtp_sha_ctx
	call sha1_init
	push rsi
	push rcx
	mov rsi, gtp_hmac_ipad
	mov ecx, GTP_HMAC_BLOCK
	call sha1_update
	pop rcx
	pop rsi
	call sha1_update
	call sha1_final                     ; inner hash -> [RDX]
	call sha1_init
	mov rsi, gtp_hmac_opad
	mov ecx, GTP_HMAC_BLOCK
	call sha1_update
	mov rsi, gtp_hmac_inner
	push rdi
	mov rdi, rsi
	push rsi
	mov rsi, rdx
	mov ecx, HASH_SIZE
	rep movsb                           ; the inner hash, moved out of the output buffer
	pop rsi
	pop rdi
	mov ecx, HASH_SIZE
	call sha1_update
	call sha1_final
	pop rcx
	pop rsi
	pop rdi
	ret

; ---------------------------------------------------------------------------------------------
; gtp_peer_find -- The peer table entry of a node.
;  IN:  EAX = node number
;  OUT: CF = 0 and RBX = its entry; CF = 1 when unknown (RBX = a free or the stalest entry)
;  CLOBBERS: RCX, RDX
gtp_peer_find:
	push rdi
	xor ebx, ebx
	mov rdi, gtp_peers
	mov rdx, -1                         ; oldest heard seen
.scan:
	cmp [gtp_peers + rbx + gtp_peer.node], eax
	je .hit
	cmp dword [gtp_peers + rbx + gtp_peer.node], 0
	jne .used
	lea rdi, [gtp_peers + rbx]
	xor edx, edx
	jmp .next
.used:
	mov rcx, [gtp_peers + rbx + gtp_peer.heard]
	cmp rcx, rdx
	jae .next
	mov rdx, rcx
	lea rdi, [gtp_peers + rbx]
.next:
	add ebx, gtp_peer_size
	cmp ebx, GTP_PEERS * gtp_peer_size
	jb .scan
	mov rbx, rdi
	pop rdi
	stc
	ret
.hit:
	lea rbx, [gtp_peers + rbx]
	pop rdi
	clc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_auth_check -- An authenticated frame: its HMAC under the cluster key, then the sender's
; replay window (newest (epoch, seq) and a 64-bit bitmap below it; an older epoch is always a
; replay). Only a verified frame moves the window. A sender seen for the first time gets a
; peer entry here.
;  IN:  RSI = frame (header gate passed, AUTH set)
;  OUT: CF = 0 accepted (RBX = the sender's peer entry); CF = 1 dropped and counted (no key or
;       bad HMAC: auth + auth_fail; replay: replay)
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI
gtp_auth_check:
	cmp byte [gtp_have_key], 0
	je .bad
	movzx ecx, word [rsi + gtp_hdr.length]
	add ecx, gtp_hdr_size
	mov rdx, gtp_hmac_out
	call gtp_hmac
	lea rdi, [rsi + rcx]                ; the frame's MAC
	mov rax, [rdi]
	xor rax, [gtp_hmac_out]
	mov rdx, [rdi + 8]
	xor rdx, [gtp_hmac_out + 8]
	or rax, rdx
	mov edx, [rdi + 16]
	xor edx, [gtp_hmac_out + 16]
	or rax, rdx
	jnz .bad
	mov eax, [rsi + gtp_hdr.sender]
	call gtp_peer_find
	jnc .known
	; a new sender: a fresh entry, window empty
	mov rdi, rbx
	push rax
	xor eax, eax
	mov ecx, gtp_peer_size
	rep stosb
	pop rax
	mov [rbx + gtp_peer.node], eax
	jmp .newer_epoch
.known:
	mov eax, [rsi + gtp_hdr.epoch]
	cmp eax, [rbx + gtp_peer.epoch]
	jb .replay
	ja .newer_epoch
	mov eax, [rsi + gtp_hdr.seq]
	mov edx, [rbx + gtp_peer.seq]
	cmp eax, edx
	jbe .in_window
	sub eax, edx                        ; shift
	cmp eax, GTP_WINDOW_BITS
	jae .reset_window
	mov ecx, eax
	mov rax, [rbx + gtp_peer.window]
	shl rax, cl
	or rax, 1
	mov [rbx + gtp_peer.window], rax
	mov eax, [rsi + gtp_hdr.seq]
	mov [rbx + gtp_peer.seq], eax
	clc
	ret
.in_window:
	sub edx, eax                        ; how far below the newest
	cmp edx, GTP_WINDOW_BITS
	jae .replay
	mov ecx, edx
	mov rax, 1
	shl rax, cl
	test [rbx + gtp_peer.window], rax
	jnz .replay
	or [rbx + gtp_peer.window], rax
	clc
	ret
.newer_epoch:
	mov eax, [rsi + gtp_hdr.epoch]
	mov [rbx + gtp_peer.epoch], eax
.reset_window:
	mov eax, [rsi + gtp_hdr.seq]
	mov [rbx + gtp_peer.seq], eax
	mov qword [rbx + gtp_peer.window], 1
	clc
	ret
.bad:
	inc qword [gtp_auth_fail]
	mov eax, NET_DROP_AUTH
	call net_drop
	stc
	ret
.replay:
	inc qword [gtp_replay]
	mov eax, NET_DROP_REPLAY
	call net_drop
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_send -- Sends one GTP frame whose payload the caller wrote at gtp_tx_payload: fills the
; header (sender, epoch, next seq), appends the HMAC for ANNOUNCE and CONTROL.
;  IN:  AL = type, ECX = payload bytes, EDX = destination IPv4 (network order; NET_GROUP_N for
;       the group), R8 = destination MAC or 0 to resolve it
;  OUT: CF = 0 sent; CF = 1 not sent (no key for an authenticated type, no route yet, no slot)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
gtp_send:
	mov word [gtp_tx_buf + gtp_hdr.magic], GTP_MAGIC
	mov byte [gtp_tx_buf + gtp_hdr.version], GTP_VERSION
	mov [gtp_tx_buf + gtp_hdr.type], al
	mov [gtp_tx_buf + gtp_hdr.length], cx
	movzx eax, al
	movzx ebx, byte [gtp_needs_auth + rax]
	mov [gtp_tx_buf + gtp_hdr.flags], bx
	mov eax, [net_node]
	mov [gtp_tx_buf + gtp_hdr.sender], eax
	mov eax, [gtp_epoch]
	mov [gtp_tx_buf + gtp_hdr.epoch], eax
	inc dword [gtp_seq]
	mov eax, [gtp_seq]
	mov [gtp_tx_buf + gtp_hdr.seq], eax
	add ecx, gtp_hdr_size
	test ebx, ebx
	jz .send
	cmp byte [gtp_have_key], 0
	je .no_key
	push rdx
	mov rsi, gtp_tx_buf
	lea rdx, [gtp_tx_buf + rcx]
	call gtp_hmac
	pop rdx
	add ecx, GTP_HMAC_BYTES
.send:
	mov eax, edx
	mov rsi, gtp_tx_buf
	mov rdx, r8
	call udp_send
	ret
.no_key:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_announce -- Multicasts ANNOUNCE: the mainline head (filesystem revision), the booted
; kernel commit, the object count and the kernel version.
;  IN:  nothing
;  OUT: gtp_announced_rev = the revision sent
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
gtp_announce:
	mov rdi, gtp_tx_payload
	xor eax, eax
	mov ecx, GTP_ANNOUNCE_FIXED
	rep stosb
	call gtp_current_rev
	mov rdi, gtp_tx_payload
	mov ecx, HASH_SIZE
	rep movsb                           ; rev
	mov rsi, hc_commit
	mov ecx, HASH_SIZE
	rep movsb                           ; kernel
	mov rbx, [gitfs_sb_ptr]
	xor eax, eax
	test rbx, rbx
	jz .count
	cmp byte [fs_mounted], 0
	je .count
	mov eax, [rbx + gitfs_sb.index_count]
.count:
	stosd                               ; objects
	xor eax, eax
	stosw                               ; flags
	mov rsi, str_version
	xor ecx, ecx
.vlen:
	cmp byte [rsi + rcx], 0
	je .vlen_done
	inc ecx
	cmp ecx, GTP_VERSION_MAX
	jb .vlen
.vlen_done:
	mov [rdi], cl
	inc rdi
	push rcx
	rep movsb
	pop rcx
	add ecx, GTP_ANNOUNCE_FIXED
	mov rsi, gtp_tx_payload
	mov rdi, gtp_announced_rev
	push rcx
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	mov al, GTP_T_ANNOUNCE
	mov edx, NET_GROUP_N
	xor r8d, r8d
	call gtp_send
	jc .out
	inc qword [gtp_announces]
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_current_rev -- The filesystem revision: the mainline head (zeros when nothing is mounted).
;  IN:  nothing
;  OUT: RSI = 20 bytes
;  CLOBBERS: nothing
gtp_current_rev:
	mov rsi, gtp_zero20
	cmp byte [fs_mounted], 0
	je .out
	mov rsi, [gitfs_sb_ptr]
	test rsi, rsi
	jz .none
	add rsi, SB_HDR_SIZE + gitfs_ref.target
.out:
	ret
.none:
	mov rsi, gtp_zero20
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_announce -- A verified ANNOUNCE: the peer table entry (gtp_auth_check made or found
; it) takes the sender's address, revision, kernel, object count and version.
;  IN:  RSI = frame, RBX = the sender's peer entry; net_rx_src_ip, net_rx_mac
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RSI, RDI
gtp_rx_announce:
	mov eax, [net_rx_src_ip]
	mov [rbx + gtp_peer.ip], eax
	mov eax, [net_rx_mac]
	mov [rbx + gtp_peer.mac], eax
	mov ax, [net_rx_mac + 4]
	mov [rbx + gtp_peer.mac + 4], ax
	mov rax, [ticks]
	mov [rbx + gtp_peer.heard], rax
	add rsi, gtp_hdr_size
	lea rdi, [rbx + gtp_peer.rev]
	mov ecx, 2 * HASH_SIZE
	rep movsb                           ; rev and kernel (adjacent in both)
	lodsd
	mov [rbx + gtp_peer.objects], eax
	lodsw
	movzx eax, ax
	mov [rbx + gtp_peer.flags], eax
	lodsb
	mov [rbx + gtp_peer.vlen], al       ; <= GTP_VERSION_MAX (the gate checked it)
	movzx ecx, al
	lea rdi, [rbx + gtp_peer.version]
	rep movsb
	inc qword [gtp_announces_rx]
	ret

; ---------------------------------------------------------------------------------------------
; gtp_tick -- The protocol's timers, from net_poll: ANNOUNCE every 2 s and when the revision
; changed; delayed I_HAVE answers.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_tick:
	call gtp_current_rev
	mov rdi, gtp_announced_rev
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .announce
	mov rax, [ticks]
	cmp rax, [gtp_next_announce]
	jb .answers
.announce:
	mov rax, [ticks]
	add rax, GTP_ANNOUNCE_TICKS
	mov [gtp_next_announce], rax
	call gtp_announce
.answers:
	call gtp_answer_due
	call bc_tick
	ret

; ---------------------------------------------------------------------------------------------
; gtp_peer_count -- Peers heard in the last 10 s.
;  IN:  nothing
;  OUT: RAX = count
;  CLOBBERS: nothing
gtp_peer_count:
	push rbx
	push rcx
	push rdx
	xor eax, eax
	xor ebx, ebx
.scan:
	cmp dword [gtp_peers + rbx + gtp_peer.node], 0
	je .next
	cmp qword [gtp_peers + rbx + gtp_peer.heard], 0
	je .next                            ; a window without an ANNOUNCE yet
	mov rcx, [ticks]
	sub rcx, [gtp_peers + rbx + gtp_peer.heard]
	cmp rcx, GTP_STALE_TICKS
	jae .next
	inc eax
.next:
	add ebx, gtp_peer_size
	cmp ebx, GTP_PEERS * gtp_peer_size
	jb .scan
	pop rdx
	pop rcx
	pop rbx
	ret

; ---------------------------------------------------------------------------------------------
; cmd_peers -- `peers`: one EVENT peer line per node heard: node, ip, mac, rev, kernel, version,
; objects, age (ms since its last ANNOUNCE), state=live|stale.
;  IN:  RSI = arguments (ignored)
;  OUT: CF = 0
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI
cmd_peers:
	cmp byte [net_up], 0
	je .none
	xor ebx, ebx
.row:
	cmp dword [gtp_peers + rbx + gtp_peer.node], 0
	je .next
	cmp qword [gtp_peers + rbx + gtp_peer.heard], 0
	je .next
	mov rsi, str_ev_peer
	call event_begin
	mov rsi, str_net_key_node
	mov eax, [gtp_peers + rbx + gtp_peer.node]
	call event_kv_dec
	mov rsi, str_net_key_ip
	call event_key
	mov eax, [gtp_peers + rbx + gtp_peer.ip]
	call net_put_ip
	mov rsi, str_net_key_mac
	call event_key
	lea rsi, [gtp_peers + rbx + gtp_peer.mac]
	call net_put_mac
	mov rsi, str_key_rev
	call event_key
	lea rsi, [gtp_peers + rbx + gtp_peer.rev]
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_key_kernel
	call event_key
	lea rsi, [gtp_peers + rbx + gtp_peer.kernel]
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_key_version
	call event_key
	movzx ecx, byte [gtp_peers + rbx + gtp_peer.vlen]
	lea rsi, [gtp_peers + rbx + gtp_peer.version]
	call gtp_put_word
	mov rsi, str_gtp_key_objects
	mov eax, [gtp_peers + rbx + gtp_peer.objects]
	call event_kv_dec
	mov rsi, str_gtp_key_age
	mov rax, [ticks]
	sub rax, [gtp_peers + rbx + gtp_peer.heard]
	call event_kv_dec
	mov rsi, str_net_key_state
	mov rdx, str_gtp_live
	cmp rax, GTP_STALE_TICKS
	jb .state
	mov rdx, str_gtp_stale
.state:
	call event_kv_str
	call event_end
.next:
	add ebx, gtp_peer_size
	cmp ebx, GTP_PEERS * gtp_peer_size
	jb .row
	clc
	ret
.none:
	mov rdx, str_net_no_network
	jmp shell_error

; ---------------------------------------------------------------------------------------------
; gtp_put_word -- Writes bytes from the wire as one event value: printable non-space ASCII as
; is, anything else as '?'.
;  IN:  RSI = bytes, RCX = count
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RSI
gtp_put_word:
	test ecx, ecx
	jz .done
.byte:
	lodsb
	cmp al, '!'
	jb .subst
	cmp al, '~'
	jbe .put
.subst:
	mov al, '?'
.put:
	call serial_putc
	dec ecx
	jnz .byte
.done:
	ret

align 8
gtp_handlers:
	dq gtp_ignore, gtp_rx_announce, gtp_rx_who_has, gtp_rx_i_have, gtp_rx_get
	dq gtp_rx_data, gtp_rx_have, gtp_rx_not_here, gtp_rx_control
	dq gtp_rx_sync_req, gtp_rx_sync_ans
	times 6 dq gtp_ignore               ; 11-16 (the gate drops them as type)
	dq gtp_rx_update, gtp_rx_piece, gtp_rx_pstatus, gtp_rx_pget, gtp_rx_pwho, gtp_rx_pmap
	dq gtp_rx_get_delta, gtp_rx_delta
gtp_counter_table:
	dq str_gc_gtp_rx, gtp_rx_ok
	dq str_gc_announces, gtp_announces
	dq str_gc_announces_rx, gtp_announces_rx
	dq str_gc_i_have, gtp_i_have_sent
	dq str_gc_data, gtp_data_sent
	dq str_gc_retransmits, gtp_retransmits
	dq str_gc_bad_chunk, gtp_bad_chunk
	dq str_gc_bad_object, gtp_bad_object
	dq str_gc_auth_fail, gtp_auth_fail
	dq str_gc_replay, gtp_replay
	dq str_gc_bad_delta, gtp_bad_delta  ; gtp_delta.asm
	dq str_gc_deltas_made, gtp_deltas_made
	dq str_gc_delta_tx, gtp_delta_tx
	dq str_gc_commit_repeats, gtp_c_repeats   ; gtp_control.asm
	dq 0, 0

; ---------------------------------------------------------------------------------------------
; gtp_ignore -- A message this node does not act on (CONTROL: not implemented yet).
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: nothing
gtp_ignore:
	ret

str_gtp_key_file:    db "opt/gittorrent/key", 0
str_ev_gtp:          db "gtp", 0
str_ev_peer:         db "peer", 0
str_gtp_key_key:     db "key", 0
str_gtp_key_epoch:   db "epoch", 0
str_gtp_key_objects: db "objects", 0
str_gtp_key_age:     db "age", 0
str_gtp_present:     db "present", 0
str_gtp_live:        db "live", 0
str_gtp_stale:       db "stale", 0
str_key_kernel:      db "kernel", 0
str_gc_gtp_rx:       db "gtp_rx", 0
str_gc_announces:    db "announces", 0
str_gc_announces_rx: db "announces_rx", 0
str_gc_i_have:       db "i_have", 0
str_gc_data:         db "data_tx", 0
str_gc_retransmits:  db "retransmits", 0
str_gc_bad_chunk:    db "bad_chunk", 0
str_gc_bad_object:   db "bad_object", 0
str_gc_auth_fail:    db "auth_fail", 0
str_gc_replay:       db "replay", 0
gtp_zero20:          times HASH_SIZE db 0

	section .bss
	alignb 8
gtp_rx_ok:          resq 1              ; frames through the header gate
gtp_announces:      resq 1
gtp_announces_rx:   resq 1
gtp_i_have_sent:    resq 1
gtp_data_sent:      resq 1
gtp_retransmits:    resq 1
gtp_bad_chunk:      resq 1
gtp_bad_object:     resq 1
gtp_auth_fail:      resq 1
gtp_replay:         resq 1
gtp_rx_frame:       resq 1
gtp_next_announce:  resq 1
gtp_epoch:          resd 1
gtp_seq:            resd 1
gtp_have_key:       resb 1
	alignb 16
gtp_hmac_ipad:      resb GTP_HMAC_BLOCK  ; key ^ 0x36 (the key is never kept or printed)
gtp_hmac_opad:      resb GTP_HMAC_BLOCK  ; key ^ 0x5c
gtp_hmac_inner:     resb HASH_SIZE
gtp_hmac_out:       resb HASH_SIZE
gtp_announced_rev:  resb HASH_SIZE
	alignb 16
gtp_sha_ctx:        resb sha1_ctx_size
	alignb 16
gtp_tx_buf:         resb gtp_hdr_size
gtp_tx_payload:     resb UDP_MAX_PAYLOAD
	alignb 8
gtp_peers:          resb GTP_PEERS * gtp_peer_size
	section .text
