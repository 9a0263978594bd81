// A deterministic GitFS test image for the kernel's reader: the built node image (loader,
// kernel, `boot` ref untouched) plus a `data` branch of three commits and a `feature` branch
// forked from it. Everything comes from a seeded PRNG, so the same seed gives the same files.
//
// `data`, first commit: 1,000+ files: nested directories (depth up to 5), a directory of
// 320 files (its tree stays over the split threshold: 256), a large `src/` that splits into
// subtrees at two levels, small top-level directories that stay flat, random binary files
// (with NULs), empty files, names with spaces and UTF-8, an executable and a symlink.
// Second and third commits: small edits to text files (stored as deltas, some chained), one
// mode change, added and deleted files, a whole directory removed. `feature` (from `data`):
// edits, additions (also under big/) and deletions.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../../Makefile.ts';
import { type CommitStats, type FileInput, openImage } from '../../gitfs/image.ts';
import type { ShellClient, ShellResult } from '../../emulator/shell-client.ts';

export interface FixtureFile {
  data: Buffer;
  /** 0o100644, 0o100755 or 0o120000. */
  mode: number;
}

export type FileMap = Map<string, FixtureFile>;

export interface FixtureCommit {
  branch: string;
  hash: string;
  /** The full commit message; `subject` is its first line. */
  message: string;
  subject: string;
  files: FileMap;
  stats: CommitStats;
}

export interface GitFSFixture {
  /** The fixture image (a copy of the built node image with the added branches). */
  image: string;
  /** The node image as built (untouched). */
  baseImage: string;
  kernelBin: string;
  /** `data` commits, oldest first: [initial, second, third]. */
  data: FixtureCommit[];
  /** The one commit on `feature` (its parent is the `data` head). */
  feature: FixtureCommit;
  /** Paths of the data head changed (content or mode) since the first commit, and so on. */
  changedInSecond: string[];
  changedInThird: string[];
  deletedInSecond: string[];
  deletedInThird: string[];
  addedInSecond: string[];
  addedInThird: string[];
  /** A directory that exists in the second commit but was removed whole in the third. */
  removedDir: string;
  /** The directory whose tree stays over the split threshold. */
  bigDir: string;
  /** Blobs stored as deltas over all fixture commits (from the commit stats). */
  deltas: number;
  seed: number;
}

/** mulberry32: a small, fast, seeded PRNG. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** Fisher-Yates on a copy. */
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

const WORDS = [
  'alpha', 'beta', 'gamma', 'delta', 'kernel', 'torrent', 'piece', 'tree', 'blob', 'commit', 'index', 'sector',
  'branch', 'merge', 'node', 'peer', 'hash', 'verify', 'log', 'ref', 'boot', 'disk', 'serial', 'shell', 'café',
  'naïve', 'über', '日本', 'données', 'ß', 'x', 'lorem', 'ipsum',
];
const DIR_WORDS = ['core', 'util', 'net', 'fs', 'mm', 'arch', 'x86', 'drivers', 'ata', 'tests', 'gen', 'old', 'new', 'v2', 'spec', 'impl'];

function text(rng: Prng, minBytes: number, maxBytes: number): Buffer {
  const target = rng.range(minBytes, maxBytes);
  let s = '';
  while (Buffer.byteLength(s) < target) {
    const n = rng.range(3, 12);
    const line: string[] = [];
    for (let i = 0; i < n; i++) line.push(rng.pick(WORDS));
    s += line.join(' ') + '\n';
  }
  return Buffer.from(s, 'utf8');
}

function binary(rng: Prng, minBytes: number, maxBytes: number): Buffer {
  const b = rng.bytes(rng.range(minBytes, maxBytes));
  // runs of NULs, like real binaries
  for (let k = 0; k < 4 && b.length > 16; k++) {
    const at = rng.int(b.length - 16);
    b.fill(0, at, at + rng.range(1, 16));
  }
  if (b.length > 0) b[rng.int(b.length)] = 0;
  return b;
}

/** A small edit of a text file: a changed word somewhere and a line appended (delta-friendly). */
function edit(rng: Prng, data: Buffer, tag: string): Buffer {
  const s = data.toString('utf8');
  const at = rng.int(Math.max(1, s.length - 10));
  const sp = s.indexOf(' ', at);
  const cut = sp < 0 ? s.length : sp;
  return Buffer.from(s.slice(0, cut) + ` ${tag}` + s.slice(cut) + `edited ${tag}\n`, 'utf8');
}

