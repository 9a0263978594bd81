; fs_cmds.asm -- the shell's read-only filesystem commands (output formats in docs/shell.md):
;   ls PATH      one line per entry: "<mode> <type> <hash|->\t<name>" (directories end in '/')
;   cat PATH     EVENT data size=N, then the N bytes of the file
;   stat PATH    "<mode> <type> <size|-> <hash|->"
;   sha1 PATH    the SHA-1 of the file's content, hashed in the kernel: "<40 hex>"
;   log REF [N]  "<commit>\t<subject>" from REF back along first parents (at most N, def. 20)
;   branches     "<name>\t<kind>\t<hash>\t<forked-from|->\t<boot state>"
;   rev          the filesystem revision (the mainline head): "<40 hex>"
; Paths and revisions are resolved by fs.asm. Each command follows the shell's handler
; contract (shell.asm): IN: RSI = arguments; OUT: CF; CLOBBERS: anything but RSP/RBP.

FS_LOG_DEFAULT      equ 20
FS_HASH_SLOT        equ (HASH_SIZE + 7) & ~7  ; a hash kept on the stack

; ---------------------------------------------------------------------------------------------
; fs_put_mode -- Writes a mode the way git writes it in a tree ("100644", "40000").
;  IN:  RAX = mode
;  OUT: nothing
;  CLOBBERS: nothing
fs_put_mode:
	push rax
	push rcx
	push rdx
	mov rdx, rax
	mov ecx, 21                         ; 7 octal digits, highest first
	xor eax, eax
	push rbx
	xor ebx, ebx                        ; seen a non-zero digit
.digit:
	sub ecx, 3
	mov rax, rdx
	shr rax, cl
	and eax, 7
	jnz .print
	test ebx, ebx
	jnz .print
	test ecx, ecx
	jnz .next
.print:
	mov ebx, 1
	add al, '0'
	call serial_putc
.next:
	test ecx, ecx
	jnz .digit
	pop rbx
	pop rdx
	pop rcx
	pop rax
	ret

; fs_type_of_mode -- RAX = mode -> RSI = "blob" | "tree" | "commit".  CLOBBERS: nothing
fs_type_of_mode:
	mov rsi, str_blob
	cmp rax, 0o40000
	jne .not_tree
	mov rsi, str_tree
.not_tree:
	cmp rax, 0o160000
	jne .out
	mov rsi, str_commit
.out:
	ret

; ---------------------------------------------------------------------------------------------
; cmd_ls -- `ls PATH` (see the top of this file).
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_ls:
	call fs_begin
	jc .out
	call fs_resolve
	jc fs_fail
	cmp byte [fs_kind], FS_ROOT
	je .refs
	cmp byte [fs_kind], FS_ENTRY
	je .single
	; a directory: walk from the commit's root tree, print the direct children of fs_dir
	mov byte [fs_last_dir_len], 0
	mov qword [fs_walk_depth], 0
	mov rsi, fs_root_tree
	mov rdi, fs_walk_path
	xor ecx, ecx                        ; prefix length
	call fs_ls_walk
	jc fs_fail
	clc
.out:
	ret
.single:
	mov rax, [fs_mode]
	call fs_put_mode
	mov al, ' '
	call serial_putc
	mov rax, [fs_mode]
	call fs_type_of_mode
	call serial_puts
	mov al, ' '
	call serial_putc
	mov rsi, fs_hash
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov al, 9
	call serial_putc
	mov rsi, [fs_dir]
	mov rcx, [fs_dir_len]
	call fs_put_bytes
	mov al, 10
	call serial_putc
	clc
	ret
.refs:
	; "/": every ref with a target, as a directory
	mov rbx, [gitfs_sb_ptr]
	add rbx, SB_HDR_SIZE
	xor r12d, r12d
.ref:
	cmp byte [rbx + gitfs_ref.kind], REF_KIND_FREE
	je .next_ref
	lea rsi, [rbx + gitfs_ref.target]
	call gitfs_is_zero20
	je .next_ref
	mov rsi, str_ls_branch
	call serial_puts
	lea rsi, [rbx + gitfs_ref.target]
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov al, 9
	call serial_putc
	mov rsi, rbx
	call fs_put_refname
	mov al, '/'
	call serial_putc
	mov al, 10
	call serial_putc
