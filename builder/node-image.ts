// Assembles a node disk image from the built boot pieces.
import { closeSync, openSync, readFileSync, writeSync, ftruncateSync, renameSync } from 'node:fs';
import { BOOTSRC_DISK, BOOT_AREA_END_LBA, SECTOR_SIZE, STAGE2_LBA } from './gitfs/layout.ts';
import { patchStage2 } from './stage2-header.ts';

export interface NodeImageInputs {
  mbr: string;
  stage2: string;
  kernel: string;
  kernelVersion: string;
  output: string;
  sizeBytes: number;
}

/** Writes the image: MBR, stage 2 (patched to find the kernel), the kernel after the boot area. */
export async function buildNodeImage(i: NodeImageInputs): Promise<void> {
  const mbr = readFileSync(i.mbr);
  const kernel = readFileSync(i.kernel);
  const stage2 = patchStage2(readFileSync(i.stage2), {
    source: BOOTSRC_DISK,
    kernelLba: BigInt(BOOT_AREA_END_LBA),
    kernelOffset: 0,
    kernelSize: kernel.length,
  });
  const tmp = `${i.output}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    ftruncateSync(fd, i.sizeBytes);
    writeSync(fd, mbr, 0, mbr.length, 0);
    writeSync(fd, stage2, 0, stage2.length, STAGE2_LBA * SECTOR_SIZE);
    writeSync(fd, kernel, 0, kernel.length, BOOT_AREA_END_LBA * SECTOR_SIZE);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, i.output);
}
