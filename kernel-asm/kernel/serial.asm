; serial.asm -- COM1 (16550 UART) driver: the kernel's event and command channel.
; Every wait on the UART is bounded: a dead UART drops output, it never hangs the kernel.
; Receive is interrupt-driven (IRQ4) into a ring buffer: the CPU halts while it waits, which
; also lets QEMU feed the UART quickly (a guest spinning on the port starves QEMU's I/O).
; When the ring is full the IRQ stops taking bytes (and disables the RX interrupt), so input is
; flow-controlled by the UART, never dropped; taking bytes from the ring re-enables it.

SERIAL_TX_SPIN      equ 100000          ; LSR polls before a byte is given up
SERIAL_RING_BYTES   equ 65536           ; receive ring (a power of two)
SERIAL_IRQ          equ 4
UART_IER_RDA        equ 0x01            ; interrupt on received data available

; ---------------------------------------------------------------------------------------------
; serial_init -- Programs COM1: 115200 baud, 8N1, FIFOs on, UART interrupts off.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
serial_init:
	push rax
	push rdx
	mov dx, COM1_PORT + 1
	xor al, al
	out dx, al                          ; IER = 0
	mov dx, COM1_PORT + 3
	mov al, 0x80
	out dx, al                          ; DLAB on
	mov dx, COM1_PORT
	mov al, 1
	out dx, al                          ; divisor 1 = 115200 baud
	inc dx
	xor al, al
	out dx, al
	mov dx, COM1_PORT + 3
	mov al, 0x03
	out dx, al                          ; 8N1, DLAB off
	mov dx, COM1_PORT + 2
	mov al, 0xC7
	out dx, al                          ; FIFO on and cleared
	mov dx, COM1_PORT + 4
	mov al, 0x03
	out dx, al                          ; DTR + RTS
	pop rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; serial_putc -- Writes one byte to COM1 (bounded wait for the transmitter).
;  IN:  AL = byte
;  OUT: nothing
;  CLOBBERS: nothing
serial_putc:
	push rcx
	push rdx
	push rax
	mov dx, COM1_PORT + 5
	mov ecx, SERIAL_TX_SPIN
.wait:
	in al, dx
	test al, 0x20                       ; LSR.THRE: transmit holding register empty
	jnz .send
	dec ecx
	jnz .wait
	inc qword [serial_tx_dropped]
	pop rax
	jmp .out
.send:
	pop rax
	mov dx, COM1_PORT
	out dx, al
.out:
	pop rdx
	pop rcx
	ret

; ---------------------------------------------------------------------------------------------
; serial_puts -- Writes a zero-terminated string to COM1.
;  IN:  RSI = string
;  OUT: nothing
;  CLOBBERS: nothing
serial_puts:
	push rax
	push rsi
.next:
	lodsb
	test al, al
	jz .done
	call serial_putc
	jmp .next
.done:
	pop rsi
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; serial_put_hex -- Writes RAX as "0x" followed by lowercase hex digits, no leading zeros.
;  IN:  RAX = value
;  OUT: nothing
;  CLOBBERS: nothing
serial_put_hex:
	push rax
	push rbx
	push rcx
	push rdx
	mov rdx, rax
	mov al, '0'
	call serial_putc
	mov al, 'x'
	call serial_putc
	mov ecx, 16                         ; nibbles left
	xor ebx, ebx                        ; 1 once a non-zero digit was written
.nibble:
	rol rdx, 4
	mov al, dl
	and al, 0x0F
	jnz .print
	test ebx, ebx
	jnz .print
	cmp ecx, 1                          ; always print the last digit
	jne .skip
.print:
	mov ebx, 1
	add al, '0'
	cmp al, '9'
	jbe .digit
	add al, 'a' - '0' - 10
.digit:
	call serial_putc
.skip:
	dec ecx
	jnz .nibble
	pop rdx
	pop rcx
	pop rbx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; serial_put_dec -- Writes RAX as an unsigned decimal number.
;  IN:  RAX = value
;  OUT: nothing
;  CLOBBERS: nothing
serial_put_dec:
	push rax
	push rcx
	push rdx
	push rbx
	sub rsp, 24                         ; up to 20 digits
	mov rbx, 10
	xor ecx, ecx
.divide:
	xor edx, edx
	div rbx
	add dl, '0'
	mov [rsp + rcx], dl
	inc ecx
	test rax, rax
	jnz .divide
.emit:
	dec ecx
	mov al, [rsp + rcx]
	call serial_putc
	test ecx, ecx
	jnz .emit
	add rsp, 24
	pop rbx
	pop rdx
	pop rcx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; serial_put_hexbytes -- Writes bytes as lowercase hex, two digits each (a SHA-1 as 40 digits).
;  IN:  RSI = bytes, RCX = count
;  OUT: nothing
;  CLOBBERS: nothing
serial_put_hexbytes:
	push rax
	push rbx
	push rcx
	push rsi
	test rcx, rcx
	jz .done
.byte:
	movzx ebx, byte [rsi]
	mov al, bl
	shr al, 4
	call .digit
	mov al, bl
	and al, 0x0F
	call .digit
	inc rsi
	dec rcx
	jnz .byte
.done:
	pop rsi
	pop rcx
	pop rbx
	pop rax
	ret
.digit:
	add al, '0'
	cmp al, '9'
	jbe .out
	add al, 'a' - '0' - 10
.out:
	jmp serial_putc


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