.next_ref:
	add rbx, REF_SLOT_SIZE
	inc r12d
	cmp r12d, REF_SLOTS
	jb .ref
	clc
	ret

; fs_put_refname -- writes the zero-padded ref name at RSI (at most REF_NAME_MAX bytes).
;  CLOBBERS: nothing
fs_put_refname:
	push rax
	push rcx
	push rsi
	mov ecx, REF_NAME_MAX
.c:
	lodsb
	test al, al
	jz .done
	call serial_putc
	loop .c
.done:
	pop rsi
	pop rcx
	pop rax
	ret

; fs_put_bytes -- writes RCX bytes at RSI.  CLOBBERS: nothing
fs_put_bytes:
	push rax
	push rcx
	push rsi
	test rcx, rcx
	jz .done
.c:
	lodsb
	call serial_putc
	loop .c
.done:
	pop rsi
	pop rcx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; fs_ls_walk -- Walks a tree whose entries live under the prefix fs_walk_path[0..RCX), and
; prints the direct children of fs_dir (fs_dir_len bytes), each directory once.
;  IN:  RSI = tree hash, RCX = prefix length (the prefix is already in fs_walk_path)
;  OUT: CF = 1 on a read error
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
fs_ls_walk:
	inc qword [fs_walk_depth]
	cmp qword [fs_walk_depth], GITFS_TREE_MAX_DEPTH
	ja .too_deep
	push rcx                            ; [rsp]: prefix length
	call gitfs_read_tree
	jc .fail
	mov rsi, rax
	lea rdx, [rax + rcx]
.entry:
	call gitfs_tree_next
	jc .end
	; full path = prefix + name, into fs_walk_path
	mov rbx, [rsp]
	lea rax, [rbx + r10]
	cmp rax, FS_PATH_MAX
	ja .entry                           ; too long to show: skip
	push rsi
	push rcx
	mov rsi, r9
	lea rdi, [fs_walk_path + rbx]
	mov rcx, r10
	rep movsb
	pop rcx
	pop rsi
	lea r12, [rbx + r10]                ; full path length
	; relation to fs_dir (D, length L)
	mov r13, [fs_dir_len]
	test r13, r13
	jz .under                           ; D = "": everything is under it
	cmp r12, r13
	jb .maybe_above
	ja .maybe_under
	; same length: F == D? (a split directory itself: descend)
	call fs_walk_eq_dir
	jne .entry
	cmp r8, 0o40000
	jne .entry
	jmp .descend
.maybe_under:
	; F = D + "/" + rest ?
	cmp byte [fs_walk_path + r13], '/'
	jne .entry
	call fs_walk_eq_dir
	jne .entry
	lea r13, [r13 + 1]                  ; rest starts after "D/"
	jmp .child
.maybe_above:
	; D = F + "/" + ... and F a subtree: descend
	cmp r8, 0o40000
	jne .entry
	mov rax, [fs_dir]
	cmp byte [rax + r12], '/'
	jne .entry
	push rsi
	push rcx
	mov rsi, fs_walk_path
	mov rdi, rax
	mov rcx, r12
	repe cmpsb
	pop rcx
	pop rsi
	jne .entry
.descend:
	; recurse with prefix F + "/"
	cmp r12, FS_PATH_MAX - 1
	jae .entry
	mov byte [fs_walk_path + r12], '/'
	push rsi
	push rdx
	sub rsp, FS_HASH_SLOT                ; keep the subtree hash: the buffer is the arena's
	mov rdi, rsp
	push rsi
	mov rsi, r11
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	mov rsi, rsp
	lea rcx, [r12 + 1]
	call fs_ls_walk
	lea rsp, [rsp + FS_HASH_SLOT]
	pop rdx
	pop rsi
	jc .fail
	jmp .entry
