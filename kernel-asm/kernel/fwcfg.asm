; fwcfg.asm -- QEMU's fw_cfg device through its I/O ports (0x510 selector, 0x511 data): the
; signature check and a lookup in the file directory. The cluster key arrives this way
; (`-fw_cfg name=opt/gittorrent/key,file=...`, docs/protocol.md); see QEMU's docs/specs/fw_cfg.

FW_CFG_PORT_SEL     equ 0x510           ; 16-bit selector
FW_CFG_PORT_DATA    equ 0x511           ; 8-bit data, auto-incrementing
FW_CFG_SIGNATURE    equ 0x0000          ; reads "QEMU"
FW_CFG_FILE_DIR     equ 0x0019          ; u32 BE count, then fw_cfg_file entries
FW_CFG_SIG_VALUE    equ 0x554D4551      ; "QEMU" as a little-endian dword
FW_CFG_MAX_FILES    equ 256             ; bound on the directory walk

struc fw_cfg_file                       ; all big-endian
  .size             resd 1
  .select           resw 1
  .reserved         resw 1
  .name             resb 56
endstruc

; ---------------------------------------------------------------------------------------------
; fwcfg_select -- Selects an item; the data port then reads it from its start.
;  IN:  AX = selector
;  OUT: nothing
;  CLOBBERS: RDX
fwcfg_select:
	mov dx, FW_CFG_PORT_SEL
	out dx, ax
	ret

; ---------------------------------------------------------------------------------------------
; fwcfg_read -- Reads bytes of the selected item.
;  IN:  RDI = buffer, RCX = count
;  OUT: RDI advanced
;  CLOBBERS: RAX, RCX, RDX
fwcfg_read:
	mov dx, FW_CFG_PORT_DATA
	rep insb
	ret

; ---------------------------------------------------------------------------------------------
; fwcfg_find -- Looks a file up by name in the fw_cfg directory.
;  IN:  RSI = zero-terminated name (< 56 bytes)
;  OUT: CF = 0, EAX = its size, BX = its selector (the item is not selected); CF = 1 when there
;       is no fw_cfg device or no such file
;  CLOBBERS: RCX, RDX, RDI, R8, R9
fwcfg_find:
	mov ax, FW_CFG_SIGNATURE
	call fwcfg_select
	mov rdi, fwcfg_entry
	mov ecx, 4
	call fwcfg_read
	cmp dword [fwcfg_entry], FW_CFG_SIG_VALUE
	jne .none
	mov ax, FW_CFG_FILE_DIR
	call fwcfg_select
	mov rdi, fwcfg_entry
	mov ecx, 4
	call fwcfg_read
	mov r8d, [fwcfg_entry]
	bswap r8d                           ; entries
	cmp r8d, FW_CFG_MAX_FILES
	jbe .walk
	mov r8d, FW_CFG_MAX_FILES
.walk:
	test r8d, r8d
	jz .none
	mov rdi, fwcfg_entry
	mov ecx, fw_cfg_file_size
	call fwcfg_read
	; compare names (the entry's is zero-padded)
	xor r9d, r9d
.cmp:
	mov al, [rsi + r9]
	cmp al, [fwcfg_entry + fw_cfg_file.name + r9]
	jne .next
	test al, al
	jz .found
	inc r9d
	cmp r9d, 55
	jb .cmp
.next:
	dec r8d
	jmp .walk
.found:
	mov eax, [fwcfg_entry + fw_cfg_file.size]
	bswap eax
	mov bx, [fwcfg_entry + fw_cfg_file.select]
	xchg bl, bh
	clc
	ret
.none:
	stc
	ret

	section .bss
	alignb 8
fwcfg_entry:        resb fw_cfg_file_size
	section .text
