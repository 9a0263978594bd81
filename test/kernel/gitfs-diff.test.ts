// Differential test of the kernel's GitFS reader (kernel-asm/lib/gitfs.asm, kernel/fs*.asm)
// against the TypeScript store (gitfs/image.ts) on one image: the fixture of
// test/helpers/gitfs-fixture.ts (1,000+ files, split and flat trees, deltas, UTF-8 names,
// history, a forked branch). One VM for the whole file. For every directory the kernel's `ls`
// must equal what the host's listing (lsImage in gitfs/ls.ts, what `image ls` prints) derives
// from the TS reader; for every file `stat` and `sha1` must equal the host's values; and the TS reader
// itself must return the files the fixture wrote (so both readers are checked against the
// source of truth, not only against each other).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient, type ShellResult } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { type GitFSImage, openImage } from '../../gitfs/image.ts';
import { isTreeMode } from '../../gitfs/tree.ts';
import { isNodeLocalRef } from '../../gitfs/refs.ts';
import { BOOT_LOG_REF } from '../../gitfs/layout.ts';
import { buildGitFSFixture, directoriesOf, type FileMap, type GitFSFixture, kernelLsLines, runJudged } from '../helpers/gitfs-fixture.ts';
import { tempDir } from '../helpers/tmp.ts';

let fx: GitFSFixture;
let img: GitFSImage;
let vm: Vm | undefined;
let sh: ShellClient;
const timings: Record<string, number> = {};

beforeAll(async () => {
  const t0 = Date.now();
  fx = await buildGitFSFixture({ dir: tempDir('gt-gitfs-diff-') });
  timings.fixtureMs = Date.now() - t0;
  img = openImage(fx.image, { readOnly: true });
  const t1 = Date.now();
  ({ vm } = await bootToReady({ disk: fx.image, accel: 'tcg', snapshot: true }, 30_000));
  timings.bootMs = Date.now() - t1;
  sh = new ShellClient(vm);
});

