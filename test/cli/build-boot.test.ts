// The CLI as a user runs it: build --json, boot --until ready --json, and one-line errors.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { openImage } from '../../gitfs/image.ts';

describe('gittorrent build / boot', () => {
  const out = tempDir();
  let image = '';

  it('build --json prints the produced paths, including image', async () => {
    const r = await cli(['build', '--out', out, '--json']);
    expect(r.exitCode).toBe(0);
    const j = JSON.parse(r.stdout) as { image: string; kernel: string; kernelMap: string; upToDate: boolean };
    expect(j.image).toBe(join(out, 'node.img'));
    expect(j.kernelMap).toBe(join(out, 'kernel.map'));
    image = j.image;
    const again = await cli(['build', '--out', out, '--json']);
    expect((JSON.parse(again.stdout) as { upToDate: boolean }).upToDate).toBe(true);
    expect(again.stderr).toContain('nothing to do');
  });

  it('boot IMAGE --until ready --json exits 0 with ready, readyMs and events', async () => {
    const r = await cli(['boot', image, '--until', 'ready', '--json', '--accel', 'tcg']);
    expect(r.exitCode).toBe(0);
    const j = JSON.parse(r.stdout) as { ready: boolean; readyMs: number; events: Array<{ name: string }> };
    expect(j.ready).toBe(true);
    expect(j.readyMs).toBeGreaterThan(0);
    expect(j.events.map((e) => e.name)).toContain('ready');
  });

  it('a missing image is a one-line error and a non-zero exit', async () => {
    const r = await cli(['boot', join(out, 'missing.img'), '--until', 'ready']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/image not found/);
  });

  it('a file that is not a disk image is a one-line error', async () => {
    const bogus = join(out, 'bogus.img');
    writeFileSync(bogus, Buffer.alloc(1 << 20, 0x41));
    const r = await cli(['boot', bogus, '--until', 'ready']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a gittorrent disk image/);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  });

  it('bad arguments are one-line errors', async () => {
    for (const args of [
      ['boot', image, '--until', 'forever'],
      ['boot', image, '--timeout', '-3'],
      ['boot', image, '--accel', 'xen'],
      ['boot'],
      ['no-such-command'],
    ]) {
      const r = await cli(args);
      expect(r.exitCode, args.join(' ')).not.toBe(0);
      expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    }
  });

  it('a kernel blob whose hash does not match is never run: the loader says so', async () => {
    const { readFileSync, copyFileSync } = await import('node:fs');
    const broken = join(out, 'broken.img');
    copyFileSync(image, broken);
    const img = openImage(broken, { readOnly: true });
    const blob = img.lookupPath(img.commitTreeHash(img.readRef('boot')!), 'boot/kernel.bin')!.hash;
    const where = img.locateRaw(blob);
    img.close();
    const copy = readFileSync(broken);
    const at = where.lba * 512 + where.offset + 100;
    copy[at] = copy[at]! ^ 0xff; // one flipped byte inside the kernel
    writeFileSync(broken, copy);
    const r = await cli(['boot', broken, '--until', 'ready', '--timeout', '20']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`gittorrent: boot failed: error stage=stage2 reason=hash-mismatch object=${blob}`);
  });

  it('--help and --version work', async () => {
    const v = await cli(['--version']);
    expect(v.exitCode).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await cli(['boot', '--help']);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toContain('--until');
  });
});
