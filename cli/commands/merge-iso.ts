// gittorrent image merge-iso IMG ISO [--branch kernel] [--boot]: merges a kernel release ISO
// into a new commit on the kernel branch (parent: the previous kernel commit; kernel-version
// header). The ISO is read and checked before the image is opened for writing, so a bad ISO
// leaves the image untouched.
import type { Command } from 'commander';
import { openImage } from '../../gitfs/image.ts';
import { mergeRelease } from '../../builder/kernel-merge.ts';
import { readRelease } from '../../builder/release.ts';
import { FileNotFoundError } from '../../core/errors.ts';
import { printResult } from '../../core/output.ts';
import { existsSync } from 'node:fs';
import { readInputFile } from './iso.ts';

export function registerMergeIso(image: Command): void {
  image
    .command('merge-iso')
    .description('merge a kernel release ISO into a new commit on the kernel branch')
    .argument('<img>', 'GitFS image')
    .argument('<iso>', 'release ISO (from gittorrent iso build)')
    .option('--branch <b>', 'kernel branch', 'kernel')
    .option('--boot', 'also point the boot ref and the loader at the new commit (pending: it must prove itself)')
    .option('--tries <n>', "failed boots the new kernel may have before it is rolled back; power cuts do not count (with --boot; default: the image's default, 1 unless set)")
    .option('-m, --message <msg>', 'commit message (default: "kernel VERSION")')
    .option('--json', 'print the result as JSON')
    .action((imgPath: string, isoPath: string, flags: { branch: string; boot?: boolean; tries?: string; message?: string; json?: boolean }) => {
      if (!existsSync(imgPath)) throw new FileNotFoundError(`image not found: ${imgPath}`);
      const release = readRelease(readInputFile(isoPath, 'ISO'), isoPath);
      const img = openImage(imgPath);
      let result;
      try {
        result = mergeRelease(img, release, {
          branch: flags.branch,
          boot: flags.boot ? { state: 'pending', tries: flags.tries === undefined ? undefined : Number(flags.tries) } : undefined,
          message: flags.message,
        });
      } finally {
        img.close();
      }
      printResult(result, { json: flags.json }, (r) =>
        [`${r.branch} ${r.commit}  kernel ${r.kernelVersion}`, `parent ${r.parent ?? '(none: first kernel commit)'}`, r.boot ? 'boot -> this commit' : ''].filter(Boolean).join('\n'),
      );
    });
}
