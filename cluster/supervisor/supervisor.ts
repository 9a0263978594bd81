// The cluster supervisor: a detached process inside the cluster's namespace that owns the VMs
// (their serial lines, shells and logs), the host peer on the bridge, the fault rules and the
// capture, and answers the CLI on a unix control socket until `cluster down`.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BootError, NotFoundError, UsageError } from '../../core/errors.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import type { Vm, VmOptions } from '../../emulator/vm.ts';
import { LEAN_MACHINE } from '../../emulator/qemu-args.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { applyFaults, FAULT_TABLE, type FaultState } from '../net/faults.ts';
import { setLinkUp } from '../net/netns.ts';
import { PeerNode } from '../peer/node.ts';
import { GitFSStore } from '../peer/store.ts';
import { storeDirectory } from '../peer/dir.ts';
import { openUdp, type UdpTransport } from '../peer/udp.ts';
import { HOST_NODE } from '../wire/constants.ts';
import { nodeIp } from '../wire/address.ts';
import type { ClusterSpec, NodeSpec } from '../runtime.ts';
import type { ControlRequest } from './control.ts';

export type NodeState = 'booting' | 'ready' | 'stopped' | 'exited' | 'failed';

export interface LogEntry {
  time: string;
  hostMs: number;
  line: string;
}

interface NodeRt {
  spec: NodeSpec;
  vm?: Vm;
  shell?: ShellClient;
  state: NodeState;
  rev: string;
  kernel: string;
  version: string;
  net: boolean;
  /** Kernel starts seen on the serial line since the VM launched (EVENT boot stage=kernel). */
  boots: number;
  error?: string;
  logs: LogEntry[];
}

export interface NodeStatus {
  node: number;
  state: NodeState;
  rev: string;
  kernel: string;
  version: string;
  ip: string;
  mac: string;
  disk: string;
  /** The kernel reported its network (EVENT net). */
  net: boolean;
  /** The host peer heard this node's ANNOUNCE within the last 10 s. */
  heard: boolean;
  /** Kernel starts since the node's VM was launched: more than 1 means it reset in place (its
   *  watchdog fired, or a fault rebooted it) and lost what it held in RAM. */
  boots: number;
  /** Blobs the policy places on the node, of them stored there, and the rest; copies stored
   *  there that the policy places elsewhere (its `placed`: want, held, missing, surplus). */
  placed?: number;
  held?: number;
  missing?: number;
  surplus?: number;
  /** Pieces held of the current propagation (docs/protocol.md, "Propagation"). */
  update?: { id: string; pieces: number; held: number };
  /** The node's own account of its latest propagation (its `update` command), when it has one:
   *  state, role, plan rounds (K − 1 + ⌈log₂ N⌉), ms from its manifest to every piece held, and
   *  the median µs one piece took to arrive (first chunk to verified; 0 on the seed). */
  propagation?: NodePropagation;
  error?: string;
  /** From the node's `sync` command (docs/protocol.md, "Sync"), when it answered: referrals and
   *  objects in its index, commits/trees still to fetch, distinct heads it knows, sync runs. */
  referrals?: number;
  objects?: number;
  pending?: number;
  heads?: number;
  rounds?: number;
}

export interface NodePropagation {
  id: string; state: string; role: string; pieces: number; held: number; nodes: number;
  planRounds: number; ms: number; pieceUs: number;
}

/** When things happened (host epoch ms), for `up --verbose`'s breakdown of its time. */
export interface Timeline {
  /** The supervisor process started (node's time origin). */
  processAt: number;
  /** Its main module began (the CLI bundle loaded). */
  mainAt: number;
  /** `up` said go (the spec was written); mainAt when it was not waited for. */
  goAt?: number;
  /** The host peer's socket is bound and its store open. */
  peerAt?: number;
  /** The control socket accepts. */
  listeningAt?: number;
  nodes: Array<{ node: number; launchedAt?: number; readyAt?: number; heardAt?: number }>;
}

/** A `wait` answer: the status once it changed after `since` (or the wait's time ran out). */
export interface WaitAnswer {
  version: number;
  status: ReturnType<Supervisor['status']>;
}

