// Reads and patches the stage-2 header (layout: STAGE2_HDR in gitfs/layout.ts) that
// tells the loader where the kernel is.
import { BadInputError } from '../core/errors.ts';
import {
  BOOTSRC_APPENDED,
  BOOTSRC_DISK,
  KERNEL_MAX_BYTES,
  STAGE2_HDR,
  STAGE2_HDR_OFFSET,
  STAGE2_MAGIC,
  STAGE2_MAX_BYTES,
  layoutOf,
  type FieldName,
} from '../gitfs/layout.ts';

const HDR = layoutOf(STAGE2_HDR);

export interface Stage2Header {
  source: typeof BOOTSRC_DISK | typeof BOOTSRC_APPENDED | 0;
  kernelLba: bigint;
  kernelOffset: number;
  kernelSize: number;
  /** Watchdog timeout the loader arms, in ms (0: none); kept when not given. */
  watchdogMs?: number;
  /** Tries a newly committed kernel gets by default (image configuration); kept when not given. */
  defaultTries?: number;
}

function field(name: FieldName<typeof STAGE2_HDR>): number {
  return STAGE2_HDR_OFFSET + HDR.offsets[name];
}

export function readStage2Header(stage2: Buffer): Stage2Header {
  if (stage2.length < STAGE2_HDR_OFFSET + HDR.size || stage2.readUInt32LE(field('magic')) !== STAGE2_MAGIC) {
    throw new BadInputError('not a gittorrent stage 2: header magic missing');
  }
  return {
    source: stage2.readUInt32LE(field('source')) as Stage2Header['source'],
    kernelLba: stage2.readBigUInt64LE(field('kernel_lba')),
    kernelOffset: stage2.readUInt32LE(field('kernel_offset')),
    kernelSize: stage2.readUInt32LE(field('kernel_size')),
    watchdogMs: stage2.readUInt32LE(field('watchdog_ms')),
    defaultTries: stage2.readUInt32LE(field('default_tries')) || 1,
  };
}

/** Returns a copy of stage 2 with its header pointing at the kernel. */
export function patchStage2(stage2: Buffer, hdr: Stage2Header): Buffer {
  readStage2Header(stage2); // validates the magic
  if (stage2.length > STAGE2_MAX_BYTES) throw new BadInputError(`stage 2 is ${stage2.length} bytes, more than ${STAGE2_MAX_BYTES}`);
  // BOOTSRC_DISK: the loader finds the kernel through the `boot` ref; the size fields are 0.
  const disk = hdr.source === BOOTSRC_DISK;
  if (!disk && (hdr.kernelSize <= 0 || hdr.kernelSize > KERNEL_MAX_BYTES)) {
    throw new BadInputError(`kernel is ${hdr.kernelSize} bytes; the loader takes 1..${KERNEL_MAX_BYTES}`);
  }
  if (hdr.kernelOffset < 0 || hdr.kernelOffset >= 512) throw new Error(`kernel offset ${hdr.kernelOffset} is not inside a sector`);
  const out = Buffer.from(stage2);
  out.writeUInt32LE(hdr.source, field('source'));
  out.writeBigUInt64LE(hdr.kernelLba, field('kernel_lba'));
  out.writeUInt32LE(hdr.kernelOffset, field('kernel_offset'));
  out.writeUInt32LE(hdr.kernelSize, field('kernel_size'));
  if (hdr.watchdogMs !== undefined) {
    if (!Number.isInteger(hdr.watchdogMs) || hdr.watchdogMs < 0 || hdr.watchdogMs > 30_000) {
      throw new BadInputError(`watchdog timeout must be 0..30000 ms, not ${hdr.watchdogMs}`);
    }
    out.writeUInt32LE(hdr.watchdogMs, field('watchdog_ms'));
  }
  if (hdr.defaultTries !== undefined) {
    if (!Number.isInteger(hdr.defaultTries) || hdr.defaultTries < 1 || hdr.defaultTries > 255) {
      throw new BadInputError(`default tries must be 1..255, not ${hdr.defaultTries}`);
    }
    out.writeUInt32LE(hdr.defaultTries, field('default_tries'));
  }
  return out;
}
