// Boots an ISO made by writeIso in QEMU (SeaBIOS): the El Torito entry must make the BIOS load
// the whole boot image. test/fixtures/iso-boot.asm checks a marker in its last 16 bytes and
// prints "ISO BOOT OK" (exit 33) or "ISO BOOT BAD" (exit 35).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIso } from '../../builder/iso/index.ts';
import { run, tempDir } from './helpers.ts';

const ASM = fileURLToPath(new URL('../fixtures/iso-boot.asm', import.meta.url));

describe('El Torito boot under QEMU', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir('boot');
  });
  afterAll(() => t.cleanup());

  function bootImage(size: number): Buffer {
    const out = join(t.dir, `boot-${size}.bin`);
    const r = run('nasm', ['-f', 'bin', `-DIMAGE_SIZE=${size}`, '-o', out, ASM]);
    expect(r.status, r.stderr).toBe(0);
    const b = readFileSync(out);
    expect(b.length).toBe(size);
    return b;
  }

  function boot(iso: Buffer, name: string): { status: number | null; serial: string } {
    const p = join(t.dir, name);
    writeFileSync(p, iso);
    const r = run(
      'qemu-system-x86_64',
      [
        '-machine', 'pc', '-cdrom', p, '-boot', 'd', '-display', 'none', '-serial', 'stdio',
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-no-reboot', '-nodefaults',
      ],
      { timeoutMs: 30_000 },
    );
    return { status: r.status, serial: r.stdout };
  }

  for (const size of [64 * 1024, 120 * 1024]) {
    it(`loads and runs a ${size / 1024} KiB boot image`, () => {
      const data = bootImage(size);
      const iso = writeIso({
        volumeId: 'ISOBOOT',
        files: [
          { path: 'VERSION', data: Buffer.from('test\n') },
          { path: 'boot/iso-boot.bin', data },
          { path: 'boot/kernel.bin', data: Buffer.alloc(10_000, 0xcc) },
        ],
        boot: { path: 'boot/iso-boot.bin' },
      });
      const r = boot(iso, `ok-${size}.iso`);
      expect(r.serial).toContain('ISO BOOT OK');
      expect(r.status).toBe(33);
    });
  }

  it('a sector count covering only the first CD sector leaves the marker unloaded', () => {
    const iso = writeIso({
      volumeId: 'ISOBOOT',
      files: [{ path: 'boot.bin', data: bootImage(64 * 1024) }],
      boot: { path: 'boot.bin', sectorCount: 4 },
    });
    const r = boot(iso, 'short.iso');
    expect(r.serial).toContain('ISO BOOT BAD');
    expect(r.status).toBe(35);
  });
});
