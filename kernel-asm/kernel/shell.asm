; shell.asm -- the serial shell on COM1: a line-oriented command interpreter a host program
; can drive. Polled from the main loop; never blocks the loop while no line is complete.
;
; Protocol (docs/shell.md):
;   - the host sends one command per line (LF or CR LF); the kernel does not echo;
;   - a command writes text lines and/or EVENT lines; a binary payload is announced by
;     `EVENT data size=N` and followed by exactly N raw bytes;
;   - every command ends with the marker `EVENT end cmd=NAME status=ok|error`, then the
;     prompt `gt> ` (no newline);
;   - errors are `EVENT error cmd=NAME reason=...` before the end marker.
; A line longer than SHELL_LINE_MAX is dropped whole (reason=line-too-long); an unknown
; command gives reason=unknown-command.

SHELL_LINE_MAX      equ 1024
HASH_INPUT_MAX      equ FS_ARENA_ADDR - HEAP_ADDR   ; 32 MiB: the largest `hash` input, read to
                                                    ; HEAP_ADDR (needs -m 64 or more)

; One row of the command table: the name and the handler.
; Handler contract:  IN: RSI = the arguments (after the name and its spaces, zero-terminated)
;                    OUT: CF = 0 success, CF = 1 failure (the handler printed EVENT error)
;                    CLOBBERS: anything but RSP/RBP
struc shell_cmd
  .name             resq 1
  .handler          resq 1
endstruc

; ---------------------------------------------------------------------------------------------
; shell_prompt -- Prints the prompt.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
shell_prompt:
	push rsi
	mov rsi, str_prompt
	call serial_puts
	pop rsi
	ret

; ---------------------------------------------------------------------------------------------
; shell_poll -- Takes every byte waiting on COM1; runs the command when a line ends.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
shell_poll:
.next:
	call serial_poll
	jc .done
	cmp al, 13
	je .eol
	cmp al, 10
	je .eol
	mov rcx, [shell_len]
	cmp rcx, SHELL_LINE_MAX
	jae .overflow
	mov [shell_line + rcx], al
	inc qword [shell_len]
	jmp .next
.overflow:
	mov byte [shell_overflow], 1
	jmp .next
.eol:
	cmp byte [shell_overflow], 0
	jne .too_long
	mov rcx, [shell_len]
	test rcx, rcx
	jz .next                            ; empty line (e.g. the LF of a CR LF)
	mov byte [shell_line + rcx], 0
	call shell_run
	mov qword [shell_len], 0
	jmp .next
.too_long:
	mov byte [shell_overflow], 0
	mov qword [shell_len], 0
	mov qword [shell_cmd_name], str_shell
	mov rdx, str_line_too_long
	call shell_error
	call shell_end_error
	jmp .next
.done:
	ret

; ---------------------------------------------------------------------------------------------
; shell_run -- Looks the command up in the table and runs it, then prints the end marker.
;  IN:  shell_line = zero-terminated command line
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
shell_run:
	mov rsi, shell_line
.skip_lead:
	cmp byte [rsi], ' '
	jne .lookup
	inc rsi
	jmp .skip_lead
.lookup:
	mov rbx, shell_table
.row:
	mov rdi, [rbx + shell_cmd.name]
	test rdi, rdi
	jz .unknown
	push rsi
	call str_prefix_word
	jnc .found
	pop rsi
	add rbx, shell_cmd_size
	jmp .row
.found:
	add rsp, 8                          ; RSI now points at the arguments
	mov rax, [rbx + shell_cmd.name]
	mov [shell_cmd_name], rax
	call [rbx + shell_cmd.handler]
	jc .failed
	call shell_end_ok
	ret
.failed:
	call shell_end_error
	ret
.unknown:
	mov qword [shell_cmd_name], str_shell
	mov rdx, str_unknown_command
	call shell_error
	call shell_end_error
	ret

; ---------------------------------------------------------------------------------------------
; shell_error -- Prints `EVENT error cmd=<current command> reason=<RDX>`.
;  IN:  RDX = reason (zero-terminated, no spaces)
;  OUT: CF = 1 (so a handler can `jmp shell_error` as its failing return)
;  CLOBBERS: nothing
shell_error:
	push rsi
	push rdx
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_cmd
	mov rdx, [shell_cmd_name]
	call event_kv_str
	pop rdx
	mov rsi, str_key_reason
	call event_kv_str
	call event_end
	pop rsi
	stc
	ret

