; gitfs.asm -- GitFS reader, shared by stage 2 and the kernel (docs/gitfs-format.md).
; Chooses the valid superblock copy with the highest generation, loads and checks its index,
; finds objects by binary search, reads them from the object log, applies git deltas and
; verifies every object's SHA-1, and resolves paths through flat and split trees.
;
; Needs: ata.asm (ata_read), sha1.asm, crc32.asm, and a memory arena set up with
; gitfs_heap_init. Prints nothing: failures return CF = 1 with the reason in gitfs_error
; (GITFS_E_*) and, where an object is concerned, its hash in gitfs_error_hash.
; Names: gitfs_ / GITFS_ are the public API (used by stage 2 and the kernel), gfs_ / GFS_ are
; internal to lib/ (test/unit/asm-names.test.ts). Public routines: gitfs_heap_init, gitfs_alloc,
; gitfs_mark, gitfs_release, gitfs_compact, gitfs_mount, gitfs_adopt, gitfs_find,
; gitfs_read_object, gitfs_read_tree, gitfs_object_size, gitfs_commit_tree, gitfs_lookup_path,
; gitfs_ref_find, gitfs_tree_next, gitfs_hash_object, gitfs_delta_apply, gitfs_parse_hex20,
; gitfs_hex_digit, gitfs_is_zero20; state: gitfs_sb_ptr, gitfs_idx_ptr, gitfs_error,
; gitfs_error_hash, gitfs_tmp_hash.

%ifndef GITFS_ASM
%define GITFS_ASM

; gitfs_error codes (gitfs_report.asm has their names)
GITFS_OK            equ 0
GITFS_E_IO          equ 1               ; the disk failed (ata_error tells why)
GITFS_E_NO_SB       equ 2               ; no usable superblock copy
GITFS_E_NOT_FOUND   equ 3               ; no such object / path / ref
GITFS_E_CORRUPT     equ 4               ; a record or index entry does not check out
GITFS_E_HASH        equ 5               ; an object's content does not match its hash
GITFS_E_DELTA       equ 6               ; a malformed delta
GITFS_E_DEPTH       equ 7               ; delta chain or tree nesting too deep
GITFS_E_NOMEM       equ 8               ; the arena is exhausted
GITFS_E_REFERRAL    equ 9               ; the object is only a referral: held elsewhere
GITFS_E_TREE        equ 10              ; a malformed tree
GITFS_E_NOT_MOUNTED equ 11
GITFS_E_NOT_FILE    equ 12              ; a path names a directory, not a file
                                        ; (13 full, 14 conflict: gitfs_write.asm)

GITFS_TREE_MAX_DEPTH equ 64              ; tree nesting a path lookup follows

; Result of gitfs_lookup_path (in AL)
GITFS_LOOKUP_ENTRY  equ 1               ; an entry of that name (file, subtree, gitlink)
GITFS_LOOKUP_DIR    equ 2               ; a directory that exists only as a prefix in a flat tree

; ---------------------------------------------------------------------------------------------
; gitfs_heap_init -- Sets the arena objects are read into.
;  IN:  RAX = first byte, RCX = first byte past the end
;  OUT: nothing
;  CLOBBERS: nothing
gitfs_heap_init:
	mov [gfs_heap_ptr], rax
	mov [gfs_heap_end], rcx
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_alloc -- Takes RCX bytes (16-byte aligned) from the arena.
;  IN:  RCX = bytes
;  OUT: CF = 0 and RAX = address; CF = 1 (GITFS_E_NOMEM) when the arena is exhausted
;  CLOBBERS: nothing
gitfs_alloc:
	push rdx
	mov rax, [gfs_heap_ptr]
	mov rdx, rcx
	add rdx, 15
	and rdx, ~15
	add rdx, rax
	jc .nomem
	cmp rdx, [gfs_heap_end]
	ja .nomem
	mov [gfs_heap_ptr], rdx
	pop rdx
	clc
	ret
.nomem:
	mov byte [gitfs_error], GITFS_E_NOMEM
	pop rdx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_mark / gitfs_release -- Save and restore the arena position (frees everything taken
; since the mark; the mounted superblock and index were taken before and stay).
;  IN:  gitfs_release: RAX = a value returned by gitfs_mark
;  OUT: gitfs_mark: RAX = the position
;  CLOBBERS: nothing
gitfs_mark:
	mov rax, [gfs_heap_ptr]
	ret
gitfs_release:
	mov [gfs_heap_ptr], rax
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_is_zero20 -- Is a hash all zero (an empty ref)?
;  IN:  RSI = 20 bytes
;  OUT: ZF = 1 when they are all zero
;  CLOBBERS: nothing (but the flags)
gitfs_is_zero20:
	push rax
	push rdx
	mov rax, [rsi]
	or rax, [rsi + 8]
	mov edx, [rsi + 16]
	or rax, rdx
	pop rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_compact -- Moves the mounted superblock copy and index down to the start of the arena
