; stage2.asm -- the loader: finds the kernel the header names, enters 64-bit long mode,
; copies the kernel to KERNEL_LOAD_ADDR and jumps to it with RDI = bootinfo.
;
; Loaded at STAGE2_LOAD_ADDR by the MBR (disk) or by El Torito behind a 512-byte stub (CD).
; The image builder patches the stage2_hdr at STAGE2_HDR_OFFSET to say where the kernel is.
; (Until the kernel-GitFS work, the builder points the header at the kernel blob's bytes in
; the GitFS object log; the loader then resolves the `boot` ref itself.)
%include "gitfs_layout.inc"
%include "boot.inc"

	org STAGE2_LOAD_ADDR
	bits 16

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
	at stage2_hdr.flags,         dd 0
	at stage2_hdr.reserved,      dd 0
iend

KERNEL_READ_CHUNK equ 64                ; sectors per INT 13h call (32 KiB)

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
	mov eax, [stage2_header + stage2_hdr.kernel_size]
	test eax, eax
	jz .err_nokernel
	cmp eax, KERNEL_MAX_BYTES
	ja .err_toobig
	mov eax, [stage2_header + stage2_hdr.source]
	cmp eax, BOOTSRC_APPENDED
	je .appended
	cmp eax, BOOTSRC_DISK
	jne .err_nokernel

	; ---- BOOTSRC_DISK: read ceil((offset + size) / 512) sectors into KERNEL_BUFFER_ADDR ----
	mov eax, [stage2_header + stage2_hdr.kernel_offset]
	cmp eax, SECTOR_SIZE
	jae .err_nokernel
	add eax, [stage2_header + stage2_hdr.kernel_size]
	add eax, SECTOR_SIZE - 1
	shr eax, 9
	mov [s2_sectors_left], ax
	mov eax, [stage2_header + stage2_hdr.kernel_lba]
	mov [dap.lba], eax
	mov eax, [stage2_header + stage2_hdr.kernel_lba + 4]
	mov [dap.lba + 4], eax
	mov word [dap.segment], KERNEL_BUFFER_ADDR >> 4
.read_loop:
	mov ax, [s2_sectors_left]
	test ax, ax
	jz .read_done
	cmp ax, KERNEL_READ_CHUNK
	jbe .count_ok
	mov ax, KERNEL_READ_CHUNK
.count_ok:
	mov [dap.count], ax
	mov si, dap
	mov ah, 0x42
	mov dl, [s2_boot_drive]
	int 0x13
	jc .err_read
	movzx eax, word [dap.count]
	sub [s2_sectors_left], ax
	add [dap.lba], eax
	adc dword [dap.lba + 4], 0
	shl ax, 5                             ; sectors * 512 / 16 = segment increment
	add [dap.segment], ax
	jmp .read_loop
.read_done:
	mov eax, KERNEL_BUFFER_ADDR
	add eax, [stage2_header + stage2_hdr.kernel_offset]
	mov [s2_kernel_src], eax
	jmp .enter_long_mode

.appended:
	mov dword [s2_kernel_src], STAGE2_LOAD_ADDR + STAGE2_SECTORS * SECTOR_SIZE
	jmp .enter_long_mode

.err_nokernel:
	mov si, msg_nokernel
	jmp .fail
.err_toobig:
	mov si, msg_toobig
	jmp .fail
.err_read:
	mov si, msg_readerr
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
	mov rsp, REALMODE_STACK

	; copy the kernel to where it runs
	mov esi, [s2_kernel_src]
	mov edi, KERNEL_LOAD_ADDR
	mov ecx, [stage2_header + stage2_hdr.kernel_size]
	rep movsb

	; bootinfo for the kernel
	mov rdi, BOOTINFO_ADDR
	mov dword [rdi + bootinfo.magic], BOOTINFO_MAGIC
	movzx eax, byte [s2_boot_drive]
	mov [rdi + bootinfo.boot_drive], eax
	mov eax, [stage2_header + stage2_hdr.source]
	mov [rdi + bootinfo.source], eax
	mov eax, [stage2_header + stage2_hdr.kernel_size]
	mov [rdi + bootinfo.kernel_size], eax
	mov rax, [s2_tsc]
	mov [rdi + bootinfo.stage2_tsc], rax
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov [rdi + bootinfo.kernel_tsc], rax

	mov rax, KERNEL_LOAD_ADDR
	jmp rax

; ---- data ------------------------------------------------------------------------------------
msg_stage2:   db "EVENT boot stage=stage2", 13, 10, 0
msg_nokernel: db "EVENT error stage=stage2 reason=no-kernel", 13, 10, 0
msg_toobig:   db "EVENT error stage=stage2 reason=kernel-too-large", 13, 10, 0
msg_readerr:  db "EVENT error stage=stage2 reason=kernel-read-failed", 13, 10, 0

align 8
gdt64:
	dq 0                                  ; null
	dq 0x00AF9A000000FFFF                 ; SEL_CODE64: 64-bit code, present, ring 0
	dq 0x00CF92000000FFFF                 ; SEL_DATA: data, present, writable
gdt64_end:
gdt64_ptr:
	dw gdt64_end - gdt64 - 1
	dd gdt64

align 4
dap:
	db 0x10, 0
.count:   dw 0
.offset:  dw 0
.segment: dw 0
.lba:     dq 0

s2_boot_drive:   db 0
align 4
s2_sectors_left: dw 0, 0
s2_kernel_src:   dd 0
align 8
s2_tsc:          dq 0

; Stage 2 must fit its area: the count below is -1 (an assembly error) when it does not.
	times (STAGE2_SECTORS * SECTOR_SIZE - ($ - $$)) >>> 63 db 0
