; fs_bench.asm -- the benchmark's shell commands (bench/): a read through GitFS, timed in the
; kernel, and the raw disk read it is compared with.

; ---------------------------------------------------------------------------------------------
; cmd_readraw -- `readraw LBA COUNT`: reads sectors through the driver only (the benchmark's
; reference): EVENT readraw sectors=N us=T
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_readraw:
	call fs_begin
	jc .out
	call parse_number
	mov r12, rax                        ; LBA
	call parse_number
	mov r13, rax                        ; count
	test r13, r13
	jz .usage
	mov rcx, r13
	shl rcx, SECTOR_SHIFT
	call gitfs_alloc
	jc fs_fail
	mov rdi, rax
	call rdtsc64
	mov rbx, rax
	mov rax, r12
	mov rcx, r13
	call disk_read
	jc .failed
	call time_us_since
	mov r14, rax
	mov rsi, str_ev_readraw
	call event_begin
	mov rsi, str_key_sectors
	mov rax, r13
	call event_kv_dec
	mov rsi, str_key_us
	mov rax, r14
	call event_kv_dec
	call event_end
	clc
.out:
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error
.failed:
	mov rdx, str_io_error
	jmp shell_error

; cmd_readfile -- `readfile PATH`: reads a file through GitFS with hash verification, timed:
; EVENT readfile bytes=N us=T lba=L (L: where its record starts, for the raw reference)
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_readfile:
	call fs_begin
	jc .out
	call rdtsc64
	mov [fs_bench_tsc], rax
	call fs_read_file
	jc fs_fail
	mov r12, rcx
	mov rbx, [fs_bench_tsc]
	call time_us_since
	mov r14, rax
	mov rsi, fs_hash
	call gitfs_find
	jc fs_fail
	mov r13, [rdi + gitfs_idx_entry.offset]
	shr r13, SECTOR_SHIFT
	mov rsi, str_ev_readfile
	call event_begin
	mov rsi, str_key_bytes
	mov rax, r12
	call event_kv_dec
	mov rsi, str_key_us
	mov rax, r14
	call event_kv_dec
	mov rsi, str_key_lba
	mov rax, r13
	call event_kv_dec
	call event_end
	clc
.out:
	ret

str_ev_readraw:     db "readraw", 0
str_ev_readfile:    db "readfile", 0
str_key_us:         db "us", 0
str_key_bytes:      db "bytes", 0
str_io_error:       db "io-error", 0

section .bss
alignb 8
fs_bench_tsc:       resq 1              ; readfile: TSC at the start
section .text
