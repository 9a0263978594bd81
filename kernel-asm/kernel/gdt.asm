; gdt.asm -- the kernel's own GDT and a TSS whose IST stacks catch double faults, NMIs and
; machine checks on a known-good stack (so a smashed RSP still ends in a panic line).

IST_STACK_BYTES     equ 4096

; 64-bit TSS (Intel SDM vol. 3, 8.7)
struc tss64
  .reserved0        resd 1
  .rsp0             resq 1
  .rsp1             resq 1
  .rsp2             resq 1
  .reserved1        resq 1
  .ist1             resq 1
  .ist2             resq 1
  .ist3             resq 1
  .ist4             resq 1
  .ist5             resq 1
  .ist6             resq 1
  .ist7             resq 1
  .reserved2        resq 1
  .reserved3        resw 1
  .iomap_base       resw 1
endstruc

; ---------------------------------------------------------------------------------------------
; gdt_init -- Loads the kernel GDT, reloads the segment registers and the task register.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RCX
gdt_init:
	; IST1 stack top into the TSS, the TSS base into its descriptor
	mov rax, ist1_stack + IST_STACK_BYTES
	mov [kernel_tss + tss64.ist1], rax
	mov word [kernel_tss + tss64.iomap_base], tss64_size
	mov rax, kernel_tss
	mov [gdt_tss + 2], ax               ; base 15:0
	shr rax, 16
	mov [gdt_tss + 4], al               ; base 23:16
	mov [gdt_tss + 7], ah               ; base 31:24
	shr rax, 16
	mov [gdt_tss + 8], eax              ; base 63:32

	lgdt [gdt_ptr]
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	; reload CS with a far return
	lea rax, [rel .reload_cs]
	push qword SEL_CODE64
	push rax
	retfq
.reload_cs:
	mov ax, SEL_TSS
	ltr ax
	ret

align 8
gdt:
	dq 0                                ; null
	dq 0x00AF9A000000FFFF               ; SEL_CODE64
	dq 0x00CF92000000FFFF               ; SEL_DATA
gdt_tss:                                ; SEL_TSS: 16-byte available 64-bit TSS descriptor
	dw tss64_size - 1                   ; limit
	dw 0                                ; base 15:0   (filled by gdt_init)
	db 0                                ; base 23:16
	db 0x89                             ; present, type 9 = available 64-bit TSS
	db 0                                ; limit 19:16, flags
	db 0                                ; base 31:24
	dd 0                                ; base 63:32
	dd 0                                ; reserved
gdt_end:
gdt_ptr:
	dw gdt_end - gdt - 1
	dq gdt

section .bss
alignb 16
kernel_tss:         resb tss64_size
alignb 16
ist1_stack:         resb IST_STACK_BYTES ; #DF, NMI, #MC run on this stack
section .text
