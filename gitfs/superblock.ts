// Superblock copies A/B: header + ref table, CRC-32 over the whole copy (docs/gitfs-format.md).
import { crc32 } from 'node:zlib';
import {
  GITFS_VERSION, HASH_SIZE, layoutOf, REF_NAME_MAX, REF_NONE, REF_SLOT, REF_SLOT_SIZE, REF_SLOTS, SB_BYTES, SB_HDR_SIZE,
  SB_MAGIC_HI, SB_MAGIC_LO, SUPERBLOCK_HDR,
} from './layout.ts';

const H = layoutOf(SUPERBLOCK_HDR).offsets;
const R = layoutOf(REF_SLOT).offsets;

export interface RefSlot {
  name: string;
  target: string;
  kind: number;
  state: number;
  triesLeft: number;
  flags: number;
  forkedFrom: number;
  updatedGen: number;
}

export interface Superblock {
  generation: number;
  diskSectors: number;
  logLba: number;
  logEnd: number;
  logLimitLba: number;
  indexLba: number;
  indexSectors: number;
  indexCount: number;
  indexCrc: number;
  indexALba: number;
  indexBLba: number;
  copy: number;
  /** REF_SLOTS entries; undefined = free slot. */
  refs: (RefSlot | undefined)[];
}

function u64(buf: Buffer, off: number): number {
  return Number(buf.readBigUInt64LE(off));
}
function putU64(buf: Buffer, off: number, v: number): void {
  buf.writeBigUInt64LE(BigInt(v), off);
}

export function encodeSuperblock(sb: Superblock): Buffer {
  const b = Buffer.alloc(SB_BYTES);
  b.writeUInt32LE(SB_MAGIC_LO, H.magic);
  b.writeUInt32LE(SB_MAGIC_HI, H.magic + 4);
  b.writeUInt32LE(GITFS_VERSION, H.version);
  b.writeUInt32LE(SB_BYTES, H.sb_bytes);
  putU64(b, H.generation, sb.generation);
  putU64(b, H.disk_sectors, sb.diskSectors);
  putU64(b, H.log_lba, sb.logLba);
  putU64(b, H.log_end, sb.logEnd);
  putU64(b, H.log_limit_lba, sb.logLimitLba);
  putU64(b, H.index_lba, sb.indexLba);
  b.writeUInt32LE(sb.indexSectors, H.index_sectors);
  b.writeUInt32LE(sb.indexCount, H.index_count);
  b.writeUInt32LE(sb.indexCrc >>> 0, H.index_crc);
  b.writeUInt32LE(REF_SLOTS, H.ref_slots);
  putU64(b, H.index_a_lba, sb.indexALba);
  putU64(b, H.index_b_lba, sb.indexBLba);
  b.writeUInt32LE(sb.copy, H.copy);
  for (let i = 0; i < REF_SLOTS; i++) {
    const r = sb.refs[i];
    if (!r) continue;
    const o = SB_HDR_SIZE + i * REF_SLOT_SIZE;
    const name = Buffer.from(r.name, 'utf8');
    name.copy(b, o + R.name, 0, Math.min(name.length, REF_NAME_MAX));
    Buffer.from(r.target, 'hex').copy(b, o + R.target);
    b[o + R.kind] = r.kind;
    b[o + R.state] = r.state;
    b[o + R.tries_left] = r.triesLeft;
    b[o + R.flags] = r.flags;
    b.writeUInt16LE(r.forkedFrom, o + R.forked_from);
    putU64(b, o + R.updated_gen, r.updatedGen);
  }
  b.writeUInt32LE(crc32(b), H.checksum);
  return b;
}

export type SuperblockResult = { ok: true; sb: Superblock } | { ok: false; hasMagic: boolean; reason: string };

export function decodeSuperblock(b: Buffer): SuperblockResult {
  const hasMagic = b.length >= 8 && b.readUInt32LE(H.magic) === SB_MAGIC_LO && b.readUInt32LE(H.magic + 4) === SB_MAGIC_HI;
  if (!hasMagic) return { ok: false, hasMagic, reason: 'no superblock magic' };
  if (b.length < SB_BYTES) return { ok: false, hasMagic, reason: 'truncated' };
  const stored = b.readUInt32LE(H.checksum);
  const copy = Buffer.from(b.subarray(0, SB_BYTES));
  copy.writeUInt32LE(0, H.checksum);
  if (crc32(copy) !== stored) return { ok: false, hasMagic, reason: 'bad checksum' };
  const version = b.readUInt32LE(H.version);
  if (version !== GITFS_VERSION) return { ok: false, hasMagic, reason: `unsupported version ${version}` };
  if (b.readUInt32LE(H.sb_bytes) !== SB_BYTES || b.readUInt32LE(H.ref_slots) !== REF_SLOTS) {
    return { ok: false, hasMagic, reason: 'unsupported superblock geometry' };
  }
  const refs: (RefSlot | undefined)[] = [];
  for (let i = 0; i < REF_SLOTS; i++) {
    const o = SB_HDR_SIZE + i * REF_SLOT_SIZE;
    const kind = b[o + R.kind]!;
    const nameBytes = b.subarray(o + R.name, o + R.name + REF_NAME_MAX);
    const nul = nameBytes.indexOf(0);
    const name = nameBytes.toString('utf8', 0, nul < 0 ? REF_NAME_MAX : nul);
    if (kind === 0 || name.length === 0) {
      refs.push(undefined);
      continue;
    }
    refs.push({
      name,
      target: b.toString('hex', o + R.target, o + R.target + HASH_SIZE),
      kind,
      state: b[o + R.state]!,
      triesLeft: b[o + R.tries_left]!,
      flags: b[o + R.flags]!,
      forkedFrom: b.readUInt16LE(o + R.forked_from),
      updatedGen: u64(b, o + R.updated_gen),
    });
  }
  return {
    ok: true,
    sb: {
      generation: u64(b, H.generation),
      diskSectors: u64(b, H.disk_sectors),
      logLba: u64(b, H.log_lba),
      logEnd: u64(b, H.log_end),
      logLimitLba: u64(b, H.log_limit_lba),
      indexLba: u64(b, H.index_lba),
      indexSectors: b.readUInt32LE(H.index_sectors),
      indexCount: b.readUInt32LE(H.index_count),
      indexCrc: b.readUInt32LE(H.index_crc),
      indexALba: u64(b, H.index_a_lba),
      indexBLba: u64(b, H.index_b_lba),
      copy: b.readUInt32LE(H.copy),
      refs,
    },
  };
}

export { REF_NONE };
