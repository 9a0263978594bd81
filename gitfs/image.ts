// The GitFS image store: create, open (validating), append objects, look up by hash, update refs
// atomically (data, index, then the inactive superblock copy), the mainline log, history.
// Byte-exact format: docs/gitfs-format.md.
import { existsSync, openSync, closeSync, ftruncateSync, unlinkSync } from 'node:fs';
import { BadInputError, CorruptDataError, NotFoundError, UsageError, isUserError } from '../core/errors.ts';
import { type BlockDev, FileBlockDev } from './blockdev.ts';
import { type Commit, decodeCommit, encodeCommit, formatSignature, signatureTime } from './commit.ts';
import { applyDelta, encodeDelta } from './delta.ts';
import {
  BOOT_AREA_END_LBA, DELTA_MAX_DEPTH, LOG_LBA, REC_HDR_SIZE, REF_NONE, REF_SLOTS, REFERRAL_HOLDER_SIZE, SB_A_LBA,
  SB_B_LBA, SB_BYTES, SECTOR_SIZE, STAGE2_LBA, STAGE2_MAX_BYTES, STORE_DELTA, STORE_RAW, STORE_REFERRAL,
} from './layout.ts';
import { decodeRecordHeader, encodeRecord, recordSize, type RecordHeader } from './log-record.ts';
import { decodeIndex, encodeIndex, indexBytes, indexCrc, type IndexEntry } from './object-index.ts';
import { type GitObject, hashObject, isFullHash, numToType, type ObjectType, typeToNum, ZERO_HASH } from './objects.ts';
import { type BootState, kindToNum, MAINLINE, numToKind, numToState, type RefKind, stateToNum, validateRefName } from './refs.ts';
import { parseRev } from './rev.ts';
import { decodeSuperblock, encodeSuperblock, type RefSlot, type Superblock } from './superblock.ts';
import { decodeTag, peelTag, TAG_REF_PREFIX } from './tag.ts';
import { buildTree, decodeTree, isTreeMode, MODE_GITLINK, modeString, normalizePath, type TreeEntry, type TreeFile } from './tree.ts';

export const MIN_IMAGE_BYTES = 1024 * 1024;

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

export interface RefInfo {
  name: string;
  hash: string;
  kind: RefKind;
  forkedFrom?: string;
  state: BootState;
  triesLeft: number;
  slot: number;
}

export interface SetRefOptions {
  kind?: RefKind;
  /** Name of the branch this one was forked from (new refs only, or to change it). */
  forkedFrom?: string;
  state?: BootState;
  triesLeft?: number;
  /** Reason recorded in the mainline-log commit message. */
  reason?: string;
  time?: number;
}

export interface FileInput {
  path: string;
  data: Buffer;
  /** 0o100644 (default), 0o100755, 0o120000 (data is the link target). */
  mode?: number | string;
  /** Always store raw, never as a delta (paths under boot/ always are). */
  raw?: boolean;
}

export interface Identity {
  name: string;
  email: string;
  /** Seconds since the epoch; default now. */
  time?: number;
  tz?: string;
}

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

export interface LogEntry {
  hash: string;
  commit: Commit;
}

export interface FileEntry {
  path: string;
  mode: string;
  hash: string;
}

export interface FsckReport {
  ok: boolean;
  objects: number;
  referrals: number;
  refs: number;
  mainlineCommits: number;
  problems: string[];
  warnings: string[];
}

export interface Referral {
  hash: string;
  type: ObjectType;
  size: number;
  holders: string[];
}

const DEFAULT_IDENTITY: Identity = { name: 'gittorrent', email: 'gittorrent@localhost' };

interface PendingObject {
  type: ObjectType;
  data: Buffer;
}