; and frees everything above them (after a remount, so repeated writes do not eat the arena).
;  IN:  RAX = arena start (below every live buffer)
;  OUT: the arena continues right after the moved index
;  CLOBBERS: RAX, RCX, RSI, RDI
gitfs_compact:
	mov rdi, rax
	mov rsi, [gitfs_sb_ptr]
	mov [gitfs_sb_ptr], rdi
	mov ecx, SB_BYTES
	rep movsb                           ; forward copy: the destination is below the source
	mov rsi, [gitfs_idx_ptr]
	mov [gitfs_idx_ptr], rdi
	mov rax, [gitfs_sb_ptr]
	mov ecx, [rax + gitfs_sb.index_count]
	shl rcx, IDX_ENTRY_SHIFT
	add rcx, IDX_ENTRIES_OFFSET
	rep movsb
	add rdi, 15
	and rdi, ~15
	mov [gfs_heap_ptr], rdi
	ret

; ---------------------------------------------------------------------------------------------
; gfs_read -- (internal) reads sectors; a disk error becomes GITFS_E_IO.
;  IN:  RAX = LBA, RCX = sectors, RDI = buffer
;  OUT: CF = 1 on error
;  CLOBBERS: nothing
gfs_read:
	call ata_read
	jnc .ok
	mov byte [gitfs_error], GITFS_E_IO
	stc
.ok:
	ret

; ---------------------------------------------------------------------------------------------
; gfs_sb_valid -- (internal) checks one superblock copy: magic, version, size and checksum.
;  IN:  RBX = the 32 KiB copy
;  OUT: CF = 0 when valid
;  CLOBBERS: RAX, RCX, RSI
gfs_sb_valid:
	cmp dword [rbx + gitfs_sb.magic], SB_MAGIC_LO
	jne .bad
	cmp dword [rbx + gitfs_sb.magic + 4], SB_MAGIC_HI
	jne .bad
	cmp dword [rbx + gitfs_sb.version], GITFS_VERSION
	jne .bad
	cmp dword [rbx + gitfs_sb.sb_bytes], SB_BYTES
	jne .bad
	; CRC-32 of the copy with the checksum field taken as zero
	xor eax, eax
	mov rsi, rbx
	mov ecx, gitfs_sb.checksum
	call crc32_buffer
	mov rsi, gfs_zero4
	mov ecx, 4
	call crc32_buffer
	lea rsi, [rbx + gitfs_sb.checksum + 4]
	mov ecx, SB_BYTES - gitfs_sb.checksum - 4
	call crc32_buffer
	cmp eax, [rbx + gitfs_sb.checksum]
	jne .bad
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gfs_load_index -- (internal) reads and checks the index region a superblock copy names.
;  IN:  RBX = superblock copy
;  OUT: CF = 0 and RAX = the index in memory; CF = 1 when unreadable or inconsistent
;  CLOBBERS: RCX, RDX, RSI, RDI
gfs_load_index:
	mov eax, [rbx + gitfs_sb.index_count]
	shl rax, IDX_ENTRY_SHIFT
	add rax, IDX_ENTRIES_OFFSET         ; bytes
	mov rdx, rax
	add rax, SECTOR_SIZE - 1
	shr rax, SECTOR_SHIFT                          ; sectors
	cmp eax, [rbx + gitfs_sb.index_sectors]
	ja .bad
	mov rcx, rax
	shl rcx, SECTOR_SHIFT
	call gitfs_alloc
	jc .fail
	mov rdi, rax
	shr rcx, SECTOR_SHIFT
	mov rax, [rbx + gitfs_sb.index_lba]
	call gfs_read
	jc .fail
	call gfs_check_index
	jc .fail
	mov rax, rdi
	clc
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_CORRUPT
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gfs_check_index -- (internal) checks an index in memory against its superblock copy: magic,
; count, fanout total and CRC-32.
;  IN:  RBX = superblock copy, RDI = index, RDX = index bytes
;  OUT: CF = 1 (GITFS_E_CORRUPT) when it does not check out
;  CLOBBERS: RAX, RCX, RSI
gfs_check_index:
	cmp dword [rdi + gitfs_idx.magic], IDX_MAGIC
	jne .bad
	mov eax, [rbx + gitfs_sb.index_count]
	cmp [rdi + gitfs_idx.count], eax
	jne .bad
	cmp [rdi + IDX_FANOUT_OFFSET + 255 * 4], eax
	jne .bad
	mov rsi, rdi
	mov rcx, rdx
	xor eax, eax
	call crc32_buffer
	cmp eax, [rbx + gitfs_sb.index_crc]
	jne .bad
	clc
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_CORRUPT
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_adopt -- Mounts from a superblock copy and index already in memory (the loader's,
; handed over in bootinfo), copying them into this arena and checking them exactly as a mount
; from the disk would: magic, version, checksum, index CRC. Saves re-reading them at boot.
;  IN:  RSI = superblock copy, RDI = index
;  OUT: CF = 0 when mounted; CF = 1 when they do not check out (mount from the disk instead)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8
gitfs_adopt:
	mov r8, rdi
	push rsi
	mov ecx, SB_BYTES
	call gitfs_alloc
	pop rsi
	jc .fail
	mov rbx, rax
	mov rdi, rax
	mov ecx, SB_BYTES
	rep movsb
	call gfs_sb_valid
	jc .bad
	mov edx, [rbx + gitfs_sb.index_count]
	shl rdx, IDX_ENTRY_SHIFT
	add rdx, IDX_ENTRIES_OFFSET
	mov rcx, rdx
	call gitfs_alloc
	jc .fail
	mov rdi, rax
	mov rsi, r8
	mov rcx, rdx
	rep movsb
	mov rdi, rax
	call gfs_check_index
	jc .fail
	mov [gitfs_sb_ptr], rbx
	mov [gitfs_idx_ptr], rdi
	clc
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_NO_SB
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_mount -- Mounts the disk: of the two superblock copies, takes the valid one with the
; highest generation whose index also checks out.
;  IN:  nothing (the disk is the ATA primary master; the arena is set)
;  OUT: CF = 0 when mounted (gitfs_sb_ptr, gitfs_idx_ptr set); CF = 1 otherwise
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
gitfs_mount:
	mov byte [gitfs_error], GITFS_OK
	mov qword [gitfs_sb_ptr], 0
	mov qword [gitfs_idx_ptr], 0
	; read both copies
	mov ecx, SB_BYTES
	call gitfs_alloc
	jc .fail
	mov r8, rax
	mov rdi, rax
	mov rax, SB_A_LBA
	mov ecx, SB_SECTORS
	call gfs_read
	jc .fail
	mov ecx, SB_BYTES
	call gitfs_alloc
	jc .fail
	mov r9, rax
	mov rdi, rax
	mov rax, SB_B_LBA
	mov ecx, SB_SECTORS
	call gfs_read
	jc .fail
	; validity of each (R8/R9 become 0 when invalid)
	mov rbx, r8
	call gfs_sb_valid
	jnc .a_ok
	xor r8d, r8d