function cloneMap(m: FileMap): FileMap {
  return new Map([...m].map(([k, v]) => [k, { data: v.data, mode: v.mode }]));
}

function toInputs(m: FileMap): FileInput[] {
  return [...m.entries()].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))).map(([path, f]) => ({ path, data: f.data, mode: f.mode }));
}

/** The first commit's files. */
function initialFiles(rng: Prng, bigDir: string): FileMap {
  const m: FileMap = new Map();
  const add = (path: string, data: Buffer, mode = 0o100644) => {
    if (m.has(path)) return false;
    // a file and a directory of the same name cannot coexist
    for (const p of m.keys()) if (p.startsWith(path + '/') || path.startsWith(p + '/')) return false;
    m.set(path, { data, mode });
    return true;
  };
  // fixed, named files
  add('README.md', text(rng, 400, 1200));
  add('empty.txt', Buffer.alloc(0));
  add('docs/été/naïve file.txt', Buffer.from('Ceci est un fichier naïf, en été.\n'.repeat(8), 'utf8'));
  add('docs/été/empty', Buffer.alloc(0));
  add('docs/guide.md', text(rng, 3000, 5000));
  add('docs/été.txt', text(rng, 100, 300)); // sorts before "docs/été/" ('.' < '/')
  add('ünï cödé/日本.txt', Buffer.from('日本語のテキスト\n'.repeat(20), 'utf8'));
  add('ünï cödé/a b/c d/e f.txt', text(rng, 50, 200));
  add('bin/run.sh', Buffer.from('#!/bin/sh\necho "hello from gitfs"\nexit 0\n'), 0o100755);
  add('bin/tool', binary(rng, 2000, 4000), 0o100755);
  add('link-to-readme', Buffer.from('README.md'), 0o120000);
  add('docs/latest', Buffer.from('été/naïve file.txt'), 0o120000);
  add('assets/zeros.bin', Buffer.alloc(3000));
  add('assets/nul-start.bin', Buffer.concat([Buffer.alloc(1), Buffer.from('after a NUL\n')]));
  add('misc data/x', Buffer.from('x'));
  add('misc data/one space .txt', text(rng, 10, 80));
  // the big directory: 320 plain files (its tree stays over the threshold)
  for (let i = 0; i < 320; i++) {
    const name = `${bigDir}/f${String(i).padStart(3, '0')}${i % 7 === 0 ? '.bin' : '.txt'}`;
    add(name, i % 7 === 0 ? binary(rng, 16, 600) : i % 23 === 5 ? Buffer.alloc(0) : text(rng, 20, 400));
  }
  // src/: a deep hierarchy, big enough to split at two levels
  const srcDirs: string[] = [];
  const grow = (prefix: string, depth: number) => {
    srcDirs.push(prefix);
    if (depth >= 5) return;
    const kids = depth === 1 ? 5 : rng.range(0, 3);
    for (let i = 0; i < kids; i++) grow(`${prefix}/${depth === 1 && i === 0 ? 'core' : rng.pick(DIR_WORDS)}${depth === 1 ? i : ''}`, depth + 1);
  };
  grow('src', 1);
  const uniqueSrc = [...new Set(srcDirs)];
  // src/core0 gets most files so that it splits inside src's tree too
  let n = 0;
  while (n < 560) {
    const dir = n < 300 ? (rng.next() < 0.7 ? 'src/core0' : rng.pick(uniqueSrc.filter((d) => d.startsWith('src/core0')))) : rng.pick(uniqueSrc);
    const kind = rng.int(10);
    const ext = kind < 6 ? '.txt' : kind < 9 ? '.bin' : '.empty';
    const name = `${dir}/${rng.pick(WORDS)}-${n}${ext}`;
    const data = kind < 6 ? text(rng, 64, 3000) : kind < 9 ? binary(rng, 1, 6000) : Buffer.alloc(0);
    if (add(name, data)) n++;
  }
  // lib/: medium, a few levels
  for (let i = 0; i < 120; i++) {
    const depth = rng.range(1, 4);
    const parts = ['lib'];
    for (let d = 1; d < depth; d++) parts.push(rng.pick(DIR_WORDS.slice(0, 6)));
    add(`${parts.join('/')}/m${i}.txt`, text(rng, 64, 1500));
  }
  // tools/: a directory that the third commit removes whole
  for (let i = 0; i < 6; i++) add(`tools/gen/t${i}.txt`, text(rng, 30, 300));
  // assets/bin: binary files
  for (let i = 0; i < 40; i++) add(`assets/bin/blob${i}.bin`, binary(rng, 1, 12_000));
  return m;
}

