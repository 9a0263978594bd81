; gtp_bcast.asm -- bulk propagation of an update on the round-optimal schedule (docs/protocol.md,
; "Propagation"; docs/propagation.md). The seed multicasts an authenticated UPDATE carrying a
; manifest (objects, sizes, per-piece SHA-1s, the ordered node list) whose SHA-1 names the
; update; every node computes its own part of Träff's circulant schedule (cluster/broadcast.ts,
; ported below: halving skips, baseblock, receive schedule) and pushes, in schedule order, each
; round's piece to that round's target as soon as it holds the piece (data-driven, no
; scheduler, no tracker). A piece moves as CHUNK_MAX-byte PIECE frames; the receiver answers a
; burst's LAST frame with a STATUS (the chunks it still misses, 0 = held and verified) and the
; sender resends what is missing. Every piece is checked against the manifest's SHA-1 before
; it counts; once all pieces are held the objects are verified by their git SHA-1 and stored
; in GitFS in one transaction. Recovery only (loss, a dead sender, a late or restarted node):
; PIECE_WHO on the group makes the nodes multicast their PIECE_MAP, and a node that stalls
; asks holders with unicast PIECE_GET, at most 2 outstanding requests per missing piece.

GTP_T_UPDATE        equ 17
GTP_T_PIECE         equ 18
GTP_T_PSTATUS       equ 19
GTP_T_PGET          equ 20
GTP_T_PWHO          equ 21
GTP_T_PMAP          equ 22
GTP_OP_PROPAGATE    equ 10

BC_PIECE_BYTES      equ 0x10000         ; 64 KiB pieces
BC_CHUNKS_MAX       equ (BC_PIECE_BYTES + GTP_CHUNK_MAX - 1) / GTP_CHUNK_MAX   ; 47 (< 64)
BC_PIECES_MAX       equ 128
BC_DATA_MAX         equ BC_PIECES_MAX * BC_PIECE_BYTES                         ; 8 MiB
BC_NODES_MAX        equ 64
BC_OBJECTS_MAX      equ 64
%if GTP_C_BLOBS_MAX > BC_OBJECTS_MAX
%error "a COMMIT's propagation (gtp_control.asm) holds more objects than an update"
%endif
BC_MANIFEST_MAX     equ 8192
BC_PART             equ 1024            ; manifest bytes per UPDATE frame
BC_Q_MAX            equ 32              ; skips for `bsched` (N < 2^32)
BC_MAN_MAGIC        equ 0x4D505447      ; "GTPM"
BC_MAP_BYTES        equ BC_PIECES_MAX / 8
BC_LATE_MS          equ 1000            ; a manifest completed later than this: pull only
BC_ACK_MS           equ 80              ; a burst's STATUS not back by then: probe
BC_TB_MS            equ 40              ; the target barrier's longest wait for a target's map
BC_PROBES           equ 25              ; probes before a push is given up
BC_IDLE_MS          equ 300             ; no chunk for this long: recovery
BC_REQ_MS           equ 600             ; a PIECE_GET without progress expires
BC_PULL_WINDOW      equ 4               ; missing pieces asked for at a time
BC_MAP_MS           equ 500
BC_UPDATE_MS        equ 1000
BC_MAP_AFTER_MS     equ 10000           ; maps go on this long after completing
BC_WHO_MS           equ 1000
BC_SERVE_SLOTS      equ 8
BC_ACK_SLOTS        equ 8               ; pushes sent and not yet answered (bc_pump)
BC_ACK_WAIT_MS      equ 2 * BC_ACK_MS   ; their STATUS can come behind a piece this node receives
BC_BURST            equ 32              ; PIECE frames per tick (the TX ring)
BC_STORE_WAIT_MS    equ 3000            ; complete: store once the pushes are done, or by then
BC_FLAG_LAST        equ 1
BC_HOST_FLAG        equ 1               ; propagate: the host peer takes part

BC_S_NONE           equ 0
BC_S_MANIFEST       equ 1
BC_S_ACTIVE         equ 2
BC_S_COMPLETE       equ 3
BC_S_STORED         equ 4
BC_S_FAILED         equ 5
BC_S_OUTSIDE        equ 6
BC_R_SEED           equ 1
BC_R_PUSH           equ 2
BC_R_LATE           equ 3

struc bc_update                         ; type 17 (AUTH): id, manifest part
  .id               resb HASH_SIZE
  .total            resd 1              ; manifest bytes
  .offset           resd 1              ; of this part (a multiple of BC_PART)
  .age              resd 1              ; ms since the seed started
endstruc                                ; + bytes
struc bc_piece                          ; type 18
  .id               resb HASH_SIZE
  .piece            resd 1
  .chunk            resw 1
  .flags            resw 1              ; BC_FLAG_LAST: the burst's last frame
endstruc                                ; + chunk bytes
struc bc_pstatus                        ; types 19 (STATUS) and 20 (GET)
  .id               resb HASH_SIZE
  .piece            resd 1
  .missing          resq 1              ; bit c: chunk c (STATUS: still missing; GET: wanted)
endstruc
struc bc_pwho                           ; type 21
  .id               resb HASH_SIZE
  .qid              resd 1
endstruc
struc bc_pmap                           ; type 22
  .id               resb HASH_SIZE
  .pieces           resw 1
  .held             resw 1
endstruc                                ; + bitmap[ceil(pieces / 8)]

struc bc_man                            ; the manifest (its SHA-1 is the update id)
  .magic            resd 1
  .version          resb 1
  .pad              resb 1
  .nobj             resw 1
  .nnodes           resw 1
  .pad2             resw 1
  .pieces           resd 1
  .piece_size       resd 1
  .total            resq 1              ; object bytes (contents, concatenated)
endstruc                                ; + objects, node numbers (u32; [0] = the seed), piece SHA-1s
struc bc_obj
  .hash             resb HASH_SIZE
  .otype            resb 1
  .pad              resb 3
  .size             resq 1
endstruc

struc bc_ack                            ; a push sent and not yet answered with the piece held
  .node             resd 1              ; 0: free
  .ip               resd 1
  .piece            resd 1
  .last             resd 1              ; its LAST chunk (the probe)
  .deadline         resq 1
  .doubled          resb 1              ; its latest burst's LAST frame went twice
  .skip             resb 1              ; the next non-zero STATUS is that copy's, stale
  .answered         resb 1              ; a STATUS came: the push's burst crossed the link
  .pad              resb 5
endstruc

struc bc_serve                          ; a PIECE_GET being served
  .node             resd 1              ; 0: free
  .ip               resd 1
  .piece            resd 1
  .pad              resd 1
  .mask             resq 1
endstruc

; ---------------------------------------------------------------------------------------------
; bcast_reserve -- Takes the update buffer (BC_DATA_MAX) from the top of RAM, like
; net_reserve, while GitFS keeps its floor; without it a node takes no part in propagations.
;  IN:  mem_top, net_up
;  OUT: bc_data (0: none); mem_top lowered
;  CLOBBERS: RAX
bcast_reserve:
	cmp byte [net_up], 0
	je .none
	mov rax, [mem_top]
	sub rax, BC_DATA_MAX
	jb .none
	cmp rax, FS_ARENA_ADDR + GTP_RESERVE_FLOOR
	jb .none
	mov [mem_top], rax
	mov [bc_data], rax
.none:
	ret

; ---------------------------------------------------------------------------------------------
; bc_skips_make -- Träff's halving skips: s_q = N, s_j = ceil(s_{j+1} / 2) (halvingSkips).
;  IN:  ECX = N (>= 2)
;  OUT: bc_skips[0..q] (qwords), [bc_qq] = q = ceil(log2 N)
;  CLOBBERS: RAX, RDX
bc_skips_make:
	lea eax, [rcx - 1]
	bsr edx, eax
	inc edx
	mov [bc_qq], edx
	mov eax, ecx
	mov [bc_skips + rdx * 8], rax
.down:
	test edx, edx
	jz .done
	mov rax, [bc_skips + rdx * 8]
	inc rax
	shr rax, 1
	dec edx
	mov [bc_skips + rdx * 8], rax
	jmp .down
.done:
	ret

; ---------------------------------------------------------------------------------------------
; bc_baseblock -- The index of the smallest skip in the greedy decomposition of r (baseblock);
; q for r = 0.
;  IN:  EAX = r; bc_skips, bc_qq
;  OUT: EAX = b
;  CLOBBERS: RCX, RDX
bc_baseblock:
	push rbx
	mov ebx, eax
	xor edx, edx                        ; sum
	mov ecx, [bc_qq]
.down:
	dec ecx
	js .none
	mov rax, rdx
	add rax, [bc_skips + rcx * 8]
	cmp rax, rbx
	je .found
	ja .down
	mov rdx, rax
	jmp .down
.found:
	mov eax, ecx
	pop rbx
	ret
.none:
	mov eax, [bc_qq]
	pop rbx
	ret

; ---------------------------------------------------------------------------------------------
; bc_recv_sched -- Node r's receive schedule (receiveSchedule): entry k is the piece relative
; to the phase that r receives in slot k from r - s_k: the baseblock b, or b' - q for the other
; skip indices b'.
;  IN:  EAX = r (1 .. N-1), RDI = output (q dwords); bc_skips, bc_qq
;  OUT: CF = 0 written; CF = 1 the search did not fill every slot (never seen)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, R8
bc_recv_sched:
	push rdi
	mov ebx, eax
	call bc_baseblock
	mov r8d, eax                        ; b
	mov ecx, [bc_qq]
	mov rax, [bc_skips + rcx * 8]       ; N
	add rax, rbx
	mov [bc_R], rax
	xor eax, eax
.clear:
	mov byte [bc_assigned + rax], 0
	inc eax
	cmp eax, ecx
	jbe .clear
	mov byte [bc_assigned + r8], 1
	mov qword [bc_slot], 0
	xor eax, eax                        ; end = 0
	mov rdx, [bc_skips + rcx * 8]
	add rdx, rdx                        ; bound = 2N
	push r8
	call bc_extend
	pop r8
	pop rdi
	mov ecx, [bc_qq]
	cmp [bc_slot], rcx
	jne .fail
	xor eax, eax
.out:
	cmp eax, ecx
	jae .ok
	mov edx, [bc_slotidx + rax * 4]
	cmp edx, ecx
	jne .other
	mov edx, r8d
	jmp .put
.other:
	sub edx, ecx
.put:
	mov [rdi + rax * 4], edx
	inc eax
	jmp .out
.ok:
	clc
	ret
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_extend -- (internal, recursive) Träff's depth-first search: extends the path ending at
; `end`, trying unassigned skip indices e from `from` down to 0; assigns slots in order.
;  IN:  RAX = end, RDX = bound (exclusive), ECX = from; bc_R, bc_slot, bc_assigned, bc_skips
;  OUT: bc_slotidx / bc_slot / bc_assigned advanced
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI
bc_extend:
	push r12
	push r13
	push r14
	push r15
	mov r12, rax                        ; end
	mov r13, rdx                        ; bound
	movsxd r14, ecx                     ; e
.loop:
	test r14, r14
	js .ret
	mov rsi, [bc_slot]
	mov ecx, [bc_qq]
	cmp rsi, rcx
	jae .ret
	cmp byte [bc_assigned + r14], 0
	jne .next
	mov rbx, r12
	add rbx, [bc_skips + r14 * 8]       ; cand
	mov rax, [bc_R]
	sub rax, [bc_skips + rsi * 8]
	cmp rbx, rax
	ja .next                            ; past the slot's sender
	cmp rbx, r13
	jae .next
	mov rax, [bc_R]
	sub rax, [bc_skips + rsi * 8 + 8]
	cmp rbx, rax
	ja .take
	mov r15, rbx
	mov rax, rbx
	mov rdx, r13
	mov ecx, r14d
	call bc_extend
	mov rbx, r15
	mov rsi, [bc_slot]
	mov ecx, [bc_qq]
	cmp rsi, rcx
	jae .ret
	cmp byte [bc_assigned + r14], 0
	jne .next
.take:
	mov rax, [bc_R]
	sub rax, [bc_skips + rsi * 8 + 8]
	cmp r12, rax
	ja .ret
	mov r13, rbx                        ; bound = cand
	mov [bc_slotidx + rsi * 4], r14d
	inc qword [bc_slot]
	mov byte [bc_assigned + r14], 1
.next:
	dec r14
	jmp .loop
.ret:
	pop r15
	pop r14
	pop r13
	pop r12
	ret

; ---------------------------------------------------------------------------------------------
; bc_parse_dec -- (internal) A decimal argument, after spaces.
;  IN:  RSI = text
;  OUT: CF = 0, RAX = value, RSI past it; CF = 1 no digits
;  CLOBBERS: RDX
bc_parse_dec:
	call bc_skip_spaces
	xor eax, eax
	movzx edx, byte [rsi]
	sub edx, '0'
	cmp edx, 9
	ja .bad
