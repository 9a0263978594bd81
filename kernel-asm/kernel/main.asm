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
;   CONTRACT_CHECK="path"    test build: every call goes through a thunk that checks the
;                            callee's CLOBBERS line (test/helpers/asm-contracts.ts)
%include "gitfs_layout.inc"
%include "boot.inc"
%include "e1000.inc"
%include "net.inc"
%ifdef CONTRACT_CHECK
%include CONTRACT_CHECK
%endif

%ifndef KERNEL_VERSION
%define KERNEL_VERSION "0.0.0-dev"
%endif
%ifndef FAULT_KIND
%define FAULT_KIND 0
%endif

; Memory (gitfs_layout.inc, from gitfs/layout.ts): the kernel at KERNEL_LOAD_ADDR with its .bss
; after it; scratch for command data from HEAP_ADDR (over the loader's arena, once fs_init has
; adopted what it needs); the GitFS arena from FS_ARENA_ADDR to the end of RAM.
%ifdef CONTRACT_CHECK
KERNEL_STACK_BYTES  equ 65536           ; the check's thunks take 128 bytes of stack per call
%else
KERNEL_STACK_BYTES  equ 16384
%endif

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
	mov ecx, HASH_SIZE
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
	call e1000_init                     ; first: the NIC's 1 s receive delay overlaps the boot

	call net_init                       ; identity and key (EVENT net comes after calibration)

	call mem_init
	call net_reserve                    ; the fetch buffer and serve cache, off GitFS's arena
	call disk_init
	call fs_init
	call time_calibrate                 ; over the ticks of the bring-up: no wait
	jc .timer_dead
	call net_report
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
	mov ecx, HASH_SIZE
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

; ---- libraries shared with stage 2 (kernel-asm/lib/) ------------------------------------------
%include "serial_out.asm"
%include "sha1.asm"
%define CRC32_SLICE8                    ; the kernel's CRC-32 takes 8 bytes a step (GTP DATA chunks)
%include "crc32.asm"
%define ATA_DMA                         ; the kernel's disk reads and writes go by bus-master DMA
%include "ata.asm"
%include "rtc.asm"
%include "gitfs.asm"
%include "gitfs_write.asm"
%include "gitfs_report.asm"
; ---- the machine (kernel-asm/kernel/) ---------------------------------------------------------
%include "serial.asm"
%include "event.asm"
%include "gdt.asm"
%include "idt.asm"
%include "pic.asm"
%include "pit.asm"
%include "time.asm"
%include "mem.asm"
%include "disk.asm"
%include "health.asm"
%ifdef TEST_FAULT
%include "fault.asm"
%endif
; ---- the filesystem ---------------------------------------------------------------------------
%include "fs.asm"
%include "fs_hash.asm"
; ---- the network (PCI, the e1000, Ethernet/ARP/IPv4/ICMP/UDP, the GTP protocol) --------------
%include "pci.asm"
%include "fwcfg.asm"
%include "e1000.asm"
%include "net.asm"
%include "gtp.asm"
%include "gtp_fetch.asm"
%include "gtp_control.asm"
; ---- the shell and its commands (the command table is in shell.asm) ---------------------------
%include "shell.asm"
%include "fs_cmds.asm"
%include "fs_bench.asm"
%include "fs_write.asm"

%ifdef CONTRACT_CHECK
	contract_thunks
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
; The kernel's own state (each included file keeps its own in its .bss; this part comes last, so
; bss_end ends the section).
	section .bss
	alignb 8
bootinfo_ptr:       resq 1
; health.asm's state
wd_last_feed:       resq 1
hc_reason:          resq 1
hc_slot:            resq 1
hc_ticks:           resq 1
hc_commit:          resb HASH_SIZE
wd_nibble:          resb 1
	alignb 4096
kernel_stack:       resb KERNEL_STACK_BYTES
bss_end:
