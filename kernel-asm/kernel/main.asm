; main.asm -- the gittorrent kernel: entry point, bring-up order, and the healthy main loop.
; Assembled as one flat binary loaded at KERNEL_LOAD_ADDR by stage 2 (RDI = bootinfo).
; Each subsystem lives in its own file, included below.
;
; Build-time switches (nasm -D):
;   KERNEL_VERSION="x.y.z"   version string reported in EVENT boot
;   TEST_FAULT=N             test build: raise CPU exception N after bring-up
;                            (0 divide, 3 breakpoint, 6 invalid opcode, 13 GP, 14 page fault)
;   FAULT_KIND=N             a broken kernel for the rollback tests (health.asm: 1 hang,
;                            2 triple fault, 3 panic, 4 unhealthy)
%include "gitfs_layout.inc"
%include "boot.inc"
%include "e1000.inc"
%include "net.inc"

%ifndef KERNEL_VERSION
%define KERNEL_VERSION "0.0.0-dev"
%endif
%ifndef FAULT_KIND
%define FAULT_KIND 0
%endif

KERNEL_STACK_BYTES  equ 16384
HEAP_ADDR           equ 0x1000000       ; 16 MiB: scratch memory for command data (hash)
FS_ARENA_ADDR       equ 0x3000000       ; 48 MiB: GitFS objects, up to the end of RAM
HASH_INPUT_MAX      equ 0x2000000       ; 32 MiB: largest `hash` input (needs -m 64 or more)

	bits 64
	org KERNEL_LOAD_ADDR
	section .text
	section .bss align=4096             ; written data: never on a page with code (TCG)
	section .text

