; pic.asm -- the two legacy 8259A interrupt controllers: remapped to vectors 0x20..0x2F,
; everything masked but what the kernel handles.

PIC1_CMD            equ 0x20
PIC1_DATA           equ 0x21
PIC2_CMD            equ 0xA0
PIC2_DATA           equ 0xA1
PIC_EOI             equ 0x20
PIC_READ_ISR        equ 0x0B            ; OCW3: next read of the command port returns ISR

; ---------------------------------------------------------------------------------------------
; pic_init -- Remaps both PICs to IRQ_BASE and masks every IRQ but IRQ0 (PIT) and IRQ4 (COM1).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX
pic_init:
	mov al, 0x11                        ; ICW1: init, expect ICW4
	out PIC1_CMD, al
	out PIC2_CMD, al
	mov al, IRQ_BASE                    ; ICW2: vector offsets
	out PIC1_DATA, al
	mov al, IRQ_BASE + 8
	out PIC2_DATA, al
	mov al, 0x04                        ; ICW3: slave on IRQ2
	out PIC1_DATA, al
	mov al, 0x02
	out PIC2_DATA, al
	mov al, 0x01                        ; ICW4: 8086 mode
	out PIC1_DATA, al
	out PIC2_DATA, al
	mov al, 0xEE                        ; masks: only IRQ0 (PIT) and IRQ4 (COM1)
	out PIC1_DATA, al
	mov al, 0xFF
	out PIC2_DATA, al
	ret

; ---------------------------------------------------------------------------------------------
; pic_unmask -- Lets one IRQ through (for IRQ 8..15, the cascade IRQ2 as well).
;  IN:  AL = IRQ number (0..15)
;  OUT: nothing
;  CLOBBERS: RAX, RCX
pic_unmask:
	movzx ecx, al
	cmp ecx, 8
	jae .slave
	in al, PIC1_DATA
	btr eax, ecx
	out PIC1_DATA, al
	ret
.slave:
	sub ecx, 8
	in al, PIC2_DATA
	btr eax, ecx
	out PIC2_DATA, al
	in al, PIC1_DATA
	and al, ~(1 << 2) & 0xFF
	out PIC1_DATA, al
	ret

; ---------------------------------------------------------------------------------------------
; pic_eoi -- Acknowledges an IRQ; a spurious IRQ7/IRQ15 (ISR bit clear) is not acknowledged
; at the PIC that did not raise it.
;  IN:  AL = IRQ number (0..15)
;  OUT: nothing
;  CLOBBERS: nothing
pic_eoi:
	push rax
	push rcx
	mov cl, al
	cmp cl, 7
	jne .not7
	mov al, PIC_READ_ISR
	out PIC1_CMD, al
	in al, PIC1_CMD
	test al, 0x80
	jz .done                            ; spurious IRQ7: no EOI at all
	jmp .master
.not7:
	cmp cl, 8
	jb .master
	cmp cl, 15
	jne .slave
	mov al, PIC_READ_ISR
	out PIC2_CMD, al
	in al, PIC2_CMD
	test al, 0x80
	jz .master                          ; spurious IRQ15: EOI the master (cascade) only
.slave:
	mov al, PIC_EOI
	out PIC2_CMD, al
.master:
	mov al, PIC_EOI
	out PIC1_CMD, al
.done:
	pop rcx
	pop rax
	ret