.a_ok:
	mov rbx, r9
	call gfs_sb_valid
	jnc .b_ok
	xor r9d, r9d
.b_ok:
	; order: R8 = first choice (higher generation), R9 = second
	test r8, r8
	jz .swap
	test r9, r9
	jz .try
	mov rax, [r9 + gitfs_sb.generation]
	cmp rax, [r8 + gitfs_sb.generation]
	jbe .try
.swap:
	xchg r8, r9
.try:
	test r8, r8
	jz .none
	mov rbx, r8
	call gfs_load_index
	jnc .mounted
	cmp byte [gitfs_error], GITFS_E_NOMEM
	je .fail
	mov r8, r9                          ; fall back to the other copy
	xor r9d, r9d
	jmp .try
.mounted:
	mov [gitfs_idx_ptr], rax
	mov [gitfs_sb_ptr], rbx
	clc
	ret
.none:
	mov byte [gitfs_error], GITFS_E_NO_SB
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_find -- Binary search of the index for a hash (fanout first).
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0 and RDI = its index entry; CF = 1 (GITFS_E_NOT_FOUND) when absent
;  CLOBBERS: RAX, RCX, RDX
gitfs_find:
	push rbx
	push r8
	mov rbx, [gitfs_idx_ptr]
	test rbx, rbx
	jz .unmounted
	movzx eax, byte [rsi]
	xor r8d, r8d                        ; lo
	test eax, eax
	jz .have_lo
	mov r8d, [rbx + IDX_FANOUT_OFFSET + rax * 4 - 4]
.have_lo:
	mov edx, [rbx + IDX_FANOUT_OFFSET + rax * 4]   ; hi (exclusive)
.search:
	cmp r8, rdx
	jae .absent
	lea rax, [r8 + rdx]
	shr rax, 1                          ; mid
	mov rdi, rax
	shl rdi, IDX_ENTRY_SHIFT
	lea rdi, [rbx + IDX_ENTRIES_OFFSET + rdi]
	push rsi
	push rdi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rdi
	pop rsi
	je .found
	ja .go_right                        ; hash > entry (unsigned byte compare)
	mov rdx, rax                        ; hi = mid
	jmp .search
.go_right:
	lea r8, [rax + 1]                   ; lo = mid + 1
	jmp .search
.found:
	pop r8
	pop rbx
	clc
	ret
.unmounted:
	mov byte [gitfs_error], GITFS_E_NOT_MOUNTED
	jmp .fail
