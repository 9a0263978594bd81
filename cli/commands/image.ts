// `gittorrent image ...`: create, commit, ls, cat, log, branches, fsck, import, export on GitFS images.
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { BadInputError, CorruptDataError, FileNotFoundError, NotFoundError, UsageError } from '../../core/errors.ts';
import { printResult } from '../../core/output.ts';
import { createProgress } from '../../core/progress.ts';
import { commitHeader, signatureTime } from '../../gitfs/commit.ts';
import { exportGit, importGit } from '../../gitfs/git-interop.ts';
import { type CommitStats, createImage, type FileInput, type GitFSImage, openImage } from '../../gitfs/image.ts';
import { splitRevPath } from '../../gitfs/rev.ts';
import { isTreeMode, normalizePath } from '../../gitfs/tree.ts';

interface JsonOpt {
  json?: boolean;
}

export function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)(i?B)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad size ${JSON.stringify(s)} (e.g. 256M)`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

/** Reads a directory into file inputs (skipping .git), in path order. */
export function readDirFiles(dir: string): FileInput[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new FileNotFoundError(`${dir}: no such directory`);
  }
  if (!st.isDirectory()) throw new BadInputError(`${dir}: not a directory`);
  const out: FileInput[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === '.git') continue;
      const full = join(d, name);
      const ls = lstatSync(full);
      const rel = relative(dir, full).split('\\').join('/');
      if (ls.isSymbolicLink()) out.push({ path: rel, data: Buffer.from(readlinkSync(full)), mode: 0o120000 });
      else if (ls.isDirectory()) walk(full);
      else if (ls.isFile()) out.push({ path: rel, data: readFileSync(full), mode: ls.mode & 0o111 ? 0o100755 : 0o100644 });
    }
  };
  walk(dir);
  return out;
}

function withImage<T>(path: string, readOnly: boolean, fn: (img: GitFSImage) => T): T {
  const img = openImage(path, { readOnly });
  try {
    return fn(img);
  } finally {
    img.close();
  }
}

async function withImageAsync<T>(path: string, readOnly: boolean, fn: (img: GitFSImage) => Promise<T>): Promise<T> {
  const img = openImage(path, { readOnly });
  try {
    return await fn(img);
  } finally {
    img.close();
  }
}

interface LsEntry {
  name: string;
  type: 'blob' | 'tree' | 'commit' | 'branch';
  mode?: string;
  hash: string;
}

function lsImage(img: GitFSImage, spec: string | undefined): { path: string; entries: LsEntry[] } {
  if (spec === undefined) {
    return {
      path: '/',
      entries: img.listRefs().filter((r) => r.hash !== '0'.repeat(40)).map((r) => ({ name: r.name + '/', type: 'branch', hash: r.hash })),
    };
  }
  const { rev, path } = splitRevPath(spec);
  const tree = img.commitTreeHash(img.resolveRev(rev));
  const dir = path && path.replace(/^\/+|\/+$/g, '') !== '' ? normalizePath(path) : '';
  const files = img.listFiles(tree);
  const exact = dir ? files.find((f) => f.path === dir) : undefined;
  if (exact) return { path: dir, entries: [{ name: dir, type: exact.mode === '160000' ? 'commit' : 'blob', mode: exact.mode, hash: exact.hash }] };
  const prefix = dir ? dir + '/' : '';
  const seen = new Map<string, LsEntry>();
  for (const f of files) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) seen.set(rest, { name: rest, type: f.mode === '160000' ? 'commit' : 'blob', mode: f.mode, hash: f.hash });
    else {
      const d = rest.slice(0, slash) + '/';
      if (!seen.has(d)) {
        const sub = dir ? img.lookupPath(tree, prefix + rest.slice(0, slash)) : img.lookupPath(tree, rest.slice(0, slash));
        seen.set(d, { name: d, type: 'tree', mode: '40000', hash: sub && isTreeMode(sub.mode) ? sub.hash : '' });
      }
    }
  }
  if (dir && seen.size === 0) throw new NotFoundError(`path ${dir} not found in ${rev}`);
  return { path: dir || '/', entries: [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) };
}

interface BranchNode {
  name: string;
  kind: string;
  hash: string;
  children: BranchNode[];
}

function branchTree(img: GitFSImage): BranchNode[] {
  const refs = img.listRefs();
  const nodes = new Map(refs.map((r) => [r.name, { name: r.name, kind: r.kind, hash: r.hash, children: [] as BranchNode[] }]));
  const roots: BranchNode[] = [];
  for (const r of refs) {
    const n = nodes.get(r.name)!;
    const parent = r.forkedFrom ? nodes.get(r.forkedFrom) : undefined;
    if (parent && parent !== n) parent.children.push(n);
    else roots.push(n);
  }
  return roots;
}

function renderBranchTree(nodes: BranchNode[], indent = ''): string {
  let s = '';
  nodes.forEach((n, i) => {
    const last = i === nodes.length - 1;
    const label = `${n.name} (${n.kind}${n.hash === '0'.repeat(40) ? ', empty' : ' ' + n.hash.slice(0, 12)})`;
    s += `${indent}${indent === '' ? '' : last ? '└── ' : '├── '}${label}\n`;
    s += renderBranchTree(n.children, indent === '' ? '    ' : indent + (last ? '    ' : '│   '));
  });
  return s;
}

export function registerImage(program: Command): void {
  const image = program.command('image').description('Create, inspect and verify GitFS disk images');

  image
    .command('create')
    .argument('<img>', 'image file to create')
    .option('--size <size>', 'image size (e.g. 64M, 1G)', '256M')
    .option('--force', 'replace an existing file')
    .option('--json', 'print JSON')
    .description('Create an empty GitFS image')
    .action((imgPath: string, o: { size: string; force?: boolean } & JsonOpt) => {
      const img = createImage(imgPath, { sizeBytes: parseSize(o.size), overwrite: Boolean(o.force) });
      const stats = img.stats();
      img.close();
      printResult({ image: imgPath, ...stats }, o, (r) => `created ${r.image} (${r.diskBytes} bytes, log capacity ${r.logCapacity} bytes)`);
    });

  image
    .command('commit')
    .argument('<img>', 'GitFS image')
    .argument('<dir>', 'directory whose content becomes the commit')
    .requiredOption('-b, --branch <branch>', 'branch to commit to')
    .option('-m, --message <msg>', 'commit message', 'commit')
    .option('--from <branch>', 'for a new branch: the branch it forks from')
    .option('--header <kv...>', 'extra commit header KEY=VALUE (e.g. kernel-version=1.2)')
    .option('--json', 'print JSON')
    .description('Commit a directory as the new content of a branch')
    .action((imgPath: string, dir: string, o: { branch: string; message: string; from?: string; header?: string[] } & JsonOpt) => {
      const progress = createProgress({ quiet: Boolean(o.json) && !process.stderr.isTTY });
      const files = readDirFiles(dir);
      const headers: Record<string, string> = {};
      for (const kv of o.header ?? []) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`bad --header ${JSON.stringify(kv)} (KEY=VALUE)`);
        headers[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      const stats: CommitStats = { files: 0, storedBlobs: 0, deltas: 0, reusedBlobs: 0, bytesWritten: 0 };
      const result = withImage(imgPath, false, (img) => {
        progress.start(`committing ${files.length} files to ${o.branch}`);
        const hash = img.commitTree(o.branch, files, { message: o.message, ...(o.from ? { from: o.from } : {}), headers }, stats, (i) => {
          if ((i + 1) % 500 === 0) progress.update(`committing ${i + 1}/${files.length} files to ${o.branch}`);
        });
        progress.succeed(`committed ${files.length} files to ${o.branch}`);
        return { branch: o.branch, commit: hash, revision: img.revision(), ...stats };
      });
      printResult(result, o, (r) => `${r.branch} ${r.commit} (${r.files} files: ${r.storedBlobs} stored, ${r.deltas} as deltas, ${r.reusedBlobs} unchanged)`);
    });

  image
    .command('ls')
    .argument('<img>', 'GitFS image')
    .argument('[rev]', 'REV or REV:PATH; without it, every branch is listed as a directory')
    .option('--json', 'print JSON')
    .description('List branches, or a directory at a revision')
    .action((imgPath: string, spec: string | undefined, o: JsonOpt) => {
      const r = withImage(imgPath, true, (img) => lsImage(img, spec));
      printResult(r, o, (x) => x.entries.map((e) => `${(e.mode ?? '').padStart(6)} ${e.type.padEnd(6)} ${e.hash.slice(0, 12).padEnd(12)}  ${e.name}`).join('\n'));
    });

  image
    .command('cat')
    .argument('<img>', 'GitFS image')
    .argument('<spec>', 'REV:PATH, or an object hash')
    .description('Print a file (or an object) to stdout')
    .action((imgPath: string, spec: string) => {
      const data = withImage(imgPath, true, (img) => {
        const { rev, path } = splitRevPath(spec);
        if (path === undefined) return img.readObject(img.resolveRev(rev)).data;
        return img.readFile(rev, path);
      });
      process.stdout.write(data);
    });

  image
    .command('log')
    .argument('<img>', 'GitFS image')
    .argument('[rev]', 'branch or revision (default: mainline, the log of every ref update)', 'mainline')
    .option('-n, --max-count <n>', 'show at most n commits')
    .option('--json', 'print JSON')
    .description('Show history')
    .action((imgPath: string, rev: string, o: { maxCount?: string } & JsonOpt) => {
      const limit = o.maxCount !== undefined ? Number(o.maxCount) : undefined;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new UsageError(`bad --max-count ${o.maxCount}`);
      const entries = withImage(imgPath, true, (img) => img.log(rev, limit !== undefined ? { limit } : {}));
      const out = entries.map((e) => ({
        hash: e.hash, tree: e.commit.tree, parents: e.commit.parents, author: e.commit.author,
        time: signatureTime(e.commit.committer), branch: commitHeader(e.commit, 'branch') ?? null, message: e.commit.message,
      }));
      printResult(out, o, (list) => list.map((e) => `commit ${e.hash}\n${e.branch ? `branch ${e.branch}\n` : ''}Date:   ${new Date(e.time * 1000).toISOString()}\n\n    ${e.message.trimEnd().split('\n').join('\n    ')}\n`).join('\n'));
    });

  image
    .command('branches')
    .argument('<img>', 'GitFS image')
    .option('--json', 'print JSON')
    .description('Show refs as the fork hierarchy')
    .action((imgPath: string, o: JsonOpt) => {
      const roots = withImage(imgPath, true, (img) => branchTree(img));
      printResult(roots, o, (r) => renderBranchTree(r));
    });

  image
    .command('fsck')
    .argument('<img>', 'GitFS image')
    .option('--json', 'print JSON')
    .description('Verify every object hash, the index, the refs and the logs')
    .action((imgPath: string, o: JsonOpt) => {
      const progress = createProgress({});
      const report = withImage(imgPath, true, (img) => {
        progress.start('verifying objects');
        const r = img.fsck((done, total) => {
          if (done % 2000 === 0) progress.update(`verified ${done}/${total} objects`);
        });
        if (r.ok) progress.succeed(`verified ${r.objects} objects`);
        else progress.fail(`${r.problems.length} problem(s)`);
        return r;
      });
      printResult(report, o, (r) =>
        [...r.warnings.map((w) => `warning: ${w}`), ...r.problems.map((p) => `bad: ${p}`), `${r.ok ? 'ok' : 'FAILED'}: ${r.objects} objects, ${r.referrals} referrals, ${r.refs} refs, ${r.mainlineCommits} mainline commits`].join('\n'),
      );
      if (!report.ok) throw new CorruptDataError(`${imgPath}: fsck found ${report.problems.length} problem(s)`);
    });

  image
    .command('import')
    .argument('<img>', 'GitFS image')
    .argument('<gitrepo>', 'git repository')
    .option('--branch <b...>', 'branches to import (default: all)')
    .option('--no-tags', 'import no tags (default: every tag; with --branch, the tags in those branches)')
    .option('--json', 'print JSON')
    .description('Import branches and tags of a git repository, keeping every hash (a shallow clone keeps its boundary)')
    .action(async (imgPath: string, repo: string, o: { branch?: string[]; tags: boolean } & JsonOpt) => {
      const progress = createProgress({});
      const r = await withImageAsync(imgPath, false, (img) => importGit(img, repo, { ...(o.branch ? { branches: o.branch } : {}), tags: o.tags, progress }));
      printResult(r, o, (x) =>
        [...x.branches.map((b) => `${b.name} ${b.hash}`), ...x.tags.map((t) => `${t.name} ${t.hash} (${t.type})`), ...(x.shallow.length > 0 ? [`shallow: ${x.shallow.length} boundary commit(s), their parents recorded as referrals`] : [])].join('\n'),
      );
    });

  image
    .command('export')
    .argument('<img>', 'GitFS image')
    .argument('<gitdir>', 'git repository to write (created if needed)')
    .option('--strict-git', 'split every tree git\'s way (new tree and commit hashes; git fsck --strict is clean)')
    .option('--json', 'print JSON')
    .description('Write the image as a real git repository')
    .action(async (imgPath: string, dir: string, o: { strictGit?: boolean } & JsonOpt) => {
      const progress = createProgress({});
      const r = await withImageAsync(imgPath, true, (img) => exportGit(img, dir, { strict: Boolean(o.strictGit), progress }));
      printResult(r, o, (x) => x.refs.map((b) => `${b.ref} ${b.hash}`).join('\n'));
    });
}
