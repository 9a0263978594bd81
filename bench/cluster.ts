// npm run bench -- cluster [--nodes N] [--runs R]: `gittorrent cluster up --nodes N` (default
// 16) from launching the CLI until it returns (every node ready and heard by every other: `up`'s
// own contract) vs one node's boot to ready with its e1000 NIC on a tap (QEMU launch -> EVENT
// ready, the median of R runs, default 3), measured in the same run, before and after the
// cluster; also `cluster up --nodes 1` for the tool's fixed cost. The reference VM is launched
// with the options the supervisor launches every node with (nodeVmOptions: watchdog, e1000 on a
// tap, key by fw_cfg), on a snapshot of the same image. `up --verbose`'s breakdown of each up
// is printed (ms since the CLI started). Goal: ratio <= 10 (N VMs on 2 cores under TCG; the
// e1000's 1 s receive delay overlapped with boot). Needs root. Last line JSON.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../Makefile.ts';
import { teardown } from '../cluster/lifecycle.ts';
import { nodeMac } from '../emulator/qemu-args.ts';
import { Vm, type VmOptions } from '../emulator/vm.ts';
import { nodeVmOptions } from '../cluster/supervisor/supervisor.ts';
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
  /** launching the CLI -> the last node's first received frame (its receive delay's end, at most) */
  lastFirstRxMs: number;
  /** `up --verbose`'s lines: `EVENT +MS ms (at MS ms)`, since the CLI started */
  timing: string[];
}

/** Wall time of `cluster up --nodes N` (it returns once all are ready and heard), then down. */
async function clusterUpMs(name: string, nodes: number, image: string): Promise<UpTimes> {
  const wall0 = Date.now();
  const t0 = performance.now();
  const r = await execa('node', [BIN, 'cluster', 'up', '--nodes', String(nodes), '--name', name, '--image', image, '--accel', 'tcg', '--json', '--verbose', '--timeout', '900'], { reject: false, env: { CI: '1' }, timeout: 1_000_000 });
  const ms = performance.now() - t0;
  try {
    if (r.exitCode !== 0) throw new Error(`cluster up --nodes ${nodes} failed: ${String(r.stderr).trim().split('\n').at(-1)}`);
    const heard = (JSON.parse(String(r.stdout)) as { heard: number[] }).heard;
    if (heard.length !== nodes) throw new Error(`cluster up --nodes ${nodes}: only ${heard.length} heard`);
    const timing = String(r.stderr).split('\n').filter((l) => l.startsWith('timing: ')).map((l) => l.slice(8));
    let lastReady = 0;
    let lastRx = 0;
    for (let n = 1; n <= nodes; n++) {
      const logs = await execa('node', [BIN, 'cluster', 'logs', String(n), '--name', name, '--json'], { env: { CI: '1' }, timeout: 60_000 });
      const ready = (JSON.parse(String(logs.stdout)) as Array<{ time: string; line: string }>).find((l) => l.line.startsWith('EVENT ready'));
      if (!ready) continue;
      const readyAt = Date.parse(ready.time) - wall0;
      lastReady = Math.max(lastReady, readyAt);
      // the node's clock (ms since its reset) puts its first received frame on the host's
      const kms = Number(/ ms=(\d+)/.exec(ready.line)?.[1]);
      const net = await execa('node', [BIN, 'cluster', 'exec', String(n), '--name', name, 'net'], { env: { CI: '1' }, timeout: 60_000, reject: false });
      const rx = Number(/first_rx_ms=(\d+)/.exec(String(net.stdout))?.[1]);
      if (Number.isFinite(kms) && rx > 0) lastRx = Math.max(lastRx, readyAt - kms + rx);
    }
    return { ms: Math.round(ms), lastReadyMs: lastReady, lastFirstRxMs: Math.round(lastRx), timing };
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
    // exactly a cluster node's launch (the supervisor's nodeVmOptions), on a snapshot of the image
    const withNic: VmOptions = { ...nodeVmOptions({ accel: 'tcg', memoryMb: 256, keyFile, net: 'netns' }, { disk: out.image, tap: 'tap1', mac: nodeMac(1) }), snapshot: true, netns: ns.name };
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
    for (const l of up1.timing) console.log(`  up 1:  ${l}`);
    console.log(`cluster up --nodes ${nodes} (all ready, all heard):  ${upN.ms} ms (the last node ready at ${upN.lastReadyMs} ms; the last node's first frame received at ${upN.lastFirstRxMs} ms)`);
    for (const l of upN.timing) console.log(`  up ${nodes}: ${l}`);
    console.log(`ratio ${ratio} (goal <= 10); against cluster up --nodes 1: ${round(upN.ms / up1.ms)}`);
    console.log(JSON.stringify({ bench: 'cluster', accel: 'tcg', nodes, runs, oneBootMs: ref, up1Ms: up1.ms, up1ReadyMs: up1.lastReadyMs, upMs: upN.ms, lastReadyMs: upN.lastReadyMs, lastFirstRxMs: upN.lastFirstRxMs, ratio, ratioToUp1: round(upN.ms / up1.ms) }));
  } finally {
    await teardown(name, { keepDisks: false });
    await ns.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}
