; fs.asm -- the kernel's GitFS: mounting at boot and the shell's filesystem commands.
;
; Paths: `/` lists every ref as a directory; `/BRANCH/...` is the branch head's tree;
; `/BRANCH@REV/...` is any commit (the time machine), where REV is `~N` (N first parents back
; from BRANCH), `NAME~N`, `NAME`, or a full or abbreviated (4+ hex digits) commit hash.
;
; Commands (output formats in docs/shell.md):
;   ls PATH      one line per entry: "<mode> <type> <hash|->\t<name>" (directories end in '/')
;   cat PATH     EVENT data size=N, then the N bytes of the file
;   stat PATH    "<mode> <type> <size|-> <hash|->"
;   sha1 PATH    the SHA-1 of the file's content, hashed in the kernel: "<40 hex>"
;   log REF [N]  "<commit>\t<subject>" from REF back along first parents (at most N, def. 20)
;   branches     "<name>\t<kind>\t<hash>\t<forked-from|->\t<boot state>"
;   rev          the filesystem revision (the mainline head): "<40 hex>"

FS_PATH_MAX         equ 1024
FS_LOG_DEFAULT      equ 20

; fs_resolve results (fs_kind)
FS_ROOT             equ 1               ; "/"
FS_ENTRY            equ 2               ; a tree entry: fs_mode, fs_hash
FS_DIR              equ 3               ; a directory: fs_hash = its tree (or, flat: the tree holding it)
FS_FLATDIR          equ 4               ; a flat-tree directory (no tree object of its own)

; ---------------------------------------------------------------------------------------------
; fs_init -- Sets up the object arena (above FS_ARENA_ADDR, up to the end of RAM) and mounts
; GitFS: the loader's superblock copy and index when it handed them over (re-checked), else
; from the disk. Prints `EVENT mount rev=<mainline head> objects=N generation=N copy=A|B
; from=loader|disk` or `EVENT error dev=gitfs op=mount reason=...`.
;  IN:  nothing
;  OUT: CF = 0 when mounted
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
fs_init:
	mov byte [fs_mounted], 0
	cmp byte [disk_ok], 0
	je .skip
	mov rax, FS_ARENA_ADDR
	mov rcx, [mem_top]
	call gitfs_heap_init
	; the loader's mount, handed over and re-checked; else from the disk
	mov rdx, str_from_disk
	mov rbx, [bootinfo_ptr]
	mov rsi, [rbx + bootinfo.gitfs_sb]
	mov rdi, [rbx + bootinfo.gitfs_idx]
	test rsi, rsi
	jz .from_disk
	test rdi, rdi
	jz .from_disk
	cmp rsi, FS_ARENA_ADDR              ; it must lie below our arena
	jae .from_disk
	call gitfs_adopt
	mov rdx, str_from_loader
	jnc .mounted
	mov rax, FS_ARENA_ADDR              ; discard the failed copy
	call gitfs_release
.from_disk:
	mov rdx, str_from_disk
	push rdx
	call gitfs_mount
	pop rdx
	jc .failed
.mounted:
	mov [fs_mount_from], rdx
	call gitfs_mark
	mov [fs_arena_base], rax
	mov byte [fs_mounted], 1
	mov rsi, str_ev_mount
	call event_begin
	mov rsi, str_key_rev
	call event_key
	mov rbx, [gitfs_sb_ptr]
	lea rsi, [rbx + SB_HDR_SIZE + gitfs_ref.target]   ; slot 0: mainline
	mov ecx, 20
	call serial_put_hexbytes
	mov rsi, str_key_objects
	mov eax, [rbx + gitfs_sb.index_count]
	call event_kv_dec
	mov rsi, str_key_generation
	mov rax, [rbx + gitfs_sb.generation]
	call event_kv_dec
	mov rsi, str_key_copy
	mov rdx, str_copy_a
	cmp dword [rbx + gitfs_sb.copy], 0
	je .copy
	mov rdx, str_copy_b
.copy:
	call event_kv_str
	mov rsi, str_key_from
	mov rdx, [fs_mount_from]
	call event_kv_str
	call event_end
	clc
	ret
.failed:
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_dev
	mov rdx, str_gitfs
	call event_kv_str
	mov rsi, str_key_op
	mov rdx, str_op_mount
	call event_kv_str
	call fs_print_reason
	call event_end
