// The kernel verifies what it reads: one flipped byte in a stored object makes exactly the
// paths that need that object fail with reason=hash-mismatch and object=<its hash>, and
// nothing else. On a copy of the GitFS fixture (test/helpers/gitfs-fixture.ts) we flip:
//   - one byte of a raw blob's content (found with locateRaw) in a directory with siblings;
//   - one byte of a raw blob that a later version of another file is stored as a delta
//     against (the delta-stored file must fail too, naming the base);
//   - one byte of a split subtree's record payload (big/ at the data head only).
// Expectations come from the TS reader on the clean image; the TS reader on the corrupted copy
// must refuse the same objects.
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient, type ShellResult } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { type GitFSImage, openImage } from '../../gitfs/image.ts';
import { SECTOR_SIZE } from '../../gitfs/layout.ts';
import { buildGitFSFixture, type GitFSFixture, kernelLsLines, runJudged } from '../helpers/gitfs-fixture.ts';
import { tempDir } from '../helpers/tmp.ts';

let fx: GitFSFixture;
let clean: GitFSImage;
let corruptPath: string;
let vm: Vm | undefined;
let sh: ShellClient;
const shellStats = { commands: 0, retried: [] as string[] };

/** What was corrupted, and where. */
let blob: { path: string; hash: string; dir: string; pos: number };
let based: { path: string; baseHash: string; childHash: string; pos: number };
let tree: { dir: string; hash: string; pos: number };

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function flipByte(file: string, pos: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, pos);
    b[0] = b[0]! ^ 0x5a;
    writeSync(fd, b, 0, 1, pos);
  } finally {
    closeSync(fd);
  }
}

/** Every (path, blob hash) of every commit of the fixture, from the clean TS reader. */
function blobUses(): Map<string, Set<string>> {
  const uses = new Map<string, Set<string>>();
  for (const c of [...fx.data, fx.feature]) {
    for (const f of clean.listFiles(clean.commitTreeHash(c.hash))) {
      let s = uses.get(f.hash);
      if (!s) uses.set(f.hash, (s = new Set()));
      s.add(f.path);
    }
  }
  return uses;
}

beforeAll(async () => {
  fx = await buildGitFSFixture({ dir: tempDir('gt-gitfs-corrupt-'), seed: 0xc0ffee });
  clean = openImage(fx.image, { readOnly: true });
  const head = fx.data[2]!.hash;
  const headTree = clean.commitTreeHash(head);
  const uses = blobUses();

  // 1. a raw binary blob used by one path only, in a directory with siblings
  const candidates = clean.listFiles(headTree).filter((f) => f.path.startsWith('assets/bin/') && uses.get(f.hash)!.size === 1);
  const b = candidates.find((f) => clean.locateRaw(f.hash).size >= 64)!;
  const loc = clean.locateRaw(b.hash);
  blob = { path: b.path, hash: b.hash, dir: 'assets/bin', pos: loc.lba * SECTOR_SIZE + loc.offset + (loc.size >> 1) };

  // 2. a delta base: a file changed in the second commit only, its new blob a delta on the old
  const c1Tree = clean.commitTreeHash(fx.data[0]!.hash);
  const c2Tree = clean.commitTreeHash(fx.data[1]!.hash);
  const p = fx.changedInSecond.find((x) => {
    if (fx.changedInThird.includes(x) || !x.endsWith('.txt')) return false;
    const base = clean.lookupPath(c1Tree, x)!.hash;
    const child = clean.lookupPath(c2Tree, x)!.hash;
    let childIsDelta = false;
    try {
      clean.locateRaw(child);
    } catch {
      childIsDelta = true;
    }
    return childIsDelta && uses.get(base)!.size === 1 && uses.get(child)!.size === 1;
  })!;
  const baseHash = clean.lookupPath(c1Tree, p)!.hash;
  const bl = clean.locateRaw(baseHash);
  based = { path: p, baseHash, childHash: clean.lookupPath(c2Tree, p)!.hash, pos: bl.lba * SECTOR_SIZE + bl.offset + 10 };

  // 3. the big/ subtree of the data head (data~1, data~2 and feature have other big/ trees)
  const bigHash = clean.lookupPath(headTree, fx.bigDir)!.hash;
  const tl = clean.locateRaw(bigHash);
  tree = { dir: fx.bigDir, hash: bigHash, pos: tl.lba * SECTOR_SIZE + tl.offset + 20 };

  corruptPath = join(fx.image + '.corrupt.img');
  copyFileSync(fx.image, corruptPath);
  for (const pos of [blob.pos, based.pos, tree.pos]) flipByte(corruptPath, pos);
  ({ vm } = await bootToReady({ disk: corruptPath, accel: 'tcg', snapshot: true }, 30_000));
  sh = new ShellClient(vm);
});

