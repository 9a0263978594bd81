// Import from and export to real git repositories, keeping object hashes.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { execa } from 'execa';
import { BadInputError, isUserError, NotFoundError, ToolError, UsageError } from '../core/errors.ts';
import { type Progress, silentProgress } from '../core/progress.ts';
import { decodeCommit, encodeCommit } from './commit.ts';
import type { GitFSImage, Referral } from './image.ts';
import { REF_SLOTS } from './layout.ts';
import { hashObject, isObjectType, type ObjectType, ZERO_HASH } from './objects.ts';
import { validateRefName } from './refs.ts';
import { decodeTag, isTagRefName, retargetTag, TAG_REF_PREFIX, tagRefName } from './tag.ts';
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
  /** Tags imported, by GitFS ref name (`tags/<git name>`); type is what the ref points to. */
  tags: Array<{ name: string; hash: string; type: ObjectType }>;
  /** For a shallow clone: the boundary commits (git's .git/shallow) among the imported ones. */
  shallow: string[];
  objects: number;
  stored: number;
}

interface GitRef {
  /** Name below refs/heads/ or refs/tags/. */
  name: string;
  hash: string;
  type: string;
}

async function listGitRefs(repo: string): Promise<{ heads: Map<string, string>; tags: GitRef[] }> {
  const out = (await git(['for-each-ref', '--format=%(refname) %(objectname) %(objecttype)', 'refs/heads/', 'refs/tags/'], { cwd: repo })).toString();
  const heads = new Map<string, string>();
  const tags: GitRef[] = [];
  for (const line of out.split('\n')) {
    const [ref, hash, type] = line.split(' ');
    if (!ref || !hash || !type) continue;
    if (ref.startsWith('refs/heads/') && type === 'commit') heads.set(ref.slice('refs/heads/'.length), hash);
    else if (ref.startsWith('refs/tags/')) tags.push({ name: ref.slice('refs/tags/'.length), hash, type });
  }
  return { heads, tags };
}

/** Objects reachable from `tips` (and not from `not`), as rev-list --objects lists them. */
async function revListObjects(repo: string, tips: string[], not: string[] = []): Promise<string[]> {
  if (tips.length === 0) return [];
  const args = ['rev-list', '--objects', '--stdin'];
  const input = [...new Set(tips)].join('\n') + '\n' + [...new Set(not)].map((h) => `^${h}`).join('\n') + '\n';
  const list = (await git(args, { cwd: repo, input })).toString();
  return list.split('\n').map((l) => l.slice(0, 40)).filter((h) => h.length === 40);
}

/** The object each tag names after peeling every tag in between (git's `<tag>^{}`). */
async function peelGitTags(repo: string, tags: GitRef[]): Promise<Map<string, string>> {
  const peeled = new Map<string, string>();
  const annotated = tags.filter((t) => t.type === 'tag');
  for (const t of tags) if (t.type !== 'tag') peeled.set(t.name, t.hash);
  if (annotated.length > 0) {
    const out = (await git(['cat-file', '--batch-check=%(objectname)'], { cwd: repo, input: annotated.map((t) => `${t.hash}^{}\n`).join('') })).toString().split('\n');
    annotated.forEach((t, i) => {
      const h = out[i] ?? '';
      if (/^[0-9a-f]{40}$/.test(h)) peeled.set(t.name, h);
    });
  }
  return peeled;
}

/** The boundary commits of a shallow repository (empty for a complete one). */
async function shallowCommits(repo: string): Promise<Set<string>> {
  const isShallow = (await git(['rev-parse', '--is-shallow-repository'], { cwd: repo })).toString().trim() === 'true';
  if (!isShallow) return new Set();
  const file = (await git(['rev-parse', '--path-format=absolute', '--git-path', 'shallow'], { cwd: repo })).toString().trim();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new BadInputError(`${repo}: the repository says it is shallow but ${file} cannot be read`);
  }
  return new Set(text.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{40}$/.test(l)));
}

/** Two ref names where one would be a directory of the other (the mainline tree cannot hold both). */
function refNameConflict(names: Iterable<string>): [string, string] | undefined {
  const sorted = [...new Set(names)].sort();
  const set = new Set(sorted);
  for (const n of sorted) {
    const parts = n.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (set.has(dir)) return [dir, n];
    }
  }
  return undefined;
}

/**
 * Imports branches (default: all) and tags of a git repository, keeping every object hash.
 * A git tag `refs/tags/NAME` becomes the symbolic ref `tags/NAME` pointing at the same object
 * (the tag object for an annotated tag, the commit, tree or blob for a lightweight one). With
 * `branches` given, only the tags that name something in those branches' history come along
 * (git's tag following); `tags: false` imports none. A shallow clone's boundary parents are
 * recorded as referrals (held elsewhere), so the image passes fsck and exports a shallow repo.
 */
