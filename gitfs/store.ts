// The object store under a GitFS image: the append-only object log, the index (hash -> record),
// the ref slots the superblock carries, and transactions: data first, then the index into the
// inactive region, then the inactive superblock copy with generation + 1. Objects are read
// (verified by their SHA-1) one at a time, in log order in batches, or streamed in chunks.
// Byte-exact format: docs/gitfs-format.md.
import { createHash } from 'node:crypto';
import { BadInputError, CorruptDataError, DiskFullError, NotFoundError, UsageError, isUserError } from '../core/errors.ts';
import type { BlockDev } from './blockdev.ts';
import { applyDelta, encodeDelta } from './delta.ts';
import {
  BOOT_AREA_END_LBA, DELTA_MAX_DEPTH, IDX_ENTRIES_OFFSET, IDX_ENTRY_SIZE, LOG_LBA, REC_HDR_SIZE, REFERRAL_HOLDER_SIZE, SB_A_LBA,
  SB_B_LBA, SECTOR_SIZE, STAGE2_LBA, STAGE2_MAX_BYTES, STORE_DELTA, STORE_RAW, STORE_REFERRAL,
} from './layout.ts';
import { decodeRecordHeader, encodeRecord, encodeRecordHeader, recordSize, type RecordHeader } from './log-record.ts';
import { fallbackWarnings, mountDevice } from './mount.ts';
import { encodeIndex, indexCrc, type IndexEntry } from './object-index.ts';
import { type GitObject, hashObject, isFullHash, numToType, type ObjectType, typeToNum, ZERO_HASH } from './objects.ts';
import { encodeSuperblock, type RefSlot, type Superblock } from './superblock.ts';

export interface Referral {
  hash: string;
  type: ObjectType;
  size: number;
  holders: string[];
}

/** Content read in pieces (a host file): its size is known before the first byte is read. */
export interface BlobSource {
  readonly size: number;
  /** Fills `buf` with bytes from `pos` on; returns how many were read (0 only at the end). */
  read(pos: number, buf: Buffer): number;
}

interface PendingObject {
  type: ObjectType;
  data: Buffer;
}

/** Pending log bytes are written out once this many have gathered. */
const FLUSH_BYTES = 32 << 20;
/** Chunk size for streamed writes and reads. */
export const STREAM_CHUNK = 8 << 20;
/** Batched reads gather records into reads of about this size. */
const BATCH_WINDOW = 8 << 20;
/** ... and bridge gaps between wanted records of at most this many bytes. */
const BATCH_GAP = 256 << 10;
/** Objects above this size are only ever streamed (a Buffer cannot hold them, or should not). */
export const MAX_WHOLE_OBJECT = 1 << 30;

/** Zeros to compare streamed chunks with (grown on demand). */
let zeroChunk = Buffer.alloc(0);

export class ObjectStore {
  private sb: Superblock;
  private entries: Map<string, IndexEntry>;
  /** Objects appended in the current transaction (not yet in the index on disk). */
  private pendingEntries = new Map<string, IndexEntry>();
  private pendingObjects = new Map<string, PendingObject>();
  private pendingChunks: Buffer[] = [];
  private pendingStart = 0;
  private pendingBytes = 0;
  private logEnd: number;
  /** The ref table (REF_SLOTS entries; undefined = free), as it will be committed. */
  slots: (RefSlot | undefined)[];
  private cache = new Map<string, GitObject>();
  private cacheBytes = 0;
  /** Bumped when a rollback drops objects, so caches above the store can drop theirs. */
  epoch = 0;
  private closed = false;
  /** Problems met while opening that did not stop it (e.g. one bad superblock copy). */
  readonly warnings: string[];

  constructor(
    readonly path: string,
    private readonly dev: BlockDev,
    readonly readOnly: boolean,
  ) {
    try {
      const m = mountDevice(dev, path);
      this.sb = m.sb;
      this.logEnd = m.sb.logEnd;
      this.slots = m.sb.refs.map((r) => (r ? { ...r } : undefined));
      this.entries = new Map(m.entries.map((e) => [e.hash, e]));
      this.warnings = m.warnings;
    } catch (e) {
      dev.close();
      throw e;
    }
  }

  /** The superblock copy in force (as of the last commit). */
  get superblock(): Readonly<Superblock> {
    return this.sb;
  }

  // -------------------------------------------------------------------------------------------
  // Looking up and reading objects