afterAll(async () => {
  await vm?.stop(200);
  clean?.close();
  console.log(`gitfs-corrupt: shell commands ${shellStats.commands}, re-run after serial loss: ${shellStats.retried.length}`);
});

type Mismatch = { cmd: string; expected: unknown; actual: unknown };

function describeResult(r: ShellResult): unknown {
  const err = r.events.find((e) => e.name === 'error');
  return r.status === 'ok' ? { ok: r.lines, data: r.data?.length } : { status: r.status, error: err?.line };
}

/** The command must fail with reason=hash-mismatch object=<hash>. */
async function expectMismatch(cmd: string, object: string, bad: Mismatch[]): Promise<void> {
  const miss = await runJudged(sh, cmd, (r) => {
    const err = r.events.find((e) => e.name === 'error');
    return r.status === 'error' && err?.fields.reason === 'hash-mismatch' && err.fields.object === object ? undefined : describeResult(r);
  }, shellStats);
  if (miss !== undefined) bad.push({ cmd, expected: `error reason=hash-mismatch object=${object}`, actual: miss });
}

async function expectLines(cmd: string, expected: string[], bad: Mismatch[], sorted = false): Promise<void> {
  const miss = await runJudged(sh, cmd, (r) => {
    const got = sorted ? [...r.lines].sort() : r.lines;
    return r.status === 'ok' && JSON.stringify(got) === JSON.stringify(expected) ? undefined : describeResult(r);
  }, shellStats);
  if (miss !== undefined) bad.push({ cmd, expected, actual: miss });
}

/** sha1 (and stat) of a path must equal the clean image's values. */
async function expectReadable(branchAt: string, rev: string, path: string, bad: Mismatch[]): Promise<void> {
  const data = clean.readFile(rev, path);
  const e = clean.lookupPath(clean.commitTreeHash(clean.resolveRev(rev)), path)!;
  await expectLines(`sha1 /${branchAt}/${path}`, [sha1(data)], bad);
  await expectLines(`stat /${branchAt}/${path}`, [`${e.mode} blob ${data.length} ${e.hash}`], bad);
}

function tsLsLines(rev: string, dir: string): string[] {
  return kernelLsLines(clean, rev, dir);
}

