// git's delta format (as in packfiles): varint base size, varint result size, then opcodes:
//   1xxxxxxx  copy: bits 0-3 say which offset bytes follow, bits 4-6 which size bytes (size 0 = 0x10000)
//   0nnnnnnn  insert the next n (1..127) bytes
// The encoder indexes the base in 16-byte blocks and scans the target with a rolling hash.
import { CorruptDataError } from '../core/errors.ts';

const BLOCK = 16;
const MAX_COPY = 0xffffff;
const MAX_INSERT = 0x7f;

function writeVarint(out: number[], n: number): void {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}

class ByteSink {
  private buf = Buffer.allocUnsafe(1024);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  bytes(src: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    src.copy(this.buf, this.len, start, end);
    this.len += end - start;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function emitInsert(sink: ByteSink, target: Buffer, start: number, end: number): void {
  while (start < end) {
    const n = Math.min(MAX_INSERT, end - start);
    sink.byte(n);
    sink.bytes(target, start, start + n);
    start += n;
  }
}

function emitCopy(sink: ByteSink, offset: number, size: number): void {
  while (size > 0) {
    const n = Math.min(MAX_COPY, size);
    let op = 0x80;
    const args: number[] = [];
    for (let i = 0; i < 4; i++) {
      const b = Math.floor(offset / 2 ** (8 * i)) & 0xff;
      if (b !== 0) {
        op |= 1 << i;
        args.push(b);
      }
    }
    if (n !== 0x10000) {
      for (let i = 0; i < 3; i++) {
        const b = (n >>> (8 * i)) & 0xff;
        if (b !== 0) {
          op |= 0x10 << i;
          args.push(b);
        }
      }
    }
    sink.byte(op);
    for (const a of args) sink.byte(a);
    offset += n;
    size -= n;
  }
}

function blockHash(buf: Buffer, at: number): number {
  let h = 0;
  for (let i = 0; i < BLOCK; i++) h = (Math.imul(h, 31) + buf[at + i]!) | 0;
  return h;
}

/** Encodes `target` as a git delta against `base`. */
export function encodeDelta(base: Buffer, target: Buffer): Buffer {
  const sink = new ByteSink();
  const hdr: number[] = [];
  writeVarint(hdr, base.length);
  writeVarint(hdr, target.length);
  for (const b of hdr) sink.byte(b);

  // Index the base: first offset of each 16-byte block's hash.
  const index = new Map<number, number>();
  for (let off = 0; off + BLOCK <= base.length; off += BLOCK) {
    const h = blockHash(base, off);
    if (!index.has(h)) index.set(h, off);
  }
  // 31^16 mod 2^32, to drop the outgoing byte of the rolling hash.
  let pow = 1;
  for (let i = 0; i < BLOCK; i++) pow = Math.imul(pow, 31) | 0;

  let insertStart = 0;
  let i = 0;
  let h = target.length >= BLOCK ? blockHash(target, 0) : 0;
  while (i + BLOCK <= target.length) {
    const cand = index.get(h);
    if (cand !== undefined && base.compare(target, i, i + BLOCK, cand, cand + BLOCK) === 0) {
      // Extend forward, then backward into the pending insert.
      let fwd = BLOCK;
      while (i + fwd < target.length && cand + fwd < base.length && target[i + fwd] === base[cand + fwd]) fwd++;
      let back = 0;
      while (i - back > insertStart && cand - back > 0 && target[i - back - 1] === base[cand - back - 1]) back++;
      emitInsert(sink, target, insertStart, i - back);
      emitCopy(sink, cand - back, fwd + back);
      i += fwd;
      insertStart = i;
      if (i + BLOCK <= target.length) h = blockHash(target, i);
      continue;
    }
    if (i + BLOCK < target.length) {
      h = (Math.imul(h, 31) - Math.imul(pow, target[i]!) + target[i + BLOCK]!) | 0;
    }
    i++;
  }
  emitInsert(sink, target, insertStart, target.length);
  return sink.result();
}

function readVarint(delta: Buffer, pos: { p: number }): number {
  let n = 0;
  let shift = 0;
  for (;;) {
    if (pos.p >= delta.length) throw new CorruptDataError('corrupt delta: truncated header');
    const b = delta[pos.p++]!;
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
    if (shift > 49) throw new CorruptDataError('corrupt delta: size too large');
  }
  return n;
}

/** The result size a delta declares (without applying it). */
export function deltaResultSize(delta: Buffer): number {
  const pos = { p: 0 };
  readVarint(delta, pos);
  return readVarint(delta, pos);
}

/** Applies a git delta to `base`; malformed deltas give CorruptDataError. */
export function applyDelta(base: Buffer, delta: Buffer, maxSize = 2 ** 31): Buffer {
  const pos = { p: 0 };
  const baseSize = readVarint(delta, pos);
  const resultSize = readVarint(delta, pos);
  if (baseSize !== base.length) throw new CorruptDataError(`corrupt delta: base size ${baseSize}, base has ${base.length}`);
  if (resultSize > maxSize) throw new CorruptDataError(`corrupt delta: result size ${resultSize} too large`);
  const out = Buffer.allocUnsafe(resultSize);
  let o = 0;
  let p = pos.p;
  while (p < delta.length) {
    const op = delta[p++]!;
    if (op & 0x80) {
      let off = 0;
      let size = 0;
      for (let i = 0; i < 4; i++) {
        if (op & (1 << i)) {
          if (p >= delta.length) throw new CorruptDataError('corrupt delta: truncated copy');
          off += delta[p++]! * 2 ** (8 * i);
        }
      }
      for (let i = 0; i < 3; i++) {
        if (op & (0x10 << i)) {
          if (p >= delta.length) throw new CorruptDataError('corrupt delta: truncated copy');
          size += delta[p++]! << (8 * i);
        }
      }
      if (size === 0) size = 0x10000;
      if (off + size > base.length || o + size > resultSize) throw new CorruptDataError('corrupt delta: copy out of range');
      base.copy(out, o, off, off + size);
      o += size;
    } else if (op !== 0) {
      if (p + op > delta.length || o + op > resultSize) throw new CorruptDataError('corrupt delta: insert out of range');
      delta.copy(out, o, p, p + op);
      p += op;
      o += op;
    } else {
      throw new CorruptDataError('corrupt delta: opcode 0');
    }
  }
  if (o !== resultSize) throw new CorruptDataError(`corrupt delta: produced ${o} of ${resultSize} bytes`);
  return out;
}
