// The kernel's write path: `put` stores a blob, trees, a commit and a mainline commit and flips
// the superblock; the host reader and git read what the kernel wrote; a power cut at any moment
// leaves an image fsck accepts, at the old or the new revision.
import { describe, expect, it, beforeAll } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { openImage } from '../../gitfs/image.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import { Vm } from '../../emulator/vm.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

let out: BuildOutputs;
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  out = await build({ outDir: join(dir, 'out') });
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('kernel put', () => {
  it('writes files the host reader and git read back; fsck passes', async () => {
    const img = join(dir, 'put.img');
    copyFileSync(out.image, img);
    // a branch with a split directory (300 entries > the 256 threshold)
    const h = openImage(img);
    const files = Array.from({ length: 300 }, (_, i) => ({ path: `many/f${String(i).padStart(3, '0')}.txt`, data: Buffer.from(`file ${i}\n`) }));
    files.push({ path: 'top.txt', data: Buffer.from('top\n') });
    h.commitTree('data', files, { message: 'seed data' });
    const before = h.readRef('data')!;
    h.close();

    const rnd = seeded(42);
    const big = Buffer.from(Array.from({ length: 100_000 }, () => Math.floor(rnd() * 256)));
    const { vm } = await bootToReady({ disk: img, accel: 'tcg' }, 30_000);
    try {
      const sh = new ShellClient(vm);
      const small = Buffer.from('written by the kernel\n');
      const p1 = await sh.run(`put /data/notes/new file.txt ${small.length}`, { input: small });
      // a path with a space is the path up to the last space-separated word
      expect(p1.status, p1.error).toBe('ok');
      const p2 = await sh.run(`put /data/many/f007.txt 6`, { input: Buffer.from('seven\n') }); // inside the split subtree
      expect(p2.status, p2.error).toBe('ok');
      const p3 = await sh.run(`put /data/bin/random.bin ${big.length}`, { input: big });
      expect(p3.status, p3.error).toBe('ok');
      const ev = p3.events.find((e) => e.name === 'put')!;
      expect(ev.fields.blob).toBe(String((await execa('git', ['hash-object', '--stdin'], { input: big })).stdout).trim());
      // the kernel reads its own writes
      expect((await sh.run('sha1 /data/bin/random.bin')).lines).toEqual([sha1(big)]);
      expect((await sh.run('cat /data/many/f007.txt')).data?.toString()).toBe('seven\n');
      expect((await sh.run('cat /data@~3/many/f007.txt')).data?.toString()).toBe('file 7\n'); // history
      // errors, and the image stays usable
      expect((await sh.run('put /data/top.txt/x 1', { input: Buffer.from('x') })).error).toBe('path-conflict');
      expect((await sh.run('put /data/many 1', { input: Buffer.from('x') })).error).toBe('path-conflict');
      expect((await sh.run('put /nope/x 1', { input: Buffer.from('x') })).error).toBe('no-such-branch');
      expect((await sh.run('put /data@~1/x 1')).error).toBe('usage');
      expect((await sh.run('rev')).status).toBe('ok');
    } finally {
      await vm.stop(1000);
    }

    // the host reader
    const r = openImage(img, { readOnly: true });
    try {
      expect(r.readFile('data', 'notes/new file.txt').toString()).toBe('written by the kernel\n');
      expect(r.readFile('data', 'many/f007.txt').toString()).toBe('seven\n');
      expect(r.readFile('data', 'many/f008.txt').toString()).toBe('file 8\n');
      expect(sha1(r.readFile('data', 'bin/random.bin'))).toBe(sha1(big));
      expect(r.readFile('data~3', 'many/f007.txt').toString()).toBe('file 7\n');
      expect(r.log('data').map((e) => e.hash).at(-1)).toBe(before);
      const mainline = r.log('mainline').map((e) => e.commit.message.split('\n')[0]);
      expect(mainline.slice(0, 3)).toEqual(expect.arrayContaining([expect.stringMatching(/^branch data: [0-9a-f]{12} -> [0-9a-f]{12}$/)]));
    } finally {
      r.close();
    }
    const fsck = await cli(['image', 'fsck', img]);
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    // git judges the export
    const git = join(dir, 'put.git');
    expect((await cli(['image', 'export', img, git])).exitCode).toBe(0);
    await execa('git', ['-C', git, '-c', 'fsck.fullPathname=ignore', 'fsck', '--no-dangling']);
    const log = await execa('git', ['-C', git, 'log', '--format=%s', 'data']);
    expect(log.stdout.split('\n')).toEqual(['put bin/random.bin', 'put many/f007.txt', 'put notes/new file.txt', 'seed data']);
    const show = await execa('git', ['-C', git, 'show', 'data:many/f007.txt']);
    expect(show.stdout).toBe('seven');
  });

  it('a put that grows a flat tree past the threshold splits it exactly as the host store does', async () => {
    const img = join(dir, 'grow.img');
    copyFileSync(out.image, img);
    const files = [
      ...Array.from({ length: 200 }, (_, i) => ({ path: `d/f${String(i).padStart(3, '0')}`, data: Buffer.from(`d${i}\n`) })),
      ...Array.from({ length: 56 }, (_, i) => ({ path: `e/g${String(i).padStart(3, '0')}`, data: Buffer.from(`e${i}\n`) })),
    ];
    const h = openImage(img);
    h.commitTree('grow', files, { message: 'exactly 256 entries: flat' });
    expect(h.readTree(h.commitTreeHash(h.readRef('grow')!)).length).toBe(256);
    h.close();
    const { vm } = await bootToReady({ disk: img, accel: 'tcg' }, 30_000);
    try {
      const r = await new ShellClient(vm).run('put /grow/d/new.txt 4', { input: Buffer.from('new\n') });
      expect(r.status, r.error).toBe('ok');
    } finally {
      await vm.stop(1000);
    }
    // the host store builds the same files into the same tree
    const ref = join(dir, 'grow-ref.img');
    copyFileSync(out.image, ref);
    const e = openImage(ref);
    e.commitTree('grow', [...files, { path: 'd/new.txt', data: Buffer.from('new\n') }], { message: 'reference' });
    const expected = e.commitTreeHash(e.readRef('grow')!);
    const expectedTop = e.readTree(expected).map((t) => `${t.mode} ${t.name}`);
    e.close();
    const k = openImage(img, { readOnly: true });
    const got = k.commitTreeHash(k.readRef('grow')!);
    const top = k.readTree(got).map((t) => `${t.mode} ${t.name}`);
    k.close();
    expect(top).toContain('40000 d');
    expect(top).toEqual(expectedTop);
    expect(got).toBe(expected);
  });

  it('a power cut at random moments during a put leaves an image at the old or the new state', async () => {
    const rnd = seeded(7);
    const payload = Buffer.alloc(4096, 0x5a);
    // how long a whole put takes, to spread the cuts over it
    const probe = join(dir, 'probe.img');
    copyFileSync(out.image, probe);
    const { vm: pv } = await bootToReady({ disk: probe, accel: 'tcg' }, 30_000);
    const t0 = Date.now();
    const pr = await new ShellClient(pv).run(`put /kernel/cut.bin ${payload.length}`, { input: payload });
    const span = Date.now() - t0;
    await pv.stop(500);
    expect(pr.status).toBe('ok');

    const outcomes = { old: 0, new: 0 };
    for (let i = 0; i < 6; i++) {
      const img = join(dir, `cut${i}.img`);
      copyFileSync(out.image, img);
      const pre = openImage(img, { readOnly: true });
      const oldHead = pre.readRef('kernel')!;
      pre.close();
      const vm = Vm.launch({ disk: img, accel: 'tcg' });
      await vm.waitForEvent((e) => e.name === 'ready', 30_000);
      const qmp = await vm.qmp();
      vm.send(`put /kernel/cut.bin ${payload.length}`);
      vm.write(payload);
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * span * 1.2)));
      await qmp.execute('quit').catch(() => undefined); // the power cut
      await vm.exited;
      const fsck = await cli(['image', 'fsck', img]);
      expect(fsck.exitCode, `cut ${i}: ${fsck.stdout}${fsck.stderr}`).toBe(0);
      const after = openImage(img, { readOnly: true });
      const head = after.readRef('kernel')!;
      if (head === oldHead) {
        outcomes.old++;
        expect(() => after.readFile('kernel', 'cut.bin')).toThrow();
      } else {
        outcomes.new++;
        expect(after.readFile('kernel', 'cut.bin').equals(payload)).toBe(true);
        expect(after.log('kernel')[1]!.hash).toBe(oldHead);
      }
      after.close();
      // and it still boots
      const { vm: again } = await bootToReady({ disk: img, accel: 'tcg', snapshot: true }, 30_000);
      await again.stop(200);
    }
    expect(outcomes.old + outcomes.new).toBe(6);
  });
});
