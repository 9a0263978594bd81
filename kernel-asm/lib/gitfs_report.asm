; gitfs_report.asm -- GitFS in words, shared by stage 2 and the kernel: the names of the
; gitfs_error codes, of the ref kinds and of the boot states, and the printer that appends a
; GitFS error to an EVENT line being written. Needs serial_out.asm and gitfs.asm (the error
; codes); prints through serial_puts, so it works in the loader (no event.asm) as in the kernel.
;
; Public: gitfs_put_reason, gitfs_reason_table (GITFS_REASONS entries), gitfs_kind_names
; (REF_KIND_FREE..REF_KIND_BOOT), gitfs_state_names (BOOT_STATE_NONE..BOOT_STATE_BAD).

%ifndef GITFS_REPORT_ASM
%define GITFS_REPORT_ASM

; ---------------------------------------------------------------------------------------------
; gitfs_put_reason -- Appends " reason=<gitfs_error's name>" to the line being written, then
; " object=<hash>" when the error concerns an object (hash-mismatch, corrupt-record, bad-delta,
; referral-only) and " lba=N" for a disk error.
;  IN:  gitfs_error, gitfs_error_hash, ata_error_lba
;  OUT: nothing
;  CLOBBERS: nothing
gitfs_put_reason:
	push rax
	push rcx
	push rsi
	mov rsi, gitfs_str_reason
	call serial_puts
	movzx eax, byte [gitfs_error]
	cmp eax, GITFS_REASONS
	jb .known
	xor eax, eax
.known:
	mov rsi, [gitfs_reason_table + rax * 8]
	call serial_puts
	cmp eax, GITFS_E_HASH
	je .object
	cmp eax, GITFS_E_CORRUPT
	je .object
	cmp eax, GITFS_E_DELTA
	je .object
	cmp eax, GITFS_E_REFERRAL
	jne .io
.object:
	mov rsi, gitfs_str_object
	call serial_puts
	mov rsi, gitfs_error_hash
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
.io:
	cmp eax, GITFS_E_IO
	jne .done
	mov rsi, gitfs_str_lba
	call serial_puts
	mov rax, [ata_error_lba]
	call serial_put_dec
.done:
	pop rsi
	pop rcx
	pop rax
	ret

; ---- data -------------------------------------------------------------------------------------
align 8
gitfs_reason_table:                     ; indexed by gitfs_error (GITFS_E_*)
	dq gitfs_r_ok, gitfs_r_io, gitfs_r_no_sb, gitfs_r_not_found, gitfs_r_corrupt, gitfs_r_hash
	dq gitfs_r_delta, gitfs_r_depth, gitfs_r_nomem, gitfs_r_referral, gitfs_r_tree
	dq gitfs_r_unmounted, gitfs_r_not_file, gitfs_r_full, gitfs_r_conflict, gitfs_r_name
GITFS_REASONS       equ ($ - gitfs_reason_table) / 8
gitfs_kind_names:                       ; indexed by gitfs_ref.kind (REF_KIND_*)
	dq gitfs_w_ref, gitfs_w_mainline, gitfs_w_branch, gitfs_w_symbolic, gitfs_w_boot
gitfs_state_names:                      ; indexed by gitfs_ref.state (BOOT_STATE_*)
	dq gitfs_w_none, gitfs_w_pending, gitfs_w_good, gitfs_w_bad

gitfs_r_ok:         db "none", 0
gitfs_r_io:         db "io-error", 0
gitfs_r_no_sb:      db "no-usable-superblock", 0
gitfs_r_not_found:  db "not-found", 0
gitfs_r_corrupt:    db "corrupt-record", 0
gitfs_r_hash:       db "hash-mismatch", 0
gitfs_r_delta:      db "bad-delta", 0
gitfs_r_depth:      db "too-deep", 0
gitfs_r_nomem:      db "out-of-memory", 0
gitfs_r_referral:   db "referral-only", 0
gitfs_r_tree:       db "bad-tree", 0
gitfs_r_unmounted:  db "not-mounted", 0
gitfs_r_not_file:   db "not-a-file", 0
gitfs_r_full:       db "disk-full", 0
gitfs_r_conflict:   db "path-conflict", 0
gitfs_r_name:       db "bad-ref-name", 0
gitfs_w_ref:        db "ref", 0             ; a free slot's kind (never listed)
gitfs_w_mainline:   db "mainline", 0
gitfs_w_branch:     db "branch", 0
gitfs_w_symbolic:   db "symbolic", 0
gitfs_w_boot:       db "boot", 0
gitfs_w_none:       db "none", 0
gitfs_w_pending:    db "pending", 0
gitfs_w_good:       db "good", 0
gitfs_w_bad:        db "bad", 0
gitfs_str_reason:   db " reason=", 0
gitfs_str_object:   db " object=", 0
gitfs_str_lba:      db " lba=", 0

%endif
