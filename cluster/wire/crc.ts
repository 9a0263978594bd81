// CRC-32 (IEEE 802.3, zlib's) of a DATA chunk.
import { crc32 } from 'node:zlib';

export function chunkCrc(chunk: Buffer): number {
  return crc32(chunk) >>> 0;
}
