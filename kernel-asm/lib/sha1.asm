; sha1.asm -- SHA-1 (FIPS 180-4), shared by stage 2 and the kernel.
; Include it in 64-bit code (`bits 64`); it needs no org, no .bss and no tables: every address
; it touches comes from its callers or from the stack. All names start with sha1_.
;
; Streaming use: sha1_init, then sha1_update as often as needed (any lengths, any split points),
; then sha1_final. One-shot: sha1_buffer (its context lives on the stack).
; Every routine keeps all general registers; the status flags come back undefined; DF is neither
; read nor changed.
;
; Speed: one 64-byte block is 80 fully unrolled rounds held in registers (R8D..R12D = a..e),
; with the 16-word message schedule kept as a ring on the stack.

%ifndef SHA1_ASM
%define SHA1_ASM

%if __?BITS?__ != 64
%error "sha1.asm must be included in 64-bit code"
%endif

struc sha1_ctx
  .h                resd 5              ; chaining value H0..H4 (native dwords)
  .block            resb 64             ; bytes of the block being filled
  .used             resq 1              ; bytes in .block (0..63 between calls)
  .total            resq 1              ; bytes hashed so far (message length)
endstruc

SHA1_CTX_STACK      equ (sha1_ctx_size + 15) & ~15     ; sha1_buffer's frame

SHA1_K0             equ 0x5A827999      ; rounds  0..19
SHA1_K1             equ 0x6ED9EBA1      ; rounds 20..39
SHA1_K2             equ 0x8F1BBCDC      ; rounds 40..59
SHA1_K3             equ 0xCA62C1D6      ; rounds 60..79

; sha1_round a, b, c, d, e, t -- one SHA-1 round t (0..79) on 32-bit registers a..e:
;   W[t] (from the block at RSI for t < 16, else from the ring at RSP), then
;   e += rol(a, 5) + f_t(b, c, d) + K_t + W[t];  b = rol(b, 30)
; The caller rotates the register names instead of moving values.
; Uses EAX (W[t]) and EDX (f).
%macro sha1_round 6
  %assign %%t %6
  %if %%t < 16
	mov eax, [rsi + 4*%%t]
	bswap eax
	mov [rsp + 4*%%t], eax
  %else
	mov eax, [rsp + 4*((%%t - 3) & 15)]
	xor eax, [rsp + 4*((%%t - 8) & 15)]
	xor eax, [rsp + 4*((%%t - 14) & 15)]
	xor eax, [rsp + 4*(%%t & 15)]
	rol eax, 1
	mov [rsp + 4*(%%t & 15)], eax
  %endif
  %if %%t < 20
	lea %5, [%5 + eax + SHA1_K0]
	mov edx, %3                         ; Ch(b, c, d) = d ^ (b & (c ^ d))
	xor edx, %4
	and edx, %2
	xor edx, %4
  %elif %%t < 40
	lea %5, [%5 + eax + SHA1_K1]
	mov edx, %2                         ; Parity(b, c, d)
	xor edx, %3
	xor edx, %4
  %elif %%t < 60
	lea %5, [%5 + eax + SHA1_K2]
	mov edx, %2                         ; Maj(b, c, d) = (b & c) + (d & (b ^ c))
	and edx, %3
	add %5, edx
	mov edx, %2
	xor edx, %3
	and edx, %4
  %else
	lea %5, [%5 + eax + SHA1_K3]
	mov edx, %2                         ; Parity(b, c, d)
	xor edx, %3
	xor edx, %4
  %endif
	add %5, edx
	mov edx, %1
	rol edx, 5
	add %5, edx
	rol %2, 30
%endmacro

; ---------------------------------------------------------------------------------------------
; sha1_init -- Starts a new SHA-1 computation in a context.
;  IN:  RDI = sha1_ctx
;  OUT: nothing (the context holds H0..H4, no bytes, length 0)
;  CLOBBERS: nothing
sha1_init:
	mov dword [rdi + sha1_ctx.h + 0], 0x67452301
	mov dword [rdi + sha1_ctx.h + 4], 0xEFCDAB89
	mov dword [rdi + sha1_ctx.h + 8], 0x98BADCFE
	mov dword [rdi + sha1_ctx.h + 12], 0x10325476
	mov dword [rdi + sha1_ctx.h + 16], 0xC3D2E1F0
	mov qword [rdi + sha1_ctx.used], 0
	mov qword [rdi + sha1_ctx.total], 0
	ret

; ---------------------------------------------------------------------------------------------
; sha1_update -- Hashes more message bytes; any length, including 0.
;  IN:  RDI = sha1_ctx (from sha1_init), RSI = data, RCX = length in bytes
;  OUT: nothing (the context has taken the bytes)
;  CLOBBERS: nothing
sha1_update:
	push rax
	push rcx
	push rdx
	push rsi
	push r8
	push r9
	push r10
	push r11
	push r12
	add [rdi + sha1_ctx.total], rcx
	mov rdx, [rdi + sha1_ctx.used]
	test rdx, rdx
	jz .whole_blocks
	; top up the partial block first
.fill:
	test rcx, rcx
	jz .done
	mov al, [rsi]
	mov [rdi + sha1_ctx.block + rdx], al
	inc rsi
	dec rcx
	inc rdx
	cmp rdx, 64
	jb .fill
	push rsi
	lea rsi, [rdi + sha1_ctx.block]
	call sha1_compress
	pop rsi