.under:
	xor r13d, r13d                      ; rest starts at 0
.child:
	; rest = fs_walk_path[r13 .. r12): a '/' in it makes it a deeper path
	mov rcx, r13
.scan:
	cmp rcx, r12
	jae .direct
	cmp byte [fs_walk_path + rcx], '/'
	je .deeper
	inc rcx
	jmp .scan
.direct:
	cmp r8, 0o40000
	je .subdir                          ; a split subdirectory: "<hash>" of its tree
	; a file (or gitlink): "<mode> <type> <hash>\t<rest>"
	mov rax, r8
	call fs_put_mode
	mov al, ' '
	call serial_putc
	push rsi
	mov rax, r8
	call fs_type_of_mode
	call serial_puts
	mov al, ' '
	call serial_putc
	mov rsi, r11
	push rcx
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	pop rcx
	mov al, 9
	call serial_putc
	lea rsi, [fs_walk_path + r13]
	mov rcx, r12
	sub rcx, r13
	call fs_put_bytes
	pop rsi
	mov al, 10
	call serial_putc
	jmp .entry
.subdir:
	mov rcx, r12                        ; the whole rest is the directory name
	mov r14, r11                        ; its tree hash
	jmp .print_dir
.deeper:
	xor r14d, r14d                      ; a flat directory: no tree of its own
.print_dir:
	; directory name = fs_walk_path[r13 .. rcx); print once
	mov rax, rcx
	sub rax, r13                        ; name length
	cmp rax, [fs_last_dir_len]
	jne .new_dir
	push rsi
	push rcx
	lea rsi, [fs_walk_path + r13]
	mov rdi, fs_last_dir
	mov rcx, rax
	repe cmpsb
	pop rcx
	pop rsi
	je .entry                           ; already printed
.new_dir:
	cmp rax, FS_PATH_MAX
	ja .entry
	mov [fs_last_dir_len], rax
	push rsi
	push rcx
	lea rsi, [fs_walk_path + r13]
	mov rdi, fs_last_dir
	mov rcx, rax
	rep movsb
	pop rcx
	pop rsi
	push rsi
	mov rsi, str_ls_dir_mode
	call serial_puts
	test r14, r14
	jz .flat_hash
	push rcx
	mov rsi, r14
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	pop rcx
	jmp .dir_name
.flat_hash:
	mov al, '-'
	call serial_putc
.dir_name:
	mov al, 9
	call serial_putc
	lea rsi, [fs_walk_path + r13]
	sub rcx, r13
	call fs_put_bytes
	mov al, '/'
	call serial_putc
	mov al, 10
	call serial_putc
	pop rsi
	jmp .entry
.end:
	add rsp, 8
	dec qword [fs_walk_depth]
	test al, al
	jnz .bad                            ; malformed tree
	clc
	ret
.too_deep:
	mov byte [gitfs_error], GITFS_E_DEPTH
	dec qword [fs_walk_depth]
	stc
	ret
.fail:
	add rsp, 8
	dec qword [fs_walk_depth]
.bad:
	stc
	ret

; fs_walk_eq_dir -- (internal) ZF = 1 when fs_walk_path starts with fs_dir (fs_dir_len bytes).
;  CLOBBERS: RAX
fs_walk_eq_dir:
	push rsi
	push rdi
	push rcx
	mov rsi, fs_walk_path
	mov rdi, [fs_dir]
	mov rcx, [fs_dir_len]
	repe cmpsb
	pop rcx
	pop rdi
	pop rsi
	ret

; ---------------------------------------------------------------------------------------------
; fs_referral_size -- The size of an object this node has only as a referral whose record
; leaves it unknown (0: sync records the blobs a tree names, and trees give no sizes): one
; WHO_HAS round on the group, the first I_HAVE's size. An object stored here (an empty blob)
; keeps its 0.
;  IN:  fs_hash
;  OUT: RCX = the size (0: stored empty, or no holder answered, or no network)
;  CLOBBERS: RAX, RBX, RDX, RSI, RDI, R8-R15
fs_referral_size:
	xor ecx, ecx
	cmp byte [net_up], 0
	je .out
	mov rsi, fs_hash
	call gitfs_find
	jc .none
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	jne .none
	mov rsi, fs_hash
	mov rdi, gtp_q_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov byte [gtp_q_settle], 1          ; the round ends soon after the first answer
	call gtp_query
	xor ecx, ecx
	cmp dword [gtp_q_count], 0
	je .out
	mov rcx, [gtp_q_answers + 8]        ; (node, ip, size, type, delay)
