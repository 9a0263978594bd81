// The CLI end to end: results, --json, and one-line errors with a non-zero exit that leave the
// image byte-for-byte as it was.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { SB_A_LBA, SB_B_LBA, SECTOR_SIZE } from '../../gitfs/layout.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = join(import.meta.dirname, '../../bin/gittorrent.js');
const run = (args: string[]) => execa('node', [bin, ...args], { reject: false, cwd: tmp, env: { CI: '1' }, stripFinalNewline: false });
const sha = (p: string) => createHash('sha1').update(readFileSync(p)).digest('hex');

function expectOneLineError(r: { exitCode?: number; stderr: string }, re: RegExp): void {
  expect(r.exitCode).not.toBe(0);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('gittorrent:'));
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('gittorrent image', () => {
  it('create, commit, ls, cat, log, branches, fsck, export, import', async () => {
    const img = join(tmp, 'c.img');
    const dir = join(tmp, 'tree');
    mkdirSync(join(dir, 'boot'), { recursive: true });
    writeFileSync(join(dir, 'boot/kernel.bin'), 'KERNEL');
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    expect((await run(['image', 'create', img, '--size', '4M'])).exitCode).toBe(0);
    expectOneLineError(await run(['image', 'create', img, '--size', '4M']), /already exists/);
    const c1 = JSON.parse((await run(['image', 'commit', img, '--branch', 'main', dir, '-m', 'first', '--json'])).stdout);
    expect(c1).toMatchObject({ branch: 'main', files: 2, storedBlobs: 2 });
    writeFileSync(join(dir, 'hello.txt'), 'hello again\n');
    const c2 = JSON.parse((await run(['image', 'commit', img, '--branch', 'dev', dir, '--from', 'main', '--json', '--header', 'kernel-version=2'])).stdout);
    expect(c2).toMatchObject({ storedBlobs: 1, reusedBlobs: 1 });
    const root = JSON.parse((await run(['image', 'ls', img, '--json'])).stdout);
    expect(root.entries.map((e: { name: string }) => e.name)).toEqual(['mainline/', 'main/', 'dev/']);
    const ls = JSON.parse((await run(['image', 'ls', img, 'dev:boot', '--json'])).stdout);
    expect(ls.entries.map((e: { name: string }) => e.name)).toEqual(['kernel.bin']);
    expect((await run(['image', 'cat', img, 'dev~1:hello.txt'])).stdout).toBe('hello\n');
    expect((await run(['image', 'cat', img, `${c2.commit.slice(0, 7)}:hello.txt`])).stdout).toBe('hello again\n');
    const log = JSON.parse((await run(['image', 'log', img, '--json'])).stdout);
    expect(log.length).toBe(2);
    expect(JSON.parse((await run(['image', 'log', img, 'dev', '--json'])).stdout).map((e: { hash: string }) => e.hash)).toEqual([c2.commit, c1.commit]);
    expect((await run(['image', 'branches', img])).stdout).toMatch(/main \(branch [0-9a-f]{12}\)\n\s+└── dev/);
    expect(JSON.parse((await run(['image', 'fsck', img, '--json'])).stdout).ok).toBe(true);
    const out = join(tmp, 'exported');
    expect((await run(['image', 'export', img, out, '--json'])).exitCode).toBe(0);
    const img2 = join(tmp, 'c2.img');
    await run(['image', 'create', img2, '--size', '4M']);
    const imp = JSON.parse((await run(['image', 'import', img2, out, '--branch', 'dev', '--json'])).stdout);
    expect(imp.branches).toEqual([{ name: 'dev', hash: c2.commit }]);
  });

  it('bad input: one-line errors, non-zero exit, image unchanged', async () => {
    const img = join(tmp, 'b.img');
    const dir = join(tmp, 'btree');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'f'), 'f');
    await run(['image', 'create', img, '--size', '2M']);
    await run(['image', 'commit', img, '-b', 'main', dir]);
    const before = sha(img);
    expectOneLineError(await run(['image', 'import', img, tmp]), /not a git repository/);
    expectOneLineError(await run(['image', 'cat', img, 'main:nope']), /path nope not found/);
    expectOneLineError(await run(['image', 'cat', img, 'zzz:f']), /unknown revision/);
    expectOneLineError(await run(['image', 'ls', img, 'main~9']), /history is shorter/);
    expectOneLineError(await run(['image', 'commit', img, '-b', 'main', join(tmp, 'nodir')]), /no such directory/);
    expectOneLineError(await run(['image', 'commit', img, '-b', 'bad..name', dir]), /bad ref name/);
    expectOneLineError(await run(['image', 'commit', img, '-b', 'main', dir, '--from', 'other']), /already exists/);
    expect(sha(img)).toBe(before);

    const notImg = join(tmp, 'notimage.bin');
    writeFileSync(notImg, Buffer.alloc(1 << 20, 1));
    expectOneLineError(await run(['image', 'ls', notImg]), /not a GitFS image/);
    expectOneLineError(await run(['image', 'ls', join(tmp, 'missing.img')]), /no such file/);

    // Both superblock copies broken.
    const broken = join(tmp, 'broken.img');
    const buf = readFileSync(img);
    buf[SB_A_LBA * SECTOR_SIZE + 100] ^= 1;
    buf[SB_B_LBA * SECTOR_SIZE + 100] ^= 1;
    writeFileSync(broken, buf);
    const bsha = sha(broken);
    expectOneLineError(await run(['image', 'fsck', broken]), /no usable superblock/);
    expectOneLineError(await run(['image', 'commit', broken, '-b', 'main', dir]), /no usable superblock/);
    expect(sha(broken)).toBe(bsha);

    // Truncated.
    const trunc = join(tmp, 'trunc.img');
    writeFileSync(trunc, readFileSync(img).subarray(0, 1 << 19));
    expectOneLineError(await run(['image', 'ls', trunc, 'main']), /truncated/);

    // A flipped byte in an object: fsck names it and fails.
    const flipped = join(tmp, 'flipped.img');
    const fb = readFileSync(img);
    const at = fb.indexOf(Buffer.from('GREC')) + 64; // first record's payload
    fb[at] ^= 0x20;
    writeFileSync(flipped, fb);
    const fsck = await run(['image', 'fsck', flipped]);
    expect(fsck.stdout).toMatch(/bad: object [0-9a-f]{40} is corrupt/);
    expectOneLineError(fsck, /fsck found 1 problem/);
  });
});
