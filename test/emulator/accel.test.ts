// The `--accel auto` probe, with real QEMU: it boots a reference release ISO (never a user's
// image), caches its verdict per QEMU version and ISO, ignores a corrupt cache, and falls back
// to TCG with a one-line note whenever KVM fails (abort, QEMU error, timeout, no ISO).
import { describe, expect, it, beforeAll } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { probeAccel, defaultCacheDir } from '../../emulator/accel.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir();
let good: BuildOutputs;
let hang: BuildOutputs;
beforeAll(async () => {
  good = await build({ outDir: join(dir, 'good') });
  hang = await build({ outDir: join(dir, 'hang'), fault: 'hang' });
});

function cacheOf(cacheDir: string): Record<string, { chosen: string; tcgMs: number | null; kvmMs: number | null; reason?: string }> {
  return JSON.parse(readFileSync(join(cacheDir, 'accel-probe.json'), 'utf8'));
}

describe('accelerator probe', () => {
  it('the test run has its own cache folder', () => {
    expect(process.env.XDG_CACHE_HOME).toMatch(/gt-run-\d+-[^/]+\/cache-/);
    expect(defaultCacheDir()).toBe(join(process.env.XDG_CACHE_HOME!, 'gittorrent'));
  });

  it('probes the reference ISO once, then answers from the cache', async () => {
    const cacheDir = join(dir, 'c1');
    const first = await probeAccel({ iso: good.iso, cacheDir });
    expect(first.source).toBe('probe');
    const v = first.verdict!;
    if (first.accel === 'kvm') {
      expect(v.kvmMs).not.toBeNull();
      expect(first.note).toBeUndefined();
    } else if (v.kvmMs === null) {
      expect(first.note).toMatch(/^KVM failed its probe \(.+\); using TCG$/); // says why
    } else {
      expect(v.kvmMs).toBeGreaterThanOrEqual(v.tcgMs!); // KVM reached ready, but not sooner
      expect(first.note).toBeUndefined();
    }
    const cached = Object.values(cacheOf(cacheDir));
    expect(cached).toEqual([v]);
    const second = await probeAccel({ iso: good.iso, cacheDir });
    expect(second).toMatchObject({ source: 'cache', accel: first.accel });
    // another kernel build is another key
    const other = await probeAccel({ iso: hang.iso, cacheDir, timeoutMs: 2000 });
    expect(other.source).toBe('probe');
    expect(Object.keys(cacheOf(cacheDir))).toHaveLength(2);
  });

  it('ignores a corrupt cache file or entry and rewrites it', async () => {
    const cacheDir = join(dir, 'c2');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, 'accel-probe.json'), '{"truncated": ');
    const a = await probeAccel({ iso: good.iso, cacheDir });
    expect(a.source).toBe('probe');
    const [key] = Object.keys(cacheOf(cacheDir));
    writeFileSync(join(cacheDir, 'accel-probe.json'), JSON.stringify({ [key!]: { chosen: 'warp', tcgMs: 1, kvmMs: 1 } }));
    const b = await probeAccel({ iso: good.iso, cacheDir });
    expect(b.source).toBe('probe');
    expect(cacheOf(cacheDir)[key!]!.chosen).toMatch(/^(tcg|kvm)$/);
  });

  it('a failing KVM means TCG with a one-line note, and that verdict is cached too', async () => {
    const cacheDir = join(dir, 'c3');
    // QEMU refuses to start the KVM probe (an unknown device): a real failure on any machine
    const r = await probeAccel({ iso: good.iso, cacheDir, kvmExtraArgs: ['-device', 'no-such-device'] });
    expect(r.accel).toBe('tcg');
    expect(r.note).toMatch(/^KVM failed its probe \(.+\); using TCG$/);
    expect(r.note).not.toContain('\n');
    expect(r.verdict).toMatchObject({ chosen: 'tcg', kvmMs: null });
    const again = await probeAccel({ iso: good.iso, cacheDir, kvmExtraArgs: ['-device', 'no-such-device'] });
    expect(again).toMatchObject({ source: 'cache', accel: 'tcg' });
  });

  it('a reference kernel that hangs is given up on in bounded time: TCG', async () => {
    const r = await probeAccel({ iso: hang.iso, cacheDir: join(dir, 'c4'), timeoutMs: 2000 });
    expect(r).toMatchObject({ accel: 'tcg', source: 'probe' });
    expect(r.note).toMatch(/^KVM failed its probe \(.+\); using TCG$/);
  });

  it('no reference ISO: TCG with a note, nothing cached', async () => {
    const cacheDir = join(dir, 'c5');
    const r = await probeAccel({ iso: join(dir, 'missing.iso'), cacheDir });
    expect(r).toMatchObject({ accel: 'tcg', source: 'none' });
    expect(r.note).toMatch(/missing\.iso is missing/);
    expect(existsSync(join(cacheDir, 'accel-probe.json'))).toBe(false);
  });
});
