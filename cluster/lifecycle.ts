// `cluster up` and `cluster down` on the host side: checks, node disks (sparse copies of the
// node image), the namespace with its bridge and taps, the key, the detached supervisor, the
// wait for every node ready and heard; and the teardown that also reclaims what a killed
// supervisor or an interrupted `up` left (the namespace takes its taps and nft tables along).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { execa } from 'execa';
import { BootError, FileNotFoundError, NotFoundError, ToolError, UsageError } from '../core/errors.ts';
import type { Progress } from '../core/progress.ts';
import { checkBootableImage } from '../builder/disk-check.ts';
import { addBridgeAndTaps, addNamespace, addTaps, deleteNamespace, namespaceExists } from './net/netns.ts';
import { setRates, TC_RATE } from './net/faults.ts';
import { callControl } from './supervisor/control.ts';
import { NOTIFY_FD_ENV } from './supervisor/run.ts';
import type { NodeStatus, Timeline, WaitAnswer } from './supervisor/supervisor.ts';
import { BRIDGE, BRIDGE_CIDR, NODES_MAX, clusterDir, netnsName, paths, pidAlive, readSpec, supervisorPid, tapName, validateName, writeSpec, type ClusterSpec, type NetMode, type NodeSpec } from './runtime.ts';
import { GROUP, PORT } from './wire/constants.ts';
import { isValidKey, newClusterKey } from './wire/hmac.ts';
import { nodeIp, nodeMac } from './wire/address.ts';

/** The CLI: `up` starts the supervisor as its hidden `cluster supervise DIR` (compiled, fast). */
const BIN = fileURLToPath(new URL('../bin/gittorrent.js', import.meta.url));
const REPO = fileURLToPath(new URL('../', import.meta.url));

export interface UpOptions {
  name: string;
  nodes: number;
  image: string;
  /** Per-node images that replace `image` for those nodes (`--node-image N=FILE`). */
  nodeImages?: Readonly<Record<number, string>>;
  net: NetMode;
  /** `--net` was given (growing a running cluster checks it against the cluster's own). */
  netGiven?: boolean;
  keyFile?: string;
  rate?: string;
  pcap?: string;
  accel: 'tcg' | 'kvm';
  memoryMb: number;
  timeoutMs: number;
  progress: Progress;
  /** Called with `up`'s time breakdown once it is up (`up --verbose`). */
  onTimes?: (t: UpTimes) => void;
}

/** Where `up`'s time went: each phase's end, ms since the CLI process started. */
export interface UpTimes {
  phases: Array<{ phase: string; atMs: number }>;
  /** The supervisor's own timeline, on the same clock (ms since the CLI process started). */
  supervisor: { processMs: number; mainMs: number; peerMs?: number; listeningMs?: number };
  nodes: Array<{ node: number; launchedMs?: number; readyMs?: number; heardMs?: number }>;
}

/** `up --json`: the spec's identity of the cluster (ClusterSpec), its nodes, who was heard. */
export interface UpResult extends Pick<ClusterSpec, 'name' | 'netns' | 'net' | 'group' | 'port' | 'mcast'> {
  nodes: Array<{ node: number; ip: string; mac: string; disk: string }>;
  /** Nodes whose kernel has a network and whose ANNOUNCE the host heard. */
  heard: number[];
  /** When `up` grew a running cluster: the nodes it added. */
  added?: number[];
}

export interface StatusResult {
  name: string;
  net: string;
  /** Every link's tc rate, when `up --rate` set one. */
  rate?: string;
  nodes: NodeStatus[];
  host: unknown;
  timeline?: Timeline;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Validates `up` arguments before anything is made. */
export function checkUpOptions(o: { nodes: number; name: string; net: string; rate?: string }): void {
  validateName(o.name);
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > NODES_MAX) throw new UsageError(`--nodes must be a whole number from 1 to ${NODES_MAX}`);
  if (o.net !== 'netns' && o.net !== 'user-mcast') throw new UsageError(`--net must be netns or user-mcast, not "${o.net}"`);
  if (o.rate !== undefined && !TC_RATE.test(o.rate)) throw new UsageError(`--rate must be a tc rate such as 20mbit, not "${o.rate}"`);
  if (o.net === 'user-mcast' && o.rate) throw new UsageError('--rate needs the namespace network (not --net user-mcast)');
}