.skip:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; fs_print_reason -- Appends " reason=<gitfs error>" (and " object=<hash>" where one is
; concerned) to the event being written.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
fs_print_reason:
	push rax
	push rcx
	push rdx
	push rsi
	movzx eax, byte [gitfs_error]
	cmp eax, GFS_E_MAX
	jbe .known
	xor eax, eax
.known:
	mov rdx, [gitfs_reason_table + rax * 8]
	mov rsi, str_key_reason
	call event_kv_str
	cmp eax, GFS_E_HASH
	je .object
	cmp eax, GFS_E_CORRUPT
	je .object
	cmp eax, GFS_E_DELTA
	je .object
	cmp eax, GFS_E_REFERRAL
	jne .io
.object:
	mov rsi, str_key_object
	call event_key
	mov rsi, gitfs_error_hash
	mov ecx, 20
	call serial_put_hexbytes
.io:
	cmp eax, GFS_E_IO
	jne .done
	mov rsi, str_key_lba
	mov rax, [ata_error_lba]
	call event_kv_dec
.done:
	pop rsi
	pop rdx
	pop rcx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; fs_fail -- A filesystem command's failing return: `EVENT error cmd=NAME reason=<gitfs
; error> [object=...]`.
;  IN:  nothing (gitfs_error says why)
;  OUT: CF = 1
;  CLOBBERS: nothing
fs_fail:
	push rsi
	push rdx
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_cmd
	mov rdx, [shell_cmd_name]
	call event_kv_str
	call fs_print_reason
	call event_end
	pop rdx
	pop rsi
	stc
	ret

; ---------------------------------------------------------------------------------------------
; fs_begin -- Common start of a filesystem command: the disk must be mounted; frees what the
; previous command took from the arena.
;  IN:  nothing
;  OUT: CF = 1 (error already printed) when not mounted
;  CLOBBERS: RAX, RDX
fs_begin:
	cmp byte [fs_mounted], 0
	je .not_mounted
	mov rax, [fs_arena_base]
	call gitfs_release
	clc
	ret
.not_mounted:
	mov byte [gitfs_error], GFS_E_NOT_MOUNTED
	jmp fs_fail

; ---------------------------------------------------------------------------------------------
; fs_first_parent -- The first parent of a commit.
;  IN:  RSI = commit hash
;  OUT: CF = 0 and fs_hash = the parent; CF = 1 when it has none (GFS_E_NOT_FOUND) or on error
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R8-R11
fs_first_parent:
	call gitfs_read_object
	jc .out
	cmp dl, OBJ_COMMIT
	jne .corrupt
	; "tree <40>\n" is 46 bytes; then "parent <40>\n" if any
	cmp rcx, 46 + 48
	jb .none
	cmp dword [rax + 46], 'pare'
	jne .none
	cmp word [rax + 46 + 4], 'nt'
	jne .none
	lea rsi, [rax + 46 + 7]
	mov rdi, fs_hash
	call gitfs_parse_hex20
	jc .corrupt
	clc
.out:
	ret
.none:
	mov byte [gitfs_error], GFS_E_NOT_FOUND
	stc
	ret
.corrupt:
	mov byte [gitfs_error], GFS_E_CORRUPT
	stc
	ret

; ---------------------------------------------------------------------------------------------
; fs_find_prefix -- Finds the one object whose hash starts with the given hex digits.
;  IN:  RSI = hex digits, RCX = how many (4..40)
;  OUT: CF = 0 and fs_hash = the full hash; CF = 1 when none or ambiguous (GFS_E_NOT_FOUND)
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R8, R9
fs_find_prefix:
	mov r8, rcx
	; the prefix as bytes (odd digit count: the last nibble checked separately)
	mov rdi, fs_prefix
	push rsi
	xor eax, eax
	mov ecx, 20
	push rdi
	rep stosb
	pop rdi
	pop rsi
	xor r9d, r9d                        ; digit index
.digit:
	cmp r9, r8
	jae .parsed
	call gfs_hex_digit
	jc .absent
	test r9b, 1
	jnz .low
	shl al, 4
	mov rdx, r9
	shr rdx, 1
	mov [fs_prefix + rdx], al
	jmp .next
.low:
	mov rdx, r9
	shr rdx, 1
	or [fs_prefix + rdx], al
.next:
	inc r9
	jmp .digit
.parsed:
	; linear scan of the fanout bucket of the first byte
	mov rbx, [gitfs_idx_ptr]
	movzx eax, byte [fs_prefix]
	xor ecx, ecx
	test eax, eax
	jz .lo
	mov ecx, [rbx + IDX_FANOUT_OFFSET + rax * 4 - 4]
.lo:
	mov edx, [rbx + IDX_FANOUT_OFFSET + rax * 4]
	xor r9d, r9d                        ; matches
.scan:
	cmp rcx, rdx
	jae .done
	mov rdi, rcx
	shl rdi, 5
	lea rdi, [rbx + IDX_ENTRIES_OFFSET + rdi]
	call fs_prefix_match
	jc .skip
	inc r9
	push rcx
	push rsi
	mov rsi, rdi
	mov rdi, fs_hash
	mov ecx, 20
	rep movsb
	pop rsi
	pop rcx
.skip:
	inc rcx
	jmp .scan
.done:
	cmp r9, 1
	jne .absent
	clc
	ret
.absent:
	mov byte [gitfs_error], GFS_E_NOT_FOUND
	stc
	ret

; fs_prefix_match -- (internal) does the hash at RDI start with fs_prefix (R8 hex digits)?
;  OUT: CF = 0 on a match.  CLOBBERS: RAX
fs_prefix_match:
	push rcx
	push rdx
	xor ecx, ecx                        ; digit
.d:
	cmp rcx, r8
	jae .yes
	mov rdx, rcx
	shr rdx, 1
	mov al, [rdi + rdx]
	mov ah, [fs_prefix + rdx]
	test cl, 1
	jnz .lo_nibble
	shr al, 4
	shr ah, 4
	jmp .cmp
.lo_nibble:
	and al, 0x0F
	and ah, 0x0F
.cmp:
	cmp al, ah
	jne .no
	inc rcx
	jmp .d
.yes:
	pop rdx
	pop rcx
	clc
	ret
.no:
	pop rdx
	pop rcx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; fs_resolve_rev -- Resolves a revision to a commit hash.
;  IN:  RSI = text, RCX = length; RBX = the ref slot `~N` is relative to (0: none)
;  OUT: CF = 0 and fs_hash = the commit; CF = 1 on failure (gitfs_error)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R13
fs_resolve_rev:
	; split off "~N"
	xor r12d, r12d                      ; N
	mov r13, rcx                        ; length of the base part
	xor edx, edx
.find_tilde:
	cmp rdx, rcx
	jae .base
	cmp byte [rsi + rdx], '~'
	je .tilde
	inc rdx
	jmp .find_tilde
.tilde:
	mov r13, rdx
	lea rdi, [rsi + rdx + 1]
	mov rax, rcx
	sub rax, rdx
	dec rax                             ; digits after '~'
	jz .one                             ; "~" alone means ~1
	xor r12d, r12d
.n:
	movzx edx, byte [rdi]
	sub edx, '0'
	cmp edx, 9
	ja .absent
	imul r12, r12, 10
	add r12, rdx
	inc rdi
	dec rax
	jnz .n
	jmp .base
.one:
	mov r12d, 1
.base:
	test r13, r13
	jnz .named
	; "~N" alone: relative to the ref in RBX
	test rbx, rbx
	jz .absent
	lea rsi, [rbx + gitfs_ref.target]
	jmp .have_start
.named:
	push rsi
	mov rcx, r13
	call gitfs_ref_find
	pop rsi
	jc .hash
	lea rsi, [rdi + gitfs_ref.target]
	jmp .have_start
.hash:
	cmp r13, 4
	jb .absent
	cmp r13, 40
	ja .absent
	mov rcx, r13
	call fs_find_prefix
	jc .absent
	mov rsi, fs_hash
.have_start:
	cmp rsi, fs_hash
	je .walk
	mov rdi, fs_hash
	mov ecx, 20
	rep movsb
.walk:
	test r12, r12
	jz .ok
	mov rsi, fs_hash
	mov rdi, fs_tmp20
	mov ecx, 20
	rep movsb
	mov rsi, fs_tmp20
	call fs_first_parent
	jc .fail
	dec r12
	jmp .walk
.ok:
	clc
	ret
.absent:
	mov byte [gitfs_error], GFS_E_NOT_FOUND
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; fs_resolve -- Resolves a shell path (see the top of this file).
;  IN:  RSI = zero-terminated path
;  OUT: CF = 0 and fs_kind = FS_ROOT | FS_ENTRY (fs_mode, fs_hash) | FS_DIR (fs_hash = tree) |
;       FS_FLATDIR; fs_dir/fs_dir_len = the path inside the commit (no slashes at the ends),
;       fs_root_tree = the commit's tree; CF = 1 on failure (gitfs_error)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
fs_resolve:
	cmp byte [rsi], '/'
	jne fs_resolve_hash                 ; not a path: a bare object hash (fs_hash.asm)
.slashes:
	cmp byte [rsi], '/'
	jne .root_part
	inc rsi
	jmp .slashes
.root_part:
	cmp byte [rsi], 0
	jne .ref
	mov byte [fs_kind], FS_ROOT
	clc
	ret
.ref:
	; ref name up to '@', '/' or the end
	mov r14, rsi
	xor ecx, ecx
.ref_len:
	mov al, [rsi + rcx]
	test al, al
	jz .ref_end
	cmp al, '/'
	je .ref_end
	cmp al, '@'
	je .ref_end
	inc rcx
	jmp .ref_len
.ref_end:
	lea r15, [rsi + rcx]                ; after the ref name
	push rsi
	call gitfs_ref_find
	pop rsi
	jc .fail
	mov rbx, rdi                        ; the ref slot
	cmp byte [r15], '@'
	je .at_rev
	lea rsi, [rbx + gitfs_ref.target]
	mov rdi, fs_hash
	mov ecx, 20
	rep movsb
	jmp .commit
.at_rev:
	lea rsi, [r15 + 1]
	xor ecx, ecx
.rev_len:
	mov al, [rsi + rcx]
	test al, al
	jz .rev_end
	cmp al, '/'
	je .rev_end
	inc rcx
	jmp .rev_len
.rev_end:
	lea r15, [rsi + rcx]
	push r15
	call fs_resolve_rev
	pop r15
	jc .fail
.commit:
	; fs_hash = a commit: its tree
	mov rsi, fs_hash
	mov rdi, fs_tmp20
	mov ecx, 20
	rep movsb
	mov rsi, fs_tmp20
	call gitfs_commit_tree
	jc .fail
	mov rsi, gitfs_tmp_hash
	mov rdi, fs_root_tree
	mov ecx, 20
	rep movsb
	; the path inside the commit: strip slashes at both ends
	mov rsi, r15
.lead:
	cmp byte [rsi], '/'
	jne .lead_done
	inc rsi
	jmp .lead
.lead_done:
	mov [fs_dir], rsi
	xor ecx, ecx
.plen:
	cmp byte [rsi + rcx], 0
	je .plen_done
	inc rcx
	jmp .plen
.plen_done:
.trail:
	test rcx, rcx
	jz .at_root
	cmp byte [rsi + rcx - 1], '/'
	jne .have_path
	dec rcx
	jmp .trail
.at_root:
	mov qword [fs_dir_len], 0
	mov rsi, fs_root_tree
	mov rdi, fs_hash
	mov ecx, 20
	rep movsb
	mov byte [fs_kind], FS_DIR
	clc
	ret
.have_path:
	mov [fs_dir_len], rcx
	mov rdi, rsi
	mov rsi, fs_root_tree
	call gitfs_lookup_path
	jc .fail
	cmp al, GFS_LOOKUP_DIR
	je .flat
	mov [fs_mode], r8
	mov rsi, gitfs_tmp_hash
	mov rdi, fs_hash
	mov ecx, 20
	rep movsb
	mov byte [fs_kind], FS_ENTRY
	cmp qword [fs_mode], 0o40000
	jne .ok
	mov byte [fs_kind], FS_DIR
.ok:
	clc
	ret
.flat:
	mov byte [fs_kind], FS_FLATDIR
	clc
	ret
.absent:
	mov byte [gitfs_error], GFS_E_NOT_FOUND
.fail:
	stc
	ret

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
	mov ecx, 20
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
	mov ecx, 20
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
	cmp qword [fs_walk_depth], GFS_TREE_MAX_DEPTH
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
	sub rsp, 24                         ; keep the subtree hash: the buffer is the arena's
	mov rdi, rsp
	push rsi
	mov rsi, r11
	mov ecx, 20
	rep movsb
	pop rsi
	mov rsi, rsp
	lea rcx, [r12 + 1]
	call fs_ls_walk
	lea rsp, [rsp + 24]
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
	mov ecx, 20
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
	mov ecx, 20
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
	mov byte [gitfs_error], GFS_E_DEPTH
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
; fs_read_file -- Resolves a path to a file and reads its (verified) content.
;  IN:  RSI = path
;  OUT: CF = 0, RAX = content, RCX = size; CF = 1 on failure (gitfs_error; a directory gives
;       reason not-a-file)
;  CLOBBERS: RBX, RDX, RSI, RDI, R8-R15
fs_read_file:
	call fs_resolve
	jc .out
	cmp byte [fs_kind], FS_ENTRY
	jne .not_file
	cmp qword [fs_mode], 0o160000
	je .not_file
	mov rsi, fs_hash
	call gitfs_read_object
	jc .out
	cmp dl, OBJ_BLOB
	jne .corrupt
	clc
.out:
	ret
.not_file:
	mov byte [gitfs_error], GFS_E_NOT_FILE
	stc
	ret
.corrupt:
	mov byte [gitfs_error], GFS_E_CORRUPT
	stc
	ret

; cmd_cat -- `cat PATH`: EVENT data size=N, then the bytes
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
cmd_sha1:
	call fs_begin
	jc .out
	call fs_read_file
	jc fs_fail
	mov rsi, rax
	mov rdx, fs_tmp20
	call sha1_buffer
	mov rsi, fs_tmp20
	mov ecx, 20
	call serial_put_hexbytes
	mov al, 10
	call serial_putc
	clc
.out:
	ret

; cmd_stat -- `stat PATH`: "<mode> <type> <size|-> <hash|->"
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
	mov ecx, 20
	call serial_put_hexbytes
	mov al, 10
	call serial_putc
	clc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_object_size -- An object's size from its log record header (no content read).
;  IN:  RSI = hash
;  OUT: CF = 0 and RCX = size; CF = 1 on failure
;  CLOBBERS: RAX, RDX, RDI
gitfs_object_size:
	call gitfs_find
	jc .out
	mov rax, [rdi + gitfs_idx_entry.offset]
	push rax
	shr rax, 9
	mov ecx, 1
	mov rdi, gfs_sector
	call gfs_read
	pop rax
	jc .out
	and eax, SECTOR_SIZE - 1
	lea rdi, [gfs_sector + rax]
	cmp dword [rdi + gitfs_rec.magic], REC_MAGIC
	jne .corrupt
	mov rcx, [rdi + gitfs_rec.object_size]
	clc
.out:
	ret
.corrupt:
	mov byte [gitfs_error], GFS_E_CORRUPT
	call gfs_note_hash
	stc
	ret

; ---------------------------------------------------------------------------------------------
; cmd_log -- `log REF [N]`: "<commit>\t<subject>" along first parents
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
	mov ecx, 20
	rep movsb
	mov rsi, fs_tmp20
	call gitfs_read_object
	jc fs_fail
	cmp dl, OBJ_COMMIT
	jne .corrupt
	mov rbx, rax
	mov r12, rcx
	mov rsi, fs_tmp20
	mov ecx, 20
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
	cmp byte [gitfs_error], GFS_E_NOT_FOUND
	jne fs_fail                         ; a real error
.done:
	clc
.out:
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error
.corrupt:
	mov byte [gitfs_error], GFS_E_CORRUPT
	jmp fs_fail

; ---------------------------------------------------------------------------------------------
; cmd_branches -- `branches`: "<name>\t<kind>\t<hash>\t<forked-from|->\t<state>"
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
	mov rsi, [fs_kind_names + rax * 8]
	call serial_puts
	mov al, 9
	call serial_putc
	lea rsi, [rbx + gitfs_ref.target]
	mov ecx, 20
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
	mov rsi, [fs_state_names + rax * 8]
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
cmd_rev:
	call fs_begin
	jc .out
	mov rbx, [gitfs_sb_ptr]
	lea rsi, [rbx + SB_HDR_SIZE + gitfs_ref.target]
	mov ecx, 20
	call serial_put_hexbytes
	mov al, 10
	call serial_putc
	clc
.out:
	ret

align 8
fs_kind_names:      dq str_dash, str_k_mainline, str_k_branch, str_k_symbolic, str_k_boot
fs_state_names:     dq str_s_none, str_s_pending, str_s_good, str_s_bad
str_k_mainline:     db "mainline", 0
str_k_branch:       db "branch", 0
str_k_symbolic:     db "symbolic", 0
str_k_boot:         db "boot", 0
str_s_none:         db "none", 0
str_s_pending:      db "pending", 0
str_s_good:         db "good", 0
str_s_bad:          db "bad", 0
str_dash:           db "-", 0
str_dash_space:     db "- ", 0
str_blob:           db "blob", 0
str_tree:           db "tree", 0
str_commit:         db "commit", 0
str_ls_branch:      db "40000 branch ", 0
str_ls_dir_mode:    db "40000 tree ", 0
str_stat_flatdir:   db "40000 tree - -", 10, 0
str_ev_mount:       db "mount", 0
str_ev_data:        db "data", 0
str_key_rev:        db "rev", 0
str_key_objects:    db "objects", 0
str_key_generation: db "generation", 0
str_key_copy:       db "copy", 0
str_key_object:     db "object", 0
str_copy_a:         db "A", 0
str_key_from:       db "from", 0
str_from_loader:    db "loader", 0
str_from_disk:      db "disk", 0
str_copy_b:         db "B", 0
str_gitfs:          db "gitfs", 0
str_op_mount:       db "mount", 0
str_usage:          db "usage", 0

; ---------------------------------------------------------------------------------------------
; time_us_since -- Microseconds since a TSC value.
;  IN:  RBX = earlier TSC
;  OUT: RAX = microseconds
;  CLOBBERS: RCX, RDX
time_us_since:
	call rdtsc64
	sub rax, rbx
	mov rcx, 1000
	mul rcx
	mov rcx, [tsc_per_ms]
	div rcx
	ret

; cmd_readraw -- `readraw LBA COUNT`: reads sectors through the driver only (the benchmark's
; reference): EVENT readraw sectors=N us=T
cmd_readraw:
	call fs_begin
	jc .out
	call parse_number
	mov r12, rax                        ; LBA
	call parse_number
	mov r13, rax                        ; count
	test r13, r13
	jz .usage
	mov rcx, r13
	shl rcx, 9
	call gitfs_alloc
	jc fs_fail
	mov rdi, rax
	call rdtsc64
	mov rbx, rax
	mov rax, r12
	mov rcx, r13
	call disk_read
	jc .failed
	call time_us_since
	mov r14, rax
	mov rsi, str_ev_readraw
	call event_begin
	mov rsi, str_key_sectors
	mov rax, r13
	call event_kv_dec
	mov rsi, str_key_us
	mov rax, r14
	call event_kv_dec
	call event_end
	clc
.out:
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error
.failed:
	mov rdx, str_io_error
	jmp shell_error

; cmd_readfile -- `readfile PATH`: reads a file through GitFS with hash verification, timed:
; EVENT readfile bytes=N us=T lba=L (L: where its record starts, for the raw reference)
cmd_readfile:
	call fs_begin
	jc .out
	call rdtsc64
	mov [fs_bench_tsc], rax
	call fs_read_file
	jc fs_fail
	mov r12, rcx
	mov rbx, [fs_bench_tsc]
	call time_us_since
	mov r14, rax
	mov rsi, fs_hash
	call gitfs_find
	jc fs_fail
	mov r13, [rdi + gitfs_idx_entry.offset]
	shr r13, 9
	mov rsi, str_ev_readfile
	call event_begin
	mov rsi, str_key_bytes
	mov rax, r12
	call event_kv_dec
	mov rsi, str_key_us
	mov rax, r14
	call event_kv_dec
	mov rsi, str_key_lba
	mov rax, r13
	call event_kv_dec
	call event_end
	clc
.out:
	ret

str_ev_readraw:     db "readraw", 0
str_ev_readfile:    db "readfile", 0
str_key_us:         db "us", 0
str_key_bytes:      db "bytes", 0
str_io_error:       db "io-error", 0
