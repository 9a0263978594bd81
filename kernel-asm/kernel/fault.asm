; fault.asm -- test builds only (TEST_FAULT=N): raises CPU exception N at the label
; fault_site so tests can check the panic event's vector and rip against the symbol map.

; ---------------------------------------------------------------------------------------------
; fault_raise -- Raises the exception selected at build time.
;  IN:  nothing
;  OUT: does not return (the exception handler halts)
;  CLOBBERS: everything
fault_raise:
%if TEST_FAULT == 0
	xor ecx, ecx
	xor edx, edx
	mov eax, 1
fault_site:
	div ecx                             ; #DE
%elif TEST_FAULT == 3
fault_site:
	int3                                ; #BP (a trap: rip points after it)
%elif TEST_FAULT == 6
fault_site:
	ud2                                 ; #UD
%elif TEST_FAULT == 13
	mov rax, 0x8000000000000000         ; non-canonical
fault_site:
	mov rbx, [rax]                      ; #GP
%elif TEST_FAULT == 14
	mov rax, 0x80000000                 ; 2 GiB: above the identity-mapped 1 GiB
fault_site:
	mov rbx, [rax]                      ; #PF, cr2 = 0x80000000
%else
%error "TEST_FAULT must be one of 0, 3, 6, 13, 14"
%endif
	jmp panic_halt