/** Sizes a fresh image: the log between LOG_LBA and two index regions at the end. */
function geometry(sizeBytes: number): { diskSectors: number; indexSectors: number; indexALba: number; indexBLba: number } {
  const diskSectors = Math.floor(sizeBytes / SECTOR_SIZE);
  const indexSectors = Math.max(32, Math.floor(diskSectors / 64));
  const indexBLba = diskSectors - indexSectors;
  const indexALba = indexBLba - indexSectors;
  return { diskSectors, indexSectors, indexALba, indexBLba };
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
  const g = geometry(size);
  const refs: (RefSlot | undefined)[] = new Array(REF_SLOTS).fill(undefined);
  refs[0] = { name: MAINLINE, target: ZERO_HASH, kind: kindToNum('mainline'), state: 0, triesLeft: 0, flags: 0, forkedFrom: REF_NONE, updatedGen: 1 };
  const base: Superblock = {
    generation: 1, diskSectors: g.diskSectors, logLba: LOG_LBA, logEnd: LOG_LBA * SECTOR_SIZE, logLimitLba: g.indexALba,
    indexLba: g.indexALba, indexSectors: g.indexSectors, indexCount: 0, indexCrc: 0, indexALba: g.indexALba, indexBLba: g.indexBLba,
    copy: 0, refs,
  };
  try {
    for (const copy of [0, 1]) {
      const idx = encodeIndex([], 0);
      const sb: Superblock = { ...base, copy, generation: copy === 0 ? 1 : 0, indexLba: copy === 0 ? g.indexALba : g.indexBLba, indexCrc: indexCrc(idx) };
      dev.write(sb.indexLba * SECTOR_SIZE, idx);
      dev.write((copy === 0 ? SB_A_LBA : SB_B_LBA) * SECTOR_SIZE, encodeSuperblock(sb));
    }
    dev.sync();
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
  private sb!: Superblock;
  private entries = new Map<string, IndexEntry>();
  /** Objects appended in the current transaction (not yet in the index on disk). */
  private pendingEntries = new Map<string, IndexEntry>();
  private pendingObjects = new Map<string, PendingObject>();
  private pendingChunks: Buffer[] = [];
  private pendingStart = 0;
  private pendingBytes = 0;
  private logEnd = 0;
  private refs: (RefSlot | undefined)[] = [];
  private cache = new Map<string, GitObject>();
  private cacheBytes = 0;
  private closed = false;
  /** Problems met while opening that did not stop it (e.g. one bad superblock copy). */
  readonly warnings: string[] = [];

  constructor(
    readonly path: string,
    private readonly dev: BlockDev,
    readonly readOnly: boolean,
  ) {
    try {
      this.load();
    } catch (e) {
      dev.close();
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Opening

  private load(): void {
    const dev = this.dev;
    if (dev.size < SB_B_LBA * SECTOR_SIZE + SB_BYTES) {
      throw new BadInputError(`${this.path}: not a GitFS image (${dev.size} bytes is too small)`);
    }
    const copies = [SB_A_LBA, SB_B_LBA].map((lba, i) => ({ name: i === 0 ? 'A' : 'B', res: decodeSuperblock(dev.read(lba * SECTOR_SIZE, SB_BYTES)) }));
    if (copies.every((c) => !c.res.ok && !c.res.hasMagic)) throw new BadInputError(`${this.path}: not a GitFS image (no superblock magic)`);
    const reasons: string[] = [];
    const good: { name: string; sb: Superblock }[] = [];
    for (const c of copies) {
      if (c.res.ok) good.push({ name: c.name, sb: c.res.sb });
      else reasons.push(`superblock ${c.name}: ${c.res.reason}`);
    }
    good.sort((a, b) => b.sb.generation - a.sb.generation);
    for (const g of good) {
      const sb = g.sb;
      if (dev.size < sb.diskSectors * SECTOR_SIZE) {
        throw new BadInputError(`${this.path}: image is truncated (${dev.size} bytes, superblock says ${sb.diskSectors * SECTOR_SIZE})`);
      }
      try {
        this.checkGeometry(sb);
        const idx = dev.read(sb.indexLba * SECTOR_SIZE, indexBytes(sb.indexCount));
        if (indexCrc(idx) !== sb.indexCrc) throw new CorruptDataError('index checksum mismatch');
        const entries = decodeIndex(idx, sb.indexCount);
        for (const e of entries) {
          if (e.offset < sb.logLba * SECTOR_SIZE || e.offset + REC_HDR_SIZE > sb.logEnd) throw new CorruptDataError(`index entry ${e.hash} points outside the log`);
        }
        this.sb = sb;
        this.logEnd = sb.logEnd;
        this.refs = sb.refs.map((r) => (r ? { ...r } : undefined));
        this.entries = new Map(entries.map((e) => [e.hash, e]));
        this.warnings.push(...reasons);
        return;
      } catch (e) {
        if (!isUserError(e)) throw e;
        reasons.push(`superblock ${g.name} (generation ${sb.generation}): ${e.message}`);
      }
    }
    throw new CorruptDataError(`${this.path}: no usable superblock (${reasons.join('; ')})`);
  }

  private checkGeometry(sb: Superblock): void {
    const bad = (what: string): never => {
      throw new CorruptDataError(`bad geometry: ${what}`);
    };
    if (sb.logLba !== LOG_LBA) bad('log start');
    if (sb.indexSectors < 4 || sb.indexALba + sb.indexSectors !== sb.indexBLba || sb.indexBLba + sb.indexSectors > sb.diskSectors) bad('index regions');
    if (sb.logLimitLba !== sb.indexALba || sb.logLimitLba <= LOG_LBA) bad('log limit');
    if (sb.logEnd < LOG_LBA * SECTOR_SIZE || sb.logEnd > sb.logLimitLba * SECTOR_SIZE || sb.logEnd % 64 !== 0) bad('log end');
    if (sb.copy > 1 || sb.indexLba !== (sb.copy === 0 ? sb.indexALba : sb.indexBLba)) bad('index location');
    if (indexBytes(sb.indexCount) > sb.indexSectors * SECTOR_SIZE) bad('index count');
    const r0 = sb.refs[0];
    if (!r0 || r0.name !== MAINLINE || numToKind(r0.kind) !== 'mainline') bad('slot 0 is not the mainline ref');
  }

  // -------------------------------------------------------------------------------------------
  // Objects

  private lookup(hash: string): IndexEntry | undefined {
    return this.pendingEntries.get(hash) ?? this.entries.get(hash);
  }

  hasObject(hash: string): boolean {
    const e = this.lookup(hash);
    return e !== undefined && e.storage !== STORE_REFERRAL;
  }

  /** Every object id in the index (stored objects and referrals). */
  objectIds(): string[] {
    return [...new Set([...this.entries.keys(), ...this.pendingEntries.keys()])];
  }

  objectCount(): number {
    return this.objectIds().length;
  }

  private readRecordHeader(offset: number): RecordHeader {
    const end = this.committedOrPendingEnd();
    if (offset < LOG_LBA * SECTOR_SIZE || offset + REC_HDR_SIZE > end) throw new CorruptDataError(`log record at ${offset} is outside the log`);
    const h = decodeRecordHeader(this.readBytes(offset, REC_HDR_SIZE), offset);
    if (offset + REC_HDR_SIZE + h.payloadLen > end) throw new CorruptDataError(`log record at ${offset} runs past the end of the log`);
    return h;
  }

  private committedOrPendingEnd(): number {
    return this.logEnd;
  }

  private readBytes(pos: number, len: number): Buffer {
    if (pos >= this.pendingStart && this.pendingChunks.length > 0) {
      const all = Buffer.concat(this.pendingChunks);
      this.pendingChunks = [all];
      return Buffer.from(all.subarray(pos - this.pendingStart, pos - this.pendingStart + len));
    }
    return this.dev.read(pos, len);
  }

  /** Reads and verifies an object (applying deltas); NotFoundError if absent or only a referral. */
  readObject(hash: string): GitObject {
    if (!isFullHash(hash)) throw new NotFoundError(`object ${hash} not found`);
    const cached = this.cache.get(hash);
    if (cached) return cached;
    const p = this.pendingObjects.get(hash);
    if (p) return p;
    const e = this.lookup(hash);
    if (!e) throw new NotFoundError(`object ${hash} not found`);
    const obj = this.loadEntry(e, 0);
    if (obj.type !== 'blob' && obj.data.length < 1 << 20) {
      this.cache.set(hash, obj);
      this.cacheBytes += obj.data.length;
      if (this.cacheBytes > 64 << 20) {
        this.cache.clear();
        this.cacheBytes = 0;
      }
    }
    return obj;
  }

  private loadEntry(e: IndexEntry, depth: number): GitObject {
    if (e.storage === STORE_REFERRAL) throw new NotFoundError(`object ${e.hash} is not on this disk (referral only)`);
    const h = this.readRecordHeader(e.offset);
    if (h.hash !== e.hash) throw new CorruptDataError(`object ${e.hash}: log record holds ${h.hash}`);
    const type = numToType(h.type);
    if (!type || h.type !== e.type) throw new CorruptDataError(`object ${e.hash}: bad type ${h.type}`);
    const payload = this.readBytes(e.offset + REC_HDR_SIZE, h.payloadLen);
    let data: Buffer;
    if (h.storage === STORE_RAW) {
      data = payload;
    } else if (h.storage === STORE_DELTA) {
      if (depth >= DELTA_MAX_DEPTH) throw new CorruptDataError(`object ${e.hash}: delta chain too deep`);
      const be = this.lookup(h.base);
      if (!be) throw new CorruptDataError(`object ${e.hash}: delta base ${h.base} missing`);
      const base = this.loadEntry(be, depth + 1);
      try {
        data = applyDelta(base.data, payload, h.objectSize);
      } catch (err) {
        if (isUserError(err)) throw new CorruptDataError(`object ${e.hash}: ${err.message}`);
        throw err;
      }
    } else {
      throw new CorruptDataError(`object ${e.hash}: bad storage kind ${h.storage}`);
    }
    if (data.length !== h.objectSize || hashObject(type, data) !== e.hash) {
      throw new CorruptDataError(`object ${e.hash} is corrupt (hash mismatch)`);
    }
    return { type, data };
  }

  /** Where a raw (non-delta) object's content starts on disk. */
  locateRaw(hash: string): { lba: number; offset: number; size: number } {
    const e = this.lookup(hash);
    if (!e) throw new NotFoundError(`object ${hash} not found`);
    if (this.pendingEntries.has(hash)) throw new UsageError(`object ${hash} is not committed yet`);
    if (e.storage !== STORE_RAW) throw new BadInputError(`object ${hash} is not stored raw`);
    const h = this.readRecordHeader(e.offset);
    const pos = e.offset + REC_HDR_SIZE;
    return { lba: Math.floor(pos / SECTOR_SIZE), offset: pos % SECTOR_SIZE, size: h.objectSize };
  }

  private ensureWritable(): void {
    if (this.closed) throw new UsageError('image is closed');
    if (this.readOnly) throw new UsageError(`${this.path} is open read-only`);
  }

  private append(hdr: RecordHeader, payload: Buffer): IndexEntry {
    const rec = encodeRecord(hdr, payload);
    const limit = this.sb.logLimitLba * SECTOR_SIZE;
    if (this.logEnd + rec.length > limit) throw new UsageError(`${this.path}: image is full (log needs ${rec.length} more bytes)`);
    if (this.pendingChunks.length === 0) this.pendingStart = this.logEnd;
    const offset = this.logEnd;
    this.pendingChunks.push(rec);
    this.pendingBytes += rec.length;
    this.logEnd += rec.length;
    const e: IndexEntry = { hash: hdr.hash, type: hdr.type, storage: hdr.storage, depth: hdr.depth, offset };
    this.pendingEntries.set(hdr.hash, e);
    if (this.pendingBytes > 32 << 20) this.flushPending();
    return e;
  }

  /** Writes pending log bytes beyond the committed log end (unreferenced until the superblock moves). */
  private flushPending(): void {
    if (this.pendingChunks.length === 0) return;
    this.dev.write(this.pendingStart, this.pendingChunks.length === 1 ? this.pendingChunks[0]! : Buffer.concat(this.pendingChunks));
    this.pendingChunks = [];
    this.pendingBytes = 0;
    this.pendingObjects.clear();
  }

  /** Stores an object (no-op if present). Blobs may be stored as a delta against `deltaBase`. */
  putObject(type: ObjectType, data: Buffer, opts: { deltaBase?: string; raw?: boolean; hash?: string } = {}): { hash: string; stored: boolean; delta: boolean } {
    this.ensureWritable();
    const hash = opts.hash ?? hashObject(type, data);
    if (this.hasObject(hash)) return { hash, stored: false, delta: false };
    if (!opts.raw && opts.deltaBase && data.length >= 64 && opts.deltaBase !== hash) {
      const be = this.lookup(opts.deltaBase);
      if (be && be.storage !== STORE_REFERRAL && be.depth + 1 < DELTA_MAX_DEPTH && be.type === typeToNum(type)) {
        const base = this.readObject(opts.deltaBase);
        const delta = encodeDelta(base.data, data);
        // Policy: a delta only when it saves at least a quarter of the object and 64 bytes.
        if (delta.length <= data.length * 0.75 && delta.length + 64 <= data.length) {
          this.append({ type: typeToNum(type), storage: STORE_DELTA, depth: be.depth + 1, payloadLen: delta.length, objectSize: data.length, hash, base: opts.deltaBase }, delta);
          this.pendingObjects.set(hash, { type, data });
          return { hash, stored: true, delta: true };
        }
      }
    }
    this.append({ type: typeToNum(type), storage: STORE_RAW, depth: 0, payloadLen: data.length, objectSize: data.length, hash, base: ZERO_HASH }, data);
    if (this.pendingChunks.length > 0) this.pendingObjects.set(hash, { type, data });
    return { hash, stored: true, delta: false };
  }

  /** Records that `holders` have an object this disk does not store (size and holders only). */
  addReferral(ref: Referral, opts: { reason?: string } = {}): void {
    this.ensureWritable();
    void opts;
    if (!isFullHash(ref.hash)) throw new UsageError(`bad hash ${ref.hash}`);
    if (this.hasObject(ref.hash)) return;
    this.transaction(() => this.appendReferral(ref));
  }

  private appendReferral(ref: Referral): void {
    if (!isFullHash(ref.hash)) throw new UsageError(`bad hash ${ref.hash}`);
    if (this.hasObject(ref.hash)) return;
    const payload = Buffer.alloc(8 + ref.holders.length * REFERRAL_HOLDER_SIZE);
    payload.writeUInt32LE(ref.holders.length, 0);
    ref.holders.forEach((h, i) => {
      const b = Buffer.from(h, 'utf8');
      if (b.length > REFERRAL_HOLDER_SIZE) throw new UsageError(`holder id longer than ${REFERRAL_HOLDER_SIZE} bytes: ${h}`);
      b.copy(payload, 8 + i * REFERRAL_HOLDER_SIZE);
    });
    this.append({ type: typeToNum(ref.type), storage: STORE_REFERRAL, depth: 0, payloadLen: payload.length, objectSize: ref.size, hash: ref.hash, base: ZERO_HASH }, payload);
  }

  /** The referral record for a hash, if the index holds only a referral. */
  readReferral(hash: string): Referral | undefined {
    const e = this.lookup(hash);
    if (!e || e.storage !== STORE_REFERRAL) return undefined;
    const h = this.readRecordHeader(e.offset);
    const p = this.readBytes(e.offset + REC_HDR_SIZE, h.payloadLen);
    if (p.length < 8) throw new CorruptDataError(`referral ${hash}: truncated`);
    const n = p.readUInt32LE(0);
    if (8 + n * REFERRAL_HOLDER_SIZE > p.length) throw new CorruptDataError(`referral ${hash}: truncated`);
    const holders: string[] = [];
    for (let i = 0; i < n; i++) {
      const b = p.subarray(8 + i * REFERRAL_HOLDER_SIZE, 8 + (i + 1) * REFERRAL_HOLDER_SIZE);
      const z = b.indexOf(0);
      holders.push(b.toString('utf8', 0, z < 0 ? b.length : z));
    }
    return { hash, type: numToType(h.type) ?? 'blob', size: h.objectSize, holders };
  }

  // -------------------------------------------------------------------------------------------
  // Transactions: data first, then the index into the inactive region, then the inactive
  // superblock copy with generation + 1.

  private commitState(): void {
    const nextCopy = this.sb.copy === 0 ? 1 : 0;
    const generation = this.sb.generation + 1;
    const all = new Map(this.entries);
    for (const [h, e] of this.pendingEntries) all.set(h, e);
    const idx = encodeIndex(all.values(), generation);
    if (idx.length > this.sb.indexSectors * SECTOR_SIZE) throw new UsageError(`${this.path}: index is full (${all.size} objects)`);
    for (const r of this.refs) if (r && r.updatedGen === 0) r.updatedGen = generation;
    const sb: Superblock = {
      ...this.sb, generation, copy: nextCopy, indexLba: nextCopy === 0 ? this.sb.indexALba : this.sb.indexBLba,
      logEnd: this.logEnd, indexCount: all.size, indexCrc: indexCrc(idx), refs: this.refs.map((r) => (r ? { ...r } : undefined)),
    };
    this.flushPending();
    this.dev.write(sb.indexLba * SECTOR_SIZE, idx);
    this.dev.sync();
    this.dev.write((nextCopy === 0 ? SB_A_LBA : SB_B_LBA) * SECTOR_SIZE, encodeSuperblock(sb));
    this.dev.sync();
    this.sb = sb;
    this.entries = all;
    this.pendingEntries.clear();
    this.pendingObjects.clear();
  }

  /** Drops everything appended since the last commit (after a failed operation). */
  private rollback(): void {
    this.cache.clear();
    this.cacheBytes = 0;
    this.pendingEntries.clear();
    this.pendingObjects.clear();
    this.pendingChunks = [];
    this.pendingBytes = 0;
    this.logEnd = this.sb.logEnd;
    this.refs = this.sb.refs.map((r) => (r ? { ...r } : undefined));
  }

  private transaction<T>(fn: () => T): T {
    this.ensureWritable();
    try {
      const r = fn();
      this.commitState();
      return r;
    } catch (e) {
      this.rollback();
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Refs

  private slotOf(name: string): number {
    return this.refs.findIndex((r) => r?.name === name);
  }

  private info(slot: number): RefInfo {
    const r = this.refs[slot]!;
    const from = r.forkedFrom !== REF_NONE ? this.refs[r.forkedFrom]?.name : undefined;
    return { name: r.name, hash: r.target, kind: numToKind(r.kind), ...(from ? { forkedFrom: from } : {}), state: numToState(r.state), triesLeft: r.triesLeft, slot };
  }

  /** The hash a ref points to, or undefined (also for a ref with no commits yet). */
  readRef(name: string): string | undefined {
    const s = this.slotOf(name);
    if (s < 0) return undefined;
    const t = this.refs[s]!.target;
    return t === ZERO_HASH ? undefined : t;
  }

  refInfo(name: string): RefInfo | undefined {
    const s = this.slotOf(name);
    return s < 0 ? undefined : this.info(s);
  }

  listRefs(): RefInfo[] {
    const out: RefInfo[] = [];
    this.refs.forEach((r, i) => {
      if (r) out.push(this.info(i));
    });
    return out;
  }

  /** The filesystem revision: the mainline log's head. */
  revision(): string | undefined {
    return this.readRef(MAINLINE);
  }

  /** Points a ref at an object (atomically), with a mainline-log commit for the update. */
  setRef(name: string, hash: string, opts: SetRefOptions = {}): void {
    this.transaction(() => this.updateRef(name, hash, opts));
  }

  private updateRef(name: string, hash: string, opts: SetRefOptions): void {
    if (name === MAINLINE) throw new UsageError('the mainline ref is written only by the store');
    validateRefName(name);
    if (!isFullHash(hash)) throw new UsageError(`bad hash ${JSON.stringify(hash)}`);
    const target = this.lookup(hash);
    if (!target) throw new NotFoundError(`object ${hash} not found`);
    let slot = this.slotOf(name);
    const old = slot >= 0 ? this.refs[slot]!.target : ZERO_HASH;
    const kind: RefKind = opts.kind ?? (slot >= 0 ? numToKind(this.refs[slot]!.kind) : name === 'boot' ? 'boot' : target.type === 1 ? 'branch' : 'symbolic');
    if (kind === 'mainline') throw new UsageError('only slot 0 is the mainline ref');
    if ((kind === 'branch' || kind === 'boot') && target.type !== 1) throw new UsageError(`a ${kind} ref must point to a commit; ${hash} is not one`);
    let forkedFrom = slot >= 0 ? this.refs[slot]!.forkedFrom : REF_NONE;
    if (opts.forkedFrom !== undefined) {
      const f = this.slotOf(opts.forkedFrom);
      if (f < 0) throw new NotFoundError(`branch ${opts.forkedFrom} not found`);
      forkedFrom = f;
    }
    if (slot < 0) {
      slot = this.refs.findIndex((r, i) => i > 0 && r === undefined);
      if (slot < 0) throw new UsageError(`${this.path}: ref table is full (${REF_SLOTS} refs)`);
    }
    const prev = this.refs[slot];
    this.refs[slot] = {
      name, target: hash, kind: kindToNum(kind),
      state: opts.state !== undefined ? stateToNum(opts.state) : (prev?.state ?? 0),
      triesLeft: opts.triesLeft ?? prev?.triesLeft ?? 0,
      flags: 0, forkedFrom, updatedGen: 0,
    };
    if (opts.triesLeft !== undefined && (!Number.isInteger(opts.triesLeft) || opts.triesLeft < 0 || opts.triesLeft > 255)) throw new UsageError('tries left must be 0..255');
    this.mainlineCommit(name, kind, old, hash, opts);
  }

  /** Appends the mainline-log commit recording one ref update. Its tree lists every other ref as a gitlink. */
  private mainlineCommit(name: string, kind: RefKind, old: string, neu: string, opts: SetRefOptions): void {
    const files: TreeFile[] = [];
    for (let i = 1; i < this.refs.length; i++) {
      const r = this.refs[i];
      if (r && r.target !== ZERO_HASH) files.push({ path: r.name, mode: MODE_GITLINK, hash: r.target });
    }
    const tree = buildTree(files, (t) => this.putObject('tree', t.data, { hash: t.hash }));
    const head = this.refs[0]!.target;
    const time = opts.time ?? Math.floor(Date.now() / 1000);
    const sig = formatSignature({ ...DEFAULT_IDENTITY, time });
    const state = this.refs[this.slotOf(name)]!;
    let msg = `${kind} ${name}: ${old === ZERO_HASH ? '(new)' : old.slice(0, 12)} -> ${neu.slice(0, 12)}\n`;
    if (state.state !== 0) msg += `\nboot-state: ${numToState(state.state)} tries-left ${state.triesLeft}\n`;
    if (opts.reason) msg += `\n${opts.reason.trimEnd()}\n`;
    const data = encodeCommit({
      tree, parents: head === ZERO_HASH ? [] : [head], author: sig, committer: sig,
      headers: [['branch', MAINLINE], ['ref', name], ['ref-old', old], ['ref-new', neu]], message: msg,
    });
    const { hash } = this.putObject('commit', data);
    this.refs[0] = { ...this.refs[0]!, target: hash, updatedGen: 0 };
  }

  // -------------------------------------------------------------------------------------------
  // Commits

  /** Commits `files` as the complete new content of `branch`; returns the commit hash. */
  commitTree(branch: string, files: readonly FileInput[], opts: CommitOptions, stats?: CommitStats, onFile?: (i: number) => void): string {
    return this.transaction(() => {
      validateRefName(branch);
      if (branch === MAINLINE) throw new UsageError('cannot commit to the mainline log');
      const slot = this.slotOf(branch);
      let parent: string | undefined;
      let forkedFrom: string | undefined;
      if (slot >= 0) {
        const r = this.refs[slot]!;
        const k = numToKind(r.kind);
        if (k !== 'branch' && k !== 'boot') throw new UsageError(`${branch} is a ${k} ref, not a branch`);
        parent = r.target === ZERO_HASH ? undefined : r.target;
        if (opts.from !== undefined) {
          const cur = r.forkedFrom !== REF_NONE ? this.refs[r.forkedFrom]?.name : undefined;
          if (cur !== opts.from) throw new UsageError(`branch ${branch} already exists; --from applies only to a new branch`);
        }
      } else if (opts.from !== undefined) {
        const f = this.slotOf(opts.from);
        if (f < 0) throw new NotFoundError(`branch ${opts.from} not found`);
        parent = this.readRef(opts.from);
        forkedFrom = opts.from;
      }
      const headers: [string, string][] = [['branch', branch]];
      if (forkedFrom) headers.push(['forked-from', forkedFrom]);
      for (const [k, v] of Object.entries(opts.headers ?? {})) headers.push([k, v]);
      const prevFiles = new Map<string, FileEntry>();
      if (parent) for (const f of this.listFiles(this.commitTreeHash(parent))) prevFiles.set(f.path, f);
      const treeFiles: TreeFile[] = [];
      const seen = new Set<string>();
      files.forEach((f, i) => {
        const path = normalizePath(f.path);
        if (seen.has(path)) throw new UsageError(`duplicate path ${JSON.stringify(path)}`);
        seen.add(path);
        const mode = modeString(f.mode ?? 0o100644);
        if (isTreeMode(mode) || mode === MODE_GITLINK) throw new UsageError(`${path}: files must be blobs`);
        const prev = prevFiles.get(path);
        const raw = f.raw || path.startsWith('boot/');
        const r = this.putObject('blob', f.data, { raw, ...(prev && !isTreeMode(prev.mode) ? { deltaBase: prev.hash } : {}) });
        if (stats) {
          stats.files++;
          if (r.stored) {
            stats.storedBlobs++;
            if (r.delta) stats.deltas++;
          } else stats.reusedBlobs++;
        }
        treeFiles.push({ path, mode, hash: r.hash });
        onFile?.(i);
      });
      const tree = buildTree(treeFiles, (t) => this.putObject('tree', t.data, { hash: t.hash }));
      const now = Math.floor(Date.now() / 1000);
      const author = opts.author ?? DEFAULT_IDENTITY;
      const committer = opts.committer ?? author;
      const data = encodeCommit({
        tree, parents: parent ? [parent] : [],
        author: formatSignature({ ...author, time: author.time ?? now }),
        committer: formatSignature({ ...committer, time: committer.time ?? now }),
        headers, message: opts.message.endsWith('\n') ? opts.message : opts.message + '\n',
      });
      const { hash } = this.putObject('commit', data);
      this.updateRef(branch, hash, { kind: slot >= 0 ? numToKind(this.refs[slot]!.kind) : 'branch', ...(forkedFrom ? { forkedFrom } : {}), time: committer.time ?? now });
      if (stats) stats.bytesWritten = this.pendingBytes;
      return hash;
    });
  }

  readCommit(hash: string): Commit {
    const o = this.readObject(hash);
    if (o.type !== 'commit') throw new BadInputError(`${hash} is a ${o.type}, not a commit`);
    return decodeCommit(o.data, `commit ${hash}`);
  }

  readTree(hash: string): TreeEntry[] {
    const o = this.readObject(hash);
    if (o.type !== 'tree') throw new BadInputError(`${hash} is a ${o.type}, not a tree`);
    return decodeTree(o.data, `tree ${hash}`);
  }

  /** The tree of a commit, or the hash itself when it names a tree. */
  commitTreeHash(hash: string): string {
    const p = peelTag((h) => this.readObject(h), hash);
    if (p.type === 'tree') return p.hash;
    if (p.type !== 'commit') throw new BadInputError(`${hash === p.hash ? hash : `tag ${hash} names ${p.hash}, which`} is a ${p.type}, not a commit or tree`);
    return decodeCommit(this.readObject(p.hash).data, `commit ${p.hash}`).tree;
  }

  /** Every file under a tree, with full paths (flat and split trees alike). */
  listFiles(tree: string, depth = 0): FileEntry[] {
    if (depth > 64) throw new CorruptDataError(`tree ${tree}: nested too deep`);
    const out: FileEntry[] = [];
    for (const e of this.readTree(tree)) {
      if (isTreeMode(e.mode)) {
        for (const f of this.listFiles(e.hash, depth + 1)) out.push({ ...f, path: `${e.name}/${f.path}` });
      } else out.push({ path: e.name, mode: e.mode, hash: e.hash });
    }
    return out;
  }

  /** Finds a path in a tree: a file entry, or a subtree entry for a split directory. */
  lookupPath(tree: string, path: string, depth = 0): TreeEntry | undefined {
    if (depth > 64) throw new CorruptDataError(`tree ${tree}: nested too deep`);
    for (const e of this.readTree(tree)) {
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
    const ref = this.slotOf(p.base) >= 0 ? this.slotOf(p.base) : this.slotOf(TAG_REF_PREFIX + p.base); // `v1` finds tags/v1, as in git
    if (ref >= 0) {
      const t = this.refs[ref]!.target;
      if (t === ZERO_HASH) throw new NotFoundError(`ref ${p.base} has no commits yet`);
      hash = t;
    } else if (/^[0-9a-f]{4,40}$/.test(p.base)) {
      if (p.base.length === 40 && this.lookup(p.base)) hash = p.base;
      else {
        const matches = this.objectIds().filter((h) => h.startsWith(p.base));
        if (matches.length === 0) throw new NotFoundError(`unknown revision ${rev}`);
        if (matches.length > 1) throw new NotFoundError(`ambiguous revision ${p.base} (${matches.length} objects match)`);
        hash = matches[0]!;
      }
    } else throw new NotFoundError(`unknown revision ${rev}`);
    if (p.steps.length > 0) hash = peelTag((h) => this.readObject(h), hash).hash;
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

  /** The content of PATH at REV. */
  readFile(rev: string, path: string): Buffer {
    const tree = this.commitTreeHash(this.resolveRev(rev));
    const p = normalizePath(path);
    const e = this.lookupPath(tree, p);
    if (!e) throw new NotFoundError(`path ${p} not found in ${rev}`);
    if (isTreeMode(e.mode)) throw new BadInputError(`${rev}:${p} is a directory`);
    if (e.mode === MODE_GITLINK) throw new BadInputError(`${rev}:${p} is a gitlink (${e.hash})`);
    const o = this.readObject(e.hash);
    if (o.type !== 'blob') throw new CorruptDataError(`${rev}:${p} is a ${o.type}`);
    return o.data;
  }

  /** History from REV: commits newest first (by committer time, like `git log`). */
  log(rev: string, opts: { limit?: number; firstParent?: boolean } = {}): LogEntry[] {
    const start = peelTag((h) => this.readObject(h), this.resolveRev(rev)).hash;
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
        if (!this.hasObject(p)) continue; // a referral or a shallow edge
        push(p);
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Boot area

  /** Writes the MBR (sector 0) and stage 2 (LBA 1..127); never touches the GitFS area. */
  writeBootArea(mbr: Buffer, stage2: Buffer): void {
    this.ensureWritable();
    if (mbr.length !== SECTOR_SIZE) throw new UsageError(`MBR must be ${SECTOR_SIZE} bytes, got ${mbr.length}`);
    if (stage2.length > STAGE2_MAX_BYTES) throw new UsageError(`stage 2 is ${stage2.length} bytes; at most ${STAGE2_MAX_BYTES} fit`);
    const area = Buffer.alloc(BOOT_AREA_END_LBA * SECTOR_SIZE);
    mbr.copy(area, 0);
    stage2.copy(area, STAGE2_LBA * SECTOR_SIZE);
    this.dev.write(0, area);
    this.dev.sync();
  }

  // -------------------------------------------------------------------------------------------
  // Verification

  fsck(onProgress?: (done: number, total: number) => void): FsckReport {
    const problems: string[] = [];
    const ids = this.objectIds().sort();
    let referrals = 0;
    const entryOffsets = new Set<number>();
    ids.forEach((h, i) => {
      const e = this.lookup(h)!;
      entryOffsets.add(e.offset);
      try {
        if (e.storage === STORE_REFERRAL) {
          referrals++;
          this.readReferral(h);
        } else {
          const o = this.loadEntry(e, 0);
          if (o.type === 'tree') decodeTree(o.data, `tree ${h}`);
          else if (o.type === 'commit') decodeCommit(o.data, `commit ${h}`);
          else if (o.type === 'tag') decodeTag(o.data, `tag ${h}`);
        }
      } catch (err) {
        if (!isUserError(err)) throw err;
        problems.push(err.message.startsWith('object ') || err.message.includes(h) ? err.message : `object ${h}: ${err.message}`);
      }
      onProgress?.(i + 1, ids.length);
    });
    // The object log: every record inside the log end parses, and every index entry points at one.
    const recordStarts = new Set<number>();
    let off = LOG_LBA * SECTOR_SIZE;
    while (off < this.sb.logEnd) {
      try {
        const h = this.readRecordHeader(off);
        recordStarts.add(off);
        off += recordSize(h.payloadLen);
      } catch (err) {
        if (!isUserError(err)) throw err;
        problems.push(`log: ${err.message}`);
        break;
      }
    }
    for (const h of ids) {
      const e = this.lookup(h)!;
      if (!recordStarts.has(e.offset) && off >= this.sb.logEnd) problems.push(`index: entry ${h} does not point at a log record`);
    }
    // Refs.
    for (const r of this.listRefs()) {
      if (r.hash === ZERO_HASH) {
        if (r.kind !== 'mainline') problems.push(`ref ${r.name}: no target`);
        continue;
      }
      const e = this.lookup(r.hash);
      if (!e) problems.push(`ref ${r.name}: target ${r.hash} is missing`);
      else if ((r.kind === 'branch' || r.kind === 'boot' || r.kind === 'mainline') && e.type !== 1) problems.push(`ref ${r.name}: target ${r.hash} is not a commit`);
      const raw = this.refs[r.slot]!;
      if (raw.forkedFrom !== REF_NONE && !this.refs[raw.forkedFrom]) problems.push(`ref ${r.name}: forked-from slot ${raw.forkedFrom} is empty`);
    }
    // Connectivity: everything reachable from the refs is present (or a referral).
    const seen = new Set<string>();
    const stack: string[] = [];
    for (const r of this.listRefs()) if (r.hash !== ZERO_HASH) stack.push(r.hash);
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (seen.has(h)) continue;
      seen.add(h);
      const e = this.lookup(h);
      if (!e) {
        problems.push(`object ${h}: missing (reachable from a ref)`);
        continue;
      }
      if (e.storage === STORE_REFERRAL) continue;
      let o: GitObject;
      try {
        o = this.readObject(h);
        if (o.type === 'commit') {
          const c = decodeCommit(o.data, `commit ${h}`);
          stack.push(c.tree, ...c.parents);
        } else if (o.type === 'tree') {
          for (const t of decodeTree(o.data, `tree ${h}`)) if (t.mode !== MODE_GITLINK) stack.push(t.hash);
        } else if (o.type === 'tag') {
          const t = decodeTag(o.data, `tag ${h}`);
          const te = this.lookup(t.object);
          if (te && te.type !== typeToNum(t.type)) problems.push(`tag ${h}: names a ${t.type} but ${t.object} is a ${numToType(te.type) ?? te.type}`);
          stack.push(t.object);
        }
      } catch (err) {
        if (!isUserError(err)) throw err; // already reported above
      }
    }
    // The mainline log: a chain of commits with branch mainline.
    let mainlineCommits = 0;
    let m = this.readRef(MAINLINE);
    const mseen = new Set<string>();
    while (m && !mseen.has(m)) {
      mseen.add(m);
      try {
        const c = this.readCommit(m);
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
    return { ok: uniq.length === 0, objects: ids.length - referrals, referrals, refs: this.listRefs().length, mainlineCommits, problems: uniq, warnings: [...this.warnings] };
  }

  /** Generation of the active superblock copy. */
  generation(): number {
    return this.sb.generation;
  }

  stats(): { diskBytes: number; logBytes: number; logCapacity: number; objects: number; generation: number; activeCopy: 'A' | 'B' } {
    return {
      diskBytes: this.sb.diskSectors * SECTOR_SIZE,
      logBytes: this.sb.logEnd - LOG_LBA * SECTOR_SIZE,
      logCapacity: (this.sb.logLimitLba - LOG_LBA) * SECTOR_SIZE,
      objects: this.entries.size,
      generation: this.sb.generation,
      activeCopy: this.sb.copy === 0 ? 'A' : 'B',
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rollback();
    this.dev.close();
  }

  /**
   * Store raw objects read elsewhere (git import) in one transaction, with referrals for objects
   * held elsewhere (a shallow clone's boundary parents) and the ref updates.
   */
  importObjects(objects: Iterable<{ hash: string; type: ObjectType; data: Buffer }>, refs: Array<{ name: string; hash: string; kind?: RefKind; forkedFrom?: string }>, onObject?: () => void, referrals: readonly Referral[] = []): number {
    return this.transaction(() => {
      let n = 0;
      for (const o of objects) {
        if (hashObject(o.type, o.data) !== o.hash) throw new CorruptDataError(`object ${o.hash}: content does not match its hash`);
        if (this.putObject(o.type, o.data, { hash: o.hash, raw: true }).stored) n++;
        onObject?.();
      }
      for (const r of referrals) this.appendReferral(r);
      for (const r of refs) this.updateRef(r.name, r.hash, { ...(r.kind ? { kind: r.kind } : {}), ...(r.forkedFrom ? { forkedFrom: r.forkedFrom } : {}) });
      return n;
    });
  }
}
