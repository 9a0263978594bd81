// Power cuts during boots (issue 12): a try is spent only on evidence of a failed boot (the
// loader's boot-attempt record found in RAM after a warm reset, or a self-test that marked the
// kernel bad), never for a cold start alone; cold starts without a verdict are bounded
// (BOOT_COLD_STARTS_MAX). Power cuts are real: QEMU is killed (SIGKILL) at a moment of the boot,
// then started again as a new process, as after a power loss.
import { describe, expect, it, beforeAll } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, FAULT_KINDS, type BuildOutputs, type FaultKind } from '../../Makefile.ts';
import { openImage } from '../../gitfs/image.ts';
import { BOOT_COLD_STARTS_MAX, SB_A_LBA, SB_B_LBA, SECTOR_SIZE } from '../../gitfs/layout.ts';
import { mergeRelease } from '../../builder/kernel-merge.ts';
import { readRelease } from '../../builder/release.ts';
import { bootToReady, type BootResult } from '../../emulator/boot.ts';
import type { KernelEvent } from '../../emulator/events.ts';
import { Vm } from '../../emulator/vm.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

let dir: string;
let good: BuildOutputs;
let newer: BuildOutputs;
const faulty = new Map<FaultKind, BuildOutputs>();
let seq = 0;

beforeAll(async () => {
  dir = tempDir();
  good = await build({ outDir: join(dir, 'good') });
  newer = await build({ outDir: join(dir, 'newer'), kernelVersion: '0.2.0' });
  for (const kind of Object.keys(FAULT_KINDS) as FaultKind[]) faulty.set(kind, await build({ outDir: join(dir, kind), fault: kind }));
}, 240_000);

/** A template: the good image with `release` merged on top as the pending boot kernel. */
function pendingTemplate(name: string, release: BuildOutputs, tries = 1, watchdogMs?: number): { path: string; good: string; pending: string } {
  const path = join(dir, `${name}.img`);
  copyFileSync(good.image, path);
  const img = openImage(path);
  try {
    const goodCommit = img.readRef('boot')!;
    const { commit } = mergeRelease(img, readRelease(readFileSync(release.iso), release.iso), { boot: { state: 'pending', tries, ...(watchdogMs !== undefined ? { watchdogMs } : {}) } });
    return { path, good: goodCommit, pending: commit };
  } finally {
    img.close();
  }
}

function freshCopy(template: string): string {
  const path = join(dir, `copy-${++seq}.img`);
  copyFileSync(template, path);
  return path;
}

async function normalBoot(path: string): Promise<BootResult> {
  const { vm, result } = await bootToReady({ disk: path, accel: 'tcg', watchdog: true }, { timeoutMs: 90_000 });
  await vm.stop(500);
  return result;
}

/** Starts QEMU and cuts its power (SIGKILL) when `when` says so; returns the events seen. */
async function cutPower(path: string, when: { afterMs: number } | { atEvent: (e: KernelEvent) => boolean }, watchdog = true): Promise<KernelEvent[]> {
  const vm = Vm.launch({ disk: path, accel: 'tcg', watchdog });
  if ('afterMs' in when) {
    await new Promise((r) => setTimeout(r, when.afterMs));
  } else {
    await vm.waitForEvent(when.atEvent, 90_000);
  }
  vm.killNow();
  await vm.exited;
  return [...vm.events];
}

const loaderEvents = (r: BootResult) => r.events.filter((e) => e.name === 'boot' && e.fields.stage === 'loader');

/** Where the boot state stood after a cut: the loader's attempt not yet written, written, or the kernel good. */
function bootStateAfterCut(path: string, pending: string): 'before-attempt' | 'attempt-recorded' | 'good' {
  const img = openImage(path, { readOnly: true });
  try {
    const info = img.refInfo('boot')!;
    expect(info.hash).toBe(pending);
    if (info.state === 'good') return 'good';
    expect(info.state).toBe('pending');
    expect(info.triesLeft).toBe(1); // never spent by a cold start
    const head = img.log('boot-log', { limit: 1 })[0]!.commit.message;
    return head.includes('boot attempt') ? 'attempt-recorded' : 'before-attempt';
  } finally {
    img.close();
  }
}

