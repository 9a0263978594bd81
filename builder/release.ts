// Kernel releases as ISO 9660 images: the kernel binary, the loader, a version file and an
// El Torito (no-emulation) boot image, so a release boots by itself in QEMU as a CD, and can
// be merged into a GitFS image as a commit on the kernel branch.
import { readFileSync } from 'node:fs';
import { BadInputError } from '../core/errors.ts';
import { BOOTSRC_APPENDED, STAGE2_MAX_BYTES } from '../gitfs/layout.ts';
import { readIso, writeIso } from './iso/index.ts';
import { patchStage2 } from './stage2-header.ts';

/** Paths inside a release ISO (and inside the kernel branch once merged). */
export const RELEASE_PATHS = {
  kernel: 'boot/kernel.bin',
  stage2: 'boot/stage2.bin',
  mbr: 'boot/mbr.bin',
  cdboot: 'boot/cdboot.img',
  version: 'VERSION',
} as const;

export interface ReleaseInputs {
  kernel: string;
  stage2: string;
  mbr: string;
  cdboot: string;
  kernelVersion: string;
}

/** The El Torito boot image: [cdboot (512 B) | stage 2 padded to its area | kernel]. */
export function cdBootImage(cdboot: Buffer, stage2: Buffer, kernel: Buffer): Buffer {
  if (cdboot.length !== 512) throw new Error(`cdboot must be 512 bytes, not ${cdboot.length}`);
  const patched = patchStage2(stage2, { source: BOOTSRC_APPENDED, kernelLba: 0n, kernelOffset: 0, kernelSize: kernel.length });
  const area = Buffer.alloc(STAGE2_MAX_BYTES);
  patched.copy(area);
  return Buffer.concat([cdboot, area, kernel]);
}

export function volumeIdFor(version: string): string {
  return `GITTORRENT_${version.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`.slice(0, 32);
}

/** Builds the release ISO in memory (deterministic for the same inputs). */
export function buildReleaseIso(i: ReleaseInputs): Buffer {
  const kernel = readFileSync(i.kernel);
  const stage2 = readFileSync(i.stage2);
  const boot = cdBootImage(readFileSync(i.cdboot), stage2, kernel);
  return writeIso({
    volumeId: volumeIdFor(i.kernelVersion),
    files: [
      { path: RELEASE_PATHS.kernel, data: kernel },
      { path: RELEASE_PATHS.stage2, data: stage2 },
      { path: RELEASE_PATHS.mbr, data: readFileSync(i.mbr) },
      { path: RELEASE_PATHS.cdboot, data: boot },
      { path: RELEASE_PATHS.version, data: Buffer.from(i.kernelVersion + '\n') },
    ],
    boot: { path: RELEASE_PATHS.cdboot },
  });
}

export interface Release {
  kernelVersion: string;
  /** Every file of the ISO, path → content. */
  files: Map<string, Buffer>;
}

/** Reads a release ISO back and checks it holds a kernel release. */
export function readRelease(iso: Buffer, name = 'ISO'): Release {
  const img = readIso(iso);
  for (const p of [RELEASE_PATHS.kernel, RELEASE_PATHS.version]) {
    if (!img.files.has(p)) throw new BadInputError(`not a kernel release: ${name} has no ${p}`);
  }
  const kernelVersion = img.files.get(RELEASE_PATHS.version)!.toString('utf8').trim();
  if (!/^[A-Za-z0-9._+-]{1,64}$/.test(kernelVersion)) {
    throw new BadInputError(`not a kernel release: ${name} has a malformed VERSION file`);
  }
  return { kernelVersion, files: img.files };
}