; ---------------------------------------------------------------------------------------------
; shell_end_ok / shell_end_error -- The end-of-output marker and the prompt.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
shell_end_ok:
	push rdx
	mov rdx, str_ok
	call shell_end
	pop rdx
	ret
shell_end_error:
	push rdx
	mov rdx, str_error_word
	call shell_end
	pop rdx
	ret

; shell_end -- (internal) `EVENT end cmd=<current command> status=<RDX>`, then the prompt.
;  IN:  RDX = status word
;  OUT: nothing
;  CLOBBERS: nothing
shell_end:
	push rsi
	push rdx
	mov rsi, str_ev_end
	call event_begin
	mov rsi, str_key_cmd
	mov rdx, [shell_cmd_name]
	call event_kv_str
	pop rdx
	mov rsi, str_key_status
	call event_kv_str
	call event_end
	call shell_prompt
	pop rsi
	ret

; ---- built-in commands -------------------------------------------------------------------------

; cmd_ping -- `ping`: EVENT pong ticks=N ms=N tx_dropped=N (serial bytes lost so far)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_ping:
	mov rsi, str_ev_pong
	call event_begin
	mov rsi, str_key_ticks
	mov rax, [ticks]
	call event_kv_dec
	mov rsi, str_key_ms
	call time_ms_since_reset
	call event_kv_dec
	mov rsi, str_key_tx_dropped
	mov rax, [serial_tx_dropped]
	call event_kv_dec
	call event_end
	clc
	ret

; cmd_help -- `help`: one line per command name
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_help:
	mov rbx, shell_table
.row:
	mov rsi, [rbx + shell_cmd.name]
	test rsi, rsi
	jz .done
	call serial_puts
	mov al, 10
	call serial_putc
	add rbx, shell_cmd_size
	jmp .row
.done:
	clc
	ret

; cmd_exit -- `exit N`: writes N to the QEMU debug-exit port (QEMU exits with (N << 1) | 1)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_exit:
	call parse_number
	mov rdx, rax
	mov rsi, str_ev_exit
	call event_begin
	mov rsi, str_key_code
	call event_kv_dec
	call event_end
	mov eax, edx
	out DEBUG_EXIT_PORT, al
	mov rdx, str_no_debug_exit          ; still here: no isa-debug-exit device
	jmp shell_error

; cmd_reboot -- `reboot`: resets the machine (the loader runs again)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_reboot:
	mov rsi, str_ev_reboot
	call event_begin
	call event_end
	jmp machine_reset

; cmd_hash -- `hash N` then N raw bytes: EVENT hash size=N sha1=<40 hex> crc32=0x...
; (tests the kernel's SHA-1 and CRC-32 against the host's)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_hash:
	call parse_number
	cmp rax, HASH_INPUT_MAX
	ja .too_big
	mov [hash_len], rax
	mov rdi, HEAP_ADDR
	mov rcx, rax
	call serial_read_exact
	jc .timeout
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
	mov rcx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_key_crc32
	mov eax, [hash_crc]
	call event_kv_hex
	call event_end
	clc
	ret
.too_big:
	mov rdx, str_too_big
	jmp shell_error
.timeout:
	mov rdx, str_input_timeout
	jmp shell_error

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
; parse_number -- Parses an unsigned decimal or 0x-prefixed hexadecimal number (leading
; spaces skipped).
;  IN:  RSI = text
;  OUT: RAX = value (digits up to the first non-digit), RSI after the digits and any spaces
;  CLOBBERS: RCX
parse_number:
	xor eax, eax
.lead:
	cmp byte [rsi], ' '                 ; leading spaces
	jne .start
	inc rsi
	jmp .lead
.start:
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
	cmp byte [rsi], ' '
	jne .out
	inc rsi
	jmp .done
.out:
	ret

