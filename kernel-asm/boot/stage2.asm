; stage2.asm -- the loader: enters 64-bit long mode, finds the kernel, copies it to
; KERNEL_LOAD_ADDR and jumps to it with RDI = bootinfo.
;
; Loaded at STAGE2_LOAD_ADDR by the MBR (disk) or by El Torito behind a 512-byte stub (CD).
; The stage2_hdr at STAGE2_HDR_OFFSET says where the kernel comes from:
;   BOOTSRC_DISK      the GitFS boot disk: `boot` ref -> commit -> tree -> boot/kernel.bin,
;                     read through the object log and verified against its SHA-1; a kernel
;                     whose hash does not match is never run
;   BOOTSRC_APPENDED  appended right after the stage-2 area in memory (a release CD)
%include "gitfs_layout.inc"
%include "boot.inc"

	org STAGE2_LOAD_ADDR
	bits 16
	section .text
	section .bss align=4096             ; written data: never on a page with code (TCG)
	section .text

stage2_entry:
	jmp short stage2_start
	times STAGE2_HDR_OFFSET - ($ - $$) db 0

stage2_header:                          ; patched by the builder (see layout.ts: stage2_hdr)
istruc stage2_hdr
	at stage2_hdr.magic,         dd STAGE2_MAGIC
	at stage2_hdr.source,        dd 0
	at stage2_hdr.kernel_lba,    dq 0
	at stage2_hdr.kernel_offset, dd 0
	at stage2_hdr.kernel_size,   dd 0
	at stage2_hdr.watchdog_ms,   dd 0
	at stage2_hdr.default_tries, dd 0
iend


stage2_start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, REALMODE_STACK
	cld
	mov [s2_boot_drive], dl
	rdtsc
	mov [s2_tsc], eax
	mov [s2_tsc + 4], edx
	sti

	call serial16_init
	mov si, msg_stage2
	call serial16_puts

	; ---- where is the kernel? --------------------------------------------------------------
	mov eax, [stage2_header + stage2_hdr.source]
	cmp eax, BOOTSRC_DISK
	je .enter_long_mode                   ; GitFS is read in long mode
	cmp eax, BOOTSRC_APPENDED
	jne .err_nokernel
	mov eax, [stage2_header + stage2_hdr.kernel_size]
	test eax, eax
	jz .err_nokernel
	cmp eax, KERNEL_MAX_BYTES
	ja .err_toobig

	jmp .enter_long_mode                  ; BOOTSRC_DISK: GitFS is read in long mode


.err_nokernel:
	mov si, msg_nokernel
	jmp .fail
.err_toobig:
	mov si, msg_toobig
	jmp .fail
.fail:
	call serial16_puts
.halt:
	cli
	hlt
	jmp .halt

	; ---- long mode: A20, identity-mapped page tables, PAE + LME + PG ------------------------
.enter_long_mode:
	cli
	in al, 0x92                           ; fast A20
	or al, 2
	and al, 0xFE
	out 0x92, al

	mov edi, PML4_ADDR                    ; zero PML4, PDPT, PD (3 x 4 KiB)
	xor eax, eax
	mov ecx, 3 * 4096 / 4
	rep stosd
	mov dword [PML4_ADDR], PDPT_ADDR | 0x3            ; present + writable
	mov dword [PDPT_ADDR], PD_ADDR | 0x3
	mov edi, PD_ADDR                      ; 512 x 2 MiB pages: the first 1 GiB
	mov eax, 0x83                         ; present + writable + page size
	mov ecx, 512
.pd_fill:
	mov [edi], eax
	mov dword [edi + 4], 0
	add eax, 0x200000
	add edi, 8
	loop .pd_fill

	lgdt [gdt64_ptr]
	mov eax, cr4
	or eax, (1 << 5)                      ; PAE
	mov cr4, eax
	mov eax, PML4_ADDR
	mov cr3, eax
	mov ecx, 0xC0000080                   ; EFER
	rdmsr
	or eax, (1 << 8)                      ; LME
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | 1                 ; PG + PE
	mov cr0, eax
	jmp SEL_CODE64:long_mode_entry

%include "serial16.inc"

	bits 64