const TIME0 = 1_700_000_000;

/**
 * Builds the node image (unless `baseImage` is given), copies it to `dir/gitfs-fixture.img` and
 * adds the `data` and `feature` branches. Deterministic for a seed (commit times are fixed).
 */
export async function buildGitFSFixture(opts: { dir: string; seed?: number; baseImage?: string; kernelBin?: string }): Promise<GitFSFixture> {
  const seed = opts.seed ?? 0x617f5;
  let baseImage = opts.baseImage;
  let kernelBin = opts.kernelBin ?? '';
  if (!baseImage) {
    const out = await build({ outDir: join(opts.dir, 'out') });
    baseImage = out.image;
    kernelBin = out.kernel;
  }
  const image = join(opts.dir, 'gitfs-fixture.img');
  copyFileSync(baseImage, image);
  const rng = new Prng(seed);
  const bigDir = 'big';
  const removedDir = 'tools';
  const who = (i: number) => ({ name: 'Fixture Author', email: 'fixture@example.com', time: TIME0 + i * 60, tz: '+0000' });

  const img = openImage(image);
  try {
    const commit = (branch: string, files: FileMap, message: string, i: number, from?: string): FixtureCommit => {
      const stats: CommitStats = { files: 0, storedBlobs: 0, deltas: 0, reusedBlobs: 0, bytesWritten: 0 };
      const hash = img.commitTree(branch, toInputs(files), { message, author: who(i), committer: who(i), ...(from ? { from } : {}) }, stats);
      return { branch, hash, message, subject: message.split('\n')[0]!, files: cloneMap(files), stats };
    };

    // 1: initial
    const f1 = initialFiles(rng, bigDir);
    const c1 = commit('data', f1, 'data: initial import', 1);

    // 2: edits (delta-friendly), a mode change, additions, deletions
    const f2 = cloneMap(f1);
    const textPaths = [...f1.keys()].filter((p) => f1.get(p)!.mode === 0o100644 && p.endsWith('.txt') && f1.get(p)!.data.length >= 600).sort();
    const changed2 = rng.shuffle(textPaths).slice(0, 24);
    changed2.push('docs/guide.md');
    for (const p of changed2) f2.set(p, { data: edit(rng, f2.get(p)!.data, 'v2'), mode: 0o100644 });
    f2.set('misc data/x', { data: Buffer.from('x'), mode: 0o100755 }); // mode only
    changed2.push('misc data/x');
    f2.set('assets/zeros.bin', { data: Buffer.concat([Buffer.alloc(2999), Buffer.from([1])]), mode: 0o100644 });
    changed2.push('assets/zeros.bin');
    const deletable = [...f1.keys()].filter((p) => !changed2.includes(p) && (p.startsWith('src/') || p.startsWith('lib/'))).sort();
    const deleted2 = rng.shuffle(deletable).slice(0, 10);
    deleted2.push(`${bigDir}/f001.txt`);
    for (const p of deleted2) f2.delete(p);
    const added2: string[] = [];
    for (let i = 0; i < 10; i++) {
      const p = i < 8 ? `src/added2/n${i}.txt` : `new in v2/ü${i}.bin`;
      f2.set(p, { data: i < 8 ? text(rng, 50, 900) : binary(rng, 100, 900), mode: 0o100644 });
      added2.push(p);
    }
    const c2 = commit('data', f2, 'data: second commit\n\nEdits 25 text files, changes a mode, adds and deletes files.\n', 2);

    // 3: more edits (some of the same files again: delta chains), deletions, a removed dir, additions
    const f3 = cloneMap(f2);
    const changed3 = [...changed2.filter((p) => p.endsWith('.txt') || p.endsWith('.md')).slice(0, 6)];
    const more = rng.shuffle([...f2.keys()].filter((p) => f2.get(p)!.mode === 0o100644 && p.endsWith('.txt') && f2.get(p)!.data.length >= 600 && !changed3.includes(p)).sort()).slice(0, 8);
    changed3.push(...more);
    changed3.push(`${bigDir}/f002.txt`);
    for (const p of changed3) f3.set(p, { data: edit(rng, f3.get(p)!.data, 'v3'), mode: 0o100644 });
    const deleted3 = rng.shuffle([...f2.keys()].filter((p) => p.startsWith('src/') && !changed3.includes(p) && !added2.includes(p)).sort()).slice(0, 5);
    deleted3.push(`${bigDir}/f003.txt`);
    for (const p of [...f2.keys()]) if (p.startsWith(removedDir + '/')) deleted3.push(p);
    for (const p of deleted3) f3.delete(p);
    const added3 = ['src/core0/deep/er/still/leaf.txt', 'ünï cödé/nëw.txt', `${bigDir}/zz-added.txt`];
    for (const p of added3) f3.set(p, { data: text(rng, 100, 700), mode: 0o100644 });
    const c3 = commit('data', f3, 'data: third commit (edits again, removes tools/)', 3);

    // feature: forked from data
    const ff = cloneMap(f3);
    for (const p of ['docs/guide.md', `${bigDir}/f004.txt`, ...rng.shuffle([...f3.keys()].filter((p) => p.startsWith('lib/')).sort()).slice(0, 3)]) {
      ff.set(p, { data: edit(rng, ff.get(p)!.data, 'feature'), mode: ff.get(p)!.mode });
    }
    for (const p of ['feature/only/here.txt', `${bigDir}/feature.bin`, 'docs/été/feature note.txt']) ff.set(p, { data: text(rng, 30, 500), mode: 0o100644 });
    ff.delete('README.md');
    ff.delete('src/added2/n0.txt');
    const cf = commit('feature', ff, 'feature: work on a branch', 4, 'data');

    const deltas = [c1, c2, c3, cf].reduce((s, c) => s + c.stats.deltas, 0);
    return {
      image, baseImage, kernelBin, data: [c1, c2, c3], feature: cf,
      changedInSecond: changed2, changedInThird: changed3, deletedInSecond: deleted2, deletedInThird: deleted3,
      addedInSecond: added2, addedInThird: added3, removedDir, bigDir, deltas, seed,
    };
  } finally {
    img.close();
  }
}

