; gitfs_write.asm -- GitFS transactions: append objects to the log, update refs with a
; mainline-log commit, and publish it all in the power-cut-safe order of docs/gitfs-format.md:
; (1) the new log records, flushed; (2) the whole new index into the inactive index region,
; flushed; (3) the inactive superblock copy with generation + 1, flushed. A cut before (3)
; completes leaves the old state; a torn (3) fails its checksum and the old copy wins.
;
; Use: gitfs_tx_begin, then gitfs_tx_put (or gitfs_tx_put_hashed) / gitfs_tx_tree_put /
; gitfs_tx_commit_object / gitfs_tx_set_ref / gitfs_tx_put_referral / gitfs_tx_demote as
; needed, then gitfs_tx_publish (which remounts from the disk).
; Needs gitfs.asm (mounted) and rtc time from the caller (gitfs_tx_time).
; Failures: CF = 1 with gitfs_error (GITFS_E_* of gitfs.asm, or GITFS_E_FULL / GITFS_E_CONFLICT).
; Public: the gitfs_tx_* routines, gitfs_tx_time, gitfs_put_hex20, gitfs_put_str.

%ifndef GITFS_WRITE_ASM
%define GITFS_WRITE_ASM

GFS_TX_MAX_NEW      equ 256             ; new objects per transaction
GITFS_E_FULL        equ 13              ; the log, the index or the transaction is full
GITFS_E_CONFLICT    equ 14              ; a file where a directory is, or the other way round
GITFS_E_NAME        equ 15              ; a ref name the store does not accept
GFS_TX_SLACK        equ 0x40000         ; log buffer bytes beyond the caller's estimate

; ---------------------------------------------------------------------------------------------
; gitfs_tx_begin -- Starts a transaction on the mounted image.
;  IN:  RCX = an estimate of the new objects' total size in bytes
;  OUT: CF = 0 on success
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8
gitfs_tx_begin:
	mov rbx, [gitfs_sb_ptr]
	test rbx, rbx
	jz .unmounted
	mov r8, rcx
	; the new superblock: a copy of the active one
	mov ecx, SB_BYTES
	call gitfs_alloc
	jc .fail
	mov [gfs_tx_sb], rax
	mov rdi, rax
	mov rsi, rbx
	mov ecx, SB_BYTES
	rep movsb
	; the new index: the old one plus room for GFS_TX_MAX_NEW entries
	mov eax, [rbx + gitfs_sb.index_count]
	mov [gfs_tx_count], rax
	add rax, GFS_TX_MAX_NEW
	shl rax, IDX_ENTRY_SHIFT
	add rax, IDX_ENTRIES_OFFSET + SECTOR_SIZE
	mov rcx, rax
	call gitfs_alloc
	jc .fail
	mov [gfs_tx_idx], rax
	mov rdi, rax
	mov rsi, [gitfs_idx_ptr]
	mov rcx, [gfs_tx_count]
	shl rcx, IDX_ENTRY_SHIFT
	add rcx, IDX_ENTRIES_OFFSET
	rep movsb
	mov qword [gfs_tx_new], 0
	; the log buffer starts at the sector holding log_end, pre-filled with that sector
	mov rax, [rbx + gitfs_sb.log_end]
	mov [gfs_tx_pos], rax
	shr rax, SECTOR_SHIFT
	mov [gfs_tx_base_lba], rax
	lea rcx, [r8 + GFS_TX_SLACK]
	mov [gfs_tx_cap], rcx
	call gitfs_alloc
	jc .fail
	mov [gfs_tx_buf], rax
	mov rdi, rax
	xor eax, eax
	push rcx
	shr rcx, 3                          ; 8 bytes a step (TCG: a string step costs the same)
	rep stosq
	mov rcx, [rsp]
	and ecx, 7
	rep stosb
	pop rcx
	mov rdi, [gfs_tx_buf]
	mov rax, [gfs_tx_base_lba]
	mov ecx, 1
	call gfs_read
	jc .fail
	; zero what follows log_end in that sector (unreferenced bytes)
	mov rcx, [gfs_tx_pos]
	and ecx, SECTOR_SIZE - 1
	lea rdi, [rdi + rcx]
	neg rcx
	add rcx, SECTOR_SIZE
	xor eax, eax
	rep stosb
	clc
	ret
.unmounted:
	mov byte [gitfs_error], GITFS_E_NOT_MOUNTED
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gfs_tx_entry -- (internal) the address of entry RAX of the transaction's index.
;  IN:  RAX = position
;  OUT: RDI = its address
;  CLOBBERS: nothing
gfs_tx_entry:
	mov rdi, rax
	shl rdi, IDX_ENTRY_SHIFT
	add rdi, [gfs_tx_idx]
	add rdi, IDX_ENTRIES_OFFSET
	ret

; ---------------------------------------------------------------------------------------------
; gfs_tx_lower_bound -- (internal) binary search of the transaction's index.
;  IN:  RSI = 20-byte hash
;  OUT: RAX = position of the first entry >= hash; ZF = 1 when that entry equals the hash
;  CLOBBERS: RCX, RDX, RDI, R8, R9
gfs_tx_lower_bound:
	xor r8d, r8d                        ; lo
	mov r9, [gfs_tx_count]              ; hi
.loop:
	cmp r8, r9
	jae .done
	lea rax, [r8 + r9]
	shr rax, 1
	call gfs_tx_entry
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	jbe .left                           ; entry >= hash  (CMPS: [rsi] - [rdi] <= 0)
	lea r8, [rax + 1]
	jmp .loop
.left:
	mov r9, rax
	jmp .loop
.done:
	mov rax, r8
	cmp rax, [gfs_tx_count]
	jae .not_equal
	call gfs_tx_entry
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	ret                                 ; ZF from the comparison
.not_equal:
	test rsp, rsp                       ; RSP is never 0: ZF = 0
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_put_hashed -- gitfs_tx_put for an object whose hash the caller has computed and
; checked already (a fetched object, verified as it arrived): the content is not hashed again.
;  IN:  DL = type (OBJ_COMMIT..OBJ_TAG), RSI = content, RCX = length, RDI = its 20-byte hash
;  OUT: as gitfs_tx_put
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, R8-R11
gitfs_tx_put_hashed:
	push rdi
	mov r10, rsi
	mov r11, rcx
	mov bl, dl
	jmp gitfs_tx_put.hashed

; ---------------------------------------------------------------------------------------------
; gitfs_tx_put -- Stores an object raw in the log (unless the image already has it; an object
; the image has only as a referral is stored, and its index entry then names the new record).
;  IN:  DL = type (OBJ_*), RSI = content, RCX = length, RDI = 20-byte output for its hash
;  OUT: CF = 0 and the hash at [RDI]; CF = 1 on failure (GITFS_E_FULL: the log or the
;       transaction is full)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, R8-R11
gitfs_tx_put:
	push rdi
	mov r10, rsi
	mov r11, rcx
	mov bl, dl
	call gitfs_hash_object              ; RDI = hash out
	jc .bad_type
.hashed:
	mov rsi, [rsp]
	mov byte [gfs_tx_replace], 0
	call gfs_tx_lower_bound
	jne .absent
	cmp byte [rdi - HASH_SIZE + gitfs_idx_entry.storage], STORE_REFERRAL   ; (RDI: past the hash)
	jne .present                        ; stored already
	mov byte [gfs_tx_replace], 1        ; a referral: the object replaces its index entry
