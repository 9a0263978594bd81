// npm run bench -- cluster [--nodes N] [--runs R]: `gittorrent cluster up --nodes N` (default
// 16) from launching the CLI until it returns (every node ready and heard by every other: `up`'s
// own contract) vs one node's boot to ready with its e1000 NIC on a tap (QEMU launch -> EVENT
// ready, the median of R runs, default 3), measured in the same run, before and after the
// cluster; also `cluster up --nodes 1` for the tool's fixed cost. Goal: ratio <= 10 (N VMs on
// 2 cores under TCG; the e1000's 1 s receive delay overlapped with boot). Needs root. Last line
// JSON.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../Makefile.ts';
import { teardown } from '../cluster/lifecycle.ts';
import { CLUSTER_KEY_FW_CFG, nodeMac } from '../emulator/qemu-args.ts';
import { Vm, type VmOptions } from '../emulator/vm.ts';
import { NetNs } from '../test/helpers/netns.ts';
import { median, round } from './stats.ts';

const BIN = fileURLToPath(new URL('../bin/gittorrent.js', import.meta.url));

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

async function timeToReady(opts: VmOptions): Promise<number> {
  const vm = Vm.launch(opts);
  try {
    return (await vm.waitForEvent((e) => e.name === 'ready', 120_000)).hostMs;
  } finally {
    vm.killNow();
    await vm.exited;
  }
}

interface UpTimes {
  /** launching the CLI -> it returned (all ready, all heard) */
  ms: number;
  /** launching the CLI -> the last node's EVENT ready (the host's time on its serial line) */
  lastReadyMs: number;
}

/** Wall time of `cluster up --nodes N` (it returns once all are ready and heard), then down. */
async function clusterUpMs(name: string, nodes: number, image: string): Promise<UpTimes> {
  const wall0 = Date.now();
  const t0 = performance.now();
  const r = await execa('node', [BIN, 'cluster', 'up', '--nodes', String(nodes), '--name', name, '--image', image, '--accel', 'tcg', '--json', '--timeout', '900'], { reject: false, env: { CI: '1' }, timeout: 1_000_000 });
  const ms = performance.now() - t0;
  try {
    if (r.exitCode !== 0) throw new Error(`cluster up --nodes ${nodes} failed: ${String(r.stderr).trim().split('\n').at(-1)}`);
    const heard = (JSON.parse(String(r.stdout)) as { heard: number[] }).heard;
    if (heard.length !== nodes) throw new Error(`cluster up --nodes ${nodes}: only ${heard.length} heard`);
    let lastReady = 0;
    for (let n = 1; n <= nodes; n++) {
      const logs = await execa('node', [BIN, 'cluster', 'logs', String(n), '--name', name, '--json'], { env: { CI: '1' }, timeout: 60_000 });
      const ready = (JSON.parse(String(logs.stdout)) as Array<{ time: string; line: string }>).find((l) => l.line.startsWith('EVENT ready'));
      if (ready) lastReady = Math.max(lastReady, Date.parse(ready.time) - wall0);
    }
    return { ms: Math.round(ms), lastReadyMs: lastReady };
  } finally {
    await execa('node', [BIN, 'cluster', 'down', '--name', name], { reject: false, env: { CI: '1' }, timeout: 120_000 });
    await teardown(name, { keepDisks: false });
  }
}

export default async function clusterBench(args: string[]): Promise<void> {
  const nodes = flag(args, '--nodes', 16);
  const runs = flag(args, '--runs', 3);
  const work = mkdtempSync(join(tmpdir(), 'gt-bench-cluster-'));
  const ns = await NetNs.create('cbench', 1);
  const name = `gtbench-${process.pid}`;
  try {
    const out = await build({ outDir: join(work, 'out') });
    const keyFile = join(work, 'key');
    writeFileSync(keyFile, randomBytes(32));
    const withNic: VmOptions = { disk: out.image, accel: 'tcg', snapshot: true, netns: ns.name, nic: { tap: 'tap1', mac: nodeMac(1) }, fwCfg: [{ name: CLUSTER_KEY_FW_CFG, file: keyFile }] };
    await timeToReady(withNic); // warm the page cache
    const one: number[] = [];
    for (let i = 0; i < Math.ceil(runs / 2); i++) one.push(Math.round(await timeToReady(withNic)));
    const up1 = await clusterUpMs(name, 1, out.image);
    const upN = await clusterUpMs(name, nodes, out.image);
    for (let i = Math.ceil(runs / 2); i < runs; i++) one.push(Math.round(await timeToReady(withNic)));
    const ref = median(one);
    const ratio = round(upN.ms / ref);
    console.log(`one node, QEMU launch -> ready (NIC on a tap): median ${ref} ms (runs: ${one.join(' ')})`);
    console.log(`cluster up --nodes 1 (ready and heard):        ${up1.ms} ms (its node ready at ${up1.lastReadyMs} ms)`);
    console.log(`cluster up --nodes ${nodes} (all ready, all heard):  ${upN.ms} ms (the last node ready at ${upN.lastReadyMs} ms)`);
    console.log(`ratio ${ratio} (goal <= 10); against cluster up --nodes 1: ${round(upN.ms / up1.ms)}`);
    console.log(JSON.stringify({ bench: 'cluster', accel: 'tcg', nodes, runs, oneBootMs: ref, up1Ms: up1.ms, up1ReadyMs: up1.lastReadyMs, upMs: upN.ms, lastReadyMs: upN.lastReadyMs, ratio, ratioToUp1: round(upN.ms / up1.ms) }));
  } finally {
    await teardown(name, { keepDisks: false });
    await ns.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}
