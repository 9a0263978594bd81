// npm run bench -- boot [--runs N]: boots the node image to ready and, alternating in the same
// run with the same QEMU flags, a bare 512-byte boot sector that prints one line; prints the
// median host time from launching QEMU to that line for each, and their ratio, and the median
// host time of each stage event of the node's boot (the host timestamps every serial line), so
// the time beyond QEMU and the BIOS can be seen stage by stage. Last line JSON.
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { build } from '../Makefile.ts';
import { assemble } from '../builder/nasm.ts';
import type { KernelEvent } from '../emulator/events.ts';
import { Vm } from '../emulator/vm.ts';
import { median, round } from './stats.ts';

/** The stage events of a node's boot, in order: a label and the event that marks it. */
const STAGES: ReadonlyArray<{ label: string; match: (e: KernelEvent) => boolean }> = [
  { label: 'mbr', match: (e) => e.name === 'boot' && e.fields.stage === 'mbr' },
  { label: 'stage2', match: (e) => e.name === 'boot' && e.fields.stage === 'stage2' },
  { label: 'loader', match: (e) => e.name === 'boot' && e.fields.stage === 'loader' },
  { label: 'kernel', match: (e) => e.name === 'boot' && e.fields.stage === 'kernel' },
  { label: 'disk', match: (e) => e.name === 'disk' },
  { label: 'mount', match: (e) => e.name === 'mount' },
  { label: 'ready', match: (e) => e.name === 'ready' },
];

async function bootTimes(disk: string): Promise<Record<string, number>> {
  const vm = Vm.launch({ disk, accel: 'tcg', snapshot: true });
  try {
    await vm.waitForEvent((e) => e.name === 'ready', 30_000);
    const out: Record<string, number> = {};
    for (const s of STAGES) {
      const ev = vm.events.find(s.match);
      if (ev) out[s.label] = ev.hostMs;
    }
    return out;
  } finally {
    vm.killNow();
    await vm.exited;
  }
}

export default async function bootBench(args: string[]): Promise<void> {
  const runsIdx = args.indexOf('--runs');
  const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 15;
  const work = mkdtempSync(join(tmpdir(), 'gt-bench-boot-'));
  try {
    const out = await build({ outDir: join(work, 'out') });
    const bare = await assemble({
      source: fileURLToPath(new URL('./fixtures/bare-boot.asm', import.meta.url)),
      output: join(work, 'bare.bin'),
      includeDirs: [],
    });
    // Same disk size and flags as the node image: only the boot code differs.
    const bareImg = join(work, 'bare.img');
    writeFileSync(bareImg, Buffer.alloc(readFileSync(out.image).length));
    const fd = readFileSync(bare.output);
    const img = readFileSync(bareImg);
    fd.copy(img, 0);
    writeFileSync(bareImg, img);

    await bootTimes(out.image); // warm the page cache for both
    await bootTimes(bareImg);
    const node: Array<Record<string, number>> = [];
    const reference: number[] = [];
    for (let i = 0; i < runs; i++) {
      node.push(await bootTimes(out.image));
      reference.push((await bootTimes(bareImg)).ready!);
    }
    const kernel = node.map((n) => n.ready!);
    const k = median(kernel);
    const r = median(reference);
    const ratio = round(k / r);
    const stages: Record<string, number> = {};
    let prev = 0;
    console.log('stage event          median host ms  (since previous)');
    for (const s of STAGES) {
      const m = median(node.map((n) => n[s.label] ?? NaN));
      stages[s.label] = m;
      console.log(`  ${s.label.padEnd(18)} ${String(m).padStart(8)}        (+${round(m - prev, 1)})`);
      prev = m;
    }
    console.log(`node image to ready      median ${k} ms  (runs: ${kernel.join(' ')})`);
    console.log(`bare boot sector to line median ${r} ms  (runs: ${reference.join(' ')})`);
    console.log(`beyond the bare boot sector: ${round(k - r, 1)} ms; mbr -> ready: ${round(k - stages.mbr!, 1)} ms`);
    console.log(`ratio ${ratio} (target <= 1.25)`);
    console.log(JSON.stringify({ bench: 'boot', accel: 'tcg', runs, kernelMs: k, referenceMs: r, ratio, stages }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
