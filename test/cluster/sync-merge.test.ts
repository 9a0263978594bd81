// The sync merge rule of docs/protocol.md ("Sync") on its TypeScript reference
// (cluster/sync/merge.ts), on hand-made histories: the result depends on the set of heads only
// (any order, merges of merges), a descendant wins over its ancestor, concurrent heads keep one
// name and fork the others, and git accepts the commits it writes. The kernel's merge commits
// are checked against this reference byte for byte in test/cluster/sync.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as pjoin } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { join, maximalHeads, syncMerge, type ObjectReader } from '../../cluster/sync/merge.ts';
import { hashObject, type GitObject, type ObjectType } from '../../gitfs/objects.ts';

const objects = new Map<string, GitObject>();
const reader: ObjectReader = { read: (h) => objects.get(h) };
const put = (type: ObjectType, data: Buffer): string => {
  const h = hashObject(type, data);
  objects.set(h, { type, data });
  return h;
};
const sig = (t: number) => `gittorrent <gittorrent@localhost> ${t} +0000`;
const commit = (tree: string, parents: string[], t: number, branch: string, msg: string) =>
  put('commit', Buffer.from(`tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}author ${sig(t)}\ncommitter ${sig(t)}\nbranch ${branch}\n\n${msg}\n`));
const gitlinks = (refs: Record<string, string>) =>
  put('tree', Buffer.concat(Object.keys(refs).sort().flatMap((n) => [Buffer.from(`160000 ${n}\0`), Buffer.from(refs[n]!, 'hex')])));
const blobTree = (text: string) => put('tree', Buffer.concat([Buffer.from('100644 a\0'), Buffer.from(put('blob', Buffer.from(text)), 'hex')]));

// a seed: branch data at s, mainline m0; three nodes move data concurrently (a, b, c), one also
// makes a branch `x`; then a commit d on top of a merge
const s = commit(blobTree('seed'), [], 100, 'data', 'seed');
const m0 = commit(gitlinks({ data: s }), [], 100, 'mainline', 'm0');
const a = commit(blobTree('a'), [s], 200, 'data', 'a');
const b = commit(blobTree('b'), [s], 210, 'data', 'b');
const c = commit(blobTree('c'), [s], 205, 'data', 'c');
const xb = commit(blobTree('x'), [], 211, 'x', 'x');
const A = commit(gitlinks({ data: a }), [m0], 200, 'mainline', 'A');
const B1 = commit(gitlinks({ data: b }), [m0], 210, 'mainline', 'B1');
const B = commit(gitlinks({ data: b, x: xb }), [B1], 211, 'mainline', 'B');
const C = commit(gitlinks({ data: c }), [m0], 205, 'mainline', 'C');

const revOf = (r: ReturnType<typeof join>, head: string): string => (r.kind === 'none' ? head : r.kind === 'adopt' ? r.rev : r.merge.hash);
/** A node with head `head` hears revisions in this order; its final head. */
function hear(head: string, ...revs: string[]): string {
  for (const rev of revs) {
    const r = join(reader, head, rev);
    if (r.kind === 'merge') objects.set(r.merge.hash, { type: 'commit', data: r.merge.data }), objects.set(r.merge.tree, { type: 'tree', data: r.merge.treeData });
    head = revOf(r, head);
  }
  return head;
}

const tmp = mkdtempSync(pjoin(tmpdir(), 'gt-syncmerge-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the sync merge (reference)', () => {
  it('three concurrent heads end at one commit whatever the order, merges of merges included', () => {
    const ABC = syncMerge(reader, [C, A, B]);
    const orders = [
      hear(A, B, C), hear(A, C, B), hear(B, A, C), hear(C, B, A),
      hear(A, hear(B, C)), hear(hear(A, C), hear(B, A)), hear(hear(C, A), B),
    ];
    for (const o of orders) expect(o).toBe(ABC.hash);
    expect(ABC.data.toString()).toMatch(new RegExp(`^tree ${ABC.tree}\\n(parent [0-9a-f]{40}\\n){3}author gittorrent <gittorrent@localhost> 211 \\+0000\\n`));
    expect(ABC.data.toString().split('\n').filter((l) => l.startsWith('parent ')).map((l) => l.slice(7))).toEqual([A, B, C].sort());
    expect(ABC.data.toString().endsWith('branch mainline\n\nsync merge of 3 heads\n')).toBe(true);
  });

  it('one head per ref by the greatest hash, every other concurrent head a fork; a new ref is kept', () => {
    const { refs } = syncMerge(reader, [A, B, C]);
    const winner = [a, b, c].sort().at(-1)!;
    const byName = new Map(refs.map((r) => [r.name, r]));
    expect(byName.get('data')!.target).toBe(winner);
    for (const h of [a, b, c].filter((h) => h !== winner)) expect(byName.get(`data-fork-${h.slice(0, 12)}`)).toEqual({ name: `data-fork-${h.slice(0, 12)}`, target: h, forkedFrom: 'data' });
    expect(byName.get('x')!.target).toBe(xb);
    expect(refs.length).toBe(4);
  });

  it('a descendant wins over its ancestor (no fork); a commit on top of a merge subsumes it', () => {
    const AB = syncMerge(reader, [A, B]);
    objects.set(AB.hash, { type: 'commit', data: AB.data });
    objects.set(AB.tree, { type: 'tree', data: AB.treeData });
    // on the merged node: data moves on from the winner
    const win = [a, b].sort().at(-1)!;
    const d = commit(blobTree('d'), [win], 300, 'data', 'd');
    const forks = Object.fromEntries(AB.refs.map((r) => [r.name, r.target]));
    const D = commit(gitlinks({ ...forks, data: d }), [AB.hash], 300, 'mainline', 'D');
    expect(maximalHeads(reader, [D, A])).toEqual([D]); // A is in D's history
    expect(join(reader, A, D)).toEqual({ kind: 'adopt', rev: D });
    expect(join(reader, D, AB.hash)).toEqual({ kind: 'none' });
    const r = join(reader, D, C);
    expect(r.kind).toBe('merge');
    if (r.kind !== 'merge') return;
    const data = r.merge.refs.find((x) => x.name === 'data')!;
    expect([d, c]).toContain(data.target);
    expect(r.merge.refs.map((x) => x.target)).toEqual(expect.arrayContaining([d, c, a, b].filter((h) => h !== win)));
  });

  it('git fsck accepts the merge commits and their trees', () => {
    const git = pjoin(tmp, 'repo');
    execFileSync('git', ['init', '-q', '--bare', git]);
    const ABC = syncMerge(reader, [A, B, C]);
    objects.set(ABC.hash, { type: 'commit', data: ABC.data });
    objects.set(ABC.tree, { type: 'tree', data: ABC.treeData });
    for (const [h, o] of objects) {
      const out = execFileSync('git', ['-C', git, 'hash-object', '-w', '--literally', '-t', o.type, '--stdin'], { input: o.data }).toString().trim();
      expect(out).toBe(h);
    }
    execFileSync('git', ['-C', git, 'update-ref', 'refs/heads/mainline', ABC.hash]);
    execFileSync('git', ['-C', git, 'fsck', '--no-dangling'], { stdio: 'pipe' });
    expect(execFileSync('git', ['-C', git, 'log', '--format=%s', '-1', 'mainline']).toString().trim()).toBe('sync merge of 3 heads');
  });
});