describe('kernel GitFS reader on a corrupted image (QEMU, TCG)', () => {
  it('the TS reader refuses the same objects on the corrupted copy (the corruption took)', () => {
    const img = openImage(corruptPath, { readOnly: true });
    try {
      expect(() => img.readFile('data', blob.path)).toThrow(/hash mismatch/);
      expect(() => img.readFile('data~2', based.path)).toThrow(/hash mismatch/);
      expect(() => img.readFile('data~1', based.path)).toThrow(new RegExp(based.baseHash));
      expect(() => img.readTree(tree.hash)).toThrow(/hash mismatch/);
      expect(img.readFile('data~1', `${fx.bigDir}/f000.bin`).length).toBeGreaterThan(0);
    } finally {
      img.close();
    }
  });

  it('a corrupted blob: cat, sha1 and readfile fail with hash-mismatch naming it; its siblings still read', async () => {
    const bad: Mismatch[] = [];
    for (const cmd of ['cat', 'sha1', 'readfile']) await expectMismatch(`${cmd} /data/${blob.path}`, blob.hash, bad);
    // every other file of the same directory, and cat of one of them
    const siblings = clean.listFiles(clean.commitTreeHash(fx.data[2]!.hash)).filter((f) => f.path.startsWith(blob.dir + '/') && f.path !== blob.path);
    expect(siblings.length).toBeGreaterThan(10);
    for (const s of siblings) await expectReadable('data', 'data', s.path, bad);
    const one = siblings[0]!;
    const want = clean.readFile('data', one.path);
    const miss = await runJudged(sh, `cat /data/${one.path}`, (r) => (r.data?.equals(want) ? undefined : describeResult(r)), shellStats);
    if (miss !== undefined) bad.push({ cmd: `cat /data/${one.path}`, expected: want.length, actual: miss });
    // the directory still lists (the tree is intact)
    await expectLines(`ls /data/${blob.dir}`, tsLsLines('data', blob.dir), bad, true);
    expect(bad).toEqual([]);
    const ping = await sh.run('ping');
    expect(ping.events.some((e) => e.name === 'pong')).toBe(true);
  });

  it('a corrupted delta base: the raw version and the delta-stored version both fail, naming the base', async () => {
    const bad: Mismatch[] = [];
    await expectMismatch(`sha1 /data@~2/${based.path}`, based.baseHash, bad);
    await expectMismatch(`cat /data@~1/${based.path}`, based.baseHash, bad); // stored as a delta on the base
    await expectMismatch(`sha1 /data/${based.path}`, based.baseHash, bad); // unchanged since: the same delta blob
    // the delta blob's own record is fine: stat reads only its header
    await expectLines(`stat /data@~1/${based.path}`, [`100644 blob ${clean.readFile('data~1', based.path).length} ${based.childHash}`], bad);
    expect(bad).toEqual([]);
  });

  it('a corrupted subtree: paths below it fail naming the tree; the parent, other revisions and branches do not', async () => {
    const bad: Mismatch[] = [];
    const d = tree.dir;
    await expectMismatch(`ls /data/${d}`, tree.hash, bad);
    await expectMismatch(`cat /data/${d}/f000.bin`, tree.hash, bad);
    await expectMismatch(`sha1 /data/${d}/f010.txt`, tree.hash, bad);
    await expectMismatch(`stat /data/${d}/f010.txt`, tree.hash, bad);
    // the parent tree is intact: it names the subtree without reading it
    await expectLines(`stat /data/${d}`, [`40000 tree - ${tree.hash}`], bad);
    await expectLines('ls /data', tsLsLines('data', ''), bad, true);
    // other revisions and branches have their own big/ tree
    for (const [at, rev] of [['data@~1', 'data~1'], ['data@~2', 'data~2'], ['feature', 'feature']] as const) {
      expect(clean.lookupPath(clean.commitTreeHash(clean.resolveRev(rev)), d)!.hash).not.toBe(tree.hash);
      await expectReadable(at, rev, `${d}/f000.bin`, bad);
      await expectReadable(at, rev, `${d}/f010.txt`, bad);
    }
    await expectLines(`ls /feature/${d}`, tsLsLines('feature', d), bad, true);
    // unrelated paths of the same commit, and the kernel branch
    await expectReadable('data', 'data', 'docs/guide.md', bad);
    await expectReadable('data', 'data', 'ünï cödé/日本.txt', bad);
    await expectReadable('data', 'data', 'src/core0/deep/er/still/leaf.txt', bad);
    await expectReadable('kernel', 'kernel', 'boot/kernel.bin', bad);
    await expectLines('ls /', clean.listRefs().filter((r) => r.hash !== '0'.repeat(40)).map((r) => `40000 branch ${r.hash}\t${r.name}/`).sort(), bad, true);
    expect(bad).toEqual([]);
    const ping = await sh.run('ping');
    expect(ping.events.some((e) => e.name === 'pong')).toBe(true);
  });
});
