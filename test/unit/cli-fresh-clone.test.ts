// bin/gittorrent.js right after a fresh clone (the working tree's files, no dist/): it compiles
// the CLI on first use and runs it; where it cannot compile (here: `dist` is a file), it runs
// the TypeScript through tsx instead. Both answer like the compiled CLI.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

async function freshClone(): Promise<string> {
  const dir = join(tempDir(), 'clone');
  const files = (await execa('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO })).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(REPO, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(REPO, f), join(dir, f));
  }
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules')); // what `npm ci` installs
  return dir;
}

async function run(clone: string, args: string[]): Promise<{ stdout: string; loaded: string[] }> {
  const r = await execa('node', ['--import', join(REPO, 'test/fixtures/trace-loads.mjs'), join(clone, 'bin/gittorrent.js'), ...args], { cwd: clone, env: { CI: '1' } });
  const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOAD file://')).map((l) => l.slice('LOAD file://'.length));
  return { stdout: r.stdout, loaded };
}

describe('a fresh clone', () => {
  it('compiles the CLI on first use, then runs the compiled one', async () => {
    const clone = await freshClone();
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    const first = await run(clone, ['--version']);
    expect(first.stdout).toMatch(/^\d+\.\d+\.\d+$/);
    expect(existsSync(join(clone, 'dist', 'manifest.json'))).toBe(true);
    const second = await run(clone, ['build', '--help']);
    expect(second.stdout).toContain('Usage: gittorrent build');
    expect(second.loaded.some((f) => f.startsWith(join(clone, 'dist/')))).toBe(true);
    expect(second.loaded.filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it('runs the sources through tsx where it cannot compile', async () => {
    const clone = await freshClone();
    writeFileSync(join(clone, 'dist'), 'not a folder');
    const r = await run(clone, ['--version']);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.loaded).toContain(join(clone, 'cli/main.ts'));
  });
});
