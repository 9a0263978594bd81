; cdboot.asm -- the first 512 bytes of a release ISO's El Torito boot image
; (no emulation). The BIOS loads the whole boot image, [cdboot | stage 2 area | kernel], to
; 0x7C00, so stage 2 lands at STAGE2_LOAD_ADDR (0x7E00) exactly where the MBR would put it
; and finds the kernel appended after the stage-2 area (its header says BOOTSRC_APPENDED).
; Before the jump it checks stage 2 as the MBR does (magic, stage2_size, CRC-32): a stage 2 that
; does not check out prints EVENT error stage=cdboot reason=stage2-corrupt and halts.
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
	call crc16_make_table
	mov ax, STAGE2_LOAD_ADDR >> 4
	mov ds, ax                          ; DS = stage 2 (the BIOS loaded all of it)
	cmp dword [STAGE2_HDR_OFFSET + stage2_hdr.magic], STAGE2_MAGIC
	jne .corrupt
	mov cx, [STAGE2_HDR_OFFSET + stage2_hdr.stage2_size]
	cmp dword [STAGE2_HDR_OFFSET + stage2_hdr.stage2_size], STAGE2_MAX_BYTES
	ja .corrupt
	cmp cx, STAGE2_HDR_OFFSET + stage2_hdr_size
	jb .corrupt
	xor ebp, ebp                        ; the checksum field out, as zero (builder/stage2-header.ts)
	xchg ebp, [STAGE2_HDR_OFFSET + stage2_hdr.checksum]
	mov edx, 0xFFFFFFFF
	xor si, si
	call crc16_update
	not edx
	cmp edx, ebp
	jne .corrupt
	xor ax, ax
	mov ds, ax
	pop dx
	jmp 0:STAGE2_LOAD_ADDR              ; DL = the CD drive, as the BIOS gave it
.corrupt:
	xor ax, ax
	mov ds, ax
	mov si, msg_corrupt
	call serial16_puts
.halt:
	cli
	hlt
	jmp .halt

%include "crc16.inc"
%include "serial16.inc"

msg_boot: db "EVENT boot stage=cdboot", 13, 10, 0
msg_corrupt: db "EVENT error stage=cdboot reason=stage2-corrupt", 13, 10, 0

	times 512 - ($ - $$) db 0
