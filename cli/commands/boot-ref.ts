// gittorrent image boot-ref IMG REV [--tries N] [--good] [--watchdog-ms MS]: selects the kernel
// commit the loader tries next (pending: it may fail N boots before it marks itself good, else
// the loader rolls back to boot-good; a power cut is not a failure, docs/boot.md).
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { openImage } from '../../gitfs/image.ts';
import { bootKernelCommit } from '../../builder/kernel-merge.ts';
import { FileNotFoundError, UsageError } from '../../core/errors.ts';
import { printResult } from '../../core/output.ts';

export function registerBootRef(image: Command): void {
  image
    .command('boot-ref')
    .description('select the kernel commit to boot next (pending with N tries, or --good)')
    .argument('<img>', 'GitFS node image')
    .argument('<rev>', 'kernel commit: branch, branch~N or hash')
    .option('--tries <n>', "failed boots (watchdog, triple fault, panic, failed self-test) it may have before the loader rolls back; power cuts do not count (default: the image's default, 1 unless set)")
    .option('--default-tries <n>', 'also make N the default for kernels committed from now on (image configuration)')
    .option('--good', 'trust it now: no boot counting (it also becomes boot-good)')
    .option('--watchdog-ms <ms>', 'watchdog timeout the loader arms (0: none; ib700 steps of 2000)')
    .option('--json', 'print the result as JSON')
    .action((imgPath: string, rev: string, flags: { tries?: string; defaultTries?: string; good?: boolean; watchdogMs?: string; json?: boolean }) => {
      if (!existsSync(imgPath)) throw new FileNotFoundError(`image not found: ${imgPath}`);
      const tries = flags.tries === undefined ? undefined : Number(flags.tries);
      const defaultTries = flags.defaultTries === undefined ? undefined : Number(flags.defaultTries);
      const watchdogMs = flags.watchdogMs === undefined ? undefined : Number(flags.watchdogMs);
      if (watchdogMs !== undefined && !Number.isInteger(watchdogMs)) throw new UsageError(`--watchdog-ms must be a whole number, not "${flags.watchdogMs}"`);
      const img = openImage(imgPath);
      try {
        const commit = img.resolveRev(rev);
        const state = flags.good ? ('good' as const) : ('pending' as const);
        const r = bootKernelCommit(img, commit, { state, tries, defaultTries, watchdogMs, reason: `boot-ref ${rev}` });
        const info = img.refInfo('boot')!;
        printResult({ commit, kernel: r.kernel, state: info.state, triesLeft: info.triesLeft }, { json: flags.json }, (x) =>
          `boot -> ${x.commit} (${x.state}${x.state === 'pending' ? `, ${x.triesLeft} tries` : ''})`,
        );
      } finally {
        img.close();
      }
    });
}
