// Import from and export to real git repositories, keeping object hashes.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { execa } from 'execa';
import { BadInputError, NotFoundError, ToolError } from '../core/errors.ts';
import { type Progress, silentProgress } from '../core/progress.ts';
import { decodeCommit, encodeCommit } from './commit.ts';
import type { GitFSImage } from './image.ts';
import { hashObject, isObjectType, type ObjectType, ZERO_HASH } from './objects.ts';
import { buildTree, isTreeMode, MODE_GITLINK } from './tree.ts';

async function git(args: string[], opts: { cwd?: string; input?: Buffer | string } = {}): Promise<Buffer> {
  try {
    const r = await execa('git', args, { cwd: opts.cwd, input: opts.input, encoding: 'buffer', maxBuffer: 2 ** 31 - 1, stripFinalNewline: false });
    return Buffer.from(r.stdout);
  } catch (e) {
    const err = e as { code?: string; stderr?: Uint8Array | string; shortMessage?: string };
    if (err.code === 'ENOENT') throw new ToolError('git is not installed');
    const msg = Buffer.from(err.stderr ?? '').toString().trim().split('\n')[0] ?? '';
    throw new ToolError(`git ${args[0]} failed: ${msg || err.shortMessage || 'error'}`);
  }
}

export async function gitDirOf(dir: string): Promise<string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BadInputError(`${dir}: not a directory`);
  try {
    const r = await execa('git', ['rev-parse', '--absolute-git-dir'], { cwd: dir });
    return r.stdout.trim();
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw new ToolError('git is not installed');
    throw new BadInputError(`${dir}: not a git repository`);
  }
}

/** Parses `git cat-file --batch` output. */
export function* parseCatFileBatch(out: Buffer): Generator<{ hash: string; type: ObjectType; data: Buffer }> {
  let p = 0;
  while (p < out.length) {
    const nl = out.indexOf(0x0a, p);
    if (nl < 0) throw new ToolError('git cat-file: truncated output');
    const line = out.toString('utf8', p, nl);
    const [hash, type, size] = line.split(' ');
    if (type === 'missing' || !hash || !type || !size || !isObjectType(type)) throw new ToolError(`git cat-file: unexpected line ${JSON.stringify(line)}`);
    const n = Number(size);
    const data = out.subarray(nl + 1, nl + 1 + n);
    p = nl + 1 + n + 1;
    yield { hash, type, data };
  }
}

export interface ImportResult {
  branches: Array<{ name: string; hash: string }>;
  objects: number;
  stored: number;
}

/** Imports branches (default: all) of a git repository, keeping every object hash. */
export async function importGit(img: GitFSImage, repo: string, opts: { branches?: string[]; progress?: Progress } = {}): Promise<ImportResult> {
  const progress = opts.progress ?? silentProgress;
  await gitDirOf(repo);
  const refsOut = (await git(['for-each-ref', '--format=%(refname:short) %(objectname) %(objecttype)', 'refs/heads/'], { cwd: repo })).toString();
  const heads = new Map<string, string>();
  for (const line of refsOut.split('\n')) {
    const [name, hash, type] = line.split(' ');
    if (name && hash && type === 'commit') heads.set(name, hash);
  }
  const wanted = opts.branches && opts.branches.length > 0 ? opts.branches : [...heads.keys()].sort();
  if (wanted.length === 0) throw new NotFoundError(`${repo}: the repository has no branches`);
  const branches = wanted.map((b) => {
    const h = heads.get(b);
    if (!h) throw new NotFoundError(`${repo}: no branch ${b}`);
    return { name: b === 'mainline' ? 'git-mainline' : b, hash: h };
  });
  progress.start(`listing objects of ${branches.length} branch(es)`);
  const list = (await git(['rev-list', '--objects', ...new Set(branches.map((b) => b.hash))], { cwd: repo })).toString();
  const hashes = list.split('\n').map((l) => l.slice(0, 40)).filter((h) => h.length === 40 && !img.hasObject(h));
  progress.update(`reading ${hashes.length} objects`);
  const out = hashes.length > 0 ? await git(['cat-file', '--batch'], { cwd: repo, input: hashes.join('\n') + '\n' }) : Buffer.alloc(0);
  let done = 0;
  const stored = img.importObjects(parseCatFileBatch(out), branches.map((b) => ({ name: b.name, hash: b.hash, kind: 'branch' as const })), () => {
    if (++done % 1000 === 0) progress.update(`stored ${done}/${hashes.length} objects`);
  });
  progress.succeed(`imported ${branches.length} branch(es), ${stored} new objects`);
  return { branches, objects: hashes.length, stored };
}

export interface ExportResult {
  gitDir: string;
  objects: number;
  refs: Array<{ ref: string; hash: string }>;
  strict: boolean;
}

