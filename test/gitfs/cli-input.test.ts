// What `image commit` takes from the host, through the real CLI: names are bytes (only "/"
// separates), unreadable entries are a one-line error before the image is touched, files of any
// size commit streamed (a sparse file over 4 GiB, also exported to git), a commit that does not
// fit is `disk full` with the image unchanged; and `image fsck` warns when the fallback index
// copy is lost.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { indexBytes } from '../../gitfs/object-index.ts';
import { SB_A_LBA, SB_B_LBA, SB_BYTES, SECTOR_SIZE } from '../../gitfs/layout.ts';
import { decodeSuperblock, type Superblock } from '../../gitfs/superblock.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-cli-input-'));
chmodSync(tmp, 0o755);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = join(import.meta.dirname, '../../bin/gittorrent.js');
const cache = join(tmp, 'cache');
mkdirSync(cache, { mode: 0o777 });
chmodSync(cache, 0o777);
const env = { CI: '1', HOME: tmp, XDG_CACHE_HOME: cache };
const run = (args: string[]) => execa('node', [bin, ...args], { reject: false, cwd: tmp, env, stripFinalNewline: false });
/** The CLI as an unprivileged user (uid/gid 65534, no groups): tests run as root, who may read anything. */
const runAsNobody = (args: string[]) =>
  execa('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'node', bin, ...args], { reject: false, cwd: tmp, env, stripFinalNewline: false });
const sha1File = (p: string) => createHash('sha1').update(readFileSync(p)).digest('hex');

function expectOneLineError(r: { exitCode?: number; stderr: string }, code: number, re: RegExp): void {
  expect(r.exitCode).toBe(code);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('gittorrent:'));
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
}

/** Allocated bytes of a file (a sparse file has far fewer than its size). */
const allocated = (p: string) => statSync(p).blocks * 512;

function superblocks(img: string): Superblock[] {
  const fd = openSync(img, 'r');
  try {
    return [SB_A_LBA, SB_B_LBA].map((lba) => {
      const b = Buffer.alloc(SB_BYTES);
      readSync(fd, b, 0, SB_BYTES, lba * SECTOR_SIZE);
      const r = decodeSuperblock(b);
      if (!r.ok) throw new Error(`superblock at ${lba}: ${r.reason}`);
      return r.sb;
    });
  } finally {
    closeSync(fd);
  }
}

/** SHA-1 of a file's content and its git blob id, read once in chunks. */
function hashFile(path: string, size: number): { blobId: string; contentSha1: string } {
  const blob = createHash('sha1').update(`blob ${size}\0`);
  const plain = createHash('sha1');
  const buf = Buffer.alloc(8 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) throw new Error(`short read at ${pos}`);
      blob.update(buf.subarray(0, n));
      plain.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return { blobId: blob.digest('hex'), contentSha1: plain.digest('hex') };
}

