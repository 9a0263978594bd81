; delta_enc.asm -- a git delta encoder (docs/gitfs-format.md, "Delta payload"): the base's
; 16-byte blocks (at multiples of 16) go into a hash table, then a rolling hash over every
; 16-byte window of the target finds blocks it shares with the base; a match is extended
; forward and backward byte by byte and emitted as a copy, the bytes between matches as
; inserts. Good for small edits anywhere in a big file (each costs about its own bytes plus a
; copy opcode); memory is the caller's table (DELTA_INDEX_BYTES) and output buffer, time is
; linear in base + target (a block whose hash collides is verified, never trusted).
; The result is read by gitfs_delta_apply, by gitfs/delta.ts and by git (packfile REF_DELTA).
; Public: delta_encode, DELTA_INDEX_BYTES.

%ifndef DELTA_ENC_ASM
%define DELTA_ENC_ASM

DELTA_BLOCK         equ 16              ; bytes a match starts from
DELTA_INDEX_BITS    equ 18              ; 2^18 slots of u32 (base offset + 1; 0 = empty)
DELTA_INDEX_BYTES   equ (1 << DELTA_INDEX_BITS) * 4   ; 1 MiB
DELTA_MUL           equ 0x01000193      ; the rolling hash's multiplier (FNV's prime)
DELTA_MIX           equ 0x9E3779B1      ; golden-ratio multiply: hash -> slot
DELTA_COPY_MAX      equ 0xFFFFFF        ; 3 size bytes
DELTA_INSERT_MAX    equ 127
DELTA_BASE_MAX      equ 0xFFFFFFF0      ; offsets are kept as u32

; DELTA_MUL ^ DELTA_BLOCK mod 2^32: removes the byte leaving the rolling window
%assign delta_pow 1
%rep DELTA_BLOCK
%assign delta_pow (delta_pow * DELTA_MUL) & 0xFFFFFFFF
%endrep
DELTA_MUL_POW       equ delta_pow

; ---------------------------------------------------------------------------------------------
; delta_encode -- Encodes a target as a git delta against a base.
;  IN:  RSI = base, RCX = base length (< 4 GiB), RDX = target, R8 = target length,
;       RDI = output buffer, R9 = its capacity in bytes, R10 = index table (DELTA_INDEX_BYTES,
;       8-byte aligned, its contents are overwritten)
;  OUT: CF = 0: RAX = delta length (bytes at the output buffer); CF = 1: the delta does not fit
;       in the capacity (or the base is too large): nothing usable in the buffer
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8-R11
delta_encode:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdi                            ; the output's start
	mov r12, rsi                        ; base
	mov r13, rcx                        ; base length
	mov r14, rdx                        ; target
	mov r15, r8                         ; target length
	lea rbp, [rdi + r9]                 ; output end
	mov rax, DELTA_BASE_MAX
	cmp r13, rax
	ja .full
	; header: base size, result size (varints)
	mov rax, r13
	call denc_varint
	jc .full
	mov rax, r15
	call denc_varint
	jc .full
	; the table: empty, then every base block at a multiple of DELTA_BLOCK (first one wins)
	push rdi
	mov rdi, r10
	xor eax, eax
	mov ecx, DELTA_INDEX_BYTES / 8
	rep stosq
	pop rdi
	xor ebx, ebx                        ; base offset
.index:
	lea rax, [rbx + DELTA_BLOCK]
	cmp rax, r13
	ja .indexed
	lea rsi, [r12 + rbx]
	call denc_block_hash                ; EAX = hash
	call denc_slot                      ; RAX = slot
	cmp dword [r10 + rax * 4], 0
	jne .index_next
	lea edx, [ebx + 1]
	mov [r10 + rax * 4], edx
.index_next:
	add rbx, DELTA_BLOCK
	jmp .index
.indexed:
	; the scan: RBX = target position, R11 = first byte not yet emitted, R8D = rolling hash
	xor ebx, ebx
	xor r11d, r11d
	cmp r15, DELTA_BLOCK
	jb .tail
	mov rsi, r14
	call denc_block_hash
	mov r8d, eax
