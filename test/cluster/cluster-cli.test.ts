// `gittorrent cluster` end to end as root: real VMs on taps in a namespace of the tool's own,
// faults in nftables, capture with tcpdump, and cleanup that a killed supervisor cannot defeat.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teardown } from '../../cluster/lifecycle.ts';
import { listTables } from '../../cluster/net/faults.ts';
import { listLinks, listNamespaces } from '../../cluster/net/netns.ts';
import { clusterDir, netnsName, paths, pidAlive } from '../../cluster/runtime.ts';
import { cli } from '../helpers/cli.ts';

const tag = `gtneth-${process.pid}`;
const A = `${tag}-a`;
const B = `${tag}-b`;
const tmp = mkdtempSync(join(tmpdir(), 'gtneth-cluster-'));

/** Clusters of test processes that died (their pid is in the name) are torn down first. */
async function sweepDeadTestClusters(): Promise<void> {
  for (const ns of await listNamespaces()) {
    const m = /^gittorrent-(gtneth-(\d+)-[a-z0-9-]+)$/.exec(ns);
    if (m && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]))) await teardown(m[1]!, { keepDisks: false });
  }
}

function qemuPidsFor(name: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid,args']).toString();
  return out.split('\n').filter((l) => l.includes('qemu-system') && l.includes(`/${name}/disks/`)).map((l) => Number(l.trim().split(' ')[0]));
}

async function nothingLeft(name: string): Promise<void> {
  expect(await listNamespaces()).not.toContain(netnsName(name));
  expect(qemuPidsFor(name)).toEqual([]);
  expect(existsSync(paths(clusterDir(name)).socket)).toBe(false);
}

const up = (name: string, extra: string[] = []) => cli(['cluster', 'up', '--nodes', '2', '--name', name, '--json', '--accel', 'tcg', ...extra], { timeoutMs: 240_000 });

beforeAll(async () => {
  await sweepDeadTestClusters();
  // the node image (built once if missing, as `up` would)
  const r = await cli(['build'], { timeoutMs: 120_000 });
  expect(r.exitCode).toBe(0);
}, 150_000);

afterAll(async () => {
  await teardown(A, { keepDisks: false });
  await teardown(B, { keepDisks: false });
  rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe('cluster up: bad input leaves nothing behind', () => {
  it('one-line errors for bad arguments and a missing image', async () => {
    const cases: Array<[string[], RegExp, number]> = [
      [['--nodes', '0'], /--nodes must be a whole number from 1 to 254/, 2],
      [['--nodes', 'two'], /--nodes must be/, 2],
      [['--nodes', '2', '--name', 'Bad_Name'], /--name must be/, 2],
      [['--nodes', '2', '--rate', 'fast'], /--rate must be a tc rate/, 2],
      [['--nodes', '2', '--net', 'wifi'], /--net must be netns or user-mcast/, 2],
      [['--nodes', '2', '--image', join(tmp, 'absent.img')], /image not found/, 3],
      [['--nodes', '2', '--key-file', join(tmp, 'absent.key')], /key file not found/, 3],
    ];
    writeFileSync(join(tmp, 'short.key'), 'short');
    cases.push([['--nodes', '2', '--key-file', join(tmp, 'short.key')], /a cluster key is 16 to 64 bytes/, 2]);
    for (const [args, msg, code] of cases) {
      const r = await cli(['cluster', 'up', '--name', B, ...args]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(r.exitCode).toBe(code);
    }
    await nothingLeft(B);
    expect(existsSync(join(clusterDir(B), 'disks'))).toBe(false);
  });

  it('without root: says what is needed and offers --net user-mcast', async () => {
    const r = await Promise.resolve().then(() =>
      // the CLI as nobody
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(process.cwd(), 'bin/gittorrent.js'), 'cluster', 'up', '--nodes', '1', '--name', B, '--image', join(process.cwd(), 'out/node.img')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: tmp, XDG_CACHE_HOME: tmp } }),
    ).catch((e: { status: number; stderr: string }) => e);
    const e = r as { status: number; stderr: string };
    expect(e.status).toBe(2);
    expect(e.stderr.trim().split('\n')).toHaveLength(1);
    expect(e.stderr).toMatch(/needs root.*--net user-mcast/);
    await teardown(B, { keepDisks: false });
  }, 300_000);

  it('without root, --net user-mcast runs a cluster on QEMU multicast sockets (no fault commands)', async () => {
    // the unprivileged user's own temporary folder (its HOME, cache and TMPDIR: the run's own
    // TMPDIR is root's), world-writable and sticky like /tmp, inside the run's folder
    const cache = mkdtempSync(join(tmpdir(), 'gtneth-nobody-'));
    execFileSync('chmod', ['1777', cache]);
    const asNobody = (args: string[]) => {
      try {
        const stdout = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(process.cwd(), 'bin/gittorrent.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1', HOME: cache, XDG_CACHE_HOME: cache, TMPDIR: cache, XDG_RUNTIME_DIR: '' }, timeout: 120_000 });
        return { code: 0, stdout, stderr: '' };
      } catch (err) {
        const x = err as { status: number; stdout: string; stderr: string };
        return { code: x.status, stdout: x.stdout, stderr: x.stderr };
      }
    };
    try {
      const r = asNobody(['cluster', 'up', '--nodes', '1', '--name', B, '--net', 'user-mcast', '--image', join(process.cwd(), 'out/node.img'), '--json']);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ net: 'user-mcast', netns: null, port: 7184 });
      expect(j.mcast).toMatch(/^230\.0\.0\.1:\d+$/);
      expect(asNobody(['cluster', 'exec', '1', '--name', B, '--', 'rev']).stdout).toMatch(/^[0-9a-f]{40}$/m);
      const f = asNobody(['cluster', 'fault', 'loss', '5', '--name', B]);
      expect(f.code).toBe(2);
      expect(f.stderr).toMatch(/needs the namespace network/);
    } finally {
      expect(asNobody(['cluster', 'down', '--name', B]).code).toBe(0);
      rmSync(cache, { recursive: true, force: true }); // with the cluster's runtime folder in it
    }
    expect(qemuPidsFor(B)).toEqual([]);
  }, 300_000);
});

