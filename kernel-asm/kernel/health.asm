; health.asm -- the boot-time self-test, marking the booted kernel commit good (or bad), and
; feeding the watchdog the loader armed (docs/boot.md, "Boot counting and rollback").

WATCHDOG_FEED_TICKS equ 100             ; feed every ~100 ms (the shortest timeout is 2 s)

; Build-time fault fixtures (nasm -DFAULT_KIND=N; `gittorrent build --fault KIND`)
FAULT_HANG          equ 1               ; the main loop never runs
FAULT_TRIPLE        equ 2               ; a triple fault (the CPU resets)
FAULT_PANIC         equ 3               ; a CPU exception: the panic handler halts
FAULT_UNHEALTHY     equ 4               ; the self-test fails

; ---------------------------------------------------------------------------------------------
; watchdog_feed -- Re-arms the ib700 with the loader's timeout code, at most every
; WATCHDOG_FEED_TICKS ticks. Called only from the healthy main loop (and from waits that make
; progress on input), so a hang, a dead lock or interrupts off all starve the watchdog.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
watchdog_feed:
	cmp byte [wd_nibble], IB700_NONE
	je .out
	push rax
	push rdx
	mov rax, [ticks]
	sub rax, [wd_last_feed]
	cmp rax, WATCHDOG_FEED_TICKS
	jb .done
	mov rax, [ticks]
	mov [wd_last_feed], rax
	mov al, [wd_nibble]
	mov dx, IB700_ARM
	out dx, al
.done:
	pop rdx
	pop rax
.out:
	ret

; ---------------------------------------------------------------------------------------------
; health_check -- The self-test after bring-up, for a kernel booted from GitFS: the filesystem
; is mounted, the `boot` ref names this kernel's commit, that commit and its root tree read and
; verify, the timer ticks. Passing, a pending kernel marks its commit good (boot state good,
; boot-good moved to it) and prints EVENT kernel-good commit=...; failing, it prints
; EVENT health status=fail reason=..., marks a pending commit bad and reboots, so the loader
; rolls back.
;  IN:  bootinfo (commit, boot state)
;  OUT: nothing (returns only when healthy, or for a CD boot)
;  CLOBBERS: everything but RSP, RBP
health_check:
	mov rsi, hc_commit
	call gitfs_is_zero20
	je .out                             ; not booted from GitFS (a release CD): nothing to mark
	mov qword [hc_reason], str_hc_no_fs
	cmp byte [fs_mounted], 0
	je .fail
	mov qword [hc_reason], str_hc_timer
	mov rax, [ticks]
	mov [hc_ticks], rax
	call pit_wait_tick
	jc .fail
	; the boot ref names us
	mov qword [hc_reason], str_hc_boot_ref
	mov rsi, str_boot_ref
	mov ecx, BOOT_REF_LEN
	call gitfs_ref_find
	jc .fail
	mov [hc_slot], rdi
	lea rsi, [rdi + gitfs_ref.target]
	mov rdi, hc_commit
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .fail
	; the commit and its root tree verify
	mov qword [hc_reason], str_hc_root
	call fs_begin
	jc .fail
	mov rsi, hc_commit
	call gitfs_commit_tree
	jc .fail
	mov rsi, gitfs_tmp_hash
	call gitfs_read_tree
	jc .fail
%if FAULT_KIND == FAULT_UNHEALTHY
	mov qword [hc_reason], str_hc_fixture
	jmp .fail
%endif
	; healthy: a pending kernel marks itself good
	mov rdi, [hc_slot]
	cmp byte [rdi + gitfs_ref.state], BOOT_STATE_PENDING
	jne .out
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .write_failed
	mov rsi, str_boot_ref_z
	mov rdx, hc_commit
	mov r8d, BOOT_STATE_GOOD
	xor r9d, r9d
	mov r10, str_hc_marked_good
	call gitfs_tx_set_ref
	jc .write_failed
	mov rsi, str_good_ref_z
	mov rdx, hc_commit
	mov r8d, 0xFF
	mov r9d, 0xFF
	mov r10, str_hc_known_good
	call gitfs_tx_set_ref
	jc .write_failed
	call gitfs_tx_publish
	jc .write_failed
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	mov rsi, str_ev_kernel_good
	call event_begin
	mov rsi, str_key_commit
	call event_key
	mov rsi, hc_commit
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	call event_end
.out:
	ret
