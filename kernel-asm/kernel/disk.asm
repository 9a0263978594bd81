; disk.asm -- the kernel's view of its boot disk: brings up the ATA driver (bus-master DMA
; when the controller and the disk have it, else PIO), reports it, and turns driver errors
; into `EVENT error dev=ata ...` lines.

; ---------------------------------------------------------------------------------------------
; disk_init -- Finds the disk and its DMA engine; prints `EVENT disk dev=ata sectors=N dma=on`
; (or `dma=off why=no-controller|no-device`), `EVENT disk dev=ata state=absent`, or an error
; event.
;  IN:  nothing
;  OUT: CF = 0 when a disk is usable (disk_ok = 1); CF = 1 otherwise
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI
disk_init:
	mov byte [disk_ok], 0
	call ata_init
	jc .fail
	call ata_dma_init
	mov byte [disk_ok], 1
	mov rsi, str_ev_disk
	call event_begin
	mov rsi, str_key_dev
	mov rdx, str_ata
	call event_kv_str
	mov rsi, str_key_sectors
	mov rax, [ata_sectors]
	call event_kv_dec
	call disk_put_dma
	call event_end
	clc
	ret
.fail:
	cmp byte [ata_error], ATA_ERR_NODISK
	je .absent
	mov rsi, str_op_init
	call disk_report_error
	stc
	ret
.absent:                                ; not an error: e.g. a node booted from a CD alone
	mov rsi, str_ev_disk
	call event_begin
	mov rsi, str_key_dev
	mov rdx, str_ata
	call event_kv_str
	mov rsi, str_key_state
	mov rdx, str_absent
	call event_kv_str
	call event_end
	stc
	ret

; ---------------------------------------------------------------------------------------------
; disk_put_dma -- (internal) Appends ` dma=on`, or ` dma=off why=REASON`, to an event line.
;  IN:  ata_dma_off_reason
;  OUT: nothing
;  CLOBBERS: nothing
disk_put_dma:
	push rax
	push rdx
	push rsi
	mov rsi, str_key_dma
	movzx eax, byte [ata_dma_off_reason]
	test eax, eax
	jnz .off
	mov rdx, str_dma_on
	call event_kv_str
	jmp .out
.off:
	mov rdx, str_dma_off
	call event_kv_str
	cmp eax, ATA_DMA_FAILED
	jbe .known
	xor eax, eax
.known:
	mov rdx, [dma_reason_table + rax * 8]
	mov rsi, str_key_why
	call event_kv_str
.out:
	pop rsi
	pop rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; disk_dma_fell_back -- Called by the ATA driver (once: it turns DMA off) when a DMA command
; failed and the transfer is redone by PIO: `EVENT disk dev=ata dma=off why=failed lba=N
; status=0x.. bm=0x.. reason=...` (the device's and the bus master's status, the driver's
; error).
;  IN:  ata_dma_fail_lba, ata_dma_fail_status, ata_dma_fail_bm, ata_dma_fail_error
;  OUT: nothing
;  CLOBBERS: nothing
disk_dma_fell_back:
	push rax
	push rdx
	push rsi
	mov rsi, str_ev_disk
	call event_begin
	mov rsi, str_key_dev
	mov rdx, str_ata
	call event_kv_str
	call disk_put_dma
	mov rsi, str_key_lba
	mov rax, [ata_dma_fail_lba]
	call event_kv_dec
	mov rsi, str_key_status
	movzx eax, byte [ata_dma_fail_status]
	call event_kv_hex
	mov rsi, str_key_bm
	movzx eax, byte [ata_dma_fail_bm]
	call event_kv_hex
	movzx eax, byte [ata_dma_fail_error]
	call disk_kv_reason
	call event_end
	pop rsi
	pop rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; disk_report_error -- Prints `EVENT error dev=ata op=OP reason=... lba=N status=0x..` for
; the driver's last error.
;  IN:  RSI = operation name (zero-terminated)
;  OUT: nothing
;  CLOBBERS: nothing
disk_report_error:
	push rax
	push rdx
	push rsi
	push rsi
	mov rsi, str_ev_error
	call event_begin
	mov rsi, str_key_dev
	mov rdx, str_ata
	call event_kv_str
	pop rdx
	mov rsi, str_key_op
	call event_kv_str
	movzx eax, byte [ata_error]
	call disk_kv_reason
	mov rsi, str_key_lba
	mov rax, [ata_error_lba]
	call event_kv_dec
	mov rsi, str_key_status
	movzx eax, byte [ata_status]
	call event_kv_hex
	call event_end
	pop rsi
	pop rdx
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; disk_kv_reason -- Appends " reason=<name>" for a driver error code (a code past the table:
; its first name).
;  IN:  EAX = error code (ATA_ERR_*)
;  OUT: nothing
;  CLOBBERS: RAX, RDX, RSI
disk_kv_reason:
	cmp eax, ATA_ERR_RANGE
	jbe .known
	xor eax, eax
.known:
	mov rdx, [ata_reason_table + rax * 8]
	mov rsi, str_key_reason
	jmp event_kv_str

; ---------------------------------------------------------------------------------------------
; disk_read -- Reads sectors, reporting any error as an event.
;  IN:  RAX = LBA, RCX = count, RDI = buffer
;  OUT: CF = 1 on error (already reported)
;  CLOBBERS: nothing
disk_read:
	call ata_read
	jnc .ok
	push rsi
	mov rsi, str_op_read
	jmp disk_failed
.ok:
	ret

; ---------------------------------------------------------------------------------------------
; disk_write -- Writes sectors (flushed), reporting any error as an event.
;  IN:  RAX = LBA, RCX = count, RSI = buffer
;  OUT: CF = 1 on error (already reported)
;  CLOBBERS: nothing
disk_write:
	call ata_write
	jnc .ok
	push rsi
	mov rsi, str_op_write
	jmp disk_failed
.ok:
	ret

; disk_failed -- (internal) the common failing tail of disk_read/disk_write (jumped to): the
; event, then CF = 1.
;  IN:  RSI = operation name, the caller's RSI on the stack
;  OUT: returns to the caller with CF = 1 and its RSI restored
;  CLOBBERS: nothing
disk_failed:
	call disk_report_error
	pop rsi
	stc
	ret

align 8
ata_reason_table:
	dq str_ata_ok, str_ata_nodisk, str_ata_timeout, str_ata_device, str_ata_range
dma_reason_table:                       ; by ata_dma_off_reason
	dq str_dma_on, str_dma_no_controller, str_dma_no_device, str_dma_failed

str_ev_disk:        db "disk", 0
str_ata:            db "ata", 0
str_key_sectors:    db "sectors", 0
str_key_state:      db "state", 0
str_absent:         db "absent", 0
str_key_op:         db "op", 0
str_key_lba:        db "lba", 0
str_key_status:     db "status", 0
str_op_init:        db "init", 0
str_op_read:        db "read", 0
str_op_write:       db "write", 0
str_ata_ok:         db "none", 0
str_ata_nodisk:     db "no-disk", 0
str_ata_timeout:    db "timeout", 0
str_ata_device:     db "device-error", 0
str_ata_range:      db "out-of-range", 0
str_key_dma:        db "dma", 0
str_key_why:        db "why", 0
str_key_bm:         db "bm", 0
str_dma_on:         db "on", 0
str_dma_off:        db "off", 0
str_dma_no_controller: db "no-controller", 0
str_dma_no_device:  db "no-device", 0
str_dma_failed:     db "failed", 0

section .bss
disk_ok:            resb 1              ; 1 when disk_init found a usable disk
section .text
