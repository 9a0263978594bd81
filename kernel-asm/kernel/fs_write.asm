; fs_write.asm -- the shell's write path: `put PATH SIZE` followed by SIZE raw bytes stores a
; blob, the new tree(s) and a commit on the branch, a mainline-log commit, and flips the
; superblock in the power-cut-safe order (lib/gitfs_write.asm). PATH is /BRANCH/path/in/it.
; Answers `EVENT put commit=<hex> blob=<hex> size=N rev=<mainline head>`.

PUT_MAX_BYTES       equ 0x1000000       ; 16 MiB per put

; cmd_put -- `put /BRANCH/PATH SIZE` + SIZE bytes (PATH may contain spaces; SIZE is the last word)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_put:
	call fs_begin
	jc .out
	cmp byte [rsi], '/'
	jne .usage
	inc rsi
	mov r12, rsi                        ; branch name
	xor ecx, ecx
.branch_len:
	mov al, [rsi + rcx]
	test al, al
	jz .usage
	cmp al, '@'
	je .usage                           ; history is read-only
	cmp al, '/'
	je .branch_end
	inc rcx
	jmp .branch_len
.branch_end:
	test rcx, rcx
	jz .usage
	mov r13, rcx                        ; branch name length
	lea r14, [rsi + rcx + 1]            ; path in the branch
	; SIZE is the last word: the path (which may hold spaces) runs up to the last space
	xor ecx, ecx
	xor edx, edx                        ; position of the last space + 1 (0: none)
.scan:
	mov al, [r14 + rcx]
	test al, al
	jz .scanned
	inc rcx
	cmp al, ' '
	jne .scan
	mov rdx, rcx
	jmp .scan
.scanned:
	test rdx, rdx
	jz .usage                           ; no size
	lea rsi, [r14 + rdx]                ; the size word
	lea rcx, [rdx - 1]
.trim:
	test rcx, rcx
	jz .usage
	cmp byte [r14 + rcx - 1], ' '
	jne .trimmed
	dec rcx
	jmp .trim
.trimmed:
	cmp byte [r14 + rcx - 1], '/'
	je .usage
	cmp rcx, FS_PATH_MAX
	ja .usage
	mov r15, rcx                        ; path length
	cmp byte [rsi], '0'
	jb .usage
	cmp byte [rsi], '9'
	ja .usage
	call parse_number
	cmp byte [rsi], 0
	jne .usage                          ; trailing junk after the size
	cmp rax, PUT_MAX_BYTES
	ja .too_big
	mov [fs_put_size], rax
	; the branch: copy its name (zero-terminated) for the commit header
	cmp r13, REF_NAME_MAX
	jae .no_branch
	mov rsi, r12
	mov rdi, fs_put_branch
	mov rcx, r13
	rep movsb
	mov byte [rdi], 0
	mov rsi, r14
	mov rdi, fs_put_path
	mov rcx, r15
	rep movsb
	mov byte [rdi], 0
	mov [fs_put_path_len], r15
	; the bytes come first: once SIZE is known they are always consumed, so a refused put
	; does not leave its payload to be read as commands
	mov rcx, [fs_put_size]
	add rcx, 16
	call gitfs_alloc
	jc .nomem
	mov [fs_put_data], rax
	mov rdi, rax
	mov rcx, [fs_put_size]
	call serial_read_exact
	jc .timeout
	mov rsi, r12
	mov rcx, r13
	call gitfs_ref_find
	jc .no_branch
	cmp byte [rdi + gitfs_ref.kind], REF_KIND_BRANCH
	jne .no_branch
	lea rsi, [rdi + gitfs_ref.target]
	call gitfs_is_zero20
	je .empty_branch
	mov rdi, fs_put_parent
	mov ecx, HASH_SIZE
	rep movsb
	; the transaction
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov rcx, [fs_put_size]
	shl rcx, 1                          ; the blob and the rewritten trees
	add rcx, 0x10000
	call gitfs_tx_begin
	jc fs_fail
	mov dl, OBJ_BLOB
	mov rsi, [fs_put_data]
	mov rcx, [fs_put_size]
	mov rdi, fs_put_blob
	call gitfs_tx_put
	jc fs_fail
	mov rsi, fs_put_parent
	call gitfs_commit_tree
	jc fs_fail
	mov rsi, gitfs_tmp_hash
	mov rdi, fs_tmp20
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, fs_tmp20
	mov rdi, fs_put_path
	mov rcx, [fs_put_path_len]
	mov r8, 0o100644
	mov r9, fs_put_blob
	mov rdx, fs_put_tree
	call gitfs_tx_tree_put
	jc fs_fail
	; message "put <path>"
	mov rdi, fs_put_message
	mov rsi, str_put_word
	call gitfs_put_str
	mov rsi, fs_put_path
	call gitfs_put_str
	mov byte [rdi], 0
	mov rsi, fs_put_tree
	mov rdx, fs_put_parent
	mov r8, fs_put_branch
	mov r9, fs_put_message
	mov rdi, fs_put_commit
	call gitfs_tx_commit_object
	jc fs_fail
	mov rsi, fs_put_branch
	mov rdx, fs_put_commit
	mov r8d, 0xFF                       ; boot state and tries: unchanged
	mov r9d, 0xFF
	xor r10d, r10d                      ; no reason line
	call gitfs_tx_set_ref
	jc fs_fail
	call gitfs_tx_publish
	jc fs_fail
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	; EVENT put commit=... blob=... size=N rev=...
	mov rsi, str_ev_put
	call event_begin
	mov rsi, str_key_commit
	call event_key
	mov rsi, fs_put_commit
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_key_blob
	call event_key
	mov rsi, fs_put_blob
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_key_size
	mov rax, [fs_put_size]
	call event_kv_dec
	mov rsi, str_key_rev
	call event_key
	mov rbx, [gitfs_sb_ptr]
	lea rsi, [rbx + SB_HDR_SIZE + gitfs_ref.target]
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	call event_end
	clc
.out:
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error
.too_big:
	mov rdx, str_too_big
	jmp shell_error
.no_branch:
	mov rdx, str_no_such_branch
	jmp shell_error
.empty_branch:
	mov rdx, str_empty_branch
	jmp shell_error
.timeout:
	mov rdx, str_input_timeout
	jmp shell_error
.nomem:
	; no room for the bytes: drain them, then refuse
	mov rcx, [fs_put_size]
.drain:
	test rcx, rcx
	jz .drained
	push rcx
	mov rdi, fs_tmp20
	mov ecx, 1
	call serial_read_exact
	pop rcx
	jc .timeout
	dec rcx
	jmp .drain
.drained:
	jmp fs_fail

str_put_word:       db "put ", 0
str_ev_put:         db "put", 0
str_key_commit:     db "commit", 0
str_key_blob:       db "blob", 0
str_no_such_branch: db "no-such-branch", 0
str_empty_branch:   db "empty-branch", 0

section .bss
alignb 8
fs_put_size:        resq 1
fs_put_data:        resq 1              ; the bytes, in the arena
fs_put_path_len:    resq 1
fs_put_parent:      resb HASH_SIZE      ; the branch head before the put
fs_put_blob:        resb HASH_SIZE
fs_put_tree:        resb HASH_SIZE
fs_put_commit:      resb HASH_SIZE
fs_put_branch:      resb REF_NAME_MAX + 8
fs_put_path:        resb FS_PATH_MAX + 8
fs_put_message:     resb FS_PATH_MAX + 16
section .text