.absent:
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
.fail:
	call gfs_note_hash
	pop r8
	pop rbx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gfs_note_hash -- (internal) remembers the hash an error concerns.
;  IN:  RSI = 20-byte hash
;  OUT: nothing
;  CLOBBERS: nothing
gfs_note_hash:
	push rsi
	push rdi
	push rcx
	mov rdi, gitfs_error_hash
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	pop rdi
	pop rsi
	ret

; Frame of gfs_load (one per level of a delta chain)
struc gfs_frame
  .hash             resb HASH_SIZE
  .type             resb 1
  .storage          resb 1
  .pad              resb 2
  .base             resb HASH_SIZE
  .pad2             resb 4
  .object_size      resq 1
  .payload_len      resq 1
  .payload          resq 1
  .depth            resq 1
  .base_ptr         resq 1
  .base_len         resq 1
  .content          resq 1
endstruc
GFS_FRAME_BYTES     equ (gfs_frame_size + 15) & ~15

; ---------------------------------------------------------------------------------------------
; gitfs_read_object -- Reads an object: from the log, through any delta chain, and verified
; against its hash.
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0, RAX = content (in the arena), RCX = size, DL = type (OBJ_*);
;       CF = 1 on failure (gitfs_error, gitfs_error_hash)
;  CLOBBERS: RBX, RDI, R8-R11
gitfs_read_object:
	xor r8d, r8d
	jmp gfs_load

; ---------------------------------------------------------------------------------------------
; gfs_load -- (internal) gitfs_read_object at delta depth R8.
;  IN:  RSI = hash, R8 = depth
;  OUT: as gitfs_read_object
;  CLOBBERS: RBX, RDI, R8-R11
gfs_load:
	push rbp
	push rsi
	sub rsp, GFS_FRAME_BYTES
	mov rbp, rsp
	mov [rbp + gfs_frame.depth], r8
	mov rdi, rbp                        ; keep the hash: RSI may point into a buffer we reuse
	mov ecx, HASH_SIZE
	push rsi
	rep movsb
	pop rsi
	call gitfs_find
	jc .fail
	mov al, [rdi + gitfs_idx_entry.storage]
	cmp al, STORE_REFERRAL
	je .referral
	; the record header (64-byte aligned: inside one sector)
	mov rbx, [rdi + gitfs_idx_entry.offset]
	mov al, [rdi + gitfs_idx_entry.type]
	mov [rbp + gfs_frame.type], al
	mov rax, rbx
	shr rax, SECTOR_SHIFT
	mov ecx, 1
	mov rdi, gfs_sector
	call gfs_read
	jc .fail
	mov rdi, rbx
	and edi, SECTOR_SIZE - 1
	add rdi, gfs_sector                 ; RDI = record header
	cmp dword [rdi + gitfs_rec.magic], REC_MAGIC
	jne .corrupt
	mov al, [rdi + gitfs_rec.type]
	cmp al, [rbp + gfs_frame.type]
	jne .corrupt
	mov al, [rdi + gitfs_rec.storage]
	mov [rbp + gfs_frame.storage], al
	mov rax, [rdi + gitfs_rec.payload_len]
	mov [rbp + gfs_frame.payload_len], rax
	mov rax, [rdi + gitfs_rec.object_size]
	mov [rbp + gfs_frame.object_size], rax
	push rdi
	lea rsi, [rdi + gitfs_rec.hash]
	mov rdi, rbp
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rdi
	jne .corrupt
	lea rsi, [rdi + gitfs_rec.base]
	lea rdi, [rbp + gfs_frame.base]
	mov ecx, HASH_SIZE
	rep movsb
	; sanity: sizes inside the log
	mov rax, [rbp + gfs_frame.payload_len]
	mov rcx, [gitfs_sb_ptr]
	mov rdx, [rcx + gitfs_sb.log_end]
	sub rdx, rbx
	jb .corrupt
	sub rdx, REC_HDR_SIZE
	jb .corrupt
	cmp rax, rdx
	ja .corrupt
	; the payload: read the sectors it spans, point into them
	lea rax, [rbx + REC_HDR_SIZE]       ; payload offset on disk
	mov rdx, rax
	and edx, SECTOR_SIZE - 1            ; offset inside the first sector
	mov rcx, [rbp + gfs_frame.payload_len]
	add rcx, rdx
	add rcx, SECTOR_SIZE - 1
	shr rcx, SECTOR_SHIFT                          ; sectors
	push rax
	push rcx
	shl rcx, SECTOR_SHIFT
	test rcx, rcx
	jnz .alloc
	mov ecx, 16
.alloc:
	call gitfs_alloc
	mov rdi, rax
	pop rcx
	pop rax
	jc .fail
	shr rax, SECTOR_SHIFT
	test rcx, rcx
	jz .no_read
	call gfs_read
	jc .fail
