// The deterministic sync merge (docs/protocol.md, "Sync"): the reference for what every kernel
// node computes byte for byte (kernel-asm/kernel/gtp_sync.asm, sync_join / sync_merge). Given
// the same objects, the result depends only on the set of heads, not on the order a node
// learned them in.
import { CorruptDataError, UsageError } from '../../core/errors.ts';
import { decodeCommit } from '../../gitfs/commit.ts';
import { REF_NAME_MAX } from '../../gitfs/layout.ts';
import { hashObject, type GitObject } from '../../gitfs/objects.ts';
import { isNodeLocalRef, MAINLINE } from '../../gitfs/refs.ts';
import { decodeTree, MODE_GITLINK } from '../../gitfs/tree.ts';

/** Objects as a node holds them: undefined for an object it does not store (absent or a referral). */
export interface ObjectReader {
  read(hash: string): GitObject | undefined;
}

export const SYNC_HEADS_MAX = 8;
export const SYNC_CAND_MAX = 8;
export const SYNC_TAB_MAX = 256;
export const FORK_INFIX = '-fork-';
const IDENT = 'gittorrent <gittorrent@localhost>';

export interface MergedRef {
  name: string;
  target: string;
  /** The ref a fork row was split from. */
  forkedFrom?: string;
}

export interface SyncMerge {
  hash: string;
  data: Buffer;
  tree: string;
  treeData: Buffer;
  refs: MergedRef[];
}

function readCommit(r: ObjectReader, hash: string) {
  const o = r.read(hash);
  if (!o || o.type !== 'commit') return undefined;
  return decodeCommit(o.data, `commit ${hash}`);
}

/** Whether `a` is `b` or in b's history (parents of stored commits; an unstored `a` never is). */
export function isAncestor(r: ObjectReader, a: string, b: string): boolean {
  if (!r.read(a)) return false;
  const seen = new Set<string>();
  const stack = [b];
  while (stack.length > 0) {
    const h = stack.pop()!;
    if (h === a) return true;
    if (seen.has(h)) continue;
    seen.add(h);
    const c = readCommit(r, h);
    if (!c) continue;
    for (let i = c.parents.length - 1; i >= 0; i--) stack.push(c.parents[i]!);
  }
  return false;
}

/** A head's basis: a sync merge (a mainline commit with 2+ parents) stands for its parents. */
export function basis(r: ObjectReader, head: string): string[] {
  const c = readCommit(r, head);
  if (!c) throw new CorruptDataError(`mainline commit ${head} is not stored`);
  return c.parents.length >= 2 ? [...c.parents] : [head];
}

/** The maximal heads of two revisions' bases (none in another's history), in basis order. */
export function maximalHeads(r: ObjectReader, revs: readonly string[]): string[] {
  const all: string[] = [];
  for (const rev of revs) for (const b of basis(r, rev)) if (!all.includes(b)) all.push(b);
  return all.filter((b) => !all.some((o) => o !== b && isAncestor(r, b, o)));
}

function committerTime(committer: string): number {
  const m = / (\d+) [^ ]+$/.exec(committer);
  return m ? Number(m[1]) : 0;
}

interface Row { name: string; cands: string[]; target?: string; fork?: number }

