// npm run bench -- cli [--runs N]: the CLI's start, measured against a bare `node -e 0` in the
// same run (alternating): `gittorrent --version`, the same through `npx gittorrent` (with
// `npx --version`, npm's own start, as its floor), and a build with nothing to do. Prints
// medians and ratios; the last line is JSON.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, round } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'gittorrent.js');

/** Wall-clock ms of one run of the command (which must succeed). */
function time(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: '1' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr).trim().split('\n').at(-1)}`);
  return ms;
}

export default async function cliBench(args: string[]): Promise<void> {
  const runsIdx = args.indexOf('--runs');
  const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 11;
  const work = mkdtempSync(join(tmpdir(), 'gt-bench-cli-'));
  try {
    const out = join(work, 'out');
    time('node', [BIN, 'build', '--out', out]); // the real build (and a fresh CLI bundle)
    const cases = {
      node: ['node', ['-e', '0']],
      version: ['node', [BIN, '--version']],
      npx: ['npx', ['gittorrent', '--version']],
      npm: ['npx', ['--version']],
      build: ['node', [BIN, 'build', '--out', out]],
    } as const satisfies Record<string, readonly [string, readonly string[]]>;
    const samples: Record<keyof typeof cases, number[]> = { node: [], version: [], npx: [], npm: [], build: [] };
    for (const [cmd, a] of Object.values(cases)) time(cmd, [...a]); // warm the page cache
    for (let i = 0; i < runs; i++) {
      for (const [name, [cmd, a]] of Object.entries(cases)) samples[name as keyof typeof cases].push(time(cmd, [...a]));
    }
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(median(v), 1)])) as Record<keyof typeof cases, number>;
    const versionRatio = round(m.version / m.node, 2);
    const npxRatio = round(m.npx / m.node, 2);
    const npxOverNpm = round(m.npx / m.npm, 2);
    const buildRatio = round(m.build / m.node, 2);
    console.log(`node -e 0                     median ${m.node} ms`);
    console.log(`gittorrent --version          median ${m.version} ms  ratio ${versionRatio} (target <= 2)`);
    console.log(`npx --version (npm's start)   median ${m.npm} ms`);
    console.log(`npx gittorrent --version      median ${m.npx} ms  ratio ${npxRatio}; ${npxOverNpm}x npm's own start`);
    console.log(`gittorrent build (no-op)      median ${m.build} ms  ratio ${buildRatio} (target <= 300 ms)`);
    console.log(
      JSON.stringify({ bench: 'cli', runs, nodeMs: m.node, versionMs: m.version, versionRatio, npmMs: m.npm, npxMs: m.npx, npxRatio, npxOverNpm, noopBuildMs: m.build, buildRatio }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
