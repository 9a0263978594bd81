// npm run bench -- rollback [--runs N] [--cuts N]: for each fault kind, the time from launching a
// node whose boot ref names a freshly committed faulty kernel to ready on the previous good
// kernel, next to the watchdog timeout and a normal boot measured in the same run. Goal (issue):
// rollback <= watchdog timeout + 1.2 x a normal boot. Then N power cuts (QEMU killed) at random
// moments of a good pending kernel's first boot, each followed by a normal boot: the false
// rollbacks among them (goal 0). Last line JSON.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, FAULT_KINDS, type FaultKind } from '../Makefile.ts';
import { openImage } from '../gitfs/image.ts';
import { mergeRelease } from '../builder/kernel-merge.ts';
import { DEFAULT_WATCHDOG_MS } from '../gitfs/layout.ts';
import { readRelease } from '../builder/release.ts';
import { bootToReady } from '../emulator/boot.ts';
import { Vm } from '../emulator/vm.ts';
import { median, round } from './stats.ts';

async function timeToReady(disk: string): Promise<{ ms: number; resets: number }> {
  const { vm, result } = await bootToReady({ disk, accel: 'tcg', watchdog: true }, { timeoutMs: 60_000 });
  vm.killNow();
  await vm.exited;
  return { ms: result.readyMs, resets: result.resets };
}

export default async function rollbackBench(args: string[]): Promise<void> {
  const runsIdx = args.indexOf('--runs');
  const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 3;
  const cutsIdx = args.indexOf('--cuts');
  const cuts = cutsIdx >= 0 ? Number(args[cutsIdx + 1]) : 20;
  const work = mkdtempSync(join(tmpdir(), 'gt-bench-rollback-'));
  try {
    const good = await build({ outDir: join(work, 'good') });
    const normal: number[] = [];
    for (let i = 0; i < runs + 1; i++) normal.push((await timeToReady(good.image)).ms);
    normal.shift(); // warm-up
    const normalMs = median(normal);
    const budget = DEFAULT_WATCHDOG_MS + 1.2 * normalMs;
    console.log(`normal boot to ready        median ${normalMs} ms (runs: ${normal.join(' ')})`);
    console.log(`watchdog timeout            ${DEFAULT_WATCHDOG_MS} ms (ib700, 2 s steps)`);
    console.log(`budget: timeout + 1.2 x boot ${round(budget, 0)} ms`);
    const kinds: Record<string, { medianMs: number; resets: number; ratio: number }> = {};
    for (const kind of Object.keys(FAULT_KINDS) as FaultKind[]) {
      const bad = await build({ outDir: join(work, kind), fault: kind });
      const times: number[] = [];
      let resets = 0;
      for (let i = 0; i < runs; i++) {
        const img = join(work, `${kind}-${i}.img`);
        copyFileSync(good.image, img);
        const h = openImage(img);
        mergeRelease(h, readRelease(readFileSync(bad.iso), bad.iso), { boot: { state: 'pending', tries: 1 } });
        h.close();
        const t = await timeToReady(img);
        times.push(t.ms);
        resets = t.resets;
      }
      const m = median(times);
      kinds[kind] = { medianMs: m, resets, ratio: round(m / budget) };
      console.log(`rollback from ${kind.padEnd(13)} median ${m} ms (runs: ${times.join(' ')}; resets ${resets}) = ${round(m / budget)} x budget`);
    }
    const worst = Math.max(...Object.values(kinds).map((k) => k.ratio));
    // power cuts during good boots: a pending good kernel, QEMU killed at a random moment of
    // its first boot (0 .. a first boot's ready), then a normal boot
    const newer = await build({ outDir: join(work, 'newer'), kernelVersion: '0.2.0' });
    const template = join(work, 'pending-good.img');
    copyFileSync(good.image, template);
    const h = openImage(template);
    mergeRelease(h, readRelease(readFileSync(newer.iso), newer.iso), { boot: { state: 'pending', tries: 1 } });
    h.close();
    const firstImg = join(work, 'cut-first.img');
    copyFileSync(template, firstImg);
    const firstReady = (await timeToReady(firstImg)).ms;
    let seed = 4242;
    const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    let falseRollbacks = 0;
    for (let i = 0; i < cuts; i++) {
      const img = join(work, `cut-${i}.img`);
      copyFileSync(template, img);
      const vm = Vm.launch({ disk: img, accel: 'tcg', watchdog: true });
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * firstReady)));
      vm.killNow();
      await vm.exited;
      const { vm: again, result } = await bootToReady({ disk: img, accel: 'tcg', watchdog: true }, { timeoutMs: 60_000 });
      again.killNow();
      await again.exited;
      falseRollbacks += result.rollbacks.length;
    }
    console.log(`false rollbacks after ${cuts} random power cuts during good boots: ${falseRollbacks} (goal 0; cuts over 0..${firstReady} ms)`);
    console.log(JSON.stringify({ bench: 'rollback', watchdogMs: DEFAULT_WATCHDOG_MS, normalBootMs: normalMs, budgetMs: round(budget, 0), kinds, ratio: worst, powerCuts: cuts, falseRollbacks }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
