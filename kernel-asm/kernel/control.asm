; control.asm -- the line-oriented control channel on COM1 (the shell grows from it).
; Polled from the main loop; never blocks. Commands:
;   ping        -> EVENT pong ticks=N ms=N
;   exit N      -> writes N to the QEMU debug-exit port (QEMU exits with (N << 1) | 1)
;   help        -> EVENT help commands=ping,exit,help,hash
;   hash N      -> reads N raw bytes, then EVENT hash size=N sha1=<40 hex> crc32=0x...
; Anything else -> EVENT error cmd=control reason=unknown-command
; A line longer than CONTROL_LINE_MAX is dropped whole (EVENT error ... reason=line-too-long).

CONTROL_LINE_MAX    equ 120

; ---------------------------------------------------------------------------------------------
; control_poll -- Takes every byte waiting on COM1; runs the command when a line ends.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI
control_poll:
.next:
	call serial_poll
	jc .done
	cmp al, 13
	je .eol
	cmp al, 10
	je .eol
	mov rcx, [control_len]
	cmp rcx, CONTROL_LINE_MAX
	jae .overflow
	mov [control_line + rcx], al
	inc qword [control_len]
	jmp .next
.overflow:
	mov byte [control_overflow], 1
	jmp .next
.eol:
	cmp byte [control_overflow], 0
	jne .too_long
	mov rcx, [control_len]
	test rcx, rcx
	jz .next                            ; empty line (e.g. the LF of a CR LF)
	mov byte [control_line + rcx], 0
	call control_run
	mov qword [control_len], 0
	jmp .next
.too_long:
	mov byte [control_overflow], 0
	mov qword [control_len], 0
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_cmd
	mov rdx, str_control
	call event_kv_str
	mov rsi, str_key_reason
	mov rdx, str_line_too_long
	call event_kv_str
	call event_end
	jmp .next
.done:
	ret

; ---------------------------------------------------------------------------------------------
; control_run -- Runs the command in control_line.
;  IN:  control_line = zero-terminated command
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI
control_run:
	mov rsi, control_line
	mov rdi, str_cmd_ping
	call str_prefix_word
	jnc .ping
	mov rdi, str_cmd_exit
	call str_prefix_word
	jnc .exit
	mov rdi, str_cmd_help
	call str_prefix_word
	jnc .help
	mov rdi, str_cmd_hash
	call str_prefix_word
	jnc .hash
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_cmd
	mov rdx, str_control
	call event_kv_str
	mov rsi, str_key_reason
	mov rdx, str_unknown_command
	call event_kv_str
	call event_end
	ret
.ping:
	mov rsi, str_ev_pong
	call event_begin
	mov rsi, str_key_ticks
	mov rax, [ticks]
	call event_kv_dec
	mov rsi, str_key_ms
	call time_ms_since_reset
	call event_kv_dec
	call event_end
	ret
.help:
	mov rsi, str_ev_help
	call event_begin
	mov rsi, str_key_commands
	mov rdx, str_command_list
	call event_kv_str
	call event_end
	ret