; The command table (struc shell_cmd rows; `help` lists them in this order). A subsystem's
; commands live in its own file; add a row here for each.
align 8
shell_table:
	; shell.asm
	dq str_cmd_help,     cmd_help
	dq str_cmd_ping,     cmd_ping
	dq str_cmd_exit,     cmd_exit
	dq str_cmd_reboot,   cmd_reboot
	dq str_cmd_hash,     cmd_hash
	; fs_cmds.asm
	dq str_cmd_ls,       cmd_ls
	dq str_cmd_cat,      cmd_cat
	dq str_cmd_stat,     cmd_stat
	dq str_cmd_sha1,     cmd_sha1
	dq str_cmd_log,      cmd_log
	dq str_cmd_branches, cmd_branches
	dq str_cmd_rev,      cmd_rev
	; fs_bench.asm
	dq str_cmd_readraw,  cmd_readraw
	dq str_cmd_readfile, cmd_readfile
	; fs_write.asm
	dq str_cmd_put,      cmd_put
	; net.asm, gtp.asm, gtp_fetch.asm
	dq str_cmd_net,      cmd_net
	dq str_cmd_peers,    cmd_peers
	dq str_cmd_whohas,   cmd_whohas
	dq str_cmd_fetch,    cmd_fetch_based   ; gtp_delta.asm: `fetch HASH [BASE]`
	; gtp_bcast.asm
	dq str_cmd_propagate, cmd_propagate
	dq str_cmd_update,   cmd_update
	dq str_cmd_bsched,   cmd_bsched
	dq str_cmd_netsend,  cmd_netsend
	; gtp_sync.asm
	dq str_cmd_sync,     cmd_sync
	; gtp_policy.asm
	dq str_cmd_placed,   cmd_placed
	dq str_cmd_delta,    cmd_delta         ; gtp_delta.asm
	dq 0, 0                             ; end of the table

str_prompt:          db "gt> ", 0
str_shell:           db "shell", 0
str_cmd_help:        db "help", 0
str_cmd_ping:        db "ping", 0
str_cmd_exit:        db "exit", 0
str_cmd_reboot:      db "reboot", 0
str_cmd_hash:        db "hash", 0
str_cmd_ls:          db "ls", 0
str_cmd_cat:         db "cat", 0
str_cmd_stat:        db "stat", 0
str_cmd_sha1:        db "sha1", 0
str_cmd_log:         db "log", 0
str_cmd_branches:    db "branches", 0
str_cmd_rev:         db "rev", 0
str_cmd_readraw:     db "readraw", 0
str_cmd_readfile:    db "readfile", 0
str_cmd_put:         db "put", 0
str_cmd_net:         db "net", 0
str_cmd_peers:       db "peers", 0
str_cmd_whohas:      db "whohas", 0
str_cmd_fetch:       db "fetch", 0
str_cmd_netsend:     db "netsend", 0
str_cmd_placed:      db "placed", 0
str_cmd_delta:       db "delta", 0
str_ev_pong:         db "pong", 0
str_ev_exit:         db "exit", 0
str_ev_end:          db "end", 0
str_ev_error:        db "error", 0
str_ev_hash:         db "hash", 0
str_ev_reboot:       db "reboot", 0
str_key_cmd:         db "cmd", 0
str_key_tx_dropped:  db "tx_dropped", 0
str_key_reason:      db "reason", 0
str_key_code:        db "code", 0
str_key_sha1:        db "sha1", 0
str_key_crc32:       db "crc32", 0
str_ok:              db "ok", 0
str_error_word:      db "error", 0
str_unknown_command: db "unknown-command", 0
str_line_too_long:   db "line-too-long", 0
str_no_debug_exit:   db "no-debug-exit", 0
str_too_big:         db "too-big", 0
str_input_timeout:   db "input-timeout", 0

section .bss
alignb 8
shell_len:          resq 1              ; bytes in shell_line
shell_cmd_name:     resq 1              ; the running command's name (for EVENT end/error)
hash_len:           resq 1              ; hash: input bytes
hash_crc:           resd 1
hash_digest:        resb HASH_SIZE
shell_overflow:     resb 1              ; 1: the line grew past SHELL_LINE_MAX (dropped whole)
shell_line:         resb SHELL_LINE_MAX + 8
section .text
