; ata.asm -- ATA PIO driver, LBA48, primary channel master (QEMU's default IDE disk).
; Shared by stage 2 (64-bit part) and the kernel. Every wait on the device is bounded by a
; spin count, so a missing or failing disk gives an error, never a hang. The driver prints
; nothing: routines return CF and leave the reason in ata_error / ata_status for the caller
; to report (the kernel as `EVENT error dev=ata ...`).

ATA_DATA            equ 0x1F0
ATA_ERROR           equ 0x1F1
ATA_SECCOUNT        equ 0x1F2
ATA_LBA0            equ 0x1F3
ATA_LBA1            equ 0x1F4
ATA_LBA2            equ 0x1F5
ATA_DRIVE           equ 0x1F6
ATA_STATUS          equ 0x1F7           ; read: status
ATA_COMMAND         equ 0x1F7           ; write: command
ATA_ALTSTATUS       equ 0x3F6           ; read: status without clearing the IRQ
ATA_DEVCTL          equ 0x3F6           ; write: nIEN, SRST

ATA_SR_ERR          equ 0x01
ATA_SR_DRQ          equ 0x08
ATA_SR_DF           equ 0x20
ATA_SR_DRDY         equ 0x40
ATA_SR_BSY          equ 0x80

ATA_CMD_READ_EXT    equ 0x24
ATA_CMD_WRITE_EXT   equ 0x34
ATA_CMD_FLUSH_EXT   equ 0xEA
ATA_CMD_IDENTIFY    equ 0xEC
ATA_CMD_READ_MUL_EXT  equ 0x29          ; one DRQ block = ata_multiple sectors
ATA_CMD_WRITE_MUL_EXT equ 0x39
ATA_CMD_SET_MULTIPLE  equ 0xC6
ATA_MULTIPLE_MAX    equ 16              ; sectors per DRQ block we ask for

ATA_SPIN            equ 0x100000        ; status polls before a wait gives up (~seconds)
ATA_POLL_GAP        equ 256             ; pauses between two status reads: a guest hammering
                                        ; the port starves QEMU's I/O thread of its lock
ATA_CHUNK           equ 256             ; sectors per command

; ata_error codes
ATA_OK              equ 0
ATA_ERR_NODISK      equ 1               ; nothing answers on the channel
ATA_ERR_TIMEOUT     equ 2               ; BSY or DRQ never came
ATA_ERR_DEVICE      equ 3               ; the device set ERR or DF
ATA_ERR_RANGE       equ 4               ; LBA + count beyond the disk

; ---------------------------------------------------------------------------------------------
; ata_wait_ready -- (internal) waits until BSY clears.
;  IN:  nothing
;  OUT: CF = 0 (status in ata_status); CF = 1 on timeout (ata_error set)
;  CLOBBERS: RDX
ata_wait_ready:
	push rax
	push rcx
	mov ecx, ATA_SPIN
	mov dx, ATA_STATUS
.poll:
	in al, dx
	test al, ATA_SR_BSY
	jz .ready
	call ata_gap
	dec ecx
	jnz .poll
	mov [ata_status], al
	mov byte [ata_error], ATA_ERR_TIMEOUT
	pop rcx
	pop rax
	stc
	ret
.ready:
	mov [ata_status], al
	pop rcx
	pop rax
	clc
	ret

; ---------------------------------------------------------------------------------------------
; ata_gap -- (internal) a short pause between two status reads.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: nothing
ata_gap:
	push rcx
	mov ecx, ATA_POLL_GAP
.p:
	pause
	loop .p
	pop rcx
	ret

; ---------------------------------------------------------------------------------------------
; ata_wait_drq -- (internal) waits until the device is ready to transfer a sector.
;  IN:  nothing
;  OUT: CF = 0 when DRQ is set; CF = 1 on timeout or device error (ata_error set)
;  CLOBBERS: RDX
ata_wait_drq:
	push rax
	push rcx
	mov ecx, ATA_SPIN
	mov dx, ATA_STATUS
.poll:
	in al, dx
	test al, ATA_SR_BSY
	jnz .again
	test al, ATA_SR_ERR | ATA_SR_DF
	jnz .device_error
	test al, ATA_SR_DRQ
	jnz .ready
.again:
	call ata_gap
	dec ecx
	jnz .poll
	mov [ata_status], al
	mov byte [ata_error], ATA_ERR_TIMEOUT
	pop rcx
	pop rax
	stc
	ret
.device_error:
	mov [ata_status], al
	mov byte [ata_error], ATA_ERR_DEVICE
	pop rcx
	pop rax
	stc
	ret
.ready:
	mov [ata_status], al
	pop rcx
	pop rax
	clc
	ret

; ---------------------------------------------------------------------------------------------
; ata_init -- Finds the primary master and reads its size with IDENTIFY DEVICE.
;  IN:  nothing
;  OUT: CF = 0 and RAX = disk size in sectors (also in ata_sectors); CF = 1 when there is no
;       usable disk (ata_error set)
;  CLOBBERS: RAX, RCX, RDX, RDI
ata_init:
	mov byte [ata_error], ATA_OK
	mov qword [ata_sectors], 0
	mov dx, ATA_DEVCTL
	mov al, 0x02                        ; nIEN: no interrupts, we poll
	out dx, al
	mov dx, ATA_STATUS
	in al, dx
	cmp al, 0xFF                        ; floating bus: no controller, no drive
	je .nodisk
	mov dx, ATA_DRIVE
	mov al, 0xA0                        ; master
	out dx, al
	call ata_delay400
	xor eax, eax
	mov dx, ATA_SECCOUNT
	out dx, al
	mov dx, ATA_LBA0
	out dx, al
	mov dx, ATA_LBA1
	out dx, al
	mov dx, ATA_LBA2
	out dx, al
	mov dx, ATA_COMMAND
	mov al, ATA_CMD_IDENTIFY
	out dx, al
	mov dx, ATA_STATUS
	in al, dx
	test al, al
	jz .nodisk                          ; status 0: no device
	call ata_wait_ready
	jc .fail
	mov dx, ATA_LBA1                    ; non-zero signature: ATAPI or SATA, not ours
	in al, dx
	mov ah, al
	mov dx, ATA_LBA2
	in al, dx
	or al, ah
	jnz .nodisk
	call ata_wait_drq
	jc .fail
	mov rdi, ata_identify
	mov ecx, 256
	mov dx, ATA_DATA
	rep insw
	test word [ata_identify + 83 * 2], 1 << 10   ; LBA48 supported?
	jz .nodisk
	mov rax, [ata_identify + 100 * 2]   ; words 100..103: LBA48 sectors
	mov [ata_sectors], rax
	; READ/WRITE MULTIPLE: one interrupt-less DRQ block per 16 sectors instead of per sector
	; (under QEMU each block is one round trip of its I/O thread: ~16x fewer).
	mov byte [ata_multiple], 1
	movzx eax, byte [ata_identify + 47 * 2]     ; word 47 low byte: max sectors per block
	cmp eax, 2
	jb .single
	cmp eax, ATA_MULTIPLE_MAX
	jbe .set
	mov eax, ATA_MULTIPLE_MAX
.set:
	mov ecx, eax
	call ata_wait_ready
	jc .single
	mov dx, ATA_SECCOUNT
	mov al, cl
	out dx, al
	mov dx, ATA_COMMAND
	mov al, ATA_CMD_SET_MULTIPLE
	out dx, al
	call ata_wait_ready
	jc .single
	test byte [ata_status], ATA_SR_ERR | ATA_SR_DF
	jnz .single
	mov [ata_multiple], cl
.single:
	mov byte [ata_error], ATA_OK
	clc
	ret
.nodisk:
	mov byte [ata_error], ATA_ERR_NODISK
.fail:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; ata_delay400 -- (internal) ~400 ns: four alternate-status reads after a drive select.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RDX
ata_delay400:
	mov dx, ATA_ALTSTATUS
	in al, dx
	in al, dx
	in al, dx
	in al, dx
	ret

; ---------------------------------------------------------------------------------------------
; ata_command48 -- (internal) issues an LBA48 command for up to 65536 sectors.
;  IN:  RAX = LBA, RCX = sector count (1..65536; 65536 is sent as 0), BL = command
;  OUT: nothing
;  CLOBBERS: RDX
ata_command48:
	push rax
	push rax
	mov dx, ATA_DRIVE
	mov al, 0x40                        ; LBA mode, master
	out dx, al
	call ata_delay400
	pop rax
	mov dx, ATA_SECCOUNT                ; high bytes first
	push rax
	mov al, ch
	out dx, al
	pop rax
	push rax
	shr rax, 24
	mov dx, ATA_LBA0
	out dx, al                          ; LBA 31:24
	shr rax, 8
	mov dx, ATA_LBA1
	out dx, al                          ; LBA 39:32
	shr rax, 8
	mov dx, ATA_LBA2
	out dx, al                          ; LBA 47:40
	pop rax
	mov dx, ATA_SECCOUNT                ; then low bytes
	push rax
	mov al, cl
	out dx, al
	pop rax
	mov dx, ATA_LBA0
	out dx, al                          ; LBA 7:0
	shr rax, 8
	mov dx, ATA_LBA1
	out dx, al                          ; LBA 15:8
	shr rax, 8
	mov dx, ATA_LBA2
	out dx, al                          ; LBA 23:16
	mov dx, ATA_COMMAND
	mov al, bl
	out dx, al
	pop rax
	ret

; ---------------------------------------------------------------------------------------------
; ata_check_range -- (internal) is there a disk, and is [RAX, RAX + RCX) inside it?
;  IN:  RAX = LBA, RCX = count
;  OUT: CF = 1 when not (ata_error = ATA_ERR_NODISK or ATA_ERR_RANGE)
;  CLOBBERS: nothing
ata_check_range:
	cmp qword [ata_sectors], 0
	je .nodisk
	push rdx
	mov rdx, rax
	add rdx, rcx
	jc .bad
	cmp rdx, [ata_sectors]
	ja .bad
	pop rdx
	clc
	ret
.bad:
	pop rdx
	mov byte [ata_error], ATA_ERR_RANGE
	stc
	ret
.nodisk:
	mov byte [ata_error], ATA_ERR_NODISK
	stc
	ret

; ---------------------------------------------------------------------------------------------
; ata_read -- Reads sectors into memory.
;  IN:  RAX = first LBA, RCX = sector count, RDI = buffer (RCX * 512 bytes)
;  OUT: CF = 0 on success; CF = 1 on error (ata_error, ata_status, ata_error_lba set)
;  CLOBBERS: nothing
ata_read:
	push r9
	xor r9d, r9d
	call ata_transfer
	pop r9
	ret

; ---------------------------------------------------------------------------------------------
; ata_write -- Writes sectors from memory, then flushes the drive's write cache, so a write
; that returned is on the disk (the GitFS power-cut order depends on it).
;  IN:  RAX = first LBA, RCX = sector count, RSI = buffer (RCX * 512 bytes)
;  OUT: CF = 0 on success; CF = 1 on error (ata_error, ata_status, ata_error_lba set)
;  CLOBBERS: nothing
ata_write:
	push r9
	mov r9d, 1
	call ata_transfer
	pop r9
	jc .out
	push rax
	push rdx
	call ata_wait_ready
	jc .done
	mov dx, ATA_COMMAND
	mov al, ATA_CMD_FLUSH_EXT
	out dx, al
	call ata_wait_ready
	jc .done
	test byte [ata_status], ATA_SR_ERR | ATA_SR_DF
	jz .done                            ; CF = 0 from the test
	mov byte [ata_error], ATA_ERR_DEVICE
	stc
.done:
	pop rdx
	pop rax
.out:
	ret

; ---------------------------------------------------------------------------------------------
; ata_transfer -- (internal) the PIO data phase of reads and writes: commands of at most
; ATA_CHUNK sectors, each moved in DRQ blocks of ata_multiple sectors, 32 bits at a time.
;  IN:  RAX = first LBA, RCX = sector count, R9 = 0: read into RDI, 1: write from RSI
;  OUT: CF = 0 on success; CF = 1 on error (ata_error, ata_status, ata_error_lba set)
;  CLOBBERS: nothing
ata_transfer:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push r8
	mov byte [ata_error], ATA_OK
	call ata_check_range
	jc .out
	mov r8, rcx                         ; sectors left
.chunk:
	test r8, r8
	jz .ok
	mov rcx, r8
	cmp rcx, ATA_CHUNK
	jbe .issue
	mov rcx, ATA_CHUNK
.issue:
	mov [ata_error_lba], rax
	call ata_wait_ready
	jc .out
	; the command: READ/WRITE SECTORS EXT, or the MULTIPLE forms when set up
	cmp byte [ata_multiple], 1
	seta bl                             ; BL = 1: multiple
	shl bl, 1
	or bl, r9b                          ; BL = multiple * 2 + write
	movzx ebx, bl
	mov bl, [ata_commands + rbx]
	call ata_command48
	add rax, rcx
	sub r8, rcx
	mov rbx, rcx                        ; sectors left in this command
.block:
	call ata_wait_drq
	jc .out
	movzx ecx, byte [ata_multiple]      ; sectors in this DRQ block
	cmp rcx, rbx
	jbe .take
	mov rcx, rbx
.take:
	add [ata_error_lba], rcx
	sub rbx, rcx
	shl ecx, 7                          ; dwords (32-bit PIO: half the port accesses)
	mov dx, ATA_DATA
	test r9d, r9d
	jnz .out_data
	rep insd
	jmp .next
.out_data:
	rep outsd
.next:
	test rbx, rbx
	jnz .block
	jmp .chunk
.ok:
	clc
.out:
	pop r8
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	ret

; indexed by multiple * 2 + write
ata_commands:       db ATA_CMD_READ_EXT, ATA_CMD_WRITE_EXT, ATA_CMD_READ_MUL_EXT, ATA_CMD_WRITE_MUL_EXT

; Written data lives in .bss, away from the code (TCG discards translated code on a write to
; its page); the includer zeroes .bss.
section .bss
alignb 8
ata_sectors:        resq 1              ; disk size (from IDENTIFY)
ata_error_lba:      resq 1              ; sector being transferred when an error happened
ata_error:          resb 1              ; ATA_ERR_*
ata_multiple:       resb 1              ; sectors per DRQ block (SET MULTIPLE; set by ata_init)
ata_status:         resb 1              ; last status register value
alignb 2
ata_identify:       resw 256            ; IDENTIFY DEVICE data
section .text