const LOG_MAX = 20_000;

/** COMMITTED status codes (docs/protocol.md, "CONTROL ops"), for a one-line error. */
const COMMITTED_STATUS: Record<number, string> = {
  1: 'an object could not be fetched or verified',
  2: 'the filesystem refused it',
  3: `a malformed request: no such branch on the node (a COMMIT moves an existing branch), or not a tree`,
  4: 'busy: a commit is already running',
};

/**
 * How a cluster node's VM is launched (bench/cluster.ts boots its one-node reference with
 * exactly this): the lean pc machine, the node's disk, an e1000 on its tap (or QEMU's
 * loopback multicast socket), the cluster key by fw_cfg, the watchdog armed.
 */
export function nodeVmOptions(c: { accel: 'tcg' | 'kvm'; memoryMb: number; keyFile: string; net: 'netns' | 'user-mcast'; mcast?: string }, n: { disk: string; tap: string; mac: string }): VmOptions {
  const netdev = c.net === 'netns'
    ? `tap,id=net0,ifname=${n.tap},script=no,downscript=no`
    : `socket,id=net0,mcast=${c.mcast},localaddr=127.0.0.1`;
  return {
    disk: n.disk,
    accel: c.accel,
    machineOptions: LEAN_MACHINE,
    memoryMb: c.memoryMb,
    watchdog: true,
    // romfile= : no iPXE option ROM for the BIOS to load (the kernel drives the NIC itself)
    extraArgs: ['-netdev', netdev, '-device', `e1000,netdev=net0,mac=${n.mac},romfile=`, '-fw_cfg', `name=opt/gittorrent/key,file=${c.keyFile}`],
  };
}

function newRt(spec: NodeSpec): NodeRt {
  return { spec, state: 'stopped', rev: '', kernel: '', version: '', net: false, boots: 0, logs: [] };
}

export class Supervisor {
  private readonly nodes = new Map<number, NodeRt>();
  private peer: PeerNode | undefined;
  private udp: UdpTransport | undefined;
  private store: GitFSStore | undefined;
  private tcpdump: ChildProcess | undefined;
  private faults: FaultState = { lossPercent: 0, partition: [] };
  readonly key: Buffer;
  readonly timeline: Timeline;
  /** Bumped on every change `up` waits for (a node's state or network, a node heard). */
  private version = 0;
  private readonly changeWaiters = new Set<() => void>();

  constructor(readonly spec: ClusterSpec, times: { processAt: number; mainAt: number; goAt?: number } = { processAt: Date.now(), mainAt: Date.now() }) {
    this.key = readFileSync(spec.keyFile);
    for (const n of spec.nodes) this.nodes.set(n.node, newRt(n));
    this.timeline = { ...times, nodes: spec.nodes.map((n) => ({ node: n.node })) };
  }

  private changed(): void {
    this.version++;
    for (const w of [...this.changeWaiters]) w();
  }

  private mark(node: number, what: 'launchedAt' | 'readyAt' | 'heardAt'): void {
    const t = this.timeline.nodes.find((x) => x.node === node);
    if (t && (what !== 'heardAt' || t.heardAt === undefined)) t[what] = Date.now();
  }