  lookup(hash: string): IndexEntry | undefined {
    return this.pendingEntries.get(hash) ?? this.entries.get(hash);
  }

  hasObject(hash: string): boolean {
    const e = this.lookup(hash);
    return e !== undefined && e.storage !== STORE_REFERRAL;
  }

  /** Every object id in the index (stored objects and referrals). */
  objectIds(): string[] {
    if (this.pendingEntries.size === 0) return [...this.entries.keys()];
    return [...new Set([...this.entries.keys(), ...this.pendingEntries.keys()])];
  }

  readRecordHeader(offset: number): RecordHeader {
    const end = this.logEnd;
    if (offset < LOG_LBA * SECTOR_SIZE || offset + REC_HDR_SIZE > end) throw new CorruptDataError(`log record at ${offset} is outside the log`);
    const h = decodeRecordHeader(this.readBytes(offset, REC_HDR_SIZE), offset);
    if (offset + REC_HDR_SIZE + h.payloadLen > end) throw new CorruptDataError(`log record at ${offset} runs past the end of the log`);
    return h;
  }

  /** Log bytes at `pos`: from the device, or from the pending (unflushed) chunks. */
  private readBytes(pos: number, len: number): Buffer {
    if (this.pendingChunks.length === 0 || pos + len <= this.pendingStart) return this.dev.read(pos, len);
    const out = Buffer.allocUnsafe(len);
    let done = 0;
    if (pos < this.pendingStart) {
      this.dev.read(pos, this.pendingStart - pos).copy(out, 0);
      done = this.pendingStart - pos;
    }
    let at = this.pendingStart;
    for (const c of this.pendingChunks) {
      if (done >= len) break;
      const want = pos + done;
      if (want < at + c.length) {
        const n = c.copy(out, done, want - at, Math.min(c.length, want - at + (len - done)));
        done += n;
      }
      at += c.length;
    }
    if (done < len) throw new CorruptDataError(`log read of ${len} bytes at ${pos} is past the end of the log`);
    return out;
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
    this.remember(hash, obj);
    return obj;
  }

  /** Keeps small trees and commits (read again and again while walking history). */
  private remember(hash: string, obj: GitObject): void {
    if (obj.type === 'blob' || obj.data.length >= 1 << 20) return;
    this.cache.set(hash, obj);
    this.cacheBytes += obj.data.length;
    if (this.cacheBytes > 64 << 20) {
      this.cache.clear();
      this.cacheBytes = 0;
    }
  }

  /** Reads one index entry's object from the log and verifies it. */
  loadEntry(e: IndexEntry, depth: number): GitObject {
    if (e.storage === STORE_REFERRAL) throw new NotFoundError(`object ${e.hash} is not on this disk (referral only)`);
    const h = this.checkedHeader(e);
    if (h.payloadLen > MAX_WHOLE_OBJECT) throw new BadInputError(`object ${e.hash} is ${h.objectSize} bytes: too large to read whole (stream it, e.g. image cat)`);
    return this.decodeRecord(e, h, this.readBytes(e.offset + REC_HDR_SIZE, h.payloadLen), depth);
  }

  private checkedHeader(e: IndexEntry): RecordHeader {
    const h = this.readRecordHeader(e.offset);
    if (h.hash !== e.hash) throw new CorruptDataError(`object ${e.hash}: log record holds ${h.hash}`);
    if (!numToType(h.type) || h.type !== e.type) throw new CorruptDataError(`object ${e.hash}: bad type ${h.type}`);
    return h;
  }

