; time.asm -- wall time since reset from the TSC (which starts at 0 when the machine resets),
; calibrated against the PIT tick.

TSC_CALIBRATION_TICKS equ 2             ; fewest ticks the calibration spans

	section .bss
tick_tsc:           resq 1              ; TSC at the latest PIT tick (pit_irq)
first_tick_tsc:     resq 1              ; TSC at the first PIT tick
	section .text

; ---------------------------------------------------------------------------------------------
; rdtsc64 -- Reads the time-stamp counter.
;  IN:  nothing
;  OUT: RAX = TSC
;  CLOBBERS: RDX
rdtsc64:
	rdtsc
	shl rdx, 32
	or rax, rdx
	ret

; ---------------------------------------------------------------------------------------------
; time_calibrate -- Sets TSC ticks per millisecond from the TSC of the first and the latest PIT
; tick (recorded by pit_irq) — over all the ticks since interrupts came on, so it waits only
; when fewer than TSC_CALIBRATION_TICKS have passed (called late in bring-up, it does not wait).
; Interrupts must be on and the PIT running.
;  IN:  nothing
;  OUT: CF = 0 on success (tsc_per_ms set); CF = 1 when the PIT did not tick
;  CLOBBERS: RAX, RCX, RDX
time_calibrate:
	cmp qword [ticks], TSC_CALIBRATION_TICKS + 1
	jae .measure
	call pit_wait_tick
	jnc time_calibrate
	ret                                 ; CF = 1: the timer is dead
.measure:
	pushfq
	cli                                 ; the tick count and its TSC from the same tick
	mov rcx, [ticks]
	mov rax, [tick_tsc]
	popfq
	dec rcx                             ; ticks from the first to the latest
	sub rax, [first_tick_tsc]           ; TSC delta over RCX ticks of PIT_DIVISOR / PIT_INPUT_HZ s
	push rcx
	mov rcx, PIT_INPUT_HZ
	mul rcx                             ; rdx:rax = delta * input_hz
	pop rcx
	imul rcx, rcx, PIT_DIVISOR * 1000
	div rcx                             ; rax = TSC per ms
	test rax, rax
	jnz .ok
	inc rax
.ok:
	mov [tsc_per_ms], rax
	clc
	ret

; ---------------------------------------------------------------------------------------------
; time_ms_since_reset -- Milliseconds since the machine reset.
;  IN:  nothing
;  OUT: RAX = milliseconds
;  CLOBBERS: RDX
time_ms_since_reset:
	push rcx
	call rdtsc64
	xor edx, edx
	mov rcx, [tsc_per_ms]
	div rcx
	pop rcx
	ret

; ---------------------------------------------------------------------------------------------
; time_us_since -- Microseconds since a TSC value.
;  IN:  RBX = earlier TSC
;  OUT: RAX = microseconds
;  CLOBBERS: RCX, RDX
time_us_since:
	call rdtsc64
	sub rax, rbx
	mov rcx, 1000
	mul rcx
	mov rcx, [tsc_per_ms]
	div rcx
	ret

section .bss
alignb 8
tsc_per_ms:         resq 1              ; TSC ticks per millisecond (time_calibrate)
section .text
