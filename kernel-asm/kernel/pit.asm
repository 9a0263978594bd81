; pit.asm -- the 8254 programmable interval timer: channel 0 at PIT_HZ drives the tick.

PIT_INPUT_HZ        equ 1193182
PIT_DIVISOR         equ 1193            ; ~1000.15 Hz
PIT_CH0             equ 0x40
PIT_CMD             equ 0x43

; ---------------------------------------------------------------------------------------------
; pit_init -- Programs channel 0 as a rate generator at PIT_INPUT_HZ / PIT_DIVISOR.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX
pit_init:
	mov al, 0x34                        ; channel 0, lobyte/hibyte, mode 2, binary
	out PIT_CMD, al
	mov al, PIT_DIVISOR & 0xFF
	out PIT_CH0, al
	mov al, PIT_DIVISOR >> 8
	out PIT_CH0, al
	ret

; ---------------------------------------------------------------------------------------------
; pit_irq -- IRQ0 handler: counts ticks.
;  IN:  interrupt frame
;  OUT: returns from the interrupt
;  CLOBBERS: nothing
pit_irq:
	push rax
	inc qword [ticks]
	mov al, PIC_EOI
	out PIC1_CMD, al
	pop rax
	iretq

; ---------------------------------------------------------------------------------------------
; pit_wait_tick -- Waits (halting) until the tick counter changes, at most ~PIT_WAIT_SPIN
; halts; used with interrupts on.
;  IN:  nothing
;  OUT: CF = 0 when a tick arrived, CF = 1 on timeout (the timer is dead)
;  CLOBBERS: nothing
PIT_WAIT_SPIN       equ 100
pit_wait_tick:
	push rax
	push rcx
	mov rax, [ticks]
	mov ecx, PIT_WAIT_SPIN
.wait:
	hlt                                 ; any interrupt wakes us; the tick is one of them
	cmp rax, [ticks]
	jne .ticked
	dec ecx
	jnz .wait
	pop rcx
	pop rax
	stc
	ret
.ticked:
	pop rcx
	pop rax
	clc
	ret

section .bss
alignb 8
ticks:              resq 1              ; PIT ticks since pit_init (~1 ms each)
section .text