.no_read:
	add rdi, rdx
	mov [rbp + gfs_frame.payload], rdi
	cmp byte [rbp + gfs_frame.storage], STORE_RAW
	je .raw
	cmp byte [rbp + gfs_frame.storage], STORE_DELTA
	jne .corrupt
	; delta: load the base (one level deeper), then apply
	mov r8, [rbp + gfs_frame.depth]
	inc r8
	cmp r8, DELTA_MAX_DEPTH
	ja .too_deep
	lea rsi, [rbp + gfs_frame.base]
	call gfs_load
	jc .fail
	mov [rbp + gfs_frame.base_ptr], rax
	mov [rbp + gfs_frame.base_len], rcx
	mov rcx, [rbp + gfs_frame.object_size]
	test rcx, rcx
	jnz .alloc_out
	mov ecx, 16
.alloc_out:
	call gitfs_alloc
	jc .fail
	mov [rbp + gfs_frame.content], rax
	mov rdi, rax
	mov rsi, [rbp + gfs_frame.payload]
	mov rcx, [rbp + gfs_frame.payload_len]
	mov rdx, [rbp + gfs_frame.base_ptr]
	mov r8, [rbp + gfs_frame.base_len]
	mov r9, [rbp + gfs_frame.object_size]
	call gitfs_delta_apply
	jc .bad_delta
	jmp .verify
.raw:
	mov rax, [rbp + gfs_frame.payload_len]
	cmp rax, [rbp + gfs_frame.object_size]
	jne .corrupt
	mov rax, [rbp + gfs_frame.payload]
	mov [rbp + gfs_frame.content], rax
.verify:
	mov rsi, [rbp + gfs_frame.content]
	mov rcx, [rbp + gfs_frame.object_size]
	mov dl, [rbp + gfs_frame.type]
	mov rdi, gfs_digest
	call gitfs_hash_object
	jc .corrupt
	mov rsi, gfs_digest
	mov rdi, rbp
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .mismatch
	mov rax, [rbp + gfs_frame.content]
	mov rcx, [rbp + gfs_frame.object_size]
	mov dl, [rbp + gfs_frame.type]
	add rsp, GFS_FRAME_BYTES
	pop rsi
	pop rbp
	clc
	ret
.referral:
	mov byte [gitfs_error], GITFS_E_REFERRAL
	jmp .note
.too_deep:
	mov byte [gitfs_error], GITFS_E_DEPTH
	jmp .note
.bad_delta:
	mov byte [gitfs_error], GITFS_E_DELTA
	jmp .note
.mismatch:
	mov byte [gitfs_error], GITFS_E_HASH
	jmp .note
.corrupt:
	mov byte [gitfs_error], GITFS_E_CORRUPT
.note:
	mov rsi, rbp
	call gfs_note_hash
.fail:
	add rsp, GFS_FRAME_BYTES
	pop rsi
	pop rbp
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_hash_object -- SHA-1 of "<type> <size>\0" + content: a git object id.
;  IN:  RSI = content, RCX = size, DL = type (OBJ_*), RDI = 20-byte output
;  OUT: CF = 1 for an unknown type
;  CLOBBERS: RAX, RDX
gitfs_hash_object:
	push rbx
	push rcx
	push rsi
	push rdi
	movzx eax, dl
	dec eax
	cmp eax, 3
	ja .bad_type
	mov rsi, [gfs_type_names + rax * 8]
	; header = name ' ' decimal '\0'
	mov rdi, gfs_hdr_buf
.name:
	lodsb
	test al, al
	jz .space
	stosb
	jmp .name
.space:
	mov al, ' '
	stosb
	mov rax, [rsp + 16]                 ; size
	call gfs_put_dec
	xor al, al
	stosb
	mov rbx, rdi
	sub rbx, gfs_hdr_buf                ; header length
	mov rdi, gfs_sha_ctx
	call sha1_init
	mov rsi, gfs_hdr_buf
	mov rcx, rbx
	call sha1_update
	mov rsi, [rsp + 8]                  ; content
	mov rcx, [rsp + 16]
	call sha1_update
	mov rdx, [rsp]                      ; output
	call sha1_final
	pop rdi
	pop rsi
	pop rcx
	pop rbx
	clc
	ret
.bad_type:
	pop rdi
	pop rsi
	pop rcx
	pop rbx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gfs_put_dec -- (internal) writes RAX in decimal at RDI.
;  IN:  RAX = value, RDI = output
;  OUT: RDI advanced past the digits
;  CLOBBERS: RAX, RDX
gfs_put_dec:
	push rcx
	push rbx
	mov rbx, 10
	xor ecx, ecx
.div:
	xor edx, edx
	div rbx
	push rdx
	inc ecx
	test rax, rax
	jnz .div
.emit:
	pop rax
	add al, '0'
	stosb
	loop .emit
	pop rbx
	pop rcx
	ret