/** The per-ref rule over the heads' mainline trees (rows in first-seen order, heads ascending). */
export function resolveRefs(r: ObjectReader, heads: readonly string[]): MergedRef[] {
  const rows: Row[] = [];
  const row = (name: string): Row => {
    let x = rows.find((y) => y.name === name);
    if (!x) {
      if (rows.length >= SYNC_TAB_MAX) throw new UsageError(`more than ${SYNC_TAB_MAX} refs in a merge`);
      x = { name, cands: [] };
      rows.push(x);
    }
    return x;
  };
  const addCand = (x: Row, h: string) => {
    if (x.cands.includes(h)) return;
    if (x.cands.length >= SYNC_CAND_MAX) throw new UsageError(`more than ${SYNC_CAND_MAX} concurrent heads of ${x.name}`);
    x.cands.push(h);
  };
  for (const head of heads) {
    const c = readCommit(r, head);
    if (!c) throw new CorruptDataError(`mainline commit ${head} is not stored`);
    const t = r.read(c.tree);
    if (!t || t.type !== 'tree') throw new CorruptDataError(`mainline tree ${c.tree} is not stored`);
    for (const e of decodeTree(t.data)) {
      if (Buffer.byteLength(e.name) > REF_NAME_MAX - 1) throw new CorruptDataError(`ref name too long in ${c.tree}`);
      if (isNodeLocalRef(e.name)) continue;
      addCand(row(e.name), e.hash);
    }
  }
  for (let i = 0; i < rows.length; i++) {
    const x = rows[i]!;
    const keep = x.cands.filter((a) => !x.cands.some((b) => b !== a && isAncestor(r, a, b)));
    if (keep.length === 0) throw new CorruptDataError(`ref ${x.name}: no head`);
    const winner = keep.reduce((m, h) => (h > m ? h : m));
    x.target = winner;
    for (const h of keep) {
      if (h === winner) continue;
      const name = `${x.name}${FORK_INFIX}${h.slice(0, 12)}`;
      if (Buffer.byteLength(name) > REF_NAME_MAX - 1) continue;
      const f = row(name);
      addCand(f, h);
      f.fork = i;
    }
  }
  return rows.map((x) => ({ name: x.name, target: x.target!, ...(x.fork !== undefined ? { forkedFrom: rows[x.fork]!.name } : {}) }));
}

/** The mainline tree of a set of cluster refs: gitlinks in byte order of names. */
export function mainlineTree(refs: readonly MergedRef[]): Buffer {
  const sorted = [...refs].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return Buffer.concat(sorted.flatMap((x) => [Buffer.from(`${MODE_GITLINK} ${x.name}\0`), Buffer.from(x.target, 'hex')]));
}

/** The sync merge commit of 2..SYNC_HEADS_MAX maximal mainline heads. */
export function syncMerge(r: ObjectReader, heads: readonly string[]): SyncMerge {
  if (heads.length < 2 || heads.length > SYNC_HEADS_MAX) throw new UsageError(`a sync merge joins 2..${SYNC_HEADS_MAX} heads, not ${heads.length}`);
  const sorted = [...heads].sort();
  let time = 0;
  for (const h of sorted) {
    const c = readCommit(r, h);
    if (!c) throw new CorruptDataError(`mainline commit ${h} is not stored`);
    time = Math.max(time, committerTime(c.committer));
  }
  const refs = resolveRefs(r, sorted);
  const treeData = mainlineTree(refs);
  const tree = hashObject('tree', treeData);
  const sig = `${IDENT} ${time} +0000`;
  const text = `tree ${tree}\n${sorted.map((p) => `parent ${p}\n`).join('')}author ${sig}\ncommitter ${sig}\nbranch ${MAINLINE}\n\nsync merge of ${sorted.length} heads\n`;
  const data = Buffer.from(text, 'utf8');
  return { hash: hashObject('commit', data), data, tree, treeData, refs };
}

/** What a node does with a heard revision: nothing, adopt one head, or merge the maximal heads. */
export function join(r: ObjectReader, head: string | undefined, heard: string): { kind: 'none' } | { kind: 'adopt'; rev: string } | { kind: 'merge'; merge: SyncMerge } {
  if (head && isAncestor(r, heard, head)) return { kind: 'none' };
  if (!head || isAncestor(r, head, heard)) return { kind: 'adopt', rev: heard };
  const max = maximalHeads(r, [head, heard]);
  if (max.length === 1) return { kind: 'adopt', rev: max[0]! };
  return { kind: 'merge', merge: syncMerge(r, max) };
}

/** An ObjectReader over a GitFS image (referrals read as absent). */
export function imageReader(img: { readObject(hash: string): GitObject }): ObjectReader {
  return {
    read(hash: string) {
      try {
        return img.readObject(hash);
      } catch {
        return undefined;
      }
    },
  };
}
