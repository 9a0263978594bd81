// The rollback workflow as a user runs it: build --fault, image merge-iso --boot, boot (watchdog
// on by default) --until ready --json, image boot-ref; and the host's hang report without a
// watchdog.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('rollback from the command line', () => {
  const dir = tempDir();

  it('a hanging kernel is rolled back by the watchdog; boot-ref selects a kernel to try', async () => {
    const good = JSON.parse((await cli(['build', '--out', join(dir, 'good'), '--json'])).stdout) as { image: string };
    const bad = await cli(['build', '--fault', 'hang', '--out', join(dir, 'hang'), '--json']);
    expect(bad.exitCode, bad.stderr).toBe(0);
    const { iso } = JSON.parse(bad.stdout) as { iso: string };
    // beside its build: `--accel auto` probes that build's release ISO (never this image)
    const img = join(dir, 'good', 'h.img');
    const { copyFileSync } = await import('node:fs');
    copyFileSync(good.image, img);
    const merged = await cli(['image', 'merge-iso', img, iso, '--boot', '--json']);
    expect(merged.exitCode, merged.stderr).toBe(0);
    const { commit: badCommit, parent: goodCommit } = JSON.parse(merged.stdout) as { commit: string; parent: string };

    // the default accelerator (auto): a pending hanging kernel never breaks the choice
    const booted = await cli(['boot', img, '--until', 'ready', '--json', '--timeout', '60']);
    expect(booted.exitCode, booted.stderr).toBe(0);
    const r = JSON.parse(booted.stdout) as { commit: string; resets: number; accel: string; rollbacks: Array<{ from: string; to: string; reason: string }> };
    for (const line of booted.stderr.split('\n').filter((l) => l.includes('accel auto'))) {
      expect(line).toMatch(/^gittorrent: accel auto: KVM failed its probe \(.+\); using TCG$/);
      expect(r.accel).toBe('tcg');
    }
    expect(r.commit).toBe(goodCommit);
    expect(r.resets).toBe(1);
    expect(r.rollbacks).toEqual([{ from: badCommit, to: goodCommit, reason: 'tries-exhausted' }]);
    const log = await cli(['image', 'log', img, 'boot-log']);
    expect(log.stdout).toContain(`rollback from ${badCommit}: tries-exhausted`);

    // without a watchdog the host reports the hang instead of waiting forever
    const sel = await cli(['image', 'boot-ref', img, badCommit, '--tries', '1', '--json']);
    expect(sel.exitCode, sel.stderr).toBe(0);
    expect(JSON.parse(sel.stdout)).toMatchObject({ commit: badCommit, state: 'pending', triesLeft: 1 });
    const hung = await cli(['boot', img, '--until', 'ready', '--no-watchdog', '--hang-after', '3', '--timeout', '60']);
    expect(hung.exitCode).not.toBe(0);
    expect(hung.stderr).toMatch(/printed nothing for 3 s: hung after: fixture kind=hang \(no watchdog to reset it\)/);

    // bad arguments
    expect((await cli(['build', '--fault', 'meltdown'])).exitCode).toBe(2);
    expect((await cli(['image', 'boot-ref', img, 'nope'])).exitCode).not.toBe(0);
    expect((await cli(['image', 'boot-ref', img, 'kernel', '--tries', '0'])).stderr).toMatch(/--tries must be 1\.\.255/);
  });

  it('the number of tries a new kernel gets is configured per image', async () => {
    const out = join(dir, 'cfg');
    const good = JSON.parse((await cli(['build', '--out', out, '--json'])).stdout) as { image: string; iso: string };
    const img = join(dir, 'cfg.img');
    const { copyFileSync } = await import('node:fs');
    copyFileSync(good.image, img);
    const sel = await cli(['image', 'boot-ref', img, 'kernel', '--default-tries', '3', '--json']);
    expect(sel.exitCode, sel.stderr).toBe(0);
    expect(JSON.parse(sel.stdout)).toMatchObject({ state: 'pending', triesLeft: 3 });
    const merged = await cli(['image', 'merge-iso', img, good.iso, '--boot', '--json']);
    expect(merged.exitCode, merged.stderr).toBe(0);
    const { openImage } = await import('../../gitfs/image.ts');
    const h = openImage(img, { readOnly: true });
    expect(h.refInfo('boot')).toMatchObject({ state: 'pending', triesLeft: 3 }); // the image's default
    h.close();
  });
});