describe('image commit: what it takes from the host', () => {
  it('a name with a backslash is one file: ls, cat and a git export show that one name', async () => {
    const dir = join(tmp, 'bs');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'back\\slash'), 'one file\n');
    writeFileSync(join(dir, 'sub', 'a\\b\\c.txt'), 'nested\n');
    const img = join(tmp, 'bs.img');
    expect((await run(['image', 'create', img, '--size', '4M'])).exitCode).toBe(0);
    const c = await run(['image', 'commit', img, dir, '--branch', 'main', '--json']);
    expect(c.exitCode).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ files: 2, storedBlobs: 2 });
    const ls = JSON.parse((await run(['image', 'ls', img, 'main', '--json'])).stdout) as { entries: { name: string; type: string }[] };
    expect(ls.entries.map((e) => [e.name, e.type])).toEqual([['back\\slash', 'blob'], ['sub/', 'tree']]);
    const sub = JSON.parse((await run(['image', 'ls', img, 'main:sub', '--json'])).stdout) as { entries: { name: string }[] };
    expect(sub.entries.map((e) => e.name)).toEqual(['a\\b\\c.txt']);
    expect((await run(['image', 'cat', img, 'main:back\\slash'])).stdout).toBe('one file\n');
    // A real git repository made from the image holds the same names.
    const repo = join(tmp, 'bs-git');
    expect((await run(['image', 'export', img, repo])).exitCode).toBe(0);
    const tree = await execa('git', ['ls-tree', '-r', '-z', '--name-only', 'main'], { cwd: repo });
    expect(tree.stdout.split('\0').filter(Boolean)).toEqual(['back\\slash', 'sub/a\\b\\c.txt']);
    expect((await execa('git', ['fsck', '--no-dangling'], { cwd: repo, reject: false })).exitCode).toBe(0);
  });

  it('an unreadable directory or file: one line naming it, exit 3, the image byte-identical', async () => {
    const dir = join(tmp, 'perm');
    mkdirSync(join(dir, 'open'), { recursive: true });
    mkdirSync(join(dir, 'secret'));
    writeFileSync(join(dir, 'open', 'a.txt'), 'readable\n');
    writeFileSync(join(dir, 'secret', 'x.txt'), 'hidden\n');
    writeFileSync(join(dir, 'locked.txt'), 'locked\n');
    for (const d of [dir, join(dir, 'open')]) chmodSync(d, 0o755);
    chmodSync(join(dir, 'open', 'a.txt'), 0o644);
    chmodSync(join(dir, 'secret'), 0o700);
    chmodSync(join(dir, 'locked.txt'), 0o644);
    const img = join(tmp, 'perm.img');
    expect((await run(['image', 'create', img, '--size', '4M'])).exitCode).toBe(0);
    chmodSync(img, 0o666);
    const before = sha1File(img);

    const r1 = await runAsNobody(['image', 'commit', img, dir, '--branch', 'main']);
    expectOneLineError(r1, 3, new RegExp(`${join(dir, 'secret').replace(/[/.]/g, '\\$&')}: cannot read it \\(permission denied\\)`));
    expect(sha1File(img)).toBe(before);

    chmodSync(join(dir, 'secret'), 0o755);
    chmodSync(join(dir, 'secret', 'x.txt'), 0o644);
    chmodSync(join(dir, 'locked.txt'), 0o600);
    const r2 = await runAsNobody(['image', 'commit', img, dir, '--branch', 'main']);
    expectOneLineError(r2, 3, new RegExp(`${join(dir, 'locked.txt').replace(/[/.]/g, '\\$&')}: cannot read it \\(permission denied\\)`));
    expect(sha1File(img)).toBe(before);

    // The same user commits the tree once every entry is readable (the setup itself works).
    chmodSync(join(dir, 'locked.txt'), 0o644);
    const ok = await runAsNobody(['image', 'commit', img, dir, '--branch', 'main', '--json']);
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toMatchObject({ files: 3 });
  });

  it('a sparse file over 4 GiB commits streamed, reads back with the hash git computes, exports to git, and fscks', async () => {
    const dir = join(tmp, 'huge');
    mkdirSync(dir);
    const big = join(dir, 'big.bin');
    const size = 4 * 1024 ** 3 + 4096;
    const fd = openSync(big, 'w');
    writeSync(fd, Buffer.from('head of a big file\n'), 0, 19, 0);
    writeSync(fd, Buffer.from('its tail\n'), 0, 9, size - 9);
    closeSync(fd);
    writeFileSync(join(dir, 'small.txt'), 'small\n');
    expect(statSync(big).size).toBe(size);
    const img = join(tmp, 'huge.img');
    expect((await run(['image', 'create', img, '--size', '5G'])).exitCode).toBe(0);
    expect(allocated(img)).toBeLessThan(16 << 20); // sparse: the log is not written yet

    const c = await run(['image', 'commit', img, dir, '--branch', 'main', '--json']);
    expect(c.stderr).not.toMatch(/error|RangeError/);
    expect(c.exitCode).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ files: 2, storedBlobs: 2 });
    // The id git gives the file is SHA-1("blob <size>\0" + content) (what `git hash-object`
    // prints; its collision-detecting SHA-1 takes about a minute for 4 GiB here, so the test
    // computes the same digest in one pass with the plain content's digest beside it).
    const { blobId, contentSha1 } = hashFile(big, size);
    const ls = JSON.parse((await run(['image', 'ls', img, 'main', '--json'])).stdout) as { entries: { name: string; hash: string }[] };
    expect(ls.entries.find((e) => e.name === 'big.bin')?.hash).toBe(blobId);
    // `image cat` streams it out; sha1sum hashes what arrives.
    const cat = await execa(`node ${JSON.stringify(bin)} image cat ${JSON.stringify(img)} main:big.bin | sha1sum`, { shell: true, cwd: tmp, env });
    expect(cat.stdout.split(' ')[0]).toBe(contentSha1);
    expect((await run(['image', 'cat', img, 'main:small.txt'])).stdout).toBe('small\n');
    // `image export` streams it into a loose object; git reads it back (its size from the header,
    // its content through sha1sum).
    const repo = join(tmp, 'huge-repo');
    const ex = await run(['image', 'export', img, repo]);
    expect(ex.stderr).not.toMatch(/error|too large/);
    expect(ex.exitCode).toBe(0);
    expect((await execa('git', ['cat-file', '-s', blobId], { cwd: repo })).stdout.trim()).toBe(String(size));
    const gitCat = await execa(`git cat-file blob ${blobId} | sha1sum`, { shell: true, cwd: repo });
    expect(gitCat.stdout.split(' ')[0]).toBe(contentSha1);
    expect((await execa('git', ['show', 'main:small.txt'], { cwd: repo, stripFinalNewline: false })).stdout).toBe('small\n');
    const fsck = await run(['image', 'fsck', img, '--json']);
    expect(fsck.exitCode).toBe(0);
    expect(JSON.parse(fsck.stdout)).toMatchObject({ ok: true, problems: [] });
    expect(allocated(img)).toBeLessThan(64 << 20); // the file's holes stayed holes in the image
  }, 900_000);

  it('a file that does not fit, or more objects than the index holds: disk full, nothing written', async () => {
    const dir = join(tmp, 'nofit');
    mkdirSync(dir);
    const fd = openSync(join(dir, 'big.bin'), 'w');
    writeSync(fd, Buffer.from('x'), 0, 1, 4 * 1024 ** 3);
    closeSync(fd);
    const img = join(tmp, 'nofit.img');
    expect((await run(['image', 'create', img, '--size', '64M'])).exitCode).toBe(0);
    const before = sha1File(img);
    const blocks = allocated(img);
    expectOneLineError(await run(['image', 'commit', img, dir, '--branch', 'main']), 10, /nofit\.img: disk full \(the commit needs up to \d+ bytes of log, \d+ are free\)/);
    expect(sha1File(img)).toBe(before);
    expect(allocated(img)).toBe(blocks);

    // 2,100 distinct small files into a 4 MiB image: the log has room, its index (2,000 entries) has not.
    const many = join(tmp, 'many');
    mkdirSync(many);
    for (let i = 0; i < 2100; i++) writeFileSync(join(many, `f${i}`), `file ${i}\n`);
    const small = join(tmp, 'many.img');
    expect((await run(['image', 'create', small, '--size', '4M'])).exitCode).toBe(0);
    const before2 = sha1File(small);
    expectOneLineError(await run(['image', 'commit', small, many, '--branch', 'main']), 10, /disk full \(the commit adds up to \d+ objects, the index has room for \d+\)/);
    expect(sha1File(small)).toBe(before2);
  });
});