export function needRoot(): UsageError {
  return new UsageError('cluster up needs root (a network namespace, a bridge and taps): run it as root, or use --net user-mcast (no fault commands)');
}

/** Resolves when `signal` aborts (`up` interrupted), for racing a wait. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new UsageError('interrupted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** Removes everything of a cluster: supervisor, VMs, namespace (taps, nft), runtime files. */
export async function teardown(name: string, opts: { keepDisks: boolean }): Promise<{ found: boolean }> {
  const dir = clusterDir(name);
  const p = paths(dir);
  let found = false;
  const pid = supervisorPid(dir);
  if (pid) {
    found = true;
    await callControl(p.socket, { cmd: 'down' }, 15_000).catch(() => undefined);
    const end = Date.now() + 10_000;
    while (pidAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  const ns = netnsName(name);
  if (await namespaceExists(ns).catch(() => false)) {
    found = true;
    await deleteNamespace(ns);
  }
  if (existsSync(dir)) {
    if (existsSync(p.spec)) found = true;
    for (const f of [p.spec, p.socket, p.pid, p.key, p.faults, p.hostImage]) rmSync(f, { force: true });
    if (!opts.keepDisks) rmSync(dir, { recursive: true, force: true });
  }
  return { found };
}

/**
 * Waits (a long poll on the supervisor's changes, not a timer) until every node of `wanted` is
 * ready and then, for kernels with a network, until the host peer heard each one's ANNOUNCE: the
 * bridge floods the group to every port, so what the host hears every node hears. A node of
 * `wanted` that failed or exited ends the wait with its error; other nodes do not count.
 */
async function awaitNodes(socket: string, wanted: readonly number[], o: { timeoutMs: number; progress: Progress; interrupted: Promise<never>; netns: boolean; logTail: () => string; phase?: (name: string) => void }): Promise<StatusResult> {
  const end = Date.now() + o.timeoutMs;
  const want = new Set(wanted);
  let lastReady = -1;
  let version = -1;
  let allReadyAt = 0;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) throw new BootError(`timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${allReadyAt === 0 ? 'every node to be ready' : 'every node to announce itself'}`);
    const a = await Promise.race([o.interrupted, callControl<WaitAnswer>(socket, { cmd: 'wait', since: version, timeoutMs: Math.min(left, 5000) }, Math.min(left, 5000) + 15_000)]).catch((e: unknown) => {
      throw e instanceof NotFoundError ? new ToolError(`the cluster supervisor exited: ${o.logTail()}`) : e;
    });
    version = a.version;
    const s = a.status as StatusResult;
    const mine = s.nodes.filter((n) => want.has(n.node));
    const failed = mine.find((n) => n.state === 'failed' || n.state === 'exited');
    if (failed) throw new BootError(`node ${failed.node}: ${failed.error ?? failed.state}`);
    const ready = mine.filter((n) => n.state === 'ready').length;
    if (ready !== lastReady) o.progress.update(`${(lastReady = ready)}/${want.size} nodes ready`);
    if (ready !== want.size) continue;
    const net = o.netns && mine.some((n) => n.net);
    if (!allReadyAt) {
      allReadyAt = Date.now();
      o.phase?.('ready');
      if (net) o.progress.update('waiting for every node to announce');
    }
    // a node that is ready but not heard: wait for its ANNOUNCE (at most half the timeout)
    if (net && !mine.every((n) => n.heard)) {
      if (Date.now() - allReadyAt > Math.max(10_000, o.timeoutMs / 2)) throw new BootError(`timed out after ${Math.round(Math.max(10_000, o.timeoutMs / 2) / 1000)} s waiting for every node to announce itself`);
      continue;
    }
    return s;
  }
}

/**
 * `up` of a cluster that is already up, with more nodes: grows it (docs/cluster.md, "Growing a
 * cluster"). The new nodes get their disks (copies of the image), their taps on the bridge
 * (with the cluster's rate), and their VMs from the running supervisor, which also serves them
 * the faults in force; the spec names them. The running nodes are not touched, and a new node
 * that fails to come up stays in the cluster as `failed` (`cluster fault start N` retries it).
 */
