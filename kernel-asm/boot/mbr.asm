; mbr.asm -- sector 0 of a node disk: loads stage 2 (stage2_size bytes from STAGE2_LBA, as its
; header says) to STAGE2_LOAD_ADDR with BIOS INT 13h extensions, checks its CRC-32 against the
; header's checksum and jumps to it with DL = boot drive. On failure it prints an EVENT error
; line on COM1 (reason=stage2-corrupt for a stage 2 that does not check out) and halts.
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

	; Stage 2's first sector, for its header; then exactly stage2_size bytes (the builder
	; sets it), not the whole area. Reads go to seg:0 so the 16-bit offset never wraps.
	call mbr_read                         ; dap.count is 1; DS = stage 2 from here on
	jc .read_error
	call crc16_make_table
	cmp dword [STAGE2_HDR_OFFSET + stage2_hdr.magic], STAGE2_MAGIC
	jne .corrupt
	mov cx, [STAGE2_HDR_OFFSET + stage2_hdr.stage2_size]
	cmp dword [STAGE2_HDR_OFFSET + stage2_hdr.stage2_size], STAGE2_MAX_BYTES
	ja .corrupt
	cmp cx, STAGE2_HDR_OFFSET + stage2_hdr_size
	jb .corrupt
	push cx
	add cx, SECTOR_SIZE - 1
	shr cx, 9
	mov [es:dap.count], cx
	call mbr_read                         ; all of it (the first sector again: simpler)
	pop cx
	jc .read_error

	; CRC-32 of the stage2_size bytes with the checksum field zero (builder/stage2-header.ts):
	; the field is taken out (stage 2 does not need it) and compared at the end.
	xor ebp, ebp
	xchg ebp, [STAGE2_HDR_OFFSET + stage2_hdr.checksum]
	mov edx, 0xFFFFFFFF
	xor si, si
	call crc16_update
	not edx
	cmp edx, ebp
	jne .corrupt

	mov dl, [es:boot_drive]
	jmp 0:STAGE2_LOAD_ADDR

.no_ext:
	mov si, msg_noext
	jmp .fail
.corrupt:
	mov si, msg_corrupt
	jmp .fail
.read_error:
	mov si, msg_readerr
.fail:
	push es
	pop ds
	push si
	mov si, msg_error
	call serial16_puts
	pop si
	call serial16_puts
.halt:
	cli
	hlt
	jmp .halt

; ---------------------------------------------------------------------------------------------
; mbr_read -- One INT 13h extended read of the disk address packet `dap`.
;  IN:  dap (count, buffer, LBA), boot_drive, ES = 0
;  OUT: CF = 1 on a read error; DS = stage 2's segment (STAGE2_LOAD_ADDR >> 4)
;  CLOBBERS: AX, DL, SI, DS
mbr_read:
	push es
	pop ds
	mov si, dap
	mov ah, 0x42
	mov dl, [boot_drive]
	int 0x13
	mov ax, STAGE2_LOAD_ADDR >> 4
	mov ds, ax
	ret

%include "crc16.inc"
%include "serial16.inc"

msg_boot:    db "EVENT boot stage=mbr", 13, 10, 0
msg_error:   db "EVENT error stage=mbr reason=", 0
msg_noext:   db "no-int13-extensions", 13, 10, 0
msg_readerr: db "stage2-read-failed", 13, 10, 0
msg_corrupt: db "stage2-corrupt", 13, 10, 0

align 4
dap:                                   ; INT 13h disk address packet
	db 0x10, 0                         ; size, reserved
.count:	dw 1                               ; sectors to read
	dw 0, STAGE2_LOAD_ADDR >> 4        ; buffer offset:segment
	dq STAGE2_LBA                      ; first LBA
boot_drive: db 0

	times 446 - ($ - $$) db 0          ; partition table left empty: the disk is GitFS
	times 510 - ($ - $$) db 0
	dw 0xAA55