export async function importGit(img: GitFSImage, repo: string, opts: { branches?: string[]; tags?: boolean; progress?: Progress } = {}): Promise<ImportResult> {
  const progress = opts.progress ?? silentProgress;
  await gitDirOf(repo);
  const { heads, tags: gitTags } = await listGitRefs(repo);
  const explicit = opts.branches !== undefined && opts.branches.length > 0;
  const wanted = explicit ? opts.branches! : [...heads.keys()].sort();
  if (wanted.length === 0) throw new NotFoundError(`${repo}: the repository has no branches`);
  const branches = wanted.map((b) => {
    const h = heads.get(b);
    if (!h) throw new NotFoundError(`${repo}: no branch ${b}`);
    return { name: b === 'mainline' ? 'git-mainline' : b, hash: h };
  });
  progress.start(`listing objects of ${branches.length} branch(es)`);
  const shallow = await shallowCommits(repo);
  const listed = await revListObjects(repo, [...branches.map((b) => b.hash), ...(opts.tags === false || explicit ? [] : gitTags.map((t) => t.hash))]);
  let chosen: GitRef[] = [];
  if (opts.tags !== false) {
    if (!explicit) chosen = gitTags;
    else {
      const reachable = new Set(listed);
      const peeled = await peelGitTags(repo, gitTags);
      chosen = gitTags.filter((t) => reachable.has(peeled.get(t.name) ?? ''));
      listed.push(...(await revListObjects(repo, chosen.filter((t) => t.type === 'tag').map((t) => t.hash), branches.map((b) => b.hash))));
    }
  }
  const tags = chosen.map((t) => {
    const name = tagRefName(t.name);
    try {
      validateRefName(name);
    } catch (e) {
      if (!isUserError(e)) throw e;
      throw new UsageError(`${repo}: tag ${JSON.stringify(t.name)} cannot be a GitFS ref (${e.message}); import with --no-tags`);
    }
    if (!isObjectType(t.type)) throw new BadInputError(`${repo}: tag ${t.name} names an object of unknown type ${t.type}`);
    return { name, hash: t.hash, type: t.type };
  });
  const newNames = [...branches.map((b) => b.name), ...tags.map((t) => t.name)];
  const clash = branches.find((b) => tags.some((t) => t.name === b.name));
  if (clash) throw new UsageError(`${repo}: branch ${clash.name} has the name GitFS gives a tag; import with --no-tags or without that branch`);
  const conflict = refNameConflict([...img.listRefs().map((r) => r.name), ...newNames]);
  if (conflict) throw new UsageError(`${repo}: refs ${conflict[0]} and ${conflict[1]} cannot both exist (a ref name cannot be a directory of another); import with --no-tags or fewer branches`);
  const existing = new Set(img.listRefs().map((r) => r.name));
  const needed = existing.size + new Set(newNames.filter((n) => !existing.has(n))).size;
  if (needed > REF_SLOTS) throw new UsageError(`${repo}: ${needed} refs do not fit the image's ${REF_SLOTS} ref slots; import with --no-tags or fewer branches`);
  const unique = [...new Set(listed)];
  const inRepo = new Set(unique);
  const hashes = unique.filter((h) => !img.hasObject(h));
  progress.update(`reading ${hashes.length} objects`);
  const out = hashes.length > 0 ? await git(['cat-file', '--batch'], { cwd: repo, input: hashes.join('\n') + '\n' }) : Buffer.alloc(0);
  // The shallow boundary: parents of boundary commits that the repository does not hold.
  const boundary = [...shallow].filter((h) => inRepo.has(h)).sort();
  const referrals = new Map<string, Referral>();
  if (boundary.length > 0) {
    const commits = await git(['cat-file', '--batch'], { cwd: repo, input: boundary.join('\n') + '\n' });
    for (const o of parseCatFileBatch(commits)) {
      for (const p of decodeCommit(o.data, `commit ${o.hash}`).parents) {
        if (!inRepo.has(p) && !img.hasObject(p) && !img.readReferral(p)) referrals.set(p, { hash: p, type: 'commit', size: 0, holders: [] });
      }
    }
  }
  let done = 0;
  const refs = [
    ...branches.map((b) => ({ name: b.name, hash: b.hash, kind: 'branch' as const })),
    ...tags.map((t) => ({ name: t.name, hash: t.hash, kind: 'symbolic' as const })),
  ];
  const stored = img.importObjects(parseCatFileBatch(out), refs, () => {
    if (++done % 1000 === 0) progress.update(`stored ${done}/${hashes.length} objects`);
  }, [...referrals.values()]);
  progress.succeed(`imported ${branches.length} branch(es), ${tags.length} tag(s), ${stored} new objects${boundary.length > 0 ? `, shallow (${boundary.length} boundary commit(s))` : ''}`);
  return { branches, tags, shallow: boundary, objects: hashes.length, stored };
}

