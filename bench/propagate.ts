// npm run bench -- propagate [--nodes 5,9] [--pieces 16,64] [--rate 20mbit] [--sim-only]
// Propagation on the round-optimal schedule, ratios in one run (needs root: `cluster up` with a
// tc tbf on every tap, so the link, not TCG, is the bottleneck).
// For each cluster size N (one cluster each, nodes 1..N, node 1 the seed) and each K:
// 1. the reference: node 2 fetches one 64 KiB blob from node 1 over one rate-limited link
//    (the kernel's own transfer time, xfer_us): T1, the time of one piece over one link;
// 2. the propagation of K pieces of 64 KiB (one blob of K x 64 KiB committed on node 1 only):
//    time from the first UPDATE the host peer hears to the last node's complete PIECE_MAP, vs
//    (K + ceil(log2 N) - 1) x T1 (goal <= 1.25x);
// 3. per node: bytes / (its completion - the start) vs the link rate (goal >= 0.8x; at most
//    K / (K + ceil(log2 N) - 1) x 0.94, the payload's share of the wire: 0.79x at N = 9, K = 16);
// 4. control bytes (UPDATE, STATUS, GET, WHO, MAP frames, headers included) vs data bytes (the
//    pieces' payload), from every node's own counters (goal < 1%);
// 5. the same propagation under 10% loss on every link vs lossless (first K only; goal <= 1.5x);
// each with the host's CPUs busy during it (near 100%: the guests' CPU, not the links, set the pace).
// Then the simulation: planner + simulator at 10,000 nodes x 64 pieces: rounds vs K - 1 +
// ceil(log2 N), the time to plan, and one node's own plan (cluster/propagate/schedule.ts).
// GT_BENCH_NODES=1 prints each node's counters and the host's view of each node; GT_BENCH_PCAP=DIR
// captures every tap during each propagation. Last line JSON.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rateBitsPerSecond as rateBps, setRate } from '../cluster/net/faults.ts';
import { sh } from '../cluster/net/sh.ts';
import { POLICY_REF, rankNodes } from '../cluster/placement.ts';
import { plan } from '../cluster/planner.ts';
import { nodePlan } from '../cluster/propagate/schedule.ts';
import type { PropagationView } from '../cluster/propagate/participant.ts';
import { pieceWireUs } from '../cluster/sync/converge.ts';
import { clusterDir, netnsName, paths, tapName } from '../cluster/runtime.ts';
import { simulate } from '../cluster/simulate.ts';
import { teardown } from '../cluster/lifecycle.ts';
import { callControl } from '../cluster/supervisor/control.ts';
import { ceilLog2, seedHoldings } from '../cluster/types.ts';
import { openImage } from '../gitfs/image.ts';
import { hashObject } from '../gitfs/objects.ts';
import { median, round } from './stats.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'bin', 'gittorrent.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gt(args: string[], timeoutMs = 600_000): string {
  return execFileSync('node', [BIN, ...args], { cwd: REPO, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

interface ExecOut {
  status: string;
  error: string | null;
  events: Array<{ name: string; fields: Record<string, string> }>;
}

function exec(name: string, node: number, cmd: string): Record<string, string> {
  const [r] = JSON.parse(gt(['cluster', 'exec', String(node), '--name', name, '--json', '--', cmd])) as ExecOut[];
  if (r!.status !== 'ok') throw new Error(`node ${node}: ${cmd}: ${r!.error}`);
  return r!.events[0]?.fields ?? {};
}

function list(args: string[], name: string, dflt: number[]): number[] {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]!.split(',').map(Number) : dflt;
}

/** The seed image's replication policy: `data` blobs on one node, and every blob below is
 * drawn so that HRW places it on node 1, which commits it: the placement loop fetches none of
 * them, so only the propagation (or the reference fetch) moves their bytes. */
const POLICY = 'kernel all\ndata copies=1\n* copies=3\n';

function blobDir(work: string, name: string, bytes: number, nodes: number): { dir: string; hash: string } {
  const dir = join(work, name);
  mkdirSync(dir);
  const f = join(dir, 'blob.bin');
  const live = Array.from({ length: nodes }, (_, i) => i + 1);
  let data = randomBytes(bytes);
  while (rankNodes(hashObject('blob', data), live)[0] !== 1) data = randomBytes(bytes);
  writeFileSync(f, data);
  return { dir, hash: execFileSync('git', ['hash-object', f]).toString().trim() };
}

interface RunResult {
  ms: number;
  perNodeMs: number[];
  ctl: number;
  data: number;
  /** The host's CPUs busy during the propagation (0..1; every core counted): near 1, the guests' CPU, not the links, set the pace. */
  hostBusy: number;
  /** The nodes' own account (`update`): the slowest receiver's ms from its manifest to every
   *  piece held, and the median of the receivers' one-piece times (piece_us, first chunk to
   *  verified). Over the wire time of a piece, the rounds `cluster wait --converged` reports. */
  nodeMs: number;
  pieceUs: number;
}

/** The host's CPU time so far from /proc/stat: busy and total jiffies over every core. */
function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total }; // idle and iowait are not busy
}