.digit:
	movzx edx, byte [rsi]
	sub edx, '0'
	cmp edx, 9
	ja .done
	imul rax, rax, 10
	add rax, rdx
	inc rsi
	mov rdx, rax
	shr rdx, 32
	jnz .bad
	jmp .digit
.done:
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_skip_spaces -- Steps over the spaces of a command line.
;  IN:  RSI = text
;  OUT: RSI = the first byte that is not a space
;  CLOBBERS: nothing
bc_skip_spaces:
	cmp byte [rsi], ' '
	jne .out
	inc rsi
	jmp bc_skip_spaces
.out:
	ret

; ---------------------------------------------------------------------------------------------
; cmd_bsched -- `bsched FROM TO`: for each N in FROM..TO (2 <= N, TO - FROM < 4096) one
; `EVENT bsched n=N q=Q fnv=H` where H is the FNV-1a (32-bit) of the receive schedules of
; nodes 1..N-1, entries in order, each as its low byte: what cluster/propagate/schedule.ts
; computes from cluster/broadcast.ts (the port's check).
;  IN:  RSI = arguments
;  OUT: CF = 0
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R12
cmd_bsched:
	call bc_parse_dec
	jc .usage
	mov r9, rax
	call bc_parse_dec
	jc .usage
	mov r10, rax
	cmp r9, 2
	jb .usage
	cmp r10, r9
	jb .usage
	mov rax, r10
	sub rax, r9
	cmp rax, 4096
	jae .usage
.n:
	mov ecx, r9d
	call bc_skips_make
	mov r11d, 0x811C9DC5                ; FNV-1a offset basis
	mov r12d, 1
.r:
	cmp r12, r9
	jae .print
	mov eax, r12d
	mov rdi, bc_tmp_recv
	call bc_recv_sched
	jc .fail
	xor ecx, ecx
.fold:
	cmp ecx, [bc_qq]
	jae .r_next
	movzx eax, byte [bc_tmp_recv + rcx * 4]
	xor r11d, eax
	imul r11d, r11d, 16777619
	inc ecx
	jmp .fold
.r_next:
	inc r12
	jmp .r
.print:
	mov rsi, str_ev_bsched
	call event_begin
	mov rsi, str_bc_key_n
	mov rax, r9
	call event_kv_dec
	mov rsi, str_bc_key_q
	mov eax, [bc_qq]
	call event_kv_dec
	mov rsi, str_bc_key_fnv
	mov eax, r11d
	call event_kv_dec
	call event_end
	call watchdog_feed
	inc r9
	cmp r9, r10
	jbe .n
	clc
	ret
.fail:
	mov rdx, str_bc_sched_fail
	jmp shell_error
.usage:
	mov rdx, str_usage
	jmp shell_error

; ---------------------------------------------------------------------------------------------
; bc_node_ip -- A node's IPv4 address from its number: 10.77.HI.LO (network order).
;  IN:  EAX = node number
;  OUT: EAX = address
;  CLOBBERS: RDX
bc_node_ip:
	mov edx, eax
	and edx, 0xFF
	shl edx, 24
	shr eax, 8
	and eax, 0xFF
	shl eax, 16
	or eax, edx
	or eax, IPV4_N(10, 77, 0, 0)
	ret

; ---------------------------------------------------------------------------------------------
; bc_piece_len -- Bytes of piece P (the last one may be short) and its chunk count.
;  IN:  EAX = P (< K)
;  OUT: EAX = bytes, ECX = chunks, RDX = the mask of all its chunks
;  CLOBBERS: nothing else
bc_piece_len:
	mov ecx, [bc_K]
	dec ecx
	cmp eax, ecx
	jb .full
	mov rax, [bc_total]
	mov edx, ecx
	shl rdx, 16
	sub rax, rdx
	jmp .chunks
.full:
	mov eax, BC_PIECE_BYTES
.chunks:
	push rax
	add eax, GTP_CHUNK_MAX - 1
	xor edx, edx
	mov ecx, GTP_CHUNK_MAX
	div ecx
	mov ecx, eax
	mov rdx, 1
	shl rdx, cl
	dec rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; bc_round_piece -- What a node with receive schedule ROW gets in plan round t: piece
; row[k] + phase*q - x with slot k = (t + x) mod q, clamped to K - 1; -1 for none.
;  IN:  EAX = t, RSI = row (q dwords); bc_qq, bc_x, bc_K
;  OUT: EAX = piece (signed), EDX = slot
;  CLOBBERS: RCX
bc_round_piece:
	push rbx
	add eax, [bc_x]                     ; i
	mov ebx, eax
	xor edx, edx
	div dword [bc_qq]                   ; EDX = slot
	mov eax, ebx
	sub eax, edx
	sub eax, [bc_x]                     ; base = i - slot - x
	add eax, [rsi + rdx * 4]
	js .none
	cmp eax, [bc_K]
	jb .out
	mov eax, [bc_K]
	dec eax
.out:
	pop rbx
	ret
.none:
	mov eax, -1
	pop rbx
	ret

; ---------------------------------------------------------------------------------------------
; bc_plan -- This node's part of the schedule: skips, x, rounds, its own receive schedule,
; and for every slot k its target r + s_k, that target's receive schedule and the first round
; in which that target receives the last piece (later clamped copies are not sent).
;  IN:  bc_N (>= 2), bc_K, bc_me
;  OUT: bc_qq, bc_x, bc_rounds, bc_recv, bc_tgt, bc_tgt_recv, bc_tgt_first; CF = 1 on a
;       schedule the search could not fill
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
bc_plan:
	mov ecx, [bc_N]
	call bc_skips_make
	mov eax, [bc_K]
	dec eax
	xor edx, edx
	div dword [bc_qq]
	mov eax, [bc_qq]
	sub eax, edx
	xor edx, edx
	div dword [bc_qq]
	mov [bc_x], edx                     ; (q - (K-1) mod q) mod q
	mov eax, [bc_K]
	dec eax
	add eax, [bc_qq]
	mov [bc_rounds], eax
	mov eax, [bc_me]
	test eax, eax
	jz .targets
	mov rdi, bc_recv
	call bc_recv_sched
	jc .out
.targets:
	xor r9d, r9d                        ; slot k
.slot:
	cmp r9d, [bc_qq]
	jae .done
	mov eax, [bc_me]
	add rax, [bc_skips + r9 * 8]
	xor edx, edx
	mov ecx, [bc_N]
	div rcx
	mov [bc_tgt + r9 * 4], edx
	mov dword [bc_tgt_first + r9 * 4], -1
	test edx, edx
	jz .next                            ; the seed receives nothing
	mov eax, edx
	mov rdi, r9
	shl rdi, 7                          ; BC_Q_MAX dwords per row
	add rdi, bc_tgt_recv
	push rdi
	call bc_recv_sched
	pop rsi
	jc .out
	xor r10d, r10d                      ; the target's first round with the last piece
.first:
	cmp r10d, [bc_rounds]
	jae .next
	mov eax, r10d
	call bc_round_piece
	mov ecx, [bc_K]
	dec ecx
	cmp eax, ecx
	je .found
	inc r10d
	jmp .first
.found:
	mov [bc_tgt_first + r9 * 4], r10d
.next:
	inc r9d
	jmp .slot
.done:
	clc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; bc_send_round -- This node's push in plan round t (what its target in that slot receives).
;  IN:  EAX = t
;  OUT: CF = 0: EAX = piece, EBX = target index; CF = 1 nothing to send in that round
;  CLOBBERS: RCX, RDX, RSI
bc_send_round:
	push rax
	add eax, [bc_x]
	xor edx, edx
	div dword [bc_qq]
	mov ebx, [bc_tgt + rdx * 4]
	pop rax
	test ebx, ebx
	jz .none
	mov rsi, rdx
	shl rsi, 7
	add rsi, bc_tgt_recv
	push rax
	push rdx
	call bc_round_piece
	pop rcx                             ; slot
	pop rdx                             ; t
	test eax, eax
	js .none
	mov esi, [bc_K]
	dec esi
	cmp eax, esi
	jne .ok
	cmp edx, [bc_tgt_first + rcx * 4]
	jne .none                           ; a clamped copy the target already has
.ok:
	clc
	ret
.none:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_idx_of -- The index of a node number in the update's node list.
;  IN:  EAX = node number
;  OUT: CF = 0, ECX = index; CF = 1 not in the list
;  CLOBBERS: nothing else
bc_idx_of:
	xor ecx, ecx
.scan:
	cmp ecx, [bc_N]
	jae .no
	cmp [bc_nodes + rcx * 4], eax
	je .yes
	inc ecx
	jmp .scan
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_id_match -- Does a frame's update id (its payload's first 20 bytes) name the current
; update, which is past its manifest?
;  IN:  RSI = frame
;  OUT: CF = 0 yes; CF = 1 no (counted unknown)
;  CLOBBERS: RCX, RDI
bc_id_match:
	cmp byte [bc_state], BC_S_ACTIVE
	jb .no
	cmp byte [bc_state], BC_S_STORED
	ja .no
	push rsi
	add rsi, gtp_hdr_size
	mov rdi, bc_id
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	jne .no
	clc
	ret
.no:
	inc qword [bc_c_unknown]
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_send -- Sends a propagation frame whose payload (after the id) the caller wrote at
; gtp_tx_payload; writes the id and counts the bytes (PIECE: data, others: control).
;  IN:  AL = type, ECX = payload bytes, EDX = destination IPv4, R8 = MAC or 0
;  OUT: CF as gtp_send
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
bc_send:
	push rcx
	push rax
	mov rsi, bc_id
	mov rdi, gtp_tx_payload
	mov ecx, HASH_SIZE
	rep movsb
	pop rax
	pop rcx
	push rcx
	push rax
	call gtp_send
	pop rax
	pop rcx
	jc .out
	add ecx, gtp_hdr_size
	cmp al, GTP_T_PIECE
	je .data
	add [bc_c_ctl_bytes], rcx
	clc
	ret
.data:
	sub ecx, gtp_hdr_size + bc_piece_size
	add [bc_c_data_bytes], rcx
	clc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; bc_send_status -- STATUS or GET for a piece.
;  IN:  AL = GTP_T_PSTATUS or GTP_T_PGET, EBX = piece, R10 = chunk mask, EDX = IPv4, R8 = MAC or 0
;  OUT: CF as gtp_send
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
bc_send_status:
	mov [gtp_tx_payload + bc_pstatus.piece], ebx
	mov [gtp_tx_payload + bc_pstatus.missing], r10
	mov ecx, bc_pstatus_size
	jmp bc_send

; ---------------------------------------------------------------------------------------------
; bc_send_map -- Multicasts PIECE_MAP: the pieces this node holds.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
bc_send_map:
	mov rdi, gtp_tx_payload + bc_pmap_size
	xor eax, eax
	mov ecx, BC_MAP_BYTES
	rep stosb
	xor ecx, ecx
.bits:
	cmp ecx, [bc_K]
	jae .sized
	cmp byte [bc_held + rcx], 0
	je .bit_next
	bts [gtp_tx_payload + bc_pmap_size], ecx
.bit_next:
	inc ecx
	jmp .bits
.sized:
	mov eax, [bc_K]
	mov [gtp_tx_payload + bc_pmap.pieces], ax
	mov eax, [bc_held_count]
	mov [gtp_tx_payload + bc_pmap.held], ax
	mov ecx, [bc_K]
	add ecx, 7
	shr ecx, 3
	add ecx, bc_pmap_size
	mov al, GTP_T_PMAP
	mov edx, NET_GROUP_N
	xor r8d, r8d
	jmp bc_send

; ---------------------------------------------------------------------------------------------
; bc_send_update -- Multicasts the manifest as UPDATE frames (BC_PART bytes each).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R10
bc_send_update:
	xor r10d, r10d                      ; offset
.part:
	cmp r10d, [bc_man_total]
	jae .out
	mov eax, [bc_man_total]
	mov [gtp_tx_payload + bc_update.total], eax
	mov [gtp_tx_payload + bc_update.offset], r10d
	mov rax, [ticks]
	sub rax, [bc_start]
	mov [gtp_tx_payload + bc_update.age], eax
	mov ecx, [bc_man_total]
	sub ecx, r10d
	cmp ecx, BC_PART
	jbe .len
	mov ecx, BC_PART
.len:
	push rcx
	lea rsi, [bc_man_buf + r10]
	mov rdi, gtp_tx_payload + bc_update_size
	rep movsb
	pop rcx
	add ecx, bc_update_size
	mov al, GTP_T_UPDATE
	mov edx, NET_GROUP_N
	xor r8d, r8d
	call bc_send
	add r10d, BC_PART
	jmp .part
.out:
	ret

