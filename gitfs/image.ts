// A GitFS image: the one handle builder/, emulator/, cli/ and tests use. It opens or creates
// the image and puts together the modules that do the work:
//   store.ts       the object log, the index, superblock transactions, reading and writing objects
//   mount.ts       choosing the superblock copy to trust; format.ts: a fresh image
//   refs-table.ts  ref slots, ref updates and the mainline log
//   history.ts     revisions, commits, trees, paths, files, log
//   commit-tree.ts committing a set of files to a branch
//   fsck.ts        verification; import.ts: storing objects read from git; ls.ts: listings
// Byte-exact format: docs/gitfs-format.md.
import { closeSync, existsSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { BadInputError, UsageError } from '../core/errors.ts';
import { type BlockDev, FileBlockDev } from './blockdev.ts';
import type { Commit } from './commit.ts';
import { type CommitOptions, type CommitStats, commitTree, type FileInput } from './commit-tree.ts';
import { formatDevice, MIN_IMAGE_BYTES } from './format.ts';
import { type FsckReport, fsck } from './fsck.ts';
import { type FileContent, type FileEntry, History, type LogEntry } from './history.ts';
import { type ImportObject, type ImportRef, importObjects } from './import.ts';
import { SECTOR_SIZE } from './layout.ts';
import type { GitObject, ObjectType } from './objects.ts';
import { type RefInfo, RefTable, type SetRefOptions } from './refs-table.ts';
import { ObjectStore, type Referral } from './store.ts';
import type { TreeEntry } from './tree.ts';

export { MIN_IMAGE_BYTES } from './format.ts';
export type { BlobSource, Referral } from './store.ts';
export type { CommitOptions, CommitStats, FileInput } from './commit-tree.ts';
export type { FileContent, FileEntry, LogEntry } from './history.ts';
export type { FsckReport } from './fsck.ts';
export type { Identity, RefInfo, SetRefOptions } from './refs-table.ts';

export interface CreateOptions {
  sizeBytes: number;
  /** Replace an existing file (default true for the API; the CLI asks for --force). */
  overwrite?: boolean;
  dev?: BlockDev;
}

export interface OpenOptions {
  readOnly?: boolean;
  /** Use this device instead of opening the file (fault injection in tests). */
  dev?: BlockDev;
}

export function createImage(path: string, opts: CreateOptions): GitFSImage {
  const size = opts.sizeBytes;
  if (!Number.isSafeInteger(size) || size < MIN_IMAGE_BYTES) throw new UsageError(`image size must be at least ${MIN_IMAGE_BYTES} bytes`);
  if (size % SECTOR_SIZE !== 0) throw new UsageError(`image size must be a multiple of ${SECTOR_SIZE} bytes`);
  let dev = opts.dev;
  if (!dev) {
    if (existsSync(path) && opts.overwrite === false) throw new UsageError(`${path} already exists (use --force to replace it)`);
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new BadInputError(`${path}: cannot create (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    ftruncateSync(fd, size);
    closeSync(fd);
    dev = new FileBlockDev(path, false);
  }
  try {
    formatDevice(dev, size);
  } catch (e) {
    dev.close();
    if (!opts.dev) unlinkSync(path);
    throw e;
  }
  return new GitFSImage(path, dev, false);
}

export function openImage(path: string, opts: OpenOptions = {}): GitFSImage {
  const dev = opts.dev ?? new FileBlockDev(path, opts.readOnly ?? false);
  return new GitFSImage(path, dev, opts.readOnly ?? false);
}

export class GitFSImage {
  readonly store: ObjectStore;
  readonly refs: RefTable;
  readonly history: History;

  constructor(
    readonly path: string,
    dev: BlockDev,
    readonly readOnly: boolean,
  ) {
    this.store = new ObjectStore(path, dev, readOnly);
    this.refs = new RefTable(this.store);
    this.history = new History(this.store, this.refs);
  }

  /** Problems met while opening that did not stop it (e.g. one bad superblock copy). */
  get warnings(): string[] {
    return this.store.warnings;
  }

  // Objects
  hasObject(hash: string): boolean {
    return this.store.hasObject(hash);
  }
  /** Every object id in the index (stored objects and referrals). */
  objectIds(): string[] {
    return this.store.objectIds();
  }
  objectCount(): number {
    return this.store.objectIds().length;
  }
  /** Reads and verifies an object (applying deltas); NotFoundError if absent or only a referral. */
  readObject(hash: string): GitObject {
    return this.store.readObject(hash);
  }
  /** Many objects, verified, in log order with batched reads (big blobs handed to `onLarge` to stream, if given). */
  readObjects(hashes: Iterable<string>, opts: { onLarge?: (hash: string) => void } = {}): Generator<{ hash: string; object: GitObject }> {
    return this.store.readObjects(hashes, opts);
  }
  /** An object of any size in verified chunks (the hash is checked after the last one). */
  readChunks(hash: string): Generator<Buffer> {
    return this.store.readChunks(hash);
  }
  /** Where a raw (non-delta) object's content starts on disk. */
  locateRaw(hash: string): { lba: number; offset: number; size: number } {
    return this.store.locateRaw(hash);
  }
  /** Stores an object (no-op if present). Blobs may be stored as a delta against `deltaBase`. */
  putObject(type: ObjectType, data: Buffer, opts: { deltaBase?: string; raw?: boolean; hash?: string } = {}): { hash: string; stored: boolean; delta: boolean } {
    return this.store.putObject(type, data, opts);
  }
  /** Records that `holders` have an object this disk does not store (size and holders only). */
  addReferral(ref: Referral, opts: { reason?: string } = {}): void {
    void opts;
    this.store.addReferral(ref);
  }
  /** The referral record for a hash, if the index holds only a referral. */
  readReferral(hash: string): Referral | undefined {
    return this.store.readReferral(hash);
  }

  // Refs
  readRef(name: string): string | undefined {
    return this.refs.readRef(name);
  }
  refInfo(name: string): RefInfo | undefined {
    return this.refs.refInfo(name);
  }
  listRefs(): RefInfo[] {
    return this.refs.listRefs();
  }
  /** The filesystem revision: the mainline log's head. */
  revision(): string | undefined {
    return this.refs.revision();
  }
  /** Points a ref at an object (atomically), with a mainline-log commit for the update. */
  setRef(name: string, hash: string, opts: SetRefOptions = {}): void {
    this.refs.setRef(name, hash, opts);
  }

  // Commits and history
  /** Commits `files` as the complete new content of `branch`; returns the commit hash. */
  commitTree(branch: string, files: readonly FileInput[], opts: CommitOptions, stats?: CommitStats, onFile?: (i: number) => void): string {
    return commitTree(this.store, this.refs, this.history, branch, files, opts, stats, onFile);
  }
  readCommit(hash: string): Commit {
    return this.history.readCommit(hash);
  }
  readTree(hash: string): TreeEntry[] {
    return this.history.readTree(hash);
  }
  /** The tree of a commit, or the hash itself when it names a tree. */
  commitTreeHash(hash: string): string {
    return this.history.commitTreeHash(hash);
  }
  /** Every file under a tree, with full paths (flat and split trees alike). */
  listFiles(tree: string, depth = 0): FileEntry[] {
    return this.history.listFiles(tree, depth);
  }
  /** Finds a path in a tree: a file entry, or a subtree entry for a split directory. */
  lookupPath(tree: string, path: string, depth = 0): TreeEntry | undefined {
    return this.history.lookupPath(tree, path, depth);
  }
  /** Resolves NAME, HASH, abbreviated HASH, with ~N / ^N steps, to a full hash. */
  resolveRev(rev: string): string {
    return this.history.resolveRev(rev);
  }
  /** The content of PATH at REV. */
  readFile(rev: string, path: string): Buffer {
    return this.history.readFile(rev, path);
  }
  /** Every file of a tree or revision with its verified content, in log order. */
  readTreeFiles(treeOrRev: string): Generator<FileContent> {
    return this.history.readTreeFiles(treeOrRev);
  }
  /** History from REV: commits newest first (by committer time, like `git log`). */
  log(rev: string, opts: { limit?: number; firstParent?: boolean } = {}): LogEntry[] {
    return this.history.log(rev, opts);
  }

  // Boot area, verification, import, figures
  /** Writes the MBR (sector 0) and stage 2 (LBA 1..127); never touches the GitFS area. */
  writeBootArea(mbr: Buffer, stage2: Buffer): void {
    this.store.writeBootArea(mbr, stage2);
  }
  fsck(onProgress?: (done: number, total: number) => void): FsckReport {
    return fsck(this.store, this.refs, this.history, onProgress);
  }
  /**
   * Store raw objects read elsewhere (git import) in one transaction, with referrals for objects
   * held elsewhere (a shallow clone's boundary parents) and the ref updates.
   */
  importObjects(objects: Iterable<ImportObject>, refs: ImportRef[], onObject?: () => void, referrals: readonly Referral[] = []): number {
    return importObjects(this.store, this.refs, objects, refs, onObject, referrals);
  }
  /** Generation of the active superblock copy. */
  generation(): number {
    return this.store.superblock.generation;
  }
  stats(): { diskBytes: number; logBytes: number; logCapacity: number; objects: number; generation: number; activeCopy: 'A' | 'B' } {
    return this.store.stats();
  }
  close(): void {
    this.store.close();
  }
}
