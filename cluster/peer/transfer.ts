// One fetch of one object from one holder (docs/protocol.md, "Fetch"): GET windows of up to
// GET_MAX bytes, a bitmap of chunks, CRC-checked chunks, missing ranges re-requested after
// 100 ms (or at once when the window's last chunk arrived with holes before it), and the end
// after 5 silent tries. Pure logic over an injected send and timer: the caller wires it to
// the network and verifies the object's SHA-1.
import { CHUNK_MAX, GET_MAX } from '../wire/constants.ts';
import { chunkCrc } from '../wire/crc.ts';

export const WINDOW_CHUNKS = GET_MAX / CHUNK_MAX;
export const RETRY_MS = 100;
export const SILENT_TRIES = 5;
export const FIRST_MS_PER_MIB = 250;

export type TransferEnd =
  | { ok: true; otype: number; data: Buffer }
  | { ok: false; why: 'silent' | 'not-here' | 'too-big' | 'stopped' };

export interface TransferIo {
  get(offset: number, length: number): void;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(t: unknown): void;
  onRetransmit(): void;
  onBadChunk(): void;
}

export class Transfer {
  private total: number | undefined;
  private otype: number | undefined;
  private chunks: Array<Buffer | undefined> = [];
  private have = 0;
  private winStart = 0;
  private winEnd = 0;
  private silent = 0;
  private gotThisTry = false;
  private lastRequested = -1;
  private timer: unknown;
  private done = false;
  readonly ended: Promise<TransferEnd>;
  private finish!: (e: TransferEnd) => void;
  bytes = 0;

  constructor(
    private readonly io: TransferIo,
    sizeHint: number | undefined,
    private readonly maxBytes: number,
    /** The first window's wait while the size is unknown (a delta the holder encodes first). */
    private readonly firstWaitMs = 0,
  ) {
    this.ended = new Promise((r) => (this.finish = r));
    if (sizeHint !== undefined) this.setTotal(sizeHint);
  }

  private setTotal(total: number): boolean {
    if (total > this.maxBytes) {
      this.end({ ok: false, why: 'too-big' });
      return false;
    }
    this.total = total;
    const n = Math.max(1, Math.ceil(total / CHUNK_MAX));
    this.chunks = new Array<Buffer | undefined>(n);
    this.winStart = 0;
    this.winEnd = Math.min(n, WINDOW_CHUNKS);
    return true;
  }

  start(): void {
    if (this.done) return;
    this.request();
  }

  private end(e: TransferEnd): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) this.io.clearTimer(this.timer);
    this.finish(e);
  }

  stop(): void {
    this.end({ ok: false, why: 'stopped' });
  }

  notHere(): void {
    this.end({ ok: false, why: 'not-here' });
  }

  /** GETs for the missing runs of the current window, and the retry timer. */
  private request(): void {
    if (this.timer !== undefined) this.io.clearTimer(this.timer);
    if (this.total === undefined) {
      this.io.get(0, GET_MAX);
      this.lastRequested = WINDOW_CHUNKS - 1;
    } else {
      let i = this.winStart;
      while (i < this.winEnd) {
        if (this.chunks[i]) {
          i++;
          continue;
        }
        let j = i;
        while (j < this.winEnd && !this.chunks[j]) j++;
        const offset = i * CHUNK_MAX;
        const length = Math.max(1, Math.min(j * CHUNK_MAX, this.total) - offset);
        this.io.get(offset, length);
        this.lastRequested = j - 1;
        i = j;
      }
    }
    this.gotThisTry = false;
    // the first window waits for the holder to read and verify the whole object
    const first = this.have === 0 ? (this.total !== undefined ? FIRST_MS_PER_MIB * Math.ceil(this.total / (1 << 20)) : this.firstWaitMs) : 0;
    this.timer = this.io.setTimer(RETRY_MS + first, () => this.onTimeout());
  }

  private onTimeout(): void {
    this.timer = undefined;
    if (this.done) return;
    if (this.gotThisTry) this.silent = 0;
    else this.silent++;
    if (this.silent >= SILENT_TRIES) {
      this.end({ ok: false, why: 'silent' });
      return;
    }
    this.io.onRetransmit();
    this.request();
  }

  /** A DATA frame for this transfer (hash and fid already matched by the caller). */
  onData(d: { offset: number; total: number; crc: number; otype: number; chunk: Buffer }): void {
    if (this.done) return;
    if (this.total === undefined) {
      if (!this.setTotal(d.total)) return;
      this.lastRequested = this.winEnd - 1;
    }
    if (d.total !== this.total || (this.otype !== undefined && d.otype !== this.otype)) {
      this.io.onBadChunk();
      return;
    }
    if (chunkCrc(d.chunk) !== d.crc) {
      this.io.onBadChunk();
      return;
    }
    this.otype = d.otype;
    const idx = d.offset / CHUNK_MAX;
    if (this.chunks[idx]) return; // a duplicate
    this.chunks[idx] = d.chunk;
    this.have++;
    this.bytes += d.chunk.length;
    this.gotThisTry = true;
    if (this.have === this.chunks.length) {
      this.end({ ok: true, otype: this.otype, data: Buffer.concat(this.chunks as Buffer[]) });
      return;
    }
    let complete = true;
    for (let i = this.winStart; i < this.winEnd; i++) if (!this.chunks[i]) complete = false;
    if (complete) {
      this.winStart = this.winEnd;
      this.winEnd = Math.min(this.chunks.length, this.winStart + WINDOW_CHUNKS);
      this.silent = 0;
      this.request();
    } else if (idx >= this.lastRequested) {
      // the holder sent the window's last chunk: the holes before it were lost
      this.io.onRetransmit();
      this.silent = 0;
      this.request();
    }
  }
}
