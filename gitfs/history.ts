// Reading history and trees: revisions (NAME, HASH, abbreviated HASH, ~N / ^N), commits, trees
// (flat and split alike), paths, files, and `log`. Decoded trees are cached, so resolving many
// paths does not parse the same trees again; `readTreeFiles` reads a whole tree's files in log
// order with batched reads.
import { BadInputError, CorruptDataError, NotFoundError } from '../core/errors.ts';
import { type Commit, decodeCommit, signatureTime } from './commit.ts';
import type { RefTable } from './refs-table.ts';
import { parseRev } from './rev.ts';
import type { ObjectStore } from './store.ts';
import { peelTag, TAG_REF_PREFIX } from './tag.ts';
import { decodeTree, isTreeMode, MODE_GITLINK, normalizePath, type TreeEntry } from './tree.ts';
import { type ObjectType, ZERO_HASH } from './objects.ts';

export interface LogEntry {
  hash: string;
  commit: Commit;
}

export interface FileEntry {
  path: string;
  mode: string;
  hash: string;
}

export interface FileContent extends FileEntry {
  data: Buffer;
}

/** Decoded trees kept at most (a tree of 256 entries decodes to about 40 KiB of strings). */
const TREE_CACHE_MAX = 4096;

export class History {
  private trees = new Map<string, TreeEntry[]>();
  private treesEpoch = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly refs: RefTable,
  ) {}

  readCommit(hash: string): Commit {
    const o = this.store.readObject(hash);
    if (o.type !== 'commit') throw new BadInputError(`${hash} is a ${o.type}, not a commit`);
    return decodeCommit(o.data, `commit ${hash}`);
  }

  /** A tree's entries (a copy the caller may keep or change). */
  readTree(hash: string): TreeEntry[] {
    return this.treeEntries(hash).slice();
  }

  /** The cached decoded entries: never handed out, never changed. */
  private treeEntries(hash: string): readonly TreeEntry[] {
    if (this.treesEpoch !== this.store.epoch) {
      this.trees.clear();
      this.treesEpoch = this.store.epoch;
    }
    const hit = this.trees.get(hash);
    if (hit) return hit;
    const o = this.store.readObject(hash);
    if (o.type !== 'tree') throw new BadInputError(`${hash} is a ${o.type}, not a tree`);
    const entries = decodeTree(o.data, `tree ${hash}`);
    if (this.trees.size >= TREE_CACHE_MAX) this.trees.clear();
    this.trees.set(hash, entries);
    return entries;
  }

  /** The tree of a commit, or the hash itself when it names a tree. */
  commitTreeHash(hash: string): string {
    const p = this.peel(hash);
    if (p.type === 'tree') return p.hash;
    if (p.type !== 'commit') throw new BadInputError(`${hash === p.hash ? hash : `tag ${hash} names ${p.hash}, which`} is a ${p.type}, not a commit or tree`);
    return decodeCommit(this.store.readObject(p.hash).data, `commit ${p.hash}`).tree;
  }

  /** Follows tags from `hash` to the object they name (git's `^{}`); a non-tag is itself. */
  peel(hash: string): { hash: string; type: ObjectType } {
    return peelTag((h) => this.store.readObject(h), hash);
  }

  /** Every file under a tree, with full paths (flat and split trees alike). */
  listFiles(tree: string, depth = 0): FileEntry[] {
    const out: FileEntry[] = [];
    this.walkFiles(tree, '', depth, out);
    return out;
  }

  private walkFiles(tree: string, prefix: string, depth: number, out: FileEntry[]): void {
    if (depth > 64) throw new CorruptDataError(`tree ${tree}: nested too deep`);
    for (const e of this.treeEntries(tree)) {
      if (isTreeMode(e.mode)) this.walkFiles(e.hash, `${prefix}${e.name}/`, depth + 1, out);
      else out.push({ path: prefix + e.name, mode: e.mode, hash: e.hash });
    }
  }

  /** Finds a path in a tree: a file entry, or a subtree entry for a split directory. */
  lookupPath(tree: string, path: string, depth = 0): TreeEntry | undefined {
    if (depth > 64) throw new CorruptDataError(`tree ${tree}: nested too deep`);
    for (const e of this.treeEntries(tree)) {
      if (e.name === path) return e;
      if (isTreeMode(e.mode) && path.startsWith(e.name + '/')) {
        const r = this.lookupPath(e.hash, path.slice(e.name.length + 1), depth + 1);
        if (r) return r;
      }
    }
    return undefined;
  }

  /** Resolves NAME, HASH, abbreviated HASH, with ~N / ^N steps, to a full hash. */
  resolveRev(rev: string): string {
    const p = parseRev(rev);
    let hash: string;
    const own = this.refs.slotOf(p.base);
    const ref = own >= 0 ? own : this.refs.slotOf(TAG_REF_PREFIX + p.base); // `v1` finds tags/v1, as in git
    if (ref >= 0) {
      const t = this.store.slots[ref]!.target;
      if (t === ZERO_HASH) throw new NotFoundError(`ref ${p.base} has no commits yet`);
      hash = t;
    } else if (/^[0-9a-f]{4,40}$/.test(p.base)) {
      if (p.base.length === 40 && this.store.lookup(p.base)) hash = p.base;
      else {
        const matches = this.store.objectIds().filter((h) => h.startsWith(p.base));
        if (matches.length === 0) throw new NotFoundError(`unknown revision ${rev}`);
        if (matches.length > 1) throw new NotFoundError(`ambiguous revision ${p.base} (${matches.length} objects match)`);
        hash = matches[0]!;
      }
    } else throw new NotFoundError(`unknown revision ${rev}`);
    if (p.steps.length > 0) hash = this.peel(hash).hash;
    for (const s of p.steps) {
      if (s.op === '~') {
        for (let i = 0; i < s.n; i++) {
          const c = this.readCommit(hash);
          if (c.parents.length === 0) throw new NotFoundError(`revision ${rev}: history is shorter`);
          hash = c.parents[0]!;
        }
      } else if (s.n > 0) {
        const c = this.readCommit(hash);
        if (c.parents.length < s.n) throw new NotFoundError(`revision ${rev}: no parent ${s.n}`);
        hash = c.parents[s.n - 1]!;
      }
    }
    return hash;
  }

  /** The blob entry of PATH at REV (NotFoundError / BadInputError for a missing path, a directory, a gitlink). */
  fileEntry(rev: string, path: string): TreeEntry {
    const tree = this.commitTreeHash(this.resolveRev(rev));
    const p = normalizePath(path);
    const e = this.lookupPath(tree, p);
    if (!e) throw new NotFoundError(`path ${p} not found in ${rev}`);
    if (isTreeMode(e.mode)) throw new BadInputError(`${rev}:${p} is a directory`);
    if (e.mode === MODE_GITLINK) throw new BadInputError(`${rev}:${p} is a gitlink (${e.hash})`);
    return e;
  }

  /** The content of PATH at REV. */
  readFile(rev: string, path: string): Buffer {
    const e = this.fileEntry(rev, path);
    const o = this.store.readObject(e.hash);
    if (o.type !== 'blob') throw new CorruptDataError(`${rev}:${normalizePath(path)} is a ${o.type}`);
    return o.data;
  }

  /**
   * Every file of a tree (or of REV's tree) with its content, SHA-1 verified, in log order
   * (the order they were written, which is the order that reads the disk front to back).
   * Gitlinks have no content and are left out.
   */
  *readTreeFiles(treeOrRev: string): Generator<FileContent> {
    const tree = this.commitTreeHash(this.resolveRev(treeOrRev));
    const byHash = new Map<string, FileEntry[]>();
    for (const f of this.listFiles(tree)) {
      if (f.mode === MODE_GITLINK) continue;
      const list = byHash.get(f.hash);
      if (list) list.push(f);
      else byHash.set(f.hash, [f]);
    }
    for (const { hash, object } of this.store.readObjects(byHash.keys())) {
      if (object.type !== 'blob') throw new CorruptDataError(`${byHash.get(hash)![0]!.path}: ${hash} is a ${object.type}, not a blob`);
      for (const f of byHash.get(hash)!) yield { ...f, data: object.data };
    }
  }

  /** History from REV: commits newest first (by committer time, like `git log`). */
  log(rev: string, opts: { limit?: number; firstParent?: boolean } = {}): LogEntry[] {
    const start = this.peel(this.resolveRev(rev)).hash;
    const out: LogEntry[] = [];
    const seen = new Set<string>([start]);
    let seq = 0;
    const queue: { hash: string; commit: Commit; time: number; seq: number }[] = [];
    const push = (h: string) => {
      const c = this.readCommit(h);
      queue.push({ hash: h, commit: c, time: signatureTime(c.committer), seq: seq++ });
    };
    push(start);
    const limit = opts.limit ?? Infinity;
    while (queue.length > 0 && out.length < limit) {
      let best = 0;
      for (let i = 1; i < queue.length; i++) {
        const a = queue[i]!;
        const b = queue[best]!;
        if (a.time > b.time || (a.time === b.time && a.seq < b.seq)) best = i;
      }
      const cur = queue.splice(best, 1)[0]!;
      out.push({ hash: cur.hash, commit: cur.commit });
      const parents = opts.firstParent ? cur.commit.parents.slice(0, 1) : cur.commit.parents;
      for (const p of parents) {
        if (seen.has(p)) continue;
        seen.add(p);
        if (!this.store.hasObject(p)) continue; // a referral or a shallow edge
        push(p);
      }
    }
    return out;
  }
}