async function growCluster(o: UpOptions): Promise<UpResult> {
  const { socket, spec } = controlSocket(o.name);
  const had = spec.nodes.length;
  const down = `gittorrent cluster down${o.name === 'default' ? '' : ` --name ${o.name}`}`;
  if (o.nodes === had) throw new UsageError(`cluster "${o.name}" is already up with ${had} nodes (${down}; --nodes ${had + 1} or more grows it)`);
  if (o.nodes < had) throw new UsageError(`cluster "${o.name}" has ${had} nodes: up only grows a cluster (gittorrent cluster fault kill N stops a node)`);
  for (const [what, given] of [['--key-file', o.keyFile], ['--rate', o.rate], ['--pcap', o.pcap]] as const) {
    if (given !== undefined) throw new UsageError(`${what}: cluster "${o.name}" is up; growing it keeps its own ${what.slice(2)} (${down} to change it)`);
  }
  if (o.netGiven !== false && o.net !== spec.net) throw new UsageError(`--net ${o.net}: cluster "${o.name}" runs with --net ${spec.net}`);
  if (!existsSync(o.image)) throw new FileNotFoundError(`node image not found: ${o.image}`);
  checkBootableImage(o.image);
  for (const [n, img] of Object.entries(o.nodeImages ?? {})) {
    const k = Number(n);
    if (!Number.isInteger(k) || k < 1 || k > o.nodes) throw new UsageError(`--node-image ${n}=...: no node ${n} in a cluster of ${o.nodes}`);
    if (k <= had) throw new UsageError(`--node-image ${n}=...: node ${n} is already in the cluster (up gives images to new nodes only)`);
    if (!existsSync(img)) throw new FileNotFoundError(`node image not found: ${img}`);
    checkBootableImage(img);
  }
  const p = paths(spec.dir);
  const added: NodeSpec[] = Array.from({ length: o.nodes - had }, (_, i) => had + i + 1).map((node) => ({ node, ip: nodeIp(node), mac: nodeMac(node), disk: join(p.disks, `node-${node}.img`), tap: tapName(node) }));
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const interrupted = aborted(stop.signal);
  interrupted.catch(() => undefined);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const names = added.length === 1 ? `node ${added[0]!.node}` : `nodes ${added[0]!.node}-${added.at(-1)!.node}`;
  try {
    o.progress.start(`growing cluster ${o.name} from ${had} to ${o.nodes} nodes: disks${spec.netns ? ' and taps' : ''} for ${names}`);
    await Promise.all(added.map(async (n) => {
      const from = o.nodeImages?.[n.node] ?? o.image;
      const r = await execa('cp', ['--sparse=always', from, n.disk], { reject: false });
      if (r.exitCode !== 0) copyFileSync(from, n.disk);
    }));
    if (spec.netns && spec.bridge) {
      await addTaps(spec.netns, spec.bridge, added.map((n) => n.tap));
      if (spec.rate) await setRates(spec.netns, added.map((n) => n.tap), spec.rate);
    }
    writeSpec({ ...spec, nodes: [...spec.nodes, ...added] });
    await callControl(socket, { cmd: 'grow', nodes: added });
    o.progress.update(`booting ${names}`);
    const logTail = () => (existsSync(p.log) ? readFileSync(p.log, 'utf8').trim().split('\n').at(-1) ?? '' : '');
    const all = await awaitNodes(socket, added.map((n) => n.node), { timeoutMs: o.timeoutMs, progress: o.progress, interrupted, netns: spec.netns !== null, logTail });
    const heard = spec.netns && all.nodes.some((n) => n.net) ? all.nodes.filter((n) => n.heard).map((n) => n.node) : [];
    o.progress.succeed(`cluster ${o.name}: grew to ${o.nodes} nodes (${names} ready${heard.length ? ', heard' : ''})`);
    return {
      name: spec.name, netns: spec.netns, net: spec.net, group: spec.group, port: spec.port, ...(spec.mcast ? { mcast: spec.mcast } : {}),
      nodes: [...spec.nodes, ...added].map((n) => ({ node: n.node, ip: n.ip, mac: n.mac, disk: n.disk })), heard, added: added.map((n) => n.node),
    };
  } catch (e) {
    o.progress.fail(`cluster ${o.name} did not grow to ${o.nodes} nodes`);
    if (stop.signal.aborted) process.exit(130);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function clusterUp(o: UpOptions): Promise<UpResult> {
  // the CLI process's start is the clock's zero: `up --verbose` shows the CLI's own start too
  const origin = performance.timeOrigin;
  const phases: UpTimes['phases'] = [{ phase: 'cli', atMs: Math.round(performance.now()) }];
  const phase = (name: string) => phases.push({ phase: name, atMs: Math.round(performance.now()) });
  checkUpOptions(o);
  if (o.net === 'netns' && !isRoot()) throw needRoot();
  const dir = clusterDir(o.name);
  if (supervisorPid(dir)) return growCluster(o);
  if (!existsSync(o.image)) throw new FileNotFoundError(`node image not found: ${o.image}`);
  checkBootableImage(o.image);
  for (const [n, img] of Object.entries(o.nodeImages ?? {})) {
    if (!Number.isInteger(Number(n)) || Number(n) < 1 || Number(n) > o.nodes) throw new UsageError(`--node-image ${n}=...: no node ${n} in a cluster of ${o.nodes}`);
    if (!existsSync(img)) throw new FileNotFoundError(`node image not found: ${img}`);
    checkBootableImage(img);
  }
  let key: Buffer;
  if (o.keyFile) {
    if (!existsSync(o.keyFile)) throw new FileNotFoundError(`key file not found: ${o.keyFile}`);
    key = readFileSync(o.keyFile);
    if (!isValidKey(key)) throw new UsageError(`${o.keyFile}: a cluster key is 16 to 64 bytes, not ${key.length}`);
  } else key = newClusterKey();
  if (o.pcap && !existsSync(join(o.pcap, '..'))) throw new FileNotFoundError(`folder of ${o.pcap} not found`);

  // leftovers of an earlier cluster of this name (killed supervisor, interrupted up, old disks)
  await teardown(o.name, { keepDisks: false });
  const p = paths(dir);
  const ns = o.net === 'netns' ? netnsName(o.name) : null;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const interrupted = aborted(stop.signal);
  interrupted.catch(() => undefined); // raced below; never an unhandled rejection
  let child: ChildProcess | undefined;
  let went = false;
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    mkdirSync(p.disks, { recursive: true, mode: 0o700 });
    writeFileSync(p.key, key, { mode: 0o600 });
    chmodSync(p.key, 0o600);
    phase('checks');
    o.progress.start(`making ${o.nodes} node disks${ns ? ` and the network namespace ${ns}` : ''}`);
    const nodes = Array.from({ length: o.nodes }, (_, i) => ({ node: i + 1, ip: nodeIp(i + 1), mac: nodeMac(i + 1), disk: join(p.disks, `node-${i + 1}.img`), tap: tapName(i + 1) }));
    // The supervisor starts first (inside the namespace, so that comes first): its start
    // (node and the compiled CLI, ~0.2-0.6 s) overlaps the disks and taps being made; it waits
    // for `go` on stdin, then reads the spec. fd 3: a pipe it writes `listening` to once its
    // control socket accepts.
    if (ns) await addNamespace(ns, { loopback: false });
    const log = openSync(p.log, 'w');
    const argv = [process.execPath, BIN, 'cluster', 'supervise', dir];
    const opts = { cwd: REPO, detached: true, stdio: ['pipe', log, log, 'pipe'] as ('ignore' | 'pipe' | number)[], env: { ...process.env, [NOTIFY_FD_ENV]: '3' } };
    child = ns ? spawn('ip', ['netns', 'exec', ns, ...argv], opts) : spawn(argv[0]!, argv.slice(1), opts);
    closeSync(log);
    phase('spawn');
    const logTail = () => (existsSync(p.log) ? readFileSync(p.log, 'utf8').trim().split('\n').at(-1) ?? '' : '');
    const sup = child;
    const notify = sup.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    const listening = new Promise<void>((resolve, reject) => {
      let said = '';
      const timer = setTimeout(() => reject(new BootError('timed out after 30 s waiting for the supervisor')), 30_000);
      const exited = () => {
        clearTimeout(timer);
        reject(new ToolError(`the cluster supervisor exited: ${logTail()}`));
      };
      sup.once('exit', exited);
      notify.on('data', (d: Buffer) => {
        said += d.toString();
        if (!said.includes('listening\n')) return;
        clearTimeout(timer);
        sup.off('exit', exited);
        resolve();
      });
    });
    listening.catch(() => undefined); // awaited below, after the disks and the network
    // the disks (sparse copies, all at once) while the bridge and taps are made
    const disks = Promise.all(nodes.map(async (n) => {
      const from = o.nodeImages?.[n.node] ?? o.image;
      const r = await execa('cp', ['--sparse=always', from, n.disk], { reject: false });
      if (r.exitCode !== 0) copyFileSync(from, n.disk);
    })).then(() => phase('disks'));
    const network = ns
      ? addBridgeAndTaps(ns, BRIDGE, BRIDGE_CIDR, nodes.map((n) => n.tap))
        .then(() => (o.rate ? setRates(ns, nodes.map((n) => n.tap), o.rate) : undefined))
        .then(() => phase('network'))
      : Promise.resolve();
    const made = await Promise.allSettled([disks, network]);
    for (const m of made) if (m.status === 'rejected') throw m.reason;
    if (stop.signal.aborted) throw new UsageError('interrupted');
    // user-mcast: QEMU's socket backend carries the virtual LAN's Ethernet frames as UDP to a
    // loopback multicast address of its own (one port per cluster name)
    const mcast = o.net === 'user-mcast' ? `230.0.0.1:${20000 + (parseInt(createHash('sha1').update(o.name).digest('hex').slice(0, 4), 16) % 20000)}` : undefined;
    const port = PORT;
    const spec: ClusterSpec = {
      name: o.name, netns: ns, net: o.net, group: GROUP, port,
      ...(mcast ? { mcast } : {}),
      bridge: ns ? BRIDGE : null, nodes, keyFile: p.key, accel: o.accel, memoryMb: o.memoryMb,
      ...(o.rate ? { rate: o.rate } : {}), ...(o.pcap ? { pcap: o.pcap } : {}), dir, hostImage: p.hostImage,
    };
    writeSpec(spec);
    o.progress.update('starting the supervisor');
    sup.stdin!.end('go\n');
    went = true;
    try {
      await Promise.race([interrupted, listening]);
    } finally {
      notify.destroy();
      sup.unref();
    }
    phase('supervisor');
    if (o.pcap) await callControl(p.socket, { cmd: 'pcap', file: o.pcap });
    o.progress.update(`booting ${o.nodes} nodes`);
    const all = await awaitNodes(p.socket, nodes.map((n) => n.node), { timeoutMs: o.timeoutMs, progress: o.progress, interrupted, netns: ns !== null, logTail, phase });
    const heard = ns && all.nodes.some((n) => n.net) ? all.nodes.filter((n) => n.heard).map((n) => n.node) : [];
    phase('heard');
    if (o.onTimes && all.timeline) {
      const rel = (t: number | undefined) => (t === undefined ? undefined : Math.round(t - origin));
      const tl = all.timeline;
      o.onTimes({
        phases,
        supervisor: { processMs: rel(tl.processAt)!, mainMs: rel(tl.mainAt)!, peerMs: rel(tl.peerAt), listeningMs: rel(tl.listeningAt) },
        nodes: tl.nodes.map((n) => ({ node: n.node, launchedMs: rel(n.launchedAt), readyMs: rel(n.readyAt), heardMs: rel(n.heardAt) })),
      });
    }
    o.progress.succeed(`cluster ${o.name}: ${o.nodes} nodes ready${heard.length ? ', all heard' : ''}${ns ? ` in namespace ${ns}` : ' on QEMU multicast sockets'}`);
    return {
      name: o.name, netns: ns, net: o.net, group: GROUP, port, ...(mcast ? { mcast } : {}),
      nodes: nodes.map((n) => ({ node: n.node, ip: n.ip, mac: n.mac, disk: n.disk })), heard,
    };
  } catch (e) {
    o.progress.fail(`cluster ${o.name} did not come up`);
    if (child && child.exitCode === null) {
      // a supervisor still waiting for go: it goes (one that went is stopped by the teardown)
      if (!went) child.kill('SIGKILL');
      child.stdin?.destroy();
      (child.stdio[3] as { destroy?: () => void } | null)?.destroy?.();
      child.unref();
    }
    await teardown(o.name, { keepDisks: false });
    if (stop.signal.aborted) process.exit(130);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The control socket of a cluster that is up, or a NotFoundError naming the cluster. */
export function controlSocket(name: string): { socket: string; spec: ClusterSpec } {
  validateName(name);
  const dir = clusterDir(name);
  const spec = readSpec(dir);
  if (!spec || !supervisorPid(dir)) throw new NotFoundError(`cluster "${name}" is not up (gittorrent cluster up${name === 'default' ? '' : ` --name ${name}`})`);
  return { socket: paths(dir).socket, spec };
}
