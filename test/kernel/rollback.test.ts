// Watchdog and automatic rollback: a kernel that hangs, triple-faults, panics or fails its
// health check is rolled back to the newest good kernel commit, which reaches ready and stays
// good; a good new kernel marks itself good; power cuts during a failing kernel's boots never leave
// an image that will not boot (a cut is a start, not a failure: the kernel is still rolled back by
// the watchdog's evidence or the cold-start bound; test/kernel/power-cut.test.ts covers cuts during
// good boots). QEMU's ib700 watchdog (reset action) is the judge of "hung".
import { describe, expect, it, beforeAll } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, FAULT_KINDS, type BuildOutputs, type FaultKind } from '../../Makefile.ts';
import { openImage } from '../../gitfs/image.ts';
import { mergeRelease } from '../../builder/kernel-merge.ts';
import { readRelease } from '../../builder/release.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { Vm } from '../../emulator/vm.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

let dir: string;
let good: BuildOutputs;
const faulty = new Map<FaultKind, BuildOutputs>();
let newer: BuildOutputs;

beforeAll(async () => {
  dir = tempDir();
  good = await build({ outDir: join(dir, 'good') });
  for (const kind of Object.keys(FAULT_KINDS) as FaultKind[]) faulty.set(kind, await build({ outDir: join(dir, kind), fault: kind }));
  newer = await build({ outDir: join(dir, 'newer'), kernelVersion: '0.2.0' });
}, 180_000);

/** A node image with the good kernel booted once, plus `releases` merged on top (the last booted, pending). */
function imageWith(name: string, releases: BuildOutputs[], tries = 1): { path: string; good: string; merged: string[] } {
  const path = join(dir, `${name}.img`);
  copyFileSync(good.image, path);
  const img = openImage(path);
  try {
    const goodCommit = img.readRef('boot')!;
    const merged = releases.map((r, i) =>
      mergeRelease(img, readRelease(readFileSync(r.iso), r.iso), {
        boot: i === releases.length - 1 ? { state: 'pending', tries } : undefined,
        message: `release ${i}`,
      }).commit,
    );
    return { path, good: goodCommit, merged };
  } finally {
    img.close();
  }
}

async function bootWithWatchdog(path: string) {
  const { vm, result } = await bootToReady({ disk: path, accel: 'tcg', watchdog: true }, { timeoutMs: 60_000 });
  await vm.stop(500);
  return result;
}

const expectedReason: Record<FaultKind, string> = {
  hang: 'tries-exhausted',
  'triple-fault': 'tries-exhausted',
  panic: 'tries-exhausted',
  unhealthy: 'unhealthy',
};

