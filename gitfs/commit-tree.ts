// Committing a set of files as the complete new content of a branch: blobs (small ones may be
// stored as deltas against the same path's previous version; big ones are streamed in chunks,
// raw), the trees, the commit and the ref update, in one transaction. Before anything is
// appended, the commit's size is checked against the room left in the log and the index, so a
// commit that cannot fit fails with DiskFullError and leaves the image as it was.
import { createHash } from 'node:crypto';
import { BadInputError, DiskFullError, NotFoundError, UsageError } from '../core/errors.ts';
import { encodeCommit, formatSignature } from './commit.ts';
import type { FileEntry, History } from './history.ts';
import { REC_ALIGN, REC_HDR_SIZE, REF_NAME_MAX, REF_NONE, REF_SLOTS } from './layout.ts';
import { recordSize } from './log-record.ts';
import { hashObject, ZERO_HASH } from './objects.ts';
import { MAINLINE, numToKind, validateRefName } from './refs.ts';
import { DEFAULT_IDENTITY, type Identity, type RefTable } from './refs-table.ts';
import { type BlobSource, type ObjectStore, STREAM_CHUNK } from './store.ts';
import { buildTree, isTreeMode, MODE_GITLINK, modeString, normalizePath, type TreeFile } from './tree.ts';

interface FileInputBase {
  path: string;
  /** 0o100644 (default), 0o100755, 0o120000 (the content is the link target). */
  mode?: number | string;
  /** Always store raw, never as a delta (paths under boot/ always are). */
  raw?: boolean;
}

/** A file to commit: its content in memory (`data`), or read from a `source` when it is committed. */
export type FileInput = FileInputBase & ({ data: Buffer; source?: undefined } | { source: BlobSource; data?: undefined });

export interface CommitOptions {
  message: string;
  /** For a new branch: the branch it forks from (its head becomes the parent). */
  from?: string;
  /** Extra commit headers (e.g. kernel-version), after the branch/forked-from headers. */
  headers?: Record<string, string>;
  author?: Identity;
  committer?: Identity;
}

export interface CommitStats {
  files: number;
  storedBlobs: number;
  deltas: number;
  reusedBlobs: number;
  bytesWritten: number;
}

/** Files bigger than this are streamed (raw, never whole in memory); smaller ones may become deltas. */
export const STREAM_THRESHOLD = 32 << 20;

function sizeOf(f: FileInput): number {
  return f.data ? f.data.length : f.source.size;
}

/** Reads a source whole (small files). */
function readWhole(src: BlobSource): Buffer {
  const buf = Buffer.allocUnsafe(src.size);
  let pos = 0;
  while (pos < src.size) {
    const n = src.read(pos, buf.subarray(pos));
    if (n <= 0) throw new BadInputError(`a file shrank while it was being committed (${pos} of ${src.size} bytes read)`);
    pos += n;
  }
  return buf;
}

/** The blob hash of a file's content, reading a source in chunks. */
function blobHash(f: FileInput): string {
  if (f.data) return hashObject('blob', f.data);
  const src = f.source;
  const sha = createHash('sha1').update(`blob ${src.size}\0`);
  const buf = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, Math.max(1, src.size)));
  for (let pos = 0; pos < src.size; ) {
    const n = src.read(pos, buf.subarray(0, Math.min(buf.length, src.size - pos)));
    if (n <= 0) throw new BadInputError(`a file shrank while it was being committed (${pos} of ${src.size} bytes read)`);
    sha.update(buf.subarray(0, n));
    pos += n;
  }
  return sha.digest('hex');
}

/**
 * An upper bound of what a commit appends: log bytes and index entries. Every blob counted at its
 * raw size (deltas and already-stored blobs only make it smaller), every tree entry once, a tree
 * record per directory, the commit, and the mainline-log tree and commit.
 */
function commitBound(files: readonly { path: string; size: number }[], opts: CommitOptions): { bytes: number; entries: number } {
  let bytes = 0;
  let treeBytes = 0;
  const dirs = new Set<string>();
  for (const f of files) {
    bytes += recordSize(f.size);
    treeBytes += 8 + Buffer.byteLength(f.path, 'utf8') + 21;
    for (let i = f.path.indexOf('/'); i >= 0; i = f.path.indexOf('/', i + 1)) dirs.add(f.path.slice(0, i));
  }
  for (const d of dirs) treeBytes += 8 + Buffer.byteLength(d, 'utf8') + 21;
  bytes += treeBytes + (dirs.size + 1) * (REC_HDR_SIZE + REC_ALIGN);
  const headerBytes = Object.entries(opts.headers ?? {}).reduce((s, [k, v]) => s + k.length + Buffer.byteLength(v, 'utf8') + 2, 0);
  bytes += recordSize(2048 + Buffer.byteLength(opts.message, 'utf8') + headerBytes);
  bytes += recordSize(REF_SLOTS * (8 + REF_NAME_MAX + 21)) + recordSize(2048);
  return { bytes, entries: files.length + dirs.size + 1 + 3 };
}

