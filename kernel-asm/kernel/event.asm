; event.asm -- structured serial output: "EVENT name key=value ..." lines the host parses.
; A line is built from these calls: event_begin, then event_kv_* pairs, then event_end.

; ---------------------------------------------------------------------------------------------
; event_begin -- Starts an event line: writes "EVENT " and the name.
;  IN:  RSI = zero-terminated event name
;  OUT: nothing
;  CLOBBERS: nothing
event_begin:
	push rsi
	mov rsi, str_event_prefix
	call serial_puts
	pop rsi
	call serial_puts
	ret

; ---------------------------------------------------------------------------------------------
; event_kv_dec -- Appends " key=<decimal>".
;  IN:  RSI = zero-terminated key, RAX = value
;  OUT: nothing
;  CLOBBERS: nothing
event_kv_dec:
	call event_key
	call serial_put_dec
	ret

; ---------------------------------------------------------------------------------------------
; event_kv_hex -- Appends " key=0x<hex>".
;  IN:  RSI = zero-terminated key, RAX = value
;  OUT: nothing
;  CLOBBERS: nothing
event_kv_hex:
	call event_key
	call serial_put_hex
	ret

; ---------------------------------------------------------------------------------------------
; event_kv_str -- Appends " key=<string>" (the string must hold no spaces).
;  IN:  RSI = zero-terminated key, RDX = zero-terminated value
;  OUT: nothing
;  CLOBBERS: nothing
event_kv_str:
	call event_key
	push rsi
	mov rsi, rdx
	call serial_puts
	pop rsi
	ret

; ---------------------------------------------------------------------------------------------
; event_end -- Ends the line with CR LF.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
event_end:
	push rax
	mov al, 13
	call serial_putc
	mov al, 10
	call serial_putc
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; event_key -- (internal) writes " key=".
;  IN:  RSI = zero-terminated key
;  OUT: nothing
;  CLOBBERS: nothing
event_key:
	push rax
	mov al, ' '
	call serial_putc
	call serial_puts
	mov al, '='
	call serial_putc
	pop rax
	ret