function looseObjectWriter(gitDir: string) {
  const made = new Set<string>();
  let count = 0;
  return {
    write(type: ObjectType, data: Buffer, hash?: string): string {
      const h = hash ?? hashObject(type, data);
      const dir = join(gitDir, 'objects', h.slice(0, 2));
      const file = join(dir, h.slice(2));
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      if (!existsSync(file)) {
        writeFileSync(file, deflateSync(Buffer.concat([Buffer.from(`${type} ${data.length}\0`), data]), { level: 1 }));
        count++;
      }
      return h;
    },
    get count() {
      return count;
    },
  };
}

/**
 * Writes the image's objects and refs into a git repository (created if needed). Branches, boot
 * and mainline become refs/heads/*, refs to non-commits refs/tags/*. With `strict`, every tree is
 * split git's way, so commits get new hashes and `git fsck --strict` is clean.
 */
export async function exportGit(img: GitFSImage, dir: string, opts: { strict?: boolean; progress?: Progress } = {}): Promise<ExportResult> {
  const progress = opts.progress ?? silentProgress;
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new BadInputError(`${dir}: not a directory`);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, '.git')) && !existsSync(join(dir, 'HEAD'))) await git(['init', '-q', dir]);
  const gitDir = await gitDirOf(dir);
  const w = looseObjectWriter(gitDir);
  const refs = img.listRefs().filter((r) => r.hash !== ZERO_HASH);
  const map = new Map<string, string>();
  if (!opts.strict) {
    const ids = img.objectIds();
    progress.start(`writing ${ids.length} objects`);
    let i = 0;
    for (const h of ids) {
      if (!img.hasObject(h)) continue;
      const o = img.readObject(h);
      w.write(o.type, o.data, h);
      if (++i % 1000 === 0) progress.update(`wrote ${i}/${ids.length} objects`);
    }
    for (const r of refs) map.set(r.hash, r.hash);
  } else {
    progress.start('rewriting history with git-style trees');
    const treeMap = new Map<string, string>();
    const splitTree = (tree: string): string => {
      const cached = treeMap.get(tree);
      if (cached) return cached;
      const files = img.listFiles(tree).map((f) => ({ ...f, hash: f.mode === MODE_GITLINK ? (map.get(f.hash) ?? f.hash) : f.hash }));
      for (const f of files) if (f.mode !== MODE_GITLINK && !isTreeMode(f.mode)) w.write('blob', img.readObject(f.hash).data, f.hash);
      const h = buildTree(files, (t) => w.write('tree', t.data, t.hash), 0);
      treeMap.set(tree, h);
      return h;
    };
    const rewrite = (start: string): string => {
      // Iterative post-order over parents so long histories do not overflow the stack.
      const stack: Array<{ h: string; expanded: boolean }> = [{ h: start, expanded: false }];
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        if (map.has(top.h)) {
          stack.pop();
          continue;
        }
        const o = img.readObject(top.h);
        if (o.type !== 'commit') {
          if (o.type === 'tree') map.set(top.h, splitTree(top.h));
          else map.set(top.h, w.write(o.type, o.data, top.h));
          stack.pop();
          continue;
        }
        const c = decodeCommit(o.data, `commit ${top.h}`);
        if (!top.expanded) {
          top.expanded = true;
          for (const p of c.parents) if (!map.has(p) && img.hasObject(p)) stack.push({ h: p, expanded: false });
          continue;
        }
        const data = encodeCommit({ ...c, tree: splitTree(c.tree), parents: c.parents.map((p) => map.get(p) ?? p) });
        map.set(top.h, w.write('commit', data));
        stack.pop();
      }
      return map.get(start)!;
    };
    // Branches first, so the mainline's gitlinks can point at rewritten commits.
    const order = [...refs.filter((r) => r.kind !== 'mainline'), ...refs.filter((r) => r.kind === 'mainline')];
    for (const r of order) {
      rewrite(r.hash);
      progress.update(`rewrote ${r.name}`);
    }
  }
  const out: Array<{ ref: string; hash: string }> = [];
  for (const r of refs) {
    const h = map.get(r.hash)!;
    const type = img.readObject(r.hash).type;
    out.push({ ref: type === 'commit' ? `refs/heads/${r.name}` : `refs/tags/${r.name}`, hash: h });
  }
  await git(['update-ref', '--stdin'], { cwd: dir, input: out.map((r) => `update ${r.ref} ${r.hash}\n`).join('') });
  const head = refs.find((r) => r.name === 'master') ?? refs.find((r) => r.name === 'main') ?? refs.find((r) => r.kind === 'branch') ?? refs[0];
  if (head) await git(['symbolic-ref', 'HEAD', `refs/heads/${head.name}`], { cwd: dir });
  progress.succeed(`exported ${w.count} objects and ${out.length} refs to ${gitDir}`);
  return { gitDir, objects: w.count, refs: out, strict: Boolean(opts.strict) };
}
