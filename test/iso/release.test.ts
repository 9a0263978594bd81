// Kernel releases: the ISO is judged by isoinfo/xorriso, boots by itself as a CD in QEMU,
// merges into the kernel branch of a GitFS image, and the node image boots from it.
import { describe, expect, it, beforeAll } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { openImage } from '../../gitfs/image.ts';
import { Vm } from '../../emulator/vm.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

let out: BuildOutputs;
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  out = await build({ outDir: join(dir, 'out'), kernelVersion: '1.2.3' });
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('release ISO', () => {
  it('is a valid ISO 9660 with El Torito and long names, per isoinfo and xorriso', async () => {
    const d = await execa('isoinfo', ['-d', '-i', out.iso]);
    expect(d.stdout).toContain('Volume id: GITTORRENT_1_2_3');
    expect(d.stdout).toMatch(/El Torito/);
    const l = await execa('isoinfo', ['-R', '-f', '-i', out.iso]);
    expect(l.stdout.split('\n').sort()).toEqual(['/VERSION', '/boot', '/boot/cdboot.img', '/boot/kernel.bin', '/boot/mbr.bin', '/boot/stage2.bin']);
    const k = await execa('isoinfo', ['-R', '-x', '/boot/kernel.bin', '-i', out.iso], { encoding: 'buffer' });
    expect(sha1(Buffer.from(k.stdout))).toBe(sha1(readFileSync(out.kernel)));
    const v = await execa('isoinfo', ['-R', '-x', '/VERSION', '-i', out.iso]);
    expect(v.stdout.trim()).toBe('1.2.3');
    const x = await execa('xorriso', ['-indev', out.iso, '-report_el_torito', 'plain'], { all: true });
    expect(x.all).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none/);
  });

  it('boots by itself in QEMU as a CD to ready, with the kernel appended to stage 2', async () => {
    const vm = Vm.launch({ cdrom: out.iso, accel: 'tcg' });
    try {
      await vm.waitForEvent((e) => e.name === 'ready' || e.name === 'panic', 30_000);
      const seq = vm.events.map((e) => (e.name === 'boot' ? `boot:${e.fields.stage}` : e.name));
      expect(seq).toEqual(['boot:cdboot', 'boot:stage2', 'boot:kernel', 'disk', 'net', 'ready']);
      const k = vm.events.find((e) => e.fields.stage === 'kernel')!;
      expect(k.fields.source).toBe('2');
      expect(vm.events.find((e) => e.name === 'disk')!.fields.state).toBe('absent'); // CD only
      expect(k.fields.version).toBe('1.2.3');
    } finally {
      await vm.stop(200);
    }
  });
});

describe('node image built from the release', () => {
  it('holds the release on the kernel branch, the boot ref on it, and boots from GitFS', async () => {
    const img = openImage(out.image, { readOnly: true });
    try {
      const kernelHead = img.readRef('kernel')!;
      expect(img.readRef('boot')).toBe(kernelHead);
      const commit = img.readCommit(kernelHead);
      expect(JSON.stringify(commit)).toContain('1.2.3'); // kernel-version header
      expect(img.readFile('kernel', 'boot/kernel.bin').equals(readFileSync(out.kernel))).toBe(true);
      // the blob's hash is git's
      const gitHash = await execa('git', ['hash-object', out.kernel]);
      const entry = img.lookupPath(img.commitTreeHash(kernelHead), 'boot/kernel.bin')!;
      expect(entry.hash).toBe(gitHash.stdout.trim());
    } finally {
      img.close();
    }
    const { vm } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000);
    await vm.stop(200);
  });

  it('image merge-iso adds a kernel commit whose parent is the previous one; git agrees', async () => {
    const work = join(dir, 'merge.img');
    copyFileSync(out.image, work);
    const before = openImage(work, { readOnly: true });
    const prev = before.readRef('kernel')!;
    before.close();
    const r = await cli(['image', 'merge-iso', work, out.iso, '--json', '-m', 'second release']);
    expect(r.exitCode, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { commit: string; parent: string; kernelVersion: string };
    expect(j.parent).toBe(prev);
    expect(j.kernelVersion).toBe('1.2.3');
    const fsck = await cli(['image', 'fsck', work]);
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    const git = join(dir, 'export.git');
    const ex = await cli(['image', 'export', work, git]);
    expect(ex.exitCode, ex.stderr).toBe(0);
    const cat = await execa('git', ['-C', git, 'cat-file', '-p', j.commit]);
    expect(cat.stdout).toContain(`parent ${prev}`);
    expect(cat.stdout).toMatch(/^kernel-version 1\.2\.3$/m);
    const log = await execa('git', ['-C', git, 'log', '--format=%H', j.commit]);
    expect(log.stdout.split('\n')).toEqual([j.commit, prev]);
    await execa('git', ['-C', git, '-c', 'fsck.fullPathname=ignore', 'fsck']);
  });

  it('a bad ISO gives a one-line error and leaves the image byte-for-byte as it was', async () => {
    const work = join(dir, 'untouched.img');
    copyFileSync(out.image, work);
    const h0 = sha1(readFileSync(work));
    const badIso = join(dir, 'bad.iso');
    const iso = Buffer.from(readFileSync(out.iso));
    iso.write('XXXXX', 16 * 2048 + 1, 'latin1'); // break "CD001" of the primary descriptor
    writeFileSync(badIso, iso);
    for (const f of [badIso, join(dir, 'nope.iso'), out.kernel]) {
      const r = await cli(['image', 'merge-iso', work, f]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^gittorrent: /);
    }
    expect(sha1(readFileSync(work))).toBe(h0);
  });
});