describe('power cuts during boots', () => {
  it('50 power cuts at random moments of a good pending kernel\'s first boot: 0 rollbacks, the new kernel ends good', async () => {
    // A 10 s watchdog: a good boot slowed past 2 s by a loaded host would be reset by the
    // watchdog — a real failure by the rules, and not what this test is about (power cuts).
    const t = pendingTemplate('cut50', newer, 1, 10_000);
    // the timeline of a first boot, from QEMU's start to ready
    const first = await normalBoot(freshCopy(t.path));
    expect(first.commit).toBe(t.pending);
    const readyMs = first.readyMs;
    const stage2Ms = first.events.find((e) => e.fields.stage === 'stage2')!.hostMs;
    let s = 12345;
    const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    // half over the whole boot, half over stage 2 .. ready (where the attempt is on the disk
    // and the verdict not yet: the moments that used to roll a good kernel back)
    // 45 moments by the clock; 5 more at the kernel's first line, when the attempt is on the disk
    // and the verdict is not (host load moves the clock's moments; this window is only ms wide)
    const moments: Array<number | 'kernel'> = Array.from({ length: 45 }, (_, i) => Math.round(i % 2 ? stage2Ms + rnd() * (readyMs - stage2Ms) : rnd() * readyMs));
    for (let i = 0; i < 5; i++) moments.splice(i * 9 + 4, 0, 'kernel');
    const landed = { 'before-attempt': 0, 'attempt-recorded': 0, good: 0 };
    let rollbacks = 0;
    let resets = 0;
    const one = async (ms: number | 'kernel') => {
      const path = freshCopy(t.path);
      await cutPower(path, ms === 'kernel' ? { atEvent: (e) => e.name === 'boot' && e.fields.stage === 'kernel' } : { afterMs: ms });
      landed[bootStateAfterCut(path, t.pending)]++;
      const r = await normalBoot(path);
      rollbacks += r.rollbacks.length;
      expect(r.rollbacks, `cut at ${ms} ms`).toEqual([]);
      expect(r.commit).toBe(t.pending);
      resets += r.resets;
      const img = openImage(path, { readOnly: true });
      expect(img.refInfo('boot')!.state).toBe('good');
      expect(img.readRef('boot-good')).toBe(t.pending);
      img.close();
    };
    for (let i = 0; i < moments.length; i += 2) await Promise.all(moments.slice(i, i + 2).map(one)); // 2 cores
    expect(rollbacks).toBe(0);
    expect(landed['attempt-recorded']).toBeGreaterThan(0); // the window the cuts hit
    console.log(`power cuts (ready at ${readyMs} ms): ${JSON.stringify(landed)}; watchdog resets in the boots after: ${resets}`);
  }, 600_000);

  for (const kind of Object.keys(FAULT_KINDS) as FaultKind[]) {
    it(`a kernel that fails by ${kind} is still rolled back when a power cut hits its boot`, async () => {
      const t = pendingTemplate(`cut-${kind}`, faulty.get(kind)!);
      const path = freshCopy(t.path);
      // the cut: as soon as the faulty kernel runs (attempt 1 recorded), before any reset
      const seen = await cutPower(path, { atEvent: (e) => e.name === 'boot' && e.fields.stage === 'kernel' });
      expect(seen.filter((e) => e.name === 'boot' && e.fields.stage === 'mbr')).toHaveLength(1);
      expect(bootStateAfterCut(path, t.pending)).toBe('attempt-recorded');
      const r = await normalBoot(path);
      const reason = kind === 'unhealthy' ? 'unhealthy' : 'tries-exhausted';
      expect(r.commit).toBe(t.good);
      expect(r.rollbacks).toEqual([{ from: t.pending, to: t.good, reason }]);
      // the cold start was a start, not a failure: the second start ran it, then the reset rolled it back
      expect(loaderEvents(r).map((e) => `${e.fields.state}:${e.fields['tries-left']}:${e.fields.attempt}`)).toEqual(['pending:1:2', 'good:0:0']);
      expect(r.resets).toBe(1);
      const fsck = await cli(['image', 'fsck', path]);
      expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    }, 120_000);
  }

  it(`cold starts are bounded: a kernel whose boot always loses power is rolled back at its start ${BOOT_COLD_STARTS_MAX + 1}`, async () => {
    const t = pendingTemplate('cold', faulty.get('hang')!);
    const path = freshCopy(t.path);
    for (let i = 1; i <= BOOT_COLD_STARTS_MAX; i++) {
      // no watchdog device: the kernel hangs until the power goes
      const seen = await cutPower(path, { atEvent: (e) => e.name === 'fixture' }, false);
      expect(seen.find((e) => e.fields.stage === 'loader')!.fields).toMatchObject({ state: 'pending', 'tries-left': '1', attempt: String(i) });
    }
    const r = await normalBoot(path);
    expect(r.rollbacks).toEqual([{ from: t.pending, to: t.good, reason: 'power-lost' }]);
    expect(r.resets).toBe(0); // the faulty kernel did not run again
    expect(r.events.some((e) => e.name === 'fixture')).toBe(false);
    const img = openImage(path, { readOnly: true });
    expect(img.refInfo('boot')!).toMatchObject({ hash: t.good, state: 'good' });
    expect(img.log('boot-log').some((e) => e.commit.message.includes(`rollback from ${t.pending}: power-lost`))).toBe(true);
    img.close();
  }, 180_000);

  it('a power cut during the loader\'s own write of the boot state (and the kernel\'s): old or new state, fsck-clean, only verified kernels run', async () => {
    const t = pendingTemplate('cut-write', newer);
    const img = openImage(t.path, { readOnly: true });
    const blobOf = (commit: string) => img.lookupPath(img.commitTreeHash(commit), 'boot/kernel.bin')!.hash;
    const kernels = new Map([[t.pending, blobOf(t.pending)], [t.good, blobOf(t.good)]]);
    img.close();
    // Writes throttled (QEMU's block throttling, ~8 writes/s) so a cut can land after exactly k
    // of the boot's disk writes: the loader's transaction (log, index, superblock copy) and then
    // the kernel's (marking itself good). QMP's blockstats count completed writes.
    const slow = ['throttling.iops-write=8'];
    type Stats = { stats?: { wr_operations: number } };
    const writesOf = async (vm: Vm) => ((await (await vm.qmp()).execute<Stats[]>('query-blockstats')).find((d) => d.stats)?.stats?.wr_operations ?? 0);
    // the writes of a whole first boot, and how many the loader makes before it prints its line
    const probe = Vm.launch({ disk: freshCopy(t.path), accel: 'tcg', watchdog: true, diskOptions: slow });
    const loaderEv = await probe.waitForEvent((e) => e.fields.stage === 'loader', 90_000);
    const loaderWrites = await writesOf(probe);
    await probe.waitForEvent((e) => e.name === 'ready', 90_000, probe.events.indexOf(loaderEv));
    const totalWrites = await writesOf(probe);
    await probe.stop(500);
    expect(loaderWrites).toBeGreaterThan(1);
    expect(totalWrites).toBeGreaterThan(loaderWrites);
    const states = new Set<string>();
    const cutAfter = new Set<number>();
    for (let k = 0; k < totalWrites; k++) {
      const path = freshCopy(t.path);
      const vm = Vm.launch({ disk: path, accel: 'tcg', watchdog: true, diskOptions: slow });
      // cut when k writes are done and the next one is under way (the first write may pass
      // the throttle at once: then the cut comes after it)
      let done = 0;
      for (;;) {
        done = await writesOf(vm).catch(() => 0);
        if (done >= k) break;
        await new Promise((r) => setTimeout(r, 3));
      }
      cutAfter.add(done);
      vm.killNow();
      await vm.exited;
      if (done < loaderWrites) expect(vm.events.some((e) => e.fields.stage === 'loader'), `cut after ${done} writes is inside the loader's write`).toBe(false);
      const state = bootStateAfterCut(path, t.pending);
      states.add(state);
      // a cut inside the loader's transaction leaves the old state or the new one, nothing between
      if (done < loaderWrites) expect(['before-attempt', 'attempt-recorded']).toContain(state);
      const fsck = await cli(['image', 'fsck', path]);
      expect(fsck.exitCode, `cut ${k}: ${fsck.stdout}${fsck.stderr}`).toBe(0);
      const r = await normalBoot(path);
      expect(r.rollbacks, `cut ${k}`).toEqual([]);
      expect(r.commit).toBe(t.pending);
      // every kernel that ran is one the loader verified: its blob is the commit's boot/kernel.bin
      for (const l of loaderEvents(r)) expect(l.fields.kernel).toBe(kernels.get(l.fields.commit!));
      expect(r.events.filter((e) => e.fields.stage === 'kernel').map((e) => e.fields.version)).toEqual(['0.2.0']);
      const after = openImage(path, { readOnly: true });
      expect(after.refInfo('boot')!.state).toBe('good');
      after.close();
    }
    // cuts inside the loader's transaction (between its first and last write) and the kernel's
    expect([...cutAfter].filter((w) => w > 0 && w < loaderWrites).length).toBeGreaterThan(1);
    expect([...cutAfter].filter((w) => w > loaderWrites && w < totalWrites).length).toBeGreaterThan(1);
    console.log(`cuts after n of ${totalWrites} writes (loader: ${loaderWrites}): ${[...cutAfter].sort((a, b) => a - b).join(' ')}; states ${[...states].join(' ')}`);
    expect(states.has('before-attempt')).toBe(true); // cuts before the loader's superblock landed
    expect(states.has('attempt-recorded')).toBe(true); // and after it
  }, 600_000);

  it('a torn superblock write (the newer copy damaged, in its body or its header): the loader mounts the older copy', async () => {
    // which copy is newer: the kernel says so in its mount event
    const r0 = await normalBoot(freshCopy(good.image));
    const mount0 = r0.events.find((e) => e.name === 'mount')!.fields;
    const [newer, older] = mount0.copy === 'A' ? [SB_A_LBA, SB_B_LBA] : [SB_B_LBA, SB_A_LBA];
    const olderName = mount0.copy === 'A' ? 'B' : 'A';
    for (const at of [20_000, 0]) {
      const path = freshCopy(good.image);
      const bytes = readFileSync(path);
      bytes[newer * SECTOR_SIZE + at]! ^= 0x40;
      writeFileSync(path, bytes);
      const r = await normalBoot(path);
      const mount = r.events.find((e) => e.name === 'mount')!.fields;
      expect(mount.copy, `byte ${at} of the newer copy`).toBe(olderName);
      expect(Number(mount.generation)).toBe(Number(mount0.generation) - 1);
      expect(r.commit).toBe(r0.commit);
    }
    // both damaged: nothing to mount, said so
    const path = freshCopy(good.image);
    const bytes = readFileSync(path);
    bytes[newer * SECTOR_SIZE + 20_000]! ^= 0x40;
    bytes[older * SECTOR_SIZE + 20_000]! ^= 0x40;
    writeFileSync(path, bytes);
    await expect(normalBoot(path)).rejects.toThrow(/no-usable-superblock/);
  }, 120_000);
});
