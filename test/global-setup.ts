// Runs once per `vitest run`, before any test file:
// - every run gets its own empty XDG_CACHE_HOME (inherited by the workers and every CLI they
//   spawn), so no test passes because of a cache (the accelerator probe's verdict) that another
//   run left;
// - every run gets its own TMPDIR (`gt-run-<pid>-…` in the system's temporary folder), so every
//   test folder, image and socket of the run lives under it; it is removed at the end, and a
//   run that was killed before its end leaves a folder whose pid is dead, which the next run
//   sweeps (a killed run's images once filled the disk);
// - it brings the compiled CLI (dist/) up to date once, so that the tests' CLI runs use it
//   rather than each compiling it on first use;
// - it builds the repository's out/ once (`gittorrent build`), before any file runs: the
//   cluster files each run `gittorrent build` and copy out/node.img, and two of them building
//   out/ at the same moment in a fresh clone (two workers) could copy an image the other was
//   still writing.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive } from '../cluster/runtime.ts';

const RUN_PREFIX = 'gt-run-';

/** Removes the run folders of earlier runs whose process is gone. */
function sweepDeadRuns(base: string): void {
  for (const name of readdirSync(base)) {
    const m = /^gt-run-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      rmSync(join(base, name), { recursive: true, force: true });
    }
  }
}

export default function setup(): () => void {
  const base = tmpdir();
  sweepDeadRuns(base);
  const run = mkdtempSync(join(base, `${RUN_PREFIX}${process.pid}-`));
  chmodSync(run, 0o755); // tests that run a tool as another user reach their own folders
  process.env.TMPDIR = run;
  const cache = mkdtempSync(join(run, 'cache-'));
  process.env.XDG_CACHE_HOME = cache;
  execFileSync('node', [fileURLToPath(new URL('../bin/cli-bundle.js', import.meta.url))], { stdio: 'inherit' });
  execFileSync('node', [fileURLToPath(new URL('../bin/gittorrent.js', import.meta.url)), 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return () => rmSync(run, { recursive: true, force: true });
}
