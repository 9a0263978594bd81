// Network namespaces, bridges, veth pairs and taps with iproute2. Everything a cluster or a
// test makes lives inside a namespace of its own, so deleting the namespace removes it all
// (its links, addresses and nftables tables); processes still in it are killed first.
import { existsSync } from 'node:fs';
import { sh } from './sh.ts';

export async function listNamespaces(): Promise<string[]> {
  const r = await sh('ip', ['netns', 'list'], { check: false });
  return r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

export async function namespaceExists(name: string): Promise<boolean> {
  // iproute2 names its namespaces by bind mounts in /run/netns: no exec needed to look
  if (existsSync('/run/netns')) return existsSync(`/run/netns/${name}`);
  return (await listNamespaces()).includes(name);
}

export async function addNamespace(name: string, opts: { loopback?: boolean } = {}): Promise<void> {
  await sh('ip', ['netns', 'add', name]);
  if (opts.loopback !== false) await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Pids of the processes running in a namespace. */
export async function namespacePids(name: string): Promise<number[]> {
  const r = await sh('ip', ['netns', 'pids', name], { check: false });
  return r.stdout.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 0);
}

/** Kills what runs in the namespace (by pid), then deletes it; no error when it is absent. */
export async function deleteNamespace(name: string): Promise<void> {
  if (!(await namespaceExists(name))) return;
  for (const pid of await namespacePids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await sh('ip', ['netns', 'del', name], { check: false });
}

/**
 * A bridge with multicast snooping off (every port gets the group), up, with an address. Its
 * ARP retries every 100 ms instead of Linux's 1 s: a node gives up on a holder after 5 silent
 * 100 ms windows (and once more after a fresh WHO_HAS), so a host peer whose first ARP request
 * for a node was lost (under `fault loss`) must ask again within that time, or the node's fetch
 * from it ends `no-holder`. It
 * asks 30 times (Linux: 3), keeping Linux's 3 s for a node slow to answer under load: a 300 ms
 * window dropped the host peer's queued CONTROL COMMIT, which is sent once.
 */
export async function addBridge(ns: string, bridge: string, cidr?: string): Promise<void> {
  await sh('ip', ['-n', ns, 'link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0']);
  await sh('ip', ['-n', ns, 'ntable', 'change', 'name', 'arp_cache', 'dev', bridge, 'retrans', '100', 'mcast_probes', '30']);
  if (cidr) await sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', bridge]);
  await sh('ip', ['-n', ns, 'link', 'set', bridge, 'up']);
}

/** `ip -batch` lines for taps on a bridge, up. */
function tapLines(bridge: string, taps: readonly string[]): string[] {
  return taps.flatMap((t) => [`tuntap add dev ${t} mode tap`, `link set ${t} master ${bridge}`, `link set ${t} up`]);
}

/**
 * A cluster's network inside its (new, empty) namespace in one exec: one `ip -batch` with
 * loopback up, the bridge as `addBridge` makes it, and every tap on it, up.
 */
export async function addBridgeAndTaps(ns: string, bridge: string, cidr: string, taps: string[]): Promise<void> {
  const lines = [
    'link set lo up',
    `link add ${bridge} type bridge mcast_snooping 0`,
    `ntable change name arp_cache dev ${bridge} retrans 100 mcast_probes 30`,
    `addr add ${cidr} dev ${bridge}`,
    `link set ${bridge} up`,
    ...tapLines(bridge, taps),
  ];
  await sh('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** Taps (for VMs) on a running bridge, up, in one `ip -batch`. */
export async function addTaps(ns: string, bridge: string, taps: readonly string[]): Promise<void> {
  if (taps.length === 0) return;
  await sh('ip', ['-n', ns, '-batch', '-'], { input: tapLines(bridge, taps).join('\n') + '\n' });
}

/** A veth pair: `port` on the bridge in `ns`, `ifname` with `cidr` in `peerNs`. */
export async function addVethPort(ns: string, bridge: string, port: string, peerNs: string, ifname: string, cidr: string): Promise<void> {
  await sh('ip', ['-n', ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', peerNs]);
  await sh('ip', ['-n', ns, 'link', 'set', port, 'master', bridge]);
  await sh('ip', ['-n', ns, 'link', 'set', port, 'up']);
  await sh('ip', ['-n', peerNs, 'addr', 'add', cidr, 'dev', ifname]);
  await sh('ip', ['-n', peerNs, 'link', 'set', ifname, 'up']);
}

export async function setLinkUp(ns: string, dev: string, up: boolean): Promise<void> {
  await sh('ip', ['-n', ns, 'link', 'set', dev, up ? 'up' : 'down']);
}

export async function listLinks(ns: string): Promise<string[]> {
  const r = await sh('ip', ['-n', ns, '-o', 'link', 'show'], { check: false });
  return r.stdout.split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '').filter(Boolean);
}
