// Listing: `/` shows every ref with commits as a directory; REV[:PATH] shows a directory of a
// revision (split subtrees and the directories of flat trees alike), or one file's entry.
// `image ls` prints this; the kernel's `ls` is checked against it (test/kernel/gitfs-diff).
import { NotFoundError } from '../core/errors.ts';
import type { GitFSImage } from './image.ts';
import { ZERO_HASH } from './objects.ts';
import { splitRevPath } from './rev.ts';
import { isTreeMode, MODE_GITLINK, MODE_TREE, normalizePath } from './tree.ts';

export interface LsEntry {
  /** The entry's name in the listed directory; directories and refs end in "/". */
  name: string;
  type: 'blob' | 'tree' | 'commit' | 'branch';
  mode?: string;
  /** The object; "" for a directory of a flat tree (it has no tree object of its own). */
  hash: string;
}

export interface LsResult {
  path: string;
  entries: LsEntry[];
}

/** Lists `spec` (REV or REV:PATH), or every ref when `spec` is undefined. Entries sorted by name. */
export function lsImage(img: GitFSImage, spec: string | undefined): LsResult {
  if (spec === undefined) {
    return {
      path: '/',
      entries: img.listRefs().filter((r) => r.hash !== ZERO_HASH).map((r) => ({ name: r.name + '/', type: 'branch', hash: r.hash })),
    };
  }
  const { rev, path } = splitRevPath(spec);
  const tree = img.commitTreeHash(img.resolveRev(rev));
  const dir = path && path.replace(/^\/+|\/+$/g, '') !== '' ? normalizePath(path) : '';
  const files = img.listFiles(tree);
  const exact = dir ? files.find((f) => f.path === dir) : undefined;
  if (exact) return { path: dir, entries: [{ name: dir, type: exact.mode === MODE_GITLINK ? 'commit' : 'blob', mode: exact.mode, hash: exact.hash }] };
  const prefix = dir ? dir + '/' : '';
  const seen = new Map<string, LsEntry>();
  for (const f of files) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) seen.set(rest, { name: rest, type: f.mode === MODE_GITLINK ? 'commit' : 'blob', mode: f.mode, hash: f.hash });
    else {
      const d = rest.slice(0, slash) + '/';
      if (!seen.has(d)) {
        const sub = img.lookupPath(tree, prefix + rest.slice(0, slash));
        seen.set(d, { name: d, type: 'tree', mode: MODE_TREE, hash: sub && isTreeMode(sub.mode) ? sub.hash : '' });
      }
    }
  }
  if (dir && seen.size === 0) throw new NotFoundError(`path ${dir} not found in ${rev}`);
  return { path: dir || '/', entries: [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) };
}
