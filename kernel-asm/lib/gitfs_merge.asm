; gitfs_merge.asm -- GitFS transaction helpers for revision sync (kernel-asm/kernel/gtp_sync.asm,
; docs/protocol.md "Sync"): the transaction's ref table, a new mainline head, and the sync merge
; commit of the mainline (its bytes are what every node computes: cluster/sync/merge.ts).
; Needs gitfs.asm and gitfs_write.asm (an open transaction).

%ifndef GITFS_MERGE_ASM
%define GITFS_MERGE_ASM

; ---------------------------------------------------------------------------------------------
; gitfs_tx_superblock -- The open transaction's superblock copy (its ref table is what
; gitfs_tx_publish writes).
;  IN:  nothing
;  OUT: RAX = the superblock copy (struc gitfs_sb; ref slots from SB_HDR_SIZE)
;  CLOBBERS: nothing
gitfs_tx_superblock:
	mov rax, [gfs_tx_sb]
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_ref_find -- gitfs_ref_find in the open transaction's ref table.
;  IN:  RSI = name, RCX = length
;  OUT: CF = 0 and RDI = the slot; CF = 1 (GITFS_E_NOT_FOUND) when absent
;  CLOBBERS: RDX
gitfs_tx_ref_find:
	push qword [gitfs_sb_ptr]
	push rax
	mov rax, [gfs_tx_sb]
	mov [gitfs_sb_ptr], rax
	pop rax
	call gitfs_ref_find
	pop qword [gitfs_sb_ptr]            ; (pop does not touch the flags)
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_set_mainline -- Sets the mainline head (slot 0) of the open transaction, without a
; log commit: the head is a mainline commit already (a sync adopts or merges it).
;  IN:  RSI = 20-byte commit hash
;  OUT: nothing
;  CLOBBERS: RCX, RDI
gitfs_tx_set_mainline:
	push rsi
	mov rdi, [gfs_tx_sb]
	add rdi, SB_HDR_SIZE + gitfs_ref.target
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_sync_merge -- Writes the sync merge commit of the open transaction's cluster refs and
; makes it the mainline head: tree = the mainline tree of every cluster ref (gitlinks, name
; order), parents as given, author = committer = gittorrent at the given time, header
; `branch mainline`, message "sync merge of N heads".
;  IN:  RSI = parents (20 bytes each, in the order they are written), RCX = how many (2..9),
;       RAX = the commit time (Unix seconds), RDI = 20-byte output
;  OUT: CF = 0 and the commit hash at [RDI] (also slot 0); CF = 1 on failure (gitfs_error)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gitfs_tx_sync_merge:
	mov r14, rsi
	mov r15, rcx
	push rdi
	mov [gitfs_tx_time], rax
	mov byte [gfs_tx_local], 0
	call gfs_tx_mainline_tree           ; gfs_tx_tree: the cluster refs
	jc .fail
	mov ecx, 4096
	call gitfs_alloc
	jc .fail
	mov r12, rax
	mov rdi, rax
	mov rsi, gfs_str_tree
	call gitfs_put_str
	mov rsi, gfs_tx_tree
	call gitfs_put_hex20
	mov al, 10
	stosb
	xor ebx, ebx
.parent:
	cmp rbx, r15
	jae .parents_done
	mov rsi, gfs_str_parent
	call gitfs_put_str
	imul rsi, rbx, HASH_SIZE
	add rsi, r14
	call gitfs_put_hex20
	mov al, 10
	stosb
	inc rbx
	jmp .parent
.parents_done:
	call gfs_put_author_committer
	mov rsi, gfs_str_branch_mainline
	call gitfs_put_str
	mov al, 10
	stosb
	mov rsi, gfs_str_sync_merge
	call gitfs_put_str
	mov rax, r15
	call gfs_put_dec
	mov rsi, gfs_str_sync_heads
	call gitfs_put_str
	mov rcx, rdi
	sub rcx, r12
	mov rsi, r12
	mov dl, OBJ_COMMIT
	mov rdi, [rsp]
	call gitfs_tx_put
	jc .fail
	mov rsi, [rsp]
	call gitfs_tx_set_mainline
	pop rdi
	clc
	ret
.fail:
	pop rdi
	stc
	ret

gfs_str_sync_merge:      db "sync merge of ", 0
gfs_str_sync_heads:      db " heads", 10, 0

%endif