.absent:
	mov [gfs_tx_insert_at], rax
	cmp qword [gfs_tx_new], GFS_TX_MAX_NEW
	jae .full
	; room in the log (before the index regions) and in the buffer?
	mov rax, [gfs_tx_pos]
	lea rdx, [rax + REC_HDR_SIZE + r11 + REC_ALIGN - 1]
	and rdx, ~(REC_ALIGN - 1)           ; next record position
	mov rcx, [gitfs_sb_ptr]
	mov rcx, [rcx + gitfs_sb.log_limit_lba]
	shl rcx, SECTOR_SHIFT
	cmp rdx, rcx
	ja .full
	mov rcx, [gfs_tx_base_lba]
	shl rcx, SECTOR_SHIFT
	mov r8, rdx
	sub r8, rcx                         ; bytes of buffer used after this record
	add r8, SECTOR_SIZE
	cmp r8, [gfs_tx_cap]
	ja .full
	; the record header
	mov rdi, rax
	sub rdi, rcx
	add rdi, [gfs_tx_buf]
	mov dword [rdi + gitfs_rec.magic], REC_MAGIC
	mov [rdi + gitfs_rec.type], bl
	mov byte [rdi + gitfs_rec.storage], STORE_RAW
	mov word [rdi + gitfs_rec.depth], 0
	mov [rdi + gitfs_rec.payload_len], r11
	mov [rdi + gitfs_rec.object_size], r11
	push rdi
	lea rdi, [rdi + gitfs_rec.hash]
	mov rsi, [rsp + 8]
	mov ecx, HASH_SIZE
	rep movsb
	xor eax, eax
	mov ecx, HASH_SIZE                         ; base: zero
	rep stosb
	pop rdi
	; the payload, 8 bytes a step
	add rdi, REC_HDR_SIZE
	mov rsi, r10
	mov rcx, r11
	shr rcx, 3
	rep movsq
	mov rcx, r11
	and ecx, 7
	rep movsb
	; the index entry, inserted in order
	mov r9, [gfs_tx_pos]                ; this record's offset
	mov [gfs_tx_pos], rdx
	mov rax, [gfs_tx_insert_at]
	cmp byte [gfs_tx_replace], 0
	jne .replace
	mov rcx, [gfs_tx_count]
	sub rcx, rax                        ; entries to move up
	shl rcx, IDX_ENTRY_SHIFT
	mov rsi, [gfs_tx_count]
	shl rsi, IDX_ENTRY_SHIFT
	add rsi, [gfs_tx_idx]
	add rsi, IDX_ENTRIES_OFFSET - 1     ; last byte of the last entry
	lea rdi, [rsi + IDX_ENTRY_SIZE]
	std
	rep movsb
	cld
	inc qword [gfs_tx_count]
.entry:
	mov rax, [gfs_tx_insert_at]
	call gfs_tx_entry
	mov rsi, [rsp]
	mov [rdi + gitfs_idx_entry.type], bl
	mov byte [rdi + gitfs_idx_entry.storage], STORE_RAW
	mov word [rdi + gitfs_idx_entry.depth], 0
	mov [rdi + gitfs_idx_entry.offset], r9
	add rdi, gitfs_idx_entry.hash
	mov ecx, HASH_SIZE
	rep movsb
	inc qword [gfs_tx_new]
.present:
	pop rdi
	clc
	ret
.replace:
	call gfs_tx_entry                   ; the referral's entry, rewritten in place
	mov byte [rdi + gitfs_idx_entry.storage], STORE_RAW
	mov word [rdi + gitfs_idx_entry.depth], 0
	mov [rdi + gitfs_idx_entry.offset], r9
	inc qword [gfs_tx_new]
	pop rdi
	clc
	ret
.full:
	mov byte [gitfs_error], GITFS_E_FULL
	pop rdi
	stc
	ret
.bad_type:
	mov byte [gitfs_error], GITFS_E_CORRUPT
	pop rdi
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_put_referral -- Records that other nodes hold an object this node does not store: a
; referral record (docs/gitfs-format.md, "Referral payload"; holder ids `node-N`) and its index
; entry, in the open transaction. Nothing is written when the image has the hash already (stored
; or referred).
;  IN:  RSI = 20-byte hash, DL = type (OBJ_*), RCX = object size, R9 = holder node numbers
;       (u32 each), R8D = how many (1..8)
;  OUT: CF = 0 on success; CF = 1 (GITFS_E_FULL) when the log or the transaction is full
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R8-R11
gitfs_tx_put_referral:
	push rsi
	push r12
	push r13
	mov r10, rcx                        ; object size
	mov bl, dl
	mov r12, r9
	mov r13d, r8d
	cmp r13d, 8
	jbe .count_ok
	mov r13d, 8
.count_ok:
	mov byte [gfs_tx_replace], 0
	call gfs_tx_lower_bound
	jne .absent
	cmp byte [gfs_tx_demoting], 0
	je .done                            ; known already
	cmp byte [rdi - HASH_SIZE + gitfs_idx_entry.storage], STORE_REFERRAL   ; (RDI: past the hash)
	je .done                            ; a referral already: nothing to give up
	mov byte [gfs_tx_replace], 1        ; stored: the referral replaces its index entry
	jmp .write
.absent:
	cmp byte [gfs_tx_demoting], 0
	jne .done                           ; a demotion of an object the image lacks: nothing
.write:
	mov [gfs_tx_insert_at], rax
	cmp qword [gfs_tx_new], GFS_TX_MAX_NEW
	jae .full
	mov r11d, r13d
	shl r11d, 5                         ; REFERRAL_HOLDER_SIZE each
	add r11d, 8                         ; count, reserved
	mov rax, [gfs_tx_pos]
	lea rdx, [rax + REC_HDR_SIZE + r11 + REC_ALIGN - 1]
	and rdx, ~(REC_ALIGN - 1)
	mov rcx, [gitfs_sb_ptr]
	mov rcx, [rcx + gitfs_sb.log_limit_lba]
	shl rcx, SECTOR_SHIFT
	cmp rdx, rcx
	ja .full
	mov rcx, [gfs_tx_base_lba]
	shl rcx, SECTOR_SHIFT
	mov r8, rdx
	sub r8, rcx
	add r8, SECTOR_SIZE
	cmp r8, [gfs_tx_cap]
	ja .full
	mov rdi, rax
	sub rdi, rcx
	add rdi, [gfs_tx_buf]
	push rdx
	push rdi
	mov ecx, REC_HDR_SIZE
	add rcx, r11
	xor eax, eax
	rep stosb                           ; header, payload (zero padded ids)
	pop rdi
	mov dword [rdi + gitfs_rec.magic], REC_MAGIC
	mov [rdi + gitfs_rec.type], bl
	mov byte [rdi + gitfs_rec.storage], STORE_REFERRAL
	mov [rdi + gitfs_rec.payload_len], r11
	mov [rdi + gitfs_rec.object_size], r10
	push rdi
	lea rdi, [rdi + gitfs_rec.hash]
	mov rsi, [rsp + 32]                 ; the hash (pushed rsi)
	mov ecx, HASH_SIZE
	rep movsb
	pop rdi
	add rdi, REC_HDR_SIZE
	mov [rdi], r13d                     ; holder count
	add rdi, 8
	xor ecx, ecx
.holder:
	cmp ecx, r13d
	jae .holders_done
	push rdi
	push rcx
	mov dword [rdi], 'node'
	mov byte [rdi + 4], '-'
	add rdi, 5
	mov eax, [r12 + rcx * 4]
	call gfs_put_dec
	pop rcx
	pop rdi
	add rdi, REFERRAL_HOLDER_SIZE
	inc ecx
	jmp .holder
.holders_done:
	pop rdx
	mov r9, [gfs_tx_pos]
	mov [gfs_tx_pos], rdx
	mov rax, [gfs_tx_insert_at]
	cmp byte [gfs_tx_replace], 0
	jne .replace
	mov rcx, [gfs_tx_count]
	sub rcx, rax
	shl rcx, IDX_ENTRY_SHIFT
	mov rsi, [gfs_tx_count]
	shl rsi, IDX_ENTRY_SHIFT
	add rsi, [gfs_tx_idx]
	add rsi, IDX_ENTRIES_OFFSET - 1
	lea rdi, [rsi + IDX_ENTRY_SIZE]
	std
	rep movsb
	cld
	call gfs_tx_entry
	mov [rdi + gitfs_idx_entry.type], bl
	mov byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	mov word [rdi + gitfs_idx_entry.depth], 0
	mov [rdi + gitfs_idx_entry.offset], r9
	mov rsi, [rsp + 16]
	add rdi, gitfs_idx_entry.hash
	mov ecx, HASH_SIZE
	rep movsb
	inc qword [gfs_tx_count]
	inc qword [gfs_tx_new]
