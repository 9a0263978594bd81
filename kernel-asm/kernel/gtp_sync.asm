; gtp_sync.asm -- revision sync (docs/protocol.md, "Sync"): a node that hears (in an
; authenticated ANNOUNCE) a revision that is not in its own mainline history asks the announcer
; for the mainline commits it lacks (SYNC_REQ, answered by SYNC_ANS pages of hashes, both
; authenticated), records them as referrals, then fetches every commit and tree they name (by
; WHO_HAS/GET, gtp_fetch_object) and records every blob it does not hold as a referral (holder
; node-N). Then it joins the two histories: nothing when the heard revision is in its history, a
; fast-forward when its own head is in the other's, else the deterministic merge commit of the
; maximal heads (sync_merge: the same bytes on every node). The merge's per-ref rule keeps one
; head per ref and records every other concurrent head as a forked branch <ref>-fork-<hex12>.
; net_poll runs gtp_sync_poll from the main loop, never from inside a receive; the SYNC_REQ
; handler answers from the receive path (it only reads).

GTP_T_SYNC_REQ      equ 9
GTP_T_SYNC_ANS      equ 10
SYNC_PAGE           equ 56              ; SYNC_ANS entries per frame (32 + 56 x 24 bytes)
SYNC_ENTRY          equ 24              ; hash 20, size u32
SYNC_PAGES_MAX      equ 16
SYNC_WORK_MAX       equ 4096            ; hashes waiting in the walk
SYNC_SEEN_MAX       equ 4096            ; commits and trees visited by one walk / ancestry search
SYNC_HEADS_MAX      equ 8               ; heads one merge joins
SYNC_PARENTS_MAX    equ 16
SYNC_TAB_MAX        equ 256             ; refs in a merge table
SYNC_CAND_MAX       equ 8               ; concurrent targets of one ref
SYNC_BATCH_MAX      equ 128             ; blob referrals per transaction
SYNC_POLL_TICKS     equ 250             ; how often the peer table is compared with our history
SYNC_RETRY_TICKS    equ 1000            ; after a failed run
SYNC_ANS_MS         equ 300             ; wait for a SYNC_ANS page
SYNC_FORK_SUFFIX    equ 18
SYNC_DC_MAX         equ 16              ; new branch commits a walk finds delta bases for
SYNC_OK_MAX         equ 16              ; revisions remembered as covered by our head              ; "-fork-" + 12 hex digits

; walk kinds (what a hash on the walk stack is expected to be)
SK_MCOMMIT          equ 1               ; a mainline commit
SK_MTREE            equ 2               ; a mainline tree (gitlinks = ref targets)
SK_TARGET           equ 3               ; a ref's target: any type
SK_DCOMMIT          equ 4               ; a branch commit
SK_DTREE            equ 5               ; a data tree
SK_BLOB             equ 6               ; a blob: a referral unless held