  /** An object from its record's payload: a delta is applied to its base; the result is verified. */
  private decodeRecord(e: IndexEntry, h: RecordHeader, payload: Buffer, depth: number): GitObject {
    const type = numToType(h.type)!;
    let data: Buffer;
    if (h.storage === STORE_RAW) {
      data = payload;
    } else if (h.storage === STORE_DELTA) {
      if (depth >= DELTA_MAX_DEPTH) throw new CorruptDataError(`object ${e.hash}: delta chain too deep`);
      const be = this.lookup(h.base);
      if (!be) throw new CorruptDataError(`object ${e.hash}: delta base ${h.base} missing`);
      const base = this.pendingObjects.get(h.base) ?? this.loadEntry(be, depth + 1);
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

  /**
   * Reads many objects, in log order (not the order asked), with one device read per run of
   * nearby records instead of two per object. Each is verified as `readObject` does. Duplicate
   * hashes are read once. With `onLarge`, a blob stored raw over STREAM_CHUNK bytes is not read:
   * its hash goes to `onLarge` instead (for the caller to stream with readChunks), so objects of
   * any size can be read this way.
   */
  *readObjects(hashes: Iterable<string>, opts: { onLarge?: (hash: string) => void } = {}): Generator<{ hash: string; object: GitObject }> {
    const want: IndexEntry[] = [];
    const seen = new Set<string>();
    for (const h of hashes) {
      if (seen.has(h)) continue;
      seen.add(h);
      const e = isFullHash(h) ? this.lookup(h) : undefined;
      if (!e) throw new NotFoundError(`object ${h} not found`);
      if (e.storage === STORE_REFERRAL) throw new NotFoundError(`object ${h} is not on this disk (referral only)`);
      want.push(e);
    }
    want.sort((a, b) => a.offset - b.offset);
    // Pending records (only inside a transaction) are read one by one.
    const onDiskEnd = this.pendingChunks.length > 0 ? this.pendingStart : this.logEnd;
    let buf: Buffer = Buffer.alloc(0);
    let bufStart = 0;
    const fill = (i: number, minLen: number): void => {
      // From entry i, take following entries while they are close and the read stays near the window size.
      const start = want[i]!.offset;
      let last = start;
      for (let j = i + 1; j < want.length; j++) {
        const o = want[j]!.offset;
        if (o - last > BATCH_GAP || o - start > BATCH_WINDOW || o >= onDiskEnd) break;
        last = o;
      }
      const len = Math.min(onDiskEnd - start, Math.max(minLen, last - start + 64 * 1024));
      buf = this.dev.read(start, len);
      bufStart = start;
    };
    for (let i = 0; i < want.length; i++) {
      const e = want[i]!;
      const cached = this.cache.get(e.hash) ?? this.pendingObjects.get(e.hash);
      if (cached) {
        yield { hash: e.hash, object: cached };
        continue;
      }
      if (e.offset + REC_HDR_SIZE > onDiskEnd) {
        yield { hash: e.hash, object: this.loadEntry(e, 0) };
        continue;
      }
      if (e.offset < bufStart || e.offset + REC_HDR_SIZE > bufStart + buf.length) fill(i, REC_HDR_SIZE);
      const h = decodeRecordHeader(buf.subarray(e.offset - bufStart, e.offset - bufStart + REC_HDR_SIZE), e.offset);
      if (h.hash !== e.hash) throw new CorruptDataError(`object ${e.hash}: log record holds ${h.hash}`);
      if (!numToType(h.type) || h.type !== e.type) throw new CorruptDataError(`object ${e.hash}: bad type ${h.type}`);
      if (opts.onLarge && h.storage === STORE_RAW && h.payloadLen > STREAM_CHUNK && numToType(h.type) === 'blob') {
        opts.onLarge(e.hash);
        continue;
      }
      const end = e.offset + REC_HDR_SIZE + h.payloadLen;
      if (end > this.logEnd) throw new CorruptDataError(`log record at ${e.offset} runs past the end of the log`);
      if (h.payloadLen > MAX_WHOLE_OBJECT) throw new BadInputError(`object ${e.hash} is ${h.objectSize} bytes: too large to read whole (stream it, e.g. image cat)`);
      if (end > bufStart + buf.length) fill(i, REC_HDR_SIZE + h.payloadLen);
      const payload = buf.subarray(e.offset - bufStart + REC_HDR_SIZE, end - bufStart);
      const object = this.decodeRecord(e, h, payload, 0);
      this.remember(e.hash, object);
      yield { hash: e.hash, object };
    }
  }

  /** The size and type of a stored object, from its record header (no content read). */
  objectInfo(hash: string): { type: ObjectType; size: number } {
    const e = this.lookup(hash);
    if (!e) throw new NotFoundError(`object ${hash} not found`);
    const h = e.storage === STORE_REFERRAL ? this.readRecordHeader(e.offset) : this.checkedHeader(e);
    return { type: numToType(h.type) ?? 'blob', size: h.objectSize };
  }

  /**
   * An object's content in chunks of at most `chunk` bytes, for objects of any size. A raw
   * record is hashed as it is read and a mismatch throws CorruptDataError after the last chunk
   * (a consumer that must not see unverified bytes reads small objects with readObject).
   */
  *readChunks(hash: string, chunk = STREAM_CHUNK): Generator<Buffer> {
    const e = isFullHash(hash) ? this.lookup(hash) : undefined;
    if (!e) throw new NotFoundError(`object ${hash} not found`);
    if (e.storage === STORE_REFERRAL) throw new NotFoundError(`object ${hash} is not on this disk (referral only)`);
    const h = this.checkedHeader(e);
    if (h.storage !== STORE_RAW || h.payloadLen <= chunk) {
      const data = this.readObject(hash).data;
      for (let p = 0; p < data.length; p += chunk) yield data.subarray(p, p + chunk);
      return;
    }
    if (h.payloadLen !== h.objectSize) throw new CorruptDataError(`object ${hash}: raw record of ${h.payloadLen} bytes for a ${h.objectSize}-byte object`);
    const sha = createHash('sha1').update(`${numToType(h.type)} ${h.objectSize}\0`);
    const base = e.offset + REC_HDR_SIZE;
    for (let p = 0; p < h.payloadLen; p += chunk) {
      const part = this.readBytes(base + p, Math.min(chunk, h.payloadLen - p));
      sha.update(part);
      yield part;
    }
    if (sha.digest('hex') !== hash) throw new CorruptDataError(`object ${hash} is corrupt (hash mismatch)`);
  }

  /** Verifies an object (streaming big raw blobs); returns it unless it was streamed. */
  verifyEntry(e: IndexEntry): GitObject | undefined {
    const h = this.checkedHeader(e);
    if (h.storage === STORE_RAW && h.payloadLen > STREAM_CHUNK && numToType(h.type) === 'blob') {
      for (const part of this.readChunks(e.hash)) void part;
      return undefined;
    }
    return this.loadEntry(e, 0);
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

  /** Record headers of the whole log, in order; stops at the first that does not parse (fsck). */
  *logRecords(): Generator<{ offset: number; header: RecordHeader }> {
    let off = LOG_LBA * SECTOR_SIZE;
    while (off < this.sb.logEnd) {
      const header = this.readRecordHeader(off);
      yield { offset: off, header };
      off += recordSize(header.payloadLen);
    }
  }

  /** Problems with the fallback superblock copy and its index (lost redundancy; fsck warnings). */
  fallbackWarnings(): string[] {
    return fallbackWarnings(this.dev, this.sb);
  }

  // -------------------------------------------------------------------------------------------
  // Writing objects

  ensureWritable(): void {
    if (this.closed) throw new UsageError('image is closed');
    if (this.readOnly) throw new UsageError(`${this.path} is open read-only`);
  }

  /** Log bytes and index entries still free (as of the pending state). */
  room(): { logBytes: number; indexEntries: number; logUsed: number } {
    const logBytes = this.sb.logLimitLba * SECTOR_SIZE - this.logEnd;
    const capacity = Math.floor((this.sb.indexSectors * SECTOR_SIZE - IDX_ENTRIES_OFFSET) / IDX_ENTRY_SIZE);
    const count = this.entries.size + this.pendingEntries.size;
    return { logBytes, indexEntries: capacity - count, logUsed: this.logEnd - LOG_LBA * SECTOR_SIZE };
  }

  /** Bytes appended to the log in the current transaction. */
  pendingLogBytes(): number {
    return this.logEnd - this.sb.logEnd;
  }

  private diskFull(needs: number): never {
    throw new DiskFullError(`${this.path}: disk full (the log needs ${needs} more bytes, ${this.sb.logLimitLba * SECTOR_SIZE - this.logEnd} are free)`);
  }

  private append(hdr: RecordHeader, payload: Buffer): IndexEntry {
    const rec = encodeRecord(hdr, payload);
    if (this.logEnd + rec.length > this.sb.logLimitLba * SECTOR_SIZE) this.diskFull(rec.length);
    if (this.pendingChunks.length === 0) this.pendingStart = this.logEnd;
    const offset = this.logEnd;
    this.pendingChunks.push(rec);
    this.pendingBytes += rec.length;
    this.logEnd += rec.length;
    const e: IndexEntry = { hash: hdr.hash, type: hdr.type, storage: hdr.storage, depth: hdr.depth, offset };
    this.pendingEntries.set(hdr.hash, e);
    if (this.pendingBytes > FLUSH_BYTES) this.flushPending();
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

  /**
   * Stores a blob read from `src` in chunks (raw; never all of it in memory): the payload is
   * hashed while it is written after the log end, then the header goes in front of it. If the
   * blob turns out to be stored already, the log end does not move (the bytes stay unreferenced).
   */
  putBlobSource(src: BlobSource, onChunk?: (bytes: number) => void): { hash: string; stored: boolean; delta: boolean } {
    this.ensureWritable();
    const size = src.size;
    const rec = recordSize(size);
    if (this.logEnd + rec > this.sb.logLimitLba * SECTOR_SIZE) this.diskFull(rec);
    this.flushPending();
    const offset = this.logEnd;
    const sha = createHash('sha1').update(`blob ${size}\0`);
    const buf = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, Math.max(size, 1)));
    let pos = 0;
    while (pos < size) {
      const n = src.read(pos, buf.subarray(0, Math.min(buf.length, size - pos)));
      if (n <= 0) throw new BadInputError(`a file shrank while it was being committed (${pos} of ${size} bytes read)`);
      const part = buf.subarray(0, n);
      sha.update(part);
      this.writeKeepingHoles(offset + REC_HDR_SIZE + pos, part);
      pos += n;
      onChunk?.(n);
    }
    const pad = rec - REC_HDR_SIZE - size;
    if (pad > 0) this.dev.write(offset + REC_HDR_SIZE + size, Buffer.alloc(pad));
    const hash = sha.digest('hex');
    if (this.hasObject(hash)) return { hash, stored: false, delta: false };
    const hdr: RecordHeader = { type: typeToNum('blob'), storage: STORE_RAW, depth: 0, payloadLen: size, objectSize: size, hash, base: ZERO_HASH };
    this.dev.write(offset, encodeRecordHeader(hdr));
    this.logEnd += rec;
    this.pendingEntries.set(hash, { hash, type: hdr.type, storage: STORE_RAW, depth: 0, offset });
    return { hash, stored: true, delta: false };
  }

  /**
   * Writes `part`, except a run of zeros over bytes that are zero already (a hole of a sparse
   * image reads as zeros without touching the disk): big sparse files keep the image sparse.
   */
  private writeKeepingHoles(pos: number, part: Buffer): void {
    if (part.length === 0) return;
    if (zeroChunk.length < part.length) zeroChunk = Buffer.alloc(part.length);
    if (part.equals(zeroChunk.subarray(0, part.length)) && this.dev.read(pos, part.length).equals(part)) return;
    this.dev.write(pos, part);
  }

  /** Records that `holders` have an object this disk does not store (size and holders only). */
  addReferral(ref: Referral): void {
    this.ensureWritable();
    if (!isFullHash(ref.hash)) throw new UsageError(`bad hash ${ref.hash}`);
    if (this.hasObject(ref.hash)) return;
    this.transaction(() => this.appendReferral(ref));
  }

  /** Appends a referral record inside the caller's transaction (nothing if the object is already here). */
  appendReferral(ref: Referral): void {
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
  // Transactions

  private commitState(): void {
    const nextCopy = this.sb.copy === 0 ? 1 : 0;
    const generation = this.sb.generation + 1;
    const all = new Map(this.entries);
    for (const [h, e] of this.pendingEntries) all.set(h, e);
    const idx = encodeIndex(all.values(), generation);
    if (idx.length > this.sb.indexSectors * SECTOR_SIZE) throw new DiskFullError(`${this.path}: disk full (the index holds at most ${this.room().indexEntries + all.size - this.pendingEntries.size} objects; ${all.size} asked)`);
    for (const r of this.slots) if (r && r.updatedGen === 0) r.updatedGen = generation;
    const sb: Superblock = {
      ...this.sb, generation, copy: nextCopy, indexLba: nextCopy === 0 ? this.sb.indexALba : this.sb.indexBLba,
      logEnd: this.logEnd, indexCount: all.size, indexCrc: indexCrc(idx), refs: this.slots.map((r) => (r ? { ...r } : undefined)),
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
    this.epoch++;
    this.pendingEntries.clear();
    this.pendingObjects.clear();
    this.pendingChunks = [];
    this.pendingBytes = 0;
    this.logEnd = this.sb.logEnd;
    this.slots = this.sb.refs.map((r) => (r ? { ...r } : undefined));
  }

  /** Runs `fn`, then commits what it appended and the ref slots; on an error, rolls all of it back. */
  transaction<T>(fn: () => T): T {
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
  // Boot area, figures, closing

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
}
