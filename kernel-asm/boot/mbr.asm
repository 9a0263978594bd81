; mbr.asm -- sector 0 of a node disk: loads stage 2 (STAGE2_SECTORS sectors from STAGE2_LBA)
; to STAGE2_LOAD_ADDR with BIOS INT 13h extensions and jumps to it with DL = boot drive.
; On failure it prints an EVENT error line on COM1 and halts.
%include "gitfs_layout.inc"
%include "boot.inc"

	org 0x7C00
	bits 16

mbr_start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, REALMODE_STACK
	sti
	cld
	mov [boot_drive], dl

	call serial16_init
	mov si, msg_boot
	call serial16_puts

	; INT 13h extensions present? (AH=41h, BX=55AAh -> CF clear, BX=AA55h)
	mov ah, 0x41
	mov bx, 0x55AA
	mov dl, [boot_drive]
	int 0x13
	jc .no_ext
	cmp bx, 0xAA55
	jne .no_ext

	; One extended read of the whole stage-2 area into STAGE2_LOAD_ADDR (as seg:0 so the
	; 16-bit offset never wraps).
	mov si, dap
	mov ah, 0x42
	mov dl, [boot_drive]
	int 0x13
	jc .read_error

	mov dl, [boot_drive]
	jmp 0:STAGE2_LOAD_ADDR

.no_ext:
	mov si, msg_noext
	jmp .fail
.read_error:
	mov si, msg_readerr
.fail:
	call serial16_puts
.halt:
	cli
	hlt
	jmp .halt

%include "serial16.inc"

msg_boot:    db "EVENT boot stage=mbr", 13, 10, 0
msg_noext:   db "EVENT error stage=mbr reason=no-int13-extensions", 13, 10, 0
msg_readerr: db "EVENT error stage=mbr reason=stage2-read-failed", 13, 10, 0

align 4
dap:                                   ; INT 13h disk address packet
	db 0x10, 0                         ; size, reserved
	dw STAGE2_SECTORS                  ; sectors to read
	dw 0, STAGE2_LOAD_ADDR >> 4        ; buffer offset:segment
	dq STAGE2_LBA                      ; first LBA
boot_drive: db 0

	times 446 - ($ - $$) db 0          ; partition table left empty: the disk is GitFS
	times 510 - ($ - $$) db 0
	dw 0xAA55
