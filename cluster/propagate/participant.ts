// The host peer's side of a propagation (docs/protocol.md, "Propagation"): an implementation of
// the same schedule and messages as the kernel's gtp_bcast.asm, written from the protocol page.
// It watches every update it hears (UPDATE manifests, each node's PIECE_MAP: what `cluster
// status` shows and what bench/propagate.ts times), and when the manifest names this node it
// takes part: it receives and verifies pieces, pushes its own plan rounds as soon as it holds
// their pieces, serves PIECE_GETs, recovers by PIECE_WHO / PIECE_GET (at most 2 outstanding
// requests per piece), and stores the objects once every piece is in and each object hashes.
import { hashObject, numToType } from '../../gitfs/objects.ts';
import { nodeIp } from '../wire/address.ts';
import { CHUNK_MAX, PIECE_LAST, PIECE_SIZE, UPDATE_PART } from '../wire/constants.ts';
import type { Message } from '../wire/messages.ts';
import type { ObjectStore } from '../peer/store.ts';
import { decodeManifest, manifestId, pieceLength, type Manifest } from './manifest.ts';
import { nodePlan, type NodePlan } from './schedule.ts';

export interface PropagationIO {
  node: number;
  store: ObjectStore;
  toGroup(m: Message): void;
  toNode(m: Message, ip: string): void;
  emit(name: string, fields: Record<string, string | number>): void;
}

export interface NodeProgress {
  node: number;
  held: number;
  /** Host ms (Date.now()) when its PIECE_MAP first showed every piece. */
  completeAt?: number;
  /** Host ms when its PIECE_MAP first showed a piece (maps go out at every piece it completes). */
  firstAt?: number;
}

export interface PropagationView {
  id: string;
  pieces: number;
  total: number;
  nodes: number[];
  /** Host ms when the first UPDATE frame of this update was heard. */
  firstHeard: number;
  progress: NodeProgress[];
  /** This node's own part, when it is one of the nodes. */
  self?: { state: string; role: string; held: number; completeAt?: number; counters: Record<string, number> };
}

const LATE_MS = 1000;
const ACK_MS = 80;
const PROBES = 25;
const IDLE_MS = 300;
const REQ_MS = 600;
const PULL_WINDOW = 4;
const TICK_MS = 5;

const chunksOf = (len: number) => Math.ceil(len / CHUNK_MAX);
const fullMask = (n: number) => (1n << BigInt(n)) - 1n;

interface Job {
  node: number;
  ip: string;
  piece: number;
  mask: bigint;
  waiting: boolean;
  deadline: number;
  probes: number;
  last: number;
  pull: boolean;
  flip: boolean;
  /** This burst's LAST frame went twice (under loss, as the kernel's bc_pump). */
  doubled?: boolean;
  /** The next non-zero STATUS is the doubled burst's stale second answer. */
  skip?: boolean;
  /** No resend and no probe so far. */
  clean?: boolean;
}

interface Active {
  /** No push of this update went through at once yet, or the last one saw loss: its bursts end
   *  with the LAST frame twice (as the kernel's bc_lossy). */
  lossy: boolean;
  /** Repeats of the completion map still to send. */
  mapBurst?: number;
  id: string;
  m: Manifest;
  me: number;
  plan: NodePlan;
  role: 'push' | 'late';
  state: 'active' | 'complete' | 'stored' | 'failed';
  data: Buffer;
  chunks: bigint[];
  held: Uint8Array;
  heldCount: number;
  prog: number[];
  req: Array<{ nodes: number[]; at: number }>;
  maps: Map<number, Set<number>>;
  cursor: number;
  /** The round before the cursor's push had no push of this node (skipped, or none planned). */
  skipped: boolean;
  job?: Job;
  serve: Job[];
  lastRx: number;
  nextMap: number;
  nextWho: number;
  started: number;
  completeAt?: number;
  timer: NodeJS.Timeout;
}

