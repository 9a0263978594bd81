; serial_out.asm -- COM1 (16550 UART) output, shared by stage 2 (64-bit part) and the kernel:
; init, bytes, strings, numbers. Every wait on the UART is bounded in time: a dead UART drops
; output, it never hangs the machine (serial_tx_dropped counts what was lost).

%ifndef SERIAL_OUT_ASM
%define SERIAL_OUT_ASM

SERIAL_TX_CYCLES    equ 8000000000      ; TSC cycles (~3-4 s) before the UART is taken as stalled
SERIAL_TX_GAP       equ 64              ; pauses between two status polls
SERIAL_FIFO_BYTES   equ 16              ; the 16550's transmit FIFO (enabled by serial_init)

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
	mov byte [serial_tx_room], 0        ; nothing known about the FIFO yet
	pop rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; serial_putc -- Writes one byte to COM1. Waits for the transmitter up to SERIAL_TX_CYCLES TSC
; cycles (seconds: QEMU drains the UART only as fast as the host reads it), with pauses between
; polls so the guest does not starve QEMU's I/O thread. A transmitter that stays busy that long
; is taken as stalled: bytes are then dropped (and counted) without waiting, until it is ready
; again. THRE set means the transmit FIFO is empty, so after seeing it the next
; SERIAL_FIFO_BYTES - 1 bytes go out without a status read (half the port accesses: each is a
; round trip to QEMU under TCG).
;  IN:  AL = byte
;  OUT: nothing
;  CLOBBERS: nothing
serial_putc:
	cmp byte [serial_tx_room], 0
	je .poll
	dec byte [serial_tx_room]
	push rdx
	mov dx, COM1_PORT
	out dx, al
	pop rdx
	ret
.poll:
	push rcx
	push rdx
	push rax
	push rbx
	mov dx, COM1_PORT + 5
	in al, dx
	test al, 0x20                       ; LSR.THRE: transmit holding register empty
	jnz .send
	cmp byte [serial_tx_stalled], 0
	jne .drop
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov rbx, rax                        ; start
	mov dx, COM1_PORT + 5
.wait:
	mov ecx, SERIAL_TX_GAP
.gap:
	pause
	loop .gap
	in al, dx
	test al, 0x20
	jnz .send
	push rdx
	rdtsc
	shl rdx, 32
	or rax, rdx
	pop rdx
	sub rax, rbx
	mov rcx, SERIAL_TX_CYCLES           ; over 2^31: no cmp immediate holds it (RCX is reset above)
	cmp rax, rcx
	jb .wait
	mov byte [serial_tx_stalled], 1
.drop:
	inc qword [serial_tx_dropped]
	pop rbx
	pop rax
	jmp .out
.send:
	mov byte [serial_tx_stalled], 0
	mov byte [serial_tx_room], SERIAL_FIFO_BYTES - 1
	pop rbx
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



; Written data lives in .bss, away from the code: under QEMU's TCG a write to a page that holds
; translated code throws that code away (self-modifying-code detection), which is very slow.
section .bss
alignb 8
serial_tx_dropped:  resq 1              ; bytes lost to a stalled transmitter
serial_tx_room:     resb 1              ; bytes that still fit the FIFO since THRE was seen
serial_tx_stalled:  resb 1
section .text

%endif
