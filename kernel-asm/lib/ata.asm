; ata.asm -- ATA driver, LBA48, primary channel master (QEMU's default IDE disk): PIO, and
; with ATA_DMA defined (the kernel; stage 2 and the MBR stay PIO) bus-master DMA through the
; PCI IDE controller's BAR4 (PIIX: PRD tables, READ/WRITE DMA EXT), chosen by ata_dma_init,
; with PIO as the fallback when there is no bus master or a DMA command fails.
; Shared by stage 2 (64-bit part) and the kernel. Every wait on the device is bounded, so a
; missing or failing disk gives an error, never a hang: by a spin count, and in the kernel
; (ATA_DMA) with interrupts on by ATA_WAIT_MS PIT ticks as well, feeding the watchdog while it
; waits (a host disk slowed by its other work, e.g. a long fdatasync behind a flush, is not a
; hung kernel: waits of many seconds reset a node under its watchdog, losing its RAM state).
; The driver prints nothing: routines return CF and leave the reason in ata_error / ata_status for the caller
; to report (the kernel as `EVENT error dev=ata ...`; a DMA fallback as ata_dma_off_reason).

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
ATA_CMD_READ_DMA_EXT  equ 0x25
ATA_CMD_WRITE_DMA_EXT equ 0x35
ATA_MULTIPLE_MAX    equ 16              ; sectors per DRQ block we ask for

ATA_SPIN            equ 0x100000        ; status polls before a wait gives up (~seconds)
ATA_POLL_GAP        equ 256             ; pauses between two status reads: a guest hammering
                                        ; the port starves QEMU's I/O thread of its lock
ATA_CHUNK           equ 256             ; sectors per command
ATA_WAIT_MS         equ 30000           ; kernel, interrupts on: PIT ticks before a wait gives up

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
	call ata_wait_begin
	mov ecx, ATA_SPIN
	mov dx, ATA_STATUS
.poll:
	in al, dx
	test al, ATA_SR_BSY
	jz .ready
	call ata_gap
	dec ecx
	jnz .poll
	call ata_wait_more
	jnc .poll
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
; ata_gap -- (internal) a short pause between two status reads; in the kernel it feeds the
; watchdog too (a bounded wait on the disk is progress, not a hang).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: flags
ata_gap:
	push rcx
	mov ecx, ATA_POLL_GAP
.p:
	pause
	loop .p
	pop rcx
%ifdef ATA_DMA
	call watchdog_feed                  ; (health.asm)
%endif
	ret

; ---------------------------------------------------------------------------------------------
; ata_wait_begin -- (internal) starts a wait's time bound: in the kernel, ATA_WAIT_MS PIT ticks
; from now (ata_wait_more); in stage 2 nothing (its spin count alone bounds it).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: flags
ata_wait_begin:
%ifdef ATA_DMA
	push rax
	mov rax, [ticks]
	add rax, ATA_WAIT_MS
	mov [ata_wait_end], rax
	pop rax
%endif
	ret

; ---------------------------------------------------------------------------------------------
; ata_wait_more -- (internal) a wait's spin count ran out: does it go on? In the kernel with
; interrupts on, until ata_wait_begin's ATA_WAIT_MS ticks are past (a spin count is no time
; bound under TCG: how long a poll takes depends on the host's load); else no.
;  IN:  nothing
;  OUT: CF = 0 go on (ECX = ATA_SPIN again); CF = 1 give up
;  CLOBBERS: nothing else
ata_wait_more:
%ifdef ATA_DMA
	push rax
	pushfq
	pop rax
	test eax, 1 << 9                    ; IF: with interrupts off the ticks stand still
	jz .up
	mov rax, [ticks]
	cmp rax, [ata_wait_end]
	jae .up
	pop rax
	mov ecx, ATA_SPIN
	clc
	ret
.up:
	pop rax
%endif
	stc
	ret

; ---------------------------------------------------------------------------------------------
; ata_wait_drq -- (internal) waits until the device is ready to transfer a sector.
;  IN:  nothing
;  OUT: CF = 0 when DRQ is set; CF = 1 on timeout or device error (ata_error set)
;  CLOBBERS: RDX
ata_wait_drq:
	push rax
	push rcx
	call ata_wait_begin
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
	call ata_wait_more
	jnc .poll
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
%ifdef ATA_DMA
	call ata_dma_transfer               ; CF = 0 done; CF = 1 not by DMA: PIO below
	jnc .out
	mov byte [ata_error], ATA_OK
%endif
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

%ifdef ATA_DMA
; ---- bus-master DMA (the kernel) --------------------------------------------------------------
; The PCI IDE controller's bus-master registers (SFF-8038i), primary channel, at BAR4's I/O base.
; A command moves up to ATA_DMA_CHUNK sectors through one PRD table: entries of at most 64 KiB
; that never cross a 64 KiB boundary, the last one flagged EOT. Buffers must be below 4 GiB
; and 2-byte aligned (else that transfer goes by PIO). QEMU sets the interrupt bit only with
; nIEN clear; the driver polls (nIEN set): a command is done when the channel's active bit and
; the device's BSY are both clear.
ATA_BM_COMMAND      equ 0               ; bit 0 start, bit 3 direction (1: device -> memory)
ATA_BM_STATUS       equ 2               ; bit 0 active, bit 1 error (w1c), bit 2 interrupt (w1c)
ATA_BM_PRDT         equ 4               ; PRD table physical address (dword)
ATA_BM_START        equ 0x01
ATA_BM_TO_MEMORY    equ 0x08
ATA_BM_ACTIVE       equ 0x01
ATA_BM_ERROR        equ 0x02
ATA_BM_IRQ          equ 0x04
ATA_BM_CAPABLE      equ 0x60            ; drive 0/1 DMA capable (kept as read)
ATA_PRD_EOT         equ 0x80000000      ; in the entry's second dword: the last entry
ATA_DMA_CHUNK       equ 32768           ; sectors per DMA command (16 MiB)
ATA_PRD_MAX         equ ATA_DMA_CHUNK * 512 / 0x10000 + 1
ATA_DMA_GAP         equ 16              ; pauses between two polls (interrupts off)
ATA_DMA_SPIN        equ 0x1000000       ; polls before a DMA command is given up (interrupts off)
ATA_IRQ             equ 14              ; the primary channel's ISA interrupt
PCI_CLASS_IDE       equ 0x0101          ; class 01 (storage), subclass 01 (IDE)
PCI_REG_CLASS       equ 0x08            ; class (31:24), subclass (23:16), prog-if (15:8)
PCI_REG_BAR4        equ 0x20
PCI_CMD_IO          equ 0x0001
PCI_IDE_PIIX3       equ PCI_VENDOR_INTEL | (0x7010 << 16)   ; QEMU's pc machine
PCI_IDE_PIIX4       equ PCI_VENDOR_INTEL | (0x7111 << 16)
; ata_dma_off_reason values (0: DMA on)
ATA_DMA_ON          equ 0
ATA_DMA_NO_CONTROLLER equ 1             ; no PCI IDE controller with a bus-master BAR
ATA_DMA_NO_DEVICE   equ 2               ; the disk does not report DMA (IDENTIFY word 49)
ATA_DMA_FAILED      equ 3               ; a DMA command failed: PIO from then on

; ---------------------------------------------------------------------------------------------
; ata_dma_init -- Finds the PCI IDE controller (PIIX3/PIIX4, class 01:01) and its bus-master
; I/O base (BAR4), enables I/O decoding and bus mastering, and turns DMA on when the disk
; (ata_init's IDENTIFY) supports it. Config reads only: it costs the boot nothing measurable.
;  IN:  ata_identify, ata_sectors (ata_init succeeded)
;  OUT: ata_dma_base (0: PIO), ata_dma_off_reason (ATA_DMA_*); IRQ 14's gate set and
;       unmasked
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI
ata_dma_init:
	mov word [ata_dma_base], 0
	mov byte [ata_dma_off_reason], ATA_DMA_NO_CONTROLLER
	mov edi, PCI_IDE_PIIX3
	call pci_find
	jnc .found
	mov edi, PCI_IDE_PIIX4
	call pci_find
	jc .out
.found:
	mov ecx, PCI_REG_CLASS
	call pci_read32
	shr eax, 16
	cmp ax, PCI_CLASS_IDE
	jne .out
	mov ecx, PCI_REG_BAR4
	call pci_read32
	test eax, PCI_BAR_IO
	jz .out
	and eax, 0xFFFC
	jz .out
	mov edi, eax                        ; the bus-master base
	mov ecx, PCI_REG_COMMAND
	call pci_read32
	and eax, 0xFFFF                     ; leave the status half alone (write-1-clear bits)
	or eax, PCI_CMD_IO | PCI_CMD_MASTER
	call pci_write32
	mov byte [ata_dma_off_reason], ATA_DMA_NO_DEVICE
	test word [ata_identify + 49 * 2], 1 << 8   ; DMA supported
	jz .out
	mov dx, di
	add dx, ATA_BM_COMMAND
	xor eax, eax
	out dx, al                          ; stopped
	mov [ata_dma_base], di
	mov byte [ata_dma_off_reason], ATA_DMA_ON
	; IRQ 14 wakes the waits (the device raises it only while a DMA command runs)
	mov byte [ata_dma_devctl], 0x02     ; nIEN: without the interrupt, the waits poll
	mov ecx, IRQ_BASE + ATA_IRQ
	mov rax, ata_dma_irq
	xor edx, edx
	call idt_set_gate
	mov al, ATA_IRQ
	call pic_unmask
	mov byte [ata_dma_devctl], 0x00
.out:
	ret

; ---------------------------------------------------------------------------------------------
; ata_dma_transfer -- (internal) ata_transfer by DMA, when it is on and the buffer fits: commands
; of at most ATA_DMA_CHUNK sectors. A command that fails turns DMA off for good
; (ata_dma_off_reason = ATA_DMA_FAILED, ata_dma_fail_lba / ata_dma_fail_status; the kernel
; reports it once) and returns CF = 1 so that the caller redoes the whole transfer by PIO.
;  IN:  RAX = first LBA, RCX = sector count (range checked), R9 = 0: read into RDI,
;       1: write from RSI
;  OUT: CF = 0 done (ata_error = ATA_OK); CF = 1 not done: DMA off, or the buffer is above
;       4 GiB or odd, or the command failed
;  CLOBBERS: nothing
ata_dma_transfer:
	cmp word [ata_dma_base], 0
	je .no
	test rcx, rcx
	jz .no
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push r8
	push r10
	push r11
	mov rbx, rdi
	test r9d, r9d
	jz .have_buf
	mov rbx, rsi
.have_buf:
	test ebx, 1
	jnz .skip                           ; odd: the PRD's address bit 0 is reserved
	mov rdx, rcx
	shl rdx, 9
	add rdx, rbx
	jc .skip
	mov r8, 0x100000000
	cmp rdx, r8
	ja .skip                            ; the PRD holds 32-bit addresses
	mov r8, rcx                         ; sectors left
	mov r10, rax                        ; LBA
.command:
	mov rcx, r8
	cmp rcx, ATA_DMA_CHUNK
	jbe .sized
	mov ecx, ATA_DMA_CHUNK
.sized:
	mov [ata_error_lba], r10
	; the PRD table for [RBX, RBX + RCX * 512)
	mov r11, rcx
	shl r11, 9                          ; bytes
	mov rdi, ata_prd
	mov rsi, rbx
.entry:
	mov eax, esi
	neg eax
	and eax, 0xFFFF                     ; bytes to the next 64 KiB boundary
	jnz .bounded
	mov eax, 0x10000
.bounded:
	cmp rax, r11
	jbe .fits
	mov rax, r11
.fits:
	mov [rdi], esi
	mov edx, eax
	and edx, 0xFFFF                     ; 0 means 64 KiB
	sub r11, rax
	jnz .more
	or edx, ATA_PRD_EOT
.more:
	mov [rdi + 4], edx
	add rsi, rax
	add rdi, 8
	test r11, r11
	jnz .entry
	push rcx
	call ata_wait_ready
	pop rcx
	jc .failed
	; bus master: stopped, status cleared, table, direction; then the command; then start
	mov dx, [ata_dma_base]
	add dx, ATA_BM_COMMAND
	xor eax, eax
	out dx, al
	add dx, ATA_BM_STATUS - ATA_BM_COMMAND
	in al, dx
	and al, ATA_BM_CAPABLE
	or al, ATA_BM_ERROR | ATA_BM_IRQ
	out dx, al
	add dx, ATA_BM_PRDT - ATA_BM_STATUS
	mov eax, ata_prd
	out dx, eax
	mov dx, [ata_dma_base]
	xor eax, eax
	test r9d, r9d
	jnz .dir
	mov al, ATA_BM_TO_MEMORY
.dir:
	out dx, al
	mov dx, ATA_DEVCTL                  ; the device's interrupt on: ata_dma_wait sleeps on it
	mov al, [ata_dma_devctl]
	out dx, al
	push rbx
	mov bl, ATA_CMD_READ_DMA_EXT
	test r9d, r9d
	jz .cmd
	mov bl, ATA_CMD_WRITE_DMA_EXT
.cmd:
	mov rax, r10
	call ata_command48
	pop rbx
	mov dx, [ata_dma_base]
	in al, dx
	or al, ATA_BM_START
	out dx, al
	; wait: channel inactive and device not busy (or an error), bounded
	push rcx
	call ata_dma_wait
	pop rcx
.stop:
	mov dx, [ata_dma_base]
	xor eax, eax
	out dx, al                          ; stop the channel (also after a timeout)
	mov dx, ATA_DEVCTL
	mov al, 0x02                        ; nIEN again: PIO polls
	out dx, al
	cmp byte [ata_error], ATA_OK
	jne .failed
	mov dx, [ata_dma_base]              ; (DX held ATA_DEVCTL: + 2 would be COM1's receive port)
	add dx, ATA_BM_STATUS
	in al, dx
	mov [ata_dma_fail_bm], al
	test al, ATA_BM_ERROR | ATA_BM_ACTIVE
	jnz .device_error
	mov dx, ATA_STATUS                  ; (clears the device's pending interrupt)
	in al, dx
	mov [ata_status], al
	test al, ATA_SR_ERR | ATA_SR_DF | ATA_SR_BSY | ATA_SR_DRQ
	jnz .device_error
	; next command
	add r10, rcx
	mov rax, rcx
	shl rax, 9
	add rbx, rax
	sub r8, rcx
	jnz .command
	mov byte [ata_error], ATA_OK
	clc
	jmp .out
.device_error:
	mov byte [ata_error], ATA_ERR_DEVICE
.failed:
	mov dx, ATA_ALTSTATUS
	in al, dx
	mov [ata_status], al
	mov [ata_dma_fail_status], al
	mov rax, [ata_error_lba]
	mov [ata_dma_fail_lba], rax
	mov al, [ata_error]
	mov [ata_dma_fail_error], al
	mov word [ata_dma_base], 0          ; PIO from now on
	mov byte [ata_dma_off_reason], ATA_DMA_FAILED
	cmp byte [ata_dma_fail_error], ATA_ERR_TIMEOUT
	jne .reported
	call ata_reset_channel              ; a device still busy: start the PIO retry from idle
.reported:
	call disk_dma_fell_back             ; the kernel's one EVENT about it (disk.asm)
.skip:
	stc
.out:
	pop r11
	pop r10
	pop r8
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; ata_dma_wait -- (internal) waits for the running DMA command: until the channel is inactive
; and the device not busy, or an error shows. With interrupts on it sleeps (hlt) between
; checks, woken by the device's IRQ 14 (or the PIT): a guest spinning here would take the host
; CPU from QEMU's I/O thread, which is what completes the transfer. Bounded: ATA_WAIT_MS PIT
; ticks asleep, ATA_DMA_SPIN polls with interrupts off.
;  IN:  nothing (the command started)
;  OUT: ata_error = ATA_ERR_TIMEOUT when it gave up (else unchanged)
;  CLOBBERS: RAX, RCX, RDX
ata_dma_wait:
	pushfq
	pop rax
	test eax, 1 << 9                    ; IF
	jz .spin
	mov rcx, [ticks]
	add rcx, ATA_WAIT_MS
.sleep:
	cli
	call ata_dma_done
	jnc .woke
	sti
	hlt                                 ; (sti's shadow: no wake-up lost between them)
	call watchdog_feed                  ; a slow transfer is not a hang (health.asm)
	cmp [ticks], rcx
	jb .sleep
	mov byte [ata_error], ATA_ERR_TIMEOUT
	ret
.woke:
	sti
	ret
.spin:
	mov ecx, ATA_DMA_SPIN
.poll:
	call ata_dma_done
	jnc .out
	push rcx
	mov ecx, ATA_DMA_GAP
.gap:
	pause
	loop .gap
	pop rcx
	dec ecx
	jnz .poll
	mov byte [ata_error], ATA_ERR_TIMEOUT
.out:
	ret

; ---------------------------------------------------------------------------------------------
; ata_dma_done -- (internal) is the running DMA command over (finished or failed)?
;  IN:  nothing
;  OUT: CF = 0 over; CF = 1 still running
;  CLOBBERS: RAX, RDX
ata_dma_done:
	mov dx, [ata_dma_base]
	add dx, ATA_BM_STATUS
	in al, dx
	mov ah, al
	test al, ATA_BM_ERROR
	jnz .over
	mov dx, ATA_ALTSTATUS
	in al, dx
	test al, ATA_SR_BSY
	jnz .running
	test ah, ATA_BM_ACTIVE
	jz .over
	test al, ATA_SR_ERR | ATA_SR_DF
	jnz .over
.running:
	stc
	ret
.over:
	clc
	ret

; ---------------------------------------------------------------------------------------------
; ata_dma_irq -- IRQ 14 (the primary channel's device): only wakes ata_dma_wait's hlt; the
; device's line drops when the driver reads its status afterwards.
;  IN:  interrupt frame
;  OUT: returns from the interrupt
;  CLOBBERS: nothing
ata_dma_irq:
	push rax
	inc qword [ata_dma_irqs]
	mov al, ATA_IRQ
	call pic_eoi
	pop rax
	iretq

; ---------------------------------------------------------------------------------------------
; ata_reset_channel -- (internal) after a DMA command that timed out: a software reset of the
; channel (SRST, nIEN kept), so that the PIO retry starts from an idle device; READ/WRITE
; MULTIPLE are not trusted after it (one sector per DRQ block from then on).
;  IN:  nothing
;  OUT: nothing (CF undefined)
;  CLOBBERS: RAX, RDX
ata_reset_channel:
	mov byte [ata_multiple], 1
	mov dx, ATA_DEVCTL
	mov al, 0x06                        ; SRST | nIEN
	out dx, al
	call ata_delay400
	mov dx, ATA_DEVCTL
	mov al, 0x02                        ; nIEN
	out dx, al
	call ata_delay400
	call ata_wait_ready
	ret
%endif

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
%ifdef ATA_DMA
alignb 8
ata_dma_fail_lba:   resq 1              ; the failed DMA command's first sector
ata_dma_irqs:       resq 1              ; IRQ 14s taken
ata_dma_base:       resw 1              ; bus-master I/O base (0: PIO)
ata_dma_off_reason: resb 1              ; ATA_DMA_* (0: on)
ata_wait_end:       resq 1              ; ata_wait_begin: the tick a wait gives up at
ata_dma_fail_status: resb 1             ; device status after the failed DMA command
ata_dma_fail_bm:    resb 1              ; bus-master status then
ata_dma_fail_error: resb 1              ; ata_error then
ata_dma_devctl:     resb 1              ; device control during a DMA command (nIEN clear)
alignb 4096
ata_prd:            resq ATA_PRD_MAX    ; the PRD table (4 KiB aligned: no 64 KiB crossing)
%endif
section .text
