// Mounting: choosing the superblock copy to trust (the newest whose geometry and index check
// out), and checking the other copy still works as a fallback (fsck). docs/gitfs-format.md.
import { CorruptDataError, BadInputError, isUserError } from '../core/errors.ts';
import type { BlockDev } from './blockdev.ts';
import { LOG_LBA, REC_HDR_SIZE, SB_A_LBA, SB_B_LBA, SB_BYTES, SECTOR_SIZE } from './layout.ts';
import { decodeIndex, indexBytes, indexCrc, type IndexEntry } from './object-index.ts';
import { MAINLINE, numToKind } from './refs.ts';
import { decodeSuperblock, type Superblock, type SuperblockResult } from './superblock.ts';

export interface Mounted {
  sb: Superblock;
  entries: IndexEntry[];
  /** Problems that did not stop the mount (e.g. one bad superblock copy). */
  warnings: string[];
}

const COPY_NAMES = ['A', 'B'] as const;

function readCopies(dev: BlockDev): { name: string; res: SuperblockResult }[] {
  return [SB_A_LBA, SB_B_LBA].map((lba, i) => ({ name: COPY_NAMES[i]!, res: decodeSuperblock(dev.read(lba * SECTOR_SIZE, SB_BYTES)) }));
}

export function checkGeometry(sb: Superblock): void {
  const bad = (what: string): never => {
    throw new CorruptDataError(`bad geometry: ${what}`);
  };
  if (sb.logLba !== LOG_LBA) bad('log start');
  if (sb.indexSectors < 4 || sb.indexALba + sb.indexSectors !== sb.indexBLba || sb.indexBLba + sb.indexSectors > sb.diskSectors) bad('index regions');
  if (sb.logLimitLba !== sb.indexALba || sb.logLimitLba <= LOG_LBA) bad('log limit');
  if (sb.logEnd < LOG_LBA * SECTOR_SIZE || sb.logEnd > sb.logLimitLba * SECTOR_SIZE || sb.logEnd % 64 !== 0) bad('log end');
  if (sb.copy > 1 || sb.indexLba !== (sb.copy === 0 ? sb.indexALba : sb.indexBLba)) bad('index location');
  if (indexBytes(sb.indexCount) > sb.indexSectors * SECTOR_SIZE) bad('index count');
  const r0 = sb.refs[0];
  if (!r0 || r0.name !== MAINLINE || numToKind(r0.kind) !== 'mainline') bad('slot 0 is not the mainline ref');
}

/** Reads and validates the index a superblock copy names (checksum, order, fanout, offsets). */
export function readIndexOf(dev: BlockDev, sb: Superblock): IndexEntry[] {
  const idx = dev.read(sb.indexLba * SECTOR_SIZE, indexBytes(sb.indexCount));
  if (indexCrc(idx) !== sb.indexCrc) throw new CorruptDataError('index checksum mismatch');
  const entries = decodeIndex(idx, sb.indexCount);
  for (const e of entries) {
    if (e.offset < sb.logLba * SECTOR_SIZE || e.offset + REC_HDR_SIZE > sb.logEnd) throw new CorruptDataError(`index entry ${e.hash} points outside the log`);
  }
  return entries;
}

/** Mounts the newest usable superblock copy; BadInputError / CorruptDataError when none is. */
export function mountDevice(dev: BlockDev, path: string): Mounted {
  if (dev.size < SB_B_LBA * SECTOR_SIZE + SB_BYTES) {
    throw new BadInputError(`${path}: not a GitFS image (${dev.size} bytes is too small)`);
  }
  const copies = readCopies(dev);
  if (copies.every((c) => !c.res.ok && !c.res.hasMagic)) throw new BadInputError(`${path}: not a GitFS image (no superblock magic)`);
  const reasons: string[] = [];
  const good: { name: string; sb: Superblock }[] = [];
  for (const c of copies) {
    if (c.res.ok) good.push({ name: c.name, sb: c.res.sb });
    else reasons.push(`superblock ${c.name}: ${c.res.reason}`);
  }
  good.sort((a, b) => b.sb.generation - a.sb.generation);
  for (const g of good) {
    const sb = g.sb;
    if (dev.size < sb.diskSectors * SECTOR_SIZE) {
      throw new BadInputError(`${path}: image is truncated (${dev.size} bytes, superblock says ${sb.diskSectors * SECTOR_SIZE})`);
    }
    try {
      checkGeometry(sb);
      const entries = readIndexOf(dev, sb);
      return { sb, entries, warnings: reasons };
    } catch (e) {
      if (!isUserError(e)) throw e;
      reasons.push(`superblock ${g.name} (generation ${sb.generation}): ${e.message}`);
    }
  }
  throw new CorruptDataError(`${path}: no usable superblock (${reasons.join('; ')})`);
}

/**
 * Lost redundancy: the older superblock copy (the fallback if the active one is ever lost) must
 * still mount, with its own index region intact. Returns one warning per problem; copies that
 * failed to decode are already in the mount warnings and are not repeated.
 */
export function fallbackWarnings(dev: BlockDev, active: Superblock): string[] {
  const out: string[] = [];
  for (const [i, c] of readCopies(dev).entries()) {
    if (!c.res.ok || i === active.copy || c.res.sb.generation >= active.generation) continue;
    const sb = c.res.sb;
    try {
      checkGeometry(sb);
      readIndexOf(dev, sb);
    } catch (e) {
      if (!isUserError(e)) throw e;
      out.push(`superblock ${c.name} (generation ${sb.generation}) cannot serve as the fallback: its index copy at LBA ${sb.indexLba}: ${e.message} (redundancy lost; the next commit rewrites it)`);
    }
  }
  return out;
}
