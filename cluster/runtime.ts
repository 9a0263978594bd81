// Where a cluster lives on the host: its runtime folder (state, key, control socket, logs,
// disks), the namespace, bridge and tap names. One cluster per name; `default` without one.
import { existsSync, mkdirSync, readFileSync, writeFileSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core/errors.ts';

export const BRIDGE = 'gtbr0';
export const BRIDGE_CIDR = '10.77.255.254/16';
export const NODES_MAX = 254;

export function validateName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(name)) throw new UsageError(`--name must be 1-24 characters of a-z, 0-9 and -, starting with a letter or digit, not "${name}"`);
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The runtime folder of a cluster (GITTORRENT_RUNTIME_DIR overrides the base). */
export function clusterDir(name: string): string {
  const override = process.env.GITTORRENT_RUNTIME_DIR;
  if (override) return join(override, name);
  if (process.getuid?.() === 0 && writable('/run')) return join('/run', 'gittorrent', name);
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && writable(xdg)) return join(xdg, 'gittorrent', name);
  return join(tmpdir(), `gittorrent-cluster-${name}`);
}

export function netnsName(name: string): string {
  return `gittorrent-${name}`;
}

export function tapName(node: number): string {
  return `gttap${node}`;
}

export interface NodeSpec {
  node: number;
  ip: string;
  mac: string;
  disk: string;
  tap: string;
}

export type NetMode = 'netns' | 'user-mcast';

/** What `up` decided, written to state.json for the supervisor and the other commands. */
export interface ClusterSpec {
  name: string;
  netns: string | null;
  net: NetMode;
  group: string;
  port: number;
  /** For user-mcast: QEMU's multicast socket address. */
  mcast?: string;
  bridge: string | null;
  nodes: NodeSpec[];
  keyFile: string;
  accel: 'tcg' | 'kvm';
  memoryMb: number;
  rate?: string;
  pcap?: string;
  dir: string;
  hostImage: string;
}

export const paths = (dir: string) => ({
  spec: join(dir, 'cluster.json'),
  socket: join(dir, 'ctl.sock'),
  pid: join(dir, 'supervisor.pid'),
  log: join(dir, 'supervisor.log'),
  key: join(dir, 'key'),
  faults: join(dir, 'faults.json'),
  disks: join(dir, 'disks'),
  hostImage: join(dir, 'host.img'),
});

export function readSpec(dir: string): ClusterSpec | undefined {
  const f = paths(dir).spec;
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as ClusterSpec;
  } catch {
    return undefined;
  }
}

export function writeSpec(spec: ClusterSpec): void {
  mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
  writeFileSync(paths(spec.dir).spec, JSON.stringify(spec, null, 2));
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process whose parent has not reaped it yet (a zombie) still answers kill(0): an
  // orphaned supervisor's new parent may be an init that reaps late. A zombie is dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // gone between the two looks
  }
}

/** The supervisor's pid when it is alive. */
export function supervisorPid(dir: string): number | undefined {
  const f = paths(dir).pid;
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
}