.hash:
	; hash SIZE, then SIZE raw bytes: SHA-1 and CRC-32 of them (tests the kernel's hashing
	; against the host's)
	call parse_number
	cmp rax, HASH_INPUT_MAX
	ja .hash_too_big
	mov [hash_len], rax
	mov rdi, HEAP_ADDR
	mov rcx, rax
	call serial_read_exact
	jc .hash_timeout
	mov rsi, HEAP_ADDR
	mov rcx, [hash_len]
	mov rdx, hash_digest
	call sha1_buffer
	xor eax, eax
	call crc32_buffer
	mov [hash_crc], eax
	mov rsi, str_ev_hash
	call event_begin
	mov rsi, str_key_size
	mov rax, [hash_len]
	call event_kv_dec
	mov rsi, str_key_sha1
	call event_key
	mov rsi, hash_digest
	mov rcx, 20
	call serial_put_hexbytes
	mov rsi, str_key_crc32
	mov eax, [hash_crc]
	call event_kv_hex
	call event_end
	ret
.hash_too_big:
	mov rdx, str_too_big
	jmp .hash_error
.hash_timeout:
	mov rdx, str_input_timeout
.hash_error:
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_cmd
	push rdx
	mov rdx, str_cmd_hash
	call event_kv_str
	pop rdx
	mov rsi, str_key_reason
	call event_kv_str
	call event_end
	ret
.exit:
	; RSI points after "exit": parse a decimal or 0x-prefixed hex number
	call parse_number
	mov rdx, rax
	mov rsi, str_ev_exit
	call event_begin
	mov rsi, str_key_code
	call event_kv_dec
	call event_end
	mov eax, edx
	out DEBUG_EXIT_PORT, al
	; still here: no isa-debug-exit device
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_cmd
	mov rdx, str_cmd_exit
	call event_kv_str
	mov rsi, str_key_reason
	mov rdx, str_no_debug_exit
	call event_kv_str
	call event_end
	ret

; ---------------------------------------------------------------------------------------------
; str_prefix_word -- Is the word at RSI equal to the word at RDI (followed by space or end)?
;  IN:  RSI = line, RDI = zero-terminated word
;  OUT: CF = 0 on a match with RSI advanced past the word and any spaces; CF = 1 otherwise
;       (RSI unchanged)
;  CLOBBERS: RAX, RDI
str_prefix_word:
	push rsi
.cmp:
	mov al, [rdi]
	test al, al
	jz .word_end
	cmp al, [rsi]
	jne .no
	inc rsi
	inc rdi
	jmp .cmp
.word_end:
	mov al, [rsi]
	test al, al
	jz .yes
	cmp al, ' '
	jne .no
.skip_spaces:
	cmp byte [rsi], ' '
	jne .yes
	inc rsi
	jmp .skip_spaces
.yes:
	add rsp, 8
	clc
	ret
.no:
	pop rsi
	stc
	ret

; ---------------------------------------------------------------------------------------------
; parse_number -- Parses an unsigned decimal or 0x-prefixed hexadecimal number.
;  IN:  RSI = text
;  OUT: RAX = value (digits up to the first non-digit)
;  CLOBBERS: RCX, RSI
parse_number:
	xor eax, eax
	cmp word [rsi], '0x'
	je .hex
.dec:
	movzx ecx, byte [rsi]
	sub ecx, '0'
	cmp ecx, 9
	ja .done
	imul rax, rax, 10
	add rax, rcx
	inc rsi
	jmp .dec
.hex:
	add rsi, 2
.hex_digit:
	movzx ecx, byte [rsi]
	or ecx, 0x20                        ; lowercase letters
	sub ecx, '0'
	cmp ecx, 9
	jbe .hex_add
	sub ecx, 'a' - '0'
	cmp ecx, 5
	ja .done
	add ecx, 10
.hex_add:
	shl rax, 4
	add rax, rcx
	inc rsi
	jmp .hex_digit
.done:
	ret

str_cmd_ping:        db "ping", 0
str_cmd_exit:        db "exit", 0
str_cmd_help:        db "help", 0
str_cmd_hash:        db "hash", 0
str_ev_hash:         db "hash", 0
str_key_sha1:        db "sha1", 0
str_key_crc32:       db "crc32", 0
str_too_big:         db "too-big", 0
str_input_timeout:   db "input-timeout", 0
str_ev_pong:         db "pong", 0
str_ev_help:         db "help", 0
str_ev_exit:         db "exit", 0
str_ev_error:        db "error", 0
str_key_cmd:         db "cmd", 0
str_key_reason:      db "reason", 0
str_key_code:        db "code", 0
str_key_commands:    db "commands", 0
str_control:         db "control", 0
str_command_list:    db "ping,exit,help,hash", 0
str_unknown_command: db "unknown-command", 0
str_line_too_long:   db "line-too-long", 0
str_no_debug_exit:   db "no-debug-exit", 0