.out:
	ret
.none:
	xor ecx, ecx
	ret

; ---------------------------------------------------------------------------------------------
; cmd_cat -- `cat PATH`: EVENT data size=N, then the bytes
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_cat:
	call fs_begin
	jc .out
	call fs_read_file
	jc fs_fail
	mov rbx, rax
	mov r12, rcx
	mov rsi, str_ev_data
	call event_begin
	mov rsi, str_key_size
	mov rax, r12
	call event_kv_dec
	call event_end
	mov rsi, rbx
	mov rcx, r12
	call fs_put_bytes
	clc
.out:
	ret

; cmd_sha1 -- `sha1 PATH`: SHA-1 of the file's content, computed here
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_sha1:
	call fs_begin
	jc .out
	call fs_read_file
	jc fs_fail
	mov rsi, rax
	mov rdx, fs_tmp20
	call sha1_buffer
	mov rsi, fs_tmp20
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov al, 10
	call serial_putc
	clc
.out:
	ret

; cmd_stat -- `stat PATH`: "<mode> <type> <size|-> <hash|->" (a referral of unknown size: the
; size a holder gives, fs_referral_size)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_stat:
	call fs_begin
	jc .out
	call fs_resolve
	jc fs_fail
	cmp byte [fs_kind], FS_ENTRY
	je .entry
	cmp byte [fs_kind], FS_DIR
	je .dir
	; root or a flat directory: no object of its own
	mov rsi, str_stat_flatdir
	call serial_puts
	clc
	ret
.dir:
	mov rsi, str_ls_dir_mode
	call serial_puts
	mov rsi, str_dash_space
	call serial_puts
	jmp .hash
.entry:
	mov rax, [fs_mode]
	call fs_put_mode
	mov al, ' '
	call serial_putc
	mov rax, [fs_mode]
	call fs_type_of_mode
	call serial_puts
	mov al, ' '
	call serial_putc
	cmp qword [fs_mode], 0o160000
	je .gitlink
	mov rsi, fs_hash
	call gitfs_object_size
	jc fs_fail
	test rcx, rcx
	jnz .sized
	call fs_referral_size               ; a referral sync made: its size from a holder
.sized:
	mov rax, rcx
	call serial_put_dec
	mov al, ' '
	call serial_putc
	jmp .hash
.gitlink:
	mov rsi, str_dash_space
	call serial_puts
.hash:
	mov rsi, fs_hash
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov al, 10
	call serial_putc
	clc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; cmd_log -- `log REF [N]`: "<commit>\t<subject>" along first parents
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_log:
	call fs_begin
	jc .out
	; the ref (or revision) is the first word
	mov r14, rsi
	xor ecx, ecx
.len:
	mov al, [rsi + rcx]
	test al, al
	jz .len_done
	cmp al, ' '
	je .len_done
	inc rcx
	jmp .len
.len_done:
	test rcx, rcx
	jz .usage
	lea rsi, [r14 + rcx]
	push rcx
	call parse_number
	pop rcx
	test rax, rax
	jnz .limit
	mov eax, FS_LOG_DEFAULT
.limit:
	mov [fs_log_left], rax
	mov rsi, r14
	xor ebx, ebx
	call fs_resolve_rev
	jc fs_fail
.commit:
	mov rsi, fs_hash
	mov rdi, fs_tmp20
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, fs_tmp20
	call gitfs_read_object
	jc fs_fail
	cmp dl, OBJ_COMMIT
	jne .corrupt
	mov rbx, rax
	mov r12, rcx
	mov rsi, fs_tmp20
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov al, 9
	call serial_putc
	; subject: the first line after the blank line that ends the headers
	xor ecx, ecx