; ---------------------------------------------------------------------------------------------
; gfs_varint -- (internal) reads a delta header size (7 bits a byte, low first).
;  IN:  RSI = cursor, R10 = end
;  OUT: CF = 0, RAX = value, RSI advanced; CF = 1 when it runs past the end or overflows
;  CLOBBERS: RCX, RDX
gfs_varint:
	xor eax, eax
	xor ecx, ecx
.byte:
	cmp rsi, r10
	jae .bad
	cmp ecx, 63
	ja .bad
	movzx edx, byte [rsi]
	inc rsi
	push rdx
	and edx, 0x7F
	shl rdx, cl
	or rax, rdx
	pop rdx
	add ecx, 7
	test dl, 0x80
	jnz .byte
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_delta_apply -- Applies a git delta (copy/insert opcodes) with full bounds checks.
;  IN:  RSI = delta, RCX = delta length, RDX = base, R8 = base length,
;       RDI = output buffer, R9 = expected result length (the buffer's size)
;  OUT: CF = 0 when the result is exactly R9 bytes; CF = 1 on any malformation
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R10, R11
gitfs_delta_apply:
	push rbx
	push r12
	push r13
	lea r10, [rsi + rcx]                ; delta end
	mov rbx, rdx                        ; base
	lea r11, [rdi + r9]                 ; output end
	call gfs_varint
	jc .bad
	cmp rax, r8
	jne .bad                            ; base size must match
	call gfs_varint
	jc .bad
	cmp rax, r9
	jne .bad
.op:
	cmp rsi, r10
	jae .end
	movzx eax, byte [rsi]
	inc rsi
	test al, 0x80
	jnz .copy
	test al, al
	jz .bad                             ; opcode 0 is reserved
	; insert AL literal bytes
	movzx ecx, al
	lea rdx, [rsi + rcx]
	cmp rdx, r10
	ja .bad
	lea rdx, [rdi + rcx]
	cmp rdx, r11
	ja .bad
	rep movsb
	jmp .op
.copy:
	mov r12d, eax                       ; opcode bits
	xor r13d, r13d                      ; offset
	xor edx, edx                        ; size
	xor ecx, ecx                        ; byte number
.off_byte:
	bt r12d, ecx
	jnc .off_next
	cmp rsi, r10
	jae .bad
	movzx eax, byte [rsi]
	inc rsi
	push rcx
	shl ecx, 3
	shl rax, cl
	pop rcx
	or r13, rax
.off_next:
	inc ecx
	cmp ecx, 4
	jb .off_byte
.size_byte:
	bt r12d, ecx
	jnc .size_next
	cmp rsi, r10
	jae .bad
	movzx eax, byte [rsi]
	inc rsi
	push rcx
	sub ecx, 4
	shl ecx, 3
	shl rax, cl
	pop rcx
	or rdx, rax
.size_next:
	inc ecx
	cmp ecx, 7
	jb .size_byte
	test rdx, rdx
	jnz .have_size
	mov edx, 0x10000
.have_size:
	mov rax, r13
	add rax, rdx
	jc .bad
	cmp rax, r8
	ja .bad                             ; beyond the base
	lea rax, [rdi + rdx]
	cmp rax, r11
	ja .bad                             ; beyond the result
	push rsi
	lea rsi, [rbx + r13]
	mov rcx, rdx
	rep movsb
	pop rsi
	jmp .op
.end:
	cmp rdi, r11
	jne .bad
	pop r13
	pop r12
	pop rbx
	clc
	ret
.bad:
	pop r13
	pop r12
	pop rbx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_tree_next -- Steps through a tree object's entries ("<mode> <name>\0<20-byte hash>").
;  IN:  RSI = cursor, RDX = end of the tree
;  OUT: CF = 0: R8 = mode (octal value, e.g. 0o100644), R9 = name, R10 = name length,
;       R11 = 20-byte hash, RSI = next entry;
;       CF = 1 at the end (AL = 0) or on a malformed entry (AL = 1, gitfs_error = GITFS_E_TREE)
;  CLOBBERS: RAX, RCX
gitfs_tree_next:
	cmp rsi, rdx
	jae .end
	xor r8d, r8d
	xor ecx, ecx                        ; digits
.mode:
	cmp rsi, rdx
	jae .bad
	movzx eax, byte [rsi]
	inc rsi
	cmp al, ' '
	je .mode_done
	sub eax, '0'
	cmp eax, 7
	ja .bad
	shl r8, 3
	or r8, rax
	inc ecx
	cmp ecx, 7
	ja .bad
	jmp .mode
.mode_done:
	test ecx, ecx
	jz .bad
	mov r9, rsi
.name:
	cmp rsi, rdx
	jae .bad
	cmp byte [rsi], 0
	je .name_done
	inc rsi
	jmp .name
.name_done:
	mov r10, rsi
	sub r10, r9
	jz .bad                             ; empty name
	inc rsi
	lea rax, [rsi + HASH_SIZE]
	cmp rax, rdx
	ja .bad
	mov r11, rsi
	mov rsi, rax
	clc
	ret
.end:
	xor eax, eax
	stc
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_TREE
	mov eax, 1
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_read_tree -- Reads an object and checks that it is a tree.
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0, RAX = content, RCX = size; CF = 1 on failure (a non-tree: GITFS_E_TREE)
;  CLOBBERS: RBX, RDX, RDI, R8-R11
gitfs_read_tree:
	call gitfs_read_object
	jc .out
	cmp dl, OBJ_TREE
	je .out
	mov byte [gitfs_error], GITFS_E_TREE
	call gfs_note_hash
	stc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_object_size -- An object's size from its log record header (no content read, no hash
; check).
;  IN:  RSI = hash
;  OUT: CF = 0 and RCX = size; CF = 1 on failure (gitfs_error)
;  CLOBBERS: RAX, RDX, RDI
gitfs_object_size:
	call gitfs_find
	jc .out
	mov rax, [rdi + gitfs_idx_entry.offset]
	push rax
	shr rax, SECTOR_SHIFT
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
	mov byte [gitfs_error], GITFS_E_CORRUPT
	call gfs_note_hash
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_commit_tree -- The tree a commit names (its first line, "tree <40 hex>").
;  IN:  RSI = commit hash
;  OUT: CF = 0 and gitfs_tmp_hash = the tree hash; CF = 1 on failure
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
gitfs_commit_tree:
	call gitfs_read_object
	jc .out
	cmp dl, OBJ_COMMIT
	jne .bad
	cmp rcx, 5 + HASH_HEX_LEN + 1       ; "tree <hex>\n"
	jb .bad
	cmp dword [rax], 'tree'
	jne .bad
	cmp byte [rax + 4], ' '
	jne .bad
	lea rsi, [rax + 5]
	mov rdi, gitfs_tmp_hash
	call gitfs_parse_hex20
	jc .bad
	clc