; ---------------------------------------------------------------------------------------------
; kernel_entry -- Entered from stage 2 in long mode, interrupts off, identity-mapped.
;  IN:  RDI = bootinfo (see boot.inc)
;  OUT: does not return
kernel_entry:
	cli
	cld
	mov rsp, kernel_stack + KERNEL_STACK_BYTES
	mov rbx, rdi                        ; keep bootinfo across the bss clear

	; zero .bss (stage 2 copied only the file's bytes)
	mov rdi, section..bss.start
	mov rcx, bss_end
	sub rcx, rdi
	xor eax, eax
	rep stosb
	mov [bootinfo_ptr], rbx
	; what the loader tells us: the commit we are, the watchdog it armed
	mov byte [wd_nibble], IB700_NONE
	cmp dword [rbx + bootinfo.magic], BOOTINFO_MAGIC
	jne .no_bootinfo
	lea rsi, [rbx + bootinfo.commit]
	mov rdi, hc_commit
	mov ecx, 20
	rep movsb
	mov al, [rbx + bootinfo.watchdog_nibble]
	mov [wd_nibble], al
.no_bootinfo:

	call serial_init
	mov rsi, str_ev_boot
	call event_begin
	mov rsi, str_key_stage
	mov rdx, str_kernel
	call event_kv_str
	mov rsi, str_key_version
	mov rdx, str_version
	call event_kv_str
	mov rsi, str_key_source
	mov eax, [rbx + bootinfo.source]
	call event_kv_dec
	mov rsi, str_key_size
	mov eax, [rbx + bootinfo.kernel_size]
	call event_kv_dec
	call event_end

	call gdt_init
	call idt_init
	call pic_init
	call pit_init
	call serial_enable_rx_irq
	sti

	call time_calibrate
	jc .timer_dead
	call net_init                       ; early: the NIC's 1 s receive delay overlaps the boot

	call mem_init
	call net_reserve                    ; the fetch buffer and serve cache, off GitFS's arena
	call disk_init
	call fs_init
	call fault_fixture
	call health_check

%ifdef TEST_FAULT
	call fault_raise
%endif

	mov rsi, str_ev_ready
	call event_begin
	mov rsi, str_key_ms
	call time_ms_since_reset
	call event_kv_dec
	mov rsi, str_key_tsc_khz
	mov rax, [tsc_per_ms]
	call event_kv_dec
	mov rsi, str_key_ticks
	mov rax, [ticks]
	call event_kv_dec
	mov rsi, str_key_commit
	call event_key
	mov rsi, hc_commit
	mov ecx, 20
	call serial_put_hexbytes
	call event_end
	call shell_prompt

; ---------------------------------------------------------------------------------------------
; The healthy main loop: sleep until an interrupt, then serve the shell.
.main_loop:
	hlt
	call watchdog_feed
	call shell_poll
	call net_poll
	jmp .main_loop

.timer_dead:
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_dev
	mov rdx, str_pit
	call event_kv_str
	mov rsi, str_key_reason
	mov rdx, str_no_ticks
	call event_kv_str
	call event_end
	jmp panic_halt

; ---------------------------------------------------------------------------------------------
; panic_halt -- Stops this CPU for good: interrupts off, halt forever.
;  IN:  nothing
;  OUT: does not return
panic_halt:
	cli
.halt:
	hlt
	jmp .halt

%include "serial_out.asm"
%include "serial.asm"
%include "event.asm"
%include "gdt.asm"
%include "idt.asm"
%include "pic.asm"
%include "pit.asm"
%include "time.asm"
%include "shell.asm"
%include "sha1.asm"
%include "crc32.asm"
%include "ata.asm"
%include "gitfs.asm"
%include "gitfs_write.asm"
%include "disk.asm"
%include "mem.asm"
%include "fs.asm"
%include "fs_write.asm"
%include "fs_hash.asm"
%include "rtc.asm"
%include "health.asm"
%include "pci.asm"
%include "e1000.asm"
%include "net.asm"
%include "fwcfg.asm"
%include "gtp.asm"
%include "gtp_fetch.asm"
%include "gtp_control.asm"
%ifdef TEST_FAULT
%include "fault.asm"
%endif

str_event_prefix: db "EVENT ", 0
str_ev_boot:      db "boot", 0
str_ev_ready:     db "ready", 0
str_key_stage:    db "stage", 0
str_key_version:  db "version", 0
str_key_source:   db "source", 0
str_key_size:     db "size", 0
str_key_ms:       db "ms", 0
str_key_tsc_khz:  db "tsc_khz", 0
str_key_ticks:    db "ticks", 0
str_key_dev:      db "dev", 0
str_kernel:       db "kernel", 0
str_version:      db KERNEL_VERSION, 0
str_pit:          db "pit", 0
str_no_ticks:     db "no-ticks", 0

kernel_image_end:

; ---------------------------------------------------------------------------------------------
	section .bss
	alignb 16
bootinfo_ptr:       resq 1
ticks:              resq 1
tsc_per_ms:         resq 1
irq_other_count:    resq 1
serial_rx_head:     resq 1              ; bytes ever put in the ring
serial_rx_tail:     resq 1              ; bytes ever taken from the ring
serial_rx_paused:   resb 1
shell_len:          resq 1
shell_cmd_name:     resq 1
shell_line:         resb SHELL_LINE_MAX + 8
shell_overflow:     resb 1
panic_active:       resb 1
disk_ok:            resb 1
fs_mounted:         resb 1
fs_kind:            resb 1
fs_last_dir_len:    resq 1
	alignb 8
mem_top:            resq 1
fs_arena_base:      resq 1
fs_mount_from:      resq 1
fs_mode:            resq 1
fs_dir:             resq 1
fs_dir_len:         resq 1
fs_walk_depth:      resq 1
fs_log_left:        resq 1
fs_bench_tsc:       resq 1
wd_last_feed:       resq 1
hc_reason:          resq 1
hc_slot:            resq 1
hc_ticks:           resq 1
hc_commit:          resb 20
wd_nibble:          resb 1
	alignb 8
fs_put_size:        resq 1
fs_put_data:        resq 1
fs_put_path_len:    resq 1
fs_put_parent:      resb 20
fs_put_blob:        resb 20
fs_put_tree:        resb 20
fs_put_commit:      resb 20
fs_put_branch:      resb REF_NAME_MAX + 8
fs_put_path:        resb FS_PATH_MAX + 8
fs_put_message:     resb FS_PATH_MAX + 16
fs_hash:            resb 20
fs_tmp20:           resb 20
fs_root_tree:       resb 20
fs_prefix:          resb 20
fs_walk_path:       resb FS_PATH_MAX + 8
fs_last_dir:        resb FS_PATH_MAX + 8
	alignb 8
hash_len:           resq 1
hash_crc:           resd 1
hash_digest:        resb 20
	alignb 16
kernel_tss:         resb tss64_size
	alignb 4096
serial_rx_ring:     resb SERIAL_RING_BYTES
idt_table:          resb IDT_ENTRIES * 16
ist1_stack:         resb IST_STACK_BYTES
kernel_stack:       resb KERNEL_STACK_BYTES
bss_end:
