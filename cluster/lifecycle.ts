// `cluster up` and `cluster down` on the host side: checks, node disks (sparse copies of the
// node image), the namespace with its bridge and taps, the key, the detached supervisor, the
// wait for every node ready and heard; and the teardown that also reclaims what a killed
// supervisor or an interrupted `up` left (the namespace takes its taps and nft tables along).
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { execa } from 'execa';
import { BootError, FileNotFoundError, NotFoundError, ToolError, UsageError } from '../core/errors.ts';
import type { Progress } from '../core/progress.ts';
import { checkBootableImage } from '../builder/disk-check.ts';
import { addBridge, addNamespace, addTap, deleteNamespace, namespaceExists } from './net/netns.ts';
import { setRate } from './net/faults.ts';
import { callControl } from './supervisor/control.ts';
import type { NodeStatus } from './supervisor/supervisor.ts';
import { BRIDGE, BRIDGE_CIDR, NODES_MAX, clusterDir, netnsName, paths, pidAlive, readSpec, supervisorPid, tapName, validateName, writeSpec, type ClusterSpec, type NetMode } from './runtime.ts';
import { GROUP, PORT } from './wire/constants.ts';
import { isValidKey, newClusterKey } from './wire/hmac.ts';
import { nodeIp, nodeMac } from './wire/address.ts';

const SUPERVISOR_MAIN = fileURLToPath(new URL('./supervisor/main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../', import.meta.url));

export interface UpOptions {
  name: string;
  nodes: number;
  image: string;
  /** Per-node images that replace `image` for those nodes (`--node-image N=FILE`). */
  nodeImages?: Readonly<Record<number, string>>;
  net: NetMode;
  keyFile?: string;
  rate?: string;
  pcap?: string;
  accel: 'tcg' | 'kvm';
  memoryMb: number;
  timeoutMs: number;
  progress: Progress;
}

export interface UpResult {
  name: string;
  netns: string | null;
  net: NetMode;
  group: string;
  port: number;
  /** user-mcast: QEMU's loopback multicast address carrying the LAN. */
  mcast?: string;
  nodes: Array<{ node: number; ip: string; mac: string; disk: string }>;
  /** Nodes whose kernel has a network and whose ANNOUNCE the host heard. */
  heard: number[];
}

export interface StatusResult {
  name: string;
  net: string;
  nodes: NodeStatus[];
  host: unknown;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Validates `up` arguments before anything is made. */
export function checkUpOptions(o: { nodes: number; name: string; net: string; rate?: string }): void {
  validateName(o.name);
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > NODES_MAX) throw new UsageError(`--nodes must be a whole number from 1 to ${NODES_MAX}`);
  if (o.net !== 'netns' && o.net !== 'user-mcast') throw new UsageError(`--net must be netns or user-mcast, not "${o.net}"`);
  if (o.rate !== undefined && !/^\d+(\.\d+)?([kmg]?bit|[kmg]?bps)$/.test(o.rate)) throw new UsageError(`--rate must be a tc rate such as 20mbit, not "${o.rate}"`);
  if (o.net === 'user-mcast' && o.rate) throw new UsageError('--rate needs the namespace network (not --net user-mcast)');
}

export function needRoot(): UsageError {
  return new UsageError('cluster up needs root (a network namespace, a bridge and taps): run it as root, or use --net user-mcast (no fault commands)');
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, onTick?: () => void): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new BootError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    onTick?.();
    await new Promise((r) => setTimeout(r, 250));
  }
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

export async function clusterUp(o: UpOptions): Promise<UpResult> {
  checkUpOptions(o);
  if (o.net === 'netns' && !isRoot()) throw needRoot();
  const dir = clusterDir(o.name);
  if (supervisorPid(dir)) throw new UsageError(`cluster "${o.name}" is already up (gittorrent cluster down${o.name === 'default' ? '' : ` --name ${o.name}`})`);
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
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    mkdirSync(p.disks, { recursive: true, mode: 0o700 });
    writeFileSync(p.key, key, { mode: 0o600 });
    chmodSync(p.key, 0o600);
    o.progress.start(`making ${o.nodes} node disks`);
    const nodes = [];
    for (let n = 1; n <= o.nodes; n++) {
      const disk = join(p.disks, `node-${n}.img`);
      const from = o.nodeImages?.[n] ?? o.image;
      const r = await execa('cp', ['--sparse=always', from, disk], { reject: false });
      if (r.exitCode !== 0) copyFileSync(from, disk);
      nodes.push({ node: n, ip: nodeIp(n), mac: nodeMac(n), disk, tap: tapName(n) });
    }
    if (ns) {
      o.progress.update(`network namespace ${ns}: bridge ${BRIDGE}, ${o.nodes} taps`);
      await addNamespace(ns);
      await addBridge(ns, BRIDGE, BRIDGE_CIDR);
      for (const n of nodes) {
        await addTap(ns, BRIDGE, n.tap);
        if (o.rate) await setRate(ns, n.tap, o.rate);
      }
    }
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
    const log = openSync(p.log, 'w');
    const argv = [process.execPath, '--import', 'tsx', SUPERVISOR_MAIN, dir];
    const child = ns
      ? spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: REPO, detached: true, stdio: ['ignore', log, log] })
      : spawn(argv[0]!, argv.slice(1), { cwd: REPO, detached: true, stdio: ['ignore', log, log] });
    child.unref();
    closeSync(log);
    const logTail = () => (existsSync(p.log) ? readFileSync(p.log, 'utf8').trim().split('\n').at(-1) ?? '' : '');
    // a status answer, or undefined while the supervisor is busy or not listening yet
    const status = () => callControl<StatusResult>(p.socket, { cmd: 'status' }, 5000).catch(() => undefined);
    await waitFor('the supervisor', async () => {
      if (interrupted) throw new UsageError('interrupted');
      if (child.exitCode !== null) throw new ToolError(`the cluster supervisor exited: ${logTail()}`);
      return existsSync(p.socket) ? status() : undefined;
    }, 30_000);
    if (o.pcap) await callControl(p.socket, { cmd: 'pcap', file: o.pcap });
    o.progress.update(`booting ${o.nodes} nodes`);
    let lastReady = 0;
    const all = await waitFor('every node to be ready', async () => {
      if (interrupted) throw new UsageError('interrupted');
      const s = await status();
      if (!s) return undefined;
      const failed = s.nodes.find((n) => n.state === 'failed' || n.state === 'exited');
      if (failed) throw new BootError(`node ${failed.node}: ${failed.error ?? failed.state}`);
      const ready = s.nodes.filter((n) => n.state === 'ready').length;
      if (ready !== lastReady) o.progress.update(`${(lastReady = ready)}/${o.nodes} nodes ready`);
      return ready === o.nodes ? s : undefined;
    }, o.timeoutMs);
    // "heard every other": a node with a network announces on the group; the bridge floods
    // the group to every port, so what the host peer hears every node hears.
    let heard: number[] = [];
    if (ns && all.nodes.some((n) => n.net)) {
      o.progress.update('waiting for every node to announce');
      const s = await waitFor('every node to announce itself', async () => {
        if (interrupted) throw new UsageError('interrupted');
        const s = await status();
        return s && s.nodes.every((n) => n.heard) ? s : undefined;
      }, Math.max(10_000, o.timeoutMs / 2));
      heard = s.nodes.filter((n) => n.heard).map((n) => n.node);
    }
    o.progress.succeed(`cluster ${o.name}: ${o.nodes} nodes ready${heard.length ? ', all heard' : ''}${ns ? ` in namespace ${ns}` : ' on QEMU multicast sockets'}`);
    return {
      name: o.name, netns: ns, net: o.net, group: GROUP, port, ...(mcast ? { mcast } : {}),
      nodes: nodes.map((n) => ({ node: n.node, ip: n.ip, mac: n.mac, disk: n.disk })), heard,
    };
  } catch (e) {
    o.progress.fail(`cluster ${o.name} did not come up`);
    await teardown(o.name, { keepDisks: false });
    if (interrupted) process.exit(130);
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