export class Propagator {
  readonly counters = { bad_piece: 0, dup: 0, pushed: 0, served: 0, pulled: 0, gets: 0, retx: 0, giveups: 0, last2: 0, unknown: 0, rx_bytes: 0, data_tx: 0, ctl_tx: 0 };
  /** Test fault: the next N pushes carry one flipped byte in their first chunk. */
  flipPieces = 0;
  private watched: { id: string; total: number; parts: Map<number, Buffer>; age: number; firstHeard: number; m?: Manifest; maps: Map<number, NodeProgress> } | undefined;
  private cur: Active | undefined;

  constructor(private readonly io: PropagationIO) {}

  stop(): void {
    if (this.cur) clearInterval(this.cur.timer);
  }

  view(): PropagationView | undefined {
    const w = this.watched;
    if (!w?.m) return undefined;
    const c = this.cur && this.cur.id === w.id ? this.cur : undefined;
    return {
      id: w.id, pieces: w.m.pieces, total: w.m.total, nodes: w.m.nodes, firstHeard: w.firstHeard,
      progress: w.m.nodes.filter((n) => n !== this.io.node).map((n) => w.maps.get(n) ?? { node: n, held: n === w.m!.nodes[0] ? w.m!.pieces : 0 }),
      ...(c ? { self: { state: c.state, role: c.role, held: c.heldCount, completeAt: c.completeAt, counters: { ...this.counters } } } : {}),
    };
  }