.out:
	ret
.bad:
	mov byte [gitfs_error], GITFS_E_CORRUPT
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_parse_hex20 -- Parses HASH_HEX_LEN hex digits into HASH_SIZE bytes.
;  IN:  RSI = text, RDI = output
;  OUT: CF = 0: RSI advanced by HASH_HEX_LEN, RDI by HASH_SIZE; CF = 1 when a digit is not hex
;       (RSI and RDI then point somewhere inside)
;  CLOBBERS: RAX, RCX, RDX (and RSI, RDI as above)
gitfs_parse_hex20:
	mov ecx, HASH_SIZE
.byte:
	call gitfs_hex_digit
	jc .bad
	mov dl, al
	shl dl, 4
	call gitfs_hex_digit
	jc .bad
	or al, dl
	stosb
	loop .byte
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_hex_digit -- The value of one hex digit (either case).
;  IN:  RSI = the digit
;  OUT: CF = 0 and AL = 0..15 (RAX = AL); CF = 1 when it is not a hex digit; RSI advanced by 1
;       either way
;  CLOBBERS: RAX
gitfs_hex_digit:
	movzx eax, byte [rsi]
	inc rsi
	sub al, '0'
	cmp al, 9
	jbe .ok
	or al, 0x20                         ; 'A'-'0' | 0x20 = 'a'-'0'
	sub al, 'a' - '0'
	cmp al, 5
	ja .bad
	add al, 10
.ok:
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gfs_name_eq_path -- (internal) do the first R13 bytes of the entry name at R9 equal those of
; the path at R12?
;  IN:  R9 = name, R12 = path, R13 = length
;  OUT: ZF = 1 when equal
;  CLOBBERS: nothing (but the flags)
gfs_name_eq_path:
	push rsi
	push rdi
	push rcx
	mov rsi, r9
	mov rdi, r12
	mov rcx, r13
	repe cmpsb
	pop rcx
	pop rdi
	pop rsi
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_lookup_path -- Finds a path in a tree: an entry named exactly the path, a subtree
; entry whose name is a prefix (descending into it), or a directory that exists only as the
; prefix of flat entry names.
;  IN:  RSI = tree hash, RDI = path, RCX = path length (no leading or trailing '/')
;  OUT: CF = 0 and AL = GITFS_LOOKUP_ENTRY: R8 = mode, gitfs_tmp_hash = the entry's hash;
;       CF = 0 and AL = GITFS_LOOKUP_DIR: a flat-tree directory (gitfs_tmp_hash = its tree);
;       CF = 1 when absent (GITFS_E_NOT_FOUND) or on a read error
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gitfs_lookup_path:
	xor r15d, r15d                      ; nesting depth
