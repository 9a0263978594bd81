; crc32.asm -- CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320; the zlib crc32), used to check
; GitFS superblocks and indexes. STUB: being written. Contract:
;
; crc32_buffer -- IN: RSI = data, RCX = length, EAX = previous crc (0 to start)
;                 OUT: EAX = crc.   CLOBBERS: nothing else

crc32_buffer:
	ret
