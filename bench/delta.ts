// npm run bench -- delta [--runs N] [--rate R] [--mib 4]: deltas on the wire (docs/protocol.md,
// "Deltas") on a 3-node cluster (with --rate, its links limited by tc tbf: `cluster up --rate`,
// e.g. 20mbit, so that the link, not TCG, bounds a whole fetch). Each run commits a new version of a file (24 edits of 32
// bytes) on node 1 and, in the same run, node 2 (which holds the previous version) fetches it
// as a delta (`fetch NEW OLD`) while node 3 fetches it whole (`fetch NEW`), both from node 1
// (the host side is muted to nodes 2 and 3 meanwhile). Reported: the delta's bytes and the
// wire bytes the kernel counted, and the time of the delta fetch vs the whole fetch (goal:
// the delta fetch faster; the wire bytes <= 2x the delta). Needs root. Last line JSON.
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { teardown } from '../cluster/lifecycle.ts';
import { clusterDir, netnsName, paths } from '../cluster/runtime.ts';
import { callControl } from '../cluster/supervisor/control.ts';
import { hashObject } from '../gitfs/objects.ts';
import { median, round } from './stats.ts';

const BIN = fileURLToPath(new URL('../bin/gittorrent.js', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

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
  status: string;
  error: string | null;
  events: Array<{ name: string; fields: Record<string, string> }>;
}

export default async function deltaBench(args: string[]): Promise<void> {
  const runs = Number(opt(args, '--runs', '3'));
  const rate = opt(args, '--rate', '');
  const size = Number(opt(args, '--mib', '4')) << 20;
  const name = `gtbdelta-${process.pid}`;
  const ns = netnsName(name);
  const work = mkdtempSync(join(tmpdir(), 'gt-bench-delta-'));
  const cli = async (a: string[], timeout = 300_000) => {
    const r = await execa('node', [BIN, ...a], { cwd: REPO, reject: false, timeout, env: { CI: '1' } });
    if (r.exitCode !== 0) throw new Error(`gittorrent ${a.join(' ')}: ${r.stderr}`);
    return String(r.stdout);
  };
  const exec = async (node: number, command: string) => {
    const [r] = await callControl<ExecOut[]>(paths(clusterDir(name)).socket, { cmd: 'exec', node, commands: [command], timeoutMs: 290_000 }, 300_000);
    if (r!.status !== 'ok') throw new Error(`node ${node}: ${command}: ${r!.error}`);
    return r!.events.find((e) => e.name === 'fetch')?.fields ?? {};
  };
  const commit = async (v: Buffer, tag: string) => {
    const dir = join(work, tag);
    mkdirSync(dir);
    writeFileSync(join(dir, 'big.bin'), v);
    await cli(['cluster', 'commit', '1', '--branch', 'data', dir, '-m', tag, '--name', name, '--json']);
  };
  try {
    await cli(['build'], 120_000);
    const image = join(work, 'seeded.img');
    execFileSync('cp', ['--sparse=always', join(REPO, 'out', 'node.img'), image]);
    mkdirSync(join(work, 'seed'));
    writeFileSync(join(work, 'seed', 'README'), 'seed\n');
    await cli(['image', 'commit', image, join(work, 'seed'), '--branch', 'data', '-m', 'seed']);
    await cli(['cluster', 'up', '--nodes', '3', '--name', name, '--image', image, '--accel', 'tcg', ...(rate ? ['--rate', rate] : []), '--timeout', '420'], 480_000);
    const r = seeded(99);
    let prev: Buffer = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) prev.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
    await commit(prev, 'v0');
    await exec(2, `fetch ${hashObject('blob', prev)}`);
    const rows: Array<{ delta: number; wire: number; deltaMs: number; wholeMs: number; ratio: number }> = [];
    for (let k = 1; k <= runs; k++) {
      const next = edited(prev, 24, 32, k);
      const [hp, hn] = [hashObject('blob', prev), hashObject('blob', next)];
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
        input: 'table bridge gtbdelta_mute {\n chain out {\n  type filter hook output priority 0; policy accept;\n  oifname { "gttap2", "gttap3" } ip saddr 10.77.255.254 drop\n }\n}\n',
      });
      try {
        await commit(next, `v${k}`);
        const d = await exec(2, `fetch ${hn} ${hp}`);
        const w = await exec(3, `fetch ${hn}`);
        if (d.delta !== 'yes' || d.from !== '1' || w.from !== '1') throw new Error(`run ${k}: delta=${d.delta} from=${d.from}, whole from=${w.from}`);
        const row = { delta: Number(d.delta_bytes), wire: Number(d.wire), deltaMs: round(Number(d.us) / 1000, 1), wholeMs: round(Number(w.us) / 1000, 1), ratio: round(Number(w.us) / Number(d.us), 2) };
        rows.push(row);
        console.log(`run ${k}: delta ${row.delta} B, wire ${row.wire} B (${round(row.wire / row.delta, 2)}x), delta fetch ${row.deltaMs} ms (xfer ${round(Number(d.delta_xfer_us) / 1000, 1)}, apply ${round(Number(d.apply_us) / 1000, 1)}, store ${round(Number(d.store_us) / 1000, 1)}), whole fetch ${row.wholeMs} ms: whole / delta = ${row.ratio}x`);
      } finally {
        execFileSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'bridge', 'gtbdelta_mute']);
      }
      // node 3 now holds `next` too; node 2 holds it: the next run's base
      prev = next;
    }
    const summary = { bench: 'delta', rate: rate || 'none', mib: size >> 20, runs: rows, medianRatio: median(rows.map((x) => x.ratio)), medianWireOverDelta: median(rows.map((x) => round(x.wire / x.delta, 2))) };
    console.log(JSON.stringify(summary));
  } finally {
    await cli(['cluster', 'down', '--name', name], 60_000).catch(() => undefined);
    await teardown(name, { keepDisks: false });
    rmSync(work, { recursive: true, force: true });
  }
}