.done:
	pop r13
	pop r12
	pop rsi
	clc
	ret
.replace:
	call gfs_tx_entry                   ; the stored object's entry, rewritten in place
	mov byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	mov word [rdi + gitfs_idx_entry.depth], 0
	mov [rdi + gitfs_idx_entry.offset], r9
	inc qword [gfs_tx_new]
	jmp .done
.full:
	mov byte [gitfs_error], GITFS_E_FULL
	pop r13
	pop r12
	pop rsi
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_demote -- Gives up this image's stored copy of an object that other nodes hold: a
; referral record naming them (as gitfs_tx_put_referral writes it) and the object's index entry
; switched from its stored record to the referral, in the open transaction. The stored record's
; bytes stay in the log (GitFS is log-structured: nothing points at them any more). Nothing is
; written when the image does not store the hash (absent, or a referral already).
;  IN:  RSI = 20-byte hash, DL = type (OBJ_*), RCX = object size, R9 = holder node numbers
;       (u32 each), R8D = how many (1..8)
;  OUT: CF = 0 on success; CF = 1 (GITFS_E_FULL) when the log or the transaction is full
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R8-R11
gitfs_tx_demote:
	mov byte [gfs_tx_demoting], 1
	call gitfs_tx_put_referral
	mov byte [gfs_tx_demoting], 0       ; (MOV keeps CF)
	ret

; ---------------------------------------------------------------------------------------------
; gfs_name_cmp -- (internal) git's tree order: bytewise, a tree's name compared as "name/".
;  IN:  RSI = name A, RCX = length A, AL = 1 if A is a tree; RDI = name B, RDX = length B,
;       AH = 1 if B is a tree
;  OUT: flags as for an unsigned compare of A with B (JB: A < B, JE: equal)
;  CLOBBERS: nothing
gfs_name_cmp:
	push rbx
	push rsi
	push rdi
	push r8
	push rcx
	push rdx
	mov r8, rcx
	cmp r8, rdx
	jbe .min
	mov r8, rdx
.min:
	xor ebx, ebx
.byte:
	cmp rbx, r8
	jae .tail
	mov bl, bl
	push rax
	mov al, [rsi + rbx]
	cmp al, [rdi + rbx]
	pop rax
	jne .out
	inc rbx
	jmp .byte
.tail:
	; equal up to the shorter length: compare the next "character" of each
	push rax
	push rcx
	xor ecx, ecx                        ; next char of A
	cmp rbx, [rsp + 24]                 ; length A (pushed RCX above RDX)
	jb .a_char
	test al, al
	jz .a_end
	mov cl, '/'
	jmp .a_end
.a_char:
	mov cl, [rsi + rbx]
.a_end:
	xor edx, edx
	cmp rbx, [rsp + 16]                 ; length B
	jb .b_char
	test ah, ah
	jz .b_end
	mov dl, '/'
	jmp .b_end
.b_char:
	mov dl, [rdi + rbx]
.b_end:
	cmp cl, dl
	pop rcx
	pop rax
.out:
	pop rdx
	pop rcx
	pop r8
	pop rdi
	pop rsi
	pop rbx
	ret

; Frame of gitfs_tx_tree_put (one per subtree level)
struc gfs_tp
  .tree             resb HASH_SIZE      ; the tree being changed
  .pad0             resb 4
  .path             resq 1
  .path_len         resq 1
  .mode             resq 1
  .blob             resq 1              ; pointer to the new entry's 20-byte hash
  .out              resq 1              ; pointer to the 20-byte result
  .content          resq 1              ; the old tree's bytes
  .size             resq 1
  .sub_index        resq 1              ; subtree entry we descend into (its name pointer)
  .sub_name_len     resq 1
  .new_sub          resb HASH_SIZE
  .pad1             resb 4
endstruc
GFS_TP_BYTES        equ (gfs_tp_size + 15) & ~15

; ---------------------------------------------------------------------------------------------
; gitfs_tx_tree_put -- Writes a new tree: TREE with PATH set to (MODE, HASH), through split
; subtrees where the path runs into one, as a flat entry otherwise. Stores the new tree(s).
;  IN:  RSI = old tree hash, RDI = path, RCX = path length, R8 = mode, R9 = entry hash,
;       RDX = 20-byte output for the new tree's hash
;  OUT: CF = 0 on success; CF = 1 on failure (GITFS_E_CONFLICT: a file where a directory is,
;       or the other way round)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gitfs_tx_tree_put:
	push rbp
	sub rsp, GFS_TP_BYTES
	mov rbp, rsp
	mov [rbp + gfs_tp.path], rdi
	mov [rbp + gfs_tp.path_len], rcx
	mov [rbp + gfs_tp.mode], r8
	mov [rbp + gfs_tp.blob], r9
	mov [rbp + gfs_tp.out], rdx
	lea rdi, [rbp + gfs_tp.tree]
	mov ecx, HASH_SIZE
	rep movsb
	lea rsi, [rbp + gfs_tp.tree]
	call gitfs_read_tree
	jc .fail
	mov [rbp + gfs_tp.content], rax
	mov [rbp + gfs_tp.size], rcx
	; pass 1: a subtree to descend into? a conflict?
	mov rsi, rax
	lea rdx, [rax + rcx]
