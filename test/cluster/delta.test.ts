// Deltas on the wire (docs/protocol.md, "Deltas") on ONE 3-node cluster of real VMs: a 4 MiB
// file committed on node 1 (`cluster commit`), a new version with 24 small edits committed on
// node 1, and node 2, which holds the old version, fetches the new one as a git delta from node
// 1: the bytes on the wire (tshark on the bridge capture, cross-checked with the kernel's own
// count) are at most twice the delta and a tiny fraction of the file, the result is byte-exact
// (sha1sum on the host, `sha1` on the node). Also: the host peer's deltas (gitfs/delta.ts's
// encoder) applied by the kernel, the kernel's deltas applied by the host peer, a base named by
// path, and a corrupted delta refused, counted and replaced by the whole object.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teardown } from '../../cluster/lifecycle.ts';
import { listNamespaces } from '../../cluster/net/netns.ts';
import { clusterDir, netnsName, paths, pidAlive } from '../../cluster/runtime.ts';
import { callControl } from '../../cluster/supervisor/control.ts';
import { HOST_NODE } from '../../cluster/wire/constants.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { openImage } from '../../gitfs/image.ts';
import { POLICY_REF, rankNodes } from '../../cluster/placement.ts';
import { REPO, cli } from '../helpers/cli.ts';
import { takeClusterSlot } from '../helpers/cluster-slot.ts';
import { dumpClusterLogs } from '../helpers/cluster-dump.ts';

