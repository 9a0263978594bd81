; fs_hash.asm -- bare object hashes as shell paths: `cat HASH`, `stat HASH`, `sha1 HASH` take a
; 40-hex object id (what `fetch` stores) as well as a /BRANCH/path.

; ---------------------------------------------------------------------------------------------
; fs_resolve_hash -- fs_resolve for a bare 40-hex hash: a stored blob is a file entry (mode
; 100644), a tree a directory; anything else, or a malformed hash, is not found / not a file.
;  IN:  RSI = the path argument (not starting with '/')
;  OUT: as fs_resolve: CF = 0 and fs_kind = FS_ENTRY (fs_mode, fs_hash) or FS_DIR (fs_hash);
;       CF = 1 with gitfs_error
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI
fs_resolve_hash:
	mov rdi, fs_hash
	call gitfs_parse_hex20
	jc .absent
	cmp byte [rsi], 0
	jne .absent
	mov [fs_dir], rsi                   ; the path inside: empty
	mov qword [fs_dir_len], 0
	mov rsi, fs_hash
	call gitfs_find
	jc .fail
	mov al, [rdi + gitfs_idx_entry.type]
	cmp al, OBJ_BLOB
	je .blob
	cmp al, OBJ_TREE
	jne .not_file
	mov byte [fs_kind], FS_DIR
	clc
	ret
.blob:
	mov qword [fs_mode], 0o100644
	mov byte [fs_kind], FS_ENTRY
	clc
	ret
.not_file:
	mov byte [gitfs_error], GITFS_E_NOT_FILE
	stc
	ret
.absent:
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
.fail:
	stc
	ret
