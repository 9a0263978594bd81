// Byte-level encodings shared by the ISO 9660 writer and reader (ECMA-119 §7): both-endian
// integers, the two date formats, padded identifier fields, and UCS-2 (Joliet) text.

export const SECTOR = 2048;

/** ECMA-119 7.2.3: 16-bit value, little-endian then big-endian (4 bytes). */
export function both16(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(v, 0);
  b.writeUInt16BE(v, 2);
  return b;
}

/** ECMA-119 7.3.3: 32-bit value, little-endian then big-endian (8 bytes). */
export function both32(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(v, 0);
  b.writeUInt32BE(v, 4);
  return b;
}

/** Reads a both-endian 32-bit field; returns null when the two halves disagree. */
export function readBoth32(buf: Buffer, off: number): number | null {
  const le = buf.readUInt32LE(off);
  return le === buf.readUInt32BE(off + 4) ? le : null;
}

/** Reads a both-endian 16-bit field; returns null when the two halves disagree. */
export function readBoth16(buf: Buffer, off: number): number | null {
  const le = buf.readUInt16LE(off);
  return le === buf.readUInt16BE(off + 2) ? le : null;
}

/** ECMA-119 9.1.5: the 7-byte date in a directory record (UTC, offset 0). */
export function recordDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ]);
}

/** ECMA-119 8.4.26.1: the 17-byte volume date "YYYYMMDDHHMMSScc" + GMT offset; null = unset. */
export function volumeDate(d: Date | null): Buffer {
  if (d === null) return Buffer.concat([Buffer.from('0000000000000000', 'ascii'), Buffer.from([0])]);
  const p = (n: number, w: number): string => String(n).padStart(w, '0');
  const s =
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1, 2) +
    p(d.getUTCDate(), 2) +
    p(d.getUTCHours(), 2) +
    p(d.getUTCMinutes(), 2) +
    p(d.getUTCSeconds(), 2) +
    '00';
  return Buffer.concat([Buffer.from(s, 'ascii'), Buffer.from([0])]);
}

/** An ASCII field of `len` bytes padded with spaces. */
export function asciiField(s: string, len: number): Buffer {
  const b = Buffer.alloc(len, 0x20);
  b.write(s.slice(0, len), 'ascii');
  return b;
}

/** UCS-2 big-endian bytes of a JS string (UTF-16 code units, as Joliet readers expect). */
export function ucs2be(s: string): Buffer {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2);
  return b;
}

/** Decodes UCS-2/UTF-16 big-endian bytes (even length). */
export function fromUcs2be(b: Buffer): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i));
  return s;
}

/** A UCS-2 BE field of `len` bytes padded with UCS-2 spaces (Joliet descriptor fields). */
export function ucs2Field(s: string, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i + 1 < len; i += 2) b.writeUInt16BE(0x20, i);
  ucs2be(s.slice(0, Math.floor(len / 2))).copy(b, 0);
  return b;
}

export function sectorsFor(bytes: number): number {
  return Math.ceil(bytes / SECTOR);
}
