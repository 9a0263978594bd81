; gtp_control.asm -- CONTROL frames (authenticated, docs/protocol.md "CONTROL ops"): op 1 COMMIT
; fetches a tree and everything it names that this node lacks, commits the tree as the new
; head of an existing branch (parent: the branch's head) and answers op 2 COMMITTED to the
; sender; op 3 REBOOT resets the machine (the loader runs again). The handler only checks and
; queues the request; net_poll runs it from the main loop (gtp_control_run, gtp_reboot_run),
; never from inside a receive.

GTP_OP_COMMIT       equ 1
GTP_OP_COMMITTED    equ 2
GTP_OP_REBOOT       equ 3
GTP_OP_POLICY       equ 8               ; gtp_policy.asm: set a branch's replication policy
GTP_OP_POLICY_SET   equ 9               ; its answer
GTP_MSG_MAX         equ 1024            ; commit message bytes (gitfs_tx_commit_object: < 2 KiB)
GTP_WORK_MAX        equ 4096            ; hashes waiting in a COMMIT's tree walk
GTP_C_BLOBS_MAX     equ 64              ; new blobs a COMMIT on an `all` branch propagates (BC_OBJECTS_MAX)
GTP_CS_OK           equ 0               ; COMMITTED status codes
GTP_CS_FETCH        equ 1               ; an object could not be fetched (or verified)
GTP_CS_FS           equ 2               ; GitFS refused (disk full, I/O, ...)
GTP_CS_BAD          equ 3               ; malformed request: a bad branch name, not a tree, too big
GTP_CS_BUSY         equ 4               ; a COMMIT is already running
GTP_C_REPEAT_MS     equ 5000            ; a repeated COMMIT this soon after its run is a resend

struc gtp_commit_req
  .op               resb 1
  .pad              resb 3
  .tree             resb HASH_SIZE
  .blen             resb 1
endstruc                                ; + branch[blen] · mlen u16 · message[mlen]

; ---------------------------------------------------------------------------------------------
; gtp_rx_control -- A verified CONTROL frame. COMMIT: every length checked (branch 1..63 bytes,
; message <= GTP_MSG_MAX, the sizes adding up to the payload exactly: else size), then queued;
; a second one while one runs is answered busy; a resend of the last one run (same sender,
; tree and branch, within GTP_C_REPEAT_MS of its end, ended ok) is answered with its commit
; again. REBOOT (no arguments: the payload is the op
; and its padding) is queued for the main loop. Other ops are dropped (type).
;  IN:  RSI = frame (auth and replay window passed); net_rx_src_ip
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
gtp_rx_control:
	movzx ecx, word [rsi + gtp_hdr.length]
	lea rbx, [rsi + gtp_hdr_size]       ; payload
	cmp byte [rbx + gtp_commit_req.op], GTP_OP_REBOOT
	je .reboot
	cmp byte [rbx + gtp_commit_req.op], GTP_OP_POLICY
	je pol_rx_control                   ; gtp_policy.asm
	cmp byte [rbx + gtp_commit_req.op], GTP_OP_PROPAGATE
	je bc_rx_control_propagate          ; gtp_bcast.asm
	cmp byte [rbx + gtp_commit_req.op], GTP_OP_COMMIT
	jne .type
	cmp ecx, gtp_commit_req_size + 2
	jb .size
	movzx eax, byte [rbx + gtp_commit_req.blen]
	test eax, eax
	jz .size
	cmp eax, REF_NAME_MAX - 1
	jae .size
	lea edx, [eax + gtp_commit_req_size + 2]
	cmp edx, ecx
	ja .size
	movzx edx, word [rbx + gtp_commit_req_size + rax]   ; mlen
	cmp edx, GTP_MSG_MAX
	ja .size
	lea edi, [eax + edx + gtp_commit_req_size + 2]
	cmp edi, ecx
	jne .size
	cmp byte [gtp_c_state], 0
	jne .busy
	; a repeat of the last COMMIT run here, from the same sender, within GTP_C_REPEAT_MS of its
	; end, with the same tree and branch, and that ended ok: a resend whose COMMITTED was lost.
	; It is answered with that commit again, not run again (docs/protocol.md, "CONTROL ops")
	cmp byte [gtp_c_status], GTP_CS_OK
	jne .queue
	cmp eax, [gtp_c_blen]               ; (0 until a COMMIT ran)
	jne .queue
	mov edi, [rsi + gtp_hdr.sender]
	cmp edi, [gtp_c_sender]
	jne .queue
	mov rdi, [ticks]
	sub rdi, [gtp_c_done_at]
	cmp rdi, GTP_C_REPEAT_MS
	jae .queue
	push rsi
	lea rsi, [rbx + gtp_commit_req.tree]
	mov rdi, gtp_c_tree
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .new
	lea rsi, [rbx + gtp_commit_req_size]
	mov rdi, gtp_c_branch
	mov ecx, eax
	repe cmpsb
	jne .new
	pop rsi
	inc qword [gtp_c_repeats]
	mov eax, [net_rx_src_ip]
	mov [gtp_c_busy_ip], eax
	mov rsi, gtp_c_commit
	mov al, GTP_CS_OK
	jmp .answer_now
.new:
	pop rsi
.queue:
	; queue it: sender, tree, branch, message (zero-terminated copies)
	mov r8d, eax                        ; blen
	mov r9d, edx                        ; mlen
	mov eax, [rsi + gtp_hdr.sender]
	mov [gtp_c_sender], eax
	mov eax, [net_rx_src_ip]
	mov [gtp_c_ip], eax
	lea rsi, [rbx + gtp_commit_req.tree]
	mov rdi, gtp_c_tree
	mov ecx, HASH_SIZE
	rep movsb
	lea rsi, [rbx + gtp_commit_req_size]
	mov rdi, gtp_c_branch
	mov ecx, r8d
	rep movsb
	mov byte [rdi], 0
	mov [gtp_c_blen], r8d
	lea rsi, [rbx + gtp_commit_req_size + r8 + 2]
	mov rdi, gtp_c_message
	mov ecx, r9d
	rep movsb
	mov byte [rdi], 0
	mov byte [gtp_c_state], 1
	ret
.busy:
	mov eax, [net_rx_src_ip]
	mov [gtp_c_busy_ip], eax
	lea rsi, [rbx + gtp_commit_req.tree]     ; no commit: echo the tree asked for
	mov al, GTP_CS_BUSY
.answer_now:                                ; RSI = the commit (or tree) to name, AL = status
	mov rdi, gtp_tx_payload
	mov byte [rdi], GTP_OP_COMMITTED
	mov byte [rdi + 1], 0
	mov word [rdi + 2], 0
	add rdi, 4
	mov ecx, HASH_SIZE
	rep movsb
	mov [rdi], al
	mov al, GTP_T_CONTROL
	mov ecx, 25
	mov edx, [gtp_c_busy_ip]
	xor r8d, r8d
	call gtp_send
	ret
.reboot:
	cmp ecx, 4
	jne .size
	mov eax, [rsi + gtp_hdr.sender]
	mov [gtp_c_reboot_from], eax
	mov byte [gtp_c_reboot], 1
	ret
.type:
	mov eax, NET_DROP_TYPE
	jmp net_drop
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; gtp_reboot_run -- Runs a queued REBOOT (from net_poll, in the main loop): prints
; EVENT control op=reboot from=NODE and resets the machine.
;  IN:  gtp_c_reboot = 1
;  OUT: does not return
;  CLOBBERS: everything
gtp_reboot_run:
	mov rsi, str_ev_control
	call event_begin
	mov rsi, str_gc_key_op
	mov rdx, str_gc_reboot
	call event_kv_str
	mov rsi, str_gtp_key_from
	mov eax, [gtp_c_reboot_from]
	call event_kv_dec
	call event_end
	jmp machine_reset

; ---------------------------------------------------------------------------------------------
; gtp_control_run -- Runs a queued COMMIT (from net_poll, in the main loop): walks the tree
; (subtrees and blobs; gitlinks are other refs' business and skipped), fetching every object not
; stored, then commits and moves the branch (creating it when new), and answers COMMITTED; prints
; EVENT control op=commit branch=... status=N commit=... objects=N from=NODE. A commit on a
; branch the policy places on all nodes (`all`, e.g. `kernel`) then starts a propagation of the
; blobs it fetched (the first GTP_C_BLOBS_MAX: the rest go by placement), queued for bcast_poll
; as CONTROL PROPAGATE queues one: the update reaches every node on the round-optimal schedule.
; Blobs that replace a file of the parent commit (a delta base every node stores) are left out:
; they go by placement, as git deltas.
;  IN:  gtp_c_state = 1
;  OUT: gtp_c_state = 0
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_control_run:
	mov byte [gtp_c_state], 2
	mov qword [gtp_c_fetched], 0
	mov dword [gtp_c_nblobs], 0
	mov rdi, gtp_c_commit
	xor eax, eax
	mov ecx, HASH_SIZE
	rep stosb
	cmp byte [fs_mounted], 0
	je .fs
	mov rax, [fs_arena_base]
	call gitfs_release
	; an existing branch's head is the parent; a new branch (a valid name) starts with none
	mov byte [gtp_c_new_branch], 0
	mov rdi, gtp_c_parent
	xor eax, eax
	mov ecx, HASH_SIZE
	rep stosb
	mov rsi, gtp_c_branch
	mov ecx, [gtp_c_blen]
	call gitfs_ref_find
	jc .maybe_new
	cmp byte [rdi + gitfs_ref.kind], REF_KIND_BRANCH
	jne .bad
	lea rsi, [rdi + gitfs_ref.target]
	mov rdi, gtp_c_parent
	mov ecx, HASH_SIZE
	rep movsb
	jmp .walk
.maybe_new:
	mov rsi, gtp_c_branch
	mov ecx, [gtp_c_blen]
	call gitfs_ref_name_ok
	jc .bad
	mov byte [gtp_c_new_branch], 1
.walk:
	; the walk: a stack of hashes, the tree first
	mov rsi, gtp_c_tree
	mov rdi, gtp_c_work
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [gtp_c_depth], 1
	mov byte [gtp_c_want_tree], 1       ; the first one must be a tree
.next:
	mov rcx, [gtp_c_depth]
	test rcx, rcx
	jz .commit
	dec rcx
	mov [gtp_c_depth], rcx
	imul rsi, rcx, HASH_SIZE
	add rsi, gtp_c_work
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, gtp_f_hash
	call gitfs_find
	jc .fetch
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .fetch
	mov al, [rdi + gitfs_idx_entry.type]
	jmp .have
.fetch:
	mov eax, [gtp_c_sender]             ; it holds the whole tree: its answer ends a WHO_HAS round
	mov [gtp_q_prefer], eax
	call gtp_fetch_object
	mov dword [gtp_q_prefer], 0         ; (flags kept)
	jc .fetch_failed
	inc qword [gtp_c_fetched]
	cmp byte [gtp_f_type], OBJ_BLOB
	jne .fetched
	mov eax, [gtp_c_nblobs]
	cmp eax, GTP_C_BLOBS_MAX
	jae .fetched
	imul edi, eax, HASH_SIZE
	add rdi, gtp_c_blobs
	mov rsi, gtp_f_hash
	mov ecx, HASH_SIZE
	rep movsb
	inc dword [gtp_c_nblobs]
.fetched:
	mov al, [gtp_f_type]
.have:
	cmp byte [gtp_c_want_tree], 0
	je .any
	mov byte [gtp_c_want_tree], 0
	cmp al, OBJ_TREE
	jne .bad
.any:
	cmp al, OBJ_TREE
	jne .next
	; a tree: push what it names
	call gitfs_mark
	mov [gtp_c_mark], rax
	mov rsi, gtp_f_hash
	call gitfs_read_object
	jc .fs_release
	mov rsi, rax
	lea rdx, [rax + rcx]
.entry:
	call gitfs_tree_next
	jc .entries_done
	cmp r8, 0o160000
	je .entry                           ; a gitlink: not ours to fetch
	mov rcx, [gtp_c_depth]
	cmp rcx, GTP_WORK_MAX
	jae .too_many
	imul rdi, rcx, HASH_SIZE
	add rdi, gtp_c_work
	push rsi
	mov rsi, r11
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	inc qword [gtp_c_depth]
	jmp .entry
.entries_done:
	test al, al
	jnz .bad_tree
	mov rax, [gtp_c_mark]
	call gitfs_release
	jmp .next
.too_many:
.bad_tree:
	mov rax, [gtp_c_mark]
	call gitfs_release
	jmp .bad
.fs_release:
	mov rax, [gtp_c_mark]
	call gitfs_release
	jmp .fs
.fetch_failed:
	test rdx, rdx
	jz .fs
	mov byte [gtp_c_status], GTP_CS_FETCH
	jmp .answer
.commit:
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .fs
	mov rsi, gtp_c_parent
	call gitfs_is_zero20
	mov edx, 0
	je .no_parent
	mov rdx, gtp_c_parent
.no_parent:
	mov rsi, gtp_c_tree
	mov r8, gtp_c_branch
	mov r9, gtp_c_message
	mov rdi, gtp_c_commit
	call gitfs_tx_commit_object
	jc .fs
	cmp byte [gtp_c_new_branch], 0
	je .set_ref
	mov rsi, gtp_c_branch
	mov ecx, [gtp_c_blen]
	call gitfs_tx_new_branch
	jc .fs
.set_ref:
	mov rsi, gtp_c_branch
	mov rdx, gtp_c_commit
	mov r8d, 0xFF                       ; boot state and tries: unchanged
	mov r9d, 0xFF
	xor r10d, r10d
	call gitfs_tx_set_ref
	jc .fs
	call gitfs_tx_publish
	jc .fs
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	mov byte [gtp_c_status], GTP_CS_OK
	jmp .answer
.bad:
	mov byte [gtp_c_status], GTP_CS_BAD
	jmp .answer
.fs:
	mov byte [gtp_c_status], GTP_CS_FS
.answer:
	mov rdi, gtp_tx_payload
	mov byte [rdi], GTP_OP_COMMITTED
	mov byte [rdi + 1], 0
	mov word [rdi + 2], 0
	mov rsi, gtp_c_commit
	add rdi, 4
	mov ecx, HASH_SIZE
	rep movsb
	mov al, [gtp_c_status]
	mov [rdi], al
	mov al, GTP_T_CONTROL
	mov ecx, 25
	mov edx, [gtp_c_ip]
	xor r8d, r8d
	call gtp_send
	mov rsi, str_ev_control
	call event_begin
	mov rsi, str_gc_key_op
	mov rdx, str_gc_commit
	call event_kv_str
	mov rsi, str_gc_key_branch
	mov ecx, [gtp_c_blen]
	call event_key
	push rcx
	mov rsi, gtp_c_branch
	call gtp_put_word
	pop rcx
	mov rsi, str_key_status
	movzx eax, byte [gtp_c_status]
	call event_kv_dec
	mov rsi, str_key_commit
	call event_key
	mov rsi, gtp_c_commit
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_gtp_key_fetched
	mov rax, [gtp_c_fetched]
	call event_kv_dec
	mov rsi, str_gtp_key_from
	mov eax, [gtp_c_sender]
	call event_kv_dec
	call event_end
	mov rax, [ticks]
	mov [gtp_c_done_at], rax
	mov byte [gtp_c_state], 0
	cmp byte [gtp_c_status], GTP_CS_OK
	jne .out
	cmp dword [gtp_c_nblobs], 0
	je .out
	mov rsi, gtp_c_branch
	call pol_copies_for
	cmp al, POL_ALL
	jne .out
	; a new version of a file the parent commit held moves as a git delta, not as pieces: every
	; node stores the old one (`all`), sync finds the same base there (delta_hints_commit), and
	; each node's placement fetches it against that base; the propagation takes the rest
	mov rsi, gtp_c_commit
	call delta_hints_commit
	xor r12d, r12d                      ; the blob looked at
	xor r13d, r13d                      ; the blobs kept
.filter:
	cmp r12d, [gtp_c_nblobs]
	jae .filtered
	imul esi, r12d, HASH_SIZE
	add rsi, gtp_c_blobs
	push rsi
	call delta_hint_find
	pop rsi
	jnc .by_delta
	imul edi, r13d, HASH_SIZE
	add rdi, gtp_c_blobs
	mov ecx, HASH_SIZE
	rep movsb
	inc r13d
.by_delta:
	inc r12d
	jmp .filter
.filtered:
	mov [gtp_c_nblobs], r13d
	test r13d, r13d
	jz .out
	xor eax, eax                        ; (no flags: the nodes only)
	mov ecx, [gtp_c_nblobs]
	mov rsi, gtp_c_blobs
	call bcast_propagate_objects
.out:
	ret

str_ev_control:      db "control", 0
str_gc_key_op:       db "op", 0
str_gc_commit:       db "commit", 0
str_gc_reboot:       db "reboot", 0
str_gc_key_branch:   db "branch", 0
str_gc_commit_repeats: db "commit_repeats", 0
str_gtp_key_fetched: db "fetched", 0

	section .bss
	alignb 8
gtp_c_fetched:      resq 1
gtp_c_done_at:      resq 1              ; ticks when the last COMMIT's run ended
gtp_c_repeats:      resq 1              ; resent COMMITs answered with their commit again
gtp_c_depth:        resq 1
gtp_c_mark:         resq 1
gtp_c_sender:       resd 1
gtp_c_reboot_from:  resd 1
gtp_c_reboot:       resb 1              ; 1: a REBOOT is queued
gtp_c_ip:           resd 1
gtp_c_busy_ip:      resd 1
gtp_c_blen:         resd 1
gtp_c_new_branch:   resb 1              ; 1: the COMMIT creates its branch
gtp_c_state:        resb 1              ; 0 idle, 1 queued, 2 running
gtp_c_status:       resb 1
gtp_c_want_tree:    resb 1
gtp_c_tree:         resb HASH_SIZE
gtp_c_parent:       resb HASH_SIZE
gtp_c_commit:       resb HASH_SIZE
gtp_c_branch:       resb REF_NAME_MAX + 8
gtp_c_message:      resb GTP_MSG_MAX + 8
	alignb 8
gtp_c_work:         resb GTP_WORK_MAX * HASH_SIZE
gtp_c_nblobs:       resd 1              ; blobs the running COMMIT fetched (up to GTP_C_BLOBS_MAX)
gtp_c_blobs:        resb GTP_C_BLOBS_MAX * HASH_SIZE
	section .text