.tree:
	mov r12, rdi                        ; path
	mov r13, rcx                        ; path length
	push rsi
	mov rdi, gitfs_tmp_hash             ; remember the tree (for GITFS_LOOKUP_DIR)
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	call gitfs_read_tree
	jc .out
	mov rsi, rax
	lea rdx, [rax + rcx]
	xor r14d, r14d                      ; 1 once a flat entry "path/..." was seen
.entry:
	call gitfs_tree_next
	jc .entries_done
	; exact name?
	cmp r10, r13
	jne .prefix
	call gfs_name_eq_path
	jne .entry
	mov rsi, r11
	mov rdi, gitfs_tmp_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov al, GITFS_LOOKUP_ENTRY
	clc
	ret
.prefix:
	; name shorter than the path: is it "<name>/" at the path's start, and a subtree?
	jae .flat_dir
	cmp byte [r12 + r10], '/'
	jne .entry
	push rsi
	mov rsi, r9
	mov rdi, r12
	mov rcx, r10
	repe cmpsb
	pop rsi
	jne .entry
	cmp r8, 0o40000
	jne .entry
	; descend
	inc r15
	cmp r15, GITFS_TREE_MAX_DEPTH
	ja .too_deep
	lea rdi, [r12 + r10 + 1]
	mov rcx, r13
	sub rcx, r10
	dec rcx
	jz .entry                           ; "name/" alone: not a path we look up
	mov rsi, r11
	push rdi
	push rcx
	mov rdi, gfs_lookup_hash
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	pop rdi
	mov rsi, gfs_lookup_hash
	jmp .tree
.flat_dir:
	; name longer than the path: "path/..." means path is a directory of a flat tree
	cmp byte [r9 + r13], '/'
	jne .entry
	push rsi
	mov rsi, r9
	mov rdi, r12
	mov rcx, r13
	repe cmpsb
	pop rsi
	jne .entry
	mov r14d, 1
	jmp .entry
.entries_done:
	test al, al
	jnz .fail                           ; malformed tree
	test r14d, r14d
	jz .absent
	mov al, GITFS_LOOKUP_DIR
	clc
	ret
.too_deep:
	mov byte [gitfs_error], GITFS_E_DEPTH
	stc
	ret
.absent:
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
.fail:
	stc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gitfs_ref_find -- Finds a ref slot by name in the mounted superblock.
;  IN:  RSI = name, RCX = name length
;  OUT: CF = 0 and RDI = the slot (struc gitfs_ref); CF = 1 (GITFS_E_NOT_FOUND) when absent
;  CLOBBERS: RDX
gitfs_ref_find:
	mov rdi, [gitfs_sb_ptr]
	test rdi, rdi
	jz .absent
	cmp rcx, REF_NAME_MAX
	ja .absent
	test rcx, rcx
	jz .absent
	add rdi, SB_HDR_SIZE
	xor edx, edx
.slot:
	cmp byte [rdi + gitfs_ref.kind], REF_KIND_FREE
	je .next
	; names are zero padded: equal when the first RCX bytes match and byte RCX is 0
	cmp rcx, REF_NAME_MAX
	je .cmp
	cmp byte [rdi + rcx], 0
	jne .next
.cmp:
	push rsi
	push rdi
	push rcx
	repe cmpsb
	pop rcx
	pop rdi
	pop rsi
	je .found
.next:
	add rdi, REF_SLOT_SIZE
	inc edx
	cmp edx, REF_SLOTS
	jb .slot
.absent:
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
	stc
	ret
.found:
	clc
	ret

; ---- data -------------------------------------------------------------------------------------
align 8
gfs_type_names:     dq gfs_tn_commit, gfs_tn_tree, gfs_tn_blob, gfs_tn_tag
gfs_tn_commit:      db "commit", 0
gfs_tn_tree:        db "tree", 0
gfs_tn_blob:        db "blob", 0
gfs_tn_tag:         db "tag", 0
gfs_zero4:          dd 0


; Written data lives in .bss, away from the code (TCG discards translated code on a write to
; its page); the includer zeroes .bss.
section .bss
alignb 8
gitfs_sb_ptr:       resq 1              ; the mounted superblock copy
gitfs_idx_ptr:      resq 1              ; its index in memory
gfs_heap_ptr:       resq 1
gfs_heap_end:       resq 1
gitfs_error:        resb 1              ; GITFS_E_*
gitfs_error_hash:   resb HASH_SIZE      ; the object an error concerns
gitfs_tmp_hash:     resb HASH_SIZE      ; a hash result (lookup, commit tree)
gfs_lookup_hash:    resb HASH_SIZE
gfs_digest:         resb HASH_SIZE
gfs_hdr_buf:        resb 32
alignb 16
gfs_sha_ctx:        resb sha1_ctx_size
alignb 16
gfs_sector:         resb SECTOR_SIZE
section .text

%endif