describe('rollback to the previous good kernel', () => {
  for (const kind of Object.keys(FAULT_KINDS) as FaultKind[]) {
    it(`a kernel that fails by ${kind} is rolled back; the good kernel stays good`, async () => {
      const { path, good: goodCommit, merged } = imageWith(`rb-${kind}`, [faulty.get(kind)!]);
      const r = await bootWithWatchdog(path);
      expect(r.commit).toBe(goodCommit);
      expect(r.rollbacks).toEqual([{ from: merged[0], to: goodCommit, reason: expectedReason[kind] }]);
      const names = r.events.map((e) => e.name);
      if (kind === 'panic') expect(names).toContain('panic');
      if (kind === 'unhealthy') expect(r.events.find((e) => e.name === 'health')!.fields.status).toBe('fail');
      if (kind !== 'unhealthy') expect(r.resets).toBe(1);
      // the rollback is on the disk: boot ref good on the old commit, in the node-local boot-log
      const img = openImage(path, { readOnly: true });
      const info = img.refInfo('boot')!;
      expect(info.hash).toBe(goodCommit);
      expect(info.state).toBe('good');
      const messages = img.log('boot-log').map((e) => e.commit.message);
      expect(messages.some((m) => m.includes(`rollback from ${merged[0]}: ${expectedReason[kind]}`))).toBe(true);
      img.close();
      // and it stays good across a further reboot: no reset, no rollback
      const again = await bootWithWatchdog(path);
      expect(again.commit).toBe(goodCommit);
      expect(again.resets).toBe(0);
      expect(again.rollbacks).toEqual([]);
      const fsck = await cli(['image', 'fsck', path]);
      expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    });
  }

  it('two bad commits in a row roll back past both to the newest good one; git sees the rollback', async () => {
    const { path, good: goodCommit, merged } = imageWith('rb-two', [faulty.get('hang')!, faulty.get('panic')!]);
    const r = await bootWithWatchdog(path);
    expect(r.commit).toBe(goodCommit);
    expect(r.rollbacks).toEqual([{ from: merged[1], to: goodCommit, reason: 'tries-exhausted' }]);
    const git = join(dir, 'rb-two.git');
    expect((await cli(['image', 'export', path, git])).exitCode).toBe(0);
    const log = await execa('git', ['-C', git, 'log', '--format=%B', 'boot-log']);
    expect(log.stdout).toContain(`rollback from ${merged[1]}: tries-exhausted`);
    await execa('git', ['-C', git, '-c', 'fsck.fullPathname=ignore', 'fsck']);
  });

  it('a good new kernel marks itself good and is not rolled back', async () => {
    const { path, merged } = imageWith('rb-new', [newer]);
    const r = await bootWithWatchdog(path);
    expect(r.commit).toBe(merged[0]);
    expect(r.rollbacks).toEqual([]);
    expect(r.events.find((e) => e.name === 'kernel-good')?.fields.commit).toBe(merged[0]);
    expect(r.events.find((e) => e.fields.stage === 'kernel')!.fields.version).toBe('0.2.0');
    const img = openImage(path, { readOnly: true });
    expect(img.refInfo('boot')!.state).toBe('good');
    expect(img.readRef('boot-good')).toBe(merged[0]);
    img.close();
    const again = await bootWithWatchdog(path);
    expect(again.commit).toBe(merged[0]);
    expect(again.events.some((e) => e.name === 'kernel-good')).toBe(false); // already good: no write
  });

  it('a new kernel whose blob does not verify is never run: the loader takes the good kernel', async () => {
    const { path, good: goodCommit, merged } = imageWith('rb-corrupt', [newer]);
    const img = openImage(path, { readOnly: true });
    const blob = img.lookupPath(img.commitTreeHash(merged[0]!), 'boot/kernel.bin')!.hash;
    const where = img.locateRaw(blob);
    img.close();
    const bytes = readFileSync(path);
    const at = where.lba * 512 + where.offset + 200;
    bytes[at] = bytes[at]! ^ 0x01;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, bytes);
    const r = await bootWithWatchdog(path);
    expect(r.commit).toBe(goodCommit);
    expect(r.resets).toBe(0); // no kernel ran: nothing to reset
    expect(r.rollbacks).toEqual([{ from: merged[0], to: goodCommit, reason: 'bad-kernel' }]);
    const err = r.events.find((e) => e.name === 'error' && e.fields.stage === 'stage2')!;
    expect(err.fields).toMatchObject({ reason: 'hash-mismatch', object: blob });
    expect(r.events.some((e) => e.fields.stage === 'kernel' && e.fields.version === '0.2.0')).toBe(false);
  });

  it('a pending kernel with 2 tries gets two boots before the rollback', async () => {
    const { path, good: goodCommit } = imageWith('rb-tries', [faulty.get('triple-fault')!], 2);
    const r = await bootWithWatchdog(path);
    expect(r.commit).toBe(goodCommit);
    expect(r.resets).toBe(2);
    const tries = r.events.filter((e) => e.fields.stage === 'loader').map((e) => `${e.fields.state}:${e.fields['tries-left']}`);
    expect(tries).toEqual(['pending:2', 'pending:1', 'good:0']); // tries-left: failed boots it may still have
  });

  it('power cuts at random moments during a hanging kernel\'s boots never leave an image that will not boot', async () => {
    let seed = 99;
    const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const { path, good: goodCommit } = imageWith('rb-cut', [faulty.get('hang')!]);
    for (let i = 0; i < 6; i++) {
      const vm = Vm.launch({ disk: path, accel: 'tcg', watchdog: true });
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 3000)));
      await (await vm.qmp()).execute('quit').catch(() => undefined);
      await vm.exited;
      const fsck = await cli(['image', 'fsck', path]);
      expect(fsck.exitCode, `cut ${i}: ${fsck.stdout}${fsck.stderr}`).toBe(0);
    }
    const r = await bootWithWatchdog(path);
    expect(r.commit).toBe(goodCommit); // the hanging kernel never stays booted
  });
});
