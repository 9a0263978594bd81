; net.asm -- the network stack above the e1000 driver: Ethernet, ARP, IPv4, ICMP echo, UDP.
; Read RFC 826 (ARP), 791 (IPv4), 792 (ICMP), 768 (UDP), 1112 (multicast) first; the cluster's
; addressing plan is docs/protocol.md. Frame layouts are the strucs of include/net.inc.
;
; Receive: e1000_poll -> net_rx (Ethernet) -> arp_rx | ip_rx -> icmp_rx | udp_rx -> gtp_rx.
; Each layer's routine checks every length it relies on before it reads a field (the one gate
; for untrusted bytes); anything malformed is dropped and counted under a named reason.
; Transmit: ip_tx_prepare (resolves the MAC, fills Ethernet + IPv4) -> the caller writes the
; layer-4 bytes -> ip_tx_commit; udp_send does all of that for one UDP datagram.

; drop reasons: index into net_drops and net_drop_names (docs/protocol.md, "Frame")
NET_DROP_SHORT      equ 0
NET_DROP_MAGIC      equ 1
NET_DROP_VERSION    equ 2
NET_DROP_LENGTH     equ 3
NET_DROP_TYPE       equ 4
NET_DROP_SIZE       equ 5
NET_DROP_AUTH       equ 6
NET_DROP_REPLAY     equ 7
NET_DROP_SELF       equ 8
NET_DROP_CSUM       equ 9
NET_DROP_PROTO      equ 10
NET_DROP_FRAG       equ 11
NET_DROP_ADDR       equ 12
NET_DROP_REASONS    equ 13

ARP_ENTRIES         equ 32

struc arp_entry
  .ip               resd 1              ; network order; 0 = free
  .mac              resb 6
  .pad              resw 1
  .stamp            resq 1              ; ticks when last heard
endstruc

; ---------------------------------------------------------------------------------------------
; net_init -- After e1000_init (called first in bring-up, so QEMU's 1 s receive delay
; overlaps the rest of it): derives the node number and IPv4 address from the MAC and reads the
; cluster key (gtp_init). Prints nothing itself: net_report does, once the TSC is calibrated.
;  IN:  e1000_init done
;  OUT: net_up = 1 when the NIC works (then gtp_init has read the key and the epoch)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
net_init:
	cmp byte [e1000_present], 0
	je .no_nic
	movzx eax, byte [e1000_mac + 4]
	shl eax, 8
	mov al, [e1000_mac + 5]
	mov [net_node], eax                 ; node number HI * 256 + LO
	movzx eax, word [e1000_mac + 4]     ; bytes HI, LO
	shl eax, 16
	or eax, NET_NET_N & 0xFFFF          ; 10.77.HI.LO in network order
	mov [net_ip], eax
	mov byte [net_up], 1
	call gtp_init
.no_nic:
	ret

; ---------------------------------------------------------------------------------------------
; net_report -- Prints the NIC's bring-up: EVENT net mac=... ip=... node=N link=up|down
; rctl_ms=T (ms since reset at the RCTL write), or state=absent / state=error reason=....
;  IN:  net_init done; tsc_per_ms calibrated (time_calibrate)
;  OUT: nothing
;  CLOBBERS: RAX, RDX, RSI
net_report:
	mov rsi, str_ev_net
	call event_begin
	cmp byte [net_up], 0
	je .no_nic
	call net_put_identity
	mov rsi, str_net_key_rctl_ms
	mov rax, [e1000_rctl_tsc]
	call net_put_tsc_ms
	call event_end
	ret
.no_nic:
	mov rsi, str_net_key_state
	mov rdx, [e1000_fail]
	test rdx, rdx
	jnz .failed
	mov rdx, str_net_absent
	call event_kv_str
	call event_end
	ret
.failed:
	mov rdx, str_net_error
	call event_kv_str
	mov rsi, str_key_reason
	mov rdx, [e1000_fail]
	call event_kv_str
	call event_end
	ret

; ---------------------------------------------------------------------------------------------
; net_put_tsc_ms -- (internal) writes " KEY=N": a TSC value as milliseconds since reset.
;  IN:  RSI = key, RAX = TSC value
;  OUT: nothing
;  CLOBBERS: RAX, RDX
net_put_tsc_ms:
	xor edx, edx
	div qword [tsc_per_ms]
	jmp event_kv_dec

; ---------------------------------------------------------------------------------------------
; net_put_identity -- (internal) writes " mac=... ip=... node=N link=up|down" to the event line.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RDX, RSI
net_put_identity:
	mov rsi, str_net_key_mac
	call event_key
	mov rsi, e1000_mac
	call net_put_mac
	mov rsi, str_net_key_ip
	call event_key
	mov eax, [net_ip]
	call net_put_ip
	mov rsi, str_net_key_node
	mov eax, [net_node]
	call event_kv_dec
	mov rsi, str_net_key_link
	mov rdx, str_net_up
	cmp byte [e1000_link], 0
	jne .link
	mov rdx, str_net_down
.link:
	call event_kv_str
	ret

