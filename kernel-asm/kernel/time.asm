; time.asm -- wall time since reset from the TSC (which starts at 0 when the machine resets),
; calibrated against the PIT tick.

TSC_CALIBRATION_TICKS equ 2

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
; time_calibrate -- Measures TSC ticks per millisecond over TSC_CALIBRATION_TICKS PIT ticks
; (interrupts must be on and the PIT running).
;  IN:  nothing
;  OUT: CF = 0 on success (tsc_per_ms set); CF = 1 when the PIT did not tick
;  CLOBBERS: RAX, RCX, RDX, R8
time_calibrate:
	call pit_wait_tick                  ; align to a tick edge
	jc .dead
	call rdtsc64
	mov rcx, rax
	mov r8d, TSC_CALIBRATION_TICKS
.ticks:
	call pit_wait_tick
	jc .dead
	dec r8d
	jnz .ticks
	call rdtsc64
	sub rax, rcx                        ; TSC delta over N ticks of PIT_DIVISOR / PIT_INPUT_HZ s
	mov rcx, PIT_INPUT_HZ
	mul rcx                             ; rdx:rax = delta * input_hz
	mov rcx, TSC_CALIBRATION_TICKS * PIT_DIVISOR * 1000
	div rcx                             ; rax = TSC per ms
	test rax, rax
	jnz .ok
	inc rax
.ok:
	mov [tsc_per_ms], rax
	clc
	ret
.dead:
	stc
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
