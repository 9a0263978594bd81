; sha1.asm -- SHA-1 (FIPS 180-4), shared by stage 2 and the kernel.
; STUB: being written. Contract:
;
; struc sha1_ctx: .h resd 5, .block resb 64, .used resq 1 (bytes in .block), .total resq 1
;
; sha1_init   -- IN: RDI = ctx.                               CLOBBERS: nothing
; sha1_update -- IN: RDI = ctx, RSI = data, RCX = length.     CLOBBERS: nothing
; sha1_final  -- IN: RDI = ctx, RDX = 20-byte output buffer.  CLOBBERS: nothing
; sha1_buffer -- IN: RSI = data, RCX = length, RDX = output.  CLOBBERS: nothing (own ctx)

struc sha1_ctx
  .h                resd 5
  .block            resb 64
  .used             resq 1
  .total            resq 1
endstruc

sha1_init:
	ret
sha1_update:
	ret
sha1_final:
	ret
sha1_buffer:
	ret