describe('image fsck: redundancy', () => {
  it('a corrupt inactive index copy is a warning (exit 0) naming the copy; the active one is untouched', async () => {
    const dir = join(tmp, 'fsck-tree');
    mkdirSync(dir);
    const img = join(tmp, 'fsck.img');
    expect((await run(['image', 'create', img, '--size', '4M'])).exitCode).toBe(0);
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(dir, `f${i}.txt`), `version ${i}\n`);
      expect((await run(['image', 'commit', img, dir, '--branch', 'main'])).exitCode).toBe(0);
    }
    const clean = await run(['image', 'fsck', img, '--json']);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, warnings: [] });
    const sbs = superblocks(img);
    const inactive = sbs[0]!.generation < sbs[1]!.generation ? sbs[0]! : sbs[1]!;
    expect(inactive.indexCount).toBeGreaterThan(0);
    // Flip one byte inside the inactive copy's index entries.
    const at = inactive.indexLba * SECTOR_SIZE + indexBytes(inactive.indexCount) - 7;
    const fd = openSync(img, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0x40;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    const name = inactive.copy === 0 ? 'A' : 'B';
    const text = await run(['image', 'fsck', img]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^warning: superblock ${name} \\(generation ${inactive.generation}\\) cannot serve as the fallback: its index copy at LBA ${inactive.indexLba}: index checksum mismatch`, 'm'));
    expect(text.stdout).toMatch(/^ok: /m);
    const json = JSON.parse((await run(['image', 'fsck', img, '--json'])).stdout);
    expect(json).toMatchObject({ ok: true, problems: [] });
    expect(json.warnings.length).toBe(1);
    // The active copy still reads everything; the next commit writes the lost copy anew.
    expect((await run(['image', 'cat', img, 'main:f2.txt'])).stdout).toBe('version 2\n');
    writeFileSync(join(dir, 'f3.txt'), 'version 3\n');
    expect((await run(['image', 'commit', img, dir, '--branch', 'main'])).exitCode).toBe(0);
    expect(JSON.parse((await run(['image', 'fsck', img, '--json'])).stdout)).toMatchObject({ ok: true, warnings: [] });
  });
});
