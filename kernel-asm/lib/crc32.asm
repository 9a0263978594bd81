; crc32.asm -- CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320; the zlib crc32), used to check
; GitFS superblocks and indexes. Include it in 64-bit code (`bits 64`); no org, no .bss: the
; 256-entry table is computed by the assembler and reached RIP-relative. Names start with crc32_.

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