/** tc tbf on every node's tap (the host's GET/DATA path to node 1 stays unlimited: commits). */
async function links(name: string, n: number, rate: string | undefined): Promise<void> {
  for (let node = 1; node <= n; node++) {
    if (rate) await setRate(netnsName(name), tapName(node), rate);
    else await sh('tc', ['qdisc', 'del', 'dev', tapName(node), 'root'], { ns: netnsName(name), check: false });
  }
}

/** GT_BENCH_PCAP=DIR: every tap captured during a propagation (DIR/TAG-tapN.pcap, headers
 * only; tcpdump sees a frame into a guest as it leaves the tap's tbf, one out of it as the guest
 * sends it). Returns the function that stops them. */
async function captures(name: string, n: number, tag: string): Promise<() => Promise<void>> {
  const dir = process.env.GT_BENCH_PCAP;
  if (!dir) return async () => undefined;
  const procs = Array.from({ length: n }, (_, i) => {
    const file = join(dir, `${tag}-tap${i + 1}`);
    return spawn('ip', ['netns', 'exec', netnsName(name), 'tcpdump', '-U', '--immediate-mode', '-i', tapName(i + 1), '-s', '96', '-w', `${file}.pcap`, 'udp'], { stdio: ['ignore', 'ignore', openSync(`${file}.err`, 'w')] });
  });
  await sleep(1000);
  return async () => {
    await sleep(3000); // the captures drain their rings (9 guests keep a 2-core host busy)
    for (const c of procs) c.kill('SIGINT');
  };
}

async function propagateOnce(name: string, n: number, work: string, tag: string, k: number, rate: string, lossPercent = 0): Promise<RunResult> {
  const { dir, hash } = blobDir(work, tag, k * 65536, n);
  await links(name, n, undefined);
  gt(['cluster', 'commit', '1', '--branch', 'data', dir, '-m', tag, '--name', name, '--json']); // (a COMMIT is sent once: no loss yet)
  await links(name, n, rate);
  if (lossPercent) gt(['cluster', 'fault', 'loss', String(lossPercent), '--name', name]);
  const stopCaptures = await captures(name, n, tag);
  const cpu0 = cpuTimes();
  const p = exec(name, 1, `propagate ${hash}`);
  const sock = paths(clusterDir(name)).socket;
  const end = Date.now() + 300_000;
  let v: PropagationView | null = null;
  for (;;) {
    v = await callControl<PropagationView | null>(sock, { cmd: 'host-propagation' });
    if (v && v.id === p.id && v.progress.filter((x) => x.node !== 1).every((x) => x.completeAt)) break;
    if (Date.now() > end) throw new Error(`propagation ${tag} did not complete: ${JSON.stringify(v?.progress)}`);
    await sleep(200);
  }
  const cpu1 = cpuTimes();
  const hostBusy = (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total);
  await stopCaptures();
  const done = v.progress.filter((x) => x.node !== 1).map((x) => x.completeAt! - v!.firstHeard);
  if (process.env.GT_BENCH_NODES) process.stderr.write(`  host view (ms after the first UPDATE): ${v.progress.filter((x) => x.node !== 1).map((x) => `node ${x.node} first piece ${(x.firstAt ?? NaN) - v!.firstHeard} complete ${x.completeAt! - v!.firstHeard}`).join('; ')}\n`);
  // every node's own byte counters, once it has stored the update
  let ctl = 0;
  let data = 0;
  const own: Array<{ ms: number; us: number }> = [];
  for (let node = 1; node <= n; node++) {
    let u = exec(name, node, 'update');
    for (let i = 0; i < 30 && u.state !== 'stored'; i++) {
      await sleep(500);
      u = exec(name, node, 'update');
    }
    ctl += Number(u.ctl_tx);
    data += Number(u.data_tx);
    if (node !== 1) own.push({ ms: Number(u.ms), us: Number(u.piece_us) });
    if (process.env.GT_BENCH_NODES) process.stderr.write(`  node ${node}: ${['ms', 'pushed', 'early', 'served', 'retx', 'dup', 'gets', 'giveups', 'last2', 'tb_late', 'w_barrier', 'w_held', 'w_acks'].map((f) => `${f}=${u[f]}`).join(' ')}\n`);
  }
  const nodeMs = Math.max(...own.map((o) => o.ms));
  const pieceUs = median(own.map((o) => o.us));
  return { ms: Math.max(...done), perNodeMs: done, ctl, data, hostBusy, nodeMs, pieceUs };
}