.scan:
	call gitfs_tree_next
	jc .scan_end
	mov r12, [rbp + gfs_tp.path]
	mov r13, [rbp + gfs_tp.path_len]
	; entry name N (R9, R10) vs path P (R12, R13)
	cmp r10, r13
	jae .longer_or_equal
	; N shorter: P = N + "/" + ... ?
	cmp byte [r12 + r10], '/'
	jne .scan
	push rsi
	push rcx
	mov rsi, r9
	mov rdi, r12
	mov rcx, r10
	repe cmpsb
	pop rcx
	pop rsi
	jne .scan
	cmp r8, 0o40000
	jne .conflict                       ; a file where P needs a directory
	mov [rbp + gfs_tp.sub_index], r9
	mov [rbp + gfs_tp.sub_name_len], r10
	; descend: new subtree = tree_put(N's tree, rest of P)
	push rsi
	push rdx
	mov rsi, r11
	lea rdi, [r12 + r10 + 1]
	mov rcx, r13
	sub rcx, r10
	dec rcx
	jz .conflict_pop                    ; "N/" alone
	mov r8, [rbp + gfs_tp.mode]
	mov r9, [rbp + gfs_tp.blob]
	lea rdx, [rbp + gfs_tp.new_sub]
	call gitfs_tx_tree_put
	pop rdx
	pop rsi
	jc .fail
	; rebuild this tree with the subtree entry's hash replaced
	mov r14, [rbp + gfs_tp.sub_index]   ; name pointer identifies the entry
	lea r15, [rbp + gfs_tp.new_sub]
	xor ebx, ebx                        ; no insertion
	jmp .rebuild
.longer_or_equal:
	ja .longer
	; equal length: the same name? A file may replace a file, never a directory.
	call gfs_name_eq_path
	jne .scan
	cmp r8, 0o40000
	je .conflict
	jmp .scan                           ; a file: replaced in pass 2
.longer:
	; N longer: N = P + "/" + ... means P is a directory here
	cmp byte [r9 + r13], '/'
	jne .scan
	call gfs_name_eq_path
	jne .scan
	jmp .conflict
.scan_end:
	test al, al
	jnz .fail
	; pass 2: rebuild with PATH set (replace an equal name, else insert in order)
	xor r14d, r14d                      ; no replacement by name pointer
	mov ebx, 1                          ; insert/replace the new entry
.rebuild:
	; output buffer: old size + room for one entry
	mov rcx, [rbp + gfs_tp.size]
	add rcx, [rbp + gfs_tp.path_len]
	add rcx, 64
	call gitfs_alloc
	jc .fail
	mov r12, rax                        ; output start
	mov rdi, rax                        ; output cursor
	mov rsi, [rbp + gfs_tp.content]
	mov rdx, rsi
	add rdx, [rbp + gfs_tp.size]
	xor r13d, r13d                      ; 1 once the new entry is written
.copy:
	push rsi                            ; entry start
	call gitfs_tree_next
	pop rcx                             ; RCX = entry start (AL kept for the end test)
	jc .copy_end
	; RSI = next entry, R8 mode, R9/R10 name, R11 hash
	test ebx, ebx
	jz .maybe_replace_sub
	test r13, r13
	jnz .copy_entry
	; compare the new entry (path; a tree if its mode is) with this one
	push rcx
	push rsi
	push rdi
	push rdx
	mov rsi, [rbp + gfs_tp.path]
	mov rcx, [rbp + gfs_tp.path_len]
	mov rdi, r9
	mov rdx, r10
	xor eax, eax
	cmp qword [rbp + gfs_tp.mode], 0o40000
	sete al
	cmp r8, 0o40000
	sete ah
	call gfs_name_cmp
	pop rdx
	pop rdi
	pop rsi
	pop rcx
	ja .copy_entry                      ; new > this: it comes later
	pushf
	push rcx
	push rsi
	call gfs_tp_emit_new                ; new <= this: the new entry goes here
	pop rsi
	pop rcx
	popf
	mov r13d, 1
	je .copy                            ; equal name: the old entry is replaced
	jmp .copy_entry
.maybe_replace_sub:
	cmp r9, r14
	jne .copy_entry
	; the subtree we rewrote: same mode and name, new hash
	push rsi
	mov rsi, rcx
	mov rcx, r11
	sub rcx, rsi                        ; "<mode> <name>\0"
	rep movsb
	mov rsi, r15
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	jmp .copy
.copy_entry:
	push rsi
	xchg rsi, rcx                       ; RSI = entry start, RCX = next entry
	sub rcx, rsi
	rep movsb
	pop rsi
	jmp .copy
.copy_end:
	test al, al
	jnz .fail
	test ebx, ebx
	jz .store
	test r13, r13
	jnz .store
	call gfs_tp_emit_new                ; after every entry
.store:
	mov rcx, rdi
	sub rcx, r12
	mov rsi, r12
	mov rdi, [rbp + gfs_tp.out]
	call gfs_store_tree                 ; splits it if it grew past the threshold
	jc .fail
	add rsp, GFS_TP_BYTES
	pop rbp
	clc
	ret
.conflict_pop:
	pop rdx
	pop rsi
.conflict:
	mov byte [gitfs_error], GITFS_E_CONFLICT
.fail:
	add rsp, GFS_TP_BYTES
	pop rbp
	stc
	ret

; Frame of gfs_store_tree
struc gfs_st
  .content          resq 1
  .size             resq 1
  .out              resq 1
  .count            resq 1              ; entries
  .best_name        resq 1              ; the directory with the most flat entries
  .best_len         resq 1
  .best_count       resq 1
  .best_start       resq 1              ; its first entry
  .best_end         resq 1              ; after its last entry
  .cur_name         resq 1
  .cur_len          resq 1
  .cur_count        resq 1
  .cur_start        resq 1
  .cur_end          resq 1
  .sub              resb HASH_SIZE
  .pad              resb 4
endstruc
GFS_ST_BYTES        equ (gfs_st_size + 15) & ~15

; ---------------------------------------------------------------------------------------------
; gfs_store_tree -- Stores a tree, applying the split rule of docs/gitfs-format.md: while it
; has more than TREE_SPLIT_THRESHOLD entries, the top-level directory with the most flat
; entries (ties: the smaller name) becomes a subtree built by the same rule.
;  IN:  RSI = tree content (sorted entries), RCX = size, RDI = 20-byte output
;  OUT: CF as gitfs_tx_put
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gfs_store_tree:
	push rbp
	sub rsp, GFS_ST_BYTES
	mov rbp, rsp
	mov [rbp + gfs_st.content], rsi
	mov [rbp + gfs_st.size], rcx
	mov [rbp + gfs_st.out], rdi
.again:
	xor eax, eax
	mov [rbp + gfs_st.count], rax
	mov [rbp + gfs_st.best_count], rax
	mov [rbp + gfs_st.cur_count], rax
	mov rsi, [rbp + gfs_st.content]
	mov rdx, rsi
	add rdx, [rbp + gfs_st.size]
.entry:
	mov r15, rsi                        ; entry start
	call gitfs_tree_next
	jc .counted
	inc qword [rbp + gfs_st.count]
	; first path component: up to a '/' in the name
	xor ecx, ecx
.slash:
	cmp rcx, r10
	jae .no_dir
	cmp byte [r9 + rcx], '/'
	je .dir
	inc rcx
	jmp .slash
.dir:
	; the same directory as the current run?
	cmp qword [rbp + gfs_st.cur_count], 0
	je .new_run
	cmp rcx, [rbp + gfs_st.cur_len]
	jne .new_run
	push rsi
	push rcx
	mov rsi, r9
	mov rdi, [rbp + gfs_st.cur_name]
	repe cmpsb
	pop rcx
	pop rsi
	jne .new_run
	inc qword [rbp + gfs_st.cur_count]
	mov [rbp + gfs_st.cur_end], rsi
	jmp .entry
.new_run:
	call .finish_run
	mov [rbp + gfs_st.cur_name], r9
	mov [rbp + gfs_st.cur_len], rcx
	mov qword [rbp + gfs_st.cur_count], 1
	mov [rbp + gfs_st.cur_start], r15
	mov [rbp + gfs_st.cur_end], rsi
	jmp .entry
.no_dir:
	call .finish_run
	mov qword [rbp + gfs_st.cur_count], 0
	jmp .entry
.counted:
	test al, al
	jnz .bad
	call .finish_run
	cmp qword [rbp + gfs_st.count], TREE_SPLIT_THRESHOLD
	jbe .store
	cmp qword [rbp + gfs_st.best_count], 0
	je .store                           ; nothing to split off
	; the subtree: the run's entries with "<dir>/" stripped
	mov rcx, [rbp + gfs_st.best_end]
	sub rcx, [rbp + gfs_st.best_start]
	call gitfs_alloc
	jc .fail
	mov r12, rax
	mov rdi, rax
	mov rsi, [rbp + gfs_st.best_start]
	mov rdx, [rbp + gfs_st.best_end]
.sub_entry:
	mov r15, rsi                        ; entry start: "<mode> " runs from here to the name
	call gitfs_tree_next
	jc .sub_done
	push rsi
	mov rsi, r15
.mode_found:
	mov rcx, r9
	sub rcx, rsi                        ; "<mode> "
	rep movsb
	mov rax, [rbp + gfs_st.best_len]
	lea rsi, [r9 + rax + 1]             ; the name after "<dir>/"
	mov rcx, r10
	sub rcx, rax
	dec rcx
	rep movsb
	xor al, al
	stosb
	mov rsi, r11
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	jmp .sub_entry
.sub_done:
	test al, al
	jnz .bad
	mov rsi, r12
	mov rcx, rdi
	sub rcx, r12
	lea rdi, [rbp + gfs_st.sub]
	call gfs_store_tree                 ; the same rule, one level down
	jc .fail
	; the parent: entries before the run, "40000 <dir>\0<hash>", entries after it
	mov rcx, [rbp + gfs_st.size]
	add rcx, 64
	call gitfs_alloc
	jc .fail
	mov r12, rax
	mov rdi, rax
	mov rsi, [rbp + gfs_st.content]
	mov rcx, [rbp + gfs_st.best_start]
	sub rcx, rsi
	rep movsb
	mov rsi, gfs_str_tree_mode
	call gitfs_put_str
	mov rsi, [rbp + gfs_st.best_name]
	mov rcx, [rbp + gfs_st.best_len]
	rep movsb
	xor al, al
	stosb
	lea rsi, [rbp + gfs_st.sub]
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, [rbp + gfs_st.best_end]
	mov rcx, [rbp + gfs_st.content]
	add rcx, [rbp + gfs_st.size]
	sub rcx, rsi
	rep movsb
	mov [rbp + gfs_st.content], r12
	sub rdi, r12
	mov [rbp + gfs_st.size], rdi
	jmp .again
.store:
	mov rsi, [rbp + gfs_st.content]
	mov rcx, [rbp + gfs_st.size]
	mov dl, OBJ_TREE
	mov rdi, [rbp + gfs_st.out]
	call gitfs_tx_put
	jc .fail
	add rsp, GFS_ST_BYTES
	pop rbp
	clc
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_TREE
.fail:
	add rsp, GFS_ST_BYTES
	pop rbp
	stc
	ret
; .finish_run -- (local) the current run becomes the best when it has strictly more entries
; (so on a tie the earlier, smaller name stays).  CLOBBERS: RAX
.finish_run:
	mov rax, [rbp + gfs_st.cur_count]
	cmp rax, [rbp + gfs_st.best_count]
	jbe .keep
	mov [rbp + gfs_st.best_count], rax
	mov rax, [rbp + gfs_st.cur_name]
	mov [rbp + gfs_st.best_name], rax
	mov rax, [rbp + gfs_st.cur_len]
	mov [rbp + gfs_st.best_len], rax
	mov rax, [rbp + gfs_st.cur_start]
	mov [rbp + gfs_st.best_start], rax
	mov rax, [rbp + gfs_st.cur_end]
	mov [rbp + gfs_st.best_end], rax
.keep:
	ret

; gfs_tp_emit_new -- (internal) writes "<mode> <path>\0<hash>" of the frame at RDI.
;  IN: RBP = gfs_tp frame, RDI = output.  OUT: RDI advanced.  CLOBBERS: RAX, RCX, RSI
gfs_tp_emit_new:
	mov rax, [rbp + gfs_tp.mode]
	call gfs_put_octal
	mov al, ' '
	stosb
	mov rsi, [rbp + gfs_tp.path]
	mov rcx, [rbp + gfs_tp.path_len]
	rep movsb
	xor al, al
	stosb
	mov rsi, [rbp + gfs_tp.blob]
	mov ecx, HASH_SIZE
	rep movsb
	ret

; gfs_put_octal -- (internal) writes RAX in octal at RDI, no leading zeros.
;  IN:  RAX = value, RDI = output
;  OUT: RDI advanced past the digits
;  CLOBBERS: RAX, RCX
gfs_put_octal:
	push rdx
	xor ecx, ecx
.div:
	mov rdx, rax
	and edx, 7
	push rdx
	inc ecx
	shr rax, 3
	jnz .div
.emit:
	pop rax
	add al, '0'
	stosb
	loop .emit
	pop rdx
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_put_hex20 -- Writes 20 bytes as 40 lowercase hex digits.
;  IN:  RSI = bytes, RDI = output
;  OUT: RDI advanced by HASH_HEX_LEN
;  CLOBBERS: RAX, RCX, RSI
gitfs_put_hex20:
	mov ecx, HASH_SIZE
.b:
	lodsb
	push rax
	shr al, 4
	call .digit
	pop rax
	and al, 0x0F
	call .digit
	loop .b
	ret
.digit:
	add al, '0'
	cmp al, '9'
	jbe .out
	add al, 'a' - '0' - 10
.out:
	stosb
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_put_str -- Copies a zero-terminated string, without its NUL (to build object text).
;  IN:  RSI = string, RDI = output
;  OUT: RDI advanced past the copied bytes; RSI past the NUL
;  CLOBBERS: RAX (and RSI, RDI as above)
gitfs_put_str:
	lodsb
	test al, al
	jz .done
	stosb
	jmp gitfs_put_str
.done:
	ret

; gfs_put_author_committer -- (internal) the "author ..." and "committer ..." lines.
;  IN: RDI = output.  OUT: RDI advanced.  CLOBBERS: RAX, RDX, RSI
gfs_put_author_committer:
	mov rsi, gfs_str_author
	call gitfs_put_str
	call gfs_put_signature
	mov al, 10
	stosb
	mov rsi, gfs_str_committer
	call gitfs_put_str
	call gfs_put_signature
	mov al, 10
	stosb
	ret

; gfs_put_signature -- (internal) "gittorrent <gittorrent@localhost> <time> +0000".
;  IN: RDI = output.  OUT: RDI advanced.  CLOBBERS: RAX, RDX, RSI
gfs_put_signature:
	mov rsi, gfs_str_ident
	call gitfs_put_str
	mov rax, [gitfs_tx_time]
	call gfs_put_dec
	mov rsi, gfs_str_tz
	call gitfs_put_str
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_commit_object -- Writes a commit object: tree, the parent (if any), author and
; committer (gittorrent, gitfs_tx_time), a `branch` header and a one-line message.
;  IN:  RSI = tree hash, RDX = parent hash or 0, R8 = branch name (zero-terminated),
;       R9 = message (zero-terminated), RDI = 20-byte output
;  OUT: CF as gitfs_tx_put
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, R8-R12
gitfs_tx_commit_object:
	push rdi
	mov r12, rsi
	mov ecx, 4096                       ; callers keep the message under 2 KiB
	push rdx
	call gitfs_alloc
	pop rdx
	jc .fail
	mov rbx, rax
	mov rdi, rax
	mov rsi, gfs_str_tree
	call gitfs_put_str
	mov rsi, r12
	call gitfs_put_hex20
	mov al, 10
	stosb
	test rdx, rdx
	jz .no_parent
	mov rsi, gfs_str_parent
	call gitfs_put_str
	mov rsi, rdx
	call gitfs_put_hex20
	mov al, 10
	stosb
.no_parent:
	call gfs_put_author_committer
	mov rsi, gfs_str_branch
	call gitfs_put_str
	mov rsi, r8
	call gitfs_put_str
	mov al, 10
	stosb
	stosb                               ; blank line
	mov rsi, r9
	call gitfs_put_str
	mov al, 10
	stosb
	mov rcx, rdi
	sub rcx, rbx
	mov rsi, rbx
	mov dl, OBJ_COMMIT
	mov rdi, [rsp]
	call gitfs_tx_put
.fail:
	pop rdi
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_set_boot_attempts -- Sets a ref's boot_attempts (boot counting) in the transaction's
; superblock; call it after gitfs_tx_set_ref and before gitfs_tx_publish.
;  IN:  RSI = ref name (zero-terminated), AL = boot attempts
;  OUT: CF = 0 on success; CF = 1 (GITFS_E_NOT_FOUND) when the ref is absent
;  CLOBBERS: RCX, RDX, RDI
gitfs_tx_set_boot_attempts:
	push rax
	xor ecx, ecx
.len:
	cmp byte [rsi + rcx], 0
	je .have_len
	inc rcx
	jmp .len
.have_len:
	push qword [gitfs_sb_ptr]
	mov rax, [gfs_tx_sb]
	mov [gitfs_sb_ptr], rax             ; gitfs_ref_find searches "the" superblock
	call gitfs_ref_find
	pop qword [gitfs_sb_ptr]
	pop rax
	jc .out
	mov [rdi + gitfs_ref.boot_attempts], al
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_ref_name_ok -- Checks a new ref name against the rules the host store enforces
; (gitfs/refs.ts validateRefName): 1..REF_NAME_MAX-1 bytes of [A-Za-z0-9._/-]; no "..", "//",
; leading "/" or "-", trailing "/" or "."; no component starting with "." or ending ".lock";
; not 4..40 lowercase hex digits (it would read as an abbreviated hash).
;  IN:  RSI = name, RCX = length
;  OUT: CF = 0 when the name is acceptable, CF = 1 (GITFS_E_NAME) otherwise
;  CLOBBERS: RAX, RDX, R8
gitfs_ref_name_ok:
	test rcx, rcx
	jz .bad
	cmp rcx, REF_NAME_MAX - 1
	ja .bad
	cmp byte [rsi], '-'
	je .bad
	cmp byte [rsi], '/'
	je .bad
	mov al, [rsi + rcx - 1]
	cmp al, '/'
	je .bad
	cmp al, '.'
	je .bad
	xor edx, edx                        ; index
	mov r8d, 1                          ; 1: all lowercase hex so far
.char:
	mov al, [rsi + rdx]
	cmp al, '0'
	jb .not_digit
	cmp al, '9'
	jbe .ok_char
.not_digit:
	cmp al, 'a'
	jb .not_hex
	cmp al, 'f'
	jbe .ok_char
.not_hex:
	xor r8d, r8d
	cmp al, 'a'
	jb .upper
	cmp al, 'z'
	jbe .ok_char
.upper:
	cmp al, 'A'
	jb .punct
	cmp al, 'Z'
	jbe .ok_char
.punct:
	cmp al, '_'
	je .ok_char
	cmp al, '-'
	je .ok_char
	cmp al, '.'
	je .dot
	cmp al, '/'
	jne .bad
	; "/": not "//", and the next component may not start with "."
	cmp byte [rsi + rdx + 1], '/'
	je .bad
	cmp byte [rsi + rdx + 1], '.'
	je .bad
	; the component before it may not end ".lock"
	cmp rdx, 5
	jb .ok_char
	cmp dword [rsi + rdx - 4], '.loc'
	jne .ok_char
	cmp byte [rsi + rdx - 1], 'k'
	je .bad
	jmp .ok_char
.dot:
	test rdx, rdx
	jz .bad                             ; a leading "."
	lea rax, [rdx + 1]
	cmp rax, rcx
	jae .ok_char                        ; (a trailing "." was refused above)
	cmp byte [rsi + rdx + 1], '.'
	je .bad                             ; ".."
.ok_char:
	inc rdx
	cmp rdx, rcx
	jb .char
	; the last component may not end ".lock"
	cmp rcx, 5
	jb .hex_check
	cmp dword [rsi + rcx - 5], '.loc'
	jne .hex_check
	cmp byte [rsi + rcx - 1], 'k'
	je .bad
.hex_check:
	test r8d, r8d
	jz .good
	cmp rcx, 4
	jb .good
	cmp rcx, HASH_HEX_LEN
	jbe .bad
.good:
	clc
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_NAME
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_new_branch -- Adds an empty branch ref (kind branch, no target, forked from none) to
; the transaction's superblock, in its first free slot; gitfs_tx_set_ref then points it.
;  IN:  RSI = name (already checked by gitfs_ref_name_ok), RCX = length
;  OUT: CF = 0 and RDI = the new slot; CF = 1 (GITFS_E_FULL) when every slot is taken
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI
gitfs_tx_new_branch:
	mov rdi, [gfs_tx_sb]
	add rdi, SB_HDR_SIZE + REF_SLOT_SIZE  ; slot 0 is the mainline log
	mov edx, 1
.slot:
	cmp byte [rdi + gitfs_ref.kind], REF_KIND_FREE
	je .free
	add rdi, REF_SLOT_SIZE
	inc edx
	cmp edx, REF_SLOTS
	jb .slot
	mov byte [gitfs_error], GITFS_E_FULL
	stc
	ret
.free:
	push rdi
	push rcx
	xor eax, eax
	mov ecx, REF_SLOT_SIZE
	rep stosb
	pop rcx
	pop rdi
	push rdi
	rep movsb                           ; the name, zero padded by the clear
	pop rdi
	mov byte [rdi + gitfs_ref.kind], REF_KIND_BRANCH
	mov word [rdi + gitfs_ref.forked_from], REF_NONE
	clc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_set_ref -- Points a ref (existing slot) at a hash in the transaction's superblock
; and appends the mainline-log commit for the update (its tree lists every other ref as a
; gitlink; headers branch/ref/ref-old/ref-new, as the host store writes them).
;  IN:  RSI = ref name (zero-terminated), RDX = 20-byte new target,
;       R8B = new boot state (BOOT_STATE_*; 0xFF keeps it), R9B = tries left (0xFF keeps it),
;       R10 = a reason for the log message (zero-terminated) or 0
;  OUT: CF = 0 on success
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gitfs_tx_set_ref:
	mov r14, rsi
	mov r15, rdx
	mov [gfs_tx_new_state], r8b
	mov [gfs_tx_new_tries], r9b
	mov [gfs_tx_reason], r10
	; the slot, by name, in the transaction's superblock
	mov rdi, rsi
	xor ecx, ecx
.len:
	cmp byte [rdi + rcx], 0
	je .have_len
	inc rcx
	jmp .len
.have_len:
	push qword [gitfs_sb_ptr]
	mov rax, [gfs_tx_sb]
	mov [gitfs_sb_ptr], rax             ; gitfs_ref_find searches "the" superblock
	call gitfs_ref_find
	pop qword [gitfs_sb_ptr]
	jc .fail
	mov rbx, rdi                        ; the slot
	lea rsi, [rbx + gitfs_ref.target]
	mov rdi, gfs_tx_old
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, r15
	lea rdi, [rbx + gitfs_ref.target]
	mov ecx, HASH_SIZE
	rep movsb
	mov al, [gfs_tx_new_state]
	cmp al, 0xFF
	je .keep_state
	mov [rbx + gitfs_ref.state], al
.keep_state:
	mov al, [gfs_tx_new_tries]
	cmp al, 0xFF
	je .keep_tries
	mov [rbx + gitfs_ref.tries_left], al
.keep_tries:
	; a node-local ref (boot, boot-good) logs to boot-log, a cluster ref to the mainline
	mov rsi, r14
	call gitfs_ref_is_local
	setc byte [gfs_tx_local]
	; log tree: "160000 <ref>\0<hash>" for every other ref of the same class, in name order
	call gfs_tx_mainline_tree
	jc .fail
	; the mainline commit text
	mov ecx, 2048
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
	push rdi
	call gfs_tx_log_slot                ; the log's slot (0 or boot-log), or 0 when none yet
	pop rdi
	test rax, rax
	jz .no_parent
	lea rsi, [rax + gitfs_ref.target]   ; the log's head
	call gitfs_is_zero20
	je .no_parent
	push rsi
	mov rsi, gfs_str_parent
	call gitfs_put_str
	pop rsi
	call gitfs_put_hex20
	mov al, 10
	stosb
.no_parent:
	call gfs_put_author_committer
	mov rsi, gfs_str_branch_mainline
	cmp byte [gfs_tx_local], 0
	je .branch_line
	mov rsi, gfs_str_branch_boot_log
.branch_line:
	call gitfs_put_str
	mov rsi, gfs_str_ref
	call gitfs_put_str
	mov rsi, r14
	call gitfs_put_str
	mov al, 10
	stosb
	mov rsi, gfs_str_ref_old
	call gitfs_put_str
	mov rsi, gfs_tx_old
	call gitfs_put_hex20
	mov al, 10
	stosb
	mov rsi, gfs_str_ref_new
	call gitfs_put_str
	mov rsi, r15
	call gitfs_put_hex20
	mov al, 10
	stosb
	mov al, 10
	stosb
	; message: "<kind> <name>: <old12>|(new) -> <new12>"
	movzx eax, byte [rbx + gitfs_ref.kind]
	cmp eax, REF_KIND_BOOT
	jbe .kind_ok
	xor eax, eax
.kind_ok:
	mov rsi, [gitfs_kind_names + rax * 8]
	call gitfs_put_str
	mov al, ' '
	stosb
	mov rsi, r14
	call gitfs_put_str
	mov al, ':'
	stosb
	mov al, ' '
	stosb
	mov rsi, gfs_tx_old
	call gitfs_is_zero20
	jne .old12
	mov rsi, gfs_str_new
	call gitfs_put_str
	jmp .arrow
.old12:
	call gfs_put_hex12
.arrow:
	mov rsi, gfs_str_arrow
	call gitfs_put_str
	mov rsi, r15
	call gfs_put_hex12
	mov al, 10
	stosb
	; boot counting state, as the host writes it
	movzx eax, byte [rbx + gitfs_ref.state]
	test eax, eax
	jz .message_done
	cmp eax, BOOT_STATE_BAD
	ja .message_done
	mov al, 10
	stosb
	mov rsi, gfs_str_boot_state
	call gitfs_put_str
	movzx eax, byte [rbx + gitfs_ref.state]
	mov rsi, [gitfs_state_names + rax * 8]
	call gitfs_put_str
	mov rsi, gfs_str_tries_left
	call gitfs_put_str
	movzx eax, byte [rbx + gitfs_ref.tries_left]
	call gfs_put_dec
	mov al, 10
	stosb
.message_done:
	mov rsi, [gfs_tx_reason]
	test rsi, rsi
	jz .no_reason
	mov al, 10
	stosb
	call gitfs_put_str
	mov al, 10
	stosb
.no_reason:
	mov rcx, rdi
	sub rcx, r12
	mov rsi, r12
	mov dl, OBJ_COMMIT
	mov rdi, gfs_tx_mainline
	call gitfs_tx_put
	jc .fail
	call gfs_tx_log_slot
	test rax, rax
	jnz .log_slot
	mov rsi, gfs_str_boot_log_name      ; the first node-local update: boot-log is new
	mov ecx, BOOT_LOG_REF_LEN
	call gitfs_tx_new_branch
	jc .fail
	mov rax, rdi
.log_slot:
	lea rdi, [rax + gitfs_ref.target]
	mov rsi, gfs_tx_mainline
	mov ecx, HASH_SIZE
	rep movsb
	clc
	ret
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_ref_is_local -- Whether a ref name is node-local state (docs/gitfs-format.md,
; "Node-local and cluster state"): `boot`, `boot-good` and the node-local log `boot-log`.
;  IN:  RSI = name (zero-terminated, or zero padded to REF_NAME_MAX)
;  OUT: CF = 1 when node-local, CF = 0 for cluster state
;  CLOBBERS: nothing
gitfs_ref_is_local:
	push rdi
	mov rdi, gfs_str_boot_name
	call gfs_name_is
	je .yes
	mov rdi, gfs_str_boot_good_name
	call gfs_name_is
	je .yes
	mov rdi, gfs_str_boot_log_name
	call gfs_name_is
	je .yes
	pop rdi
	clc
	ret
.yes:
	pop rdi
	stc
	ret

; gfs_name_is -- (internal) ZF = 1 when the names at RSI and RDI (both zero-terminated; RSI
; may end at REF_NAME_MAX bytes) are equal.  CLOBBERS: nothing
gfs_name_is:
	push rax
	push rcx
	xor ecx, ecx
.c:
	mov al, [rsi + rcx]
	cmp ecx, REF_NAME_MAX
	jne .in
	xor al, al
.in:
	cmp al, [rdi + rcx]
	jne .out
	test al, al
	jz .out
	inc ecx
	jmp .c
.out:
	pop rcx
	pop rax
	ret

; gfs_tx_log_slot -- (internal) the slot of the log the transaction's update goes to
; (gfs_tx_local: 0 the mainline, slot 0; 1 boot-log) in the transaction's superblock.
;  OUT: RAX = the slot, or 0 when boot-log does not exist yet.  CLOBBERS: RCX, RDX, RSI, RDI
gfs_tx_log_slot:
	mov rax, [gfs_tx_sb]
	add rax, SB_HDR_SIZE
	cmp byte [gfs_tx_local], 0
	je .out
	push qword [gitfs_sb_ptr]
	mov rax, [gfs_tx_sb]
	mov [gitfs_sb_ptr], rax
	mov rsi, gfs_str_boot_log_name
	mov ecx, BOOT_LOG_REF_LEN
	call gitfs_ref_find
	pop qword [gitfs_sb_ptr]
	mov rax, rdi
	jnc .out
	xor eax, eax
.out:
	ret

; gfs_put_hex12 -- (internal) writes the first 12 hex digits of a hash (a short commit id).
;  IN:  RSI = hash, RDI = output
;  OUT: RDI advanced by 12
;  CLOBBERS: RAX, RCX, RSI
gfs_put_hex12:
	push rdi
	mov rdi, gfs_hex40
	call gitfs_put_hex20
	pop rdi
	mov rsi, gfs_hex40
	mov ecx, 12
	rep movsb
	ret

; ---------------------------------------------------------------------------------------------
; gfs_tx_mainline_tree -- (internal) builds and stores the log tree (every ref but slot 0 and
; boot-log with a non-zero target and of the update's class, gfs_tx_local: cluster refs for the
; mainline, node-local refs for boot-log; as gitlinks, in git's name order) into gfs_tx_tree.
;  OUT: CF as gitfs_tx_put
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R13
gfs_tx_mainline_tree:
	push rbx
	; collect the slot pointers
	mov r8, [gfs_tx_sb]
	add r8, SB_HDR_SIZE + REF_SLOT_SIZE  ; slot 1
	xor r9d, r9d                        ; count
	mov r10d, 1
.collect:
	cmp byte [r8 + gitfs_ref.kind], REF_KIND_FREE
	je .skip
	lea rsi, [r8 + gitfs_ref.target]
	call gitfs_is_zero20
	je .skip
	; only refs of the log's class (gfs_tx_local), never boot-log itself
	mov rsi, r8
	push rdi
	mov rdi, gfs_str_boot_log_name
	call gfs_name_is
	pop rdi
	je .skip
	call gitfs_ref_is_local
	setc al
	cmp al, [gfs_tx_local]
	jne .skip
	mov [gfs_tx_slots + r9 * 8], r8
	inc r9
.skip:
	add r8, REF_SLOT_SIZE
	inc r10d
	cmp r10d, REF_SLOTS
	jb .collect
	; insertion sort by name (gitlinks compare as plain names)
	mov r10d, 1
.outer:
	cmp r10, r9
	jae .sorted
	mov r11, [gfs_tx_slots + r10 * 8]   ; key
	mov r12, r10
.inner:
	test r12, r12
	jz .place
	mov r13, [gfs_tx_slots + r12 * 8 - 8]
	; compare names r13 > r11 ?
	mov rsi, r13
	mov rdi, r11
	mov ecx, REF_NAME_MAX
	repe cmpsb
	jbe .place                          ; prev <= key
	mov [gfs_tx_slots + r12 * 8], r13
	dec r12
	jmp .inner
.place:
	mov [gfs_tx_slots + r12 * 8], r11
	inc r10
	jmp .outer
.sorted:
	; serialise
	mov rcx, r9
	imul rcx, rcx, REF_NAME_MAX + 32
	add rcx, 16
	call gitfs_alloc
	jc .fail
	mov r12, rax
	mov rdi, rax
	xor r10d, r10d
.emit:
	cmp r10, r9
	jae .store
	mov rsi, gfs_str_gitlink_mode
	call gitfs_put_str
	mov rsi, [gfs_tx_slots + r10 * 8]
	mov ecx, REF_NAME_MAX
.name:
	lodsb
	test al, al
	jz .name_end
	stosb
	loop .name
.name_end:
	xor al, al
	stosb
	mov rsi, [gfs_tx_slots + r10 * 8]
	add rsi, gitfs_ref.target
	mov ecx, HASH_SIZE
	rep movsb
	inc r10
	jmp .emit
.store:
	mov rcx, rdi
	sub rcx, r12
	mov rsi, r12
	mov dl, OBJ_TREE
	mov rdi, gfs_tx_tree
	call gitfs_tx_put
	pop rbx
	ret
.fail:
	pop rbx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tx_publish -- Writes the transaction: log records, then the index into the inactive
; region, then the inactive superblock copy (generation + 1); each flushed. Then remounts.
;  IN:  nothing
;  OUT: CF = 0 when the new state is on the disk and mounted
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
gitfs_tx_publish:
	mov rbx, [gfs_tx_sb]
	; (1) the log records
	mov rax, [gfs_tx_pos]
	mov rcx, [gfs_tx_base_lba]
	shl rcx, SECTOR_SHIFT
	sub rax, rcx
	jz .index
	add rax, SECTOR_SIZE - 1
	shr rax, SECTOR_SHIFT
	mov rcx, rax
	mov rax, [gfs_tx_base_lba]
	mov rsi, [gfs_tx_buf]
	call ata_write
	jc .io
.index:
	; (2) the index: fanout, header, CRC, into the other region
	mov rdi, [gfs_tx_idx]
	mov rcx, [gfs_tx_count]
	mov r8, [rbx + gitfs_sb.generation]
	inc r8
	mov dword [rdi + gitfs_idx.magic], IDX_MAGIC
	mov dword [rdi + gitfs_idx.version], GITFS_VERSION
	mov [rdi + gitfs_idx.count], ecx
	mov [rdi + gitfs_idx.generation], r8d
	; fanout[b] = entries with first byte <= b
	push rdi
	lea rdi, [rdi + IDX_FANOUT_OFFSET]
	mov ecx, 256
	xor eax, eax
	rep stosd
	pop rdi
	xor ecx, ecx
.count:
	cmp rcx, [gfs_tx_count]
	jae .prefix
	mov rax, rcx
	shl rax, IDX_ENTRY_SHIFT
	movzx eax, byte [rdi + IDX_ENTRIES_OFFSET + gitfs_idx_entry.hash + rax]   ; first hash byte
	inc dword [rdi + IDX_FANOUT_OFFSET + rax * 4]
	inc rcx
	jmp .count
.prefix:
	xor eax, eax
	xor ecx, ecx
.cumulate:
	add eax, [rdi + IDX_FANOUT_OFFSET + rcx * 4]
	mov [rdi + IDX_FANOUT_OFFSET + rcx * 4], eax
	inc ecx
	cmp ecx, 256
	jb .cumulate
	; bytes and sectors; it must fit the region
	mov rcx, [gfs_tx_count]
	shl rcx, IDX_ENTRY_SHIFT
	add rcx, IDX_ENTRIES_OFFSET
	mov r9, rcx                         ; index bytes
	; zero the tail of the last sector
	push rdi
	add rdi, rcx
	mov rcx, r9
	neg rcx
	and ecx, SECTOR_SIZE - 1
	xor eax, eax
	rep stosb
	pop rdi
	mov rax, r9
	add rax, SECTOR_SIZE - 1
	shr rax, SECTOR_SHIFT
	cmp eax, [rbx + gitfs_sb.index_sectors]
	ja .full
	mov r10, rax                        ; index sectors
	push rdi
	mov rsi, rdi
	mov rcx, r9
	xor eax, eax
	call crc32_buffer
	pop rdi
	mov r11d, eax                       ; index CRC
	; the inactive region
	mov rax, [rbx + gitfs_sb.index_b_lba]
	cmp dword [rbx + gitfs_sb.copy], 0
	je .region
	mov rax, [rbx + gitfs_sb.index_a_lba]
.region:
	mov rdx, rax
	mov rsi, rdi
	mov rcx, r10
	call ata_write
	jc .io
	; (3) the superblock copy
	mov [rbx + gitfs_sb.generation], r8
	mov rax, [gfs_tx_pos]
	mov [rbx + gitfs_sb.log_end], rax
	mov [rbx + gitfs_sb.index_lba], rdx
	mov rax, [gfs_tx_count]
	mov [rbx + gitfs_sb.index_count], eax
	mov [rbx + gitfs_sb.index_crc], r11d
	xor dword [rbx + gitfs_sb.copy], 1
	; updated_gen of the refs this transaction changed: compare with the mounted copy
	mov rsi, [gitfs_sb_ptr]
	xor ecx, ecx
.gen:
	mov rax, rcx
	imul rax, rax, REF_SLOT_SIZE
	add rax, SB_HDR_SIZE
	push rcx
	push rsi
	lea rdi, [rbx + rax + gitfs_ref.target]
	lea rsi, [rsi + rax + gitfs_ref.target]
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	pop rcx
	je .gen_next
	mov [rbx + rax + gitfs_ref.updated_gen], r8
.gen_next:
	inc ecx
	cmp ecx, REF_SLOTS
	jb .gen
	; checksum: CRC-32 of the copy with the field zero
	mov dword [rbx + gitfs_sb.checksum], 0
	mov rsi, rbx
	mov ecx, SB_BYTES
	xor eax, eax
	call crc32_buffer
	mov [rbx + gitfs_sb.checksum], eax
	mov rax, SB_A_LBA
	cmp dword [rbx + gitfs_sb.copy], 0
	je .sb
	mov rax, SB_B_LBA
.sb:
	mov rsi, rbx
	mov ecx, SB_SECTORS
	call ata_write
	jc .io
	; (4) remount from the disk (and so check what was written)
	call gitfs_mount
	ret
.full:
	mov byte [gitfs_error], GITFS_E_FULL
	stc
	ret
.io:
	mov byte [gitfs_error], GITFS_E_IO
	stc
	ret

; ---- data -------------------------------------------------------------------------------------
gfs_str_tree:            db "tree ", 0
gfs_str_parent:          db "parent ", 0
gfs_str_author:          db "author ", 0
gfs_str_committer:       db "committer ", 0
gfs_str_branch:          db "branch ", 0
gfs_str_branch_mainline: db "branch ", MAINLINE_REF, 10, 0
gfs_str_branch_boot_log: db "branch ", BOOT_LOG_REF, 10, 0
gfs_str_boot_name:       db BOOT_REF, 0
gfs_str_boot_good_name:  db BOOT_GOOD_REF, 0
gfs_str_boot_log_name:   db BOOT_LOG_REF, 0
gfs_str_ref:             db "ref ", 0
gfs_str_ref_old:         db "ref-old ", 0
gfs_str_ref_new:         db "ref-new ", 0
gfs_str_ident:           db "gittorrent <gittorrent@localhost> ", 0
gfs_str_tz:              db " +0000", 0
gfs_str_new:             db "(new)", 0
gfs_str_arrow:           db " -> ", 0
gfs_str_boot_state:      db "boot-state: ", 0
gfs_str_tries_left:      db " tries-left ", 0
gfs_str_gitlink_mode:    db "160000 ", 0
gfs_str_tree_mode:       db "40000 ", 0

section .bss
alignb 8
gitfs_tx_time:      resq 1              ; commit time (Unix seconds), set by the caller
gfs_tx_sb:          resq 1              ; the new superblock copy
gfs_tx_idx:         resq 1              ; the new index (old entries + new, sorted)
gfs_tx_count:       resq 1              ; entries in it
gfs_tx_new:         resq 1              ; new objects so far
gfs_tx_insert_at:   resq 1
gfs_tx_pos:         resq 1              ; absolute offset of the next record
gfs_tx_base_lba:    resq 1              ; sector the log buffer starts at
gfs_tx_buf:         resq 1
gfs_tx_cap:         resq 1
gfs_tx_slots:       resq REF_SLOTS
gfs_tx_old:         resb HASH_SIZE
gfs_tx_tree:        resb HASH_SIZE
gfs_tx_mainline:    resb HASH_SIZE
gfs_hex40:          resb HASH_HEX_LEN
gfs_tx_reason:      resq 1
gfs_tx_new_state:   resb 1
gfs_tx_new_tries:   resb 1
gfs_tx_local:       resb 1              ; 1: the update is node-local (logged to boot-log)
gfs_tx_replace:     resb 1              ; 1: gitfs_tx_put replaces a referral's entry
gfs_tx_demoting:    resb 1              ; 1: gitfs_tx_put_referral replaces a stored entry
section .text

%endif