.scan:
	mov eax, r8d
	call denc_slot
	mov eax, [r10 + rax * 4]
	test eax, eax
	jz .roll
	lea rcx, [rax - 1]                  ; candidate base offset
	mov rax, [r12 + rcx]
	cmp rax, [r14 + rbx]
	jne .roll
	mov rax, [r12 + rcx + 8]
	cmp rax, [r14 + rbx + 8]
	jne .roll
	; a match of DELTA_BLOCK bytes at base RCX: forward while bytes agree
	mov rdx, DELTA_BLOCK                ; length so far
	mov rax, r15
	sub rax, rbx                        ; target bytes left
	mov r9, r13
	sub r9, rcx                         ; base bytes left
	cmp r9, rax
	jbe .limit
	mov r9, rax                         ; R9 = the longest possible match
.limit:
.fwd8:
	lea rax, [rdx + 8]
	cmp rax, r9
	ja .fwd1
	lea rsi, [r12 + rcx]
	mov rax, [rsi + rdx]
	lea rsi, [r14 + rbx]
	cmp rax, [rsi + rdx]
	jne .fwd1
	add rdx, 8
	jmp .fwd8
.fwd1:
	cmp rdx, r9
	jae .back
	lea rsi, [r12 + rcx]
	mov al, [rsi + rdx]
	lea rsi, [r14 + rbx]
	cmp al, [rsi + rdx]
	jne .back
	inc rdx
	jmp .fwd1
.back:
	; backward into the bytes not yet emitted, while the base has bytes before the match
.back1:
	cmp rbx, r11
	jbe .emit
	test rcx, rcx
	jz .emit
	mov al, [r12 + rcx - 1]
	cmp al, [r14 + rbx - 1]
	jne .emit
	dec rbx
	dec rcx
	inc rdx
	jmp .back1
.emit:
	push rcx
	push rdx
	mov rsi, r11                        ; the pending bytes [R11, RBX) as inserts
	mov rcx, rbx
	call denc_insert
	pop rdx
	pop rcx
	jc .full
	mov rax, rcx
	call denc_copy                      ; RAX = base offset, RDX = length
	jc .full
	add rbx, rdx
	mov r11, rbx
	lea rax, [rbx + DELTA_BLOCK]
	cmp rax, r15
	ja .tail
	lea rsi, [r14 + rbx]
	call denc_block_hash
	mov r8d, eax
	jmp .scan
.roll:
	lea rax, [rbx + DELTA_BLOCK]
	cmp rax, r15
	jae .tail                           ; the window was the last one
	imul r8d, r8d, DELTA_MUL
	movzx eax, byte [r14 + rbx]
	imul eax, eax, DELTA_MUL_POW
	sub r8d, eax
	movzx eax, byte [r14 + rbx + DELTA_BLOCK]
	add r8d, eax
	inc rbx
	jmp .scan
.tail:
	mov rsi, r11
	mov rcx, r15
	call denc_insert
	jc .full
	mov rax, rdi
	sub rax, [rsp]                      ; the delta's length
	add rsp, 8
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret
.full:
	add rsp, 8
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	stc
	ret

; ---------------------------------------------------------------------------------------------
; denc_varint -- (internal) Appends a delta header size: 7 bits a byte, low first, bit 7 = more.
;  IN:  RAX = value, RDI = output cursor, RBP = output end
;  OUT: CF = 0 and RDI advanced; CF = 1 no room
;  CLOBBERS: RAX, RDX
denc_varint:
	mov rdx, rax
.byte:
	cmp rdi, rbp
	jae .full
	mov eax, edx
	and eax, 0x7F
	shr rdx, 7
	jz .last
	or al, 0x80
	stosb
	jmp .byte
.last:
	stosb
	clc
	ret