async function clusterRuns(n: number, ks: number[], rate: string, work: string): Promise<Array<Record<string, unknown>>> {
  const name = `gtbench-prop-${process.pid}-${n}`;
  const rows: Array<Record<string, unknown>> = [];
  const image = join(work, `seeded-${n}.img`);
  execFileSync('cp', ['--sparse=always', join(REPO, 'out', 'node.img'), image]);
  mkdirSync(join(work, `seed-${n}`));
  writeFileSync(join(work, `seed-${n}`, 'README'), 'data\n');
  gt(['image', 'commit', image, join(work, `seed-${n}`), '--branch', 'data', '-m', 'seed']);
  // a 10 s watchdog (as the tests set it): 9 TCG guests on 2 cores can go 2 s without CPU
  gt(['image', 'boot-ref', image, 'boot', '--good', '--watchdog-ms', '10000']);
  const img = openImage(image);
  img.setRef(POLICY_REF, img.putObject('blob', Buffer.from(POLICY)).hash, { kind: 'symbolic' });
  img.close();
  gt(['cluster', 'up', '--nodes', String(n), '--name', name, '--image', image, '--accel', 'tcg', '--timeout', '600', '--json'], 900_000);
  try {
    // the reference: one 64 KiB piece over one rate-limited link (node 1 -> node 2): the
    // kernel's own transfer time of a 64 KiB fetch (median of 3 blobs); and the wire's own
    // figure, the bytes of one piece's 47 frames (Ethernet header included) at the tbf rate
    const t1s: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ref = blobDir(work, `ref-${n}-${i}`, 65536, n);
      await links(name, n, undefined);
      gt(['cluster', 'commit', '1', '--branch', 'data', ref.dir, '-m', 'ref', '--name', name, '--json']);
      await links(name, n, rate);
      t1s.push(Number(exec(name, 2, `fetch ${ref.hash}`).xfer_us) / 1000);
    }
    const t1 = median(t1s);
    const t1Wire = pieceWireUs(rate) / 1000;
    process.stdout.write(`N=${n}: one piece over one link: ${round(t1, 1)} ms measured (fetch), ${round(t1Wire, 1)} ms at the tbf rate\n`);
    const linkBytesPerMs = rateBps(rate) / 8 / 1000;
    const q = ceilLog2(n);
    let lossless: RunResult | undefined;
    for (const k of ks) {
      const r = await propagateOnce(name, n, work, `k${k}-n${n}`, k, rate);
      if (!lossless) lossless = r;
      const bound = (k + q - 1) * t1;
      const boundWire = (k + q - 1) * t1Wire;
      const rates = r.perNodeMs.map((ms) => (k * 65536) / ms / linkBytesPerMs);
      const row = {
        nodes: n, pieces: k, ms: Math.round(r.ms), pieceMs: round(t1, 1), boundMs: Math.round(bound), vsBound: round(r.ms / bound, 2), pieceWireMs: round(t1Wire, 1), vsWireBound: round(r.ms / boundWire, 2),
        minRateVsLink: round(Math.min(...rates), 2), rates: rates.map((x) => round(x, 2)), ctlBytes: r.ctl, dataBytes: r.data, ctlVsData: round((100 * r.ctl) / r.data, 3),
        hostCpuBusy: round(r.hostBusy, 2), roundsMeasured: Math.round(r.nodeMs / t1Wire), optimum: k + q - 1, nodePieceMs: round(r.pieceUs / 1000, 1),
      };
      rows.push(row);
      process.stdout.write(`N=${n} K=${k}: ${row.ms} ms vs (K+q-1) x ${row.pieceMs} ms = ${row.boundMs} ms: ${row.vsBound}x (vs the wire's ${row.vsWireBound}x)  min node rate ${row.minRateVsLink}x link  control ${row.ctlVsData}% of data  host CPU ${Math.round(100 * row.hostCpuBusy)}% busy\n`);
      process.stdout.write(`N=${n} K=${k}: the nodes' own count (cluster wait's): ${row.roundsMeasured} rounds (optimum ${row.optimum}): ${r.nodeMs} ms over ${row.pieceWireMs} ms a piece at the link rate (a piece took ${row.nodePieceMs} ms from first chunk to verified, median)\n`);
    }
    // the first K again under 10% loss (set after the commit, inside propagateOnce)
    try {
      const k = ks[0]!;
      const r = await propagateOnce(name, n, work, `loss-k${k}-n${n}`, k, rate, 10);
      const row = { nodes: n, pieces: k, loss: 10, ms: Math.round(r.ms), losslessMs: Math.round(lossless!.ms), vsLossless: round(r.ms / lossless!.ms, 2), hostCpuBusy: round(r.hostBusy, 2) };
      rows.push(row);
      process.stdout.write(`N=${n} K=${k} 10% loss: ${row.ms} ms vs lossless ${row.losslessMs} ms: ${row.vsLossless}x  host CPU ${Math.round(100 * row.hostCpuBusy)}% busy\n`);
    } finally {
      gt(['cluster', 'fault', 'heal', '--name', name]);
    }
  } finally {
    try {
      gt(['cluster', 'down', '--name', name], 120_000);
    } finally {
      await teardown(name, { keepDisks: false }); // the bench's disks go too (as bench/cluster.ts)
    }
  }
  return rows;
}