; ---------------------------------------------------------------------------------------------
; bcast_propagate_objects -- Queues a propagation with this node as the seed (the entry for a
; hook, e.g. "a commit landed on a branch whose policy is `all`", and CONTROL PROPAGATE): the
; main loop starts it (bc_tick).
;  IN:  RSI = hashes (20 bytes each), ECX = count (1 .. BC_OBJECTS_MAX), AL = flags
;       (BC_HOST_FLAG: the host peer is one of the nodes)
;  OUT: CF = 0 queued; CF = 1 refused (count out of range)
;  CLOBBERS: RCX, RSI, RDI
bcast_propagate_objects:
	test ecx, ecx
	jz .bad
	cmp ecx, BC_OBJECTS_MAX
	ja .bad
	mov [bc_q_flags], al
	mov [bc_q_count], ecx
	imul ecx, ecx, HASH_SIZE
	mov rdi, bc_q_hashes
	rep movsb
	mov byte [bc_q_pending], 1
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_rx_control_propagate -- CONTROL op 10 PROPAGATE (authenticated): `flags u8` ·
; `count u8` · `pad u8` · `hash[20] × count`: the node becomes the seed of a propagation of
; those objects (queued for the main loop). Size exact, else dropped (size).
;  IN:  RBX = payload, ECX = payload length
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RSI, RDI
bc_rx_control_propagate:
	movzx eax, byte [rbx + 2]
	test eax, eax
	jz .size
	cmp eax, BC_OBJECTS_MAX
	ja .size
	imul eax, eax, HASH_SIZE
	add eax, 4
	cmp eax, ecx
	jne .size
	movzx ecx, byte [rbx + 2]
	mov al, [rbx + 1]
	lea rsi, [rbx + 4]
	jmp bcast_propagate_objects
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; bc_in_update -- Is an object one of the running update's (its manifest read, not yet stored
; or failed)? The placement loop leaves such an object to the propagation rather than fetching
; it beside the schedule.
;  IN:  RSI = 20-byte hash
;  OUT: CF = 1 it is; CF = 0 not (or no update running)
;  CLOBBERS: RAX, RCX, RDX, RDI
bc_in_update:
	cmp byte [bc_state], BC_S_ACTIVE
	je .look
	cmp byte [bc_state], BC_S_COMPLETE
	jne .no
.look:
	xor edx, edx
.obj:
	cmp edx, [bc_nobj]
	jae .no
	imul edi, edx, bc_obj_size
	add rdi, bc_man_buf + bc_man_size
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	je .yes
	inc edx
	jmp .obj
.yes:
	stc
	ret
.no:
	clc
	ret