describe('a 2-node cluster', () => {
  let spec: { name: string; netns: string; group: string; port: number; nodes: Array<{ node: number; ip: string; mac: string; disk: string }> };
  const pcap = join(tmp, 'bridge.pcap');

  it('comes up with the documented JSON', async () => {
    const r = await up(A, ['--pcap', pcap, '--rate', '20mbit']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode).toBe(0);
    spec = JSON.parse(r.stdout);
    expect(spec).toMatchObject({ name: A, netns: netnsName(A), group: '239.192.71.84', port: 7184 });
    expect(spec.nodes.map((n) => [n.node, n.ip, n.mac])).toEqual([
      [1, '10.77.0.1', '52:54:00:47:00:01'],
      [2, '10.77.0.2', '52:54:00:47:00:02'],
    ]);
    for (const n of spec.nodes) {
      // a sparse copy of the node image: every `gittorrent image` command works on it
      const st = statSync(n.disk);
      expect(st.blocks * 512).toBeLessThan(st.size);
      const ls = await cli(['image', 'ls', n.disk, 'boot:/']);
      expect(ls.exitCode).toBe(0);
    }
    const links = await listLinks(spec.netns);
    expect(links).toEqual(expect.arrayContaining(['gtbr0', 'gttap1', 'gttap2']));
    const tc = execFileSync('ip', ['netns', 'exec', spec.netns, 'tc', 'qdisc', 'show', 'dev', 'gttap1']).toString();
    expect(tc).toMatch(/tbf .*rate 20Mbit/);
  }, 300_000);

  it('a second up of the same name is refused and the first is untouched', async () => {
    const r = await up(A);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toMatch(/cluster "gtneth-\d+-a" is already up/);
    const s = await cli(['cluster', 'status', '--name', A, '--json']);
    expect(JSON.parse(s.stdout).nodes.map((n: { state: string }) => n.state)).toEqual(['ready', 'ready']);
  }, 300_000);

  it('status gives state, rev, kernel and version per node; exec runs the shell; logs have host times', async () => {
    const s = JSON.parse((await cli(['cluster', 'status', '--name', A, '--json'])).stdout);
    for (const n of s.nodes) {
      expect(n.state).toBe('ready');
      expect(n.rev).toMatch(/^[0-9a-f]{40}$/);
      expect(n.kernel).toMatch(/^[0-9a-f]{40}$/);
      expect(n.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(n.boots, 'a healthy node started its kernel once since its launch').toBe(1);
    }
    const e = await cli(['cluster', 'exec', '2', '--name', A, '--', 'rev', 'cat /kernel/VERSION']);
    expect(e.exitCode).toBe(0);
    expect(e.stdout.split('\n')[0]).toBe(s.nodes[1].rev);
    const logs = JSON.parse((await cli(['cluster', 'logs', '1', '--name', A, '--json'])).stdout) as Array<{ time: string; line: string }>;
    expect(logs.some((l) => l.line.startsWith('EVENT ready'))).toBe(true);
    for (const l of logs) expect(Number.isNaN(Date.parse(l.time))).toBe(false);
    const bad = await cli(['cluster', 'exec', '9', '--name', A, '--', 'rev']);
    expect(bad.exitCode).toBe(9);
    expect(bad.stderr).toMatch(/no node 9/);
  }, 120_000);

  it('faults: loss and partitions are nftables rules in the namespace; heal removes them', async () => {
    expect((await cli(['cluster', 'fault', 'loss', '10', '--name', A])).exitCode).toBe(0);
    expect(await listTables(spec.netns)).toContain('table bridge gittorrent_faults');
    const rules = execFileSync('ip', ['netns', 'exec', spec.netns, 'nft', 'list', 'table', 'bridge', 'gittorrent_faults']).toString();
    expect(rules).toMatch(/numgen random mod 100 < 10 drop/);
    expect((await cli(['cluster', 'fault', 'partition', '1/2', '--name', A])).exitCode).toBe(0);
    const rules2 = execFileSync('ip', ['netns', 'exec', spec.netns, 'nft', 'list', 'table', 'bridge', 'gittorrent_faults']).toString();
    expect(rules2).toMatch(/iifname "gttap1" oifname "gttap2" drop/);
    const badp = await cli(['cluster', 'fault', 'partition', '1,2', '--name', A]);
    expect(badp.exitCode).toBe(2);
    expect((await cli(['cluster', 'fault', 'heal', '--name', A])).exitCode).toBe(0);
    expect(await listTables(spec.netns)).not.toContain('table bridge gittorrent_faults');
  }, 120_000);

  it('the host peer answers on the control socket; commit checks its folder', async () => {
    const { callControl } = await import('../../cluster/supervisor/control.ts');
    const sock = paths(clusterDir(A)).socket;
    const data = Buffer.from('held by the host peer\n');
    const { hash } = await callControl<{ hash: string }>(sock, { cmd: 'host-put', data: data.toString('base64') });
    expect(hash).toBe(execFileSync('git', ['hash-object', '--stdin'], { input: data }).toString().trim());
    const got = await callControl<{ fetched: boolean }>(sock, { cmd: 'host-fetch', hash });
    expect(got.fetched).toBe(false); // already held
    const c = await callControl<{ tx: number }>(sock, { cmd: 'host-counters' });
    expect(c.tx).toBeGreaterThan(0); // its ANNOUNCEs
    const r = await cli(['cluster', 'commit', '1', '--branch', 'x', join(tmp, 'no-such-dir'), '--name', A]);
    expect(r.exitCode).toBe(9);
    expect(r.stderr.trim()).toMatch(/is not a directory$/);
    const t = await cli(['cluster', 'commit', '1', '--branch', 'x', tmp, '--wait', '--timeout', 'soon', '--name', A]);
    expect(t.exitCode).toBe(2);
    expect(t.stderr.trim()).toMatch(/^[^\n]*--timeout must be a positive number of seconds, not "soon"$/);
  }, 60_000);

  it('kill and start a node', async () => {
    expect((await cli(['cluster', 'fault', 'kill', '2', '--name', A])).exitCode).toBe(0);
    let s = JSON.parse((await cli(['cluster', 'status', '--name', A, '--json'])).stdout);
    expect(s.nodes.map((n: { state: string }) => n.state)).toEqual(['ready', 'stopped']);
    expect(qemuPidsFor(A)).toHaveLength(1);
    expect((await cli(['cluster', 'fault', 'start', '2', '--name', A], { timeoutMs: 120_000 })).exitCode).toBe(0);
    s = JSON.parse((await cli(['cluster', 'status', '--name', A, '--json'])).stdout);
    expect(s.nodes.map((n: { state: string }) => n.state)).toEqual(['ready', 'ready']);
    expect(s.nodes.map((n: { boots: number }) => n.boots)).toEqual([1, 1]); // a new launch counts anew
  }, 180_000);

  it('up --nodes 3 grows it: node 3 gets a disk, a tap with the cluster\'s rate and a VM, and is heard; the others are untouched', async () => {
    const before = JSON.parse((await cli(['cluster', 'status', '--name', A, '--json'])).stdout) as { nodes: Array<{ node: number; boots: number }> };
    const pids = qemuPidsFor(A).sort();
    // refused in one line, the cluster as it was: a smaller count, a new rate, an image for a node it has
    for (const [args, msg] of [[['--nodes', '1'], /up only grows a cluster/], [['--nodes', '3', '--rate', '10mbit'], /--rate: cluster .* is up/], [['--nodes', '3', '--node-image', `2=${spec.nodes[0]!.disk}`], /node 2 is already in the cluster/]] as const) {
      const r = await cli(['cluster', 'up', '--name', A, '--accel', 'tcg', ...args]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(await listLinks(spec.netns)).not.toContain('gttap3');
    const r = await cli(['cluster', 'up', '--nodes', '3', '--name', A, '--json', '--accel', 'tcg'], { timeoutMs: 240_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const grown = JSON.parse(r.stdout) as { added: number[]; heard: number[]; nodes: Array<{ node: number; ip: string; disk: string }> };
    expect(grown.added).toEqual([3]);
    expect(grown.nodes.map((n) => [n.node, n.ip])).toEqual([[1, '10.77.0.1'], [2, '10.77.0.2'], [3, '10.77.0.3']]);
    expect(grown.heard).toContain(3);
    expect(existsSync(grown.nodes[2]!.disk)).toBe(true);
    const tc = execFileSync('ip', ['netns', 'exec', spec.netns, 'tc', 'qdisc', 'show', 'dev', 'gttap3']).toString();
    expect(tc).toMatch(/tbf .*rate 20Mbit/);
    // the running nodes kept their VMs (no restart); node 1 hears node 3's ANNOUNCE itself
    expect(qemuPidsFor(A).filter((p) => pids.includes(p)).sort()).toEqual(pids);
    const s = JSON.parse((await cli(['cluster', 'status', '--name', A, '--json'])).stdout) as { nodes: Array<{ node: number; state: string; boots: number }> };
    expect(s.nodes.map((n) => [n.node, n.state])).toEqual([[1, 'ready'], [2, 'ready'], [3, 'ready']]);
    expect(s.nodes.slice(0, 2).map((n) => n.boots)).toEqual(before.nodes.map((n) => n.boots));
    const end = Date.now() + 30_000;
    let peers = '';
    while (!/EVENT peer node=3 .*state=live/.test(peers) && Date.now() < end) {
      peers = (await cli(['cluster', 'exec', '1', '--name', A, '--', 'peers'])).stdout;
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(peers).toMatch(/EVENT peer node=3 .*state=live/);
    // the same count again: already up
    const again = await cli(['cluster', 'up', '--nodes', '3', '--name', A, '--accel', 'tcg']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already up with 3 nodes/);
  }, 300_000);

  it('wait --converged counts a propagation over 20 Mbit/s links in rounds of one piece\'s wire time', async () => {
    const st = JSON.parse((await cli(['cluster', 'status', '--name', A, '--json'])).stdout) as { rate?: string };
    expect(st.rate).toBe('20mbit');
    const p = await cli(['cluster', 'policy', 'rel', 'all', '--name', A, '--json'], { timeoutMs: 150_000 });
    expect(p.exitCode, p.stderr).toBe(0);
    const dir = join(tmp, 'rel');
    mkdirSync(dir);
    writeFileSync(join(dir, 'r.bin'), randomBytes(8 * 65536)); // 8 pieces
    const c = await cli(['cluster', 'commit', '1', '--branch', 'rel', dir, '-m', 'rel', '--name', A, '--wait', '--timeout', '150', '--json'], { timeoutMs: 250_000 });
    expect(c.exitCode, c.stderr).toBe(0);
    const r = (JSON.parse(c.stdout) as { wait: unknown }).wait as { converged: boolean; rounds: number; roundsOf: string; update: { id: string; pieces: number; nodes: number; optimum: number; ms: number; roundUs: number; unit: string; rounds: number } };
    // the commit's propagation, node 1 its seed
    const seed = await cli(['cluster', 'exec', '1', '--name', A, '--', 'update']);
    expect(seed.stdout).toMatch(new RegExp(`EVENT update id=${r.update.id} pieces=8 .*state=stored role=seed`));
    // the unit is a piece's 47 frames at the tc rate (69,766 bytes at 20 Mbit/s), not the
    // guests' own pace: each receiver's link carries at most one piece per unit, so no
    // receiver can hold all 8 in fewer than 7 of them (the tbf's 4 KB burst aside)
    expect(r).toMatchObject({ converged: true, roundsOf: 'propagation', update: { pieces: 8, roundUs: 27_906, unit: 'rate' } });
    expect(r.rounds).toBe(r.update.rounds);
    // a wait with nothing left to wait for reports that propagation, but its own rounds are
    // the sync runs it saw
    const w = await cli(['cluster', 'wait', '--converged', '--json', '--name', A]);
    expect(w.exitCode, w.stderr).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({ converged: true, roundsOf: 'sync', update: { id: r.update.id } });
    expect(r.update.optimum).toBe(8 - 1 + Math.ceil(Math.log2(r.update.nodes)));
    expect(r.update.rounds).toBe(Math.round((r.update.ms * 1000) / 27_906));
    expect(r.update.rounds).toBeGreaterThanOrEqual(7);
    console.log(`8 pieces to ${r.update.nodes} nodes at 20 Mbit/s: ${r.update.rounds} rounds (optimum ${r.update.optimum}), ${r.update.ms} ms`);
  }, 400_000);

  it('the capture holds the host peer\'s announces, and down leaves nothing but the disks', async () => {
    await new Promise((r) => setTimeout(r, 2500)); // at least one ANNOUNCE period
    const d = await cli(['cluster', 'down', '--name', A], { timeoutMs: 60_000 });
    expect(d.exitCode).toBe(0);
    await nothingLeft(A);
    for (const n of spec.nodes) expect(existsSync(n.disk)).toBe(true);
    const pkts = execFileSync('tcpdump', ['-nn', '-r', pcap, 'udp port 7184'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    expect(pkts).toMatch(/10\.77\.255\.254\.7184 > 239\.192\.71\.84\.7184: UDP/);
    expect(readFileSync(pcap).length).toBeGreaterThan(24);
  }, 120_000);
});

describe('Ctrl-C during up', () => {
  it('leaves nothing behind', async () => {
    const { execa } = await import('execa');
    const p = execa('node', [join(process.cwd(), 'bin/gittorrent.js'), 'cluster', 'up', '--nodes', '2', '--name', B, '--accel', 'tcg'], { reject: false, env: { CI: '1' } });
    // interrupt once the namespace and the supervisor exist
    const end = Date.now() + 60_000;
    while (!(existsSync(paths(clusterDir(B)).socket) && (await listNamespaces()).includes(netnsName(B))) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    p.kill('SIGINT');
    const r = await p;
    expect(r.exitCode).toBe(130);
    await nothingLeft(B);
    expect(existsSync(clusterDir(B))).toBe(false);
  }, 120_000);
});

describe('a killed supervisor', () => {
  it('takes its VMs along, and the next up reclaims the namespace, taps and nftables table', async () => {
    const r1 = await up(B);
    expect(r1.exitCode).toBe(0);
    expect((await cli(['cluster', 'fault', 'loss', '5', '--name', B])).exitCode).toBe(0);
    const pid = Number(readFileSync(paths(clusterDir(B)).pid, 'utf8'));
    const vms = qemuPidsFor(B);
    expect(vms).toHaveLength(2);
    process.kill(pid, 'SIGKILL');
    const end = Date.now() + 10_000;
    while (qemuPidsFor(B).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(qemuPidsFor(B)).toEqual([]); // --pdeathsig
    // what is left is reclaimable: the namespace (with its taps and table) is still there
    expect(await listNamespaces()).toContain(netnsName(B));
    const st = await cli(['cluster', 'status', '--name', B]);
    expect(st.exitCode).toBe(9);
    const r2 = await up(B);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(await listTables(netnsName(B))).not.toContain('table bridge gittorrent_faults');
    expect(qemuPidsFor(B)).toHaveLength(2);
    expect((await cli(['cluster', 'down', '--name', B], { timeoutMs: 60_000 })).exitCode).toBe(0);
    await nothingLeft(B);
  }, 400_000);
});