/** Every directory (each proper prefix of a path), "" excluded, sorted. */
export function directoriesOf(files: Iterable<string>): string[] {
  const dirs = new Set<string>();
  for (const p of files) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

/**
 * Runs a shell command and judges its result; re-runs it (up to `tries` times) only on a
 * measured cause: the kernel counted serial bytes it dropped (`ping` reports tx_dropped; its
 * serial_putc drops bytes when QEMU's chardev stays busy, kernel-asm/lib/serial_out.asm) while
 * the command ran. A mismatch, or a lost end marker, with no bytes dropped is returned at once:
 * an intermittent kernel bug fails instead of passing on a later try.
 * `judge` returns undefined when the result is right, else a description of the mismatch.
 */
export async function runJudged(
  sh: ShellClient,
  cmd: string,
  judge: (r: ShellResult) => unknown,
  stats: { commands: number; retried: string[] },
  opts: { tries?: number; timeoutMs?: number } = {},
): Promise<unknown> {
  const tries = opts.tries ?? 4;
  let last: unknown;
  let before = await txDropped(sh);
  for (let i = 0; i < tries; i++) {
    stats.commands++;
    let r: ShellResult | undefined;
    try {
      r = await sh.run(cmd, { timeoutMs: opts.timeoutMs ?? 30_000 });
    } catch (e) {
      last = `no end marker: ${(e as Error).message}`;
      await resync(sh);
    }
    if (r) {
      last = judge(r);
      if (last === undefined) {
        if (i > 0) stats.retried.push(cmd);
        return undefined;
      }
    }
    const after = await txDropped(sh);
    if (after === before) return last; // nothing lost on the way: a real disagreement
    before = after;
  }
  return last;
}

/** The kernel's count of serial bytes dropped so far (`ping`'s tx_dropped). */
export async function txDropped(sh: ShellClient): Promise<number> {
  const r = await sh.run('ping', { timeoutMs: 10_000 });
  const pong = r.events.find((e) => e.name === 'pong');
  const n = Number(pong?.fields.tx_dropped);
  if (r.status !== 'ok' || !Number.isInteger(n)) throw new Error(`ping did not report tx_dropped: ${r.events.map((e) => e.line).join(' | ')}`);
  return n;
}

/** After a lost end marker (or a short payload that swallowed one): ping until the shell answers. */
export async function resync(sh: ShellClient): Promise<void> {
  for (let i = 0; i < 20; i++) {
    try {
      const r = await sh.run('ping', { timeoutMs: 1_500 });
      if (r.status === 'ok' && r.events.some((e) => e.name === 'pong')) return;
    } catch {
      // keep pinging
    }
  }
  throw new Error('the kernel shell does not answer ping any more');
}
