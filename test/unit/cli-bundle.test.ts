// The compiled CLI (bin/cli-bundle.js): built from the sources into a build folder, used while
// every source is unchanged, stale as soon as one changes; the compiled entry runs the CLI.
import { describe, expect, it, onTestFinished } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, currentEntry } from '../../bin/cli-bundle.js';
import { BIN, REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('compiled CLI', () => {
  it('is fresh after a build and stale once a source it was built from changes', async () => {
    // inside the repository (git-ignored dist/), where the bundle finds node_modules
    mkdirSync(join(REPO, 'dist'), { recursive: true });
    const dist = mkdtempSync(join(REPO, 'dist', 'test-'));
    onTestFinished(() => rmSync(dist, { recursive: true, force: true }));
    const entry = await bundle(REPO, dist);
    expect(currentEntry(REPO, dist)).toBe(entry);
    const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as { inputs: Record<string, [number, number]> };
    expect(Object.keys(manifest.inputs)).toEqual(expect.arrayContaining(['cli/main.ts', 'cli/commands/index.ts', 'Makefile.ts', 'bin/cli-bundle.js']));
    // one command per chunk, loaded on use: the entry does not contain the commands' code
    expect(readFileSync(entry, 'utf8')).not.toContain('registerBoot(program)');
    expect(readdirSync(join(entry, '..')).length).toBeGreaterThan(5);
    const r = await execa('node', ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(entry)}); process.exitCode = await main(['node', 'gittorrent', '--version']);`]);
    expect(r.stdout).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
    // a source edited since (its recorded size or mtime differs): stale
    manifest.inputs['cli/main.ts']![1] -= 1000;
    writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest));
    expect(currentEntry(REPO, dist)).toBeUndefined();
    writeFileSync(join(dist, 'manifest.json'), '{"format": 1, "entry"');
    expect(currentEntry(REPO, dist)).toBeUndefined();
  });

  // what the real bin loads, seen by a module hook (test/fixtures/trace-loads.mjs)
  async function loads(args: string[]): Promise<{ stdout: string; files: string[] }> {
    const r = await execa('node', ['--import', join(REPO, 'test/fixtures/trace-loads.mjs'), BIN, ...args], { cwd: REPO, env: { CI: '1' } });
    const files = r.stderr.split('\n').filter((l) => l.startsWith('LOAD file://')).map((l) => l.slice('LOAD file://'.length).replace(REPO, ''));
    return { stdout: r.stdout, files };
  }

  it('the bin runs the compiled CLI; --version and a no-op build load no heavy module', async () => {
    expect(currentEntry()).toBeDefined(); // test/global-setup.ts brought it up to date
    const version = await loads(['--version']);
    expect(version.files.filter((f) => f.startsWith('dist/')).length).toBeGreaterThan(0);
    const out = join(tempDir(), 'out');
    await execa('node', [BIN, 'build', '--out', out], { cwd: REPO });
    const noop = await loads(['build', '--out', out]);
    expect(noop.stdout).toContain('nothing to do');
    for (const { files } of [version, noop]) {
      expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]); // nothing through tsx
      expect(files.filter((f) => /node_modules\/(tsx|esbuild|execa|ora)\//.test(f))).toEqual([]);
    }
    // commands load on use: --version loads none of the build command's code
    expect(version.files.length).toBeLessThan(noop.files.length);
  });
});
