// Merges a kernel release (read from its ISO) into a GitFS image as a new commit on the kernel
// branch — parent: the previous kernel commit, `kernel-version` header — as the seed describes,
// and points the loader at a kernel commit.
import { BadInputError, NotFoundError } from '../core/errors.ts';
import type { GitFSImage } from './gitfs/image.ts';
import { BOOTSRC_DISK } from './gitfs/layout.ts';
import { RELEASE_PATHS, type Release } from './release.ts';
import { patchStage2 } from './stage2-header.ts';

export interface MergeOptions {
  branch?: string;
  /** Also point the `boot` ref (and the loader) at the new commit. */
  boot?: boolean;
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
  if (opts.boot) bootKernelCommit(img, commit, `boot kernel ${release.kernelVersion}`);
  return { commit, branch, kernelVersion: release.kernelVersion, parent, files: files.map((f) => f.path), boot: Boolean(opts.boot) };
}

/**
 * Points the `boot` ref at a kernel commit and writes that commit's loader (boot/mbr.bin,
 * boot/stage2.bin) into the boot area. The loader resolves `boot` -> commit -> tree ->
 * boot/kernel.bin on the disk itself and verifies the blob's hash before running it.
 */
export function bootKernelCommit(img: GitFSImage, commit: string, reason: string): { lba: number; offset: number; size: number } {
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
  img.setRef('boot', commit, { kind: 'boot', reason });
  img.writeBootArea(mbr, patchStage2(stage2, { source: BOOTSRC_DISK, kernelLba: 0n, kernelOffset: 0, kernelSize: 0 }));
  return where;
}