  receive(sender: number, ip: string, msg: Message): void {
    switch (msg.type) {
      case 'update':
        return this.onUpdate(msg);
      case 'piece_map':
        return this.onMap(sender, msg);
      default:
        break;
    }
    const c = this.cur;
    if (!c || !('id' in msg) || msg.id !== c.id) {
      this.counters.unknown++;
      return;
    }
    switch (msg.type) {
      case 'piece':
        return this.onPiece(c, sender, ip, msg);
      case 'piece_status':
        return this.onStatus(c, sender, msg);
      case 'piece_get':
        return this.onGet(c, sender, ip, msg);
      case 'piece_who':
        c.nextMap = Math.min(c.nextMap, Date.now() + (this.io.node % 8) + 1);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------------------
  private onUpdate(m: Extract<Message, { type: 'update' }>): void {
    if (m.total < 28 || m.total > 8192 || m.offset % UPDATE_PART !== 0 || m.offset >= m.total || m.part.length !== Math.min(UPDATE_PART, m.total - m.offset)) return;
    if (!this.watched || this.watched.id !== m.id) {
      if (this.cur && this.cur.state === 'active') return; // one update at a time
      this.watched = { id: m.id, total: m.total, parts: new Map(), age: 0, firstHeard: Date.now(), maps: new Map() };
    }
    const w = this.watched;
    if (w.m || w.total !== m.total) return;
    w.parts.set(m.offset, m.part);
    if (w.parts.size !== Math.ceil(w.total / UPDATE_PART)) return;
    const bytes = Buffer.concat([...w.parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
    if (manifestId(bytes) !== w.id) return;
    const d = decodeManifest(bytes);
    if (!d.ok) return;
    w.m = d.value;
    w.age = m.age;
    const me = d.value.nodes.indexOf(this.io.node);
    if (me > 0) this.join(w.id, d.value, me, m.age >= LATE_MS ? 'late' : 'push');
  }

  private onMap(sender: number, m: Extract<Message, { type: 'piece_map' }>): void {
    const w = this.watched;
    if (w && w.id === m.id && w.m && m.pieces === w.m.pieces) {
      const prev = w.maps.get(sender);
      const p: NodeProgress = { ...prev, node: sender, held: m.held };
      if (m.held === m.pieces && !p.completeAt) p.completeAt = Date.now();
      if (m.held > 0 && !p.firstAt) p.firstAt = Date.now();
      w.maps.set(sender, p);
    }
    const c = this.cur;
    if (!c || c.id !== m.id || m.pieces !== c.m.pieces) return;
    const s = new Set<number>();
    for (let p = 0; p < m.pieces; p++) if (m.bitmap[p >> 3]! & (1 << (p & 7))) s.add(p);
    c.maps.set(sender, s);
  }

  private join(id: string, m: Manifest, me: number, role: 'push' | 'late'): void {
    if (this.cur) clearInterval(this.cur.timer);
    for (const k of Object.keys(this.counters) as Array<keyof Propagator['counters']>) this.counters[k] = 0;
    const now = Date.now();
    const c: Active = {
      id, m, me, plan: nodePlan(m.nodes.length, m.pieces, me), role, state: 'active', data: Buffer.alloc(m.total),
      chunks: new Array<bigint>(m.pieces).fill(0n), held: new Uint8Array(m.pieces), heldCount: 0,
      prog: new Array<number>(m.pieces).fill(0), req: Array.from({ length: m.pieces }, () => ({ nodes: [], at: 0 })),
      maps: new Map(), cursor: 0, skipped: false, lossy: true, serve: [], lastRx: now, nextMap: now + (this.io.node % 8), nextWho: 0, started: now,
      timer: setInterval(() => this.tick(), TICK_MS),
    };
    this.cur = c;
    this.io.emit('update', { id, pieces: m.pieces, held: 0, state: 'active', role });
  }

  // ---------------------------------------------------------------------------------------
  private status(c: Active, piece: number, missing: bigint, ip: string): void {
    this.counters.ctl_tx += 20 + 32;
    this.io.toNode({ type: 'piece_status', id: c.id, piece, missing }, ip);
  }

  private onPiece(c: Active, sender: number, ip: string, m: Extract<Message, { type: 'piece' }>): void {
    if (m.piece >= c.m.pieces) return;
    const len = pieceLength(c.m.total, m.piece);
    const n = chunksOf(len);
    if (m.chunk >= n || m.bytes.length !== Math.min(CHUNK_MAX, len - m.chunk * CHUNK_MAX)) return;
    const last = (m.flags & PIECE_LAST) !== 0;
    if (c.held[m.piece]) {
      this.counters.dup++;
      if (last || m.chunk === 0) this.status(c, m.piece, 0n, ip);
      return;
    }
    const bit = 1n << BigInt(m.chunk);
    if (c.chunks[m.piece]! & bit) this.counters.dup++;
    else {
      m.bytes.copy(c.data, m.piece * PIECE_SIZE + m.chunk * CHUNK_MAX);
      c.chunks[m.piece]! |= bit;
      c.prog[m.piece] = c.lastRx = Date.now();
      this.counters.rx_bytes += m.bytes.length;
    }
    const full = fullMask(n);
    if (c.chunks[m.piece] === full) {
      const start = m.piece * PIECE_SIZE;
      if (manifestId(c.data.subarray(start, start + len)) !== c.m.pieceHashes[m.piece]) {
        this.counters.bad_piece++;
        c.chunks[m.piece] = 0n;
        this.status(c, m.piece, full, ip);
        return;
      }
      c.held[m.piece] = 1;
      c.heldCount++;
      if (c.req[m.piece]!.nodes.length) this.counters.pulled++;
      c.req[m.piece] = { nodes: [], at: 0 };
      this.status(c, m.piece, 0n, ip);
      // the map goes out at the next tick: the kernel senders' target barrier waits on it
      c.nextMap = Math.min(c.nextMap, Date.now());
      if (c.heldCount === c.m.pieces) this.complete(c);
    } else if (last) this.status(c, m.piece, full & ~c.chunks[m.piece]!, ip);
    void sender;
  }

  private onStatus(c: Active, sender: number, m: Extract<Message, { type: 'piece_status' }>): void {
    if (m.piece >= c.m.pieces) return;
    const full = fullMask(chunksOf(pieceLength(c.m.total, m.piece)));
    const missing = m.missing & full;
    if (missing === 0n) {
      let s = c.maps.get(sender);
      if (!s) c.maps.set(sender, (s = new Set()));
      s.add(m.piece);
    }
    const j = c.job;
    if (!j || j.piece !== m.piece || j.node !== sender) return;
    if (missing === 0n) {
      c.job = undefined;
      this.counters.pushed++;
      c.lossy = j.clean === false;
      return;
    }
    // a doubled burst's two STATUS frames name the same chunks: act on the first only
    if (j.skip) {
      j.skip = false;
      return;
    }
    j.skip = j.doubled === true;
    j.doubled = false;
    j.clean = false;
    c.lossy = true;
    for (let b = missing; b; b &= b - 1n) this.counters.retx++;
    j.mask = missing;
    j.waiting = false;
  }

  private onGet(c: Active, sender: number, ip: string, m: Extract<Message, { type: 'piece_get' }>): void {
    if (m.piece >= c.m.pieces || !c.held[m.piece]) return;
    const mask = m.missing & fullMask(chunksOf(pieceLength(c.m.total, m.piece)));
    if (!mask) return;
    const q = c.serve.find((j) => j.node === sender && j.piece === m.piece);
    if (q) q.mask |= mask;
    else if (c.serve.length < 8) c.serve.push({ node: sender, ip, piece: m.piece, mask, waiting: false, deadline: 0, probes: 0, last: 0, pull: true, flip: false });
  }

  // ---------------------------------------------------------------------------------------
  private tick(): void {
    const c = this.cur;
    if (!c) return;
    const now = Date.now();
    if (now >= c.nextMap) {
      const allDone = c.heldCount === c.m.pieces && c.m.nodes.every((n, i) => i === c.me || (i === 0 ? true : c.maps.get(n)?.size === c.m.pieces));
      c.nextMap = c.mapBurst ? now + 20 : now + (c.state === 'active' ? 500 : 1000);
      if (c.mapBurst) c.mapBurst--;
      if (!allDone || c.state === 'active' || now - (c.completeAt ?? now) < 10_000) this.sendMap(c);
    }
    this.pump(c, now);
    if (c.state === 'active') this.recover(c, now);
  }

  private sendMap(c: Active): void {
    const bitmap = Buffer.alloc(Math.ceil(c.m.pieces / 8));
    for (let p = 0; p < c.m.pieces; p++) if (c.held[p]) bitmap[p >> 3]! |= 1 << (p & 7);
    this.counters.ctl_tx += 20 + 24 + bitmap.length;
    this.io.toGroup({ type: 'piece_map', id: c.id, pieces: c.m.pieces, held: c.heldCount, bitmap });
  }

  private pump(c: Active, now: number): void {
    for (let guard = 0; guard < 64; guard++) {
      const j = c.job;
      if (j) {
        if (j.waiting) {
          if (now < j.deadline) return;
          if (++j.probes > PROBES) {
            this.counters.giveups++;
            c.job = undefined;
            continue;
          }
          j.mask = 1n << BigInt(j.last);
          j.waiting = false;
          j.clean = false;
          c.lossy = true;
        }
        this.burst(c, j);
        j.waiting = true;
        j.deadline = now + ACK_MS;
        return;
      }
      const s = c.serve.shift();
      if (s) {
        this.counters.served++;
        c.job = s;
        continue;
      }
      if (c.role === 'late' || c.cursor >= c.plan.pushes.length) return;
      const p = c.plan.pushes[c.cursor]!;
      const to = c.m.nodes[p.to]!;
      if (c.maps.get(to)?.has(p.piece)) {
        c.cursor++;
        c.skipped = true;
        continue;
      }
      if (!c.held[p.piece]) return; // data-driven: wait for it
      // the round barrier (as the kernel's bc_pump): after a round without a push, wait for
      // what this node receives in the round before this push's, so as not to run ahead into a
      // target that is still receiving from its own sender
      const prev = c.cursor > 0 ? c.plan.pushes[c.cursor - 1]!.round : -1;
      if ((c.skipped || prev < p.round - 1) && c.plan.me !== 0 && p.round > 0) {
        const want = c.plan.receives[p.round - 1]!;
        if (want >= 0 && !c.held[want]) return;
      }
      c.skipped = false;
      c.cursor++;
      const flip = this.flipPieces > 0;
      if (flip) this.flipPieces--;
      c.job = { node: to, ip: nodeIp(to), piece: p.piece, mask: fullMask(chunksOf(pieceLength(c.m.total, p.piece))), waiting: false, deadline: 0, probes: 0, last: 0, pull: false, flip };
    }
  }

  private burst(c: Active, j: Job): void {
    const len = pieceLength(c.m.total, j.piece);
    const n = chunksOf(len);
    const list: number[] = [];
    for (let i = 0; i < n; i++) if (j.mask & (1n << BigInt(i))) list.push(i);
    list.forEach((i, k) => {
      const at = j.piece * PIECE_SIZE + i * CHUNK_MAX;
      let bytes = c.data.subarray(at, at + Math.min(CHUNK_MAX, len - i * CHUNK_MAX));
      if (j.flip && i === 0) {
        bytes = Buffer.from(bytes);
        bytes[0] = bytes[0]! ^ 0xff;
        j.flip = false;
      }
      this.counters.data_tx += bytes.length;
      this.io.toNode({ type: 'piece', id: c.id, piece: j.piece, chunk: i, flags: k === list.length - 1 ? PIECE_LAST : 0, bytes }, j.ip);
      j.last = i;
      // under loss the LAST frame goes twice (docs/protocol.md, "Moving a piece")
      if (k === list.length - 1 && c.lossy) {
        this.counters.last2++;
        this.counters.data_tx += bytes.length;
        this.io.toNode({ type: 'piece', id: c.id, piece: j.piece, chunk: i, flags: PIECE_LAST, bytes }, j.ip);
      }
    });
    j.doubled = c.lossy && list.length > 0;
    j.mask = 0n;
  }

  private recover(c: Active, now: number): void {
    const idle = c.role === 'late' || now - c.lastRx >= IDLE_MS;
    if (idle && now >= c.nextWho) {
      c.nextWho = now + 1000;
      this.counters.ctl_tx += 20 + 24;
      this.io.toGroup({ type: 'piece_who', id: c.id, qid: now >>> 0 });
    }
    let inflight = 0;
    for (let p = 0; p < c.m.pieces; p++) {
      const r = c.req[p]!;
      if (!r.nodes.length) continue;
      if (now - Math.max(r.at, c.prog[p]!) >= REQ_MS) c.req[p] = { nodes: [], at: 0 };
      else inflight++;
    }
    const n = c.m.nodes.length;
    for (let p = 0; p < c.m.pieces; p++) {
      if (c.held[p]) continue;
      const stalled = c.chunks[p]! !== 0n && now - c.prog[p]! >= IDLE_MS;
      if (!idle && !stalled) continue;
      const r = c.req[p]!;
      if (r.nodes.length >= 2) continue;
      if (r.nodes.length === 1 && now - r.at < REQ_MS / 2) continue;
      if (r.nodes.length === 0 && inflight >= PULL_WINDOW) return;
      let holder = -1;
      for (let k = 1; k < n && holder < 0; k++) {
        const i = (c.me + p + k) % n;
        if (i !== c.me && c.maps.get(c.m.nodes[i]!)?.has(p) && !r.nodes.includes(i)) holder = i;
      }
      if (holder < 0 && !r.nodes.includes(0)) holder = 0;
      if (holder < 0) continue;
      if (!r.nodes.length) inflight++;
      r.nodes.push(holder);
      r.at = now;
      this.counters.gets++;
      this.counters.ctl_tx += 20 + 32;
      const full = fullMask(chunksOf(pieceLength(c.m.total, p)));
      this.io.toNode({ type: 'piece_get', id: c.id, piece: p, missing: full & ~c.chunks[p]! }, nodeIp(c.m.nodes[holder]!));
    }
  }

  private complete(c: Active): void {
    c.state = 'complete';
    c.completeAt = Date.now();
    this.sendMap(c);
    // twice more, 20 ms apart (as the kernel): a lost completion map costs the others a second
    c.mapBurst = 2;
    c.nextMap = c.completeAt + 20;
    let at = 0;
    for (const o of c.m.objects) {
      const data = c.data.subarray(at, at + o.size);
      at += o.size;
      const t = numToType(o.otype);
      if (!t || hashObject(t, data) !== o.hash) {
        c.state = 'failed';
        this.io.emit('update', { id: c.id, state: 'failed', reason: `object ${o.hash} does not hash` });
        return;
      }
    }
    at = 0;
    for (const o of c.m.objects) {
      if (!this.io.store.has(o.hash)) this.io.store.put(o.hash, o.otype, Buffer.from(c.data.subarray(at, at + o.size)));
      at += o.size;
    }
    c.state = 'stored';
    this.io.emit('update', { id: c.id, pieces: c.m.pieces, held: c.heldCount, state: 'stored', ms: c.completeAt - c.started });
  }
}
