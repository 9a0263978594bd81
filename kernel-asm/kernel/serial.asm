; serial.asm -- COM1 (16550 UART) receive side: the kernel's command channel. (Output is
; lib/serial_out.asm, shared with stage 2.)
; Receive is interrupt-driven (IRQ4) into a ring buffer: the CPU halts while it waits, which
; also lets QEMU feed the UART quickly (a guest spinning on the port starves QEMU's I/O).
; When the ring is full the IRQ stops taking bytes (and disables the RX interrupt), so input is
; flow-controlled by the UART, never dropped; taking bytes from the ring re-enables it.

SERIAL_RING_BYTES   equ 65536           ; receive ring (a power of two)
SERIAL_IRQ          equ 4
UART_IER_RDA        equ 0x01            ; interrupt on received data available

; ---------------------------------------------------------------------------------------------
; serial_enable_rx_irq -- Turns on the receive interrupt (IRQ4 must be unmasked at the PIC).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
serial_enable_rx_irq:
	push rax
	push rdx
	mov byte [serial_rx_paused], 0
	mov dx, COM1_PORT + 1
	mov al, UART_IER_RDA
	out dx, al
	pop rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; serial_irq -- IRQ4 handler: moves received bytes from the UART into the ring; when the ring
; is full it leaves the rest in the UART and pauses the receive interrupt.
;  IN:  interrupt frame
;  OUT: returns from the interrupt
;  CLOBBERS: nothing
serial_irq:
	push rax
	push rcx
	push rdx
.more:
	mov dx, COM1_PORT + 5
	in al, dx
	test al, 0x01                       ; LSR.DR
	jz .done
	mov rcx, [serial_rx_head]
	mov rax, rcx
	sub rax, [serial_rx_tail]
	cmp rax, SERIAL_RING_BYTES
	jae .full
	mov dx, COM1_PORT
	in al, dx
	and ecx, SERIAL_RING_BYTES - 1
	mov [serial_rx_ring + rcx], al
	inc qword [serial_rx_head]
	jmp .more
.full:
	mov byte [serial_rx_paused], 1
	mov dx, COM1_PORT + 1
	xor al, al
	out dx, al                          ; IER = 0 until the ring drains
.done:
	mov al, PIC_EOI
	out PIC1_CMD, al
	pop rdx
	pop rcx
	pop rax
	iretq

; ---------------------------------------------------------------------------------------------
; serial_poll -- Takes one received byte from the ring if one is waiting; never blocks.
;  IN:  nothing
;  OUT: CF = 0 and AL = byte when one was taken; CF = 1 when none was waiting
;  CLOBBERS: AL
serial_poll:
	push rcx
	mov rcx, [serial_rx_tail]
	cmp rcx, [serial_rx_head]
	je .none
	and ecx, SERIAL_RING_BYTES - 1
	mov al, [serial_rx_ring + rcx]
	inc qword [serial_rx_tail]
	cmp byte [serial_rx_paused], 0
	je .taken
	call serial_enable_rx_irq           ; room again: let the UART deliver
.taken:
	pop rcx
	clc
	ret
.none:
	pop rcx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; serial_read_exact -- Reads exactly RCX bytes into RDI, halting while none are waiting; gives
; up when no byte arrives for SERIAL_RX_IDLE_MS milliseconds (needs interrupts on).
;  IN:  RDI = buffer, RCX = count
;  OUT: CF = 0 when all bytes arrived; CF = 1 on timeout (RCX = bytes still missing)
;  CLOBBERS: RAX, RCX, RDI
SERIAL_RX_IDLE_MS   equ 5000
serial_read_exact:
	push rbx
	mov rbx, [ticks]
	add rbx, SERIAL_RX_IDLE_MS
.next:
	test rcx, rcx
	jz .ok
.try:
	call serial_poll
	jnc .byte
	cmp rbx, [ticks]
	jb .timeout
	hlt                                 ; the next IRQ4 (or tick) wakes us
	call watchdog_feed                  ; input is arriving: the kernel is making progress
	jmp .try
.byte:
	stosb
	dec rcx
	mov rbx, [ticks]
	add rbx, SERIAL_RX_IDLE_MS
	jmp .next
.ok:
	pop rbx
	clc
	ret
.timeout:
	pop rbx
	stc
	ret

section .bss
alignb 8
serial_rx_head:     resq 1              ; bytes ever put in the ring
serial_rx_tail:     resq 1              ; bytes ever taken from the ring
serial_rx_paused:   resb 1              ; 1: the ring was full, the RX interrupt is off
alignb 64
serial_rx_ring:     resb SERIAL_RING_BYTES
section .text
