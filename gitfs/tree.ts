// Git trees: encode/decode, git's entry order, and GitFS flat trees that split directories off
// into subtrees once a tree passes TREE_SPLIT_THRESHOLD entries (docs/gitfs-format.md).
import { CorruptDataError, UsageError } from '../core/errors.ts';
import { hashObject } from './objects.ts';
import { TREE_SPLIT_THRESHOLD } from './layout.ts';

export const MODE_FILE = '100644';
export const MODE_EXEC = '100755';
export const MODE_SYMLINK = '120000';
export const MODE_TREE = '40000';
export const MODE_GITLINK = '160000';

export interface TreeEntry {
  /** Octal mode as git writes it ("100644", "40000", ...). */
  readonly mode: string;
  /** A name; in a flat tree it may be a full path (`boot/kernel.bin`). */
  readonly name: string;
  readonly hash: string;
}

export function isTreeMode(mode: string): boolean {
  return mode === MODE_TREE || mode === '040000';
}

/** Normalises a numeric or string mode to git's spelling (trees are "40000"). */
export function modeString(mode: number | string): string {
  const m = typeof mode === 'number' ? mode.toString(8) : mode.replace(/^0+(?=\d)/, '');
  if (m === '40000') return MODE_TREE;
  if (m === '100644' || m === '100755' || m === '120000' || m === '160000') return m;
  throw new UsageError(`unsupported file mode ${typeof mode === 'number' ? '0' + mode.toString(8) : mode}`);
}

/** git's order: byte order of names, where a tree's name compares as if it ended in '/'. */
export function compareEntries(a: TreeEntry, b: TreeEntry): number {
  const an = Buffer.from(isTreeMode(a.mode) ? a.name + '/' : a.name, 'utf8');
  const bn = Buffer.from(isTreeMode(b.mode) ? b.name + '/' : b.name, 'utf8');
  return Buffer.compare(an, bn);
}

export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const sorted = [...entries].sort(compareEntries);
  const parts: Buffer[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.name === e.name) throw new UsageError(`duplicate tree entry ${JSON.stringify(e.name)}`);
    if (e.name.length === 0 || e.name.includes('\0')) throw new UsageError(`bad tree entry name ${JSON.stringify(e.name)}`);
    parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.hash, 'hex'));
  }
  return Buffer.concat(parts);
}

/** Parses a tree object's content; malformed input gives CorruptDataError. */
export function decodeTree(data: Buffer, what = 'tree'): TreeEntry[] {
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0 || sp - i > 7 || sp === i) throw new CorruptDataError(`malformed ${what}: bad mode at byte ${i}`);
    const mode = data.toString('latin1', i, sp);
    if (!/^[0-7]+$/.test(mode)) throw new CorruptDataError(`malformed ${what}: bad mode ${JSON.stringify(mode)}`);
    const nul = data.indexOf(0, sp + 1);
    if (nul < 0 || nul === sp + 1) throw new CorruptDataError(`malformed ${what}: bad entry name at byte ${sp + 1}`);
    if (nul + 21 > data.length) throw new CorruptDataError(`malformed ${what}: truncated entry at byte ${i}`);
    const name = data.toString('utf8', sp + 1, nul);
    const hash = data.toString('hex', nul + 1, nul + 21);
    out.push({ mode, name, hash });
    i = nul + 21;
  }
  return out;
}

/** A file to put in a tree. */
export interface TreeFile {
  readonly path: string;
  readonly mode: string;
  readonly hash: string;
}

/** A tree object produced while building: its hash and content. */
export interface BuiltTree {
  readonly hash: string;
  readonly data: Buffer;
}

export function normalizePath(p: string): string {
  const parts = p.split('/').filter((s) => s.length > 0 && s !== '.');
  if (parts.length === 0 || parts.some((s) => s === '..' || s.includes('\0'))) {
    throw new UsageError(`bad path ${JSON.stringify(p)}`);
  }
  return parts.join('/');
}

/**
 * Builds GitFS trees for a set of files. A tree is flat (names are relative paths) while it has
 * at most `threshold` entries; otherwise the top-level directory with the most entries (ties: the
 * smaller name) is split off into a subtree, built by the same rule, until the tree fits or no
 * directory is left. `threshold` 0 splits every directory: git's own form.
 * Returns the root tree hash; every tree made is passed to `emit` (children before parents).
 */
export function buildTree(files: readonly TreeFile[], emit: (t: BuiltTree) => void, threshold = TREE_SPLIT_THRESHOLD): string {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new UsageError(`duplicate path ${JSON.stringify(f.path)}`);
    seen.add(f.path);
  }
  return buildLevel(files.map((f) => ({ rel: f.path, f })), emit, threshold);
}

function buildLevel(items: { rel: string; f: TreeFile }[], emit: (t: BuiltTree) => void, threshold: number): string {
  // Group by top-level directory.
  const dirs = new Map<string, { rel: string; f: TreeFile }[]>();
  const plain: { rel: string; f: TreeFile }[] = [];
  for (const it of items) {
    const slash = it.rel.indexOf('/');
    if (slash < 0) plain.push(it);
    else {
      const d = it.rel.slice(0, slash);
      let g = dirs.get(d);
      if (!g) dirs.set(d, (g = []));
      g.push(it);
    }
  }
  for (const it of plain) {
    if (dirs.has(it.rel)) throw new UsageError(`path ${JSON.stringify(it.f.path)} is both a file and a directory`);
  }
  let count = items.length;
  const split = new Set<string>();
  const order = [...dirs.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [d, g] of order) {
    if (count <= threshold) break;
    split.add(d);
    count = count - g.length + 1;
  }
  const entries: TreeEntry[] = [];
  for (const it of plain) entries.push({ mode: it.f.mode, name: it.rel, hash: it.f.hash });
  for (const [d, g] of dirs) {
    if (split.has(d)) {
      const sub = buildLevel(g.map((x) => ({ rel: x.rel.slice(d.length + 1), f: x.f })), emit, threshold);
      entries.push({ mode: MODE_TREE, name: d, hash: sub });
    } else {
      for (const x of g) entries.push({ mode: x.f.mode, name: x.rel, hash: x.f.hash });
    }
  }
  const data = encodeTree(entries);
  const hash = hashObject('tree', data);
  emit({ hash, data });
  return hash;
}
