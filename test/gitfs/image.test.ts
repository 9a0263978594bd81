// The image store: commits, reads, deltas, forks, revisions, refs, referrals, the boot area.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createImage, openImage } from '../../gitfs/image.ts';
import { BOOT_AREA_END_LBA, SECTOR_SIZE } from '../../gitfs/layout.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { NotFoundError, UsageError } from '../../core/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-image-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const who = (time: number) => ({ name: 'T', email: 't@t', time });

function text(n: number, seed: number): Buffer {
  let s = '';
  for (let i = 0; i < n; i++) s += `line ${i} of file ${seed} ${(i * 2654435761 + seed) % 1000003}\n`;
  return Buffer.from(s);
}

describe('image store', () => {
  it('commits, reads back, dedups, deltas, forks and walks history', () => {
    const path = join(tmp, 'a.img');
    const img = createImage(path, { sizeBytes: 4 << 20 });
    const big = text(2000, 1);
    const files = [
      { path: 'README', data: Buffer.from('hello\n') },
      { path: 'src/big.txt', data: big },
      { path: 'boot/kernel.bin', data: text(500, 2) },
      { path: 'bin/run', data: Buffer.from('#!/bin/sh\n'), mode: 0o100755 },
      { path: 'link', data: Buffer.from('README'), mode: 0o120000 },
    ];
    const c1 = img.commitTree('main', files, { message: 'one', author: who(1000), headers: { 'kernel-version': '0.1' } });
    const big2 = Buffer.concat([big.subarray(0, 30000), Buffer.from('an edit\n'), big.subarray(30000)]);
    const k2 = Buffer.concat([text(500, 2), Buffer.from('x')]);
    const stats = { files: 0, storedBlobs: 0, deltas: 0, reusedBlobs: 0, bytesWritten: 0 };
    const c2 = img.commitTree('main', [...files.filter((f) => f.path !== 'src/big.txt' && f.path !== 'boot/kernel.bin'), { path: 'src/big.txt', data: big2 }, { path: 'boot/kernel.bin', data: k2 }], { message: 'two', author: who(1001) }, stats);
    expect(stats).toMatchObject({ files: 5, storedBlobs: 2, deltas: 1, reusedBlobs: 3 });
    expect(stats.bytesWritten).toBeLessThan(big2.length / 2 + k2.length + 4096);
    const c3 = img.commitTree('dev', [{ path: 'x', data: Buffer.from('x') }], { message: 'fork', from: 'main', author: who(1002) });
    img.close();

    const r = openImage(path, { readOnly: true });
    expect(r.readFile('main', 'src/big.txt').equals(big2)).toBe(true);
    expect(r.readFile('main~1', 'src/big.txt').equals(big)).toBe(true);
    expect(r.readFile(c1.slice(0, 8), 'README').toString()).toBe('hello\n');
    expect(r.resolveRev('main~1')).toBe(c1);
    expect(r.resolveRev('main^')).toBe(c1);
    expect(r.resolveRev('dev~1')).toBe(c2);
    expect(r.readRef('dev')).toBe(c3);
    expect(r.refInfo('dev')).toMatchObject({ kind: 'branch', forkedFrom: 'main' });
    const commit = r.readCommit(c1);
    expect(commit.headers).toEqual([['branch', 'main'], ['kernel-version', '0.1']]);
    expect(r.readCommit(c3).headers).toEqual([['branch', 'dev'], ['forked-from', 'main']]);
    expect(r.log('dev').map((e) => e.hash)).toEqual([c3, c2, c1]);
    const files2 = r.listFiles(r.commitTreeHash(c2));
    expect(files2.find((f) => f.path === 'bin/run')?.mode).toBe('100755');
    expect(files2.find((f) => f.path === 'link')?.mode).toBe('120000');
    // The kernel blob is raw and readable straight from the disk.
    const kh = hashObject('blob', k2);
    const loc = r.locateRaw(kh);
    const disk = readFileSync(path);
    expect(disk.subarray(loc.lba * SECTOR_SIZE + loc.offset, loc.lba * SECTOR_SIZE + loc.offset + loc.size).equals(k2)).toBe(true);
    // Mainline: one commit per ref update; its head is the revision.
    const ml = r.log('mainline');
    expect(ml.length).toBe(3);
    expect(r.revision()).toBe(ml[0]!.hash);
    expect(r.fsck()).toMatchObject({ ok: true, problems: [], mainlineCommits: 3 });
    expect(() => r.resolveRev('nope')).toThrow(NotFoundError);
    expect(() => r.resolveRev('main~5')).toThrow(NotFoundError);
    expect(() => r.readFile('main', 'missing')).toThrow(NotFoundError);
    r.close();
  });

  it('splits a big directory into subtrees past the threshold; flat below it', () => {
    const img = createImage(join(tmp, 'split.img'), { sizeBytes: 4 << 20 });
    const files = [];
    for (let i = 0; i < 300; i++) files.push({ path: `many/f${i}`, data: Buffer.from(String(i)) });
    files.push({ path: 'few/a', data: Buffer.from('a') }, { path: 'top', data: Buffer.from('t') });
    const c = img.commitTree('main', files, { message: 'm', author: who(1) });
    const root = img.readTree(img.commitTreeHash(c));
    expect(root.map((e) => e.name).sort()).toEqual(['few/a', 'many', 'top']);
    expect(img.readFile('main', 'many/f299').toString()).toBe('299');
    img.close();
  });

  it('refs: kinds, boot counting, symbolic refs, referrals and validation', () => {
    const img = createImage(join(tmp, 'refs.img'), { sizeBytes: 2 << 20 });
    const c = img.commitTree('kernel', [{ path: 'boot/kernel.bin', data: Buffer.from('K') }], { message: 'k', author: who(5) });
    img.setRef('boot', c, { state: 'pending', triesLeft: 3, reason: 'new kernel' });
    expect(img.refInfo('boot')).toMatchObject({ kind: 'boot', state: 'pending', triesLeft: 3, hash: c });
    const blob = hashObject('blob', Buffer.from('K'));
    img.setRef('root-file', blob);
    expect(img.refInfo('root-file')?.kind).toBe('symbolic');
    expect(() => img.setRef('bad name', c)).toThrow(UsageError);
    expect(() => img.setRef('x', '1'.repeat(40))).toThrow(NotFoundError);
    expect(() => img.setRef('mainline', c)).toThrow(UsageError);
    const gen = img.generation();
    const far = hashObject('blob', Buffer.from('elsewhere'));
    img.addReferral({ hash: far, type: 'blob', size: 9, holders: ['node-1', '10.0.0.7'] });
    expect(img.readReferral(far)).toEqual({ hash: far, type: 'blob', size: 9, holders: ['node-1', '10.0.0.7'] });
    expect(() => img.readObject(far)).toThrow(/referral/);
    expect(img.generation()).toBe(gen + 1);
    expect(img.fsck()).toMatchObject({ ok: true, referrals: 1 });
    // boot is node-local: its update is in boot-log, not in the mainline (the cluster revision)
    expect(img.log('mainline').length).toBe(2);
    expect(img.log('boot-log').map((e) => e.commit.message.split('\n')[0])).toEqual([`boot boot: (new) -> ${c.slice(0, 12)}`]);
    expect(img.readTree(img.commitTreeHash(img.revision()!)).map((e) => e.name)).toEqual(['kernel', 'root-file']);
    img.close();
  });

  it('writes the boot area without touching the GitFS area', () => {
    const path = join(tmp, 'boot.img');
    createImage(path, { sizeBytes: 2 << 20 }).close();
    const before = readFileSync(path);
    const img = openImage(path);
    const mbr = Buffer.alloc(512, 0xaa);
    img.writeBootArea(mbr, Buffer.alloc(5000, 0xbb));
    expect(() => img.writeBootArea(mbr, Buffer.alloc(127 * 512 + 1))).toThrow(UsageError);
    img.close();
    const after = readFileSync(path);
    const gitfs = BOOT_AREA_END_LBA * SECTOR_SIZE;
    expect(after.subarray(gitfs).equals(before.subarray(gitfs))).toBe(true);
    expect(after.subarray(0, 512).equals(mbr)).toBe(true);
    expect(after[512 + 4999]).toBe(0xbb);
    openImage(path).close();
  });
});