; ---------------------------------------------------------------------------------------------
; bc_seed_start -- Starts a propagation of the queued objects (bc_q_*) with this node as the
; seed: reads each object from GitFS into the update buffer, cuts it into 64 KiB pieces,
; builds the manifest (objects, the node list: this node, then the live peers in increasing
; order (the host peer only with BC_HOST_FLAG), the pieces' SHA-1s), names the update by its
; SHA-1 and multicasts it.
;  IN:  bc_q_hashes, bc_q_count, bc_q_flags
;  OUT: CF = 0 started (bc_id); CF = 1, RDX = reason
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
bc_seed_start:
	mov byte [bc_q_pending], 0
	cmp qword [bc_data], 0
	je .no_buffer
	cmp byte [fs_mounted], 0
	je .no_fs
	cmp byte [bc_state], BC_S_MANIFEST
	je .busy
	cmp byte [bc_state], BC_S_ACTIVE
	je .busy
	mov byte [bc_state], BC_S_NONE
	mov rdi, bc_man_buf
	xor eax, eax
	mov ecx, BC_MANIFEST_MAX
	rep stosb
	mov dword [bc_man_buf + bc_man.magic], BC_MAN_MAGIC
	mov byte [bc_man_buf + bc_man.version], 1
	mov eax, [bc_q_count]
	mov [bc_man_buf + bc_man.nobj], ax
	mov dword [bc_man_buf + bc_man.piece_size], BC_PIECE_BYTES
	xor r12d, r12d                      ; object
	xor r13d, r13d                      ; bytes so far
.object:
	cmp r12d, [bc_q_count]
	jae .objects_done
	call watchdog_feed
	imul esi, r12d, HASH_SIZE
	add rsi, bc_q_hashes
	mov r14, rsi
	call gitfs_mark
	mov r15, rax
	call gitfs_read_object
	jc .not_found
	lea rbx, [r13 + rcx]
	cmp rbx, BC_DATA_MAX
	ja .too_big
	imul edi, r12d, bc_obj_size
	add rdi, bc_man_buf + bc_man_size
	mov [rdi + bc_obj.otype], dl
	mov [rdi + bc_obj.size], rcx
	push rsi
	push rcx
	mov rsi, r14
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	pop rsi
	mov rsi, rax
	mov rdi, [bc_data]
	add rdi, r13
	add r13, rcx
	rep movsb
	mov rax, r15
	call gitfs_release
	inc r12d
	jmp .object
.objects_done:
	test r13, r13
	jz .empty
	mov [bc_total], r13
	mov [bc_man_buf + bc_man.total], r13
	lea rax, [r13 + BC_PIECE_BYTES - 1]
	shr rax, 16
	mov [bc_K], eax
	mov [bc_man_buf + bc_man.pieces], eax
	; the node list: this node first, then the live peers in increasing order
	mov eax, [net_node]
	mov [bc_nodes], eax
	mov r8d, 1
	xor ebx, ebx
.peer:
	mov eax, [gtp_peers + rbx + gtp_peer.node]
	test eax, eax
	jz .peer_next
	cmp qword [gtp_peers + rbx + gtp_peer.heard], 0
	je .peer_next
	mov rcx, [ticks]
	sub rcx, [gtp_peers + rbx + gtp_peer.heard]
	cmp rcx, GTP_STALE_TICKS
	jae .peer_next
	cmp eax, GTP_HOST_NODE
	jne .peer_add
	test byte [bc_q_flags], BC_HOST_FLAG
	jz .peer_next
.peer_add:
	cmp r8d, BC_NODES_MAX
	jae .peer_next
	; insertion into bc_nodes[1..r8) in increasing order
	mov ecx, r8d
.shift:
	cmp ecx, 1
	jbe .place
	cmp [bc_nodes + rcx * 4 - 4], eax
	jbe .place
	mov edx, [bc_nodes + rcx * 4 - 4]
	mov [bc_nodes + rcx * 4], edx
	dec ecx
	jmp .shift
.place:
	mov [bc_nodes + rcx * 4], eax
	inc r8d
.peer_next:
	add ebx, gtp_peer_size
	cmp ebx, GTP_PEERS * gtp_peer_size
	jb .peer
	mov [bc_N], r8d
	mov [bc_man_buf + bc_man.nnodes], r8w
	cmp r8d, 2
	jb .alone
	; nodes and piece hashes after the objects
	imul edi, [bc_q_count], bc_obj_size
	add rdi, bc_man_buf + bc_man_size
	mov rsi, bc_nodes
	mov ecx, r8d
	rep movsd
	mov [bc_phash_ptr], rdi
	xor r12d, r12d
.hash:
	cmp r12d, [bc_K]
	jae .hashed
	mov eax, r12d
	call bc_piece_len
	mov ecx, eax
	mov esi, r12d
	shl rsi, 16
	add rsi, [bc_data]
	mov rdx, [bc_phash_ptr]
	imul eax, r12d, HASH_SIZE
	add rdx, rax
	mov rdi, bc_sha_ctx
	call sha1_init
	call sha1_update
	call sha1_final
	inc r12d
	jmp .hash
.hashed:
	imul eax, [bc_K], HASH_SIZE
	add rax, [bc_phash_ptr]
	sub rax, bc_man_buf
	mov [bc_man_total], eax
	mov rdi, bc_sha_ctx
	call sha1_init
	mov rsi, bc_man_buf
	mov ecx, eax
	call sha1_update
	mov rdx, bc_id
	call sha1_final
	mov dword [bc_me], 0
	call bc_plan
	jc .sched
	call bc_reset_pieces
	mov ecx, [bc_K]
	mov rdi, bc_held
	mov al, 1
	rep stosb
	mov eax, [bc_K]
	mov [bc_held_count], eax
	mov byte [bc_role], BC_R_SEED
	mov byte [bc_state], BC_S_ACTIVE
	mov byte [bc_upd_burst], 3
	mov rax, [ticks]
	mov [bc_next_upd], rax
	call bc_update_state                ; all held: complete
	clc
	ret
.not_found:
	mov rax, r15
	call gitfs_release
	mov rdx, gitfs_r_not_found
	stc
	ret
.too_big:
	mov rax, r15
	call gitfs_release
	mov rdx, str_too_big
	stc
	ret
.no_buffer:
	mov rdx, str_gtp_out_of_memory
	stc
	ret
.no_fs:
	mov rdx, str_bc_no_fs
	stc
	ret
.busy:
	mov rdx, str_bc_busy
	stc
	ret
.empty:
	mov rdx, str_bc_empty
	stc
	ret
.alone:
	mov rdx, str_bc_alone
	stc
	ret
.sched:
	mov rdx, str_bc_sched_fail
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_reset_pieces -- (internal) Clears the per-piece and per-node state of a new update.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDI
bc_reset_pieces:
	xor eax, eax
	mov rdi, bc_zero_begin
	mov ecx, bc_zero_end - bc_zero_begin
	rep stosb
	mov byte [bc_lossy], 1              ; until a push goes through at once: a first push whose
	                                    ; LAST or STATUS is lost would hold up every round after it
	mov byte [bc_unsure], 1             ; (no loss seen yet: the target barrier holds)
	mov rax, [ticks]
	mov [bc_start], rax
	mov [bc_last_rx], rax
	mov [bc_next_map], rax
	mov [bc_next_recover], rax
	ret

; ---------------------------------------------------------------------------------------------
; bc_update_state -- After a piece arrived: complete when every piece is held (EVENT update,
; PIECE_MAP at once; the seed's first map goes out at its next tick).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
bc_update_state:
	mov eax, [bc_held_count]
	cmp eax, [bc_K]
	jb .out
	cmp byte [bc_state], BC_S_ACTIVE
	jne .out
	mov byte [bc_state], BC_S_COMPLETE
	mov rax, [ticks]
	mov [bc_complete_tick], rax
	sub rax, [bc_start]
	mov [bc_done_ms], rax
	cmp byte [bc_role], BC_R_SEED
	jne .event
	mov byte [bc_state], BC_S_STORED    ; the seed has the objects already
	jmp .map
.event:
	call bc_event
	call bc_send_map                    ; the group hears at once that this node is complete
	mov byte [bc_map_burst], 2          ; and twice more, 20 ms apart: under loss a lost
	mov rax, [ticks]                    ; completion map left the others (and the host's
	add rax, 20                         ; view) a second behind
	mov [bc_next_map], rax
	ret
.map:
	mov rax, [ticks]
	add rax, BC_UPDATE_MS
	mov [bc_next_map], rax
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_update -- UPDATE (authenticated): one part of a manifest. Parts of a new update id
; start an assembly (unless one is active); the complete manifest must hash to the id, then
; it is parsed (bc_manifest_accept).
;  IN:  RSI = frame (auth and replay passed)
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_rx_update:
	movzx ecx, word [rsi + gtp_hdr.length]
	lea rbx, [rsi + gtp_hdr_size]
	sub ecx, bc_update_size             ; part bytes (>= 1: the gate)
	mov eax, [rbx + bc_update.total]
	cmp eax, bc_man_size
	jb .size
	cmp eax, BC_MANIFEST_MAX
	ja .size
	mov edx, [rbx + bc_update.offset]
	test edx, BC_PART - 1
	jnz .size
	cmp edx, eax
	jae .size
	sub eax, edx
	cmp eax, BC_PART
	jbe .len
	mov eax, BC_PART
.len:
	cmp eax, ecx
	jne .size
	; the current update, or a new one?
	mov rdi, bc_id
	push rsi
	lea rsi, [rbx + bc_update.id]
	push rcx
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rcx
	pop rsi
	jne .other
	cmp byte [bc_state], BC_S_MANIFEST
	jne .out                            ; known already (or refused)
	jmp .part
.other:
	cmp byte [bc_state], BC_S_ACTIVE
	je .out                             ; one update at a time
	cmp byte [bc_state], BC_S_MANIFEST
	jne .start
	mov rax, [ticks]
	sub rax, [bc_asm_tick]
	cmp rax, 2000
	jb .out                             ; another assembly is fresh
.start:
	push rsi
	push rcx
	lea rsi, [rbx + bc_update.id]
	mov rdi, bc_id
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	pop rsi
	mov eax, [rbx + bc_update.total]
	mov [bc_man_total], eax
	mov qword [bc_man_parts], 0
	mov rax, [ticks]
	mov [bc_asm_tick], rax
	mov byte [bc_state], BC_S_MANIFEST
.part:
	mov eax, [rbx + bc_update.total]
	cmp eax, [bc_man_total]
	jne .size
	mov edx, [rbx + bc_update.offset]
	lea rsi, [rbx + bc_update_size]
	lea rdi, [bc_man_buf + rdx]
	rep movsb
	shr edx, 10                         ; part index (BC_PART = 1024)
	bts [bc_man_parts], rdx
	mov eax, [bc_man_total]
	add eax, BC_PART - 1
	shr eax, 10
	mov ecx, eax
	mov rax, 1
	shl rax, cl
	dec rax
	cmp rax, [bc_man_parts]
	jne .out
	mov eax, [rbx + bc_update.age]
	mov [bc_age], eax
	; whole: it must hash to the id
	mov rdi, bc_sha_ctx
	call sha1_init
	mov rsi, bc_man_buf
	mov ecx, [bc_man_total]
	call sha1_update
	mov rdx, bc_digest
	call sha1_final
	mov rsi, bc_digest
	mov rdi, bc_id
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .bad_manifest
	jmp bc_manifest_accept
.bad_manifest:
	inc qword [bc_c_bad_manifest]
	mov byte [bc_state], BC_S_FAILED
.out:
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; bc_manifest_accept -- A manifest that hashed to its id: checks every field (magic, version,
; counts within the limits, sizes adding up, the length exact), finds this node in the list
; and plans its part. A node not in the list stays outside; a manifest completed more than
; BC_LATE_MS after the seed started makes this node a late one (it pulls, it does not push).
;  IN:  bc_man_buf, bc_man_total, bc_id, bc_age
;  OUT: bc_state = ACTIVE (or FAILED / OUTSIDE)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
bc_manifest_accept:
	cmp qword [bc_data], 0
	je .bad
	cmp dword [bc_man_buf + bc_man.magic], BC_MAN_MAGIC
	jne .bad
	cmp byte [bc_man_buf + bc_man.version], 1
	jne .bad
	cmp dword [bc_man_buf + bc_man.piece_size], BC_PIECE_BYTES
	jne .bad
	movzx eax, word [bc_man_buf + bc_man.nobj]
	test eax, eax
	jz .bad
	cmp eax, BC_OBJECTS_MAX
	ja .bad
	mov [bc_nobj], eax
	movzx eax, word [bc_man_buf + bc_man.nnodes]
	cmp eax, 2
	jb .bad
	cmp eax, BC_NODES_MAX
	ja .bad
	mov [bc_N], eax
	mov eax, [bc_man_buf + bc_man.pieces]
	test eax, eax
	jz .bad
	cmp eax, BC_PIECES_MAX
	ja .bad
	mov [bc_K], eax
	mov rax, [bc_man_buf + bc_man.total]
	test rax, rax
	jz .bad
	cmp rax, BC_DATA_MAX
	ja .bad
	mov [bc_total], rax
	add rax, BC_PIECE_BYTES - 1
	shr rax, 16
	cmp eax, [bc_K]
	jne .bad
	; the length: header + objects + nodes + piece hashes
	imul eax, [bc_nobj], bc_obj_size
	mov ecx, [bc_N]
	lea eax, [eax + ecx * 4 + bc_man_size]
	imul ecx, [bc_K], HASH_SIZE
	add eax, ecx
	cmp eax, [bc_man_total]
	jne .bad
	; the objects' sizes add up to the total, their types are git's
	xor ecx, ecx
	xor edx, edx
.obj:
	cmp ecx, [bc_nobj]
	jae .obj_done
	imul edi, ecx, bc_obj_size
	add rdi, bc_man_buf + bc_man_size
	movzx eax, byte [rdi + bc_obj.otype]
	dec eax
	cmp eax, 3
	ja .bad
	mov rax, [rdi + bc_obj.size]
	cmp rax, BC_DATA_MAX
	ja .bad
	add rdx, rax
	inc ecx
	jmp .obj
.obj_done:
	cmp rdx, [bc_total]
	jne .bad
	imul esi, [bc_nobj], bc_obj_size
	add rsi, bc_man_buf + bc_man_size
	mov rdi, bc_nodes
	mov ecx, [bc_N]
	rep movsd
	mov [bc_phash_ptr], rsi
	mov eax, [net_node]
	call bc_idx_of
	jc .outside
	test ecx, ecx
	jz .bad                             ; the seed is someone else
	mov [bc_me], ecx
	call bc_plan
	jc .bad
	call bc_reset_pieces
	mov byte [bc_role], BC_R_PUSH
	cmp dword [bc_age], BC_LATE_MS
	jb .role
	mov byte [bc_role], BC_R_LATE
.role:
	mov byte [bc_state], BC_S_ACTIVE
	mov eax, [net_node]
	and eax, 7
	add [bc_next_map], rax
	call bc_event
	ret
.outside:
	mov byte [bc_state], BC_S_OUTSIDE
	ret
.bad:
	inc qword [bc_c_bad_manifest]
	mov byte [bc_state], BC_S_FAILED
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_piece -- PIECE: one chunk of a piece of the current update. Bounds: piece < K, chunk
; within the piece, the length exactly the chunk's (else size). A chunk of a piece held
; already is a duplicate (answered STATUS 0 on a burst's first or last frame); a new chunk is
; copied into the update buffer. The last chunk of a piece checks the piece's SHA-1 against
; the manifest: a match makes it held (STATUS 0 back), a mismatch is counted bad_piece, the
; piece is cleared and asked again whole (STATUS all). A LAST frame with chunks still missing
; gets a STATUS naming them.
;  IN:  RSI = frame; net_rx_src_ip, net_rx_mac
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R12
gtp_rx_piece:
	call bc_id_match
	jc .out
	lea rbx, [rsi + gtp_hdr_size]
	movzx r12d, word [rsi + gtp_hdr.length]
	sub r12d, bc_piece_size             ; chunk bytes
	mov eax, [rbx + bc_piece.piece]
	cmp eax, [bc_K]
	jae .size
	mov r9d, eax                        ; P
	call bc_piece_len                   ; EAX bytes, ECX chunks, RDX full mask
	mov r11, rdx
	movzx r10d, word [rbx + bc_piece.chunk]
	cmp r10d, ecx
	jae .size
	imul edx, r10d, GTP_CHUNK_MAX
	sub eax, edx
	cmp eax, GTP_CHUNK_MAX
	jbe .clen
	mov eax, GTP_CHUNK_MAX
.clen:
	cmp eax, r12d
	jne .size
	inc qword [bc_c_rx_chunks]
	cmp byte [bc_held + r9], 0
	jne .dup_held
	bt [bc_chunks + r9 * 8], r10
	jc .dup
	; copy: data + P * 64 KiB + chunk * CHUNK_MAX
	mov edi, r9d
	shl rdi, 16
	add rdi, rdx
	add rdi, [bc_data]
	push rsi
	lea rsi, [rbx + bc_piece_size]
	mov ecx, r12d
	call gtp_copy                       ; (8 bytes a step: under TCG a byte step costs as much)
	pop rsi
	cmp qword [bc_chunks + r9 * 8], 0
	jne .not_first
	call rdtsc64                        ; the piece's first chunk: its receive time starts
	mov [bc_first_tsc + r9 * 8], rax
.not_first:
	bts [bc_chunks + r9 * 8], r10
	mov rax, [ticks]
	mov [bc_prog + r9 * 8], rax
	mov [bc_last_rx], rax
	add [bc_c_rx_bytes], r12
	call bc_stream                      ; hash what is contiguous now (RBX, R9, R11 kept)
	cmp [bc_chunks + r9 * 8], r11
	je .whole
.check_last:
	test word [rbx + bc_piece.flags], BC_FLAG_LAST
	jz .out
	mov r10, r11
	mov rax, [bc_chunks + r9 * 8]
	not rax
	and r10, rax
	jmp .status
.whole:
	; verify the piece against the manifest: the stream's digest when it took every chunk in
	; order as they came (bc_stream), else the whole piece now
	lea eax, [r9 + 1]
	cmp [bc_sv_piece1], eax
	jne .hash_whole
	mov eax, r9d
	call bc_piece_len
	cmp [bc_sv_next], ecx
	jne .hash_whole
	mov dword [bc_sv_piece1], 0
	mov rdi, bc_sv_ctx
	mov rdx, bc_digest
	call sha1_final
	jmp .compare
.hash_whole:
	inc qword [bc_c_whole]
	mov eax, r9d
	call bc_piece_len
	mov ecx, eax
	mov esi, r9d
	shl rsi, 16
	add rsi, [bc_data]
	mov rdi, bc_sha_ctx
	call sha1_init
	call sha1_update
	mov rdx, bc_digest
	call sha1_final
.compare:
	imul esi, r9d, HASH_SIZE
	add rsi, [bc_phash_ptr]
	mov rdi, bc_digest
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .bad_piece
	mov byte [bc_held + r9], 1
	inc dword [bc_held_count]
	mov rbx, [bc_first_tsc + r9 * 8]    ; first chunk to held: the piece's time on the link
	call time_us_since
	mov [bc_pdur + r9 * 4], eax
	mov rax, [ticks]                    ; the map goes out at the next tick (the target
	mov [bc_next_map], rax              ; barrier of this node's next senders waits on it)
	cmp byte [bc_req_n + r9], 0
	je .held
	inc qword [bc_c_pulled]
	mov byte [bc_req_n + r9], 0
.held:
	xor r10d, r10d
	mov ebx, r9d
	mov al, GTP_T_PSTATUS
	mov edx, [net_rx_src_ip]
	mov r8, net_rx_mac
	call bc_send_status
	jmp bc_update_state
.bad_piece:
	inc qword [bc_c_bad_piece]
	mov qword [bc_chunks + r9 * 8], 0
	mov dword [bc_sv_piece1], 0         ; (a stream of it is void too)
	mov r10, r11                        ; all of it again
	jmp .status
.dup_held:
	inc qword [bc_c_dup]
	xor r10d, r10d
	test word [rbx + bc_piece.flags], BC_FLAG_LAST
	jnz .status
	cmp word [rbx + bc_piece.chunk], 0
	jne .out
	jmp .status
.dup:
	inc qword [bc_c_dup]
	jmp .check_last
.status:
	mov ebx, r9d
	mov al, GTP_T_PSTATUS
	mov edx, [net_rx_src_ip]
	mov r8, net_rx_mac
	call bc_send_status
.out:
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; bc_stream -- The receive-side SHA-1 stream: a piece's chunks are hashed as they arrive in
; order, so that when its last chunk comes the digest is ready (the verify no longer sits between
; a piece's arrival and its forwarding: under TCG about 3 ms of each round). One stream at a
; time: a piece whose chunk 0 is here takes it over (the piece it left is hashed whole at its
; end); chunks after a gap wait for the gap to fill.
;  IN:  R9D = piece (its chunk bits in bc_chunks just updated)
;  OUT: nothing (bc_sv_*)
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8
bc_stream:
	lea eax, [r9 + 1]
	cmp [bc_sv_piece1], eax
	je .more
	bt qword [bc_chunks + r9 * 8], 0
	jnc .out                            ; its start is not here: no stream for it
	mov [bc_sv_piece1], eax
	mov dword [bc_sv_next], 0
	mov rdi, bc_sv_ctx
	call sha1_init
.more:
	mov eax, r9d
	call bc_piece_len                   ; EAX bytes, ECX chunks
	mov r8d, eax
	mov eax, [bc_sv_next]
	cmp eax, ecx
	jae .out                            ; all of it hashed
	bt [bc_chunks + r9 * 8], rax
	jnc .out                            ; a gap: wait for it
	imul edx, eax, GTP_CHUNK_MAX        ; the chunk's offset in the piece
	sub r8d, edx
	cmp r8d, GTP_CHUNK_MAX
	jbe .len
	mov r8d, GTP_CHUNK_MAX
.len:
	mov esi, r9d
	shl rsi, 16
	add rsi, rdx
	add rsi, [bc_data]
	mov ecx, r8d
	mov rdi, bc_sv_ctx
	call sha1_update
	inc dword [bc_sv_next]
	jmp .more
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_pstatus -- STATUS: what the receiver of our running push still misses (0: it holds
; the piece). Records the holder; a push to it resends the missing chunks or ends. After a
; doubled burst (bc_lossy: its LAST went twice) the STATUS after the one acted on is dropped
; (bc_j_skip: the same chunks again, from the LAST's copy).
;  A push that was not waited for (bc_acks) is answered here too: its slot is freed once the
;  piece is held; chunks it misses are queued as a served request (and LAST frames go twice
;  from then on), the stale second answer of a doubled LAST dropped.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R9-R11
gtp_rx_pstatus:
	call bc_id_match
	jc .out
	lea rbx, [rsi + gtp_hdr_size]
	mov eax, [rbx + bc_pstatus.piece]
	cmp eax, [bc_K]
	jae .size
	mov r9d, eax
	call bc_piece_len
	mov r11, rdx
	mov r10, [rbx + bc_pstatus.missing]
	and r10, r11
	jnz .job
	mov eax, [rsi + gtp_hdr.sender]     ; it holds P
	call bc_idx_of
	jc .job
	shl ecx, 4
	bts [bc_maps + rcx], r9
.job:
	cmp byte [bc_j_active], 0
	je .ack
	cmp [bc_j_piece], r9d
	jne .ack
	mov eax, [rsi + gtp_hdr.sender]
	cmp [bc_j_node], eax
	jne .ack
	test r10, r10
	jz .done
	; a doubled burst's two STATUS frames name the same chunks: after acting on the first,
	; the next one is stale (the link is FIFO: it comes before any answer to the resend)
	cmp byte [bc_j_skip], 0
	je .fresh
	mov byte [bc_j_skip], 0
	ret
.fresh:
	mov al, [bc_j_doubled]
	mov [bc_j_skip], al
	mov byte [bc_j_doubled], 0
	mov byte [bc_j_clean], 0
	call bc_loss_seen                   ; chunks lost: LAST frames go twice from now on
	mov rax, r10
	call bc_count_retx
	mov [bc_j_mask], r10
	mov byte [bc_j_phase], 1
	ret
.done:
	mov byte [bc_j_active], 0
	inc qword [bc_c_pushed]
	mov al, [bc_j_clean]                ; a push that went through at once: no loss seen
	xor al, 1
	mov [bc_lossy], al
	mov byte [bc_unsure], 0
.out:
	ret
.ack:
	; a push that was not waited for (bc_pump): chunks its STATUS asks for are resent as a
	; served request (not waited for either); a STATUS with the piece held frees the slot
	mov eax, [rsi + gtp_hdr.sender]
	mov edx, r9d
	call bc_ack_find
	jc .out
	mov byte [bc_acks + rcx + bc_ack.answered], 1
	test r10, r10
	jnz .ack_resend
	mov dword [bc_acks + rcx + bc_ack.node], 0
	dec byte [bc_ack_n]
	inc qword [bc_c_pushed]
	cmp byte [bc_unsure], 0
	je .out
	mov byte [bc_unsure], 0             ; the first push went through at once: no loss seen
	mov byte [bc_lossy], 0
	ret
.ack_resend:
	; the slot stays until the piece is held (the resend's burst renews it, bc_ack_add). As for
	; a push waited for (bc_j_skip): a doubled burst's two STATUS frames name the same chunks,
	; so after acting on the first the next non-zero one is dropped (the path is FIFO: it comes
	; before any answer to the resend). Without it the second copy was taken for the resend's
	; answer: the same chunks again, and the resend's own answer found no slot
	call bc_loss_seen
	cmp byte [bc_acks + rcx + bc_ack.skip], 0
	je .ack_fresh
	mov byte [bc_acks + rcx + bc_ack.skip], 0
	ret
.ack_fresh:
	mov dl, [bc_acks + rcx + bc_ack.doubled]
	mov [bc_acks + rcx + bc_ack.skip], dl
	mov byte [bc_acks + rcx + bc_ack.doubled], 0
	mov rax, r10
	call bc_count_retx
	mov eax, [rsi + gtp_hdr.sender]
	mov edx, [bc_acks + rcx + bc_ack.ip]
	call bc_serve_add                   ; (full: the slot's probe asks again)
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; bc_count_retx -- Counts the chunks of a resend (bc_c_retx; no POPCNT on every CPU model).
;  IN:  RAX = chunk mask
;  OUT: nothing
;  CLOBBERS: RAX, RDX
bc_count_retx:
	test rax, rax
	jz .out
	inc qword [bc_c_retx]
	lea rdx, [rax - 1]
	and rax, rdx
	jmp bc_count_retx
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_pget -- PIECE_GET: a node asks for chunks of a piece this node holds (recovery).
; Queued for the sender (a request for the same node and piece updates its mask); a full
; queue or a piece not held is silence (the asker tries another holder).
;  IN:  RSI = frame; net_rx_src_ip
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI
gtp_rx_pget:
	call bc_id_match
	jc .out
	lea rbx, [rsi + gtp_hdr_size]
	mov eax, [rbx + bc_pstatus.piece]
	cmp eax, [bc_K]
	jae .size
	mov r9d, eax
	cmp byte [bc_held + r9], 0
	je .out
	call bc_piece_len
	mov r10, [rbx + bc_pstatus.missing]
	and r10, rdx
	jz .out
	mov eax, [rsi + gtp_hdr.sender]
	mov edx, [net_rx_src_ip]
	call bc_serve_add                   ; (full: silence, the asker tries another holder)
.out:
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; bc_serve_add -- Queues chunks of a held piece for a node: a PIECE_GET, or the resend of a push
; that was not waited for (bc_acks: its STATUS asked for chunks, or it never came). A request
; for a node and piece already queued adds its chunks to that one.
;  IN:  EAX = node number, EDX = its IP, R9D = piece, R10 = chunk mask
;  OUT: CF = 1 the queue is full (nothing queued)
;  CLOBBERS: RCX, RDI
bc_serve_add:
	xor ecx, ecx
	mov edi, -1                         ; a free slot
.scan:
	cmp dword [bc_serveq + rcx + bc_serve.node], 0
	jne .used
	cmp edi, -1
	jne .scan_next
	mov edi, ecx
	jmp .scan_next
.used:
	cmp [bc_serveq + rcx + bc_serve.node], eax
	jne .scan_next
	cmp [bc_serveq + rcx + bc_serve.piece], r9d
	jne .scan_next
	or [bc_serveq + rcx + bc_serve.mask], r10
	clc
	ret
.scan_next:
	add ecx, bc_serve_size
	cmp ecx, BC_SERVE_SLOTS * bc_serve_size
	jb .scan
	cmp edi, -1
	je .full
	mov [bc_serveq + rdi + bc_serve.node], eax
	mov [bc_serveq + rdi + bc_serve.ip], edx
	mov [bc_serveq + rdi + bc_serve.piece], r9d
	mov [bc_serveq + rdi + bc_serve.mask], r10
	clc
	ret
.full:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_pwho -- PIECE_WHO: someone recovers; this node multicasts its PIECE_MAP after
; (node number mod 8) + 1 ms.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDI
gtp_rx_pwho:
	call bc_id_match
	jc .out
	mov eax, [net_node]
	and eax, 7
	inc eax
	add rax, [ticks]
	cmp rax, [bc_next_map]
	jae .out
	mov [bc_next_map], rax
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_pmap -- PIECE_MAP: the pieces a node of the update holds (its bitmap is kept).
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI
gtp_rx_pmap:
	call bc_id_match
	jc .out
	lea rbx, [rsi + gtp_hdr_size]
	movzx eax, word [rbx + bc_pmap.pieces]
	cmp eax, [bc_K]
	jne .size
	add eax, 7
	shr eax, 3
	add eax, bc_pmap_size
	cmp ax, [rsi + gtp_hdr.length]
	jne .size
	mov eax, [rsi + gtp_hdr.sender]
	call bc_idx_of
	jc .out
	shl ecx, 4
	lea rdi, [bc_maps + rcx]
	mov qword [rdi], 0
	mov qword [rdi + 8], 0
	mov ecx, [bc_K]
	add ecx, 7
	shr ecx, 3
	lea rsi, [rbx + bc_pmap_size]
	rep movsb
.out:
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; bc_all_complete -- Does every node of the update hold every piece (this node: its own
; pieces; the others: their last PIECE_MAP)?
;  IN:  nothing
;  OUT: CF = 0 yes; CF = 1 no
;  CLOBBERS: RAX, RCX, RDX
bc_all_complete:
	mov eax, [bc_held_count]
	cmp eax, [bc_K]
	jb .no
	xor ecx, ecx
.node:
	cmp ecx, [bc_N]
	jae .yes
	cmp ecx, [bc_me]
	je .next
	mov edx, ecx
	shl edx, 4
	xor eax, eax
.piece:
	cmp eax, [bc_K]
	jae .next
	bt [bc_maps + rdx], rax
	jnc .no
	inc eax
	jmp .piece
.next:
	inc ecx
	jmp .node
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_tick -- The propagation's timers, from gtp_tick (also inside commands' waits): the seed's UPDATE
; repeats (3 at the start 20 ms apart, then every second until every node holds everything),
; PIECE_MAP (every 500 ms while incomplete; then every second for 10 s, and while a node is
; incomplete), the sender and the recovery.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
bc_tick:
	cmp byte [bc_state], BC_S_ACTIVE
	jb .out
	cmp byte [bc_state], BC_S_STORED
	ja .out
	cmp byte [bc_role], BC_R_SEED
	jne .map
	cmp byte [bc_upd_burst], 0
	jne .update
	mov rax, [ticks]
	cmp rax, [bc_next_upd]
	jb .map
	call bc_all_complete
	jnc .map
.update:
	call bc_send_update
	mov rax, [ticks]
	add rax, BC_UPDATE_MS
	cmp byte [bc_upd_burst], 0
	je .next_upd
	dec byte [bc_upd_burst]
	sub rax, BC_UPDATE_MS - 20
.next_upd:
	mov [bc_next_upd], rax
.map:
	mov rax, [ticks]
	cmp rax, [bc_next_map]
	jb .pump
	cmp byte [bc_map_burst], 0
	je .map_period
	dec byte [bc_map_burst]             ; the completion map's repeats (bc_update_state)
	add rax, 20
	jmp .send_map
.map_period:
	add rax, BC_MAP_MS
	cmp byte [bc_state], BC_S_ACTIVE
	je .send_map
	add rax, BC_UPDATE_MS - BC_MAP_MS
	mov rdx, [ticks]
	sub rdx, [bc_complete_tick]
	cmp rdx, BC_MAP_AFTER_MS
	jb .send_map                        ; complete: a map a second for a while (maps get lost)
	push rax
	call bc_all_complete
	pop rax
	jnc .map_later
.send_map:
	mov [bc_next_map], rax
	call bc_send_map
	jmp .pump
.map_later:
	mov [bc_next_map], rax
.pump:
	call bc_pump
	cmp byte [bc_state], BC_S_ACTIVE
	jne .complete
	mov rax, [ticks]
	cmp rax, [bc_next_recover]
	jb .out
	add rax, 50
	mov [bc_next_recover], rax
	call bc_recover
	ret
.complete:
.out:
	ret

; ---------------------------------------------------------------------------------------------
; bcast_poll -- The propagation's work that touches GitFS, from net_poll only (the main loop,
; never inside a command's wait): a queued seed start, and the store of a complete update
; once its pushes are done (or BC_STORE_WAIT_MS after it completed).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
bcast_poll:
	cmp byte [bc_q_pending], 0
	je .complete
	call bc_seed_start
	jc .seed_failed
	call bc_event
	jmp .complete
.seed_failed:
	mov [bc_last_error], rdx
.complete:
	cmp byte [bc_state], BC_S_COMPLETE
	jne .out
	mov rax, [ticks]
	sub rax, [bc_complete_tick]
	cmp rax, BC_STORE_WAIT_MS
	jae .store
	cmp byte [bc_j_active], 0
	jne .out
	cmp byte [bc_ack_n], 0
	jne .out
	mov eax, [bc_cursor]
	cmp eax, [bc_rounds]
	jb .out
.store:
	call bc_store
.out:
	ret

; ---------------------------------------------------------------------------------------------
; bc_pump -- The sender: runs the current push (a burst of PIECE frames, at most BC_BURST per
; tick, the last flagged LAST), which then goes to bc_acks without waiting for its STATUS
; (bc_acks_expire probes it); with every slot taken it waits for the STATUS itself, probing
; with one LAST frame every BC_ACK_MS, giving up after BC_PROBES. Else it takes the next job:
; a queued request (PIECE_GET, or a resend a STATUS asked for) first, then the next plan
; round's push, as soon as this node holds its piece and the piece it receives in the round
; before (the round barrier; under loss that piece's last chunk; the seed and a node with
; nothing to receive then wait for their pushes' first STATUS; rounds whose target already
; holds the piece, by its PIECE_MAP, are skipped). A late node only serves. Its waits are
; counted in ms (w_barrier, w_held, w_acks).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
bc_pump:
	call bc_acks_expire
	mov r15d, BC_BURST
.again:
	cmp byte [bc_j_active], 0
	je .pick
	cmp byte [bc_j_phase], 1
	jne .wait
	; sending: the lowest chunk still to send
	test r15d, r15d
	jz .out
	mov rax, [bc_j_mask]
	test rax, rax
	jz .burst_done
	bsf r12, rax
	mov r13, rax
	btr r13, r12                        ; what stays after this one
	mov eax, [bc_j_piece]
	mov [gtp_tx_payload + bc_piece.piece], eax
	mov [gtp_tx_payload + bc_piece.chunk], r12w
	xor edx, edx
	test r13, r13
	jnz .flags
	mov edx, BC_FLAG_LAST
.flags:
	mov [gtp_tx_payload + bc_piece.flags], dx
	call bc_piece_len
	imul edx, r12d, GTP_CHUNK_MAX
	sub eax, edx
	cmp eax, GTP_CHUNK_MAX
	jbe .len
	mov eax, GTP_CHUNK_MAX
.len:
	mov r14d, eax
	mov esi, [bc_j_piece]
	shl rsi, 16
	add rsi, rdx
	add rsi, [bc_data]
	mov rdi, gtp_tx_payload + bc_piece_size
	mov ecx, r14d
	call gtp_copy                       ; (8 bytes a step: under TCG a byte step costs as much)
	lea ecx, [r14 + bc_piece_size]
	mov al, GTP_T_PIECE
	mov edx, [bc_j_ip]
	xor r8d, r8d
	call bc_send
	jc .out                             ; no slot: next tick
	mov [bc_j_mask], r13
	mov [bc_j_last], r12d
	dec r15d
	jmp .again
.burst_done:
	; under loss (bc_lossy) the LAST frame goes twice: each copy gets its STATUS back, so a
	; lost LAST or a lost STATUS no longer costs a BC_ACK_MS wait and a probe (the second,
	; stale STATUS is dropped by gtp_rx_pstatus's bc_j_skip)
	cmp byte [bc_lossy], 0
	je .release
	cmp byte [bc_j_doubled], 0
	jne .release
	mov byte [bc_j_doubled], 1
	inc qword [bc_c_last2]
	jmp .last_again
.release:
	; a push is not waited for. Its STATUS would come behind the piece this node itself
	; receives meanwhile (a shaped link is one queue): a round late in a 5-node capture. The
	; next round is paced by that receive instead (.round); the STATUS is matched in bc_acks
	; when it comes (gtp_rx_pstatus: missing chunks go again as a served request), and a
	; push whose STATUS does not come is probed (bc_acks_expire)
	call bc_ack_add
	jc .wait_status                     ; every slot taken: this one is waited for
	mov byte [bc_j_active], 0
	inc qword [bc_c_early]
	jmp .again
.wait_status:
	mov byte [bc_j_phase], 2
	mov rax, [ticks]
	add rax, BC_ACK_MS
	mov [bc_j_deadline], rax
	jmp .out
.wait:
	mov rax, [ticks]
	cmp rax, [bc_j_deadline]
	jb .out
	inc byte [bc_j_probes]
	cmp byte [bc_j_probes], BC_PROBES
	ja .give_up
	mov byte [bc_j_phase], 1
	mov byte [bc_j_clean], 0
	call bc_loss_seen                   ; a STATUS that did not come: loss (or a slow target)
	mov byte [bc_j_doubled], 0
.last_again:
	mov ecx, [bc_j_last]                ; the burst's LAST chunk once more (probe, or its copy)
	xor eax, eax
	bts rax, rcx
	mov [bc_j_mask], rax
	jmp .again
.give_up:
	inc qword [bc_c_giveups]
	mov byte [bc_j_active], 0
	jmp .again
.pick:
	; a queued PIECE_GET first
	xor ecx, ecx
.serve:
	cmp dword [bc_serveq + rcx + bc_serve.node], 0
	jne .serve_take
	add ecx, bc_serve_size
	cmp ecx, BC_SERVE_SLOTS * bc_serve_size
	jb .serve
	jmp .round
.serve_take:
	mov eax, [bc_serveq + rcx + bc_serve.node]
	mov [bc_j_node], eax
	mov dword [bc_serveq + rcx + bc_serve.node], 0
	mov eax, [bc_serveq + rcx + bc_serve.ip]
	mov [bc_j_ip], eax
	mov eax, [bc_serveq + rcx + bc_serve.piece]
	mov [bc_j_piece], eax
	mov rax, [bc_serveq + rcx + bc_serve.mask]
	mov [bc_j_mask], rax
	inc qword [bc_c_served]
	jmp .start
.round:
	cmp byte [bc_role], BC_R_LATE
	je .out
	mov eax, [bc_cursor]
	cmp eax, [bc_rounds]
	jae .out
	; the round barrier: a node pushes round t only once it holds what it receives in round
	; t - 1 (R11 = 1: it does, "paced"). Without it a node whose round has nothing to send
	; (its target holds the piece: the seed, every round for someone) runs ahead into its
	; next round, whose target is still receiving that round's piece from its own sender: two
	; pushes share one link, and the node that should have received meanwhile gets nothing (a
	; 3-node capture: every round's two pushes went to the same node, 1.84x the wire's time).
	; After a pushed round it holds too: pushes are not waited for (.release), so this
	; receive is what paces the node. (A form that held there while every push was also
	; waited for made 10% loss cost 6.2x the lossless time at N = 3.)
	xor r11d, r11d
	cmp dword [bc_me], 0
	je .barrier_done                    ; the seed receives nothing
	test eax, eax
	jz .barrier_done
	dec eax
	mov rsi, bc_recv
	call bc_round_piece
	test eax, eax
	js .barrier_done                    ; nothing to receive in that round
	mov r11d, 1
	cmp byte [bc_held + rax], 0
	jne .barrier_done
	cmp byte [bc_lossy], 0
	je .w_barrier                       ; not yet: it comes from that round's sender
	cmp byte [bc_unsure], 0
	jne .w_barrier
	; under loss, once that piece's last chunk is here its burst is over and only resends are
	; still to come: holding the node for them too would hold every round to its slowest piece
	mov r12d, eax
	call bc_piece_len                   ; ECX chunks
	dec ecx
	bt [bc_chunks + r12 * 8], rcx
	jnc .w_barrier
.barrier_done:
	; pushes not yet answered (bc_acks): only a node paced by its own receive goes on (the
	; seed, and a node with nothing to receive in round t - 1, wait for their STATUS: it
	; comes once the piece crossed the target's link). The first STATUS is that sign; chunks
	; it asks for go again as served requests ahead of the next push, not waited for: the
	; seed waited for every resend, and under 10% loss its pushes (every piece's first) came
	; 54-127 ms apart at times instead of 28
	cmp byte [bc_ack_n], 0
	je .acks_done
	test r11d, r11d
	jnz .acks_done
	xor ecx, ecx
.ack_scan:
	cmp dword [bc_acks + rcx + bc_ack.node], 0
	je .ack_next
	cmp byte [bc_acks + rcx + bc_ack.answered], 0
	je .w_acks
.ack_next:
	add ecx, bc_ack_size
	cmp ecx, BC_ACK_SLOTS * bc_ack_size
	jb .ack_scan
.acks_done:
	mov byte [bc_skipped], 0
	mov eax, [bc_cursor]
	call bc_send_round
	jc .skip
	mov r10d, ecx                       ; the slot (bc_send_round)
	mov r9d, eax                        ; piece
	mov ecx, ebx
	shl ecx, 4
	bt [bc_maps + rcx], r9
	jc .skip                            ; the target has it
	cmp byte [bc_held + r9], 0
	je .w_held                          ; not yet: data-driven, wait for it
	; the target barrier (no loss seen): push round t only once the target's PIECE_MAP shows
	; the piece it receives in round t - 1 (maps go out at every piece a node completes), at
	; most BC_TB_MS: a node that pushes without waiting for its own receive (the seed, every
	; round; anyone in the first rounds) otherwise lands on a target whose link still carries
	; that round's piece from a slower sender. Under loss a lost map would cost the wait.
	test r11d, r11d
	jnz .tb_pass                        ; paced by its own receive: the target's map would come
	                                    ; behind that receive
	cmp byte [bc_lossy], 0
	je .tb_on
	cmp byte [bc_unsure], 0
	je .tb_pass                         ; loss seen (not only the first push's doubling)
.tb_on:
	mov eax, [bc_cursor]
	test eax, eax
	jz .tb_pass
	dec eax
	mov rsi, r10
	shl rsi, 7                          ; BC_Q_MAX dwords per row
	add rsi, bc_tgt_recv
	call bc_round_piece                 ; EAX: what the target receives in round t - 1
	test eax, eax
	js .tb_pass
	cmp eax, r9d
	je .tb_pass
	mov ecx, ebx
	shl ecx, 4
	bt [bc_maps + rcx], rax
	jc .tb_pass
	mov eax, [bc_cursor]
	cmp eax, [bc_tb_round]
	je .tb_since
	mov [bc_tb_round], eax              ; the first look at this round: the wait starts
	mov rax, [ticks]
	mov [bc_tb_since], rax
	jmp .out
.tb_since:
	mov rax, [ticks]
	sub rax, [bc_tb_since]
	cmp rax, BC_TB_MS
	jb .out
	inc qword [bc_c_tb_late]            ; no map in time: push anyway
.tb_pass:
	mov [bc_j_piece], r9d
	mov eax, [bc_nodes + rbx * 4]
	mov [bc_j_node], eax
	call bc_node_ip
	mov [bc_j_ip], eax
	mov eax, r9d
	call bc_piece_len
	mov [bc_j_mask], rdx
	inc dword [bc_cursor]
.start:
	mov byte [bc_j_active], 1
	mov byte [bc_j_phase], 1
	mov byte [bc_j_probes], 0
	mov byte [bc_j_doubled], 0
	mov byte [bc_j_skip], 0
	mov byte [bc_j_clean], 1
	jmp .again
.skip:
	inc dword [bc_cursor]
	mov byte [bc_skipped], 1
	jmp .pick
.w_barrier:
	mov rsi, bc_c_w_barrier
	jmp .w_count
.w_acks:
	mov rsi, bc_c_w_acks
	jmp .w_count
.w_held:
	mov rsi, bc_c_w_held
.w_count:
	; the waits counted in ms: one count a tick (RSI = the counter, the tick it last counted
	; right after it)
	mov rax, [ticks]
	cmp rax, [rsi + 8]
	je .out
	mov [rsi + 8], rax
	inc qword [rsi]
.out:
	ret

; ---------------------------------------------------------------------------------------------
; bc_loss_seen -- A push needed a resend or a probe: LAST frames go twice from now on
; (bc_lossy), and the loss is real, not only the first push's precaution (bc_unsure).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
bc_loss_seen:
	mov byte [bc_lossy], 1
	mov byte [bc_unsure], 0
	ret

; ---------------------------------------------------------------------------------------------
; bc_ack_find -- The bc_acks slot of a push to a node of a piece.
;  IN:  EAX = node number, EDX = piece
;  OUT: CF = 0: RCX = the slot's offset in bc_acks; CF = 1 none
;  CLOBBERS: nothing else
bc_ack_find:
	cmp byte [bc_ack_n], 0
	je .none
	xor ecx, ecx
.scan:
	cmp [bc_acks + rcx + bc_ack.node], eax
	jne .next
	cmp [bc_acks + rcx + bc_ack.piece], edx
	je .found
.next:
	add ecx, bc_ack_size
	cmp ecx, BC_ACK_SLOTS * bc_ack_size
	jb .scan
.none:
	stc
	ret
.found:
	clc
	ret

; ---------------------------------------------------------------------------------------------
; bc_ack_add -- The running push (bc_j_*), sent and not waited for, into a free bc_acks slot:
; its STATUS is matched there (gtp_rx_pstatus) until BC_ACK_WAIT_MS. A resend for a node and
; piece that has a slot (a push not yet answered with the piece held) renews that slot.
;  IN:  bc_j_node, bc_j_ip, bc_j_piece, bc_j_last, bc_j_doubled
;  OUT: CF = 1 no slot free
;  CLOBBERS: RAX, RCX, RDX
bc_ack_add:
	mov eax, [bc_j_node]
	mov edx, [bc_j_piece]
	call bc_ack_find
	jnc .renew                          ; a resend of a push not yet answered: its slot
	xor ecx, ecx
.scan:
	cmp dword [bc_acks + rcx + bc_ack.node], 0
	je .take
	add ecx, bc_ack_size
	cmp ecx, BC_ACK_SLOTS * bc_ack_size
	jb .scan
	stc
	ret
.take:
	inc byte [bc_ack_n]
	mov byte [bc_acks + rcx + bc_ack.skip], 0
	mov byte [bc_acks + rcx + bc_ack.answered], 0
.renew:
	mov [bc_acks + rcx + bc_ack.node], eax
	mov [bc_acks + rcx + bc_ack.piece], edx
	mov al, [bc_j_doubled]
	mov [bc_acks + rcx + bc_ack.doubled], al
	mov eax, [bc_j_ip]
	mov [bc_acks + rcx + bc_ack.ip], eax
	mov eax, [bc_j_last]
	mov [bc_acks + rcx + bc_ack.last], eax
	mov rax, [ticks]
	add rax, BC_ACK_WAIT_MS
	cmp byte [bc_lossy], 0
	je .deadline
	sub rax, BC_ACK_WAIT_MS - BC_ACK_MS  ; under loss a lost exchange is likely: probe sooner
.deadline:
	mov [bc_acks + rcx + bc_ack.deadline], rax
	clc
	ret

; ---------------------------------------------------------------------------------------------
; bc_acks_expire -- A push whose STATUS did not come in BC_ACK_WAIT_MS (BC_ACK_MS under
; loss): its LAST chunk is queued as a served request (the probe: the receiver answers it
; with what it misses), and LAST frames go twice from now on (loss seen). A full serve queue
; leaves it for the next look.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RDI, R8-R10
bc_acks_expire:
	cmp byte [bc_ack_n], 0
	je .out
	xor r8d, r8d
.slot:
	cmp dword [bc_acks + r8 + bc_ack.node], 0
	je .next
	mov rax, [ticks]
	cmp rax, [bc_acks + r8 + bc_ack.deadline]
	jb .next
	mov eax, [bc_acks + r8 + bc_ack.node]
	mov edx, [bc_acks + r8 + bc_ack.ip]
	mov r9d, [bc_acks + r8 + bc_ack.piece]
	mov ecx, [bc_acks + r8 + bc_ack.last]
	xor r10d, r10d
	bts r10, rcx
	call bc_serve_add
	jc .next
	mov dword [bc_acks + r8 + bc_ack.node], 0
	dec byte [bc_ack_n]
	call bc_loss_seen
.next:
	add r8d, bc_ack_size
	cmp r8d, BC_ACK_SLOTS * bc_ack_size
	jb .slot
.out:
	ret

; ---------------------------------------------------------------------------------------------
; bc_recover -- Every 50 ms while incomplete. When no chunk arrived for BC_IDLE_MS (or this
; node is late), PIECE_WHO goes to the group (at most once a second) and the missing pieces
; are asked from holders by PIECE_GET: a piece whose chunks stalled for BC_IDLE_MS is asked
; too. At most BC_PULL_WINDOW pieces at a time, at most 2 outstanding requests per piece (a
; second holder only after half of BC_REQ_MS: the bounded endgame); a request without
; progress for BC_REQ_MS expires. Holders: by PIECE_MAP, starting after this node's index
; (spreading the load), else the seed.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R14
bc_recover:
	xor r13d, r13d                      ; idle?
	cmp byte [bc_role], BC_R_LATE
	je .idle
	mov rax, [ticks]
	sub rax, [bc_last_rx]
	cmp rax, BC_IDLE_MS
	jb .expire
.idle:
	mov r13d, 1
	mov rax, [ticks]
	cmp rax, [bc_next_who]
	jb .expire
	add rax, BC_WHO_MS
	mov [bc_next_who], rax
	mov [gtp_tx_payload + bc_pwho.qid], eax
	mov al, GTP_T_PWHO
	mov ecx, bc_pwho_size
	mov edx, NET_GROUP_N
	xor r8d, r8d
	call bc_send
.expire:
	; expire requests without progress; count those in flight
	xor r14d, r14d                      ; in flight
	xor r9d, r9d
.exp:
	cmp r9d, [bc_K]
	jae .ask
	cmp byte [bc_req_n + r9], 0
	je .exp_next
	mov rax, [bc_req_tick + r9 * 8]
	cmp rax, [bc_prog + r9 * 8]
	jae .since
	mov rax, [bc_prog + r9 * 8]
.since:
	mov rdx, [ticks]
	sub rdx, rax
	cmp rdx, BC_REQ_MS
	jb .live
	mov byte [bc_req_n + r9], 0
	jmp .exp_next
.live:
	inc r14d
.exp_next:
	inc r9d
	jmp .exp
.ask:
	xor r9d, r9d
.piece:
	cmp r9d, [bc_K]
	jae .out
	cmp byte [bc_held + r9], 0
	jne .next
	test r13d, r13d
	jnz .wanted
	cmp qword [bc_chunks + r9 * 8], 0
	je .next
	mov rax, [ticks]
	sub rax, [bc_prog + r9 * 8]
	cmp rax, BC_IDLE_MS
	jb .next
.wanted:
	movzx eax, byte [bc_req_n + r9]
	cmp eax, 2
	jae .next
	test eax, eax
	jz .first
	mov rax, [ticks]
	sub rax, [bc_req_tick + r9 * 8]
	cmp rax, BC_REQ_MS / 2
	jb .next
	jmp .holder
.first:
	cmp r14d, BC_PULL_WINDOW
	jae .out
.holder:
	; a holder: by map, from this node's index + P + 1 on, not one asked already
	mov r10d, 1
.cand:
	cmp r10d, [bc_N]
	jae .seed
	mov eax, [bc_me]
	add eax, r9d
	add eax, r10d
	xor edx, edx
	div dword [bc_N]
	mov r11d, edx                       ; index
	cmp r11d, [bc_me]
	je .cand_next
	mov ecx, r11d
	shl ecx, 4
	bt [bc_maps + rcx], r9
	jnc .cand_next
	call .asked_already
	jnc .send
.cand_next:
	inc r10d
	jmp .cand
.seed:
	xor r11d, r11d
	call .asked_already
	jc .next
.send:
	movzx eax, byte [bc_req_n + r9]
	test eax, eax
	jnz .second
	inc r14d
.second:
	lea rdx, [bc_req_node + r9 * 8]
	mov [rdx + rax * 4], r11d
	inc byte [bc_req_n + r9]
	mov rax, [ticks]
	mov [bc_req_tick + r9 * 8], rax
	inc qword [bc_c_gets]
	mov eax, r9d
	call bc_piece_len
	mov r10, [bc_chunks + r9 * 8]
	not r10
	and r10, rdx
	mov eax, [bc_nodes + r11 * 4]
	call bc_node_ip
	mov edx, eax
	mov ebx, r9d
	mov al, GTP_T_PGET
	xor r8d, r8d
	push r9
	call bc_send_status
	pop r9
.next:
	inc r9d
	jmp .piece
.out:
	ret
; CF = 1 when index R11 is one of piece R9's outstanding requests
.asked_already:
	push rax
	movzx ecx, byte [bc_req_n + r9]
	lea rax, [bc_req_node + r9 * 8]
	xor edx, edx
.aa:
	cmp edx, ecx
	jae .aa_no
	cmp [rax + rdx * 4], r11d
	je .aa_yes
	inc edx
	jmp .aa
.aa_no:
	pop rax
	clc
	ret
.aa_yes:
	pop rax
	stc
	ret

; ---------------------------------------------------------------------------------------------
; bc_store -- Every piece held: each object's bytes must hash (git SHA-1) to its manifest
; hash; then all of them are stored in one GitFS transaction and pinned (pol_pin: the
; placement loop does not demote what a propagation brought to every node). A mismatch (counted
; bad_object) or a GitFS error fails the update and stores nothing. EVENT update state=stored|failed.
;  IN:  nothing
;  OUT: bc_state = STORED or FAILED
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R14
bc_store:
	call watchdog_feed
	xor r12d, r12d                      ; object
	xor r13d, r13d                      ; offset
.verify:
	cmp r12d, [bc_nobj]
	jae .verified
	call watchdog_feed                  ; each object's SHA-1 (MiBs under TCG) is progress
	imul ebx, r12d, bc_obj_size
	add rbx, bc_man_buf + bc_man_size
	mov rsi, [bc_data]
	add rsi, r13
	mov rcx, [rbx + bc_obj.size]
	add r13, rcx
	mov dl, [rbx + bc_obj.otype]
	mov rdi, bc_digest
	call gitfs_hash_object
	jc .bad
	mov rsi, rbx
	mov rdi, bc_digest
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .bad
	inc r12d
	jmp .verify
.verified:
	mov rax, [fs_arena_base]            ; a clean arena, as a command would have
	call gitfs_release
	mov rcx, [bc_total]
	call gitfs_tx_begin
	jc .fs
	xor r12d, r12d
	xor r13d, r13d
.put:
	cmp r12d, [bc_nobj]
	jae .publish
	call watchdog_feed
	imul ebx, r12d, bc_obj_size
	add rbx, bc_man_buf + bc_man_size
	mov rsi, [bc_data]
	add rsi, r13
	mov rcx, [rbx + bc_obj.size]
	add r13, rcx
	mov dl, [rbx + bc_obj.otype]
	mov rdi, rbx                        ; its hash (verified above)
	push rbx
	call gitfs_tx_put_hashed            ; (clobbers RBX: its low byte is the type)
	pop rbx
	jc .fs
	mov rsi, rbx                        ; propagated to every node: the placement keeps it here
	call pol_pin                        ; (gtp_policy.asm: not demoted until a restart)
	inc r12d
	jmp .put
.publish:
	call watchdog_feed
	call gitfs_tx_publish
	jc .fs
	call watchdog_feed
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	mov byte [bc_state], BC_S_STORED
	jmp bc_event
.bad:
	inc qword [bc_c_bad_object]
.fs:
	mov byte [bc_state], BC_S_FAILED
	jmp bc_event

; ---------------------------------------------------------------------------------------------
; cmd_propagate -- `propagate [+host] HASH...`: this node seeds a propagation of the objects
; (stored here) to every live peer (+host: the host peer too). Prints EVENT propagate id=...
; objects=N pieces=K nodes=N bytes=N rounds=R.
;  IN:  RSI = arguments
;  OUT: CF = 0 started; CF = 1 (EVENT error)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
cmd_propagate:
	cmp byte [net_up], 0
	je .none
	call fs_begin
	jc .out
	mov byte [bc_q_flags], 0
	call bc_skip_spaces
	cmp dword [rsi], '+hos'
	jne .hashes
	cmp byte [rsi + 4], 't'
	jne .hashes
	mov byte [bc_q_flags], BC_HOST_FLAG
	add rsi, 5
.hashes:
	xor ebx, ebx
.hash:
	call bc_skip_spaces
	cmp byte [rsi], 0
	je .parsed
	cmp ebx, BC_OBJECTS_MAX
	jae .usage
	imul edi, ebx, HASH_SIZE
	add rdi, bc_q_hashes
	push rbx
	call gtp_parse_hash
	pop rbx
	jc .usage
	inc ebx
	jmp .hash
.parsed:
	test ebx, ebx
	jz .usage
	mov [bc_q_count], ebx
	call bc_seed_start
	jc .failed
	mov rsi, str_ev_propagate
	call event_begin
	mov rsi, str_bc_key_id
	call event_key
	mov rsi, bc_id
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_gtp_key_objects
	mov eax, [bc_q_count]
	call event_kv_dec
	mov rsi, str_bc_key_pieces
	mov eax, [bc_K]
	call event_kv_dec
	mov rsi, str_bc_key_nodes
	mov eax, [bc_N]
	call event_kv_dec
	mov rsi, str_bc_key_bytes
	mov rax, [bc_total]
	call event_kv_dec
	mov rsi, str_bc_key_rounds
	mov eax, [bc_rounds]
	call event_kv_dec
	call event_end
	clc
.out:
	ret
.failed:
	jmp shell_error
.usage:
	mov rdx, str_usage
	jmp shell_error
.none:
	mov rdx, str_net_no_network
	jmp shell_error

; ---------------------------------------------------------------------------------------------
; cmd_update -- `update`: the current propagation (bc_event).
;  IN:  RSI = arguments (ignored)
;  OUT: CF = 0
;  CLOBBERS: RAX, RCX, RDX, RSI
cmd_update:
	call bc_event
	clc
	ret

; ---------------------------------------------------------------------------------------------
; bc_event -- EVENT update id=<hex|none> pieces=K held=N rounds=R state=... role=... nodes=N
; index=I ms=T (manifest to complete) piece_us=U (bc_piece_median: the median µs from a piece's
; first chunk to verified; 0 with none received) and the counters: bad_piece, bad_object, bad_manifest,
; dup, pushed, served, pulled, gets, retx, giveups, last2, tb_late, early, w_barrier, w_held,
; w_acks (bc_pump's waits in ms), whole, unknown, rx_bytes, data_tx, ctl_tx.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RSI
bc_event:
	mov rsi, str_ev_update
	call event_begin
	mov rsi, str_bc_key_id
	call event_key
	cmp byte [bc_state], BC_S_NONE
	je .no_id
	mov rsi, bc_id
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	jmp .fields
.no_id:
	mov rsi, str_bc_none
	call serial_puts
.fields:
	mov rsi, str_bc_key_pieces
	mov eax, [bc_K]
	call event_kv_dec
	mov rsi, str_bc_key_held
	mov eax, [bc_held_count]
	call event_kv_dec
	mov rsi, str_bc_key_rounds
	mov eax, [bc_rounds]
	call event_kv_dec
	mov rsi, str_net_key_state
	movzx eax, byte [bc_state]
	mov rdx, [bc_state_names + rax * 8]
	call event_kv_str
	mov rsi, str_bc_key_role
	movzx eax, byte [bc_role]
	mov rdx, [bc_role_names + rax * 8]
	call event_kv_str
	mov rsi, str_bc_key_nodes
	mov eax, [bc_N]
	call event_kv_dec
	mov rsi, str_bc_key_index
	mov eax, [bc_me]
	call event_kv_dec
	mov rsi, str_bc_key_ms
	mov rax, [bc_done_ms]
	call event_kv_dec
	call bc_piece_median
	mov rsi, str_bc_key_piece_us
	call event_kv_dec
	push rbx
	xor ebx, ebx
.counter:
	mov rsi, [bc_counter_table + rbx]
	test rsi, rsi
	jz .counters_done
	mov rax, [bc_counter_table + rbx + 8]
	mov rax, [rax]
	call event_kv_dec
	add ebx, 16
	jmp .counter
.counters_done:
	pop rbx
	call event_end
	ret

; ---------------------------------------------------------------------------------------------
; bc_piece_median -- The median time one piece took to arrive here, first chunk to verified
; (bc_pdur, the pieces this node received: the time of one piece over one link, the unit of a
; round in the seed's model; the host divides a propagation's time by it to count the rounds
; it used). The upper median of the nonzero times, by insertion sort into bc_sort.
;  IN:  nothing
;  OUT: RAX = µs (0: no piece received here: the seed, or no update)
;  CLOBBERS: RCX, RDX
bc_piece_median:
	push rsi
	push rdi
	push r8
	xor ecx, ecx                        ; pieces looked at
	xor r8d, r8d                        ; times in bc_sort
.next:
	cmp ecx, [bc_K]
	jae .sorted
	cmp ecx, BC_PIECES_MAX
	jae .sorted
	mov eax, [bc_pdur + rcx * 4]
	inc ecx
	test eax, eax
	jz .next
	mov edi, r8d                        ; insert EAX: shift the greater ones up
.shift:
	test edi, edi
	jz .place
	mov edx, [bc_sort + rdi * 4 - 4]
	cmp edx, eax
	jbe .place
	mov [bc_sort + rdi * 4], edx
	dec edi
	jmp .shift
.place:
	mov [bc_sort + rdi * 4], eax
	inc r8d
	jmp .next
.sorted:
	xor eax, eax
	test r8d, r8d
	jz .out
	shr r8d, 1
	mov eax, [bc_sort + r8 * 4]
.out:
	pop r8
	pop rdi
	pop rsi
	ret

align 8
bc_state_names:      dq str_bc_none, str_bc_manifest, str_bc_active, str_bc_complete, str_bc_stored, str_bc_failed, str_bc_outside
bc_role_names:       dq str_bc_none, str_bc_seed, str_bc_push, str_bc_late
bc_counter_table:
	dq str_bc_c_bad_piece, bc_c_bad_piece
	dq str_bc_c_bad_object, bc_c_bad_object
	dq str_bc_c_bad_manifest, bc_c_bad_manifest
	dq str_bc_c_dup, bc_c_dup
	dq str_bc_c_pushed, bc_c_pushed
	dq str_bc_c_served, bc_c_served
	dq str_bc_c_pulled, bc_c_pulled
	dq str_bc_c_gets, bc_c_gets
	dq str_bc_c_retx, bc_c_retx
	dq str_bc_c_giveups, bc_c_giveups
	dq str_bc_c_last2, bc_c_last2
	dq str_bc_c_tb_late, bc_c_tb_late
	dq str_bc_c_early, bc_c_early
	dq str_bc_c_w_barrier, bc_c_w_barrier
	dq str_bc_c_w_held, bc_c_w_held
	dq str_bc_c_w_acks, bc_c_w_acks
	dq str_bc_c_whole, bc_c_whole
	dq str_bc_c_unknown, bc_c_unknown
	dq str_bc_c_rx_bytes, bc_c_rx_bytes
	dq str_bc_c_data_tx, bc_c_data_bytes
	dq str_bc_c_ctl_tx, bc_c_ctl_bytes
	dq 0, 0

str_cmd_propagate:   db "propagate", 0
str_cmd_update:      db "update", 0
str_cmd_bsched:      db "bsched", 0
str_ev_propagate:    db "propagate", 0
str_ev_update:       db "update", 0
str_ev_bsched:       db "bsched", 0
str_bc_key_n:        db "n", 0
str_bc_key_q:        db "q", 0
str_bc_key_fnv:      db "fnv", 0
str_bc_key_id:       db "id", 0
str_bc_key_pieces:   db "pieces", 0
str_bc_key_held:     db "held", 0
str_bc_key_rounds:   db "rounds", 0
str_bc_key_role:     db "role", 0
str_bc_key_nodes:    db "nodes", 0
str_bc_key_index:    db "index", 0
str_bc_key_ms:       db "ms", 0
str_bc_key_piece_us: db "piece_us", 0
str_bc_key_bytes:    db "bytes", 0
str_bc_none:         db "none", 0
str_bc_manifest:     db "manifest", 0
str_bc_active:       db "active", 0
str_bc_complete:     db "complete", 0
str_bc_stored:       db "stored", 0
str_bc_failed:       db "failed", 0
str_bc_outside:      db "outside", 0
str_bc_seed:         db "seed", 0
str_bc_push:         db "push", 0
str_bc_late:         db "late", 0
str_bc_no_fs:        db "no-filesystem", 0
str_bc_busy:         db "busy", 0
str_bc_empty:        db "empty", 0
str_bc_alone:        db "no-peers", 0
str_bc_sched_fail:   db "schedule", 0
str_bc_c_bad_piece:  db "bad_piece", 0
str_bc_c_bad_object: db "bad_object", 0
str_bc_c_bad_manifest: db "bad_manifest", 0
str_bc_c_dup:        db "dup", 0
str_bc_c_pushed:     db "pushed", 0
str_bc_c_served:     db "served", 0
str_bc_c_pulled:     db "pulled", 0
str_bc_c_gets:       db "gets", 0
str_bc_c_retx:       db "retx", 0
str_bc_c_giveups:    db "giveups", 0
str_bc_c_last2:      db "last2", 0
str_bc_c_tb_late:    db "tb_late", 0
str_bc_c_early:      db "early", 0
str_bc_c_w_barrier:  db "w_barrier", 0
str_bc_c_w_held:     db "w_held", 0
str_bc_c_w_acks:     db "w_acks", 0
str_bc_c_whole:      db "whole", 0
str_bc_c_unknown:    db "unknown", 0
str_bc_c_rx_bytes:   db "rx_bytes", 0
str_bc_c_data_tx:    db "data_tx", 0
str_bc_c_ctl_tx:     db "ctl_tx", 0

	section .bss
	alignb 8
bc_data:            resq 1              ; BC_DATA_MAX bytes at the top of RAM (0: none)
bc_total:           resq 1
bc_phash_ptr:       resq 1
bc_start:           resq 1              ; ticks at the start (seed) or the manifest (others)
bc_asm_tick:        resq 1
bc_man_parts:       resq 1
bc_next_upd:        resq 1
bc_complete_tick:   resq 1
bc_done_ms:         resq 1
bc_sort:            resd BC_PIECES_MAX  ; bc_piece_median's sorted times
bc_last_error:      resq 1
bc_R:               resq 1
bc_slot:            resq 1
bc_skips:           resq BC_Q_MAX + 1
bc_K:               resd 1
bc_N:               resd 1
bc_nobj:            resd 1
bc_me:              resd 1
bc_qq:              resd 1
bc_x:               resd 1
bc_rounds:          resd 1
bc_man_total:       resd 1
bc_age:             resd 1
bc_q_count:         resd 1
bc_slotidx:         resd BC_Q_MAX
bc_tmp_recv:        resd BC_Q_MAX
bc_recv:            resd BC_Q_MAX
bc_tgt:             resd BC_Q_MAX
bc_tgt_first:       resd BC_Q_MAX
bc_tgt_recv:        resd BC_Q_MAX * BC_Q_MAX
bc_nodes:           resd BC_NODES_MAX
bc_assigned:        resb BC_Q_MAX + 1
bc_state:           resb 1
bc_role:            resb 1
bc_upd_burst:       resb 1
bc_q_pending:       resb 1
bc_q_flags:         resb 1
	alignb 8
bc_id:              resb HASH_SIZE
bc_digest:          resb HASH_SIZE
bc_q_hashes:        resb BC_OBJECTS_MAX * HASH_SIZE
	alignb 16
bc_sha_ctx:         resb sha1_ctx_size
bc_sv_ctx:          resb sha1_ctx_size  ; bc_stream's SHA-1 of the piece it follows
	alignb 8
bc_man_buf:         resb BC_MANIFEST_MAX
	alignb 8
; cleared for every new update (bc_reset_pieces)
bc_zero_begin:
bc_chunks:          resq BC_PIECES_MAX  ; bit c: chunk c of the piece received
bc_prog:            resq BC_PIECES_MAX  ; ticks at the piece's last new chunk
bc_req_tick:        resq BC_PIECES_MAX
bc_req_node:        resd BC_PIECES_MAX * 2
bc_maps:            resb BC_NODES_MAX * 16   ; each node's PIECE_MAP (128 bits)
bc_serveq:          resb BC_SERVE_SLOTS * bc_serve_size
bc_acks:            resb BC_ACK_SLOTS * bc_ack_size
bc_c_early:         resq 1              ; pushes not waited for (their STATUS came later)
; bc_pump's waits in ms, each counter followed by the tick it last counted (.w_count)
bc_c_w_barrier:     resq 1              ; at the round barrier
bc_w_barrier_tick:  resq 1
bc_c_w_held:        resq 1              ; for the round's piece to be held here
bc_w_held_tick:     resq 1
bc_c_w_acks:        resq 1              ; for a push's first STATUS (the seed, unpaced nodes)
bc_w_acks_tick:     resq 1
bc_j_mask:          resq 1
bc_j_deadline:      resq 1
bc_next_map:        resq 1
bc_next_who:        resq 1
bc_next_recover:    resq 1
bc_last_rx:         resq 1
bc_c_bad_piece:     resq 1
bc_c_bad_object:    resq 1
bc_c_bad_manifest:  resq 1
bc_c_dup:           resq 1
bc_c_pushed:        resq 1
bc_c_served:        resq 1
bc_c_pulled:        resq 1
bc_c_gets:          resq 1
bc_c_retx:          resq 1
bc_c_giveups:       resq 1
bc_c_last2:         resq 1              ; bursts whose LAST frame went twice (bc_lossy)
bc_c_tb_late:       resq 1              ; target barrier waits that ran out (BC_TB_MS)
bc_c_whole:         resq 1              ; pieces verified whole (not by the stream)
bc_map_burst:       resb 1              ; repeats of the completion map still to send
bc_sv_piece1:       resd 1              ; the stream's piece + 1 (0: none)
bc_sv_next:         resd 1              ; its next chunk to hash
bc_tb_since:        resq 1              ; the target barrier's wait began (ticks)
bc_tb_round:        resd 1              ; for this plan round
bc_c_unknown:       resq 1
bc_c_rx_chunks:     resq 1
bc_c_rx_bytes:      resq 1
bc_c_data_bytes:    resq 1
bc_c_ctl_bytes:     resq 1
bc_j_node:          resd 1
bc_j_ip:            resd 1
bc_j_piece:         resd 1
bc_j_last:          resd 1
bc_cursor:          resd 1
bc_held_count:      resd 1
bc_held:            resb BC_PIECES_MAX
bc_first_tsc:       resq BC_PIECES_MAX  ; TSC at the piece's first chunk here
bc_pdur:            resd BC_PIECES_MAX  ; µs from its first chunk to held (0: not received here)
bc_req_n:           resb BC_PIECES_MAX
bc_j_active:        resb 1
bc_j_phase:         resb 1              ; 1 sending, 2 waiting for STATUS
bc_j_probes:        resb 1
bc_j_doubled:       resb 1              ; this burst's LAST frame went twice
bc_j_skip:          resb 1              ; the next non-zero STATUS is a doubled burst's stale one
bc_j_clean:         resb 1              ; this push had no resend and no probe (so far)
bc_lossy:           resb 1              ; no push of this update went through at once yet, or
                                        ; the last one saw loss: LAST frames go twice
bc_unsure:          resb 1              ; bc_lossy only because no push went through yet
bc_ack_n:           resb 1              ; bc_acks in use
bc_skipped:         resb 1              ; the round before the cursor had no push (bc_pump's barrier)
	alignb 8
bc_zero_end:
	section .text
