// Stage 2's integrity: the builder seals the stage-2 header (stage2_size + a CRC-32 over those
// bytes), the MBR reads exactly that many bytes and checks the CRC before it jumps, so a
// flipped byte anywhere in stage 2 stops the boot with `error stage=mbr reason=stage2-corrupt`
// (and a one-line host error) instead of a misleading later failure.
import { describe, expect, it, beforeAll } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { readStage2Header, stage2Checksum, stage2Intact, patchStage2 } from '../../builder/stage2-header.ts';
import { BOOTSRC_DISK, SECTOR_SIZE, STAGE2_HDR_OFFSET, STAGE2_LBA, STAGE2_MAX_BYTES } from '../../gitfs/layout.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

let out: BuildOutputs;
let dir: string;

beforeAll(async () => {
  dir = tempDir();
  out = await build({ outDir: join(dir, 'out') });
}, 120_000);

function stage2Area(path: string): Buffer {
  return readFileSync(path).subarray(STAGE2_LBA * SECTOR_SIZE, STAGE2_LBA * SECTOR_SIZE + STAGE2_MAX_BYTES);
}

/** A copy of the node image with one byte of stage 2 (offset inside stage 2) flipped. */
function flipped(name: string, offset: number): string {
  const path = join(dir, `${name}.img`);
  copyFileSync(out.image, path);
  const bytes = readFileSync(path);
  bytes[STAGE2_LBA * SECTOR_SIZE + offset]! ^= 0x01;
  writeFileSync(path, bytes);
  return path;
}

describe('stage 2 checksum', () => {
  it('the builder seals the header: stage2_size is the binary, the CRC-32 covers it with the field zero', () => {
    const raw = readFileSync(out.stage2);
    const area = stage2Area(out.image);
    const h = readStage2Header(area);
    expect(h.size).toBe(raw.length);
    expect(h.checksum).toBe(stage2Checksum(area, h.size));
    expect(stage2Intact(area)).toBe(true);
    expect(stage2Intact(raw)).toBe(false); // never sealed
    // every patch recomputes it
    const repatched = patchStage2(area.subarray(0, h.size), { source: BOOTSRC_DISK, kernelLba: 0n, kernelOffset: 0, kernelSize: 0, watchdogMs: 4000 });
    expect(readStage2Header(repatched).checksum).not.toBe(h.checksum);
    expect(stage2Intact(repatched)).toBe(true);
    const bad = Buffer.from(area);
    bad[h.size - 1]! ^= 0x80;
    expect(stage2Intact(bad)).toBe(false);
  });

  it('the unmodified image boots', async () => {
    const { vm, result } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000);
    await vm.stop(200);
    expect(result.events.map((e) => e.fields.stage ?? e.name).slice(0, 2)).toEqual(['mbr', 'stage2']);
  });

  it('a flipped byte in stage 2 code: the MBR reports stage2-corrupt and halts; the host says so in one line', async () => {
    const size = readStage2Header(stage2Area(out.image)).size;
    const path = flipped('code', Math.floor(size / 2));
    // with the watchdog (as `gittorrent boot` runs it) the error is final at once: nothing is armed
    const err = await bootToReady({ disk: path, accel: 'tcg', watchdog: true }, 30_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^boot failed: stage 2 on the disk is corrupt .*reason=stage2-corrupt.*boot-ref IMG boot-good --good`$/);
    expect(err?.message).not.toContain('\n');
    const r = await cli(['boot', path, '--until', 'ready', '--json', '--accel', 'tcg']);
    expect(r.exitCode).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('stage 2 on the disk is corrupt');
    expect(lines[0]).toContain('reason=stage2-corrupt');
  });

  it('a flipped byte in the header (a boot setting) or the last byte is caught too', async () => {
    const size = readStage2Header(stage2Area(out.image)).size;
    for (const [name, at] of [['hdr', STAGE2_HDR_OFFSET + 24], ['last', size - 1]] as const) {
      const path = flipped(name, at);
      const { vm, result } = await bootToReady({ disk: path, accel: 'tcg' }, 30_000).then(
        (ok) => ({ vm: ok.vm, result: ok.result }),
        (e: Error) => ({ vm: undefined, result: e }),
      );
      await vm?.stop(200);
      expect(result instanceof Error ? result.message : 'booted').toContain('reason=stage2-corrupt');
    }
  });

  it('the zero padding after stage 2 is not read: a byte there does not stop the boot', async () => {
    const size = readStage2Header(stage2Area(out.image)).size;
    const path = flipped('padding', Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE + 100);
    const { vm, result } = await bootToReady({ disk: path, accel: 'tcg' }, 30_000);
    await vm.stop(200);
    expect(result.ready).toBe(true);
  });

  it('the CD path checks it too: the release ISO boots; a flipped byte in its stage 2 is stage2-corrupt', async () => {
    const { vm, result } = await bootToReady({ cdrom: out.iso, accel: 'tcg' }, 30_000);
    await vm.stop(200);
    expect(result.events.map((e) => e.fields.stage ?? e.name).slice(0, 2)).toEqual(['cdboot', 'stage2']);
    // the El Torito image is [cdboot | stage 2 area | kernel]: find it by the stub's bytes
    const iso = readFileSync(out.iso);
    const stub = readFileSync(join(dir, 'out', 'cdboot.bin'));
    const at = iso.indexOf(stub);
    expect(at).toBeGreaterThan(0);
    const size = readStage2Header(iso.subarray(at + 512, at + 512 + STAGE2_MAX_BYTES)).size;
    iso[at + 512 + Math.floor(size / 2)]! ^= 0x01;
    const bad = join(dir, 'bad.iso');
    writeFileSync(bad, iso);
    const err = await bootToReady({ cdrom: bad, accel: 'tcg' }, 30_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^boot failed: stage 2 on the CD is corrupt .*stage=cdboot reason=stage2-corrupt/);
  });
});