.write_failed:
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_dev
	mov rdx, str_gitfs
	call event_kv_str
	mov rsi, str_key_op
	mov rdx, str_op_mark_good
	call event_kv_str
	call gitfs_put_reason
	call event_end
	ret
.fail:
	mov rsi, str_ev_health
	call event_begin
	mov rsi, str_key_status
	mov rdx, str_hc_fail_word
	call event_kv_str
	mov rsi, str_key_reason
	mov rdx, [hc_reason]
	call event_kv_str
	call event_end
	; a pending kernel is marked bad (the loader rolls back at once); then reboot
	cmp byte [fs_mounted], 0
	je .reboot
	mov rsi, str_boot_ref
	mov ecx, BOOT_REF_LEN
	call gitfs_ref_find
	jc .reboot
	cmp byte [rdi + gitfs_ref.state], BOOT_STATE_PENDING
	jne .reboot
	call fs_begin
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .reboot
	mov rsi, str_boot_ref_z
	mov rdx, hc_commit
	mov r8d, BOOT_STATE_BAD
	xor r9d, r9d
	mov r10, [hc_reason]
	call gitfs_tx_set_ref
	jc .reboot
	call gitfs_tx_publish
.reboot:
	mov rsi, str_ev_reboot
	call event_begin
	mov rsi, str_key_reason
	mov rdx, str_hc_unhealthy
	call event_kv_str
	call event_end
	jmp machine_reset

; ---------------------------------------------------------------------------------------------
; machine_reset -- Resets the machine: a pulse on the keyboard controller's reset line, and
; if that does nothing, a triple fault (an empty IDT and an exception).
;  IN:  nothing
;  OUT: does not return
machine_reset:
	cli
	mov ecx, 0x10000
.wait_kbc:                              ; input buffer empty (bounded)
	in al, 0x64
	test al, 0x02
	jz .pulse
	loop .wait_kbc
.pulse:
	mov al, 0xFE
	out 0x64, al
	mov ecx, 0x1000000
.spin:
	loop .spin
	lidt [hc_null_idt]
	int3                                ; no IDT: a triple fault resets the CPU
	jmp machine_reset

; ---------------------------------------------------------------------------------------------
; fault_fixture -- Build-time faults for the rollback tests (FAULT_KIND; none in a normal build).
;  IN:  nothing
;  OUT: returns only for FAULT_UNHEALTHY (the self-test fails later) and normal builds
;  CLOBBERS: nothing
fault_fixture:
%if FAULT_KIND == FAULT_HANG
	mov rsi, str_ev_fixture
	call event_begin
	mov rsi, str_key_kind
	mov rdx, str_fk_hang
	call event_kv_str
	call event_end
.hang:
	hlt                                 ; interrupts on, ticks go on, nobody feeds the watchdog
	jmp .hang
%elif FAULT_KIND == FAULT_TRIPLE
	mov rsi, str_ev_fixture
	call event_begin
	mov rsi, str_key_kind
	mov rdx, str_fk_triple
	call event_kv_str
	call event_end
	cli
	lidt [hc_null_idt]
	int3                                ; no IDT: #BP -> #GP -> #DF -> triple fault
%elif FAULT_KIND == FAULT_PANIC
	mov rsi, str_ev_fixture
	call event_begin
	mov rsi, str_key_kind
	mov rdx, str_fk_panic
	call event_kv_str
	call event_end
	ud2                                 ; the panic handler prints and halts
%endif
	ret

align 8
hc_null_idt:        dw 0
                    dq 0
str_boot_ref:       db BOOT_REF, 0
str_boot_ref_z      equ str_boot_ref
str_good_ref_z:     db BOOT_GOOD_REF, 0
str_ev_kernel_good: db "kernel-good", 0
str_ev_health:      db "health", 0
str_ev_fixture:     db "fixture", 0
str_key_kind:       db "kind", 0
str_fk_hang:        db "hang", 0
str_fk_triple:      db "triple-fault", 0
str_fk_panic:       db "panic", 0
str_hc_fail_word:   db "fail", 0
str_hc_no_fs:       db "no-filesystem", 0
str_hc_timer:       db "no-timer", 0
str_hc_boot_ref:    db "boot-ref-mismatch", 0
str_hc_root:        db "root-unverifiable", 0
str_hc_fixture:     db "fixture-unhealthy", 0
str_hc_unhealthy:   db "unhealthy", 0
str_hc_marked_good: db "kernel passed its self-test", 0
str_hc_known_good:  db "known-good kernel", 0
str_op_mark_good:   db "mark-good", 0
