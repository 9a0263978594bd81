// The index: hash -> log record, a 256-entry fanout and 32-byte entries sorted by hash.
import { crc32 } from 'node:zlib';
import { CorruptDataError } from '../core/errors.ts';
import {
  GITFS_VERSION, HASH_SIZE, IDX_ENTRIES_OFFSET, IDX_ENTRY, IDX_ENTRY_SIZE, IDX_FANOUT_OFFSET, IDX_HDR, IDX_MAGIC, layoutOf,
} from './layout.ts';

const H = layoutOf(IDX_HDR).offsets;
const E = layoutOf(IDX_ENTRY).offsets;

export interface IndexEntry {
  readonly hash: string;
  readonly type: number;
  readonly storage: number;
  readonly depth: number;
  /** Absolute byte offset of the log record header. */
  readonly offset: number;
}

export function indexBytes(count: number): number {
  return IDX_ENTRIES_OFFSET + count * IDX_ENTRY_SIZE;
}

/** Encodes entries (any order) into the index region's bytes. */
export function encodeIndex(entries: Iterable<IndexEntry>, generation: number): Buffer {
  const sorted = [...entries].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const buf = Buffer.alloc(indexBytes(sorted.length));
  buf.writeUInt32LE(IDX_MAGIC, H.magic);
  buf.writeUInt32LE(GITFS_VERSION, H.version);
  buf.writeUInt32LE(sorted.length, H.count);
  buf.writeUInt32LE(generation >>> 0, H.generation);
  const fan = new Uint32Array(256);
  let o = IDX_ENTRIES_OFFSET;
  for (const e of sorted) {
    buf.write(e.hash, o + E.hash, HASH_SIZE, 'hex');
    buf[o + E.type] = e.type;
    buf[o + E.storage] = e.storage;
    buf.writeUInt16LE(e.depth, o + E.depth);
    buf.writeBigUInt64LE(BigInt(e.offset), o + E.offset);
    fan[parseInt(e.hash.slice(0, 2), 16)]!++;
    o += IDX_ENTRY_SIZE;
  }
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += fan[i]!;
    buf.writeUInt32LE(acc, IDX_FANOUT_OFFSET + i * 4);
  }
  return buf;
}

export function indexCrc(buf: Buffer): number {
  return crc32(buf);
}

/** Decodes and validates an index (magic, count, order, fanout). */
export function decodeIndex(buf: Buffer, count: number): IndexEntry[] {
  if (buf.length !== indexBytes(count)) throw new CorruptDataError('index has the wrong size');
  if (buf.readUInt32LE(H.magic) !== IDX_MAGIC) throw new CorruptDataError('index has no magic');
  if (buf.readUInt32LE(H.count) !== count) throw new CorruptDataError('index count disagrees with the superblock');
  const out: IndexEntry[] = [];
  const fan = new Uint32Array(256);
  let prev = '';
  for (let i = 0; i < count; i++) {
    const o = IDX_ENTRIES_OFFSET + i * IDX_ENTRY_SIZE;
    const hash = buf.toString('hex', o + E.hash, o + E.hash + HASH_SIZE);
    if (hash <= prev) throw new CorruptDataError(`index entries out of order at ${i}`);
    prev = hash;
    fan[buf[o + E.hash]!]!++;
    out.push({
      hash,
      type: buf[o + E.type]!,
      storage: buf[o + E.storage]!,
      depth: buf.readUInt16LE(o + E.depth),
      offset: Number(buf.readBigUInt64LE(o + E.offset)),
    });
  }
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += fan[i]!;
    if (buf.readUInt32LE(IDX_FANOUT_OFFSET + i * 4) !== acc) throw new CorruptDataError(`index fanout wrong at ${i}`);
  }
  return out;
}