.hdr:
	lea rax, [rcx + 1]
	cmp rax, r12
	jae .no_subject
	cmp byte [rbx + rcx], 10
	jne .hdr_next
	cmp byte [rbx + rcx + 1], 10
	je .subject
.hdr_next:
	inc rcx
	jmp .hdr
.subject:
	lea rsi, [rbx + rcx + 2]
	lea rdx, [rbx + r12]
.subj_char:
	cmp rsi, rdx
	jae .no_subject
	lodsb
	cmp al, 10
	je .no_subject
	call serial_putc
	jmp .subj_char
.no_subject:
	mov al, 10
	call serial_putc
	dec qword [fs_log_left]
	jz .done
	mov rsi, fs_tmp20
	call fs_first_parent
	jnc .commit
	cmp byte [gitfs_error], GITFS_E_NOT_FOUND
	jne fs_fail                         ; a real error
.done:
	clc
.out:
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error
.corrupt:
	mov byte [gitfs_error], GITFS_E_CORRUPT
	jmp fs_fail

; ---------------------------------------------------------------------------------------------
; cmd_branches -- `branches`: "<name>\t<kind>\t<hash>\t<forked-from|->\t<state>"
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_branches:
	call fs_begin
	jc .out
	mov rbx, [gitfs_sb_ptr]
	add rbx, SB_HDR_SIZE
	xor r12d, r12d
.slot:
	movzx eax, byte [rbx + gitfs_ref.kind]
	test eax, eax
	jz .next
	cmp eax, REF_KIND_BOOT
	ja .next
	mov rsi, rbx
	call fs_put_refname
	mov al, 9
	call serial_putc
	movzx eax, byte [rbx + gitfs_ref.kind]
	mov rsi, [gitfs_kind_names + rax * 8]
	call serial_puts
	mov al, 9
	call serial_putc
	lea rsi, [rbx + gitfs_ref.target]
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov al, 9
	call serial_putc
	movzx eax, word [rbx + gitfs_ref.forked_from]
	cmp eax, REF_SLOTS
	jae .no_fork
	imul eax, eax, REF_SLOT_SIZE
	mov rsi, [gitfs_sb_ptr]
	lea rsi, [rsi + SB_HDR_SIZE + rax]
	call fs_put_refname
	jmp .state
.no_fork:
	mov al, '-'
	call serial_putc
.state:
	mov al, 9
	call serial_putc
	movzx eax, byte [rbx + gitfs_ref.state]
	cmp eax, BOOT_STATE_BAD
	jbe .st
	xor eax, eax
.st:
	mov rsi, [gitfs_state_names + rax * 8]
	call serial_puts
	mov al, 10
	call serial_putc
.next:
	add rbx, REF_SLOT_SIZE
	inc r12d
	cmp r12d, REF_SLOTS
	jb .slot
	clc
.out:
	ret

; cmd_rev -- `rev`: the filesystem revision (mainline head)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_rev:
	call fs_begin
	jc .out
	mov rbx, [gitfs_sb_ptr]
	lea rsi, [rbx + SB_HDR_SIZE + gitfs_ref.target]
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov al, 10
	call serial_putc
	clc
.out:
	ret

str_dash_space:     db "- ", 0
str_blob:           db "blob", 0
str_tree:           db "tree", 0
str_commit:         db "commit", 0
str_ls_branch:      db "40000 branch ", 0
str_ls_dir_mode:    db "40000 tree ", 0
str_stat_flatdir:   db "40000 tree - -", 10, 0
str_ev_data:        db "data", 0

section .bss
alignb 8
fs_last_dir_len:    resq 1              ; ls: the directory printed last (each is printed once)
fs_walk_depth:      resq 1              ; ls: tree nesting
fs_log_left:        resq 1              ; log: commits still to print
fs_walk_path:       resb FS_PATH_MAX + 8
fs_last_dir:        resb FS_PATH_MAX + 8
section .text