function simulation(): Record<string, unknown> {
  const n = 10_000;
  const k = 64;
  let t = performance.now();
  const p = plan({ holdings: seedHoldings(n, k), policy: { kind: 'all' } });
  const planMs = performance.now() - t;
  t = performance.now();
  const s = simulate({ nodes: n, pieces: k, policy: { kind: 'all' } });
  const simMs = performance.now() - t;
  t = performance.now();
  const one = nodePlan(n, k, 4321);
  const nodeMs = performance.now() - t;
  const row = { nodes: n, pieces: k, rounds: p.rounds, simRounds: s.rounds, optimum: k - 1 + ceilLog2(n), complete: s.complete, planMs: Math.round(planMs), simMs: Math.round(simMs), onePlanMs: round(nodeMs, 2), onePushes: one.pushes.length };
  process.stdout.write(`simulation ${n} x ${k}: plan ${row.rounds} rounds (optimum ${row.optimum}) in ${row.planMs} ms; simulated ${row.simRounds} rounds, complete ${row.complete}, ${row.simMs} ms; one node's own plan ${row.onePlanMs} ms\n`);
  return row;
}

export default async function bench(args: string[]): Promise<void> {
  const sim = simulation();
  const rows: Array<Record<string, unknown>> = [];
  if (!args.includes('--sim-only')) {
    const i = args.indexOf('--rate');
    const rate = i >= 0 ? args[i + 1]! : '20mbit';
    const work = mkdtempSync(join(tmpdir(), 'gt-bench-prop-'));
    try {
      gt(['build']);
      for (const n of list(args, '--nodes', [5, 9])) rows.push(...(await clusterRuns(n, list(args, '--pieces', [16, 64]), rate, work)));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  process.stdout.write(JSON.stringify({ bench: 'propagate', sim, rows }) + '\n');
}
