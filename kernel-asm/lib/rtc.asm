; rtc.asm -- the CMOS real-time clock, read as Unix time (QEMU's RTC runs on UTC).
; Shared by stage 2 (boot counting commits) and the kernel (put).

%ifndef RTC_ASM
%define RTC_ASM

RTC_CMOS_INDEX      equ 0x70
RTC_CMOS_DATA       equ 0x71

RTC_SECONDS         equ 0x00
RTC_MINUTES         equ 0x02
RTC_HOURS           equ 0x04
RTC_DAY             equ 0x07
RTC_MONTH           equ 0x08
RTC_YEAR            equ 0x09
RTC_STATUS_A        equ 0x0A
RTC_STATUS_B        equ 0x0B
RTC_UPDATE_SPIN     equ 100000

; ---------------------------------------------------------------------------------------------
; rtc_read_reg -- (internal) one CMOS register, BCD converted when the RTC uses BCD.
;  IN:  AL = register
;  OUT: EAX = value
;  CLOBBERS: RCX
rtc_read_reg:
	out RTC_CMOS_INDEX, al
	in al, RTC_CMOS_DATA
	movzx eax, al
	test byte [rtc_binary], 1
	jnz .done
	mov ecx, eax
	shr ecx, 4
	and eax, 0x0F
	imul ecx, ecx, 10
	add eax, ecx
.done:
	ret

; ---------------------------------------------------------------------------------------------
; rtc_unix_time -- Reads the RTC (after any update in progress) as seconds since 1970 (UTC).
;  IN:  nothing
;  OUT: RAX = Unix time
;  CLOBBERS: RCX, RDX, R8-R11
rtc_unix_time:
	mov ecx, RTC_UPDATE_SPIN            ; bounded wait for "update in progress" to clear
.uip:
	mov al, RTC_STATUS_A
	out RTC_CMOS_INDEX, al
	in al, RTC_CMOS_DATA
	test al, 0x80
	jz .read
	loop .uip
.read:
	mov al, RTC_STATUS_B
	out RTC_CMOS_INDEX, al
	in al, RTC_CMOS_DATA
	shr al, 2                           ; bit 2: binary mode
	and al, 1
	mov [rtc_binary], al
	mov al, RTC_SECONDS
	call rtc_read_reg
	mov r8, rax
	mov al, RTC_MINUTES
	call rtc_read_reg
	mov r9, rax
	mov al, RTC_HOURS
	call rtc_read_reg
	and eax, 0x3F                       ; 24-hour mode (QEMU's default)
	mov r10, rax
	mov al, RTC_DAY
	call rtc_read_reg
	mov r11, rax
	mov al, RTC_MONTH
	call rtc_read_reg
	mov rdx, rax
	mov al, RTC_YEAR
	call rtc_read_reg
	add eax, 2000                       ; years 2000..2099
	; days from civil (H. Hinnant): y -= m <= 2; era = y / 400; yoe = y - era*400;
	; doy = (153*(m + (m > 2 ? -3 : 9)) + 2)/5 + d-1; doe = yoe*365 + yoe/4 - yoe/100 + doy;
	; days = era*146097 + doe - 719468
	cmp edx, 2
	ja .m_ok
	dec eax
.m_ok:
	push rdx
	xor edx, edx
	mov ecx, 400
	div ecx                             ; eax = era, edx = yoe
	mov r8d, r8d
	push rax                            ; era
	mov ecx, edx                        ; yoe
	mov rax, [rsp + 8]                  ; month
	cmp eax, 2
	ja .m_gt2
	add eax, 9
	jmp .doy
.m_gt2:
	sub eax, 3
.doy:
	imul eax, eax, 153
	add eax, 2
	push rcx
	xor edx, edx
	mov ecx, 5
	div ecx
	pop rcx
	add eax, r11d
	dec eax                             ; doy
	mov edx, ecx
	imul edx, edx, 365
	add eax, edx                        ; + yoe*365
	mov edx, ecx
	shr edx, 2
	add eax, edx                        ; + yoe/4
	push rax
	mov eax, ecx
	xor edx, edx
	mov ecx, 100
	div ecx
	mov edx, eax
	pop rax
	sub eax, edx                        ; - yoe/100  -> doe
	pop rcx                             ; era
	add rsp, 8                          ; month
	imul rcx, rcx, 146097
	add rax, rcx
	sub rax, 719468                     ; days since 1970-01-01
	imul rax, rax, 86400
	imul r10, r10, 3600
	add rax, r10
	imul r9, r9, 60
	add rax, r9
	add rax, r8
	ret

section .bss
rtc_binary:         resb 1              ; 1: the RTC counts in binary, 0: in BCD
section .text

%endif