.full:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; denc_block_hash -- (internal) The rolling hash of DELTA_BLOCK bytes: sum of b[i] * MUL^(15-i).
;  IN:  RSI = bytes
;  OUT: EAX = hash
;  CLOBBERS: RAX, RDX
denc_block_hash:
	movzx eax, byte [rsi]
%assign denc_i 1
%rep DELTA_BLOCK - 1
	imul eax, eax, DELTA_MUL
	movzx edx, byte [rsi + denc_i]
	add eax, edx
%assign denc_i denc_i + 1
%endrep
	ret

; ---------------------------------------------------------------------------------------------
; denc_slot -- (internal) A hash's table slot (its top bits after a golden-ratio multiply).
;  IN:  EAX = hash
;  OUT: RAX = slot (< 2^DELTA_INDEX_BITS)
;  CLOBBERS: RAX
denc_slot:
	imul eax, eax, DELTA_MIX
	shr eax, 32 - DELTA_INDEX_BITS
	ret

; ---------------------------------------------------------------------------------------------
; denc_insert -- (internal) Appends target bytes [RSI, RCX) as insert opcodes (127 at most each).
;  IN:  RSI = first target offset, RCX = offset past the last, R14 = target, RDI = output
;       cursor, RBP = output end
;  OUT: CF = 0 and RDI advanced; CF = 1 no room
;  CLOBBERS: RAX, RCX, RDX, RSI
denc_insert:
	mov rdx, rcx
	sub rdx, rsi                        ; bytes to insert
	add rsi, r14
.op:
	test rdx, rdx
	jz .done
	mov rcx, rdx
	cmp rcx, DELTA_INSERT_MAX
	jbe .len
	mov ecx, DELTA_INSERT_MAX
.len:
	lea rax, [rdi + rcx + 1]
	cmp rax, rbp
	ja .full
	mov al, cl
	stosb
	sub rdx, rcx
	rep movsb
	jmp .op
.done:
	clc
	ret
.full:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; denc_copy -- (internal) Appends copy opcodes for base bytes [RAX, RAX + RDX) (DELTA_COPY_MAX
; at most each): the opcode, then only the offset and size bytes that are not zero.
;  IN:  RAX = base offset, RDX = length (> 0), RDI = output cursor, RBP = output end
;  OUT: CF = 0 and RDI advanced; CF = 1 no room
;  CLOBBERS: RAX, RCX, RSI, R8, R9 (RDX kept)
denc_copy:
	push rdx
	push rbx
	mov rbx, rax                        ; offset
	mov rsi, rdx                        ; bytes left
.op:
	test rsi, rsi
	jz .done
	lea rax, [rdi + 8]                  ; an opcode and at most 7 argument bytes
	cmp rax, rbp
	ja .full
	mov rdx, rsi
	cmp rdx, DELTA_COPY_MAX
	jbe .len
	mov edx, DELTA_COPY_MAX
.len:
	mov rax, rdi                        ; the opcode's place
	inc rdi
	mov r9d, 0x80                       ; the opcode being built
	xor ecx, ecx
.off:
	mov r8, rbx
	push rcx
	shl ecx, 3
	shr r8, cl
	pop rcx
	test r8b, r8b
	jz .off_next
	mov [rdi], r8b
	inc rdi
	bts r9d, ecx                        ; bits 0-3: offset byte ECX follows
.off_next:
	inc ecx
	cmp ecx, 4
	jb .off
	xor ecx, ecx
.size:
	mov r8, rdx
	push rcx
	shl ecx, 3
	shr r8, cl
	pop rcx
	test r8b, r8b
	jz .size_next
	mov [rdi], r8b
	inc rdi
	lea r8d, [ecx + 4]
	bts r9d, r8d                        ; bits 4-6: size byte ECX follows
.size_next:
	inc ecx
	cmp ecx, 3
	jb .size
	mov [rax], r9b
	add rbx, rdx
	sub rsi, rdx
	jmp .op
.done:
	pop rbx
	pop rdx
	clc
	ret
.full:
	pop rbx
	pop rdx
	stc
	ret

%endif
