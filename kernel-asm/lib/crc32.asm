; crc32.asm -- CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320; the zlib crc32), used to check
; GitFS superblocks and indexes (and, in the kernel, every GTP DATA chunk). Include it in 64-bit
; code (`bits 64`); no org, no .bss: the 256-entry table is computed by the assembler and
; reached RIP-relative. Names start with crc32_.
; With CRC32_SLICE8 defined (the kernel), runs of 8 bytes go through eight tables at once
; (slicing-by-8, Kounavis & Berry): one qword load and eight lookups per 8 bytes instead of
; eight dependent table steps. Its 8 KiB of tables live in .bss, derived from crc32_table on
; first use.

%ifndef CRC32_ASM
%define CRC32_ASM

%if __?BITS?__ != 64
%error "crc32.asm must be included in 64-bit code"
%endif

CRC32_POLY          equ 0xEDB88320      ; reflected 0x04C11DB7

; ---------------------------------------------------------------------------------------------
; crc32_buffer -- zlib's crc32(crc, buf, len): the init and final XOR with 0xFFFFFFFF happen
; inside, so calls chain: crc32(crc32(0, a), b) = crc32(0, a || b). Length 0 returns EAX as is.
;  IN:  RSI = data, RCX = length in bytes, EAX = previous crc (0 to start)
;  OUT: EAX = crc (upper half of RAX zero)
;  CLOBBERS: nothing else (status flags undefined; DF is not used)
crc32_buffer:
	push rcx
	push rdx
	push rsi
	push r8
	lea r8, [rel crc32_table]
	not eax
%ifdef CRC32_SLICE8
	cmp rcx, 16
	jb .dword
	call crc32_slice8
%endif
.dword:
	; four bytes per step: fold them in, then shift them out through the table
	cmp rcx, 4
	jb .tail
	xor eax, [rsi]
%rep 4
	movzx edx, al
	shr eax, 8
	xor eax, [r8 + rdx*4]
%endrep
	add rsi, 4
	sub rcx, 4
	jmp .dword
.tail:
	test rcx, rcx
	jz .done
	movzx edx, byte [rsi]
	xor dl, al
	shr eax, 8
	xor eax, [r8 + rdx*4]
	inc rsi
	dec rcx
	jmp .tail
.done:
	not eax
	pop r8
	pop rsi
	pop rdx
	pop rcx
	ret

%ifdef CRC32_SLICE8
; ---------------------------------------------------------------------------------------------
; crc32_slice8 -- (internal) crc32_buffer's inner loop over whole 8-byte runs, slicing-by-8:
; T0 = crc32_table, Tk[n] = (T(k-1)[n] >> 8) ^ T0[T(k-1)[n] & 0xFF] (the tables are made on the
; first call).
;  IN:  EAX = the running (inverted) crc, RSI = data, RCX = length (>= 8)
;  OUT: EAX = the crc after the bytes taken, RSI, RCX past them (RCX < 8 left)
;  CLOBBERS: RDX, R8
crc32_slice8:
	cmp byte [crc32_s8_ready], 0
	jne .ready
	call crc32_s8_make
.ready:
	push rbx
	mov r8, crc32_s8
	mov edx, eax
.step:
	mov rax, [rsi]
	xor rax, rdx                        ; the crc folds into the low 4 bytes (RDX < 2^32)
	movzx ebx, al
	mov edx, [r8 + 7 * 1024 + rbx * 4]
	movzx ebx, ah
	xor edx, [r8 + 6 * 1024 + rbx * 4]
	shr rax, 16
	movzx ebx, al
	xor edx, [r8 + 5 * 1024 + rbx * 4]
	movzx ebx, ah
	xor edx, [r8 + 4 * 1024 + rbx * 4]
	shr rax, 16
	movzx ebx, al
	xor edx, [r8 + 3 * 1024 + rbx * 4]
	movzx ebx, ah
	xor edx, [r8 + 2 * 1024 + rbx * 4]
	shr eax, 16
	movzx ebx, al
	xor edx, [r8 + 1 * 1024 + rbx * 4]
	movzx ebx, ah
	xor edx, [r8 + rbx * 4]
	add rsi, 8
	sub rcx, 8
	cmp rcx, 8
	jae .step
	mov eax, edx
	pop rbx
	lea r8, [rel crc32_table]
	ret

; ---------------------------------------------------------------------------------------------
; crc32_s8_make -- (internal) Fills the eight slicing tables from crc32_table.
;  IN:  nothing
;  OUT: crc32_s8, crc32_s8_ready = 1
;  CLOBBERS: nothing
crc32_s8_make:
	push rax
	push rcx
	push rdx
	push rsi
	push rdi
	lea rsi, [rel crc32_table]
	mov rdi, crc32_s8
	mov ecx, 256
	rep movsd                           ; T0
	mov rdi, crc32_s8
	xor ecx, ecx                        ; entry index over T1..T7 (from 256)
.entry:
	mov eax, [rdi + rcx * 4]            ; T(k-1)[n]
	movzx edx, al
	shr eax, 8
	xor eax, [rdi + rdx * 4]            ; ^ T0[low byte]
	mov [rdi + rcx * 4 + 1024], eax     ; Tk[n]
	inc ecx
	cmp ecx, 7 * 256
	jb .entry
	mov byte [crc32_s8_ready], 1
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rax
	ret

section .bss
alignb 64
crc32_s8:           resd 8 * 256        ; T0..T7
crc32_s8_ready:     resb 1
section .text
%endif

; crc32_table -- T[n] = the CRC register after shifting byte n through 8 rounds of the poly.
	align 4
crc32_table:
%assign crc32_n 0
%rep 256
  %assign crc32_c crc32_n
  %rep 8
    %if crc32_c & 1
      %assign crc32_c (crc32_c >> 1) ^ CRC32_POLY
    %else
      %assign crc32_c crc32_c >> 1
    %endif
  %endrep
	dd crc32_c
  %assign crc32_n crc32_n + 1
%endrep

%endif ; CRC32_ASM
