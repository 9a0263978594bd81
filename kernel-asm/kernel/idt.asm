; idt.asm -- the interrupt descriptor table: a handler for every CPU exception (each ends in
; an "EVENT panic vector=N rip=..." line and a halt, never a silent triple fault) and the
; 16 legacy IRQ vectors (IRQ0 is the PIT tick).

IDT_ENTRIES         equ 256
%assign EXC_COUNT 32                  ; CPU exception vectors (a preprocessor value: %rep uses it)
IRQ_BASE            equ 0x20            ; PIC IRQ0..15 -> vectors 0x20..0x2F
IST_FOR_FATAL       equ 1               ; #DF, #NMI, #MC run on IST1

; Stack frame at exc_common (after the stub's pushes)
struc exc_frame
  .vector           resq 1
  .error            resq 1
  .rip              resq 1
  .cs               resq 1
  .rflags           resq 1
  .rsp              resq 1
  .ss               resq 1
endstruc

; ---------------------------------------------------------------------------------------------
; idt_set_gate -- Writes one 64-bit interrupt gate.
;  IN:  ECX = vector, RAX = handler address, EDX = IST index (0 = none)
;  OUT: nothing
;  CLOBBERS: nothing
idt_set_gate:
	push rdi
	push rax
	mov rdi, rcx
	shl rdi, 4
	add rdi, idt_table
	mov [rdi], ax                       ; offset 15:0
	mov word [rdi + 2], SEL_CODE64
	mov [rdi + 4], dl                   ; IST
	mov byte [rdi + 5], 0x8E            ; present, DPL 0, 64-bit interrupt gate
	shr rax, 16
	mov [rdi + 6], ax                   ; offset 31:16
	shr rax, 16
	mov [rdi + 8], eax                  ; offset 63:32
	mov dword [rdi + 12], 0
	pop rax
	pop rdi
	ret

; ---------------------------------------------------------------------------------------------
; idt_init -- Fills the IDT (exceptions, IRQs, the rest as "unexpected") and loads it.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RSI
idt_init:
	xor ecx, ecx
.all:                                   ; every vector starts as "unexpected interrupt"
	mov rax, isr_unexpected
	xor edx, edx
	call idt_set_gate
	inc ecx
	cmp ecx, IDT_ENTRIES
	jb .all

	xor ecx, ecx
	mov rsi, exc_stub_table
.exceptions:
	mov rax, [rsi + rcx * 8]
	xor edx, edx
	cmp ecx, 2                          ; NMI
	je .ist
	cmp ecx, 8                          ; double fault
	je .ist
	cmp ecx, 18                         ; machine check
	jne .gate
.ist:
	mov edx, IST_FOR_FATAL
.gate:
	call idt_set_gate
	inc ecx
	cmp ecx, EXC_COUNT
	jb .exceptions

	mov ecx, IRQ_BASE
	mov rsi, irq_stub_table
.irqs:
	mov rax, [rsi + (rcx - IRQ_BASE) * 8]
	xor edx, edx
	call idt_set_gate
	inc ecx
	cmp ecx, IRQ_BASE + 16
	jb .irqs

	lidt [idt_ptr]
	ret

; ---- exception stubs: push a dummy error code where the CPU pushes none, then the vector --
%macro EXC_NOERR 1
exc_stub_%1:
	push qword 0
	push qword %1
	jmp exc_common
%endmacro
%macro EXC_ERR 1
exc_stub_%1:
	push qword %1
	jmp exc_common
%endmacro

EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR   8
EXC_NOERR 9
EXC_ERR   10
EXC_ERR   11
EXC_ERR   12
EXC_ERR   13
EXC_ERR   14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR   17
EXC_NOERR 18
EXC_NOERR 19
EXC_NOERR 20
EXC_ERR   21
EXC_NOERR 22
EXC_NOERR 23
EXC_NOERR 24
EXC_NOERR 25
EXC_NOERR 26
EXC_NOERR 27
EXC_NOERR 28
EXC_ERR   29
EXC_ERR   30
EXC_NOERR 31

align 8
exc_stub_table:
%assign v 0
%rep EXC_COUNT
	dq exc_stub_ %+ v
%assign v v + 1
%endrep

; ---------------------------------------------------------------------------------------------
; exc_common -- Every CPU exception lands here: prints the panic event and halts for good
; (interrupts off, so the watchdog is no longer fed and a reset follows where one is armed).
;  IN:  the stack holds struc exc_frame
;  OUT: does not return
;  CLOBBERS: everything
exc_common:
	cli
	cmp byte [panic_active], 0          ; a fault inside the panic path: stop right here
	jne panic_halt
	mov byte [panic_active], 1
	mov rbp, rsp
	mov rsi, str_ev_panic
	call event_begin
	mov rsi, str_key_vector
	mov rax, [rbp + exc_frame.vector]
	call event_kv_dec
	mov rsi, str_key_name
	mov rax, [rbp + exc_frame.vector]
	mov rdx, [exc_name_table + rax * 8]
	call event_kv_str
	mov rsi, str_key_rip
	mov rax, [rbp + exc_frame.rip]
	call event_kv_hex
	mov rsi, str_key_err
	mov rax, [rbp + exc_frame.error]
	call event_kv_hex
	mov rsi, str_key_cr2
	mov rax, cr2
	call event_kv_hex
	mov rsi, str_key_rsp
	mov rax, [rbp + exc_frame.rsp]
	call event_kv_hex
	call event_end
	jmp panic_halt

; ---------------------------------------------------------------------------------------------
; isr_unexpected -- A vector nobody owns: reported as a panic with vector=255 (unknown).
;  IN:  interrupt frame
;  OUT: does not return
;  CLOBBERS: everything
isr_unexpected:
	push qword 0
	push qword 255
	jmp exc_common

; ---- IRQ stubs -------------------------------------------------------------------------------
%macro IRQ_STUB 1
irq_stub_%1:
	push rax
	mov al, %1
	jmp irq_common
%endmacro
%assign i 1
%rep 15
IRQ_STUB i
%assign i i + 1
%endrep

align 8
irq_stub_table:
	dq pit_irq                          ; IRQ0: the tick (pit.asm)
	dq irq_stub_1, irq_stub_2, irq_stub_3
	dq serial_irq                       ; IRQ4: COM1 receive (serial.asm)
%assign i 5
%rep 11
	dq irq_stub_ %+ i
%assign i i + 1
%endrep

; ---------------------------------------------------------------------------------------------
; irq_common -- An IRQ nobody handles: counts it and acknowledges it at the PIC(s). Spurious
; IRQ7/IRQ15 (ISR bit clear) get no EOI at the PIC that did not raise them.
;  IN:  AL = IRQ number, original RAX on the stack
;  OUT: returns from the interrupt
;  CLOBBERS: nothing
irq_common:
	inc qword [irq_other_count]
	call pic_eoi
	pop rax
	iretq

exc_name_table:
	dq str_exc_de, str_exc_db, str_exc_nmi, str_exc_bp, str_exc_of, str_exc_br, str_exc_ud
	dq str_exc_nm, str_exc_df, str_exc_cso, str_exc_ts, str_exc_np, str_exc_ss, str_exc_gp
	dq str_exc_pf, str_exc_res, str_exc_mf, str_exc_ac, str_exc_mc, str_exc_xm, str_exc_ve
	dq str_exc_cp, str_exc_res, str_exc_res, str_exc_res, str_exc_res, str_exc_res
	dq str_exc_res, str_exc_hv, str_exc_vc, str_exc_sx, str_exc_res
	times 256 - 32 dq str_exc_unknown   ; vector 255 (unexpected) and anything else

str_exc_de:      db "divide-error", 0
str_exc_db:      db "debug", 0
str_exc_nmi:     db "nmi", 0
str_exc_bp:      db "breakpoint", 0
str_exc_of:      db "overflow", 0
str_exc_br:      db "bound-range", 0
str_exc_ud:      db "invalid-opcode", 0
str_exc_nm:      db "device-not-available", 0
str_exc_df:      db "double-fault", 0
str_exc_cso:     db "coprocessor-segment-overrun", 0
str_exc_ts:      db "invalid-tss", 0
str_exc_np:      db "segment-not-present", 0
str_exc_ss:      db "stack-fault", 0
str_exc_gp:      db "general-protection", 0
str_exc_pf:      db "page-fault", 0
str_exc_res:     db "reserved", 0
str_exc_mf:      db "x87-fault", 0
str_exc_ac:      db "alignment-check", 0
str_exc_mc:      db "machine-check", 0
str_exc_xm:      db "simd-fault", 0
str_exc_ve:      db "virtualization", 0
str_exc_cp:      db "control-protection", 0
str_exc_hv:      db "hypervisor-injection", 0
str_exc_vc:      db "vmm-communication", 0
str_exc_sx:      db "security", 0
str_exc_unknown: db "unexpected-interrupt", 0
str_ev_panic:    db "panic", 0
str_key_vector:  db "vector", 0
str_key_name:    db "name", 0
str_key_rip:     db "rip", 0
str_key_err:     db "err", 0
str_key_cr2:     db "cr2", 0
str_key_rsp:     db "rsp", 0

align 8
idt_ptr:
	dw IDT_ENTRIES * 16 - 1
	dq idt_table

section .bss
alignb 8
irq_other_count:    resq 1              ; IRQs nobody handles (irq_common)
panic_active:       resb 1              ; 1 once exc_common runs
alignb 16
idt_table:          resb IDT_ENTRIES * 16
section .text
