// Merges a kernel release (read from its ISO) into a GitFS image as a new commit on the kernel
// branch — parent: the previous kernel commit, `kernel-version` header — as the seed describes,
// and points the loader at a kernel commit with its boot-counting state.
import { closeSync, openSync, readSync } from 'node:fs';
import { BadInputError, NotFoundError, UsageError } from '../core/errors.ts';
import type { GitFSImage } from '../gitfs/image.ts';
import type { BootState } from '../gitfs/refs.ts';
import { BOOTSRC_DISK, BOOT_GOOD_REF, BOOT_REF, DEFAULT_WATCHDOG_MS, SECTOR_SIZE, STAGE2_LBA, STAGE2_MAX_BYTES } from '../gitfs/layout.ts';
import { RELEASE_PATHS, type Release } from './release.ts';
import { patchStage2, readStage2Header } from './stage2-header.ts';

export interface BootOptions {
  /** 'pending' (a new kernel: `tries` boots to prove itself) or 'good'. */
  state: 'pending' | 'good';
  /** Boots a pending kernel gets before it is rolled back (default: the image's, else 1). */
  tries?: number;
  /** Make this the image's default number of tries for new kernels. */
  defaultTries?: number;
  /** Watchdog timeout the loader arms, ms (default: the image's current one, else 2000). */
  watchdogMs?: number;
  reason?: string;
}

export interface MergeOptions {
  branch?: string;
  /** Also point the `boot` ref (and the loader) at the new commit. */
  boot?: BootOptions;
  message?: string;
}

export interface MergeResult {
  commit: string;
  branch: string;
  kernelVersion: string;
  parent: string | null;
  files: string[];
  boot: boolean;
}

export function mergeRelease(img: GitFSImage, release: Release, opts: MergeOptions = {}): MergeResult {
  const branch = opts.branch ?? 'kernel';
  const parent = img.readRef(branch) ?? null;
  const files = [...release.files.entries()]
    .map(([path, data]) => ({ path, data, raw: path.startsWith('boot/') }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const commit = img.commitTree(branch, files, {
    message: opts.message ?? `kernel ${release.kernelVersion}`,
    headers: { 'kernel-version': release.kernelVersion },
  });
  if (opts.boot) bootKernelCommit(img, commit, { reason: `boot kernel ${release.kernelVersion}`, ...opts.boot });
  return { commit, branch, kernelVersion: release.kernelVersion, parent, files: files.map((f) => f.path), boot: Boolean(opts.boot) };
}

/** The boot configuration in the image's current loader header, if it has one. */
export function currentBootConfig(imagePath: string): { watchdogMs: number; defaultTries: number } | undefined {
  const buf = Buffer.alloc(STAGE2_MAX_BYTES);
  const fd = openSync(imagePath, 'r');
  try {
    readSync(fd, buf, 0, buf.length, STAGE2_LBA * SECTOR_SIZE);
  } finally {
    closeSync(fd);
  }
  try {
    const h = readStage2Header(buf);
    return { watchdogMs: h.watchdogMs ?? DEFAULT_WATCHDOG_MS, defaultTries: h.defaultTries ?? 1 };
  } catch {
    return undefined; // no loader yet
  }
}

/**
 * Points the `boot` ref at a kernel commit with its boot-counting state, and writes that
 * commit's loader (boot/mbr.bin, boot/stage2.bin) into the boot area. The loader resolves
 * `boot` -> commit -> tree -> boot/kernel.bin itself, verifies the blob's hash, counts tries
 * and rolls back to `boot-good` (docs/boot.md). A kernel booted as good also becomes
 * `boot-good`.
 */
export function bootKernelCommit(img: GitFSImage, commit: string, opts: BootOptions & { reason: string }): { kernel: string; size: number } {
  const config = currentBootConfig(img.path);
  const defaultTries = opts.defaultTries ?? config?.defaultTries ?? 1;
  const tries = opts.tries ?? defaultTries;
  for (const [name, v] of [['--tries', tries], ['--default-tries', defaultTries]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 255) throw new UsageError(`${name} must be 1..255, not ${v}`);
  }
  const tree = img.commitTreeHash(commit);
  const entry = (path: string) => {
    const e = img.lookupPath(tree, path);
    if (!e) throw new NotFoundError(`kernel commit ${commit.slice(0, 12)} has no ${path}`);
    return e.hash;
  };
  const kernelHash = entry(RELEASE_PATHS.kernel);
  const mbr = img.readObject(entry(RELEASE_PATHS.mbr)).data;
  const stage2 = img.readObject(entry(RELEASE_PATHS.stage2)).data;
  const where = img.locateRaw(kernelHash);
  if (where.size === 0) throw new BadInputError(`kernel commit ${commit.slice(0, 12)} has an empty kernel`);
  const watchdogMs = opts.watchdogMs ?? config?.watchdogMs ?? DEFAULT_WATCHDOG_MS;
  const state: BootState = opts.state;
  img.setRef(BOOT_REF, commit, { kind: 'boot', state, triesLeft: state === 'pending' ? tries : 0, reason: opts.reason });
  if (state === 'good') img.setRef(BOOT_GOOD_REF, commit, { kind: 'symbolic', reason: 'known-good kernel' });
  img.writeBootArea(mbr, patchStage2(stage2, { source: BOOTSRC_DISK, kernelLba: 0n, kernelOffset: 0, kernelSize: 0, watchdogMs, defaultTries }));
  return { kernel: kernelHash, size: where.size };
}