; ---------------------------------------------------------------------------------------------
; net_poll -- Called from the healthy main loop: takes what the NIC received (bounded) and runs
; the protocol's timers. Never waits.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
net_poll:
	cmp byte [net_up], 0
	je .out
	call e1000_poll
	call gtp_tick
	call bcast_poll                     ; propagation work on GitFS (gtp_bcast.asm)
	cmp byte [gtp_c_reboot], 0
	jne gtp_reboot_run                  ; a queued CONTROL REBOOT (gtp_control.asm)
	cmp byte [gtp_c_state], 1
	jne .sync
	call gtp_control_run                ; a queued CONTROL COMMIT (gtp_control.asm)
.sync:
	call gtp_sync_poll                  ; revision sync (gtp_sync.asm)
.out:
	ret

; ---------------------------------------------------------------------------------------------
; net_drop -- Counts a dropped frame under a reason.
;  IN:  EAX = NET_DROP_*
;  OUT: nothing
;  CLOBBERS: nothing
net_drop:
	inc qword [net_rx_drop]
	inc qword [net_drops + rax * 8]
	ret

; ---------------------------------------------------------------------------------------------
; net_rx -- One received Ethernet frame (without FCS): checks the header and the destination
; (our MAC, broadcast, or the cluster group's MAC) and passes ARP and IPv4 on.
;  IN:  RSI = frame, ECX = length
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R14
net_rx:
	inc qword [net_rx_count]
	cmp ecx, eth_hdr_size
	jb .short
	mov eax, [rsi + eth_hdr.dst]
	movzx edx, word [rsi + eth_hdr.dst + 4]
	cmp eax, [e1000_mac]
	jne .not_ours
	cmp dx, [e1000_mac + 4]
	je .accept
.not_ours:
	cmp eax, 0xFFFFFFFF
	jne .group
	cmp edx, 0xFFFF
	je .accept
.group:
	cmp eax, NET_GROUP_MAC_LO
	jne .addr
	cmp edx, NET_GROUP_MAC_HI
	jne .addr
.accept:
	test byte [rsi + eth_hdr.src], 1    ; a group address as source
	jnz .addr
	mov eax, [rsi + eth_hdr.src]
	mov [net_rx_mac], eax
	mov ax, [rsi + eth_hdr.src + 4]
	mov [net_rx_mac + 4], ax
	movzx eax, word [rsi + eth_hdr.type]
	add rsi, eth_hdr_size
	sub ecx, eth_hdr_size
	cmp eax, ETH_TYPE_IPV4_N
	je ip_rx
	cmp eax, ETH_TYPE_ARP_N
	je arp_rx
	mov eax, NET_DROP_PROTO
	jmp net_drop
.short:
	mov eax, NET_DROP_SHORT
	jmp net_drop
.addr:
	mov eax, NET_DROP_ADDR
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; arp_rx -- An ARP packet (Ethernet/IPv4 only): learns the sender when it is in the cluster's
; 10.77.0.0/16, answers a request for our address.
;  IN:  RSI = ARP packet, ECX = bytes after the Ethernet header
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R10
arp_rx:
	cmp ecx, arp_pkt_size
	jb .short
	cmp word [rsi + arp_pkt.htype], ARP_HTYPE_ETH_N
	jne .proto
	cmp word [rsi + arp_pkt.ptype], ETH_TYPE_IPV4_N
	jne .proto
	cmp byte [rsi + arp_pkt.hlen], ETH_ALEN
	jne .proto
	cmp byte [rsi + arp_pkt.plen], 4
	jne .proto
	mov eax, [rsi + arp_pkt.spa]
	mov edx, eax
	and edx, NET_NET_MASK_N
	cmp edx, NET_NET_N
	jne .addr
	cmp eax, [net_ip]
	je .addr                            ; someone else claims our address
	inc qword [net_arp_rx]
	lea rdx, [rsi + arp_pkt.sha]
	call arp_learn
	cmp word [rsi + arp_pkt.oper], ARP_OP_REQUEST_N
	jne .done
	mov eax, [rsi + arp_pkt.tpa]
	cmp eax, [net_ip]
	jne .done
	mov ax, ARP_OP_REPLY_N
	lea r8, [rsi + arp_pkt.sha]
	mov r9d, [rsi + arp_pkt.spa]
	call arp_send
.done:
	ret
.short:
	mov eax, NET_DROP_SHORT
	jmp net_drop
.proto:
	mov eax, NET_DROP_PROTO
	jmp net_drop
.addr:
	mov eax, NET_DROP_ADDR
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; arp_send -- Sends an ARP request (to broadcast) or reply (to the target).
;  IN:  AX = ARP_OP_REQUEST_N or ARP_OP_REPLY_N, R8 = target MAC (6 bytes; ignored for a
;       request), R9D = target IPv4 (network order)
;  OUT: CF = 1 when no transmit slot was free (counted in tx_err)
;  CLOBBERS: RAX, RCX, RDX, RDI, R10
arp_send:
	mov r10w, ax
	call e1000_tx_slot
	jc .no_slot
	cmp r10w, ARP_OP_REQUEST_N
	jne .unicast
	mov dword [rdi + eth_hdr.dst], 0xFFFFFFFF
	mov word [rdi + eth_hdr.dst + 4], 0xFFFF
	mov dword [rdi + eth_hdr_size + arp_pkt.tha], 0
	mov word [rdi + eth_hdr_size + arp_pkt.tha + 4], 0
	jmp .body
.unicast:
	mov eax, [r8]
	mov [rdi + eth_hdr.dst], eax
	mov [rdi + eth_hdr_size + arp_pkt.tha], eax
	mov ax, [r8 + 4]
	mov [rdi + eth_hdr.dst + 4], ax
	mov [rdi + eth_hdr_size + arp_pkt.tha + 4], ax
.body:
	mov eax, [e1000_mac]
	mov [rdi + eth_hdr.src], eax
	mov [rdi + eth_hdr_size + arp_pkt.sha], eax
	mov ax, [e1000_mac + 4]
	mov [rdi + eth_hdr.src + 4], ax
	mov [rdi + eth_hdr_size + arp_pkt.sha + 4], ax
	mov word [rdi + eth_hdr.type], ETH_TYPE_ARP_N
	mov word [rdi + eth_hdr_size + arp_pkt.htype], ARP_HTYPE_ETH_N
	mov word [rdi + eth_hdr_size + arp_pkt.ptype], ETH_TYPE_IPV4_N
	mov byte [rdi + eth_hdr_size + arp_pkt.hlen], ETH_ALEN
	mov byte [rdi + eth_hdr_size + arp_pkt.plen], 4
	mov [rdi + eth_hdr_size + arp_pkt.oper], r10w
	mov eax, [net_ip]
	mov [rdi + eth_hdr_size + arp_pkt.spa], eax
	mov [rdi + eth_hdr_size + arp_pkt.tpa], r9d
	lea rdi, [rdi + eth_hdr_size + arp_pkt_size]
	xor eax, eax
	mov ecx, ETH_MIN_FRAME - eth_hdr_size - arp_pkt_size
	rep stosb                           ; pad to the minimum frame
	mov ecx, ETH_MIN_FRAME
	call e1000_tx_send
	inc qword [net_tx_count]
	clc
	ret
.no_slot:
	inc qword [net_tx_err]
	stc
	ret

; ---------------------------------------------------------------------------------------------
; arp_learn -- Records (or refreshes) an address in the ARP table; a new address takes a free
; entry or the one heard longest ago.
;  IN:  EAX = IPv4 (network order), RDX = its MAC (6 bytes)
;  OUT: nothing
;  CLOBBERS: RBX, RCX, RDI
arp_learn:
	xor ebx, ebx
	xor edi, edi                        ; candidate: entry 0
	mov rcx, -1                         ; oldest stamp seen
.scan:
	cmp [arp_table + rbx + arp_entry.ip], eax
	je .write_rbx
	cmp dword [arp_table + rbx + arp_entry.ip], 0
	je .free
	cmp [arp_table + rbx + arp_entry.stamp], rcx
	jae .next
	mov rcx, [arp_table + rbx + arp_entry.stamp]
	mov rdi, rbx
	jmp .next
.free:
	mov rdi, rbx
	xor ecx, ecx                        ; a free entry beats any used one
.next:
	add rbx, arp_entry_size
	cmp rbx, ARP_ENTRIES * arp_entry_size
	jb .scan
	mov rbx, rdi
.write_rbx:
	mov [arp_table + rbx + arp_entry.ip], eax
	mov ecx, [rdx]
	mov [arp_table + rbx + arp_entry.mac], ecx
	mov cx, [rdx + 4]
	mov [arp_table + rbx + arp_entry.mac + 4], cx
	mov rcx, [ticks]
	mov [arp_table + rbx + arp_entry.stamp], rcx
	ret

; ---------------------------------------------------------------------------------------------
; net_resolve -- The Ethernet address for an IPv4 destination: the group's MAC for the group,
; broadcast for broadcast, else the ARP table; on a miss it sends an ARP request and fails (the
; caller's retry finds the answer).
;  IN:  EAX = IPv4 (network order)
;  OUT: CF = 0 and net_tx_mac = the MAC; CF = 1 not resolved yet (counted arp_miss)
;  CLOBBERS: RCX, RDX
net_resolve:
	cmp eax, NET_GROUP_N
	jne .not_group
	mov dword [net_tx_mac], NET_GROUP_MAC_LO
	mov word [net_tx_mac + 4], NET_GROUP_MAC_HI
	clc
	ret
.not_group:
	cmp eax, NET_BCAST_N
	je .bcast
	cmp eax, NET_LIMITED_BCAST_N
	jne .lookup
.bcast:
	mov dword [net_tx_mac], 0xFFFFFFFF
	mov word [net_tx_mac + 4], 0xFFFF
	clc
	ret
.lookup:
	xor ecx, ecx
.scan:
	cmp [arp_table + rcx + arp_entry.ip], eax
	je .hit
	add ecx, arp_entry_size
	cmp ecx, ARP_ENTRIES * arp_entry_size
	jb .scan
	inc qword [net_arp_miss]
	push rax
	push rdi
	push r8
	push r9
	push r10
	mov r9d, eax
	mov ax, ARP_OP_REQUEST_N
	call arp_send
	pop r10
	pop r9
	pop r8
	pop rdi
	pop rax
	stc
	ret
.hit:
	mov edx, [arp_table + rcx + arp_entry.mac]
	mov [net_tx_mac], edx
	mov dx, [arp_table + rcx + arp_entry.mac + 4]
	mov [net_tx_mac + 4], dx
	clc
	ret

; ---------------------------------------------------------------------------------------------
; ip_rx -- An IPv4 packet: version, header length, total length, header checksum, no fragment,
; source inside 10.77.0.0/16 (not ours), destination ours, the group or broadcast; then ICMP or
; UDP. Options are skipped (the header length covers them); padding after total_len is cut.
;  IN:  RSI = IPv4 header, ECX = bytes after the Ethernet header
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R14
ip_rx:
	cmp ecx, ip_hdr_size
	jb .short
	movzx eax, byte [rsi + ip_hdr.ver_ihl]
	mov edx, eax
	shr edx, 4
	cmp edx, 4
	jne .proto
	and eax, 0x0F
	shl eax, 2                          ; header bytes
	cmp eax, ip_hdr_size
	jb .length
	movzx edx, word [rsi + ip_hdr.total_len]
	xchg dl, dh
	cmp edx, eax
	jb .length
	cmp edx, ecx
	ja .short                           ; the frame holds less than the packet claims
	mov ecx, edx
	mov ebx, eax                        ; EBX = header bytes, ECX = packet bytes
	push rcx
	push rax
	mov ecx, ebx
	xor eax, eax
	call net_csum_add
	call net_csum_fold
	mov edx, eax
	pop rax
	pop rcx
	test edx, edx
	jnz .csum
	test word [rsi + ip_hdr.frag], IP_FRAG_MF_OFF_N
	jnz .frag
	mov eax, [rsi + ip_hdr.src]
	mov edx, eax
	and edx, NET_NET_MASK_N
	cmp edx, NET_NET_N
	jne .addr
	cmp eax, [net_ip]
	je .addr
	cmp eax, NET_BCAST_N
	je .addr
	mov [net_rx_src_ip], eax
	mov eax, [rsi + ip_hdr.dst]
	mov [net_rx_dst_ip], eax
	cmp eax, [net_ip]
	je .for_us
	cmp eax, NET_GROUP_N
	je .for_us
	cmp eax, NET_BCAST_N
	je .for_us
	cmp eax, NET_LIMITED_BCAST_N
	jne .addr
.for_us:
	movzx eax, byte [rsi + ip_hdr.proto]
	add rsi, rbx
	sub ecx, ebx
	cmp eax, IP_PROTO_UDP
	je udp_rx
	cmp eax, IP_PROTO_ICMP
	je icmp_rx
.proto:
	mov eax, NET_DROP_PROTO
	jmp net_drop
.short:
	mov eax, NET_DROP_SHORT
	jmp net_drop
.length:
	mov eax, NET_DROP_LENGTH
	jmp net_drop
.csum:
	mov eax, NET_DROP_CSUM
	jmp net_drop
.frag:
	mov eax, NET_DROP_FRAG
	jmp net_drop
.addr:
	mov eax, NET_DROP_ADDR
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; icmp_rx -- ICMP: an echo request to our own address gets its echo reply (same id, sequence
; and data), sent back to the requester's MAC. Other ICMP messages are dropped (proto).
;  IN:  RSI = ICMP message, ECX = its length; net_rx_src_ip, net_rx_dst_ip, net_rx_mac
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R10
icmp_rx:
	cmp ecx, icmp_hdr_size
	jb .short
	push rcx
	xor eax, eax
	call net_csum_add
	call net_csum_fold
	pop rcx
	test eax, eax
	jnz .csum
	cmp byte [rsi + icmp_hdr.type], ICMP_ECHO_REQUEST
	jne .proto
	cmp byte [rsi + icmp_hdr.code], 0
	jne .proto
	mov eax, [net_rx_dst_ip]
	cmp eax, [net_ip]
	jne .proto                          ; no echo to group or broadcast pings
	mov r8, rsi
	mov r9d, ecx
	mov eax, [net_rx_src_ip]
	mov bl, IP_PROTO_ICMP
	mov rdx, net_rx_mac
	call ip_tx_prepare
	jc .done
	mov rsi, r8
	mov ecx, r9d
	mov rbx, rdi
	rep movsb
	mov byte [rbx + icmp_hdr.type], ICMP_ECHO_REPLY
	mov word [rbx + icmp_hdr.csum], 0
	mov rsi, rbx
	mov ecx, r9d
	xor eax, eax
	call net_csum_add
	call net_csum_fold
	mov [rbx + icmp_hdr.csum], ax
	inc qword [net_icmp_echo]
	call ip_tx_commit
.done:
	ret
.short:
	mov eax, NET_DROP_SHORT
	jmp net_drop
.csum:
	mov eax, NET_DROP_CSUM
	jmp net_drop
.proto:
	mov eax, NET_DROP_PROTO
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; udp_rx -- UDP: length, checksum (required: 0, "none", is dropped as csum), our port; the
; payload goes to gtp_rx.
;  IN:  RSI = UDP header, ECX = bytes of IP payload; net_rx_src_ip, net_rx_dst_ip
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R14
udp_rx:
	cmp ecx, udp_hdr_size
	jb .short
	movzx edx, word [rsi + udp_hdr.len]
	xchg dl, dh
	cmp edx, udp_hdr_size
	jb .length
	cmp edx, ecx
	ja .length
	mov ecx, edx
	cmp word [rsi + udp_hdr.csum], 0
	je .csum
	call udp_pseudo_sum
	push rcx
	call net_csum_add
	call net_csum_fold
	pop rcx
	test eax, eax
	jnz .csum
	cmp word [rsi + udp_hdr.dport], GTP_PORT_N
	jne .proto
	add rsi, udp_hdr_size
	sub ecx, udp_hdr_size
	jmp gtp_rx
.short:
	mov eax, NET_DROP_SHORT
	jmp net_drop
.length:
	mov eax, NET_DROP_LENGTH
	jmp net_drop
.csum:
	mov eax, NET_DROP_CSUM
	jmp net_drop
.proto:
	mov eax, NET_DROP_PROTO
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; udp_pseudo_sum -- (internal) the unfolded sum of the IPv4 pseudo-header of a received datagram.
;  IN:  ECX = UDP length; net_rx_src_ip, net_rx_dst_ip
;  OUT: RAX = sum
;  CLOBBERS: RDX
udp_pseudo_sum:
	mov eax, [net_rx_src_ip]
	mov edx, [net_rx_dst_ip]
	; falls through
; udp_pseudo_sum_of -- (internal) the unfolded sum of an IPv4 pseudo-header for UDP.
;  IN:  EAX = source, EDX = destination (network order), ECX = UDP length
;  OUT: RAX = sum
;  CLOBBERS: RDX
udp_pseudo_sum_of:
	push rcx
	mov rcx, rax
	shr ecx, 16
	movzx eax, ax
	add eax, ecx
	mov ecx, edx
	shr ecx, 16
	add eax, ecx
	movzx edx, dx
	add eax, edx
	add eax, BE16(IP_PROTO_UDP)
	pop rcx
	mov edx, ecx
	xchg dl, dh
	movzx edx, dx
	add eax, edx
	ret

; ---------------------------------------------------------------------------------------------
; ip_tx_prepare -- Takes a transmit buffer and writes the Ethernet and IPv4 headers (DF set,
; TTL 1 to the group, 64 otherwise, header checksum made) for a layer-4 payload to follow.
;  IN:  EAX = destination IPv4 (network order), BL = protocol, ECX = layer-4 bytes
;       (<= ETH_MTU - 20), RDX = destination MAC, or 0 to resolve it (net_resolve)
;  OUT: CF = 0 and RDI = where the layer-4 bytes go; CF = 1 nothing sent (no route yet, no slot,
;       too long: counted)
;  CLOBBERS: RAX, RCX, RDX, RSI
ip_tx_prepare:
	cmp ecx, ETH_MTU - ip_hdr_size
	ja .fail
	mov [net_tx_dst], eax
	mov [net_tx_l4_len], ecx
	test rdx, rdx
	jnz .have_mac
	call net_resolve
	jc .unresolved
	mov rdx, net_tx_mac
.have_mac:
	mov rsi, rdx
	call e1000_tx_slot
	jc .fail
	mov [net_tx_frame], rdi
	mov eax, [rsi]
	mov [rdi + eth_hdr.dst], eax
	mov ax, [rsi + 4]
	mov [rdi + eth_hdr.dst + 4], ax
	mov eax, [e1000_mac]
	mov [rdi + eth_hdr.src], eax
	mov ax, [e1000_mac + 4]
	mov [rdi + eth_hdr.src + 4], ax
	mov word [rdi + eth_hdr.type], ETH_TYPE_IPV4_N
	add rdi, eth_hdr_size
	mov byte [rdi + ip_hdr.ver_ihl], IP_VER_IHL_BASIC
	mov byte [rdi + ip_hdr.tos], 0
	mov eax, [net_tx_l4_len]
	add eax, ip_hdr_size
	xchg al, ah
	mov [rdi + ip_hdr.total_len], ax
	mov ax, [net_ip_id]
	inc word [net_ip_id]
	xchg al, ah
	mov [rdi + ip_hdr.id], ax
	mov word [rdi + ip_hdr.frag], IP_FRAG_DF_N
	mov byte [rdi + ip_hdr.ttl], IP_TTL_UNICAST
	mov eax, [net_tx_dst]
	cmp eax, NET_GROUP_N
	jne .ttl_ok
	mov byte [rdi + ip_hdr.ttl], IP_TTL_MULTICAST
.ttl_ok:
	mov [rdi + ip_hdr.proto], bl
	mov word [rdi + ip_hdr.csum], 0
	mov [rdi + ip_hdr.dst], eax
	mov eax, [net_ip]
	mov [rdi + ip_hdr.src], eax
	mov rsi, rdi
	mov ecx, ip_hdr_size
	xor eax, eax
	call net_csum_add
	call net_csum_fold
	mov [rdi + ip_hdr.csum], ax
	add rdi, ip_hdr_size
	clc
	ret
.unresolved:
	stc
	ret
.fail:
	inc qword [net_tx_err]
	stc
	ret

; ---------------------------------------------------------------------------------------------
; ip_tx_commit -- Sends the frame ip_tx_prepare started (padded to the Ethernet minimum).
;  IN:  nothing (net_tx_frame, net_tx_l4_len)
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RDI
ip_tx_commit:
	mov ecx, [net_tx_l4_len]
	add ecx, eth_hdr_size + ip_hdr_size
	cmp ecx, ETH_MIN_FRAME
	jae .send
	mov rdi, [net_tx_frame]
	add rdi, rcx
	push rcx
	neg ecx
	add ecx, ETH_MIN_FRAME
	xor eax, eax
	rep stosb
	pop rcx
	mov ecx, ETH_MIN_FRAME
.send:
	call e1000_tx_send
	inc qword [net_tx_count]
	ret

; ---------------------------------------------------------------------------------------------
; udp_send -- Sends one UDP datagram from and to GTP_PORT, checksum made.
;  IN:  EAX = destination IPv4 (network order), RSI = payload, ECX = payload bytes
;       (<= UDP_MAX_PAYLOAD), RDX = destination MAC or 0 to resolve it
;  OUT: CF = 0 sent; CF = 1 not sent (unresolved destination, no slot, too long)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
udp_send:
	cmp ecx, UDP_MAX_PAYLOAD
	ja .too_long
	mov r8, rsi
	mov r9d, ecx
	add ecx, udp_hdr_size
	mov bl, IP_PROTO_UDP
	call ip_tx_prepare
	jc .out
	mov rbx, rdi
	mov word [rbx + udp_hdr.sport], GTP_PORT_N
	mov word [rbx + udp_hdr.dport], GTP_PORT_N
	lea eax, [r9 + udp_hdr_size]
	xchg al, ah
	mov [rbx + udp_hdr.len], ax
	mov word [rbx + udp_hdr.csum], 0
	lea rdi, [rbx + udp_hdr_size]
	mov rsi, r8
	mov ecx, r9d
	call gtp_copy                       ; (8 bytes a step: under TCG a byte step costs as much)
	lea ecx, [r9 + udp_hdr_size]
	mov eax, [net_ip]
	mov edx, [net_tx_dst]
	call udp_pseudo_sum_of
	mov rsi, rbx
	call net_csum_add
	call net_csum_fold
	test eax, eax
	jnz .csum_ok
	mov eax, 0xFFFF                     ; 0 means "no checksum": send its other form
.csum_ok:
	mov [rbx + udp_hdr.csum], ax
	call ip_tx_commit
	clc
.out:
	ret
.too_long:
	inc qword [net_tx_err]
	stc
	ret

; ---------------------------------------------------------------------------------------------
; net_csum_add -- Adds bytes to an Internet checksum (RFC 1071) as little-endian 16-bit words;
; the sum, folded and stored little-endian, is the right checksum in network order. It adds
; them 64 bits at a time with the carries wrapped round (the one's-complement sum of larger
; words folds to the same 16 bits: RFC 1071, 2(C)), then the tail: under TCG, 8x fewer steps.
;  IN:  RSI = bytes, RCX = count, RAX = sum so far
;  OUT: RAX = sum (not folded)
;  CLOBBERS: nothing
net_csum_add:
	push rcx
	push rdx
	push rsi
.qword:
	cmp rcx, 8
	jb .pair
	add rax, [rsi]
	adc rax, 0
	add rsi, 8
	sub rcx, 8
	jmp .qword
.pair:
	cmp rcx, 2
	jb .tail
	movzx edx, word [rsi]
	add rax, rdx
	adc rax, 0
	add rsi, 2
	sub rcx, 2
	jmp .pair
.tail:
	test rcx, rcx
	jz .done
	movzx edx, byte [rsi]
	add rax, rdx
	adc rax, 0
.done:
	pop rsi
	pop rdx
	pop rcx
	ret

; ---------------------------------------------------------------------------------------------
; net_csum_fold -- Folds a sum to 16 bits and complements it.
;  IN:  RAX = sum
;  OUT: EAX = the checksum (0 when the summed bytes already held a right checksum)
;  CLOBBERS: RDX
net_csum_fold:
	mov rdx, rax
	shr rdx, 32
	mov eax, eax
	add rax, rdx
.fold:
	mov rdx, rax
	shr rdx, 16
	jz .done
	movzx eax, ax
	add rax, rdx
	jmp .fold
.done:
	not eax
	movzx eax, ax
	ret

; ---------------------------------------------------------------------------------------------
; net_put_mac -- Writes a MAC as aa:bb:cc:dd:ee:ff.
;  IN:  RSI = 6 bytes
;  OUT: nothing
;  CLOBBERS: nothing
net_put_mac:
	push rax
	push rcx
	push rsi
	mov ecx, 1
	call serial_put_hexbytes
	mov ah, 5
.byte:
	mov al, ':'
	call serial_putc
	inc rsi
	call serial_put_hexbytes
	dec ah
	jnz .byte
	pop rsi
	pop rcx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; net_put_ip -- Writes an IPv4 address in dotted decimal.
;  IN:  EAX = address (network order)
;  OUT: nothing
;  CLOBBERS: nothing
net_put_ip:
	push rax
	push rcx
	push rdx
	mov edx, eax
	mov ecx, 4
.octet:
	movzx eax, dl
	call serial_put_dec
	shr edx, 8
	dec ecx
	jz .done
	mov al, '.'
	call serial_putc
	jmp .octet
.done:
	pop rdx
	pop rcx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; cmd_net -- `net`: one EVENT net line: identity, link, rctl_ms and first_rx_ms (ms since
; reset at the RCTL write and at the first frame heard, 0: none yet), serve_ms and
; serve_disk_ms (time spent serving GET windows, and reading their sectors), peers heard, and every
; counter (rx, tx, rx_drop and one drop_<reason> per reason, tx_err, the NIC's own, ARP,
; ICMP, GTP).
;  IN:  RSI = arguments (ignored)
;  OUT: CF = 0; CF = 1 with EVENT error reason=no-network when there is no NIC
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI
cmd_net:
	cmp byte [net_up], 0
	je .none
	mov rsi, str_ev_net
	call event_begin
	call net_put_identity
	mov rsi, str_net_key_rctl_ms
	mov rax, [e1000_rctl_tsc]
	call net_put_tsc_ms
	mov rsi, str_net_key_first_rx_ms
	mov rax, [e1000_first_rx_tsc]
	call net_put_tsc_ms
	mov rsi, str_net_key_serve_ms
	mov rax, [gtp_serve_tsc]
	call net_put_tsc_ms
	mov rsi, str_net_key_serve_disk_ms
	mov rax, [gtp_serve_disk_tsc]
	call net_put_tsc_ms
	mov rsi, str_net_key_peers
	call gtp_peer_count
	call event_kv_dec
	mov rbx, net_counter_table
	call net_put_counters
	mov rbx, gtp_counter_table
	call net_put_counters
	xor ebx, ebx
.drop:
	mov rsi, [net_drop_names + rbx * 8]
	mov rax, [net_drops + rbx * 8]
	call event_kv_dec
	inc ebx
	cmp ebx, NET_DROP_REASONS
	jb .drop
	call event_end
	clc
	ret
.none:
	mov rdx, str_net_no_network
	jmp shell_error

; ---------------------------------------------------------------------------------------------
; cmd_netsend -- `netsend A.B.C.D COUNT`: the raw UDP send loop the fetch benchmark compares
; against: COUNT datagrams of a DATA frame's size (20 + 48 + 1 400 payload bytes, zeros: the
; receiver drops them as magic) to port 7184, as fast as the transmit ring takes them.
; `EVENT netsend count=N bytes=B us=T failed=F`. The address is resolved first (ARP, 200 ms).
;  IN:  RSI = arguments
;  OUT: CF = 0; CF = 1 usage / no-network / unresolved
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
NETSEND_PAYLOAD     equ gtp_hdr_size + GTP_DATA_FIXED + GTP_CHUNK_MAX
cmd_netsend:
	cmp byte [net_up], 0
	je .none
	xor r12d, r12d                      ; the address, network order
	mov r13d, 4
.octet:
	call parse_number
	cmp rax, 255
	ja .usage
	shl r12d, 8
	or r12d, eax
	dec r13d
	jz .octets_done
	cmp byte [rsi], '.'
	jne .usage
	inc rsi
	jmp .octet
.octets_done:
	bswap r12d
	call parse_number
	test rax, rax
	jz .usage
	mov r14, rax                        ; count
	mov eax, 200
	call gtp_deadline
	mov r15, rax
.resolve:
	mov eax, r12d
	call net_resolve
	jnc .resolved
	mov eax, 20
	call gtp_deadline
	mov [netsend_wait], rax
.arp_wait:
	call gtp_wait_step
	call rdtsc64
	cmp rax, [netsend_wait]
	jb .arp_wait
	cmp rax, r15
	jb .resolve
	mov rdx, str_netsend_unresolved
	jmp shell_error
.resolved:
	mov rsi, net_tx_mac
	mov rdi, netsend_mac
	mov ecx, ETH_ALEN
	rep movsb
	mov qword [netsend_failed], 0
	call rdtsc64
	mov [netsend_start], rax
	mov [netsend_left], r14
.send:
	mov eax, r12d
	mov rsi, gtp_tx_payload             ; zeros or old bytes: the receiver drops them either way
	mov word [rsi + gtp_hdr.magic], 0
	mov ecx, NETSEND_PAYLOAD
	mov rdx, netsend_mac
	call udp_send
	jnc .sent
	inc qword [netsend_failed]
.sent:
	dec qword [netsend_left]
	jnz .send
	call rdtsc64
	sub rax, [netsend_start]
	call gtp_tsc_us
	mov r13, rax
	mov rsi, str_ev_netsend
	call event_begin
	mov rsi, str_netsend_count
	mov rax, r14
	call event_kv_dec
	mov rsi, str_netsend_bytes
	mov rax, r14
	imul rax, rax, NETSEND_PAYLOAD
	call event_kv_dec
	mov rsi, str_gtp_key_us
	mov rax, r13
	call event_kv_dec
	mov rsi, str_netsend_failed
	mov rax, [netsend_failed]
	call event_kv_dec
	call event_end
	clc
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error
.none:
	mov rdx, str_net_no_network
	jmp shell_error

str_ev_netsend:         db "netsend", 0
str_netsend_count:      db "count", 0
str_netsend_bytes:      db "bytes", 0
str_netsend_failed:     db "failed", 0
str_netsend_unresolved: db "unresolved", 0

	section .bss
	alignb 8
netsend_wait:       resq 1
netsend_start:      resq 1
netsend_left:       resq 1
netsend_failed:     resq 1
netsend_mac:        resb 8
	section .text

; ---------------------------------------------------------------------------------------------
; net_put_counters -- Writes " key=value" for each row of a counter table.
;  IN:  RBX = table of (key string, address of a qword) rows, ended by a zero key
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RSI
net_put_counters:
	mov rsi, [rbx]
	test rsi, rsi
	jz .done
	mov rax, [rbx + 8]
	mov rax, [rax]
	call event_kv_dec
	add rbx, 16
	jmp net_put_counters
.done:
	ret

align 8
net_counter_table:                      ; key, address of its qword
	dq str_nc_rx, net_rx_count
	dq str_nc_tx, net_tx_count
	dq str_nc_rx_drop, net_rx_drop
	dq str_nc_tx_err, net_tx_err
	dq str_nc_nic_rx, e1000_rx_frames
	dq str_nc_nic_tx, e1000_tx_frames
	dq str_nc_nic_rx_err, e1000_rx_errors
	dq str_nc_nic_tx_full, e1000_tx_full
	dq str_nc_nic_irqs, e1000_irqs
	dq str_nc_arp_rx, net_arp_rx
	dq str_nc_arp_miss, net_arp_miss
	dq str_nc_icmp_echo, net_icmp_echo
	dq 0, 0
net_drop_names:
	dq str_nd_short, str_nd_magic, str_nd_version, str_nd_length, str_nd_type, str_nd_size
	dq str_nd_auth, str_nd_replay, str_nd_self, str_nd_csum, str_nd_proto, str_nd_frag
	dq str_nd_addr

str_ev_net:          db "net", 0
str_net_key_rctl_ms: db "rctl_ms", 0
str_net_key_first_rx_ms: db "first_rx_ms", 0
str_net_key_serve_ms: db "serve_ms", 0
str_net_key_serve_disk_ms: db "serve_disk_ms", 0
str_nc_nic_irqs:     db "nic_irqs", 0
str_net_key_state:   db "state", 0
str_net_key_mac:     db "mac", 0
str_net_key_ip:      db "ip", 0
str_net_key_node:    db "node", 0
str_net_key_link:    db "link", 0
str_net_key_peers:   db "peers", 0
str_net_absent:      db "absent", 0
str_net_error:       db "error", 0
str_net_up:          db "up", 0
str_net_down:        db "down", 0
str_net_no_network:  db "no-network", 0
str_nc_rx:           db "rx", 0
str_nc_tx:           db "tx", 0
str_nc_rx_drop:      db "rx_drop", 0
str_nc_tx_err:       db "tx_err", 0
str_nc_nic_rx:       db "nic_rx", 0
str_nc_nic_tx:       db "nic_tx", 0
str_nc_nic_rx_err:   db "nic_rx_err", 0
str_nc_nic_tx_full:  db "nic_tx_full", 0
str_nc_arp_rx:       db "arp_rx", 0
str_nc_arp_miss:     db "arp_miss", 0
str_nc_icmp_echo:    db "icmp_echo", 0
str_nd_short:        db "drop_short", 0
str_nd_magic:        db "drop_magic", 0
str_nd_version:      db "drop_version", 0
str_nd_length:       db "drop_length", 0
str_nd_type:         db "drop_type", 0
str_nd_size:         db "drop_size", 0
str_nd_auth:         db "drop_auth", 0
str_nd_replay:       db "drop_replay", 0
str_nd_self:         db "drop_self", 0
str_nd_csum:         db "drop_csum", 0
str_nd_proto:        db "drop_proto", 0
str_nd_frag:         db "drop_frag", 0
str_nd_addr:         db "drop_addr", 0

	section .bss
	alignb 8
net_rx_count:       resq 1              ; frames the NIC handed up
net_tx_count:       resq 1              ; frames sent
net_rx_drop:        resq 1              ; frames dropped (sum of net_drops)
net_drops:          resq NET_DROP_REASONS
net_tx_err:         resq 1              ; frames not sent (no slot, too long)
net_arp_rx:         resq 1
net_arp_miss:       resq 1
net_icmp_echo:      resq 1
net_tx_frame:       resq 1
net_tx_l4_len:      resd 1
net_tx_dst:         resd 1
net_ip:             resd 1              ; 10.77.HI.LO, network order
net_node:           resd 1              ; HI * 256 + LO
net_rx_src_ip:      resd 1
net_rx_dst_ip:      resd 1
net_ip_id:          resw 1
net_rx_mac:         resb 6              ; source MAC of the frame being handled
net_tx_mac:         resb 6
net_up:             resb 1
	alignb 8
arp_table:          resb ARP_ENTRIES * arp_entry_size
	section .text
