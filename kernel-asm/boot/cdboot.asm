; cdboot.asm -- the first 512 bytes of a release ISO's El Torito boot image
; (no emulation). The BIOS loads the whole boot image, [cdboot | stage 2 area | kernel], to
; 0x7C00, so stage 2 lands at STAGE2_LOAD_ADDR (0x7E00) exactly where the MBR would put it
; and finds the kernel appended after the stage-2 area (its header says BOOTSRC_APPENDED).
%include "gitfs_layout.inc"
%include "boot.inc"

	org 0x7C00
	bits 16

cdboot_start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, REALMODE_STACK
	cld
	push dx
	call serial16_init
	mov si, msg_boot
	call serial16_puts
	pop dx
	jmp 0:STAGE2_LOAD_ADDR              ; DL = the CD drive, as the BIOS gave it

%include "serial16.inc"

msg_boot: db "EVENT boot stage=cdboot", 13, 10, 0

	times 512 - ($ - $$) db 0