  /** The status as soon as the version passes `since`, or after `timeoutMs` in any case. */
  private wait(since: number, timeoutMs: number): Promise<WaitAnswer> {
    const answer = (): WaitAnswer => ({ version: this.version, status: this.status() });
    if (this.version > since) return Promise.resolve(answer());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.changeWaiters.delete(done);
        resolve(answer());
      };
      const t = setTimeout(done, timeoutMs);
      this.changeWaiters.add(done);
    });
  }

  async start(): Promise<void> {
    if (this.spec.net !== 'netns') {
      for (const n of this.nodes.keys()) void this.boot(n).catch(() => undefined);
      return;
    }
    // the host peer's socket first (a node's first ANNOUNCE must find it bound), then the VMs
    // (launched at once), then the host peer's store: frames that arrive before it are queued
    let peer: PeerNode | undefined;
    const early: Array<[Buffer, string]> = [];
    this.udp = await openUdp({ ip: nodeIp(HOST_NODE), onMessage: (b, from) => (peer ? peer.receive(b, from) : early.push([b, from])), onSendError: () => peer?.countTxError() });
    for (const n of this.nodes.keys()) void this.boot(n).catch(() => undefined);
    {
      this.store = GitFSStore.open(this.spec.hostImage, 64 << 20);
      peer = this.peer = new PeerNode({
        node: HOST_NODE, key: this.key, store: this.store, transport: this.udp, version: 'host',
        onEvent: (e) => {
          if (e.name !== 'peer') return;
          this.mark(Number(e.fields.node), 'heardAt');
          this.changed();
        },
      });
      peer.start();
      for (const [b, from] of early.splice(0)) peer.receive(b, from);
      this.timeline.peerAt = Date.now();
    }
  }


  private record(rt: NodeRt, line: string, hostMs: number): void {
    rt.logs.push({ time: new Date().toISOString(), hostMs, line });
    if (rt.logs.length > LOG_MAX) rt.logs.splice(0, rt.logs.length - LOG_MAX);
  }

  /** Boots one node to ready (watchdog armed); resolves when ready, rejects on failure. */
  async boot(node: number): Promise<void> {
    const rt = this.nodes.get(node)!;
    if (rt.state === 'booting' || rt.state === 'ready') return;
    rt.state = 'booting';
    rt.error = undefined;
    rt.boots = 0;
    this.changed();
    const t0 = Date.now();
    this.mark(node, 'launchedAt');
    try {
      const { vm, result } = await bootToReady(
        {
          ...nodeVmOptions(this.spec, rt.spec),
          onLine: (line) => this.record(rt, line, Date.now() - t0),
          onEvent: (e) => {
            if (e.name === 'mount' && e.fields.rev) rt.rev = e.fields.rev;
            if (e.name === 'boot' && e.fields.stage === 'kernel') {
              rt.boots++;
              if (e.fields.version) rt.version = e.fields.version;
            }
            if (e.name === 'ready' && e.fields.commit) rt.kernel = e.fields.commit;
            if (e.name === 'net') {
              rt.net = true;
              this.changed();
            }
          },
        },
        { timeoutMs: 60_000 + 10_000 * this.nodes.size, idleMs: 30_000 },
      );
      rt.vm = vm;
      rt.shell = new ShellClient(vm);
      rt.state = 'ready';
      if (result.commit) rt.kernel = result.commit;
      this.mark(node, 'readyAt');
      this.changed();
      void vm.exited.then((x) => {
        if (rt.vm === vm) {
          rt.state = rt.state === 'stopped' ? 'stopped' : 'exited';
          rt.error = rt.state === 'exited' ? `QEMU exited (status ${x.code ?? x.signal})` : undefined;
          rt.vm = undefined;
          rt.shell = undefined;
          this.changed();
        }
      });
    } catch (e) {
      rt.state = 'failed';
      rt.error = e instanceof Error ? e.message : String(e);
      this.changed();
      throw e;
    }
  }

  status(): { name: string; net: string; rate?: string; nodes: NodeStatus[]; host: unknown; timeline: Timeline } {
    const peers = new Map((this.peer?.peers() ?? []).map((p) => [p.node, p]));
    const upd = this.peer?.propagation.view();
    const nodes = [...this.nodes.values()].map((rt): NodeStatus => {
      const p = peers.get(rt.spec.node);
      return {
        node: rt.spec.node, state: rt.state,
        rev: p?.rev ?? rt.rev, kernel: p?.kernel ?? rt.kernel, version: p?.version ?? rt.version,
        ip: rt.spec.ip, mac: rt.spec.mac, disk: rt.spec.disk,
        net: rt.net || p !== undefined, heard: p !== undefined && !p.stale, boots: rt.boots,
        // the current propagation, from the PIECE_MAPs the host peer hears (propagation piece)
        ...(upd && upd.nodes.includes(rt.spec.node) ? { update: { id: upd.id, pieces: upd.pieces, held: upd.progress.find((x) => x.node === rt.spec.node)?.held ?? 0 } } : {}),
        ...(rt.error ? { error: rt.error } : {}),
      };
    });
    return {
      name: this.spec.name,
      net: this.spec.net,
      // every link's tc rate (`up --rate`): the unit of `cluster wait`'s propagation rounds
      ...(this.spec.rate ? { rate: this.spec.rate } : {}),
      nodes,
      host: this.peer ? { node: HOST_NODE, ip: nodeIp(HOST_NODE), counters: this.peer.counters, peers: this.peer.peers() } : null,
      timeline: this.timeline,
    };
  }

  /** status() plus each ready node's own view: `sync` (rev, referrals, objects, pending, rounds), `placed`. */
  async statusWithSync(): Promise<ReturnType<Supervisor['status']>> {
    const s = this.status();
    await Promise.all(s.nodes.map(async (n) => {
      const rt = this.nodes.get(n.node);
      if (!rt?.shell || rt.state !== 'ready') return;
      try {
        const r = await rt.shell.run('sync', { timeoutMs: 5000 });
        const f = r.events.find((e) => e.name === 'sync')?.fields;
        if (r.status === 'ok' && f?.rev) {
          Object.assign(n, { rev: f.rev, referrals: Number(f.referrals), objects: Number(f.objects), pending: Number(f.pending), heads: Number(f.heads), rounds: Number(f.rounds) });
        }
        const p = await rt.shell.run('placed', { timeoutMs: 5000 });
        const pf = p.events.find((e) => e.name === 'placed')?.fields;
        if (p.status === 'ok' && pf?.missing !== undefined) Object.assign(n, { placed: Number(pf.want), held: Number(pf.held), missing: Number(pf.missing), ...(pf.surplus !== undefined ? { surplus: Number(pf.surplus) } : {}) });
        const u = await rt.shell.run('update', { timeoutMs: 5000 });
        const uf = u.events.find((e) => e.name === 'update')?.fields;
        if (u.status === 'ok' && uf?.id && uf.id !== 'none') {
          n.propagation = { id: uf.id, state: uf.state ?? '', role: uf.role ?? '', pieces: Number(uf.pieces), held: Number(uf.held), nodes: Number(uf.nodes), planRounds: Number(uf.rounds), ms: Number(uf.ms), pieceUs: Number(uf.piece_us ?? 0) };
        }
      } catch {
        // a node busy past the timeout reports what the host peer heard
      }
    }));
    return s;
  }

  private rt(node: unknown): NodeRt {
    const n = Number(node);
    const rt = this.nodes.get(n);
    if (!rt) throw new NotFoundError(`no node ${String(node)} in cluster ${this.spec.name} (nodes 1..${this.nodes.size})`);
    return rt;
  }

  private needNetns(what: string): void {
    if (this.spec.net !== 'netns' || !this.spec.netns || !this.spec.bridge) throw new UsageError(`${what} needs the namespace network (this cluster runs with --net ${this.spec.net})`);
  }

  async handle(r: ControlRequest): Promise<unknown> {
    switch (r.cmd) {
      case 'status':
        return this.statusWithSync();
      // a long poll: answers once something changed after `since` (up wakes on it, no polling)
      case 'wait':
        return this.wait(Number(r.since ?? -1), Math.min(60_000, Math.max(0, Number(r.timeoutMs ?? 5000))));
      case 'exec': {
        const rt = this.rt(r.node);
        if (!rt.shell || rt.state !== 'ready') throw new BootError(`node ${rt.spec.node} is ${rt.state}, not ready`);
        const out = [];
        for (const c of (r.commands as string[]) ?? []) {
          const res = await rt.shell.run(c, { timeoutMs: Number(r.timeoutMs ?? 60_000), input: typeof r.input === 'string' ? Buffer.from(r.input, 'base64') : undefined });
          out.push({ command: res.command, status: res.status, lines: res.lines, events: res.events.map((e) => ({ name: e.name, fields: e.fields, line: e.line })), error: res.error ?? null, data: res.data ? res.data.toString('base64') : null });
        }
        return out;
      }
      case 'logs':
        return this.rt(r.node).logs;
      // `up` of a running cluster with more nodes (cluster/lifecycle.ts made their disks and taps)
      case 'grow':
        return this.grow(r.nodes as NodeSpec[]);
      case 'kill': {
        const rt = this.rt(r.node);
        if (!rt.vm) throw new UsageError(`node ${rt.spec.node} is not running (${rt.state})`);
        rt.state = 'stopped';
        await rt.vm.stop(500);
        return { node: rt.spec.node, state: rt.state };
      }
      case 'start': {
        const rt = this.rt(r.node);
        if (rt.vm) throw new UsageError(`node ${rt.spec.node} is already running (${rt.state})`);
        rt.state = 'stopped';
        await this.boot(rt.spec.node);
        return { node: rt.spec.node, state: rt.state };
      }
      case 'fault': {
        this.needNetns('cluster fault');
        const kind = String(r.kind);
        if (kind === 'loss') this.faults = { ...this.faults, lossPercent: Number(r.percent) };
        else if (kind === 'partition') this.faults = { ...this.faults, partition: (r.groups as number[][]).map((g) => g.map((n) => this.rt(n).spec.tap)) };
        else if (kind === 'heal') this.faults = { lossPercent: 0, partition: [] };
        else if (kind === 'link') {
          await setLinkUp(this.spec.netns!, this.rt(r.node).spec.tap, Boolean(r.up));
          return { node: Number(r.node), link: r.up ? 'up' : 'down' };
        } else throw new UsageError(`unknown fault ${kind}`);
        if (kind === 'heal') for (const rt of this.nodes.values()) await setLinkUp(this.spec.netns!, rt.spec.tap, true).catch(() => undefined);
        await applyFaults(this.spec.netns!, FAULT_TABLE, this.faults);
        return this.faults;
      }
      case 'pcap':
        this.needNetns('cluster pcap');
        return this.startPcap(String(r.file));
      case 'commit':
        this.needNetns('cluster commit');
        return this.commit(this.rt(r.node).spec.node, String(r.dir), String(r.branch), String(r.message ?? ''));
      // the host peer, for scripts and tests: the protocol's other implementation on the bridge
      case 'policy':
        this.needNetns('cluster policy');
        return this.setPolicy(r.node === 'all' ? 'all' : this.rt(r.node).spec.node, String(r.glob), Number(r.copies));
      case 'host-whohas':
        return this.hostPeer().whoHas(String(r.hash), Number(r.waitMs ?? 300));
      case 'host-fetch':
        return this.hostPeer().fetch(String(r.hash), typeof r.base === 'string' ? { base: r.base } : {}).catch((e: unknown) => {
          throw new NotFoundError(e instanceof Error ? e.message : String(e));
        });
      case 'host-put': {
        const data = Buffer.from(String(r.data ?? ''), 'base64');
        const otype = Number(r.otype ?? 3);
        const hash = hashObject(otype === 2 ? 'tree' : otype === 1 ? 'commit' : otype === 4 ? 'tag' : 'blob', data);
        this.store!.put(hash, otype, data);
        return { hash };
      }
      case 'host-fault':
        // test fault injection on the host peer (docs/protocol.md, "Deltas")
        this.hostPeer().setFaults({ corruptDeltas: Boolean(r.corruptDeltas) });
        return { corruptDeltas: Boolean(r.corruptDeltas) };
      case 'host-counters':
        return this.hostPeer().counters;
      case 'host-propagation':
        return this.hostPeer().propagation.view() ?? null;
      case 'host-propagation-fault':
        this.hostPeer().propagation.flipPieces = Number(r.flipPieces ?? 0);
        return { flipPieces: this.hostPeer().propagation.flipPieces };
      case 'down':
        setTimeout(() => void this.shutdown().then(() => process.exit(0)), 50);
        return { stopping: true };
      default:
        throw new UsageError(`unknown request ${r.cmd}`);
    }
  }

  /** Adds nodes to the running cluster and boots them (the answer comes at once; `up` waits). */
  private grow(nodes: NodeSpec[]): { nodes: number[] } {
    if (!Array.isArray(nodes) || nodes.length === 0) throw new UsageError('grow: no nodes');
    for (const n of nodes) {
      if (!Number.isInteger(n.node) || this.nodes.has(n.node)) throw new UsageError(`grow: node ${String(n.node)} is already in cluster ${this.spec.name}`);
    }
    for (const n of nodes) {
      this.spec.nodes.push(n);
      this.nodes.set(n.node, newRt(n));
      this.timeline.nodes.push({ node: n.node });
    }
    // the faults in force are nft rules on the bridge: loss covers every port, a new one too;
    // a partition names the ports of its groups, and a new node is in none of them
    for (const n of nodes) void this.boot(n.node).catch(() => undefined);
    this.changed();
    return { nodes: nodes.map((n) => n.node) };
  }

  private hostPeer(): PeerNode {
    this.needNetns('the host peer');
    return this.peer!;
  }

  private async startPcap(file: string): Promise<{ file: string }> {
    if (this.tcpdump && this.tcpdump.exitCode === null) this.tcpdump.kill('SIGINT');
    const p = spawn('tcpdump', ['--immediate-mode', '-B', '32768', '-i', this.spec.bridge!, '-U', '-w', file, 'udp or arp or icmp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.tcpdump = p;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => resolve(), 5000);
      p.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/listening on/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
      p.on('error', (e) => reject(new UsageError(`tcpdump: ${e.message}`)));
      p.on('exit', (code) => {
        clearTimeout(t);
        reject(new UsageError(`tcpdump exited (${code}): ${err.trim().split('\n').at(-1) ?? ''}`));
      });
    });
    return { file };
  }

  /** CONTROL POLICY to one node, or to every ready node (until revisions sync, each keeps its own config). */
  private async setPolicy(node: number | 'all', glob: string, copies: number): Promise<{ nodes: Array<{ node: number; blob: string }> }> {
    const targets = node === 'all' ? [...this.nodes.values()].filter((rt) => rt.state === 'ready').map((rt) => rt.spec.node) : [node];
    if (targets.length === 0) throw new BootError('no node is ready');
    const out = [];
    for (const n of targets) {
      const rt = this.nodes.get(n)!;
      if (rt.state !== 'ready') throw new BootError(`node ${n} is ${rt.state}, not ready`);
      const r = await this.peer!.policyOn(n, glob, copies);
      if (r.status !== 0) throw new BootError(`node ${n} refused the policy (status ${r.status}: ${COMMITTED_STATUS[r.status] ?? 'unknown'})`);
      out.push({ node: n, blob: r.blob });
    }
    return { nodes: out };
  }

  /** Stores DIR's files and trees in the host peer's image and orders the node to commit the tree. */
  private async commit(node: number, dir: string, branch: string, message: string): Promise<{ commit: string; tree: string; files: number }> {
    const rt = this.nodes.get(node)!;
    const { tree, files } = storeDirectory(this.store!, dir);
    if (rt.state !== 'ready') throw new BootError(`node ${node} is ${rt.state}, not ready`);
    // the node fetches every object it lacks, one after the other: its answer may take a while
    // for a big tree (2,000 small files: about 80 s on an idle 2-core TCG host)
    const r = await this.peer!.commitOn(node, tree, branch, message || `commit ${files} files`, 120_000 + 250 * files);
    if (r.status !== 0) throw new BootError(`node ${node} refused the commit (status ${r.status}: ${COMMITTED_STATUS[r.status] ?? 'unknown'})`);
    return { commit: r.commit, tree, files };
  }

  async shutdown(): Promise<void> {
    this.peer?.stop();
    if (this.tcpdump && this.tcpdump.exitCode === null) this.tcpdump.kill('SIGINT');
    await Promise.all([...this.nodes.values()].map(async (rt) => {
      rt.state = 'stopped';
      await rt.vm?.stop(500);
    }));
    await this.udp?.close().catch(() => undefined);
    this.store?.close();
  }
}
