// Verifying an image: every object's hash (and that trees, commits and tags parse), the log's
// record chain, the index, the refs, connectivity from the refs (through tags too), the mainline
// log, and the fallback superblock copy (its loss is a warning: the image still works, with less
// redundancy).
import { isUserError } from '../core/errors.ts';
import { decodeCommit } from './commit.ts';
import type { History } from './history.ts';
import { OBJ_BLOB, REF_NONE, STORE_REFERRAL } from './layout.ts';
import { type GitObject, numToType, typeToNum, ZERO_HASH } from './objects.ts';
import { MAINLINE } from './refs.ts';
import type { RefTable } from './refs-table.ts';
import type { ObjectStore } from './store.ts';
import { decodeTag } from './tag.ts';
import { decodeTree, MODE_GITLINK } from './tree.ts';

export interface FsckReport {
  ok: boolean;
  objects: number;
  referrals: number;
  refs: number;
  mainlineCommits: number;
  problems: string[];
  warnings: string[];
}

export function fsck(store: ObjectStore, refs: RefTable, history: History, onProgress?: (done: number, total: number) => void): FsckReport {
  const problems: string[] = [];
  const ids = store.objectIds().sort();
  let referrals = 0;
  ids.forEach((h, i) => {
    const e = store.lookup(h)!;
    try {
      if (e.storage === STORE_REFERRAL) {
        referrals++;
        store.readReferral(h);
      } else {
        const o = store.verifyEntry(e);
        if (o?.type === 'tree') decodeTree(o.data, `tree ${h}`);
        else if (o?.type === 'commit') decodeCommit(o.data, `commit ${h}`);
        else if (o?.type === 'tag') decodeTag(o.data, `tag ${h}`);
      }
    } catch (err) {
      if (!isUserError(err)) throw err;
      problems.push(err.message.startsWith('object ') || err.message.includes(h) ? err.message : `object ${h}: ${err.message}`);
    }
    onProgress?.(i + 1, ids.length);
  });
  // The object log: every record inside the log end parses, and every index entry points at one.
  const recordStarts = new Set<number>();
  let walked = true;
  try {
    for (const r of store.logRecords()) recordStarts.add(r.offset);
  } catch (err) {
    if (!isUserError(err)) throw err;
    problems.push(`log: ${err.message}`);
    walked = false;
  }
  for (const h of ids) {
    const e = store.lookup(h)!;
    if (!recordStarts.has(e.offset) && walked) problems.push(`index: entry ${h} does not point at a log record`);
  }
  // Refs.
  for (const r of refs.listRefs()) {
    if (r.hash === ZERO_HASH) {
      if (r.kind !== 'mainline') problems.push(`ref ${r.name}: no target`);
      continue;
    }
    const e = store.lookup(r.hash);
    if (!e) problems.push(`ref ${r.name}: target ${r.hash} is missing`);
    else if ((r.kind === 'branch' || r.kind === 'boot' || r.kind === 'mainline') && e.type !== 1) problems.push(`ref ${r.name}: target ${r.hash} is not a commit`);
    const raw = store.slots[r.slot]!;
    if (raw.forkedFrom !== REF_NONE && !store.slots[raw.forkedFrom]) problems.push(`ref ${r.name}: forked-from slot ${raw.forkedFrom} is empty`);
  }
  // Connectivity: everything reachable from the refs is present (or a referral).
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const r of refs.listRefs()) if (r.hash !== ZERO_HASH) stack.push(r.hash);
  while (stack.length > 0) {
    const h = stack.pop()!;
    if (seen.has(h)) continue;
    seen.add(h);
    const e = store.lookup(h);
    if (!e) {
      problems.push(`object ${h}: missing (reachable from a ref)`);
      continue;
    }
    if (e.storage === STORE_REFERRAL || e.type === OBJ_BLOB) continue; // blobs have no links
    let o: GitObject;
    try {
      o = store.readObject(h);
      if (o.type === 'commit') {
        const c = decodeCommit(o.data, `commit ${h}`);
        stack.push(c.tree, ...c.parents);
      } else if (o.type === 'tree') {
        for (const t of decodeTree(o.data, `tree ${h}`)) if (t.mode !== MODE_GITLINK) stack.push(t.hash);
      } else if (o.type === 'tag') {
        const t = decodeTag(o.data, `tag ${h}`);
        const te = store.lookup(t.object);
        if (te && te.type !== typeToNum(t.type)) problems.push(`tag ${h}: names a ${t.type} but ${t.object} is a ${numToType(te.type) ?? te.type}`);
        stack.push(t.object);
      }
    } catch (err) {
      if (!isUserError(err)) throw err; // already reported above
    }
  }
  // The mainline log: a chain of commits with branch mainline.
  let mainlineCommits = 0;
  let m = refs.readRef(MAINLINE);
  const mseen = new Set<string>();
  while (m && !mseen.has(m)) {
    mseen.add(m);
    try {
      const c = history.readCommit(m);
      mainlineCommits++;
      if (c.headers.find(([k]) => k === 'branch')?.[1] !== MAINLINE) problems.push(`mainline: commit ${m} is not a mainline-log commit`);
      m = c.parents[0];
    } catch (err) {
      if (!isUserError(err)) throw err;
      problems.push(`mainline: ${err.message}`);
      break;
    }
  }
  const uniq = [...new Set(problems)];
  const warnings = [...store.warnings, ...store.fallbackWarnings()];
  return { ok: uniq.length === 0, objects: ids.length - referrals, referrals, refs: refs.listRefs().length, mainlineCommits, problems: uniq, warnings };
}