struc gtp_sync_req
  .want             resb HASH_SIZE      ; the revision asked about (the answerer's head)
  .have             resb HASH_SIZE      ; the asker's head (the walk stops there)
  .start            resd 1              ; first entry of the page
  .pad              resd 1
endstruc                                ; 48
struc gtp_sync_ans
  .want             resb HASH_SIZE
  .start            resd 1
  .total            resd 1              ; entries in the whole walk
  .count            resw 1              ; entries in this frame
  .pad              resw 1
endstruc                                ; 32 + count x (hash 20, size u32)

; ---------------------------------------------------------------------------------------------
; gtp_sync_poll -- From net_poll (main loop, nothing else running): every SYNC_POLL_TICKS,
; the first live peer (not the host peer) whose announced revision is not in this node's
; mainline history gets a sync run.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_sync_poll:
	cmp byte [fs_mounted], 0
	je .out
	cmp byte [gtp_c_state], 0
	jne .out
	mov rax, [ticks]
	cmp rax, [sync_next_poll]
	jb .out
	add rax, SYNC_POLL_TICKS
	mov [sync_next_poll], rax
	mov rax, [fs_arena_base]
	call gitfs_release
	; revisions found covered stay so while our head does not move
	call gtp_current_rev
	mov rdi, sync_ok_head
	mov ecx, HASH_SIZE
	repe cmpsb
	je .cache_ok
	call gtp_current_rev
	mov rdi, sync_ok_head
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [sync_ok_n], 0
.cache_ok:
	xor r15d, r15d
.peer:
	cmp r15d, GTP_PEERS * gtp_peer_size
	jae .out
	lea rbx, [gtp_peers + r15]
	mov eax, [rbx + gtp_peer.node]
	test eax, eax
	jz .next
	cmp eax, GTP_HOST_NODE
	je .next
	mov rax, [rbx + gtp_peer.heard]
	test rax, rax
	jz .next
	add rax, GTP_STALE_TICKS
	cmp rax, [ticks]
	jb .next
	lea rsi, [rbx + gtp_peer.rev]
	call gitfs_is_zero20
	je .next
	mov rdi, sync_ok_head
	mov ecx, HASH_SIZE
	repe cmpsb
	je .next                            ; our own revision
	lea rsi, [rbx + gtp_peer.rev]
	mov rdi, sync_ok
	mov rdx, [sync_ok_n]
	call sync_list_has
	je .next                            ; found covered before
	lea rsi, [rbx + gtp_peer.rev]
	mov rdi, sync_a
	mov ecx, HASH_SIZE
	rep movsb
	call gtp_current_rev
	mov rdi, sync_b
	mov ecx, HASH_SIZE
	rep movsb
	call sync_is_ancestor               ; sync_a in the history of sync_b?
	jnc .covered
	call sync_subsumed                  ; a merge of heads we have merged already?
	jnc .covered
	lea rbx, [gtp_peers + r15]
	jmp gtp_sync_run                    ; RBX = the peer
.covered:
	cmp qword [sync_ok_n], SYNC_OK_MAX
	jae .next
	lea rsi, [gtp_peers + r15 + gtp_peer.rev]
	mov rdi, sync_ok
	mov rdx, sync_ok_n
	call sync_list_add
.next:
	add r15d, gtp_peer_size
	jmp .peer
.out:
	ret

; ---------------------------------------------------------------------------------------------
; sync_subsumed -- Whether a stored revision (sync_a, not in our history) is a sync merge whose
; every parent is in the history of our head (sync_b): its maximal heads are ours already, so a
; join would give our head back (the peer will adopt ours).
;  IN:  sync_a, sync_b
;  OUT: CF = 0 when subsumed; CF = 1 otherwise (a sync run is needed)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11, R14
sync_subsumed:
	mov rsi, sync_a
	call gitfs_find
	jc .no
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .no
	call gitfs_mark
	push rax
	mov rsi, sync_a
	call sync_parse_commit
	pop rax
	pushf
	call gitfs_release
	popf
	jc .no
	cmp qword [sync_pc_np], 2
	jb .no
	mov rcx, [sync_pc_np]
	mov [sync_sub_n], rcx
	imul rcx, rcx, HASH_SIZE
	mov rsi, sync_pc_parents
	mov rdi, sync_sub
	rep movsb
	xor r14d, r14d
.parent:
	cmp r14, [sync_sub_n]
	jae .yes
	imul rsi, r14, HASH_SIZE
	add rsi, sync_sub
	mov rdi, sync_a
	mov ecx, HASH_SIZE
	rep movsb
	call sync_is_ancestor
	jc .no
	inc r14
	jmp .parent
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_sync_run -- One sync with a peer: the SYNC_REQ/SYNC_ANS listing (referrals), the walk
; (fetches), the join (fast-forward or merge); prints EVENT sync-run from=N rev=<hex>
; result=none|ff|merge|fail listed=N fetched=N referrals=N.
;  IN:  RBX = the peer's entry
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_sync_run:
	inc qword [sync_rounds]
	mov eax, [rbx + gtp_peer.node]
	mov [sync_peer_node], eax
	mov eax, [rbx + gtp_peer.ip]
	mov [sync_peer_ip], eax
	lea rsi, [rbx + gtp_peer.rev]
	mov rdi, sync_want
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [sync_listed], 0
	mov qword [sync_fetched], 0
	mov qword [sync_blob_refs], 0
	mov byte [sync_result], 0
	call sync_listing
	call sync_walk
	jc .fail
	call sync_flush_batch
	jc .fail
	call sync_delta_hints
	call sync_join
	jc .fail
	jmp .report
.fail:
	mov byte [sync_result], 3
	inc qword [sync_failures]
	mov rax, [ticks]
	add rax, SYNC_RETRY_TICKS
	mov [sync_next_poll], rax
.report:
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	mov rsi, str_ev_sync_run
	call event_begin
	mov rsi, str_gtp_key_from
	mov eax, [sync_peer_node]
	call event_kv_dec
	mov rsi, str_key_rev
	call event_key
	mov rsi, sync_want
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	movzx eax, byte [sync_result]
	mov rdx, [sync_result_names + rax * 8]
	mov rsi, str_sync_key_result
	call event_kv_str
	mov rsi, str_sync_key_listed
	mov rax, [sync_listed]
	call event_kv_dec
	mov rsi, str_gtp_key_fetched
	mov rax, [sync_fetched]
	call event_kv_dec
	mov rsi, str_sync_key_referrals
	mov rax, [sync_blob_refs]
	call event_kv_dec
	call event_end
	ret

; ---------------------------------------------------------------------------------------------
; sync_listing -- (internal) SYNC_REQ pages to the peer: every mainline commit of its walk from
; sync_want that this node does not know is recorded as a referral (holder node-N). No answer
; within SYNC_ANS_MS: the walk finds the commits anyway.
;  IN:  sync_want, sync_peer_node, sync_peer_ip
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_listing:
	mov dword [sync_ans_start], 0
	mov dword [sync_pages], 0
.page:
	mov rdi, gtp_tx_payload
	mov rsi, sync_want
	mov ecx, HASH_SIZE
	rep movsb
	call gtp_current_rev
	mov ecx, HASH_SIZE
	rep movsb
	mov eax, [sync_ans_start]
	stosd
	xor eax, eax
	stosd
	mov byte [sync_ans_wait], 1
	mov al, GTP_T_SYNC_REQ
	mov ecx, gtp_sync_req_size
	mov edx, [sync_peer_ip]
	xor r8d, r8d
	call gtp_send
	jc .out
	mov eax, SYNC_ANS_MS
	call gtp_deadline
	mov [sync_deadline], rax
.wait:
	cmp byte [sync_ans_wait], 2
	je .answered
	call gtp_wait_step
	call rdtsc64
	cmp rax, [sync_deadline]
	jb .wait
	jmp .out
.answered:
	movzx eax, word [sync_ans_count]
	test eax, eax
	jz .out
	add [sync_listed], rax
	mov rax, [fs_arena_base]
	call gitfs_release
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .out
	xor r15d, r15d
.entry:
	movzx eax, word [sync_ans_count]
	cmp r15d, eax
	jae .publish
	imul esi, r15d, SYNC_ENTRY
	add rsi, sync_ans_buf
	mov ecx, [rsi + HASH_SIZE]
	mov dl, OBJ_COMMIT
	mov r9, sync_peer_node
	mov r8d, 1
	call gitfs_tx_put_referral
	jc .out
	inc r15d
	jmp .entry
.publish:
	call gitfs_tx_publish
	jc .out
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	; more pages?
	movzx eax, word [sync_ans_count]
	cmp eax, SYNC_PAGE
	jb .out
	add eax, [sync_ans_start]
	cmp eax, [sync_ans_total]
	jae .out
	mov [sync_ans_start], eax
	inc dword [sync_pages]
	cmp dword [sync_pages], SYNC_PAGES_MAX
	jb .page
.out:
	mov byte [sync_ans_wait], 0
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_sync_req -- A verified SYNC_REQ: answers with one SYNC_ANS page of this node's
; mainline walk from `want` (depth first, parents in order, stopping at `have`), entries
; [start, start + SYNC_PAGE). A `want` this node does not store is answered with total 0.
;  IN:  RSI = frame; net_rx_src_ip
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
gtp_rx_sync_req:
	lea rbx, [rsi + gtp_hdr_size]
	mov eax, [net_rx_src_ip]
	mov [sync_srv_ip], eax
	mov eax, [rbx + gtp_sync_req.start]
	mov [sync_srv_start], eax
	lea rsi, [rbx + gtp_sync_req.have]
	mov rdi, sync_srv_have
	mov ecx, HASH_SIZE
	rep movsb
	lea rsi, [rbx + gtp_sync_req.want]
	mov rdi, sync_srv_ans + gtp_sync_ans.want
	mov ecx, HASH_SIZE
	rep movsb
	mov dword [sync_srv_ans + gtp_sync_ans.start], eax
	mov dword [sync_srv_ans + gtp_sync_ans.total], 0
	mov word [sync_srv_ans + gtp_sync_ans.count], 0
	mov word [sync_srv_ans + gtp_sync_ans.pad], 0
	inc qword [sync_reqs_rx]
	cmp byte [fs_mounted], 0
	je .send
	call gitfs_mark
	mov [sync_srv_mark], rax
	; the walk: a stack (sync_srv_work) and a visited list (sync_srv_seen)
	mov qword [sync_srv_seen_n], 0
	mov rsi, sync_srv_ans + gtp_sync_ans.want
	mov rdi, sync_srv_work
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [sync_srv_depth], 1
.next:
	call watchdog_feed                  ; a long walk reads the disk a lot
	mov rcx, [sync_srv_depth]
	test rcx, rcx
	jz .done
	dec rcx
	mov [sync_srv_depth], rcx
	imul rsi, rcx, HASH_SIZE
	add rsi, sync_srv_work
	mov rdi, sync_srv_cur
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, sync_srv_cur
	mov rdi, sync_srv_have
	mov ecx, HASH_SIZE
	repe cmpsb
	je .next                            ; the asker's head: it has the rest
	mov rsi, sync_srv_cur
	mov rdi, sync_srv_seen
	mov rdx, [sync_srv_seen_n]
	call sync_list_has
	je .next
	cmp qword [sync_srv_seen_n], SYNC_SEEN_MAX
	jae .done
	mov rsi, sync_srv_cur
	mov rdi, sync_srv_seen
	mov rdx, sync_srv_seen_n
	call sync_list_add
	; stored? (a referral or an absent commit is not offered, nor walked through)
	mov rsi, sync_srv_cur
	call gitfs_find
	jc .next
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .next
	mov rsi, sync_srv_cur
	call gitfs_object_size
	jc .next
	; in the page?
	mov eax, [sync_srv_ans + gtp_sync_ans.total]
	inc dword [sync_srv_ans + gtp_sync_ans.total]
	sub eax, [sync_srv_start]
	jb .parents
	cmp eax, SYNC_PAGE
	jae .parents
	movzx eax, word [sync_srv_ans + gtp_sync_ans.count]
	inc word [sync_srv_ans + gtp_sync_ans.count]
	imul edi, eax, SYNC_ENTRY
	add rdi, sync_srv_ans + gtp_sync_ans_size
	mov [rdi + HASH_SIZE], ecx
	mov rsi, sync_srv_cur
	mov ecx, HASH_SIZE
	rep movsb
.parents:
	mov rsi, sync_srv_cur
	call sync_parse_commit
	pushf
	mov rax, [sync_srv_mark]
	call gitfs_release
	popf
	jc .next
	; push the parents, last first (so the first parent is walked first)
	mov rcx, [sync_pc_np]
.push:
	test rcx, rcx
	jz .next
	dec rcx
	mov rax, [sync_srv_depth]
	cmp rax, SYNC_WORK_MAX
	jae .done
	push rcx
	imul rsi, rcx, HASH_SIZE
	add rsi, sync_pc_parents
	imul rdi, rax, HASH_SIZE
	add rdi, sync_srv_work
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	inc qword [sync_srv_depth]
	jmp .push
.done:
	mov rax, [sync_srv_mark]
	call gitfs_release
.send:
	mov rsi, sync_srv_ans
	mov rdi, gtp_tx_payload
	movzx ecx, word [sync_srv_ans + gtp_sync_ans.count]
	imul ecx, ecx, SYNC_ENTRY
	add ecx, gtp_sync_ans_size
	push rcx
	rep movsb
	pop rcx
	mov al, GTP_T_SYNC_ANS
	mov edx, [sync_srv_ip]
	xor r8d, r8d
	call gtp_send
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_sync_ans -- A verified SYNC_ANS: taken when a listing waits for exactly this page
; (same want and start; the size must be 32 + count x 24, count <= SYNC_PAGE: else size).
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI
gtp_rx_sync_ans:
	lea rbx, [rsi + gtp_hdr_size]
	movzx ecx, word [rsi + gtp_hdr.length]
	movzx eax, word [rbx + gtp_sync_ans.count]
	cmp eax, SYNC_PAGE
	ja .size
	imul eax, eax, SYNC_ENTRY
	add eax, gtp_sync_ans_size
	cmp eax, ecx
	jne .size
	inc qword [sync_ans_rx]
	cmp byte [sync_ans_wait], 1
	jne .out
	mov eax, [rbx + gtp_sync_ans.start]
	cmp eax, [sync_ans_start]
	jne .out
	lea rsi, [rbx + gtp_sync_ans.want]
	mov rdi, sync_want
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .out
	mov eax, [rbx + gtp_sync_ans.total]
	mov [sync_ans_total], eax
	movzx ecx, word [rbx + gtp_sync_ans.count]
	mov [sync_ans_count], cx
	imul ecx, ecx, SYNC_ENTRY
	lea rsi, [rbx + gtp_sync_ans_size]
	mov rdi, sync_ans_buf
	rep movsb
	mov byte [sync_ans_wait], 2
.out:
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; sync_walk -- (internal) from sync_want: every mainline commit, mainline tree, ref target,
; branch commit and data tree this node does not store (or holds as a referral) is fetched;
; every blob it does not know is queued as a referral (sync_batch). Stored objects are walked
; through too (an earlier run may have stopped half way).
;  IN:  sync_want
;  OUT: CF = 0 when everything was fetched; CF = 1 on a fetch or GitFS failure
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_walk:
	mov qword [sync_seen_n], 0
	mov qword [sync_batch_n], 0
	mov qword [sync_dc_n], 0
	mov rsi, sync_want
	mov rdi, sync_work
	mov ecx, HASH_SIZE
	rep movsb
	mov byte [rdi], SK_MCOMMIT
	mov qword [sync_depth], 1
.next:
	call watchdog_feed                  ; a long walk reads the disk a lot
	mov rcx, [sync_depth]
	test rcx, rcx
	jz .done
	dec rcx
	mov [sync_depth], rcx
	imul rsi, rcx, HASH_SIZE + 1
	add rsi, sync_work
	mov rdi, sync_cur
	mov ecx, HASH_SIZE + 1
	rep movsb
	mov al, [sync_cur + HASH_SIZE]
	mov [sync_cur_kind], al
	cmp al, SK_BLOB
	je .blob
	mov rsi, sync_cur
	mov rdi, sync_seen
	mov rdx, [sync_seen_n]
	call sync_list_has
	je .next
	cmp qword [sync_seen_n], SYNC_SEEN_MAX
	jae .fail
	mov rsi, sync_cur
	mov rdi, sync_seen
	mov rdx, sync_seen_n
	call sync_list_add
	; stored, or fetched now
	mov rax, [fs_arena_base]
	call gitfs_release
	mov rsi, sync_cur
	call gitfs_find
	jc .fetch
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .fetch
	mov byte [sync_cur_new], 0
	mov al, [rdi + gitfs_idx_entry.type]
	jmp .have
.fetch:
	mov rsi, sync_cur
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	rep movsb
	call gtp_fetch_object
	jc .fail
	inc qword [sync_fetched]
	mov byte [sync_cur_new], 1
	mov al, [gtp_f_type]
.have:
	mov [sync_cur_type], al
	; what it names, by what it is
	mov rax, [fs_arena_base]
	call gitfs_release
	mov al, [sync_cur_type]
	cmp al, OBJ_COMMIT
	je .commit
	cmp al, OBJ_TREE
	je .tree
	jmp .next                           ; a blob or a tag: nothing below it that we follow
.commit:
	mov rsi, sync_cur
	call sync_parse_commit
	jc .fail
	cmp byte [sync_cur_kind], SK_MCOMMIT
	je .not_new_branch_commit           ; (a ref's target or a branch commit's parent: data)
	cmp byte [sync_cur_new], 0
	je .not_new_branch_commit
	mov rax, [sync_dc_n]
	cmp rax, SYNC_DC_MAX
	jae .not_new_branch_commit
	imul rdi, rax, HASH_SIZE
	add rdi, sync_dcs
	mov rsi, sync_cur
	mov ecx, HASH_SIZE
	rep movsb
	inc qword [sync_dc_n]               ; (sync_delta_hints compares it with its parent)
.not_new_branch_commit:
	mov r12b, SK_DCOMMIT
	mov r13b, SK_DTREE
	cmp byte [sync_cur_kind], SK_MCOMMIT
	jne .commit_kinds
	mov r12b, SK_MCOMMIT
	mov r13b, SK_MTREE
.commit_kinds:
	mov rsi, sync_pc_tree
	mov al, r13b
	call sync_push
	jc .fail
	mov rcx, [sync_pc_np]
.parent:
	test rcx, rcx
	jz .next
	dec rcx
	push rcx
	imul rsi, rcx, HASH_SIZE
	add rsi, sync_pc_parents
	mov al, r12b
	call sync_push
	pop rcx
	jc .fail
	jmp .parent
.tree:
	mov rsi, sync_cur
	call gitfs_read_object
	jc .fail
	mov rsi, rax
	lea rdx, [rax + rcx]
.entry:
	call gitfs_tree_next
	jc .entries_done
	push rsi
	push rdx
	mov rsi, r11
	cmp byte [sync_cur_kind], SK_MTREE
	je .mtree_entry
	cmp r8, 0o160000
	je .skip_entry                      ; a submodule in a data tree: not ours
	mov al, SK_DTREE
	cmp r8, 0o40000
	je .push_entry
	mov al, SK_BLOB
	jmp .push_entry
.mtree_entry:
	mov al, SK_TARGET
.push_entry:
	call sync_push
	jc .push_failed
.skip_entry:
	pop rdx
	pop rsi
	jmp .entry
.push_failed:
	pop rdx
	pop rsi
	jmp .fail
.entries_done:
	test al, al
	jnz .fail
	jmp .next
.blob:
	; held or referred already: nothing; else queued as a referral
	mov rsi, sync_cur
	call gitfs_find
	jnc .next
	mov rax, [sync_batch_n]
	cmp rax, SYNC_BATCH_MAX
	jb .queue
	call sync_flush_batch
	jc .fail
	xor eax, eax
.queue:
	imul rdi, rax, HASH_SIZE
	add rdi, sync_batch
	mov rsi, sync_cur
	mov ecx, HASH_SIZE
	rep movsb
	inc qword [sync_batch_n]
	jmp .next
.done:
	clc
	ret
.fail:
	stc
	ret

; sync_delta_hints -- (internal) the delta base finder on the branch commits the walk fetched
; (delta_hints_commit, gtp_delta.asm): the placement loop then fetches a new version of a file
; this node stores the previous version of as a delta against it.
;  IN:  sync_dcs[0 .. sync_dc_n)
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_delta_hints:
	xor r15d, r15d
.one:
	cmp r15, [sync_dc_n]
	jae .out
	imul rsi, r15, HASH_SIZE
	add rsi, sync_dcs
	push r15
	call delta_hints_commit
	pop r15
	inc r15
	jmp .one
.out:
	ret

; sync_push -- (internal) pushes a hash and its walk kind on the walk stack.
;  IN:  RSI = hash, AL = kind.  OUT: CF = 1 when the stack is full.  CLOBBERS: RCX, RDI
sync_push:
	mov rdi, [sync_depth]
	cmp rdi, SYNC_WORK_MAX
	jae .full
	imul rdi, rdi, HASH_SIZE + 1
	add rdi, sync_work
	push rsi
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	mov [rdi], al
	inc qword [sync_depth]
	clc
	ret
.full:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_flush_batch -- (internal) stores the queued blob referrals (holder: the peer) in one
; transaction.
;  IN:  sync_batch, sync_batch_n
;  OUT: CF = 0 (sync_batch_n = 0); CF = 1 on a GitFS failure
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_flush_batch:
	cmp qword [sync_batch_n], 0
	je .ok
	mov rax, [fs_arena_base]
	call gitfs_release
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .fail
	xor r15d, r15d
.one:
	cmp r15, [sync_batch_n]
	jae .publish
	imul rsi, r15, HASH_SIZE
	add rsi, sync_batch
	xor ecx, ecx                        ; size unknown (docs/gitfs-format.md)
	mov dl, OBJ_BLOB
	mov r9, sync_peer_node
	mov r8d, 1
	call gitfs_tx_put_referral
	jc .fail
	inc r15
	jmp .one
.publish:
	call gitfs_tx_publish
	jc .fail
	mov rax, [sync_batch_n]
	add [sync_blob_refs], rax
	mov qword [sync_batch_n], 0
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
.ok:
	clc
	ret
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_join -- (internal) joins sync_want with this node's head: nothing when it is in our
; history; a fast-forward when our head is in its; else the maximal heads of both (a sync merge
; stands for its parents) are merged (sync_merge), or the single maximal one adopted.
;  IN:  sync_want (stored, with its history)
;  OUT: CF = 0 (sync_result set); CF = 1 on failure
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_join:
	mov rsi, sync_want
	mov rdi, sync_a
	mov ecx, HASH_SIZE
	rep movsb
	call gtp_current_rev
	mov rdi, sync_b
	mov ecx, HASH_SIZE
	rep movsb
	call sync_is_ancestor               ; want in our history?
	jc .not_ours
	mov byte [sync_result], 0
	clc
	ret
.not_ours:
	call gtp_current_rev
	mov rdi, sync_head
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, sync_head
	call gitfs_is_zero20
	je .ff
	mov rsi, sync_head
	mov rdi, sync_a
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, sync_want
	mov ecx, HASH_SIZE
	rep movsb                           ; sync_b follows sync_a
	call sync_is_ancestor               ; our head in its history?
	jc .merge
.ff:
	mov rsi, sync_want
	mov rdi, sync_heads
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [sync_heads_n], 1
	mov byte [sync_result], 1
	jmp sync_adopt
.merge:
	; the basis of each head: a sync merge's parents, else the head itself
	mov qword [sync_basis_n], 0
	mov rsi, sync_head
	call sync_add_basis
	jc .fail
	mov rsi, sync_want
	call sync_add_basis
	jc .fail
	; the maximal ones: drop every basis commit in another's history
	mov qword [sync_heads_n], 0
	xor r14d, r14d
.cand:
	cmp r14, [sync_basis_n]
	jae .maximal_done
	xor r13d, r13d
.other:
	cmp r13, [sync_basis_n]
	jae .keep
	cmp r13, r14
	je .other_next
	imul rsi, r14, HASH_SIZE
	add rsi, sync_basis
	mov rdi, sync_a
	mov ecx, HASH_SIZE
	rep movsb
	imul rsi, r13, HASH_SIZE
	add rsi, sync_basis
	mov ecx, HASH_SIZE
	rep movsb
	push r13
	push r14
	call sync_is_ancestor
	pop r14
	pop r13
	jnc .cand_next                      ; in another's history: not maximal
.other_next:
	inc r13
	jmp .other
.keep:
	imul rsi, r14, HASH_SIZE
	add rsi, sync_basis
	mov rdi, sync_heads
	mov rdx, sync_heads_n
	call sync_list_add
.cand_next:
	inc r14
	jmp .cand
.maximal_done:
	cmp qword [sync_heads_n], 1
	jb .fail
	mov byte [sync_result], 1
	je sync_adopt                       ; one maximal head: adopt it
	mov byte [sync_result], 2
	jmp sync_merge
.fail:
	stc
	ret

; sync_add_basis -- (internal) adds a head's basis to sync_basis (unique): the parents of a
; sync merge (a mainline commit with two or more parents), else the head.
;  IN:  RSI = head.  OUT: CF = 1 on failure.  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
sync_add_basis:
	push rsi
	mov rax, [fs_arena_base]
	call gitfs_release
	call sync_parse_commit
	pop rsi
	jc .out
	cmp qword [sync_pc_np], 2
	jb .self
	xor ebx, ebx
.parent:
	cmp rbx, [sync_pc_np]
	jae .ok
	imul rsi, rbx, HASH_SIZE
	add rsi, sync_pc_parents
	call sync_basis_add1
	jc .out
	inc rbx
	jmp .parent
.self:
	call sync_basis_add1
	jc .out
.ok:
	clc
.out:
	ret

; sync_basis_add1 -- (internal) adds one hash to sync_basis unless there.
;  IN:  RSI = hash.  OUT: CF = 1 when the list is full.  CLOBBERS: RAX, RCX, RDX, RDI
sync_basis_add1:
	mov rdi, sync_basis
	mov rdx, [sync_basis_n]
	call sync_list_has
	je .ok
	cmp qword [sync_basis_n], 2 * SYNC_HEADS_MAX
	jae .full
	mov rdi, sync_basis
	mov rdx, sync_basis_n
	call sync_list_add
.ok:
	clc
	ret
.full:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_adopt -- (internal) makes sync_heads[0] (a mainline commit whose history is stored) this
; node's revision: the cluster refs become its tree's (refs it does not list are freed), slot 0
; its hash; node-local refs are untouched. No new object.
;  IN:  sync_heads[0]
;  OUT: CF = 0 on success
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_adopt:
	mov qword [sync_tab_n], 0
	mov rsi, sync_heads
	call sync_table_add_tree
	jc .fail
	; every entry keeps its single target
	xor r14d, r14d
.pick:
	cmp r14, [sync_tab_n]
	jae .picked
	imul rsi, r14, SYNC_CAND_MAX * HASH_SIZE
	add rsi, sync_tab_cand
	imul rdi, r14, HASH_SIZE
	add rdi, sync_tab_target
	mov ecx, HASH_SIZE
	rep movsb
	inc r14
	jmp .pick
.picked:
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov rax, [fs_arena_base]
	call gitfs_release
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .fail
	call sync_apply_table
	jc .fail
	mov rsi, sync_heads
	call gitfs_tx_set_mainline
	call gitfs_tx_publish
	jc .fail
	inc qword [sync_adopts]
	clc
	ret
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_merge -- (internal) the sync merge of sync_heads (2..SYNC_HEADS_MAX maximal mainline
; commits), byte for byte what every node computes (docs/protocol.md, "Sync"): the per-ref rule
; over the heads' mainline trees (sync_resolve), the refs applied, the mainline tree of the
; cluster refs, then the commit: parents in ascending hash order, author = committer =
; gittorrent at the newest committer time of the heads, header branch mainline, message
; "sync merge of N heads".
;  IN:  sync_heads, sync_heads_n
;  OUT: CF = 0: slot 0 = the merge commit, published
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_merge:
	cmp qword [sync_heads_n], SYNC_HEADS_MAX
	ja .fail
	; parents in ascending order (insertion sort), and the newest committer time
	call sync_sort_heads
	mov qword [sync_merge_time], 0
	mov qword [sync_tab_n], 0
	xor r15d, r15d
.head:
	cmp r15, [sync_heads_n]
	jae .heads_done
	mov rax, [fs_arena_base]
	call gitfs_release
	imul rsi, r15, HASH_SIZE
	add rsi, sync_heads
	call sync_parse_commit
	jc .fail
	mov rax, [sync_pc_time]
	cmp rax, [sync_merge_time]
	jbe .older
	mov [sync_merge_time], rax
.older:
	imul rsi, r15, HASH_SIZE
	add rsi, sync_heads
	call sync_table_add_tree
	jc .fail
	inc r15
	jmp .head
.heads_done:
	call sync_resolve
	jc .fail
	mov rax, [fs_arena_base]
	call gitfs_release
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .fail
	call sync_apply_table
	jc .fail
	mov rsi, sync_heads
	mov rcx, [sync_heads_n]
	mov rax, [sync_merge_time]
	mov rdi, sync_merge_hash
	call gitfs_tx_sync_merge
	jc .fail
	call gitfs_tx_publish
	jc .fail
	inc qword [sync_merges]
	clc
	ret
.fail:
	stc
	ret

; sync_sort_heads -- (internal) sorts sync_heads ascending (bytewise), insertion sort.
;  CLOBBERS: RAX, RCX, RSI, RDI, R8, R9
sync_sort_heads:
	mov r8d, 1
.outer:
	cmp r8, [sync_heads_n]
	jae .out
	mov r9, r8
.inner:
	test r9, r9
	jz .next
	imul rsi, r9, HASH_SIZE
	add rsi, sync_heads - HASH_SIZE     ; the one before
	lea rdi, [rsi + HASH_SIZE]
	push rsi
	push rdi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rdi
	pop rsi
	jbe .next                           ; before <= this
	; swap the two
	mov ecx, HASH_SIZE
.swap:
	mov al, [rsi]
	xchg al, [rdi]
	mov [rsi], al
	inc rsi
	inc rdi
	loop .swap
	dec r9
	jmp .inner
.next:
	inc r8
	jmp .outer
.out:
	ret

; ---------------------------------------------------------------------------------------------
; sync_table_add_tree -- (internal) adds a mainline commit's tree entries (ref name -> target)
; to the merge table: a new name gets a row, a target not yet among its row's candidates is
; added to them.
;  IN:  RSI = mainline commit
;  OUT: CF = 1 on failure (unreadable, more than SYNC_TAB_MAX refs or SYNC_CAND_MAX targets)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R13
sync_table_add_tree:
	mov rax, [fs_arena_base]
	call gitfs_release
	call sync_parse_commit
	jc .out
	mov rsi, sync_pc_tree
	call gitfs_read_object
	jc .out
	cmp dl, OBJ_TREE
	jne .bad
	mov rsi, rax
	lea rdx, [rax + rcx]
.entry:
	call gitfs_tree_next
	jc .end
	cmp r10, REF_NAME_MAX - 1
	ja .bad
	push rsi
	mov rsi, r9
	call gitfs_ref_is_local             ; (an older image's mainline listed boot refs)
	pop rsi
	jc .entry
	push rsi
	push rdx
	mov rsi, r9
	mov rcx, r10
	call sync_tab_row                   ; RBX = row (made if new)
	jc .row_bad
	mov rsi, r11
	call sync_tab_cand_add
	jc .row_bad
	pop rdx
	pop rsi
	jmp .entry
.row_bad:
	pop rdx
	pop rsi
.bad:
	stc
.out:
	ret
.end:
	test al, al
	jnz .bad
	clc
	ret

; sync_tab_row -- (internal) the merge table's row for a name, made when absent.
;  IN:  RSI = name, RCX = length (< REF_NAME_MAX)
;  OUT: CF = 0, RBX = row; CF = 1 when the table is full.  CLOBBERS: RAX, RCX, RDI, R8
sync_tab_row:
	xor ebx, ebx
.row:
	cmp rbx, [sync_tab_n]
	jae .new
	imul rdi, rbx, REF_NAME_MAX
	add rdi, sync_tab_name
	cmp byte [rdi + rcx], 0
	jne .row_next
	push rsi
	push rcx
	repe cmpsb
	pop rcx
	pop rsi
	je .found
.row_next:
	inc rbx
	jmp .row
.new:
	cmp rbx, SYNC_TAB_MAX
	jae .full
	imul rdi, rbx, REF_NAME_MAX
	add rdi, sync_tab_name
	push rcx
	push rdi
	push rcx
	xor eax, eax
	mov ecx, REF_NAME_MAX
	rep stosb
	pop rcx
	pop rdi
	push rsi
	rep movsb
	pop rsi
	pop rcx
	mov byte [sync_tab_ncand + rbx], 0
	mov word [sync_tab_fork + rbx * 2], 0xFFFF
	inc qword [sync_tab_n]
.found:
	clc
	ret
.full:
	stc
	ret

; sync_tab_cand_add -- (internal) adds a target to a row's candidates (unless there).
;  IN:  RBX = row, RSI = hash.  OUT: CF = 1 when the row is full.  CLOBBERS: RAX, RCX, RDI, R8
sync_tab_cand_add:
	movzx r8d, byte [sync_tab_ncand + rbx]
	xor eax, eax
.c:
	cmp eax, r8d
	jae .add
	imul rdi, rbx, SYNC_CAND_MAX * HASH_SIZE
	add rdi, sync_tab_cand
	imul ecx, eax, HASH_SIZE
	add rdi, rcx
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	je .ok
	inc eax
	jmp .c
.add:
	cmp r8d, SYNC_CAND_MAX
	jae .full
	imul rdi, rbx, SYNC_CAND_MAX * HASH_SIZE
	add rdi, sync_tab_cand
	imul ecx, r8d, HASH_SIZE
	add rdi, rcx
	push rsi
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	inc byte [sync_tab_ncand + rbx]
.ok:
	clc
	ret
.full:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_resolve -- (internal) the per-ref rule (docs/protocol.md, "Sync"), row by row in table
; order: a candidate in another candidate's commit history is dropped; of the rest the greatest
; hash is the ref's target; each other one becomes a row `<ref>-fork-<hex12>` forked from the
; ref (skipped when the name would not fit; a row of that name already there takes it as a
; candidate).
;  IN:  the table
;  OUT: CF = 0, sync_tab_target set for every row; CF = 1 on failure
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_resolve:
	xor r15d, r15d                      ; row
.row:
	call watchdog_feed
	cmp r15, [sync_tab_n]
	jae .done
	movzx eax, byte [sync_tab_ncand + r15]
	mov [sync_rs_n], rax
	; keep[i] = 1 unless candidate i is in candidate j's history (j != i)
	xor r14d, r14d
.ci:
	cmp r14, [sync_rs_n]
	jae .kept
	mov byte [sync_rs_keep + r14], 1
	xor r13d, r13d
.cj:
	cmp r13, [sync_rs_n]
	jae .ci_next
	cmp r13, r14
	je .cj_next
	mov rsi, r15
	imul rsi, rsi, SYNC_CAND_MAX * HASH_SIZE
	add rsi, sync_tab_cand
	imul rax, r14, HASH_SIZE
	lea rsi, [rsi + rax]
	mov rdi, sync_a
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, r15
	imul rsi, rsi, SYNC_CAND_MAX * HASH_SIZE
	add rsi, sync_tab_cand
	imul rax, r13, HASH_SIZE
	lea rsi, [rsi + rax]
	mov ecx, HASH_SIZE
	rep movsb
	push r13
	push r14
	push r15
	call sync_is_ancestor
	pop r15
	pop r14
	pop r13
	jc .cj_next
	mov byte [sync_rs_keep + r14], 0
	jmp .ci_next
.cj_next:
	inc r13
	jmp .cj
.ci_next:
	inc r14
	jmp .ci
.kept:
	; the winner: the greatest kept hash
	mov r12, -1
	xor r14d, r14d
.w:
	cmp r14, [sync_rs_n]
	jae .winner
	cmp byte [sync_rs_keep + r14], 0
	je .w_next
	cmp r12, -1
	je .w_take
	mov rsi, r15
	imul rsi, rsi, SYNC_CAND_MAX * HASH_SIZE
	add rsi, sync_tab_cand
	mov rdi, rsi
	imul rax, r14, HASH_SIZE
	add rsi, rax
	imul rax, r12, HASH_SIZE
	add rdi, rax
	mov ecx, HASH_SIZE
	repe cmpsb
	jbe .w_next                         ; this <= the best so far
.w_take:
	mov r12, r14
.w_next:
	inc r14
	jmp .w
.winner:
	cmp r12, -1
	je .fail
	mov rsi, r15
	imul rsi, rsi, SYNC_CAND_MAX * HASH_SIZE
	add rsi, sync_tab_cand
	imul rax, r12, HASH_SIZE
	add rsi, rax
	imul rdi, r15, HASH_SIZE
	add rdi, sync_tab_target
	mov ecx, HASH_SIZE
	rep movsb
	; every other kept candidate: a fork row
	xor r14d, r14d
.f:
	cmp r14, [sync_rs_n]
	jae .row_next
	cmp r14, r12
	je .f_next
	cmp byte [sync_rs_keep + r14], 0
	je .f_next
	; the name: <ref>-fork-<hex12>
	imul rsi, r15, REF_NAME_MAX
	add rsi, sync_tab_name
	xor ecx, ecx
.len:
	cmp byte [rsi + rcx], 0
	je .len_done
	inc ecx
	jmp .len
.len_done:
	lea eax, [ecx + SYNC_FORK_SUFFIX]
	cmp eax, REF_NAME_MAX - 1
	ja .f_next                          ; would not fit: the candidate stays in history only
	mov rdi, sync_fork_name
	rep movsb
	mov rsi, str_sync_fork
	call gitfs_put_str
	mov rsi, r15
	imul rsi, rsi, SYNC_CAND_MAX * HASH_SIZE
	add rsi, sync_tab_cand
	imul rax, r14, HASH_SIZE
	add rsi, rax
	mov [sync_rs_cand], rsi
	push rdi
	mov rdi, sync_hex40
	call gitfs_put_hex20
	pop rdi
	mov rsi, sync_hex40
	mov ecx, 12
	rep movsb
	mov byte [rdi], 0
	mov rcx, rdi
	sub rcx, sync_fork_name
	mov rsi, sync_fork_name
	push r12
	push r14
	push r15
	call sync_tab_row
	jc .f_full
	mov rsi, [sync_rs_cand]
	call sync_tab_cand_add
	jc .f_full
	mov [sync_tab_fork + rbx * 2], r15w
	pop r15
	pop r14
	pop r12
.f_next:
	inc r14
	jmp .f
.f_full:
	pop r15
	pop r14
	pop r12
	jmp .fail
.row_next:
	inc r15
	jmp .row
.done:
	clc
	ret
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_apply_table -- (internal) makes the transaction's cluster refs the table's: a row's ref
; is made when absent (kind branch for a commit, symbolic otherwise or under tags/) and pointed
; at its target; a fork row (or a name ending -fork-<hex12> whose base is a row) is forked from
; its base; a cluster ref the table does not list is freed. Node-local refs are untouched.
;  IN:  an open transaction; sync_tab_*
;  OUT: CF = 0 on success
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
sync_apply_table:
	; (1) free cluster refs that are not rows
	call gitfs_tx_superblock
	lea r12, [rax + SB_HDR_SIZE + REF_SLOT_SIZE]
	mov r13d, 1
.free:
	cmp byte [r12 + gitfs_ref.kind], REF_KIND_FREE
	je .free_next
	mov rsi, r12
	call gitfs_ref_is_local
	jc .free_next
	mov rsi, r12
	xor ecx, ecx
.flen:
	cmp ecx, REF_NAME_MAX
	je .flen_done
	cmp byte [rsi + rcx], 0
	je .flen_done
	inc ecx
	jmp .flen
.flen_done:
	call sync_tab_find
	jnc .free_next
	mov rdi, r12
	mov ecx, REF_SLOT_SIZE
	xor eax, eax
	rep stosb
.free_next:
	add r12, REF_SLOT_SIZE
	inc r13d
	cmp r13d, REF_SLOTS
	jb .free
	; (2) every row: its slot, pointed at its target
	xor r15d, r15d
.row:
	cmp r15, [sync_tab_n]
	jae .forks
	imul rsi, r15, REF_NAME_MAX
	add rsi, sync_tab_name
	call sync_tx_slot
	jc .fail
	mov r12, rdi
	imul rsi, r15, HASH_SIZE
	add rsi, sync_tab_target
	lea rdi, [r12 + gitfs_ref.target]
	mov ecx, HASH_SIZE
	rep movsb
	inc r15
	jmp .row
.forks:
	; (3) forked-from: a fork row's base, or a -fork-<hex12> name's base
	xor r15d, r15d
.fork:
	cmp r15, [sync_tab_n]
	jae .ok
	movzx eax, word [sync_tab_fork + r15 * 2]
	cmp eax, 0xFFFF
	jne .have_base
	imul rsi, r15, REF_NAME_MAX
	add rsi, sync_tab_name
	call sync_fork_base                 ; RCX = base length, or CF
	jc .fork_next
	call sync_tab_find
	jc .fork_next
	mov eax, ebx
.have_base:
	; base slot index
	imul rsi, rax, REF_NAME_MAX
	add rsi, sync_tab_name
	call sync_tx_slot
	jc .fail
	call gitfs_tx_superblock
	neg rax
	add rax, rdi
	sub rax, SB_HDR_SIZE
	shr rax, 7                          ; / REF_SLOT_SIZE
	push rax
	imul rsi, r15, REF_NAME_MAX
	add rsi, sync_tab_name
	call sync_tx_slot
	pop rax
	jc .fail
	mov [rdi + gitfs_ref.forked_from], ax
.fork_next:
	inc r15
	jmp .fork
.ok:
	clc
	ret
.fail:
	stc
	ret

; sync_tab_find -- (internal) the row of a name.
;  IN:  RSI = name, RCX = length.  OUT: CF = 0, RBX = row; CF = 1 absent.  CLOBBERS: RDI
sync_tab_find:
	xor ebx, ebx
.row:
	cmp rbx, [sync_tab_n]
	jae .absent
	imul rdi, rbx, REF_NAME_MAX
	add rdi, sync_tab_name
	cmp byte [rdi + rcx], 0
	jne .next
	push rsi
	push rcx
	repe cmpsb
	pop rcx
	pop rsi
	je .found
.next:
	inc rbx
	jmp .row
.absent:
	stc
	ret
.found:
	clc
	ret

; sync_fork_base -- (internal) the base of a fork name `<base>-fork-<12 hex>`.
;  IN:  RSI = name (zero-terminated).  OUT: CF = 0, RCX = base length; CF = 1 not a fork name.
;  CLOBBERS: RAX
sync_fork_base:
	xor ecx, ecx
.len:
	cmp byte [rsi + rcx], 0
	je .len_done
	inc ecx
	jmp .len
.len_done:
	cmp ecx, SYNC_FORK_SUFFIX + 1
	jb .no
	sub ecx, SYNC_FORK_SUFFIX
	cmp dword [rsi + rcx], '-for'
	jne .no
	cmp word [rsi + rcx + 4], 'k-'
	jne .no
	xor eax, eax
.hex:
	push rcx
	add rcx, rax
	movzx ecx, byte [rsi + rcx + 6]
	cmp cl, '0'
	jb .nohex
	cmp cl, '9'
	jbe .isdigit
	cmp cl, 'a'
	jb .nohex
	cmp cl, 'f'
	ja .nohex
.isdigit:
	pop rcx
	inc eax
	cmp eax, 12
	jb .hex
	clc
	ret
.nohex:
	pop rcx
.no:
	stc
	ret

; sync_tx_slot -- (internal) the transaction's slot for a ref name, made when absent (kind
; branch when the name's target is... set by the caller; a new slot is a branch, made symbolic
; below when its row's target is not a commit or the name is under tags/).
;  IN:  RSI = name (zero-terminated, row of the table at R15 for the target)
;  OUT: CF = 0, RDI = slot; CF = 1 when the table is full
;  CLOBBERS: RAX, RCX, RDX
sync_tx_slot:
	push rsi
	xor ecx, ecx
.len:
	cmp byte [rsi + rcx], 0
	je .len_done
	inc ecx
	jmp .len
.len_done:
	call gitfs_tx_ref_find
	jnc .out
	call gitfs_tx_new_branch            ; RSI = name, RCX = length
	jc .out
	; a commit target stays a branch; anything else (or tags/...) is symbolic
	mov rsi, [rsp]
	cmp dword [rsi], 'tags'
	jne .kind_by_type
	cmp byte [rsi + 4], '/'
	je .symbolic
.kind_by_type:
	push rdi
	imul rsi, r15, HASH_SIZE
	add rsi, sync_tab_target
	call gitfs_find
	mov al, 0
	jc .typed
	mov al, [rdi + gitfs_idx_entry.type]
.typed:
	pop rdi
	cmp al, OBJ_COMMIT
	je .ok
.symbolic:
	mov byte [rdi + gitfs_ref.kind], REF_KIND_SYMBOLIC
.ok:
	clc
.out:
	pop rsi
	ret

; ---------------------------------------------------------------------------------------------
; sync_is_ancestor -- Whether sync_a is sync_b or in its history (depth first over the parents of
; stored commits; a parent that is not stored ends its line). A sync_a this node does not store
; is never an ancestor.
;  IN:  sync_a, sync_b
;  OUT: CF = 0 when it is; CF = 1 when it is not (or the search ran out of room)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
sync_is_ancestor:
	mov rsi, sync_a
	call gitfs_is_zero20
	je .yes                             ; nothing is in every history
	mov rsi, sync_a
	call gitfs_find
	jc .no
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .no
	call gitfs_mark
	mov [sync_anc_mark], rax
	mov qword [sync_anc_seen_n], 0
	mov rsi, sync_b
	call gitfs_is_zero20
	je .no_release
	mov rdi, sync_anc_work
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [sync_anc_depth], 1
.next:
	call watchdog_feed                  ; a long walk reads the disk a lot
	mov rcx, [sync_anc_depth]
	test rcx, rcx
	jz .no_release
	dec rcx
	mov [sync_anc_depth], rcx
	imul rsi, rcx, HASH_SIZE
	add rsi, sync_anc_work
	mov rdi, sync_anc_cur
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, sync_anc_cur
	mov rdi, sync_a
	mov ecx, HASH_SIZE
	repe cmpsb
	je .yes_release
	mov rsi, sync_anc_cur
	mov rdi, sync_anc_seen
	mov rdx, [sync_anc_seen_n]
	call sync_list_has
	je .next
	cmp qword [sync_anc_seen_n], SYNC_SEEN_MAX
	jae .no_release
	mov rsi, sync_anc_cur
	mov rdi, sync_anc_seen
	mov rdx, sync_anc_seen_n
	call sync_list_add
	mov rsi, sync_anc_cur
	call gitfs_find
	jc .next
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .next
	cmp byte [rdi + gitfs_idx_entry.type], OBJ_COMMIT
	jne .next
	mov rsi, sync_anc_cur
	call sync_parse_commit
	pushf
	mov rax, [sync_anc_mark]
	call gitfs_release
	popf
	jc .next
	mov rcx, [sync_pc_np]
.push:
	test rcx, rcx
	jz .next
	dec rcx
	mov rax, [sync_anc_depth]
	cmp rax, SYNC_WORK_MAX
	jae .no_release
	push rcx
	imul rsi, rcx, HASH_SIZE
	add rsi, sync_pc_parents
	imul rdi, rax, HASH_SIZE
	add rdi, sync_anc_work
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	inc qword [sync_anc_depth]
	jmp .push
.yes_release:
	mov rax, [sync_anc_mark]
	call gitfs_release
.yes:
	clc
	ret
.no_release:
	mov rax, [sync_anc_mark]
	call gitfs_release
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_parse_commit -- Reads a commit (stored) and takes its tree, parents (at most
; SYNC_PARENTS_MAX) and committer time. Leaves the object in the arena (the caller releases).
;  IN:  RSI = commit hash
;  OUT: CF = 0: sync_pc_tree, sync_pc_parents, sync_pc_np, sync_pc_time; CF = 1 on failure
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
sync_parse_commit:
	call gitfs_read_object
	jc .out
	cmp dl, OBJ_COMMIT
	jne .bad
	mov qword [sync_pc_np], 0
	mov qword [sync_pc_time], 0
	mov rsi, rax
	lea rbx, [rax + rcx]                ; end
	; "tree <hex>\n"
	lea rax, [rsi + 5 + HASH_HEX_LEN + 1]
	cmp rax, rbx
	ja .bad
	cmp dword [rsi], 'tree'
	jne .bad
	add rsi, 5
	mov rdi, sync_pc_tree
	call gitfs_parse_hex20
	jc .bad
	inc rsi
.line:
	lea rax, [rsi + 7 + HASH_HEX_LEN + 1]
	cmp rax, rbx
	ja .committer
	cmp dword [rsi], 'pare'
	jne .committer
	cmp word [rsi + 4], 'nt'
	jne .committer
	cmp qword [sync_pc_np], SYNC_PARENTS_MAX
	jae .bad
	add rsi, 7
	mov rdi, [sync_pc_np]
	imul rdi, rdi, HASH_SIZE
	add rdi, sync_pc_parents
	call gitfs_parse_hex20
	jc .bad
	inc rsi
	inc qword [sync_pc_np]
	jmp .line
.committer:
	; skip to the "committer " line; its time is the number before the last space
.find:
	lea rax, [rsi + 10]
	cmp rax, rbx
	jae .ok                             ; no committer line: time 0
	cmp dword [rsi], 'comm'
	jne .skip_line
	cmp dword [rsi + 4], 'itte'
	jne .skip_line
	cmp word [rsi + 8], 'r '
	je .time
.skip_line:
	cmp rsi, rbx
	jae .ok
	lodsb
	cmp al, 10
	jne .skip_line
	jmp .find
.time:
	; the line's end
	mov rdi, rsi
.eol:
	cmp rdi, rbx
	jae .eol_done
	cmp byte [rdi], 10
	je .eol_done
	inc rdi
	jmp .eol
.eol_done:
	; back over the timezone to the space before it, then over the digits
.tz:
	dec rdi
	cmp rdi, rsi
	jbe .ok
	cmp byte [rdi], ' '
	jne .tz
	mov rdx, rdi                        ; the space after the time
.digits:
	dec rdi
	cmp rdi, rsi
	jbe .ok
	cmp byte [rdi], ' '
	jne .digits
	inc rdi
	xor eax, eax
.num:
	cmp rdi, rdx
	jae .num_done
	movzx ecx, byte [rdi]
	sub ecx, '0'
	cmp ecx, 9
	ja .ok
	imul rax, rax, 10
	add rax, rcx
	inc rdi
	jmp .num
.num_done:
	mov [sync_pc_time], rax
.ok:
	clc
.out:
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_CORRUPT
	stc
	ret

; ---------------------------------------------------------------------------------------------
; sync_list_has -- Whether a hash is in a list.
;  IN:  RSI = hash, RDI = list, RDX = entries
;  OUT: ZF = 1 when present
;  CLOBBERS: RAX, RCX, RDI
sync_list_has:
	xor eax, eax
.one:
	cmp rax, rdx
	jae .absent
	push rsi
	push rdi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rdi
	pop rsi
	je .out
	add rdi, HASH_SIZE
	inc rax
	jmp .one
.absent:
	test rsp, rsp                       ; ZF = 0
.out:
	ret

; sync_list_add -- Appends a hash to a list.
;  IN:  RSI = hash, RDI = list, RDX = address of its count
;  OUT: nothing.  CLOBBERS: RAX, RCX, RDI
sync_list_add:
	mov rax, [rdx]
	imul rax, rax, HASH_SIZE
	add rdi, rax
	push rsi
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	inc qword [rdx]
	ret

; ---------------------------------------------------------------------------------------------
; cmd_sync -- `sync`: EVENT sync rev=<hex> heads=N referrals=N objects=N pending=N rounds=N
; merges=N adopts=N failures=N. heads: distinct revisions among this node and its live peers
; (not the host peer); referrals / objects: index entries held elsewhere / stored; pending:
; commits and trees still referrals (to fetch); rounds: sync runs.
;  IN:  RSI = arguments (ignored)
;  OUT: CF = 0
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
cmd_sync:
	; the index: referrals, objects, pending
	xor r8d, r8d                        ; referrals
	xor r9d, r9d                        ; objects
	xor r10d, r10d                      ; pending
	cmp byte [fs_mounted], 0
	je .counted
	mov rbx, [gitfs_sb_ptr]
	test rbx, rbx
	jz .counted
	mov ecx, [rbx + gitfs_sb.index_count]
	mov rdi, [gitfs_idx_ptr]
	add rdi, IDX_ENTRIES_OFFSET
.entry:
	test ecx, ecx
	jz .counted
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	jne .object
	inc r8
	cmp byte [rdi + gitfs_idx_entry.type], OBJ_TREE
	ja .entry_next
	inc r10
	jmp .entry_next
.object:
	inc r9
.entry_next:
	add rdi, IDX_ENTRY_SIZE
	dec ecx
	jmp .entry
.counted:
	push r8
	push r9
	push r10
	; heads: our revision and the distinct ones of live peers
	mov qword [sync_heads_n], 0
	call gtp_current_rev
	mov rdi, sync_heads
	mov rdx, sync_heads_n
	call sync_list_add
	xor r11d, r11d
.peer:
	cmp r11d, GTP_PEERS * gtp_peer_size
	jae .peers_done
	lea rbx, [gtp_peers + r11]
	mov eax, [rbx + gtp_peer.node]
	test eax, eax
	jz .peer_next
	cmp eax, GTP_HOST_NODE
	je .peer_next
	mov rax, [rbx + gtp_peer.heard]
	test rax, rax
	jz .peer_next
	add rax, GTP_STALE_TICKS
	cmp rax, [ticks]
	jb .peer_next
	lea rsi, [rbx + gtp_peer.rev]
	mov rdi, sync_heads
	mov rdx, [sync_heads_n]
	call sync_list_has
	je .peer_next
	cmp qword [sync_heads_n], SYNC_HEADS_MAX
	jae .peer_next
	mov rdi, sync_heads
	mov rdx, sync_heads_n
	call sync_list_add
.peer_next:
	add r11d, gtp_peer_size
	jmp .peer
.peers_done:
	mov rsi, str_ev_sync
	call event_begin
	mov rsi, str_key_rev
	call event_key
	call gtp_current_rev
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_sync_key_heads
	mov rax, [sync_heads_n]
	call event_kv_dec
	pop r10
	pop r9
	pop r8
	mov rsi, str_sync_key_referrals
	mov rax, r8
	call event_kv_dec
	mov rsi, str_gtp_key_objects
	mov rax, r9
	call event_kv_dec
	mov rsi, str_sync_key_pending
	mov rax, r10
	call event_kv_dec
	mov rsi, str_sync_key_rounds
	mov rax, [sync_rounds]
	call event_kv_dec
	mov rsi, str_sync_key_merges
	mov rax, [sync_merges]
	call event_kv_dec
	mov rsi, str_sync_key_adopts
	mov rax, [sync_adopts]
	call event_kv_dec
	mov rsi, str_sync_key_failures
	mov rax, [sync_failures]
	call event_kv_dec
	mov rsi, str_sync_key_reqs
	mov rax, [sync_reqs_rx]
	call event_kv_dec
	call event_end
	clc
	ret

align 8
sync_result_names:   dq str_sync_none, str_sync_ff, str_sync_merge, str_sync_fail
str_cmd_sync:        db "sync", 0
str_ev_sync:         db "sync", 0
str_ev_sync_run:     db "sync-run", 0
str_sync_key_result: db "result", 0
str_sync_key_listed: db "listed", 0
str_sync_key_referrals: db "referrals", 0
str_sync_key_heads:  db "heads", 0
str_sync_key_pending: db "pending", 0
str_sync_key_rounds: db "rounds", 0
str_sync_key_merges: db "merges", 0
str_sync_key_adopts: db "adopts", 0
str_sync_key_failures: db "failures", 0
str_sync_key_reqs:   db "sync_req_rx", 0
str_sync_none:       db "none", 0
str_sync_ff:         db "ff", 0
str_sync_merge:      db "merge", 0
str_sync_fail:       db "fail", 0
str_sync_fork:       db "-fork-", 0

	section .bss
	alignb 8
sync_next_poll:     resq 1
sync_rounds:        resq 1              ; sync runs
sync_merges:        resq 1
sync_adopts:        resq 1
sync_failures:      resq 1
sync_reqs_rx:       resq 1
sync_ans_rx:        resq 1
sync_listed:        resq 1
sync_fetched:       resq 1
sync_blob_refs:     resq 1
sync_deadline:      resq 1
sync_depth:         resq 1
sync_seen_n:        resq 1
sync_batch_n:       resq 1
sync_basis_n:       resq 1
sync_heads_n:       resq 1
sync_tab_n:         resq 1
sync_rs_n:          resq 1
sync_rs_cand:       resq 1
sync_merge_time:    resq 1
sync_pc_np:         resq 1
sync_pc_time:       resq 1
sync_anc_mark:      resq 1
sync_anc_depth:     resq 1
sync_anc_seen_n:    resq 1
sync_srv_mark:      resq 1
sync_srv_depth:     resq 1
sync_srv_seen_n:    resq 1
sync_peer_node:     resd 1
sync_peer_ip:       resd 1
sync_ans_start:     resd 1
sync_ans_total:     resd 1
sync_pages:         resd 1
sync_srv_ip:        resd 1
sync_srv_start:     resd 1
sync_ans_count:     resw 1
sync_ans_wait:      resb 1              ; 0 none, 1 waiting, 2 answered
sync_result:        resb 1              ; 0 none, 1 ff, 2 merge, 3 fail
sync_cur_kind:      resb 1
sync_cur_new:       resb 1              ; the walk's object was fetched by this walk
	alignb 8
sync_dc_n:          resq 1
sync_dcs:           resb SYNC_DC_MAX * HASH_SIZE
sync_cur_type:      resb 1
sync_want:          resb HASH_SIZE
sync_head:          resb HASH_SIZE
sync_a:             resb HASH_SIZE
sync_b:             resb HASH_SIZE
sync_cur:           resb HASH_SIZE + 1
sync_anc_cur:       resb HASH_SIZE
sync_srv_cur:       resb HASH_SIZE
sync_srv_have:      resb HASH_SIZE
sync_merge_hash:    resb HASH_SIZE
sync_pc_tree:       resb HASH_SIZE
sync_pc_parents:    resb SYNC_PARENTS_MAX * HASH_SIZE
sync_fork_name:     resb REF_NAME_MAX + 8
sync_hex40:         resb HASH_HEX_LEN
sync_rs_keep:       resb SYNC_CAND_MAX
sync_heads:         resb SYNC_HEADS_MAX * HASH_SIZE
sync_sub:           resb SYNC_PARENTS_MAX * HASH_SIZE
sync_sub_n:         resq 1
sync_ok_n:          resq 1
sync_ok_head:       resb HASH_SIZE
sync_ok:            resb SYNC_OK_MAX * HASH_SIZE
sync_basis:         resb 2 * SYNC_HEADS_MAX * HASH_SIZE
sync_ans_buf:       resb SYNC_PAGE * SYNC_ENTRY
sync_srv_ans:       resb gtp_sync_ans_size + SYNC_PAGE * SYNC_ENTRY
	alignb 8
sync_tab_fork:      resw SYNC_TAB_MAX   ; a fork row's base row, 0xFFFF none
sync_tab_ncand:     resb SYNC_TAB_MAX
sync_tab_name:      resb SYNC_TAB_MAX * REF_NAME_MAX
sync_tab_target:    resb SYNC_TAB_MAX * HASH_SIZE
sync_tab_cand:      resb SYNC_TAB_MAX * SYNC_CAND_MAX * HASH_SIZE
sync_batch:         resb SYNC_BATCH_MAX * HASH_SIZE
sync_work:          resb SYNC_WORK_MAX * (HASH_SIZE + 1)
sync_seen:          resb SYNC_SEEN_MAX * HASH_SIZE
sync_anc_work:      resb SYNC_WORK_MAX * HASH_SIZE
sync_anc_seen:      resb SYNC_SEEN_MAX * HASH_SIZE
sync_srv_work:      resb SYNC_WORK_MAX * HASH_SIZE
sync_srv_seen:      resb SYNC_SEEN_MAX * HASH_SIZE
	section .text