.whole_blocks:
	; straight from the caller's buffer while 64 bytes remain
	cmp rcx, 64
	jb .tail
	call sha1_compress
	add rsi, 64
	sub rcx, 64
	jmp .whole_blocks
.tail:
	; keep the rest (< 64 bytes) in the context, which holds no bytes now
	xor edx, edx
.tail_byte:
	test rcx, rcx
	jz .done
	mov al, [rsi]
	mov [rdi + sha1_ctx.block + rdx], al
	inc rsi
	inc rdx
	dec rcx
	jmp .tail_byte
.done:
	mov [rdi + sha1_ctx.used], rdx
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rsi
	pop rdx
	pop rcx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; sha1_final -- Pads the message (0x80, zeros, 64-bit big-endian bit length) and writes the
; digest. The context is spent afterwards (sha1_init it again to reuse it).
;  IN:  RDI = sha1_ctx, RDX = 20-byte output buffer
;  OUT: [RDX] = the digest, big-endian H0..H4 (the usual byte order of a SHA-1)
;  CLOBBERS: nothing
sha1_final:
	push rax
	push rcx
	push rdx
	push rsi
	push r8
	push r9
	push r10
	push r11
	push r12
	mov rcx, [rdi + sha1_ctx.used]
	mov byte [rdi + sha1_ctx.block + rcx], 0x80
	inc rcx
	lea rsi, [rdi + sha1_ctx.block]
	cmp rcx, 56
	jbe .zero_to_length
	; no room for the length in this block: zero it out, hash it, start an empty one
.zero_to_end:
	cmp rcx, 64
	jae .full
	mov byte [rsi + rcx], 0
	inc rcx
	jmp .zero_to_end
.full:
	call sha1_compress
	xor ecx, ecx
.zero_to_length:
	cmp rcx, 56
	jae .length
	mov byte [rsi + rcx], 0
	inc rcx
	jmp .zero_to_length
.length:
	mov rax, [rdi + sha1_ctx.total]
	shl rax, 3                          ; bits
	bswap rax
	mov [rsi + 56], rax
	call sha1_compress
	; rounds leave RSI and RDI alone; RDX = the output buffer again
	mov rdx, [rsp + 6*8]
	mov eax, [rdi + sha1_ctx.h + 0]
	bswap eax
	mov [rdx + 0], eax
	mov eax, [rdi + sha1_ctx.h + 4]
	bswap eax
	mov [rdx + 4], eax
	mov eax, [rdi + sha1_ctx.h + 8]
	bswap eax
	mov [rdx + 8], eax
	mov eax, [rdi + sha1_ctx.h + 12]
	bswap eax
	mov [rdx + 12], eax
	mov eax, [rdi + sha1_ctx.h + 16]
	bswap eax
	mov [rdx + 16], eax
	mov qword [rdi + sha1_ctx.used], 0
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rsi
	pop rdx
	pop rcx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; sha1_buffer -- SHA-1 of one buffer in one call (init, update, final on a stack context).
;  IN:  RSI = data, RCX = length in bytes, RDX = 20-byte output buffer
;  OUT: [RDX] = the digest, big-endian
;  CLOBBERS: nothing (uses about 300 bytes of stack)
sha1_buffer:
	push rdi
	sub rsp, SHA1_CTX_STACK
	mov rdi, rsp
	call sha1_init
	call sha1_update
	call sha1_final
	add rsp, SHA1_CTX_STACK
	pop rdi
	ret

; ---------------------------------------------------------------------------------------------
; sha1_compress -- Internal: folds one 64-byte block into the chaining value.
;  IN:  RDI = sha1_ctx, RSI = the 64-byte block (any alignment; may be the ctx's own .block)
;  OUT: [RDI + sha1_ctx.h] updated
;  CLOBBERS: RAX, RDX, R8, R9, R10, R11, R12 (uses 64 bytes of stack for the schedule)
sha1_compress:
	sub rsp, 64
	mov r8d, [rdi + sha1_ctx.h + 0]
	mov r9d, [rdi + sha1_ctx.h + 4]
	mov r10d, [rdi + sha1_ctx.h + 8]
	mov r11d, [rdi + sha1_ctx.h + 12]
	mov r12d, [rdi + sha1_ctx.h + 16]
%assign sha1_t 0
%rep 16
	sha1_round r8d,  r9d,  r10d, r11d, r12d, sha1_t
	sha1_round r12d, r8d,  r9d,  r10d, r11d, sha1_t + 1
	sha1_round r11d, r12d, r8d,  r9d,  r10d, sha1_t + 2
	sha1_round r10d, r11d, r12d, r8d,  r9d,  sha1_t + 3
	sha1_round r9d,  r10d, r11d, r12d, r8d,  sha1_t + 4
  %assign sha1_t sha1_t + 5
%endrep
	add [rdi + sha1_ctx.h + 0], r8d
	add [rdi + sha1_ctx.h + 4], r9d
	add [rdi + sha1_ctx.h + 8], r10d
	add [rdi + sha1_ctx.h + 12], r11d
	add [rdi + sha1_ctx.h + 16], r12d
	add rsp, 64
	ret

%endif ; SHA1_ASM
