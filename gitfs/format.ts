// Formatting a fresh GitFS area: sizes the log and the two index regions, and writes an empty
// index and a superblock for each copy (A is generation 1, B generation 0). docs/gitfs-format.md.
import type { BlockDev } from './blockdev.ts';
import { LOG_LBA, REF_NONE, REF_SLOTS, SB_A_LBA, SB_B_LBA, SECTOR_SIZE } from './layout.ts';
import { encodeIndex, indexCrc } from './object-index.ts';
import { ZERO_HASH } from './objects.ts';
import { kindToNum, MAINLINE } from './refs.ts';
import { encodeSuperblock, type RefSlot, type Superblock } from './superblock.ts';

export const MIN_IMAGE_BYTES = 1024 * 1024;

export interface Geometry {
  diskSectors: number;
  indexSectors: number;
  indexALba: number;
  indexBLba: number;
}

/** Sizes a fresh image: the log between LOG_LBA and two index regions (1/64 of the disk each) at the end. */
export function geometry(sizeBytes: number): Geometry {
  const diskSectors = Math.floor(sizeBytes / SECTOR_SIZE);
  const indexSectors = Math.max(32, Math.floor(diskSectors / 64));
  const indexBLba = diskSectors - indexSectors;
  const indexALba = indexBLba - indexSectors;
  return { diskSectors, indexSectors, indexALba, indexBLba };
}

/** Writes an empty GitFS (mainline ref only) onto `dev` and syncs it. */
export function formatDevice(dev: BlockDev, sizeBytes: number): void {
  const g = geometry(sizeBytes);
  const refs: (RefSlot | undefined)[] = new Array(REF_SLOTS).fill(undefined);
  refs[0] = { name: MAINLINE, target: ZERO_HASH, kind: kindToNum('mainline'), state: 0, triesLeft: 0, flags: 0, forkedFrom: REF_NONE, updatedGen: 1 };
  const base: Superblock = {
    generation: 1, diskSectors: g.diskSectors, logLba: LOG_LBA, logEnd: LOG_LBA * SECTOR_SIZE, logLimitLba: g.indexALba,
    indexLba: g.indexALba, indexSectors: g.indexSectors, indexCount: 0, indexCrc: 0, indexALba: g.indexALba, indexBLba: g.indexBLba,
    copy: 0, refs,
  };
  for (const copy of [0, 1]) {
    const idx = encodeIndex([], 0);
    const sb: Superblock = { ...base, copy, generation: copy === 0 ? 1 : 0, indexLba: copy === 0 ? g.indexALba : g.indexBLba, indexCrc: indexCrc(idx) };
    dev.write(sb.indexLba * SECTOR_SIZE, idx);
    dev.write((copy === 0 ? SB_A_LBA : SB_B_LBA) * SECTOR_SIZE, encodeSuperblock(sb));
  }
  dev.sync();
}
