; mem.asm -- how much RAM the machine has (from the CMOS, as QEMU's BIOS fills it).

CMOS_INDEX          equ 0x70
CMOS_DATA           equ 0x71
CMOS_EXT_MEM_LO     equ 0x34            ; memory above 16 MiB in 64 KiB units, low byte
CMOS_EXT_MEM_HI     equ 0x35
MEM_FLOOR           equ 0x1000000       ; assume at least 16 MiB
MEM_MAP_LIMIT       equ IDENTITY_MAP_BYTES

; ---------------------------------------------------------------------------------------------
; mem_init -- Sets mem_top to the end of usable RAM below the identity-mapped 1 GiB.
;  IN:  nothing
;  OUT: mem_top
;  CLOBBERS: RAX, RCX
mem_init:
	mov al, CMOS_EXT_MEM_HI
	out CMOS_INDEX, al
	in al, CMOS_DATA
	movzx ecx, al
	shl ecx, 8
	mov al, CMOS_EXT_MEM_LO
	out CMOS_INDEX, al
	in al, CMOS_DATA
	or cl, al
	shl rcx, 16                         ; bytes above 16 MiB
	add rcx, MEM_FLOOR
	cmp rcx, MEM_MAP_LIMIT
	jbe .ok
	mov rcx, MEM_MAP_LIMIT
.ok:
	mov [mem_top], rcx
	ret

section .bss
alignb 8
mem_top:            resq 1              ; end of usable RAM (mem_init)
section .text