/** DiskFullError unless the commit fits; hashes files only when the cheap bound does not fit. */
function checkRoom(store: ObjectStore, files: readonly FileInput[], paths: readonly string[], opts: CommitOptions): void {
  const room = store.room();
  const sized = files.map((f, i) => ({ path: paths[i]!, size: sizeOf(f) }));
  const bound = commitBound(sized, opts);
  if (bound.bytes <= room.logBytes && bound.entries <= room.indexEntries) return;
  // Closer look: blobs already stored (or twice in this commit) take no room. A file bigger
  // than the whole used log cannot be stored already, so it is not read for this.
  const seen = new Set<string>();
  const fresh: { path: string; size: number }[] = [];
  let reused = 0;
  files.forEach((f, i) => {
    const size = sized[i]!.size;
    if (size <= room.logUsed) {
      const h = blobHash(f);
      if (store.hasObject(h) || seen.has(h)) {
        reused++;
        fresh.push({ path: paths[i]!, size: 0 });
        return;
      }
      seen.add(h);
    }
    fresh.push({ path: paths[i]!, size });
  });
  const exact = commitBound(fresh, opts);
  const bytes = exact.bytes - reused * recordSize(0);
  const entries = exact.entries - reused;
  if (bytes > room.logBytes) throw new DiskFullError(`${store.path}: disk full (the commit needs up to ${bytes} bytes of log, ${room.logBytes} are free)`);
  if (entries > room.indexEntries) throw new DiskFullError(`${store.path}: disk full (the commit adds up to ${entries} objects, the index has room for ${room.indexEntries})`);
}

/** Commits `files` as the complete new content of `branch`; returns the commit hash. */
export function commitTree(
  store: ObjectStore, refs: RefTable, history: History,
  branch: string, files: readonly FileInput[], opts: CommitOptions, stats?: CommitStats, onFile?: (i: number) => void,
): string {
  return store.transaction(() => {
    validateRefName(branch);
    if (branch === MAINLINE) throw new UsageError('cannot commit to the mainline log');
    const slots = store.slots;
    const slot = refs.slotOf(branch);
    let parent: string | undefined;
    let forkedFrom: string | undefined;
    if (slot >= 0) {
      const r = slots[slot]!;
      const k = numToKind(r.kind);
      if (k !== 'branch' && k !== 'boot') throw new UsageError(`${branch} is a ${k} ref, not a branch`);
      parent = r.target === ZERO_HASH ? undefined : r.target;
      if (opts.from !== undefined) {
        const cur = r.forkedFrom !== REF_NONE ? slots[r.forkedFrom]?.name : undefined;
        if (cur !== opts.from) throw new UsageError(`branch ${branch} already exists; --from applies only to a new branch`);
      }
    } else if (opts.from !== undefined) {
      const f = refs.slotOf(opts.from);
      if (f < 0) throw new NotFoundError(`branch ${opts.from} not found`);
      parent = refs.readRef(opts.from);
      forkedFrom = opts.from;
    }
    const headers: [string, string][] = [['branch', branch]];
    if (forkedFrom) headers.push(['forked-from', forkedFrom]);
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers.push([k, v]);
    // Check every path and mode before anything is read or written.
    const paths: string[] = [];
    const modes: string[] = [];
    const seen = new Set<string>();
    for (const f of files) {
      const path = normalizePath(f.path);
      if (seen.has(path)) throw new UsageError(`duplicate path ${JSON.stringify(path)}`);
      seen.add(path);
      const mode = modeString(f.mode ?? 0o100644);
      if (isTreeMode(mode) || mode === MODE_GITLINK) throw new UsageError(`${path}: files must be blobs`);
      paths.push(path);
      modes.push(mode);
    }
    checkRoom(store, files, paths, opts);
    const prevFiles = new Map<string, FileEntry>();
    if (parent) for (const f of history.listFiles(history.commitTreeHash(parent))) prevFiles.set(f.path, f);
    const treeFiles: TreeFile[] = [];
    files.forEach((f, i) => {
      const path = paths[i]!;
      const prev = prevFiles.get(path);
      let r: { hash: string; stored: boolean; delta: boolean };
      if (f.source && f.source.size > STREAM_THRESHOLD) r = store.putBlobSource(f.source);
      else {
        const raw = f.raw || path.startsWith('boot/');
        const data = f.data ?? readWhole(f.source);
        r = store.putObject('blob', data, { raw, ...(prev && !isTreeMode(prev.mode) ? { deltaBase: prev.hash } : {}) });
      }
      if (stats) {
        stats.files++;
        if (r.stored) {
          stats.storedBlobs++;
          if (r.delta) stats.deltas++;
        } else stats.reusedBlobs++;
      }
      treeFiles.push({ path, mode: modes[i]!, hash: r.hash });
      onFile?.(i);
    });
    const tree = buildTree(treeFiles, (t) => store.putObject('tree', t.data, { hash: t.hash }));
    const now = Math.floor(Date.now() / 1000);
    const author = opts.author ?? DEFAULT_IDENTITY;
    const committer = opts.committer ?? author;
    const data = encodeCommit({
      tree, parents: parent ? [parent] : [],
      author: formatSignature({ ...author, time: author.time ?? now }),
      committer: formatSignature({ ...committer, time: committer.time ?? now }),
      headers, message: opts.message.endsWith('\n') ? opts.message : opts.message + '\n',
    });
    const { hash } = store.putObject('commit', data);
    refs.updateRef(branch, hash, { kind: slot >= 0 ? numToKind(slots[slot]!.kind) : 'branch', ...(forkedFrom ? { forkedFrom } : {}), time: committer.time ?? now });
    if (stats) stats.bytesWritten = store.pendingLogBytes();
    return hash;
  });
}
