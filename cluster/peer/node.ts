// The host peer's protocol state machine (docs/protocol.md, "Behaviour"): a node without a VM.
// It answers WHO_HAS with I_HAVE, serves GET with DATA (or NOT_HERE), fetches with
// retransmission and holder fail-over, verifies every object's SHA-1 before storing it,
// announces, executes authenticated CONTROL frames, and keeps the peer and holder tables and
// the counters. The network is an injected Transport (cluster/peer/udp.ts in production).
import { hashObject, numToType } from '../../gitfs/objects.ts';
import { decodeTree, isTreeMode, MODE_GITLINK } from '../../gitfs/tree.ts';
import { inSubnet, ipNode, nodeIp, nodeMac } from '../wire/address.ts';
import { CHUNK_MAX, DELTA_MAX, DeltaStatus, GET_MAX, SIZE, type DropReason } from '../wire/constants.ts';
import { chunkCrc } from '../wire/crc.ts';
import { authenticate, decodeFrame, encodeFrame, type Frame } from '../wire/frame.ts';
import type { Control, Message } from '../wire/messages.ts';
import { ReplayWindow } from '../wire/replay.ts';
import { newCounters, type Counters } from './counters.ts';
import { applyReceived, DeltaCache, deltaVerdict } from './delta.ts';
import { HolderCache, type Holding } from './holders.ts';
import type { ObjectStore, StoredObject } from './store.ts';
import { Transfer, type TransferEnd } from './transfer.ts';
import { Propagator } from '../propagate/participant.ts';

export interface Transport {
  /** Unicast to an address on the cluster's subnet. */
  send(bytes: Buffer, ip: string): void;
  /** To the cluster's multicast group. */
  multicast(bytes: Buffer): void;
}

export interface PeerEvent {
  name: string;
  fields: Record<string, string | number>;
}

export interface PeerConfig {
  node: number;
  /** The cluster key; without it, authenticated frames are neither sent nor accepted. */
  key?: Buffer;
  store: ObjectStore;
  transport: Transport;
  /** Boot epoch (default: now, Unix seconds). */
  epoch?: number;
  version?: string;
  /** The booted kernel commit (a host peer has none: zeros). */
  kernel?: string;
  /** ANNOUNCE period; 0 announces only at start and on a revision change. */
  announceMs?: number;
  /** Largest object fetched into memory (default 64 MiB). */
  maxObjectBytes?: number;
  onEvent?: (e: PeerEvent) => void;
  /** Fault injection for tests: serve every delta with its last byte flipped (CRC made to match). */
  corruptDeltas?: boolean;
}

export interface PeerInfo {
  node: number;
  ip: string;
  mac: string;
  rev: string;
  kernel: string;
  version: string;
  objects: number;
  /** Host milliseconds (Date.now()) of the last ANNOUNCE. */
  lastHeard: number;
  stale: boolean;
}

export interface WhoHasAnswer {
  node: number;
  size: number;
  otype: number;
  ms: number;
}

export interface FetchResult {
  hash: string;
  type: string;
  size: number;
  holder: number;
  ms: number;
  /** False when the object was already stored here. */
  fetched: boolean;
  retransmits: number;
  badChunks: number;
  /** With a base: `yes` (moved as a delta), `no` (moved whole), `bad` (a delta refused, then whole). */
  delta?: 'yes' | 'no' | 'bad';
  deltaBytes?: number;
  /** Bytes of the GET_DELTA and DELTA frames on the wire (Ethernet headers included). */
  wireBytes?: number;
}

/** Ethernet, IPv4 and UDP headers plus GTP's: a frame's bytes beyond its payload. */
const WIRE_OVERHEAD = 14 + 20 + 8 + 20;

/**
 * A fetch that could not complete: `reason` is `timeout` (nobody answered) or `no-holder`;
 * `tries` says how each holder tried failed ("1 silent", "3 bad-object").
 */
export class FetchFailed extends Error {
  constructor(
    readonly hash: string,
    readonly reason: 'timeout' | 'no-holder',
    readonly tries: readonly string[] = [],
  ) {
    const tried = tries.length > 0 ? `; tried ${tries.join(', ')}` : '';
    super(`fetch ${hash}: ${reason === 'timeout' ? 'no node answered (reason=timeout)' : `every holder failed (reason=no-holder${tried})`}`);
  }
}

/** A COMMIT whose tree is not a tree (COMMITTED status 3). */
export class NotATree extends Error {}