const NAME = `gtdelta-${process.pid}`;
const NS = netnsName(NAME);
const LUA = join(import.meta.dirname, '..', '..', 'cluster', 'wireshark', 'gtp.lua');
const tmp = mkdtempSync(join(tmpdir(), 'gtdelta-cluster-'));
const pcap = join(tmp, 'delta.pcap');
const MIB4 = 4 << 20;
// The `data` branch's blobs live on one node each (HRW), so no placement loop races the explicit
// fetches below; the last check raises it to copies=3 (CONTROL POLICY) to watch sync's delta bases
const POLICY = 'data copies=1\n* copies=3\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const blobId = (b: Buffer) => hashObject('blob', b);

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomBuf(n: number, seed: number): Buffer {
  const r = seeded(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
  return b;
}

/** `count` edits of `len` random bytes spread over the file (same length). */
function edited(base: Buffer, count: number, len: number, seed: number): Buffer {
  const r = seeded(seed);
  const t = Buffer.from(base);
  for (let i = 0; i < count; i++) {
    const at = Math.floor(((i + r()) * (t.length - len)) / count);
    for (let j = 0; j < len; j++) t[at + j] = Math.floor(r() * 256);
  }
  return t;
}

interface ExecOut {
  command: string;
  status: string;
  lines: string[];
  events: Array<{ name: string; fields: Record<string, string> }>;
  error: string | null;
  data: string | null;
}

const control = <T>(req: Record<string, unknown> & { cmd: string }, timeoutMs = 180_000) => callControl<T>(paths(clusterDir(NAME)).socket, req, timeoutMs);

async function exec(node: number, command: string, input?: Buffer): Promise<ExecOut> {
  const [r] = await control<ExecOut[]>({ cmd: 'exec', node, commands: [command], timeoutMs: 170_000, ...(input ? { input: input.toString('base64') } : {}) });
  return r!;
}

async function execOk(node: number, command: string, input?: Buffer): Promise<ExecOut> {
  const r = await exec(node, command, input);
  expect(r.status, `${command}: ${r.error}`).toBe('ok');
  return r;
}

const ev = (r: ExecOut, name: string) => r.events.find((e) => e.name === name)?.fields ?? {};

async function commitFile(node: number, name: string, data: Buffer): Promise<void> {
  const dir = join(tmp, `c-${name}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'big.bin'), data);
  const c = await cli(['cluster', 'commit', String(node), '--branch', 'data', dir, '-m', name, '--name', NAME, '--json'], { timeoutMs: 240_000 });
  expect(c.exitCode, c.stderr).toBe(0);
}

async function netCounter(node: number, key: string): Promise<number> {
  return Number(ev(await execOk(node, 'net'), 'net')[key]);
}

/** Drops every frame the host side sends to the given taps (its I_HAVE answers among them). */
function muteHost(taps: string[]): void {
  const rules = `table bridge gtdelta_mute {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    oifname { ${taps.map((t) => `"${t}"`).join(', ')} } ip saddr 10.77.255.254 drop\n  }\n}\n`;
  execFileSync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: rules });
}

function unmuteHost(): void {
  execFileSync('ip', ['netns', 'exec', NS, 'nft', 'delete', 'table', 'bridge', 'gtdelta_mute']);
}

/** GTP frames of the capture: [frame bytes, type, hash (payload's first 20 bytes), src ip, dst ip]. */
function frames(): Array<{ len: number; type: number; hash: string; src: string; dst: string }> {
  const out = execFileSync('tshark', ['-X', `lua_script:${LUA}`, '-r', pcap, '-Y', 'udp.port == 7184', '-T', 'fields', '-e', 'frame.len', '-e', 'gittorrent.type', '-e', 'gittorrent.hash', '-e', 'ip.src', '-e', 'ip.dst'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return out.trim().split('\n').filter(Boolean).map((l) => {
    const [len, type, hash, src, dst] = l.split('\t');
    return { len: Number(len), type: Number(type), hash: (hash ?? '').replace(/:/g, ''), src: src ?? '', dst: dst ?? '' };
  });
}

let releaseSlot: (() => void) | undefined;

beforeAll(async () => {
  for (const ns of await listNamespaces()) {
    const m = /^gittorrent-(gtdelta-(\d+))$/.exec(ns);
    if (m && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]))) await teardown(m[1]!, { keepDisks: false });
  }
  expect((await cli(['build'], { timeoutMs: 120_000 })).exitCode).toBe(0);
  const image = join(tmp, 'seeded.img');
  execFileSync('cp', ['--sparse=always', join(REPO, 'out', 'node.img'), image]);
  mkdirSync(join(tmp, 'seed'));
  writeFileSync(join(tmp, 'seed', 'README'), 'the data branch\n');
  const c = await cli(['image', 'commit', image, join(tmp, 'seed'), '--branch', 'data', '-m', 'seed']);
  expect(c.exitCode, c.stderr).toBe(0);
  // A 10 s watchdog, as placement.test.ts and propagate.test.ts set it: a guest starved past
  // 2 s by other files' VMs is reset, and a command sent to it while it boots again is lost
  const wd = await cli(['image', 'boot-ref', image, 'boot', '--good', '--watchdog-ms', '10000']);
  expect(wd.exitCode, wd.stderr).toBe(0);
  const img = openImage(image);
  img.setRef(POLICY_REF, img.putObject('blob', Buffer.from(POLICY)).hash, { kind: 'symbolic' });
  img.close();
  releaseSlot = await takeClusterSlot(); // one networked cluster at a time (helpers/cluster-slot.ts)
  const r = await cli(['cluster', 'up', '--nodes', '3', '--name', NAME, '--image', image, '--json', '--accel', 'tcg', '--timeout', '420'], { timeoutMs: 480_000 });
  expect(r.exitCode, r.stderr).toBe(0);
}, 1_500_000);

afterAll(async () => {
  await dumpClusterLogs(NAME, [1, 2, 3], 'delta').catch(() => undefined);
  try {
    await cli(['cluster', 'down', '--name', NAME], { timeoutMs: 60_000 });
  } finally {
    await teardown(NAME, { keepDisks: false });
    releaseSlot?.();
    rmSync(tmp, { recursive: true, force: true });
  }
  expect(await listNamespaces()).not.toContain(NS);
}, 120_000);

describe('deltas on the wire', () => {
  const v1 = randomBuf(MIB4, 11);
  // v2 is drawn so that HRW places it on node 1 (copies=1): nodes 2 and 3 keep a referral to it
  // until they fetch it here, explicitly
  let v2 = edited(v1, 24, 32, 12);
  for (let seed = 100; rankNodes(blobId(v2), [1, 2, 3])[0] !== 1; seed++) v2 = edited(v1, 24, 32, seed);
  const v3 = edited(v2, 16, 32, 13);
  const v4 = edited(v3, 8, 32, 14);
  const v5 = edited(v2, 12, 32, 15);
  const [h1, h2, h3, h4, h5] = [v1, v2, v3, v4, v5].map(blobId) as [string, string, string, string, string];

  it('a new version of a 4 MiB file moves from node 1 to node 2 as a delta: wire <= 2x the delta, byte-exact', async () => {
    await commitFile(1, 'v1', v1);
    expect((await execOk(2, `fetch ${h1}`)).status).toBe('ok');
    // node 2 and node 3 hear nothing from the host side now: the new version's only holder
    // they know is node 1 (its HAVE), so the delta and the whole fetch are kernel to kernel
    muteHost(['gttap2', 'gttap3']);
    try {
      await commitFile(1, 'v2', v2);
      const p = await cli(['cluster', 'pcap', pcap, '--name', NAME]);
      expect(p.exitCode, p.stderr).toBe(0);
      await sleep(500);
      const f = ev(await execOk(2, `fetch ${h2} ${h1}`), 'fetch');
      expect(f).toMatchObject({ hash: h2, size: String(MIB4), type: '3', from: '1', delta: 'yes' });
      const deltaBytes = Number(f.delta_bytes);
      const kernelWire = Number(f.wire);
      // the whole object, to node 3 (no base), for the comparison
      const full = ev(await execOk(3, `fetch ${h2}`), 'fetch');
      expect(full).toMatchObject({ hash: h2, from: '1' });
      await sleep(1000);
      const fr = frames();
      const deltaFrames = fr.filter((x) => (x.type === 23 || x.type === 24) && x.hash === h2 && (x.src === '10.77.0.2' || x.dst === '10.77.0.2'));
      const wire = deltaFrames.reduce((a, x) => a + x.len, 0);
      const aboutIt = fr.filter((x) => x.hash === h2 && (x.src === '10.77.0.2' || x.dst === '10.77.0.2' || (x.type === 3 && x.dst === '239.192.71.84')));
      const fullWire = fr.filter((x) => (x.type === 4 || x.type === 5) && x.hash === h2 && (x.src === '10.77.0.3' || x.dst === '10.77.0.3')).reduce((a, x) => a + x.len, 0);
      console.log(
        `delta fetch of a 4 MiB file with 24 edits: delta ${deltaBytes} B, wire ${wire} B (kernel counted ${kernelWire} B; with who-has/i-have/have ${aboutIt.reduce((a, x) => a + x.len, 0)} B) in ${f.us} us; ` +
          `whole fetch: ${fullWire} B on the wire in ${full.us} us (${(Number(full.us) / Number(f.us)).toFixed(1)}x the delta fetch's time)`,
      );
      expect(deltaFrames.length).toBeGreaterThanOrEqual(2);
      expect(wire).toBe(kernelWire);
      expect(wire).toBeLessThanOrEqual(2 * deltaBytes);
      expect(deltaBytes).toBeLessThan(MIB4 / 1000);
      expect(fullWire).toBeGreaterThan(MIB4);
    } finally {
      unmuteHost();
    }
    const sum = createHash('sha1').update(v2).digest('hex');
    expect((await execOk(2, `sha1 ${h2}`)).lines).toEqual([sum]);
    expect((await execOk(3, `sha1 ${h2}`)).lines).toEqual([sum]);
    // the Lua dissector decodes every frame of the capture, the new types by name
    const text = execFileSync('tshark', ['-X', `lua_script:${LUA}`, '-r', pcap], { encoding: 'utf8', maxBuffer: 256 << 20 });
    expect(text).toMatch(/GET_DELTA/);
    expect(text).toMatch(/DELTA from 1/);
    expect(execFileSync('tshark', ['-X', `lua_script:${LUA}`, '-r', pcap, '-Y', '_ws.malformed || _ws.expert.severity == error'], { encoding: 'utf8' }).trim()).toBe('');
  }, 600_000);

  it('the host peer serves a delta (gitfs/delta.ts) that the kernel applies; a base named by path', async () => {
    await control({ cmd: 'host-put', data: v3.toString('base64') });
    const f = ev(await execOk(2, `fetch ${h3} ${h2}`), 'fetch');
    expect(f).toMatchObject({ hash: h3, from: String(HOST_NODE), delta: 'yes' });
    expect((await execOk(2, `sha1 ${h3}`)).lines).toEqual([sha1(v3)]);
    // node 1's data branch holds v2 at /data/big.bin: that is the base
    await control({ cmd: 'host-put', data: v5.toString('base64') });
    const g = ev(await execOk(1, `fetch ${h5} /data/big.bin`), 'fetch');
    expect(g).toMatchObject({ hash: h5, from: String(HOST_NODE), delta: 'yes' });
    expect((await execOk(1, `sha1 ${h5}`)).lines).toEqual([sha1(v5)]);
  }, 300_000);

  it('a corrupted delta is refused and counted; the whole object is fetched instead', async () => {
    await control({ cmd: 'host-put', data: v4.toString('base64') });
    const before = await netCounter(2, 'bad_delta');
    await control({ cmd: 'host-fault', corruptDeltas: true });
    try {
      const f = ev(await execOk(2, `fetch ${h4} ${h3}`), 'fetch');
      expect(f).toMatchObject({ hash: h4, from: String(HOST_NODE), delta: 'bad', size: String(MIB4) });
    } finally {
      await control({ cmd: 'host-fault', corruptDeltas: false });
    }
    expect(await netCounter(2, 'bad_delta')).toBe(before + 1);
    expect((await execOk(2, `sha1 ${h4}`)).lines).toEqual([sha1(v4)]);
  }, 300_000);

  it('sync finds the base: a new version committed on node 1 is placed on nodes 2 and 3, as a delta from node 1 against the version they store', async () => {
    const v6 = edited(v2, 20, 32, 16);
    const h6 = blobId(v6);
    const placed = async (n: number) => ev(await execOk(n, 'placed'), 'placed');
    // copies=3 on 3 nodes: every blob of the data branch's head on every node; wait until the
    // nodes have placed what that asks (they store v2, fetched above; README may come now)
    const pol = await cli(['cluster', 'policy', 'data', 'copies=3', '--name', NAME, '--json'], { timeoutMs: 120_000 });
    expect(pol.exitCode, pol.stderr).toBe(0);
    const settle = Date.now() + 120_000;
    let before = await Promise.all([2, 3].map(placed));
    while (Date.now() < settle && !before.every((p) => p.missing === '0' && p.rules === '2')) {
      await sleep(1000);
      before = await Promise.all([2, 3].map(placed));
    }
    expect(before.map((p) => [p.missing, p.rules])).toEqual([['0', '2'], ['0', '2']]);
    const made = await netCounter(1, 'deltas_made');
    // nodes 2 and 3 store v2 (/data/big.bin now); copies=3 places every blob on all three
    // nodes, so their placement loops fetch v6 once sync has brought the commit
    await commitFile(1, 'v6', v6);
    const end = Date.now() + 240_000;
    let now = before;
    while (Date.now() < end) {
      now = await Promise.all([2, 3].map(placed));
      if (now.every((p, i) => Number(p.fetched) > Number(before[i]!.fetched) && p.missing === '0')) break;
      await sleep(1000);
    }
    // The first of them to sync does so from node 1, which stores both versions: its referral
    // names node 1 and the delta comes from there. The other may sync from that first one; if
    // that node has not stored v6 yet it answers "absent", and the fetch asks the next holder,
    // node 1 (docs/protocol.md): both come as a delta
    const gained = now.map((p, i) => Number(p.deltas) - Number(before[i]!.deltas));
    expect(gained, JSON.stringify(now)).toEqual([1, 1]);
    for (const [i, n] of [2, 3].entries()) {
      expect(Number(now[i]!.fetched), `node ${n}: ${JSON.stringify(now[i])}`).toBe(Number(before[i]!.fetched) + 1);
      expect((await execOk(n, `sha1 ${h6}`)).lines, `node ${n}`).toEqual([sha1(v6)]);
      expect(ev(await execOk(n, `fetch ${h6}`), 'fetch').from, `node ${n} stores it`).toBe('local');
    }
    // node 1 encoded them (one per asker, or one served twice from its delta cache)
    expect(await netCounter(1, 'deltas_made')).toBeGreaterThan(made);
  }, 300_000);

  it('the host peer fetches a node-made version as the kernel\'s delta and verifies it', async () => {
    const w1 = randomBuf(48_000, 21);
    const w2 = edited(w1, 20, 32, 22);
    const { hash: g1 } = await control<{ hash: string }>({ cmd: 'host-put', data: w1.toString('base64') });
    expect((await execOk(1, `fetch ${g1}`)).status).toBe('ok');
    const put = ev(await execOk(1, `put /data/w.bin ${w2.length}`, w2), 'put');
    expect(put.blob).toBe(blobId(w2));
    const got = await control<{ hash: string; holder: number; delta: string; deltaBytes: number; wireBytes: number; fetched: boolean }>({ cmd: 'host-fetch', hash: blobId(w2), base: g1 });
    expect(got).toMatchObject({ hash: blobId(w2), holder: 1, delta: 'yes', fetched: true });
    expect(got.wireBytes).toBeLessThanOrEqual(2 * got.deltaBytes);
    const counters = await control<{ bad_delta: number }>({ cmd: 'host-counters' });
    expect(counters.bad_delta).toBe(0);
  }, 300_000);

  it('a rewritten version, no delta worth it: the holder answers full, the object comes whole (to a kernel and to the host peer)', async () => {
    const r1 = randomBuf(200_000, 31);
    const r2 = randomBuf(200_000, 32); // other bytes: no delta is smaller than 75% of it
    const { hash: b1 } = await control<{ hash: string }>({ cmd: 'host-put', data: r1.toString('base64') });
    for (const n of [1, 2]) expect((await execOk(n, `fetch ${b1}`)).status).toBe('ok');
    const r2h = blobId(r2);
    expect(ev(await execOk(1, `put /data/r.bin ${r2.length}`, r2), 'put').blob).toBe(r2h);
    const made = await netCounter(1, 'deltas_made');
    // node 2 holds the old version and asks node 1, the only holder, for a delta against it
    const f = ev(await execOk(2, `fetch ${r2h} ${b1}`), 'fetch');
    expect(f).toMatchObject({ hash: r2h, size: '200000', from: '1', delta: 'no', delta_bytes: '0' });
    // the delta exchange was a GET_DELTA and a status answer: no delta chunk (1,510 bytes a frame)
    expect(Number(f.wire)).toBeGreaterThan(0);
    expect(Number(f.wire)).toBeLessThan(1000);
    expect(await netCounter(1, 'deltas_made')).toBe(made);
    expect((await execOk(2, `sha1 ${r2h}`)).lines).toEqual([sha1(r2)]);
    // the host peer's fetcher takes the same answer the same way
    const got = await control<{ hash: string; holder: number; delta: string; deltaBytes: number; fetched: boolean; size: number }>({ cmd: 'host-fetch', hash: r2h, base: b1 });
    expect(got).toMatchObject({ hash: r2h, delta: 'no', deltaBytes: 0, fetched: true, size: 200_000 });
    expect([1, 2]).toContain(got.holder);
  }, 300_000);
});
