; pci.asm -- PCI configuration space through mechanism #1 (ports 0xCF8/0xCFC): find a device
; by vendor and device id, read and write its registers; and mmio_map, which maps a device's
; MMIO window (a BAR above the identity-mapped first 1 GiB) uncached into the page tables.

PCI_MAX_BUS         equ 8               ; QEMU's pc machine puts its devices on bus 0
PCI_MAX_DEVICE      equ 32
PCI_MAX_FUNCTION    equ 8
MMIO_PD_POOL        equ 2               ; spare page directories for MMIO above 1 GiB

; ---------------------------------------------------------------------------------------------
; pci_read32 -- Reads one configuration dword.
;  IN:  EBX = device address (PCI_ENABLE | bus << 16 | device << 11 | function << 8),
;       ECX = register offset (dword aligned)
;  OUT: EAX = the register
;  CLOBBERS: RDX
pci_read32:
	mov eax, ebx
	or eax, ecx
	mov dx, PCI_CONFIG_ADDR
	out dx, eax
	mov dx, PCI_CONFIG_DATA
	in eax, dx
	ret

; ---------------------------------------------------------------------------------------------
; pci_write32 -- Writes one configuration dword.
;  IN:  EBX = device address, ECX = register offset, EAX = value
;  OUT: nothing
;  CLOBBERS: RDX
pci_write32:
	push rax
	mov eax, ebx
	or eax, ecx
	mov dx, PCI_CONFIG_ADDR
	out dx, eax
	pop rax
	mov dx, PCI_CONFIG_DATA
	out dx, eax
	ret

; ---------------------------------------------------------------------------------------------
; pci_find -- Finds the first function with this vendor and device id on buses
; 0..PCI_MAX_BUS-1.
;  IN:  EDI = vendor (15:0) | device (31:16), as register PCI_REG_ID reads
;  OUT: CF = 0 and EBX = its device address; CF = 1 when there is none
;  CLOBBERS: RAX, RCX, RDX
pci_find:
	mov ebx, PCI_ENABLE
.probe:
	mov ecx, PCI_REG_ID
	call pci_read32
	cmp eax, edi
	je .found
	cmp ax, PCI_NO_DEVICE
	jne .present
	test ebx, 0x700
	jz .next_device                     ; no function 0: no device
	jmp .next_function
.present:
	test ebx, 0x700
	jnz .next_function                  ; function > 0: go on with the functions
	mov ecx, PCI_REG_HEADER
	call pci_read32
	test eax, PCI_MULTIFUNCTION
	jz .next_device
.next_function:
	add ebx, 1 << 8
	test ebx, 0x700
	jnz .probe                          ; functions 1..7 of this device
	jmp .device_done
.next_device:
	and ebx, ~0x700
	add ebx, 1 << 11
.device_done:
	cmp ebx, PCI_ENABLE | (PCI_MAX_BUS << 16)
	jb .probe
	stc
	ret
.found:
	clc
	ret

; ---------------------------------------------------------------------------------------------
; mmio_map -- Makes a physical MMIO range reachable at the same virtual address, uncached.
; Ranges inside the identity-mapped first IDENTITY_MAP_BYTES are left as stage 2 mapped them;
; above, each 2 MiB page of the range gets an entry (PWT | PCD) in a page directory from a
; small pool, under the PML4's first entry (so the range must lie below 512 GiB).
;  IN:  RAX = physical base, RCX = length in bytes (> 0)
;  OUT: CF = 0 mapped; CF = 1 the range is above 512 GiB or the directory pool is spent
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8, R9
mmio_map:
	mov r9, PTE_ADDR_MASK
	lea r8, [rax + rcx - 1]             ; last byte
	and rax, ~(LARGE_PAGE_BYTES - 1)
	mov rdx, 1 << 39
	cmp r8, rdx
	jae .fail
.page:
	cmp rax, IDENTITY_MAP_BYTES
	jb .next                            ; stage 2's identity map already covers it
	mov rsi, cr3
	and rsi, r9              ; PML4
	mov rsi, [rsi]
	test esi, PTE_PRESENT
	jz .fail
	and rsi, r9              ; PDPT
	mov rcx, rax
	shr rcx, 30
	lea rsi, [rsi + rcx * 8]            ; the PDPT entry for this 1 GiB
	mov rdi, [rsi]
	test edi, PTE_PRESENT
	jnz .have_pd
	mov rcx, [mmio_pd_used]
	cmp rcx, MMIO_PD_POOL
	jae .fail
	inc qword [mmio_pd_used]
	shl rcx, 12
	lea rdi, [mmio_pd_pool + rcx]       ; zeroed with the .bss
	or rdi, PTE_PRESENT | PTE_WRITE
	mov [rsi], rdi
.have_pd:
	test edi, PTE_LARGE
	jnz .next                           ; a 1 GiB page already maps it
	and rdi, r9
	mov rcx, rax
	shr rcx, 21
	and ecx, 511
	mov rdx, rax
	or rdx, PTE_PRESENT | PTE_WRITE | PTE_PWT | PTE_PCD | PTE_LARGE
	mov [rdi + rcx * 8], rdx
.next:
	add rax, LARGE_PAGE_BYTES
	cmp rax, r8
	jbe .page
	mov rax, cr3                        ; drop stale translations
	mov cr3, rax
	clc
	ret
.fail:
	stc
	ret

	section .bss
	alignb 4096
mmio_pd_pool:       resb 4096 * MMIO_PD_POOL
mmio_pd_used:       resq 1
	section .text