export const STALE_MS = 10_000;
const ZERO = '0'.repeat(40);
const WHO_HAS_TRIES = 4; // the first ask and 3 retries
const WHO_HAS_GAP_MS = 200;
/** A kernel holder reads, verifies and encodes both objects before its first DELTA. */
const DELTA_FIRST_WAIT_MS = 3000;
/** A CONTROL COMMIT or POLICY goes again this often until it is answered (the kernel's COMMIT
 *  repeat window is 5 s; a POLICY in force is answered as it is). */
const COMMIT_RESEND_MS = 1000;
/** COMMITTED status 4: a COMMIT is running on the node (ours, or another's). */
const COMMIT_BUSY = 4;

export class PeerNode {
  readonly counters: Counters = newCounters();
  readonly holders = new HolderCache();
  readonly epoch: number;
  private seq = 0;
  private readonly window = new ReplayWindow();
  private readonly peerTable = new Map<number, PeerInfo>();
  private readonly answered = new Set<string>();
  private readonly transfers = new Map<number, { holder: number; hash: string; t: Transfer }>();
  private readonly finders = new Map<string, Set<(node: number, h: Holding) => void>>();
  /** A node's COMMITTED to the commit waiting for it: true when it ended the wait. */
  private readonly commitWaiters = new Map<number, (c: { commit: string; status: number }) => boolean>();
  private readonly policyWaiters = new Map<number, (c: { blob: string; status: number }) => boolean>();
  private readonly serveCache = new Map<string, StoredObject>();
  private readonly deltaCache = new DeltaCache();
  private readonly deltaTransfers = new Map<number, { holder: number; hash: string; t: Transfer; wire: { bytes: number }; size?: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private qid = 0;
  private fid = 0;
  private announceTimer: NodeJS.Timeout | undefined;
  private lastRev: string | undefined;
  private stopped = false;

  /** Propagations on the schedule (cluster/propagate/): watched always, joined when named. */
  readonly propagation: Propagator;

  constructor(private readonly cfg: PeerConfig) {
    this.epoch = cfg.epoch ?? Math.floor(Date.now() / 1000);
    this.propagation = new Propagator({
      node: cfg.node, store: cfg.store,
      toGroup: (m) => this.toGroup(m), toNode: (m, ip) => this.toNode(m, ip), emit: (name, f) => this.emit(name, f),
    });
  }

  get node(): number {
    return this.cfg.node;
  }

  get store(): ObjectStore {
    return this.cfg.store;
  }

  start(): void {
    this.announce();
    const ms = this.cfg.announceMs ?? 2000;
    if (ms > 0) this.announceTimer = setInterval(() => this.announce(), ms);
  }

  stop(): void {
    this.stopped = true;
    this.propagation.stop();
    if (this.announceTimer) clearInterval(this.announceTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const { t } of this.transfers.values()) t.stop();
    for (const { t } of this.deltaTransfers.values()) t.stop();
  }

  /** Test faults: `corruptDeltas` serves deltas that do not apply to the right bytes. */
  setFaults(f: { corruptDeltas?: boolean }): void {
    this.cfg.corruptDeltas = Boolean(f.corruptDeltas);
  }

  private emit(name: string, fields: Record<string, string | number>): void {
    this.cfg.onEvent?.({ name, fields });
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  private frame(msg: Message): Buffer {
    this.seq = (this.seq + 1) >>> 0;
    const f: Frame = { sender: this.cfg.node, epoch: this.epoch, seq: this.seq, msg };
    return encodeFrame(f, this.cfg.key);
  }

  private toGroup(msg: Message): void {
    if (this.stopped) return;
    this.counters.tx++;
    this.cfg.transport.multicast(this.frame(msg));
  }

  private toNode(msg: Message, ip: string): void {
    if (this.stopped) return;
    this.counters.tx++;
    this.cfg.transport.send(this.frame(msg), ip);
  }

  /** The transport reports a send that failed. */
  countTxError(): void {
    this.counters.tx_err++;
  }

  /** Multicasts ANNOUNCE (needs the key). */
  announce(): void {
    if (!this.cfg.key) return;
    const rev = this.cfg.store.revision() ?? ZERO;
    this.lastRev = rev;
    this.toGroup({ type: 'announce', rev, kernel: this.cfg.kernel ?? ZERO, objects: this.cfg.store.objectCount(), flags: 0, version: (this.cfg.version ?? '').slice(0, 32) });
  }

  private revisionMaybeChanged(): void {
    if ((this.cfg.store.revision() ?? ZERO) !== this.lastRev) this.announce();
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  private drop(reason: DropReason): void {
    this.counters.rx_drop[reason]++;
    if (reason === 'auth') this.counters.auth_fail++;
    if (reason === 'replay') this.counters.replay++;
  }

  /** One UDP datagram from `fromIp`. Never throws for any input. */
  receive(bytes: Buffer, fromIp: string): void {
    this.counters.rx++;
    if (!inSubnet(fromIp)) return this.drop('addr');
    const d = decodeFrame(bytes, { self: this.cfg.node });
    if (!d.ok) return this.drop(d.reason);
    const bad = authenticate(d, this.cfg.key, this.window);
    if (bad) return this.drop(bad);
    const { sender } = d.frame;
    const msg = d.frame.msg;
    switch (msg.type) {
      case 'announce':
        return this.onAnnounce(sender, fromIp, msg);
      case 'who_has':
        return this.onWhoHas(sender, msg.hash, msg.qid);
      case 'i_have':
        return this.onHolder(msg.hash, { node: sender, size: msg.size, otype: msg.otype });
      case 'have':
        return this.onHolder(msg.hash, { node: sender, size: msg.size, otype: msg.otype });
      case 'get':
        return this.onGet(msg, fromIp);
      case 'data': {
        const tr = this.transfers.get(msg.fid);
        if (tr && tr.holder === sender && tr.hash === msg.hash) tr.t.onData(msg);
        return;
      }
      case 'not_here': {
        const tr = this.transfers.get(msg.fid);
        if (tr && tr.holder === sender && tr.hash === msg.hash) {
          this.holders.forget(msg.hash, sender);
          tr.t.notHere();
        }
        return;
      }
      case 'control':
        return this.onControl(sender, fromIp, msg.control);
      case 'get_delta':
        return this.onGetDelta(msg, fromIp);
      case 'delta': {
        const tr = this.deltaTransfers.get(msg.fid);
        if (!tr || tr.holder !== sender || tr.hash !== msg.hash) return;
        tr.wire.bytes += SIZE.DELTA_FIXED + msg.chunk.length + WIRE_OVERHEAD;
        if (msg.status !== DeltaStatus.OK) return tr.t.notHere();
        if (tr.size !== undefined && tr.size !== msg.size) return void this.counters.bad_chunk++;
        tr.size = msg.size;
        tr.t.onData(msg);
        return;
      }
      case 'update':
      case 'piece':
      case 'piece_status':
      case 'piece_get':
      case 'piece_who':
      case 'piece_map':
        return this.propagation.receive(sender, fromIp, msg);
    }
  }

  private onGetDelta(m: Extract<Message, { type: 'get_delta' }>, ip: string): void {
    const target = this.objectFor(m.hash);
    const v = this.deltaCache.get(m.hash, m.base, () => deltaVerdict(target, this.cfg.store.get(m.base)));
    const size = target?.data.length ?? 0;
    const otype = target?.otype ?? 0;
    if (v.status !== DeltaStatus.OK) {
      this.toNode({ type: 'delta', hash: m.hash, fid: m.fid, status: v.status, otype, offset: 0, total: 0, size, crc: chunkCrc(Buffer.alloc(0)), chunk: Buffer.alloc(0) }, ip);
      return;
    }
    let delta = v.delta;
    if (this.cfg.corruptDeltas) {
      delta = Buffer.from(delta);
      delta[delta.length - 1]! ^= 0xff;
    }
    const total = delta.length;
    if (m.offset >= total) return this.drop('size');
    const first = Math.floor(m.offset / CHUNK_MAX);
    const last = Math.ceil(Math.min(total, m.offset + m.length) / CHUNK_MAX) - 1;
    for (let i = first; i <= last; i++) {
      const offset = i * CHUNK_MAX;
      const chunk = delta.subarray(offset, Math.min(total, offset + CHUNK_MAX));
      this.toNode({ type: 'delta', hash: m.hash, fid: m.fid, status: DeltaStatus.OK, otype, offset, total, size, crc: chunkCrc(chunk), chunk }, ip);
    }
  }

  private onAnnounce(sender: number, ip: string, m: Extract<Message, { type: 'announce' }>): void {
    const old = this.peerTable.get(sender);
    const info: PeerInfo = { node: sender, ip, mac: nodeMac(sender), rev: m.rev, kernel: m.kernel, version: m.version, objects: m.objects, lastHeard: Date.now(), stale: false };
    this.peerTable.set(sender, info);
    if (!old || old.rev !== m.rev) this.emit('peer', { node: sender, ip, rev: m.rev, kernel: m.kernel, version: m.version });
  }

  private objectFor(hash: string): StoredObject | undefined {
    const c = this.serveCache.get(hash);
    if (c) return c;
    const o = this.cfg.store.get(hash);
    if (!o) return undefined;
    this.serveCache.set(hash, o);
    while (this.serveCache.size > 8) this.serveCache.delete(this.serveCache.keys().next().value!);
    return o;
  }

  private onWhoHas(sender: number, hash: string, qid: number): void {
    if (!this.cfg.store.has(hash)) return;
    const key = `${sender}:${qid}`;
    if (this.answered.has(key)) return;
    if (this.answered.size >= 4096) this.answered.clear();
    this.answered.add(key);
    // (node mod 8) ms, as every holder answers; a node this peer ordered to COMMIT asks for the
    // tree's objects, which only this peer may hold yet: it gets the answer at once
    this.later(this.commitWaiters.has(sender) ? 0 : this.cfg.node % 8, () => {
      const o = this.objectFor(hash);
      if (o) this.toGroup({ type: 'i_have', hash, qid, size: o.data.length, otype: o.otype });
    });
  }

  private onHolder(hash: string, h: Holding): void {
    this.holders.add(hash, h);
    const f = this.finders.get(hash);
    if (f) for (const cb of [...f]) cb(h.node, h);
  }

  private onGet(m: Extract<Message, { type: 'get' }>, ip: string): void {
    const o = this.objectFor(m.hash);
    if (!o) {
      this.toNode({ type: 'not_here', hash: m.hash, fid: m.fid }, ip);
      return;
    }
    const total = o.data.length;
    const send = (i: number) => {
      const offset = i * CHUNK_MAX;
      const chunk = o.data.subarray(offset, Math.min(total, offset + CHUNK_MAX));
      this.toNode({ type: 'data', hash: m.hash, fid: m.fid, offset, total, crc: chunkCrc(chunk), otype: o.otype, chunk }, ip);
    };
    if (total === 0) {
      if (m.offset === 0) send(0);
      return;
    }
    if (m.offset >= total) return;
    const first = Math.floor(m.offset / CHUNK_MAX);
    const last = Math.ceil(Math.min(total, m.offset + Math.min(m.length, GET_MAX)) / CHUNK_MAX) - 1;
    for (let i = first; i <= last; i++) send(i);
  }

  private onControl(sender: number, ip: string, c: Control): void {
    switch (c.op) {
      case 'committed': {
        const w = this.commitWaiters.get(sender);
        if (w?.({ commit: c.commit, status: c.status })) this.commitWaiters.delete(sender);
        return;
      }
      case 'reboot':
        this.emit('control', { op: 'reboot', from: sender });
        return;
      case 'policy_set': {
        const w = this.policyWaiters.get(sender);
        if (w?.({ blob: c.blob, status: c.status })) this.policyWaiters.delete(sender);
        return;
      }
      case 'policy':
        // the host peer keeps no placement of its own (it is no policy target)
        this.emit('control', { op: 'policy', from: sender, glob: c.glob, copies: c.copies });
        return;
      case 'propagate': // the host peer does not seed (a node does)
        return;
      case 'commit':
        this.emit('control', { op: 'commit', from: sender, tree: c.tree, branch: c.branch });
        void this.executeCommit(sender, ip, c);
        return;
    }
  }

  private async executeCommit(sender: number, ip: string, c: Extract<Control, { op: 'commit' }>): Promise<void> {
    let commit = ZERO;
    let status = 0;
    try {
      await this.fetchTree(c.tree);
      commit = this.cfg.store.commit(c.branch, c.tree, c.message);
      this.revisionMaybeChanged();
    } catch (e) {
      status = e instanceof FetchFailed ? 1 : e instanceof NotATree ? 3 : 2;
      this.emit('error', { op: 'commit', reason: e instanceof Error ? e.message : String(e) });
    }
    if (this.cfg.key) this.toNode({ type: 'control', control: { op: 'committed', commit, status } }, ip);
    this.emit('committed', { from: sender, commit, status });
  }

  // -------------------------------------------------------------------------------------------
  // Asking and fetching

  /** Multicasts WHO_HAS and collects the I_HAVE answers for `waitMs`. */
  async whoHas(hash: string, waitMs = 300): Promise<WhoHasAnswer[]> {
    const qid = ++this.qid;
    const t0 = performance.now();
    const out: WhoHasAnswer[] = [];
    const cb = (node: number, h: Holding) => {
      if (!out.some((a) => a.node === node)) out.push({ node, size: h.size, otype: h.otype, ms: Math.round((performance.now() - t0) * 1000) / 1000 });
    };
    this.addFinder(hash, cb);
    try {
      this.toGroup({ type: 'who_has', hash, qid });
      await new Promise<void>((r) => this.later(waitMs, r));
    } finally {
      this.removeFinder(hash, cb);
    }
    return out;
  }

  private addFinder(hash: string, cb: (node: number, h: Holding) => void): void {
    let s = this.finders.get(hash);
    if (!s) this.finders.set(hash, (s = new Set()));
    s.add(cb);
  }

  private removeFinder(hash: string, cb: (node: number, h: Holding) => void): void {
    const s = this.finders.get(hash);
    s?.delete(cb);
    if (s && s.size === 0) this.finders.delete(hash);
  }

  /** WHO_HAS until a first holder answers (4 asks 200 ms apart); false when nobody did. */
  private async findHolder(hash: string): Promise<boolean> {
    let found = false;
    let wake: (() => void) | undefined;
    const cb = () => {
      found = true;
      wake?.();
    };
    this.addFinder(hash, cb);
    try {
      for (let i = 0; i < WHO_HAS_TRIES && !found && !this.stopped; i++) {
        this.toGroup({ type: 'who_has', hash, qid: ++this.qid });
        await new Promise<void>((r) => {
          wake = r;
          this.later(WHO_HAS_GAP_MS, r);
        });
      }
    } finally {
      this.removeFinder(hash, cb);
    }
    return found;
  }

  /**
   * Fetches an object by hash, verifies it, stores it and multicasts HAVE. With `base` (an
   * object stored here: the previous version), it asks the first holder for a delta against it
   * first; a "full" or "absent" answer, silence, or a delta that does not apply and hash
   * (counted bad_delta) ends in the whole object.
   */
  async fetch(hash: string, opts: { base?: string } = {}): Promise<FetchResult> {
    if (opts.base && !this.cfg.store.has(hash) && this.cfg.store.has(opts.base)) return this.fetchBased(hash, opts.base);
    return this.fetchWhole(hash);
  }

  private async fetchBased(hash: string, base: string): Promise<FetchResult> {
    const t0 = performance.now();
    const b = this.cfg.store.get(base);
    if (this.holders.get(hash).length === 0) await this.findHolder(hash);
    const holder = this.holders.get(hash).reverse().find((h) => h.node !== this.cfg.node);
    let used: 'no' | 'bad' = 'no';
    let wireBytes = 0;
    let deltaBytes = 0;
    if (b && holder) {
      const wire = { bytes: 0 };
      const end = await this.transferDelta(holder.node, hash, base, wire);
      wireBytes = wire.bytes;
      if (end.ok) {
        deltaBytes = end.data.length;
        const data = applyReceived(hash, end.otype, b.data, end.data, this.cfg.maxObjectBytes ?? 64 << 20);
        if (data) {
          this.cfg.store.put(hash, end.otype, data);
          this.toGroup({ type: 'have', hash, size: data.length, otype: end.otype });
          const ms = Math.round(performance.now() - t0);
          this.emit('fetch', { hash, holder: holder.node, bytes: data.length, ms, delta: 'yes', delta_bytes: deltaBytes, wire: wireBytes });
          return { hash, type: numToType(end.otype) ?? '?', size: data.length, holder: holder.node, ms, fetched: true, retransmits: 0, badChunks: 0, delta: 'yes', deltaBytes, wireBytes };
        }
        this.counters.bad_delta++;
        used = 'bad';
        this.emit('fetch-retry', { hash, holder: holder.node, why: 'bad-delta' });
      }
    }
    const r = await this.fetchWhole(hash);
    return { ...r, ms: Math.round(performance.now() - t0), delta: used, deltaBytes, wireBytes };
  }

  private transferDelta(holder: number, hash: string, base: string, wire: { bytes: number }): Promise<TransferEnd> {
    const fid = (this.fid = (this.fid + 1) >>> 0);
    const ip = nodeIp(holder);
    const t = new Transfer(
      {
        get: (offset, length) => {
          wire.bytes += SIZE.GET_DELTA + WIRE_OVERHEAD;
          this.toNode({ type: 'get_delta', hash, base, offset, length, fid }, ip);
        },
        setTimer: (ms, fn) => this.later(ms, fn),
        clearTimer: (x) => {
          clearTimeout(x as NodeJS.Timeout);
          this.timers.delete(x as NodeJS.Timeout);
        },
        onRetransmit: () => this.counters.retransmits++,
        onBadChunk: () => this.counters.bad_chunk++,
      },
      undefined,
      DELTA_MAX,
      DELTA_FIRST_WAIT_MS,
    );
    this.deltaTransfers.set(fid, { holder, hash, t, wire });
    t.start();
    return t.ended.finally(() => this.deltaTransfers.delete(fid));
  }

  private async fetchWhole(hash: string): Promise<FetchResult> {
    const t0 = performance.now();
    const base = { retransmits: this.counters.retransmits, bad: this.counters.bad_chunk };
    const done = (holder: number, type: string, size: number, fetched: boolean): FetchResult => ({
      hash, type, size, holder, fetched, ms: Math.round(performance.now() - t0),
      retransmits: this.counters.retransmits - base.retransmits, badChunks: this.counters.bad_chunk - base.bad,
    });
    const have = this.cfg.store.get(hash);
    if (have) return done(this.cfg.node, numToType(have.otype) ?? '?', have.data.length, false);
    let asked = false; // the holders came from this fetch's own WHO_HAS
    let reasked = false;
    if (this.holders.get(hash).length === 0) {
      asked = true;
      if (!(await this.findHolder(hash))) throw new FetchFailed(hash, 'timeout');
    }
    // holder → how its try failed; every try in order, for the error
    const tried = new Map<number, string>();
    const tries: string[] = [];
    const failed = (node: number, why: string) => {
      tried.set(node, why);
      tries.push(`${node} ${why}`);
      this.emit('fetch-retry', { hash, holder: node, why });
    };
    for (;;) {
      const pick = () => this.holders.get(hash).reverse().find((h) => !tried.has(h.node) && h.node !== this.cfg.node);
      let next = pick();
      if (!next && !reasked && !this.stopped && (!asked || [...tried.values()].includes('silent'))) {
        // every holder failed: ask the group once more, and try again every holder that
        // answers (as the kernel does, docs/protocol.md "Fetch"): the cache may have been
        // stale, or a holder that went silent was stalled, not gone. Holders this fetch's own
        // WHO_HAS found that failed otherwise (NOT_HERE, bad bytes) are not asked again.
        reasked = true;
        tried.clear();
        await this.findHolder(hash);
        next = pick();
      }
      if (!next || this.stopped) throw new FetchFailed(hash, 'no-holder', tries);
      const end = await this.transferFrom(next, hash);
      if (!end.ok) {
        if (end.why !== 'stopped') this.holders.forget(hash, next.node);
        failed(next.node, end.why);
        continue;
      }
      const type = numToType(end.otype);
      if (!type || hashObject(type, end.data) !== hash) {
        this.counters.bad_object++;
        this.holders.forget(hash, next.node);
        failed(next.node, 'bad-object');
        continue;
      }
      this.cfg.store.put(hash, end.otype, end.data);
      this.toGroup({ type: 'have', hash, size: end.data.length, otype: end.otype });
      const r = done(next.node, type, end.data.length, true);
      this.emit('fetch', { hash, holder: next.node, bytes: end.data.length, ms: r.ms, retransmits: r.retransmits });
      return r;
    }
  }

  private transferFrom(h: Holding, hash: string): Promise<TransferEnd> {
    const fid = (this.fid = (this.fid + 1) >>> 0);
    const ip = nodeIp(h.node);
    const t = new Transfer(
      {
        get: (offset, length) => this.toNode({ type: 'get', hash, offset, length, fid }, ip),
        setTimer: (ms, fn) => this.later(ms, fn),
        clearTimer: (x) => {
          clearTimeout(x as NodeJS.Timeout);
          this.timers.delete(x as NodeJS.Timeout);
        },
        onRetransmit: () => this.counters.retransmits++,
        onBadChunk: () => this.counters.bad_chunk++,
      },
      h.size,
      this.cfg.maxObjectBytes ?? 64 << 20,
    );
    this.transfers.set(fid, { holder: h.node, hash, t });
    t.start();
    return t.ended.finally(() => this.transfers.delete(fid));
  }

  /** Fetches a tree and everything it names that is not stored here (gitlinks excepted). */
  async fetchTree(tree: string): Promise<number> {
    let fetched = 0;
    const walk = async (hash: string): Promise<void> => {
      const r = await this.fetch(hash);
      if (r.fetched) fetched++;
      const o = this.cfg.store.get(hash);
      if (!o || o.otype !== 2) throw new NotATree(`${hash} is not a tree`);
      const entries = decodeTree(o.data, `tree ${hash}`);
      const blobs = entries.filter((e) => !isTreeMode(e.mode) && e.mode !== MODE_GITLINK && !this.cfg.store.has(e.hash));
      for (let i = 0; i < blobs.length; i += 8) {
        const rs = await Promise.all(blobs.slice(i, i + 8).map((e) => this.fetch(e.hash)));
        fetched += rs.filter((x) => x.fetched).length;
      }
      for (const e of entries) if (isTreeMode(e.mode)) await walk(e.hash);
    };
    await walk(tree);
    return fetched;
  }

  /** Orders `node` (by CONTROL COMMIT) to fetch `tree` and commit it on `branch`. */
  commitOn(node: number, tree: string, branch: string, message: string, timeoutMs = 120_000): Promise<{ commit: string; status: number }> {
    // the node answers a resend of the COMMIT it ran with the same commit (docs/protocol.md,
    // "CONTROL ops"), and `busy` while one runs, ours or another's
    return this.controlUntilAnswered(node, { op: 'commit', tree, branch, message }, this.commitWaiters, 'the commit', timeoutMs);
  }

  /** Orders `node` (by CONTROL POLICY) to set a branch glob's replication policy. The node
   *  answers a rule already in force with its blob, writing nothing (docs/protocol.md,
   *  "Placement"), so a resend is harmless; `busy` while one is queued or running. */
  policyOn(node: number, glob: string, copies: number, timeoutMs = 30_000): Promise<{ blob: string; status: number }> {
    return this.controlUntilAnswered(node, { op: 'policy', glob, copies }, this.policyWaiters, 'the policy change', timeoutMs);
  }

  /** Sends a CONTROL to a node, and again every COMMIT_RESEND_MS until an answer that is not
   *  `busy` comes (a lost order or answer, under loss), or the timeout. */
  private controlUntilAnswered<A extends { status: number }>(node: number, control: Control, waiters: Map<number, (a: A) => boolean>, what: string, timeoutMs: number): Promise<A> {
    if (!this.cfg.key) return Promise.reject(new Error('CONTROL needs the cluster key'));
    if (waiters.has(node)) return Promise.reject(new Error(`${what} on node ${node} is already waiting`));
    return new Promise((resolve, reject) => {
      const send = () => this.toNode({ type: 'control', control }, nodeIp(node));
      let resend: NodeJS.Timeout | undefined;
      const again = () => {
        resend = this.later(COMMIT_RESEND_MS, () => {
          send();
          again();
        });
      };
      const stop = () => {
        for (const x of [t, resend]) {
          if (!x) continue;
          clearTimeout(x);
          this.timers.delete(x);
        }
      };
      const t = this.later(timeoutMs, () => {
        stop();
        waiters.delete(node);
        reject(new Error(`node ${node} did not answer ${what} within ${Math.round(timeoutMs / 1000)} s`));
      });
      waiters.set(node, (a) => {
        if (a.status === COMMIT_BUSY) return false;
        stop();
        resolve(a);
        return true;
      });
      send();
      again();
    });
  }

  /** Sends an authenticated CONTROL to a node, or to the group without one. */
  control(c: Control, node?: number): void {
    if (!this.cfg.key) throw new Error('CONTROL needs the cluster key');
    if (node === undefined) this.toGroup({ type: 'control', control: c });
    else this.toNode({ type: 'control', control: c }, nodeIp(node));
  }

  peers(): PeerInfo[] {
    const now = Date.now();
    return [...this.peerTable.values()].map((p) => ({ ...p, stale: now - p.lastHeard > STALE_MS })).sort((a, b) => a.node - b.node);
  }

  /** The node number behind an address (for transports that only know addresses). */
  static nodeOfIp(ip: string): number | undefined {
    return ipNode(ip);
  }
}