afterAll(async () => {
  await vm?.stop(200);
  img?.close();
  console.log(`gitfs-diff timings: ${JSON.stringify(timings)}; shell commands ${shellStats.commands}, re-run after serial loss: ${shellStats.retried.length}${shellStats.retried.length ? ' (' + shellStats.retried.slice(0, 5).join('; ') + ')' : ''}`);
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const modeOct = (m: number) => m.toString(8);

/** Kernel path for a revision: `/data/...`, `/data@~1/...`, `/data@<hash>/...`. */
function kpath(branch: string, at: string | undefined, path: string): string {
  return `/${branch}${at !== undefined ? '@' + at : ''}${path ? '/' + path : ''}`;
}

/** The TS revision for the same: `data`, `data~1`, `<hash>`, `NAME~N`. */
function tsRev(branch: string, at: string | undefined): string {
  if (at === undefined) return branch;
  return at.startsWith('~') ? branch + at : at;
}

/** Expected `ls` lines: what the host's listing (lsImage, gitfs/ls.ts) gives for the same directory. */
function tsLs(rev: string, dir: string): string[] {
  return kernelLsLines(img, rev, dir);
}

/** Expected `stat` line for a file or directory. */
function tsStat(rev: string, path: string): string {
  const tree = img.commitTreeHash(img.resolveRev(rev));
  const e = img.lookupPath(tree, path);
  if (!e) return '40000 tree - -'; // a flat directory (callers only ask for existing paths)
  if (isTreeMode(e.mode)) return `40000 tree - ${e.hash}`;
  if (e.mode === '160000') return `160000 commit - ${e.hash}`;
  return `${e.mode} blob ${img.readFile(rev, path).length} ${e.hash}`;
}

type Mismatch = { cmd: string; expected: unknown; actual: unknown };
/** Commands sent, and those that needed a re-run (serial bytes lost on the way: see runJudged). */
const shellStats = { commands: 0, retried: [] as string[] };

function okLines(r: ShellResult): string[] | string {
  return r.status === 'ok' ? r.lines : `status=${r.status} reason=${r.error ?? '?'} ${r.events.map((e) => e.line).join(' | ')}`;
}

/** Runs `cmd` and records a mismatch when its output lines (optionally sorted) differ from `expected`. */
async function checkLines(cmd: string, expected: string[], bad: Mismatch[], opts: { sorted?: boolean } = {}): Promise<void> {
  const miss = await runJudged(sh, cmd, (r) => {
    const actual = okLines(r);
    const got = Array.isArray(actual) && opts.sorted ? [...actual].sort() : actual;
    return JSON.stringify(got) === JSON.stringify(expected) ? undefined : actual;
  }, shellStats);
  if (miss !== undefined) bad.push({ cmd, expected, actual: miss });
}

async function checkLs(branch: string, at: string | undefined, dir: string, bad: Mismatch[]): Promise<void> {
  await checkLines(`ls ${kpath(branch, at, dir)}`, tsLs(tsRev(branch, at), dir), bad, { sorted: true });
}

async function checkFile(branch: string, at: string | undefined, path: string, truth: FileMap | undefined, bad: Mismatch[]): Promise<void> {
  const rev = tsRev(branch, at);
  const data = img.readFile(rev, path);
  if (truth) {
    // the TS reader against the fixture's source of truth
    const f = truth.get(path);
    const e = img.lookupPath(img.commitTreeHash(img.resolveRev(rev)), path);
    if (!f || !f.data.equals(data) || e?.mode !== modeOct(f.mode)) bad.push({ cmd: `TS readFile ${rev}:${path}`, expected: f && { mode: modeOct(f.mode), size: f.data.length }, actual: { mode: e?.mode, size: data.length } });
  }
  const p = kpath(branch, at, path);
  await checkLines(`stat ${p}`, [tsStat(rev, path)], bad);
  await checkLines(`sha1 ${p}`, [sha1(data)], bad);
}

async function checkCat(cmd: string, want: Buffer, bad: Mismatch[]): Promise<void> {
  const miss = await runJudged(sh, cmd, (r) => (r.status === 'ok' && r.data?.equals(want) ? undefined : r.data ? { size: r.data.length, sha1: sha1(r.data) } : okLines(r)), shellStats);
  if (miss !== undefined) bad.push({ cmd, expected: { size: want.length, sha1: sha1(want) }, actual: miss });
}

async function expectError(cmd: string, reason: string, bad: Mismatch[]): Promise<void> {
  const miss = await runJudged(sh, cmd, (r) => (r.status === 'error' && r.error === reason ? undefined : okLines(r)), shellStats);
  if (miss !== undefined) bad.push({ cmd, expected: `error ${reason}`, actual: miss });
}

describe('kernel GitFS reader vs the TS reader (QEMU, TCG)', () => {
  it('the fixture has the shapes the test is about', () => {
    const head = fx.data[2]!;
    expect(head.files.size).toBeGreaterThanOrEqual(1000);
    expect(fx.deltas).toBeGreaterThan(0);
    // a delta-stored blob really is one: locateRaw refuses it
    const changed = fx.changedInSecond.find((p) => p.endsWith('.txt'))!;
    const blob = img.lookupPath(img.commitTreeHash(fx.data[1]!.hash), changed)!.hash;
    expect(() => img.locateRaw(blob)).toThrow(/not stored raw/);
    // split trees: big/ (over the threshold even alone) and src/ at the root, src/core0 inside src
    const root = img.readTree(img.commitTreeHash(head.hash));
    const big = root.find((e) => e.name === fx.bigDir);
    expect(big && isTreeMode(big.mode)).toBe(true);
    expect(img.readTree(big!.hash).length).toBeGreaterThan(256);
    const src = root.find((e) => e.name === 'src')!;
    expect(img.readTree(src.hash).some((e) => e.name === 'core0' && isTreeMode(e.mode))).toBe(true);
    // flat directories too, and the special files
    expect(root.some((e) => e.name.startsWith('docs/'))).toBe(true);
    expect(head.files.get('bin/run.sh')!.mode).toBe(0o100755);
    expect(head.files.get('link-to-readme')!.mode).toBe(0o120000);
    expect(directoriesOf(head.files.keys()).some((d) => d.split('/').length >= 5)).toBe(true);
  });

  it('ls /, rev, log and branches agree with the TS reader', async () => {
    const bad: Mismatch[] = [];
    const refs = img.listRefs().filter((r) => r.hash !== '0'.repeat(40));
    await checkLines('ls /', refs.map((r) => `40000 branch ${r.hash}\t${r.name}/`).sort(), bad, { sorted: true });
    await checkLines('rev', [img.revision()!], bad);
    const newestFirst = [...fx.data].reverse();
    // the TS history says the same as the fixture
    expect(img.log('data', { firstParent: true }).map((e) => e.hash)).toEqual(newestFirst.map((c) => c.hash));
    await checkLines('log data', newestFirst.map((c) => `${c.hash}\t${c.subject}`), bad);
    await checkLines('log feature', [fx.feature, ...newestFirst].map((c) => `${c.hash}\t${c.subject}`), bad);
    await checkLines(`log ${fx.data[1]!.hash.slice(0, 10)}`, newestFirst.slice(1).map((c) => `${c.hash}\t${c.subject}`), bad);
    // branches: "<name>\t<kind>\t<hash>\t<forked-from|->\t<boot state>", slot order
    const all = img.listRefs();
    await checkLines('branches', all.map((r) => `${r.name}\t${r.kind}\t${r.hash}\t${r.forkedFrom ?? '-'}\t${r.state}`), bad);
    expect(all.find((r) => r.name === 'feature')?.forkedFrom).toBe('data');
    // the mainline log's tree: every ref as a gitlink (mode 160000, type commit)
    await checkLs('mainline', undefined, '', bad);
    expect(bad).toEqual([]);
  });

  it('every directory of /data (head, ~1, ~2) lists and stats as the TS reader says', async () => {
    const t = Date.now();
    const bad: Mismatch[] = [];
    let n = 0;
    for (const [i, at] of [[2, undefined], [1, '~1'], [0, '~2']] as const) {
      const dirs = ['', ...directoriesOf(fx.data[i]!.files.keys())];
      for (const d of dirs) {
        await checkLs('data', at, d, bad);
        n++;
        if (d) await checkLines(`stat ${kpath('data', at, d)}`, [tsStat(tsRev('data', at), d)], bad);
      }
    }
    // a trailing slash and repeated leading slashes are the same directory
    const dir = 'docs/été';
    await checkLines(`ls //data/${dir}/`, tsLs('data', dir), bad, { sorted: true });
    timings.dirsMs = Date.now() - t;
    timings.dirs = n;
    expect(bad).toEqual([]);
    expect(n).toBeGreaterThan(250);
  });

  it('every file of /data: ls, stat (mode, size, hash) and the kernel-computed sha1 equal the host', async () => {
    const t = Date.now();
    const bad: Mismatch[] = [];
    const head = fx.data[2]!;
    for (const path of [...head.files.keys()].sort()) await checkFile('data', undefined, path, head.files, bad);
    // `ls` of a file: the one entry, full path as the name
    for (const path of ['README.md', 'bin/run.sh', 'link-to-readme', 'ünï cödé/日本.txt', `${fx.bigDir}/f000.bin`, 'src/core0/deep/er/still/leaf.txt']) {
      await checkLs('data', undefined, path, bad);
    }
    timings.filesMs = Date.now() - t;
    timings.files = head.files.size;
    expect(bad).toEqual([]);
  });

  it('cat returns the exact bytes: binary, empty, NULs, UTF-8 names, symlink, executable, delta-stored', async () => {
    const head = fx.data[2]!.files;
    const bin = [...head.keys()].filter((p) => p.startsWith('assets/bin/')).sort().slice(0, 3);
    const deltaPath = fx.changedInThird.find((p) => p.endsWith('.txt'))!;
    const paths = [
      ...bin, 'assets/zeros.bin', 'assets/nul-start.bin', 'empty.txt', 'docs/été/empty', 'docs/été/naïve file.txt', 'ünï cödé/日本.txt',
      'ünï cödé/a b/c d/e f.txt', 'link-to-readme', 'bin/run.sh', 'bin/tool', deltaPath, `${fx.bigDir}/f000.bin`,
    ];
    const bad: Mismatch[] = [];
    for (const p of paths) {
      await checkCat(`cat /data/${p}`, head.get(p)!.data, bad);
    }
    expect(bad).toEqual([]);
  });

  it('history: ~1, ~2, an abbreviated hash and NAME~N show old contents; deleted files are gone now but present in history', async () => {
    const t = Date.now();
    const bad: Mismatch[] = [];
    const [c1, c2, c3] = fx.data as [typeof fx.data[0], typeof fx.data[0], typeof fx.data[0]];
    // the shortest abbreviation (>= 8 digits) that is unique among all objects
    const ids = img.objectIds();
    const abbrev = (h: string) => {
      for (let n = 8; n <= 40; n++) if (ids.filter((x) => x.startsWith(h.slice(0, n))).length === 1) return h.slice(0, n);
      return h;
    };
    const revs: Array<{ at: string | undefined; c: typeof c1 }> = [
      { at: '~1', c: c2 }, { at: '~2', c: c1 }, { at: abbrev(c1.hash), c: c1 }, { at: abbrev(c2.hash), c: c2 },
      { at: c3.hash, c: c3 }, { at: 'data~2', c: c1 }, { at: 'data', c: c3 },
    ];
    const touched = [...new Set([...fx.changedInSecond, ...fx.changedInThird, ...fx.deletedInSecond, ...fx.deletedInThird, ...fx.addedInSecond, ...fx.addedInThird])].sort();
    for (const { at, c } of revs) {
      for (const p of touched) {
        if (c.files.has(p)) await checkFile('data', at, p, c.files, bad);
        else await expectError(`stat ${kpath('data', at, p)}`, 'not-found', bad);
      }
    }
    // the old bytes themselves, through the time machine
    for (const [at, c] of [['~1', c2], ['~2', c1]] as const) {
      for (const p of [fx.changedInSecond.find((x) => x.endsWith('.txt'))!, fx.deletedInSecond[0]!, 'docs/guide.md']) {
        if (!c.files.has(p)) continue;
        await checkCat(`cat ${kpath('data', at, p)}`, c.files.get(p)!.data, bad);
      }
    }
    // deleted: not-found at the head, present (and equal) in history
    for (const p of fx.deletedInThird) {
      await expectError(`sha1 /data/${p}`, 'not-found', bad);
      await expectError(`cat /data/${p}`, 'not-found', bad);
      await checkLines(`sha1 /data@~1/${p}`, [sha1(c2.files.get(p)!.data)], bad);
    }
    // the removed directory
    await expectError(`ls /data/${fx.removedDir}`, 'not-found', bad);
    await checkLs('data', '~1', fx.removedDir, bad);
    // a mode change only (same blob): mode differs between ~1/~2
    const xHash = img.lookupPath(img.commitTreeHash(c1.hash), 'misc data/x')!.hash;
    await checkLines('stat /data@~2/misc data/x', [`100644 blob 1 ${xHash}`], bad);
    await checkLines('stat /data@~1/misc data/x', [`100755 blob 1 ${xHash}`], bad);
    // bad revisions
    await expectError('ls /data@~3/', 'not-found', bad); // past the root commit
    await expectError('ls /data@0000000/', 'not-found', bad);
    await expectError('ls /nosuchbranch/', 'not-found', bad);
    timings.historyMs = Date.now() - t;
    expect(bad).toEqual([]);
  });

  it('a sample of /feature: directories, changed and added files, files it deleted', async () => {
    const bad: Mismatch[] = [];
    const f = fx.feature.files;
    const dirs = ['', ...directoriesOf(f.keys())];
    for (const d of dirs.filter((_, i) => i % 4 === 0).concat(['docs/été', fx.bigDir, 'feature/only', 'lib'])) await checkLs('feature', undefined, d, bad);
    const sample = [...f.keys()].sort().filter((_, i) => i % 10 === 0);
    const changed = [...f.keys()].filter((p) => !fx.data[2]!.files.get(p)?.data.equals(f.get(p)!.data));
    for (const p of [...new Set([...sample, ...changed])]) await checkFile('feature', undefined, p, f, bad);
    await expectError('stat /feature/README.md', 'not-found', bad);
    await checkFile('feature', '~1', 'README.md', fx.data[2]!.files, bad); // its parent is the data head
    expect(changed.length).toBeGreaterThanOrEqual(8);
    expect(bad).toEqual([]);
  });

  it('errors: not-found, not-a-file; the shell still answers', async () => {
    const bad: Mismatch[] = [];
    await expectError('cat /data/docs', 'not-a-file', bad);
    await expectError(`sha1 /data/${fx.bigDir}`, 'not-a-file', bad);
    await expectError('cat /data/', 'not-a-file', bad);
    await expectError('cat /data/no/such/file', 'not-found', bad);
    await expectError('ls /data/docs/été/naïve', 'not-found', bad); // a prefix of a name is not a directory
    await expectError('stat /data/READ', 'not-found', bad);
    await expectError('ls data', 'not-found', bad); // paths are absolute
    expect(bad).toEqual([]);
    const ping = await sh.run('ping');
    expect(ping.status).toBe('ok');
    // bytes lost on the serial line (see runJudged) are retried, never hidden as a pass: a
    // command that needed every try fails its check above
    expect(shellStats.retried.length).toBeLessThan(shellStats.commands / 20);
  });

  // Two disagreements this test found (both fixed in the kernel): `log REF N` ignored N, and a
  // gitlink's type was printed as blob by `stat` and single-entry `ls`.
  it('`log REF N` prints at most N commits', async () => {
    const bad: Mismatch[] = [];
    await checkLines('log data 1', [`${fx.data[2]!.hash}\t${fx.data[2]!.subject}`], bad);
    await checkLines('log data 2', [...fx.data].reverse().slice(0, 2).map((c) => `${c.hash}\t${c.subject}`), bad);
    expect(bad).toEqual([]);
  });

  it('`stat` and `ls` of a gitlink print type commit', async () => {
    const bad: Mismatch[] = [];
    // the mainline tree lists the cluster refs; the node-local ones are in the boot-log's tree
    for (const r of img.listRefs().filter((x) => x.name !== 'mainline' && x.name !== BOOT_LOG_REF && x.hash !== '0'.repeat(40))) {
      const log = isNodeLocalRef(r.name) ? BOOT_LOG_REF : 'mainline';
      await checkLines(`stat /${log}/${r.name}`, [tsStat(log, r.name)], bad); // "160000 commit - <hash>"
      await checkLs(log, undefined, r.name, bad); // "160000 commit <hash>\t<name>"
    }
    expect(bad).toEqual([]);
  });
});