export interface ExportResult {
  gitDir: string;
  objects: number;
  refs: Array<{ ref: string; hash: string }>;
  /** Commits written to .git/shallow: their parents are referrals (a shallow import's boundary). */
  shallow: string[];
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

/** The git ref a GitFS ref exports to: tags/NAME (symbolic) is refs/tags/NAME; else by target type. */
export function gitRefFor(r: { name: string; kind: string }, targetType: ObjectType): string {
  if (r.kind === 'symbolic' && isTagRefName(r.name)) return `refs/tags/${r.name.slice(TAG_REF_PREFIX.length)}`;
  return targetType === 'commit' ? `refs/heads/${r.name}` : `refs/tags/${r.name}`;
}

/**
 * Writes the image's objects and refs into a git repository (created if needed). Branches, boot
 * and mainline become refs/heads/*, tags (`tags/NAME`) refs/tags/NAME, other refs to non-commits
 * refs/tags/*. Commits whose parents are referrals (a shallow import) are listed in
 * .git/shallow, as git records a shallow clone. With `strict`, every tree is split git's way, so
 * commits (and the tags naming them) get new hashes and `git fsck --strict` is clean.
 */
export async function exportGit(img: GitFSImage, dir: string, opts: { strict?: boolean; progress?: Progress } = {}): Promise<ExportResult> {
  const progress = opts.progress ?? silentProgress;
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new BadInputError(`${dir}: not a directory`);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, '.git')) && !existsSync(join(dir, 'HEAD'))) await git(['init', '-q', dir]);
  const gitDir = await gitDirOf(dir);
  const w = looseObjectWriter(gitDir);
  const refs = img.listRefs().filter((r) => r.hash !== ZERO_HASH);
  const out: Array<{ ref: string; hash: string }> = [];
  const byGitRef = new Map<string, string>();
  for (const r of refs) {
    const ref = gitRefFor(r, img.readObject(r.hash).type);
    const other = byGitRef.get(ref);
    if (other) throw new UsageError(`refs ${other} and ${r.name} would both export as ${ref}; rename one`);
    byGitRef.set(ref, r.name);
  }
  // Referrals: objects held elsewhere. A commit with one as a parent is a shallow boundary.
  const referrals = new Set(img.objectIds().filter((h) => !img.hasObject(h)));
  const shallow = new Set<string>();
  const map = new Map<string, string>();
  if (!opts.strict) {
    const ids = img.objectIds();
    progress.start(`writing ${ids.length} objects`);
    let i = 0;
    for (const h of ids) {
      if (!img.hasObject(h)) continue;
      const o = img.readObject(h);
      w.write(o.type, o.data, h);
      if (o.type === 'commit' && referrals.size > 0 && decodeCommit(o.data, `commit ${h}`).parents.some((p) => referrals.has(p))) shallow.add(h);
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
        if (o.type === 'tag') {
          // Post-order: the tagged object first, then the tag, retargeted if its target changed.
          const t = decodeTag(o.data, `tag ${top.h}`);
          if (!top.expanded) {
            top.expanded = true;
            if (!map.has(t.object) && img.hasObject(t.object)) stack.push({ h: t.object, expanded: false });
            continue;
          }
          const target = map.get(t.object) ?? t.object;
          map.set(top.h, target === t.object ? w.write('tag', o.data, top.h) : w.write('tag', retargetTag(o.data, target)));
          stack.pop();
          continue;
        }
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
        const nh = w.write('commit', data);
        map.set(top.h, nh);
        if (c.parents.some((p) => referrals.has(p))) shallow.add(nh);
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
  for (const r of refs) out.push({ ref: gitRefFor(r, img.readObject(r.hash).type), hash: map.get(r.hash)! });
  if (shallow.size > 0) {
    // Merge with a shallow file already there (exporting into an existing shallow repository).
    const file = join(gitDir, 'shallow');
    const have = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => /^[0-9a-f]{40}$/.test(l)) : [];
    writeFileSync(file, [...new Set([...have, ...shallow])].sort().join('\n') + '\n');
  }
  await git(['update-ref', '--stdin'], { cwd: dir, input: out.map((r) => `update ${r.ref} ${r.hash}\n`).join('') });
  const head = refs.find((r) => r.name === 'master') ?? refs.find((r) => r.name === 'main') ?? refs.find((r) => r.kind === 'branch') ?? refs[0];
  if (head) await git(['symbolic-ref', 'HEAD', `refs/heads/${head.name}`], { cwd: dir });
  progress.succeed(`exported ${w.count} objects and ${out.length} refs to ${gitDir}`);
  return { gitDir, objects: w.count, refs: out, shallow: [...shallow].sort(), strict: Boolean(opts.strict) };
}