long_mode_entry:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor ax, ax
	mov fs, ax
	mov gs, ax
	mov rsp, LOADER_STACK_TOP
	; zero .bss (the libraries' state and ours)
	mov rdi, section..bss.start
	mov rcx, s2_bss_end
	sub rcx, rdi
	xor eax, eax
	rep stosb

	cmp dword [stage2_header + stage2_hdr.source], BOOTSRC_DISK
	jne .appended
	call s2_arm_watchdog                  ; first: a loader that hangs is reset too
	call s2_load_from_gitfs               ; sets s2_kernel_src / s2_kernel_size, or halts
	jmp .copy
.appended:
	mov byte [s2_wd_nibble], IB700_NONE   ; a CD boot: no watchdog, no boot counting
	mov qword [s2_kernel_src], STAGE2_LOAD_ADDR + STAGE2_SECTORS * SECTOR_SIZE
	mov eax, [stage2_header + stage2_hdr.kernel_size]
	mov [s2_kernel_size], rax
.copy:
	; copy the kernel to where it runs
	mov rsi, [s2_kernel_src]
	mov edi, KERNEL_LOAD_ADDR
	mov rcx, [s2_kernel_size]
	rep movsb

	; bootinfo for the kernel
	mov rdi, BOOTINFO_ADDR
	mov dword [rdi + bootinfo.magic], BOOTINFO_MAGIC
	movzx eax, byte [s2_boot_drive]
	mov [rdi + bootinfo.boot_drive], eax
	mov eax, [stage2_header + stage2_hdr.source]
	mov [rdi + bootinfo.source], eax
	mov rax, [s2_kernel_size]
	mov [rdi + bootinfo.kernel_size], eax
	mov rax, [s2_tsc]
	mov [rdi + bootinfo.stage2_tsc], rax
	push rdi
	lea rdi, [rdi + bootinfo.commit]
	mov rsi, s2_commit
	mov ecx, HASH_SIZE
	rep movsb
	pop rdi
	mov al, [s2_wd_nibble]
	mov [rdi + bootinfo.watchdog_nibble], al
	mov al, [s2_state]
	mov [rdi + bootinfo.boot_state], al
	mov al, [s2_tries]
	mov [rdi + bootinfo.tries_left], al
	mov rax, [gitfs_sb_ptr]             ; zero for a CD boot (.bss)
	mov [rdi + bootinfo.gitfs_sb], rax
	mov rax, [gitfs_idx_ptr]
	mov [rdi + bootinfo.gitfs_idx], rax
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov [rdi + bootinfo.kernel_tsc], rax

	mov rax, KERNEL_LOAD_ADDR
	jmp rax

; ---------------------------------------------------------------------------------------------
; s2_load_from_gitfs -- Boot counting and rollback, then the kernel the `boot` ref names, read
; and verified (docs/boot.md, "Boot counting and rollback"):
;   - state good or none: boot it;
;   - state pending with tries left: spend one (persisted, with a mainline commit) and boot it;
;   - state pending with no tries left, state bad (the kernel failed its health check), or a
;     kernel blob that does not verify: roll back — `boot` moves to the commit `boot-good`
;     names (state good), committed to the mainline log with the reason — and boot that.
;  IN:  nothing
;  OUT: s2_kernel_src, s2_kernel_size, s2_commit, s2_state, s2_tries; prints
;       EVENT boot stage=loader commit=... kernel=... size=N state=... tries-left=N.
;       When nothing bootable is left: EVENT error ... and EVENT halt ..., and halts.
;  CLOBBERS: everything
s2_load_from_gitfs:
	mov rax, HEAP_ADDR                  ; the loader's arena: HEAP_ADDR .. FS_ARENA_ADDR
	mov rcx, FS_ARENA_ADDR
	call gitfs_heap_init
	call ata_init
	jc .no_disk
	call gitfs_mount
	jc s2_gitfs_halt
	mov rsi, s2_boot_ref
	mov ecx, BOOT_REF_LEN
	call gitfs_ref_find
	jc .no_boot_ref
	mov al, [rdi + gitfs_ref.state]
	mov [s2_state], al
	mov al, [rdi + gitfs_ref.tries_left]
	mov [s2_tries], al
	lea rsi, [rdi + gitfs_ref.target]
	mov rdi, s2_commit
	mov ecx, HASH_SIZE
	rep movsb
	cmp byte [s2_state], BOOT_STATE_BAD
	je .unhealthy
	cmp byte [s2_state], BOOT_STATE_PENDING
	jne .read
	cmp byte [s2_tries], 0
	je .exhausted
	; spend one try, on the disk, before the kernel runs
	dec byte [s2_tries]
	mov r8d, BOOT_STATE_PENDING
	movzx r9d, byte [s2_tries]
	mov r10, s2_msg_try
	call s2_set_boot
.read:
	call s2_read_kernel
	jnc s2_loaded
	; the kernel does not verify: a pending kernel is rolled back; so is a good one when an
	; older good kernel exists
	call s2_print_gitfs_error
	mov rsi, s2_r_bad_kernel
	jmp s2_rollback
.unhealthy:
	mov rsi, s2_r_unhealthy
	jmp s2_rollback
.exhausted:
	mov rsi, s2_r_exhausted
	jmp s2_rollback
.no_disk:
	mov rsi, s2_r_no_disk
	jmp s2_fail
.no_boot_ref:
	mov rsi, s2_r_no_boot_ref
	jmp s2_fail

; s2_rollback -- (continuation of s2_load_from_gitfs) RSI = reason.
s2_rollback:
	mov [s2_reason], rsi
	cmp byte [s2_rolled_back], 0
	jne .none                           ; the rollback target failed too
	mov rsi, s2_good_ref
	mov ecx, BOOT_GOOD_REF_LEN
	call gitfs_ref_find
	jc .none
	lea rsi, [rdi + gitfs_ref.target]
	call gitfs_is_zero20
	je .none
	push rsi
	mov rdi, s2_commit
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	je .none                            ; the good kernel is the one that failed
	mov rdi, s2_good
	mov ecx, HASH_SIZE
	rep movsb
	; EVENT rollback from=<commit> to=<good> reason=<reason>
	mov rsi, s2_msg_rollback
	call serial_puts
	mov rsi, s2_commit
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, s2_msg_to
	call serial_puts
	mov rsi, s2_good
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, s2_msg_reason
	call serial_puts
	mov rsi, [s2_reason]
	call serial_puts
	mov rsi, s2_crlf
	call serial_puts
	; the log message: "rollback from <commit>: <reason>"
	mov rdi, s2_message
	mov rsi, s2_msg_rollback_from
	call gitfs_put_str
	mov rsi, s2_commit
	call gitfs_put_hex20
	mov al, ':'
	stosb
	mov al, ' '
	stosb
	mov rsi, [s2_reason]
	call gitfs_put_str
	mov byte [rdi], 0
	mov rsi, s2_good
	mov rdi, s2_commit
	mov ecx, HASH_SIZE
	rep movsb
	mov byte [s2_state], BOOT_STATE_GOOD
	mov byte [s2_tries], 0
	mov byte [s2_rolled_back], 1
	mov r8d, BOOT_STATE_GOOD
	xor r9d, r9d
	mov r10, s2_message
	call s2_set_boot
	call s2_read_kernel
	jnc s2_loaded
	jmp s2_gitfs_halt
.none:
	mov rsi, s2_r_no_good
	jmp s2_fail

; s2_loaded -- (continuation) the kernel is read and verified: report it.
s2_loaded:
	; EVENT boot stage=loader commit=<hex> kernel=<hex> size=N state=S tries-left=N
	mov rsi, s2_msg_loader
	call serial_puts
	mov rsi, s2_commit
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, s2_msg_kernel
	call serial_puts
	mov rsi, s2_kernel_hash
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, s2_msg_size
	call serial_puts
	mov rax, [s2_kernel_size]
	call serial_put_dec
	mov rsi, s2_msg_state
	call serial_puts
	movzx eax, byte [s2_state]
	cmp eax, BOOT_STATE_BAD
	jbe .state
	xor eax, eax
.state:
	mov rsi, [gitfs_state_names + rax * 8]
	call serial_puts
	mov rsi, s2_msg_tries
	call serial_puts
	movzx eax, byte [s2_tries]
	call serial_put_dec
	mov rsi, s2_crlf
	call serial_puts
	ret

; s2_fail -- (continuation) RSI = reason: EVENT error stage=stage2 reason=..., halt.
s2_fail:
	push rsi
	mov rsi, s2_msg_error_stage
	call serial_puts
	mov rsi, s2_msg_reason
	call serial_puts
	pop rsi
	call serial_puts
	mov rsi, s2_crlf
	call serial_puts
	jmp s2_halt

; s2_gitfs_halt -- (continuation) the GitFS error, then halt.
s2_gitfs_halt:
	call s2_print_gitfs_error
s2_halt:
	mov rsi, s2_msg_halt
	call serial_puts
	mov dx, IB700_DISARM                ; nothing to boot: a reset would only loop
	out dx, al
	cli
.stop:
	hlt
	jmp .stop

; ---------------------------------------------------------------------------------------------
; s2_print_gitfs_error -- EVENT error stage=stage2 reason=<gitfs error> [object=<hash>] [lba=N]
;  IN:  gitfs_error, gitfs_error_hash, ata_error_lba
;  OUT: nothing
;  CLOBBERS: RSI
s2_print_gitfs_error:
	mov rsi, s2_msg_error_stage
	call serial_puts
	call gitfs_put_reason
	mov rsi, s2_crlf
	call serial_puts
	ret

; ---------------------------------------------------------------------------------------------
; s2_set_boot -- Writes the `boot` ref (target s2_commit, state, tries) with a mainline commit.
; A failure is reported but not fatal: the boot goes on.
;  IN:  R8 = state, R9 = tries, R10 = reason (zero-terminated)
;  OUT: nothing
;  CLOBBERS: everything but RBP, RSP
s2_set_boot:
	push r8
	push r9
	push r10
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov ecx, 0x10000
	call gitfs_tx_begin
	pop r10
	pop r9
	pop r8
	jc .failed
	mov rsi, s2_boot_ref
	mov rdx, s2_commit
	call gitfs_tx_set_ref
	jc .failed
	call gitfs_tx_publish
	jc .failed
	ret
.failed:
	call s2_print_gitfs_error
	ret

; ---------------------------------------------------------------------------------------------
; s2_read_kernel -- Reads boot/kernel.bin of commit s2_commit, verified.
;  IN:  s2_commit
;  OUT: CF = 0: s2_kernel_src, s2_kernel_size, s2_kernel_hash; CF = 1: gitfs_error set
;  CLOBBERS: everything but RBP, RSP
s2_read_kernel:
	mov rsi, s2_commit
	call gitfs_commit_tree
	jc .out
	mov rsi, gitfs_tmp_hash
	mov rdi, s2_tree
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, s2_tree
	mov rdi, s2_kernel_path
	mov ecx, s2_kernel_path_len
	call gitfs_lookup_path
	jc .out
	cmp al, GITFS_LOOKUP_ENTRY
	jne .no_kernel
	cmp r8, 0o100644
	je .blob
	cmp r8, 0o100755
	jne .no_kernel
.blob:
	mov rsi, gitfs_tmp_hash
	mov rdi, s2_kernel_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, s2_kernel_hash
	call gitfs_read_object              ; verified against the blob's hash
	jc .out
	cmp dl, OBJ_BLOB
	jne .no_kernel
	test rcx, rcx
	jz .no_kernel
	cmp rcx, KERNEL_MAX_BYTES
	ja .no_kernel
	mov [s2_kernel_src], rax
	mov [s2_kernel_size], rcx
	clc
.out:
	ret
.no_kernel:
	mov byte [gitfs_error], GITFS_E_NOT_FOUND
	stc
	ret

; ---------------------------------------------------------------------------------------------
; s2_arm_watchdog -- Arms the ib700 with the header's timeout (rounded up to its 2 s steps) and
; prints EVENT watchdog-armed timeout-ms=N. No-op (and no event) for a timeout of 0; without
; the device the port writes go nowhere.
;  IN:  nothing
;  OUT: s2_wd_nibble (IB700_NONE when not armed)
;  CLOBBERS: RAX, RCX, RDX, RSI
s2_arm_watchdog:
	mov byte [s2_wd_nibble], IB700_NONE
	mov eax, [stage2_header + stage2_hdr.watchdog_ms]
	test eax, eax
	jz .out
	mov ecx, 30000
	sub ecx, eax
	jbe .max                            ; >= 30 s: the longest, code 0
	mov eax, ecx
	xor edx, edx
	mov ecx, 2000
	div ecx                             ; (30000 - ms) / 2000, rounded down = timeout rounded up
	cmp eax, 14
	jbe .code
	mov eax, 14                         ; 2 s: the shortest non-zero timeout
	jmp .code
.max:
	xor eax, eax
.code:
	mov [s2_wd_nibble], al
	mov dx, IB700_ARM
	out dx, al
	mov rsi, s2_msg_watchdog
	call serial_puts
	movzx eax, byte [s2_wd_nibble]
	mov ecx, 15
	sub ecx, eax
	imul eax, ecx, 2000                 ; (30 - 2n) s = (15 - n) * 2000 ms
	call serial_put_dec
	mov rsi, s2_crlf
	call serial_puts
.out:
	ret

%include "serial_out.asm"
%include "ata.asm"
%include "sha1.asm"
%include "crc32.asm"
%include "gitfs.asm"
%include "gitfs_write.asm"
%include "gitfs_report.asm"
%include "rtc.asm"

; ---- data ------------------------------------------------------------------------------------
s2_boot_ref:        db BOOT_REF, 0
s2_good_ref:        db BOOT_GOOD_REF, 0
s2_kernel_path:     db "boot/kernel.bin"
s2_kernel_path_len  equ $ - s2_kernel_path
s2_msg_loader:      db "EVENT boot stage=loader commit=", 0
s2_msg_kernel:      db " kernel=", 0
s2_msg_size:        db " size=", 0
s2_msg_state:       db " state=", 0
s2_msg_tries:       db " tries-left=", 0
s2_msg_rollback:    db "EVENT rollback from=", 0
s2_msg_to:          db " to=", 0
s2_msg_reason:      db " reason=", 0
s2_msg_rollback_from: db "rollback from ", 0
s2_msg_try:         db "boot try", 0
s2_msg_watchdog:    db "EVENT watchdog-armed timeout-ms=", 0
s2_r_unhealthy:     db "unhealthy", 0
s2_r_exhausted:     db "tries-exhausted", 0
s2_r_bad_kernel:    db "bad-kernel", 0
s2_r_no_good:       db "no-good-kernel", 0
s2_msg_error_stage: db "EVENT error stage=stage2", 0
s2_msg_halt:        db "EVENT halt stage=stage2 reason=no-bootable-kernel", 13, 10, 0
s2_crlf:            db 13, 10, 0
s2_r_no_disk:       db "no-disk", 0
s2_r_no_boot_ref:   db "no-boot-ref", 0

section .bss
alignb 8
s2_reason:          resq 1
s2_commit:          resb HASH_SIZE
s2_good:            resb HASH_SIZE
s2_tree:            resb HASH_SIZE
s2_kernel_hash:     resb HASH_SIZE
s2_state:           resb 1
s2_tries:           resb 1
s2_rolled_back:     resb 1
s2_wd_nibble:       resb 1
s2_message:         resb 160
s2_bss_end:
section .text
msg_stage2:   db "EVENT boot stage=stage2", 13, 10, 0
msg_nokernel: db "EVENT error stage=stage2 reason=no-kernel", 13, 10, 0
msg_toobig:   db "EVENT error stage=stage2 reason=kernel-too-large", 13, 10, 0

align 8
gdt64:
	dq 0                                  ; null
	dq 0x00AF9A000000FFFF                 ; SEL_CODE64: 64-bit code, present, ring 0
	dq 0x00CF92000000FFFF                 ; SEL_DATA: data, present, writable
gdt64_end:
gdt64_ptr:
	dw gdt64_end - gdt64 - 1
	dd gdt64

s2_boot_drive:   db 0
align 4
align 8
s2_kernel_src:   dq 0
s2_kernel_size:  dq 0
s2_tsc:          dq 0

; Stage 2 must fit its area: the count below is -1 (an assembly error) when it does not.
	times (STAGE2_SECTORS * SECTOR_SIZE - ($ - $$)) >>> 63 db 0
