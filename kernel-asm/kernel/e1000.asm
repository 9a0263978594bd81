; e1000.asm -- the Intel 82540EM (QEMU's default `e1000`) driver: PCI discovery, reset, MAC,
; multicast filter, legacy RX/TX descriptor rings, polled receive and transmit. The receive
; interrupt (RXT0) only wakes the CPU from the main loop's hlt: its handler acknowledges and
; returns, and net_poll (net.asm) takes the frames from the healthy main loop. Every wait on
; the hardware is bounded in PIT ticks (it runs before the TSC is calibrated). Registers and
; descriptor layouts: include/e1000.inc.
;
; QEMU facts this follows (hw/net/e1000.c): receive needs STATUS.LU, RCTL.EN, bus mastering and
; RDH != RDT (one descriptor is always left empty); every RCTL write starts a 1 s timer during
; which frames are queued, not delivered, so RCTL is written exactly once, early in bring-up;
; transmit runs synchronously when TDT is written.

E1000_RX_COUNT      equ 128             ; RX descriptors (x 2 KiB buffers)
E1000_TX_COUNT      equ 32              ; TX descriptors (x 2 KiB buffers)
E1000_BUF_BYTES     equ 2048
E1000_POLL_BUDGET   equ 32              ; frames handled per e1000_poll
E1000_RESET_MS      equ 20              ; bound on the self-clearing reset
E1000_EERD_MS       equ 10              ; bound on one EEPROM word read
E1000_GROUP_HASH    equ (NET_GROUP_MAC_HI >> 4) & 0xFFF   ; MTA bit for the group (MO = 0)

; ---------------------------------------------------------------------------------------------
; e1000_init -- Finds the NIC, maps BAR0, resets it, reads its MAC, programs the receive
; address, the multicast table (only the cluster group), the rings, RCTL (once) and TCTL, and
; routes its receive interrupt through the PIC (when the BIOS gave it a line). Runs first in
; bring-up, right after the PIT: QEMU's 1 s receive delay starts at the RCTL write.
;  IN:  nothing (the PIT ticking, interrupts on; the TSC need not be calibrated)
;  OUT: CF = 0: e1000_present = 1, e1000_mac, e1000_link, e1000_rctl_tsc set;
;       CF = 1: no NIC (e1000_fail = 0) or bring-up failed (e1000_fail = reason string)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R10
e1000_init:
	mov qword [e1000_fail], 0
	mov edi, PCI_VENDOR_INTEL | (PCI_DEVICE_82540EM << 16)
	call pci_find
	jc .absent
	mov ecx, PCI_REG_BAR0
	call pci_read32
	test eax, PCI_BAR_IO
	jnz .bad_bar
	mov r9d, eax
	and eax, PCI_BAR_MEM_MASK
	mov r8d, eax
	and r9d, PCI_BAR_TYPE_MASK
	cmp r9d, PCI_BAR_TYPE_64
	jne .bar_done
	mov ecx, PCI_REG_BAR1
	call pci_read32
	shl rax, 32
	or r8, rax
.bar_done:
	test r8, r8
	jz .bad_bar
	mov [e1000_mmio], r8
	mov ecx, PCI_REG_COMMAND
	call pci_read32
	and eax, 0xFFFF                     ; leave the status half alone (its bits are write-1-clear)
	or eax, PCI_CMD_MEMORY | PCI_CMD_MASTER
	call pci_write32
	mov ecx, PCI_REG_INTERRUPT
	call pci_read32
	mov [e1000_irq_line], al
	mov rax, r8
	mov ecx, E1000_MMIO_BYTES
	call mmio_map
	jc .no_map
	mov rbx, [e1000_mmio]

	; reset, then all interrupts masked (we poll)
	mov eax, [rbx + E1000_CTRL]
	or eax, E1000_CTRL_RST
	mov [rbx + E1000_CTRL], eax
	mov ecx, E1000_CTRL
	mov edx, E1000_CTRL_RST
	xor eax, eax
	mov r10d, E1000_RESET_MS
	call e1000_wait
	jc .reset_timeout
	mov dword [rbx + E1000_IMC], 0xFFFFFFFF
	mov eax, [rbx + E1000_ICR]
	mov eax, [rbx + E1000_CTRL]
	or eax, E1000_CTRL_SLU | E1000_CTRL_ASDE
	and eax, ~(E1000_CTRL_LRST | E1000_CTRL_PHY_RST)
	mov [rbx + E1000_CTRL], eax

	; the MAC: receive address 0 when valid, else the EEPROM's words 0..2
	mov eax, [rbx + E1000_RAH0]
	test eax, E1000_RAH_AV
	jz .eeprom
	mov [e1000_mac + 4], ax
	mov eax, [rbx + E1000_RAL0]
	mov [e1000_mac], eax
	jmp .have_mac
.eeprom:
	xor r8d, r8d
.eeprom_word:
	mov eax, r8d
	shl eax, E1000_EERD_ADDR_SHIFT
	or eax, E1000_EERD_START
	mov [rbx + E1000_EERD], eax
	mov ecx, E1000_EERD
	mov edx, E1000_EERD_DONE
	mov eax, edx
	mov r10d, E1000_EERD_MS
	call e1000_wait
	jc .eeprom_timeout
	mov eax, [rbx + E1000_EERD]
	shr eax, E1000_EERD_DATA_SHIFT
	mov [e1000_mac + r8 * 2], ax
	inc r8d
	cmp r8d, 3
	jb .eeprom_word
.have_mac:
	mov eax, [e1000_mac]
	mov [rbx + E1000_RAL0], eax
	movzx eax, word [e1000_mac + 4]
	or eax, E1000_RAH_AV
	mov [rbx + E1000_RAH0], eax

	; multicast table: every bit clear, then the group's (hash of address bits 47:36)
	xor ecx, ecx
.mta:
	mov dword [rbx + E1000_MTA + rcx * 4], 0
	inc ecx
	cmp ecx, E1000_MTA_DWORDS
	jb .mta
	mov dword [rbx + E1000_MTA + (E1000_GROUP_HASH >> 5) * 4], 1 << (E1000_GROUP_HASH & 31)

	; receive ring: every descriptor owns a buffer; the hardware gets all but one
	xor ecx, ecx
	mov rax, e1000_rx_bufs
.rx_desc:
	mov rdi, rcx
	shl rdi, 4
	mov [e1000_rx_ring + rdi + e1000_rxd.addr], rax
	mov byte [e1000_rx_ring + rdi + e1000_rxd.status], 0
	add rax, E1000_BUF_BYTES
	inc ecx
	cmp ecx, E1000_RX_COUNT
	jb .rx_desc
	mov rax, e1000_rx_ring
	mov [rbx + E1000_RDBAL], eax
	shr rax, 32
	mov [rbx + E1000_RDBAH], eax
	mov dword [rbx + E1000_RDLEN], E1000_RX_COUNT * e1000_rxd_size
	mov dword [rbx + E1000_RDH], 0
	mov dword [rbx + E1000_RDT], E1000_RX_COUNT - 1
	mov qword [e1000_rx_next], 0
	; the one RCTL write (starts QEMU's 1 s receive delay: overlapped with the rest of boot)
	mov dword [rbx + E1000_RCTL], E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC | E1000_RCTL_BSIZE_2048
	call rdtsc64
	mov [e1000_rctl_tsc], rax

	; transmit ring: every descriptor free (DD set by us), head = tail = 0
	xor ecx, ecx
	mov rax, e1000_tx_bufs
.tx_desc:
	mov rdi, rcx
	shl rdi, 4
	mov [e1000_tx_ring + rdi + e1000_txd.addr], rax
	mov byte [e1000_tx_ring + rdi + e1000_txd.status], E1000_TXD_DD
	add rax, E1000_BUF_BYTES
	inc ecx
	cmp ecx, E1000_TX_COUNT
	jb .tx_desc
	mov rax, e1000_tx_ring
	mov [rbx + E1000_TDBAL], eax
	shr rax, 32
	mov [rbx + E1000_TDBAH], eax
	mov dword [rbx + E1000_TDLEN], E1000_TX_COUNT * e1000_txd_size
	mov dword [rbx + E1000_TDH], 0
	mov dword [rbx + E1000_TDT], 0
	mov qword [e1000_tx_next], 0
	mov dword [rbx + E1000_TIPG], E1000_TIPG_VALUE
	mov dword [rbx + E1000_TCTL], E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT | E1000_TCTL_COLD

	mov eax, [rbx + E1000_STATUS]
	and eax, E1000_STATUS_LU
	setnz byte [e1000_link]
	mov byte [e1000_present], 1
	; the receive interrupt, on the line the BIOS routed (none: the main loop's tick still polls)
	movzx ecx, byte [e1000_irq_line]
	cmp ecx, 15
	ja .no_irq
	cmp ecx, 2
	jbe .no_irq                         ; the PIT, the keyboard, the cascade: not ours
	add ecx, IRQ_BASE
	mov rax, e1000_irq
	xor edx, edx
	call idt_set_gate
	mov al, [e1000_irq_line]
	call pic_unmask
	mov dword [rbx + E1000_IMS], E1000_INT_RXT0
	mov byte [e1000_irq_on], 1
.no_irq:
	clc
	ret
.absent:
	stc
	ret
.bad_bar:
	mov qword [e1000_fail], str_e1000_bad_bar
	stc
	ret
.no_map:
	mov qword [e1000_fail], str_e1000_no_map
	stc
	ret
.reset_timeout:
	mov qword [e1000_fail], str_e1000_reset_timeout
	stc
	ret
.eeprom_timeout:
	mov qword [e1000_fail], str_e1000_eeprom_timeout
	stc
	ret

; ---------------------------------------------------------------------------------------------
; e1000_wait -- Waits, bounded, until (register & mask) == value.
;  IN:  RBX = MMIO base, ECX = register offset, EDX = mask, EAX = value wanted,
;       R10D = limit in milliseconds (PIT ticks, plus one for the tick under way)
;  OUT: CF = 0 reached; CF = 1 timed out
;  CLOBBERS: R9, R10
e1000_wait:
	push rax
	push rdx
	push rsi
	mov esi, eax                        ; wanted
	mov r9d, edx                        ; mask
	mov eax, r10d
	add rax, [ticks]
	lea r10, [rax + 1]                  ; deadline, in ticks
.poll:
	mov eax, [rbx + rcx]
	and eax, r9d
	cmp eax, esi
	je .done
	pause
	cmp [ticks], r10
	jb .poll
	pop rsi
	pop rdx
	pop rax
	stc
	ret
.done:
	pop rsi
	pop rdx
	pop rax
	clc
	ret

; ---------------------------------------------------------------------------------------------
; e1000_irq -- The NIC's interrupt (RXT0: a frame arrived): reads ICR (read-to-clear, which
; drops the line), acknowledges at the PIC and returns; the main loop it woke takes the frames.
;  IN:  interrupt frame
;  OUT: returns from the interrupt
;  CLOBBERS: nothing
e1000_irq:
	push rax
	push rbx
	mov rbx, [e1000_mmio]
	mov eax, [rbx + E1000_ICR]
	inc qword [e1000_irqs]
	mov al, [e1000_irq_line]
	call pic_eoi
	pop rbx
	pop rax
	iretq

; ---------------------------------------------------------------------------------------------
; e1000_poll -- Hands received frames to net_rx, at most E1000_POLL_BUDGET per call; never waits.
; A descriptor is taken when its DD bit is set; frames with errors or without EOP are counted in
; e1000_rx_errors and skipped. Each descriptor goes back to the hardware after its frame.
;  IN:  nothing (e1000_present = 1)
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
e1000_poll:
	mov r15d, E1000_POLL_BUDGET
.next:
	mov rax, [e1000_rx_next]
	shl rax, 4
	lea rbx, [e1000_rx_ring + rax]
	test byte [rbx + e1000_rxd.status], E1000_RXD_DD
	jz .done
	mov al, [rbx + e1000_rxd.status]
	test al, E1000_RXD_EOP
	jz .bad
	cmp byte [rbx + e1000_rxd.errors], 0
	jne .bad
	inc qword [e1000_rx_frames]
	cmp qword [e1000_first_rx_tsc], 0
	jne .stamped
	call rdtsc64                        ; when the network was first heard (QEMU's delay)
	mov [e1000_first_rx_tsc], rax
.stamped:
	movzx ecx, word [rbx + e1000_rxd.length]
	mov rsi, [rbx + e1000_rxd.addr]
	push r15
	push rbx
	call net_rx
	pop rbx
	pop r15
	jmp .give_back
.bad:
	inc qword [e1000_rx_errors]
.give_back:
	mov byte [rbx + e1000_rxd.status], 0
	mov rax, [e1000_rx_next]
	mov rdx, [e1000_mmio]
	mov [rdx + E1000_RDT], eax          ; this descriptor is now the empty one
	inc rax
	cmp rax, E1000_RX_COUNT
	jb .wrap_ok
	xor eax, eax
.wrap_ok:
	mov [e1000_rx_next], rax
	dec r15d
	jnz .next
.done:
	ret

; ---------------------------------------------------------------------------------------------
; e1000_idle -- A waiting command's pause: when no received frame is waiting, sleeps (hlt)
; until the next interrupt (a frame's RXT0, the PIT's 1 ms tick, the serial line), so that a
; guest waiting for the network leaves the host CPU to the QEMUs that produce it. Without the
; receive interrupt or with interrupts off, a plain pause.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX
e1000_idle:
	cmp byte [e1000_irq_on], 0
	je .pause
	pushfq
	pop rax
	test eax, 1 << 9                    ; IF
	jz .pause
	cli
	mov rax, [e1000_rx_next]
	shl rax, 4
	test byte [e1000_rx_ring + rax + e1000_rxd.status], E1000_RXD_DD
	jnz .ready
	sti
	hlt                                 ; (sti's shadow: a frame arriving now still wakes it)
	ret
.ready:
	sti
	ret
.pause:
	pause
	ret

; ---------------------------------------------------------------------------------------------
; e1000_tx_slot -- The buffer of the next transmit descriptor, if the hardware is done with it.
;  IN:  nothing
;  OUT: CF = 0 and RDI = a 2 KiB frame buffer; CF = 1 when the ring is full (counted)
;  CLOBBERS: RAX
e1000_tx_slot:
	cmp byte [e1000_present], 0
	je .full
	mov rax, [e1000_tx_next]
	shl rax, 4
	test byte [e1000_tx_ring + rax + e1000_txd.status], E1000_TXD_DD
	jz .full
	mov rdi, [e1000_tx_ring + rax + e1000_txd.addr]
	clc
	ret
.full:
	inc qword [e1000_tx_full]
	stc
	ret

; ---------------------------------------------------------------------------------------------
; e1000_tx_send -- Sends the frame in the buffer e1000_tx_slot gave (QEMU transmits it at once).
;  IN:  ECX = frame length in bytes (14 .. ETH_MAX_FRAME)
;  OUT: nothing
;  CLOBBERS: RAX, RDX
e1000_tx_send:
	mov rax, [e1000_tx_next]
	mov rdx, rax
	shl rdx, 4
	mov [e1000_tx_ring + rdx + e1000_txd.length], cx
	mov byte [e1000_tx_ring + rdx + e1000_txd.cmd], E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS
	mov byte [e1000_tx_ring + rdx + e1000_txd.status], 0
	inc rax
	cmp rax, E1000_TX_COUNT
	jb .wrap_ok
	xor eax, eax
.wrap_ok:
	mov [e1000_tx_next], rax
	mov rdx, [e1000_mmio]
	mov [rdx + E1000_TDT], eax
	inc qword [e1000_tx_frames]
	ret

str_e1000_bad_bar:        db "bad-bar", 0
str_e1000_no_map:         db "no-mmio-map", 0
str_e1000_reset_timeout:  db "reset-timeout", 0
str_e1000_eeprom_timeout: db "eeprom-timeout", 0

	section .bss
	alignb 4096
e1000_rx_ring:      resb E1000_RX_COUNT * e1000_rxd_size
e1000_tx_ring:      resb E1000_TX_COUNT * e1000_txd_size
	alignb 4096
e1000_rx_bufs:      resb E1000_RX_COUNT * E1000_BUF_BYTES
e1000_tx_bufs:      resb E1000_TX_COUNT * E1000_BUF_BYTES
	alignb 8
e1000_mmio:         resq 1
e1000_fail:         resq 1              ; bring-up failure reason (0: none / no NIC)
e1000_rx_next:      resq 1
e1000_tx_next:      resq 1
e1000_rx_frames:    resq 1
e1000_tx_frames:    resq 1
e1000_rx_errors:    resq 1
e1000_tx_full:      resq 1
e1000_irqs:         resq 1              ; receive interrupts taken
e1000_rctl_tsc:     resq 1              ; TSC at the RCTL write
e1000_first_rx_tsc: resq 1              ; TSC at the first frame received (0: none yet)
e1000_mac:          resb 8
e1000_present:      resb 1
e1000_link:         resb 1
e1000_irq_line:     resb 1              ; PCI interrupt line (0xFF: none)
e1000_irq_on:       resb 1
	section .text
