// The build graph is content-hash incremental, and nasm errors come back as file:line.
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../../Makefile.ts';
import { BuildGraph } from '../../builder/graph.ts';
import { createProgress } from '../../core/progress.ts';
import { assemble, parseDepfile, readSymbolMap } from '../../builder/nasm.ts';
import { AssemblyError } from '../../core/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('build graph', () => {
  it('a second build with nothing changed does no work; a parameter change rebuilds only what depends on it', async () => {
    const out = tempDir();
    const first = await build({ outDir: out });
    expect(first.built).toEqual(['layout-inc', 'mbr', 'stage2', 'cdboot', 'kernel', 'iso', 'image', 'kernel-elf', 'gdbinit']);
    const second = await build({ outDir: out });
    expect(second.built).toEqual([]);
    expect(second.upToDate).toBe(true);
    const third = await build({ outDir: out, kernelVersion: '2.0.0' });
    expect(third.built).toEqual(['kernel', 'iso', 'image', 'kernel-elf']);
  });

  it('rebuilds when an output was modified or removed', async () => {
    const out = tempDir();
    const r = await build({ outDir: out });
    writeFileSync(r.image, 'garbage');
    expect((await build({ outDir: out })).built).toEqual(['image']);
    const t = new Date(Date.now() + 5000);
    utimesSync(r.kernel, t, t);
    // rebuilt to the same bytes: the image, keyed by content, is still up to date
    expect((await build({ outDir: out })).built).toEqual(['kernel']);
  });
});

describe('build graph input hashes', () => {
  function graphOf(dir: string, input: string, runs: string[]): BuildGraph {
    const g = new BuildGraph(join(dir, 'state.json'));
    const output = join(dir, 'out.txt');
    g.add({ name: 'copy', deps: [], inputs: () => [input], params: {}, outputs: [output], run: async () => { runs.push('copy'); writeFileSync(output, readFileSync(input)); } });
    return g;
  }
  const quiet = createProgress({ quiet: true });

  it('are remembered by size and mtime, and still see a same-size edit', async () => {
    const dir = tempDir();
    const input = join(dir, 'in.txt');
    writeFileSync(input, 'aaaa');
    const runs: string[] = [];
    expect((await graphOf(dir, input, runs).build('copy', quiet)).built).toEqual(['copy']);
    expect((await graphOf(dir, input, runs).build('copy', quiet)).built).toEqual([]);
    // a same-size edit, even with the mtime put back (hashed within a second of it: racy), rebuilds
    const { mtime } = (await import('node:fs')).statSync(input);
    writeFileSync(input, 'bbbb');
    utimesSync(input, mtime, mtime);
    expect((await graphOf(dir, input, runs).build('copy', quiet)).built).toEqual(['copy']);
    // touched, same bytes: keyed by content, nothing to do
    const later = new Date(Date.now() + 5000);
    utimesSync(input, later, later);
    expect((await graphOf(dir, input, runs).build('copy', quiet)).built).toEqual([]);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('bbbb');
    expect(runs).toEqual(['copy', 'copy']);
  });
});

describe('nasm wrapper', () => {
  it('maps an assembler error to file:line', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'inc'));
    writeFileSync(join(dir, 'inc', 'x.inc'), 'nop\n  bogus_instruction eax\n');
    writeFileSync(join(dir, 'main.asm'), 'bits 64\n%include "x.inc"\n');
    const err = await assemble({ source: join(dir, 'main.asm'), output: join(dir, 'm.bin'), includeDirs: [join(dir, 'inc')], root: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AssemblyError);
    expect((err as Error).message).toMatch(/^inc\/x\.inc:2: error: /);
    expect((err as Error).message).not.toContain('\n');
  });

  it('writes a listing, a symbol map and the include dependencies', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.inc'), 'here: dq 0\n');
    writeFileSync(join(dir, 'main.asm'), 'bits 64\norg 0x1000\nstart: nop\n%include "a.inc"\n');
    const r = await assemble({ source: join(dir, 'main.asm'), output: join(dir, 'main.bin'), includeDirs: [dir], root: dir });
    expect(readFileSync(r.listing, 'utf8')).toContain('nop');
    const syms = readSymbolMap(r.map);
    expect(syms.get('start')).toBe(0x1000);
    expect(syms.get('here')).toBe(0x1001);
    expect(r.inputs.some((p) => p.endsWith('a.inc'))).toBe(true);
    expect(parseDepfile('x.bin: a.asm \\\n b.inc\n')).toEqual(['a.asm', 'b.inc']);
  });
});
