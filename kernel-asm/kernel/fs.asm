; fs.asm -- the kernel's GitFS: mounting at boot, and resolving the shell's paths and revisions
; for the filesystem commands (fs_cmds.asm, fs_bench.asm, fs_write.asm).
;
; Paths: `/` lists every ref as a directory; `/BRANCH/...` is the branch head's tree;
; `/BRANCH@REV/...` is any commit (the time machine), where REV is `~N` (N first parents back
; from BRANCH), `NAME~N`, `NAME`, or a full or abbreviated (4+ hex digits) commit hash.
;
; A filesystem command starts with fs_begin and fails through fs_fail.

FS_PATH_MAX         equ 1024
FS_TREE_LINE        equ 5 + HASH_HEX_LEN + 1    ; "tree <hex>\n", a commit's first line
FS_PARENT_LINE      equ 7 + HASH_HEX_LEN + 1    ; "parent <hex>\n"

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
	mov ecx, HASH_SIZE
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
	call gitfs_put_reason
	call event_end
.skip:
	stc
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
	call gitfs_put_reason
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
	mov byte [gitfs_error], GITFS_E_NOT_MOUNTED
	jmp fs_fail

; ---------------------------------------------------------------------------------------------
; fs_first_parent -- The first parent of a commit.
;  IN:  RSI = commit hash
;  OUT: CF = 0 and fs_hash = the parent; CF = 1 when it has none (GITFS_E_NOT_FOUND) or on error
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
fs_first_parent:
	call gitfs_read_object
	jc .out
	cmp dl, OBJ_COMMIT
	jne .corrupt
	; "tree <hex>\n", then "parent <hex>\n" if any
	cmp rcx, FS_TREE_LINE + FS_PARENT_LINE
	jb .none
	cmp dword [rax + FS_TREE_LINE], 'pare'
	jne .none
	cmp word [rax + FS_TREE_LINE + 4], 'nt'
	jne .none
	lea rsi, [rax + FS_TREE_LINE + 7]
	mov rdi, fs_hash
	call gitfs_parse_hex20
	jc .corrupt
	clc
.out:
	ret
.none:
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
	stc
	ret
.corrupt:
	mov byte [gitfs_error], GITFS_E_CORRUPT
	stc
	ret

; ---------------------------------------------------------------------------------------------
; fs_find_prefix -- Finds the one object whose hash starts with the given hex digits.
;  IN:  RSI = hex digits, RCX = how many (4..HASH_HEX_LEN)
;  OUT: CF = 0 and fs_hash = the full hash; CF = 1 when none or ambiguous (GITFS_E_NOT_FOUND)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
fs_find_prefix:
	mov r8, rcx
	; the prefix as bytes (odd digit count: the last nibble checked separately)
	mov rdi, fs_prefix
	push rsi
	xor eax, eax
	mov ecx, HASH_SIZE
	push rdi
	rep stosb
	pop rdi
	pop rsi
	xor r9d, r9d                        ; digit index
.digit:
	cmp r9, r8
	jae .parsed
	call gitfs_hex_digit
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
	shl rdi, IDX_ENTRY_SHIFT
	lea rdi, [rbx + IDX_ENTRIES_OFFSET + rdi]
	call fs_prefix_match
	jc .skip
	inc r9
	push rcx
	push rsi
	mov rsi, rdi
	mov rdi, fs_hash
	mov ecx, HASH_SIZE
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
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
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
	cmp r13, HASH_HEX_LEN
	ja .absent
	mov rcx, r13
	call fs_find_prefix
	jc .absent
	mov rsi, fs_hash
.have_start:
	cmp rsi, fs_hash
	je .walk
	mov rdi, fs_hash
	mov ecx, HASH_SIZE
	rep movsb
.walk:
	test r12, r12
	jz .ok
	mov rsi, fs_hash
	mov rdi, fs_tmp20
	mov ecx, HASH_SIZE
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
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
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
	mov ecx, HASH_SIZE
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
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, fs_tmp20
	call gitfs_commit_tree
	jc .fail
	mov rsi, gitfs_tmp_hash
	mov rdi, fs_root_tree
	mov ecx, HASH_SIZE
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
	mov ecx, HASH_SIZE
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
	cmp al, GITFS_LOOKUP_DIR
	je .flat
	mov [fs_mode], r8
	mov rsi, gitfs_tmp_hash
	mov rdi, fs_hash
	mov ecx, HASH_SIZE
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
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; fs_read_file -- Resolves a path to a file and reads its (verified) content; a file this node
; has only as a referral is fetched from a holder and verified (pol_read_remote: not kept).
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
	jnc .read
	cmp byte [gitfs_error], GITFS_E_REFERRAL
	jne .fail
	mov rsi, fs_hash
	call pol_read_remote                ; gtp_policy.asm: a transparent read
	jc .out
.read:
	cmp dl, OBJ_BLOB
	jne .corrupt
	clc
.out:
	ret
.fail:
	stc
	ret
.not_file:
	mov byte [gitfs_error], GITFS_E_NOT_FILE
	stc
	ret
.corrupt:
	mov byte [gitfs_error], GITFS_E_CORRUPT
	stc
	ret


str_ev_mount:       db "mount", 0
str_key_rev:        db "rev", 0
str_key_objects:    db "objects", 0
str_key_generation: db "generation", 0
str_key_copy:       db "copy", 0
str_copy_a:         db "A", 0
str_copy_b:         db "B", 0
str_key_from:       db "from", 0
str_from_loader:    db "loader", 0
str_from_disk:      db "disk", 0
str_gitfs:          db "gitfs", 0
str_op_mount:       db "mount", 0
str_usage:          db "usage", 0

section .bss
fs_mounted:         resb 1              ; 1 once GitFS is mounted
fs_kind:            resb 1              ; fs_resolve's result: FS_ROOT, FS_ENTRY, ...
alignb 8
fs_arena_base:      resq 1              ; the arena position a command starts from
fs_mount_from:      resq 1              ; "loader" or "disk"
fs_mode:            resq 1              ; FS_ENTRY: the entry's mode
fs_dir:             resq 1              ; the path inside the commit (not zero-terminated)
fs_dir_len:         resq 1
fs_hash:            resb HASH_SIZE      ; fs_resolve's and fs_resolve_rev's result
fs_tmp20:           resb HASH_SIZE
fs_root_tree:       resb HASH_SIZE      ; the resolved commit's tree
fs_prefix:          resb HASH_SIZE      ; fs_find_prefix's digits as bytes
section .text
