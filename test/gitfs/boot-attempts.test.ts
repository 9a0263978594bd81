// The ref slot's boot_attempts byte (written by the loader: starts of a pending kernel since its
// last failed boot, docs/boot.md "Power cuts") survives the host's transactions on other refs,
// and is reset when the host writes the boot ref itself (a new pending kernel starts at 0).
import { mkdtempSync, openSync, readSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createImage, openImage } from '../../gitfs/image.ts';
import { decodeSuperblock } from '../../gitfs/superblock.ts';
import { SB_A_LBA, SB_B_LBA, SB_BYTES, SB_HDR_SIZE, REF_SLOT, REF_SLOT_SIZE, SECTOR_SIZE, SUPERBLOCK_HDR, layoutOf } from '../../gitfs/layout.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-attempts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const R = layoutOf(REF_SLOT).offsets;
const H = layoutOf(SUPERBLOCK_HDR).offsets;

/** The active superblock copy (higher generation, valid), raw, with its byte offset. */
function activeCopy(path: string): { at: number; bytes: Buffer } {
  const fd = openSync(path, 'r');
  try {
    const copies = [SB_A_LBA, SB_B_LBA].map((lba) => {
      const bytes = Buffer.alloc(SB_BYTES);
      readSync(fd, bytes, 0, SB_BYTES, lba * SECTOR_SIZE);
      const d = decodeSuperblock(bytes);
      return { at: lba * SECTOR_SIZE, bytes, gen: d.ok ? d.sb.generation : -1 };
    });
    return copies.sort((a, b) => b.gen - a.gen)[0]!;
  } finally {
    closeSync(fd);
  }
}

function bootAttempts(path: string): number {
  const d = decodeSuperblock(activeCopy(path).bytes);
  if (!d.ok) throw new Error(d.reason);
  return d.sb.refs.find((r) => r?.name === 'boot')!.bootAttempts ?? -1;
}

/** Writes boot_attempts into the active copy as the loader would (and re-seals the checksum). */
function setBootAttempts(path: string, n: number): void {
  const { at, bytes } = activeCopy(path);
  for (let i = 0; i < 255; i++) {
    const o = SB_HDR_SIZE + i * REF_SLOT_SIZE;
    if (bytes.toString('utf8', o, o + 5) === 'boot\0') bytes[o + R.boot_attempts!] = n;
  }
  bytes.writeUInt32LE(0, H.checksum!);
  bytes.writeUInt32LE(crc32(bytes) >>> 0, H.checksum!);
  const fd = openSync(path, 'r+');
  writeSync(fd, bytes, 0, SB_BYTES, at);
  closeSync(fd);
}

describe('boot_attempts in the ref slot', () => {
  it('is kept through transactions on other refs and reset when the boot ref is written', () => {
    const path = join(tmp, 'a.img');
    const img = createImage(path, { sizeBytes: 4 << 20 });
    const c = img.commitTree('kernel', [{ path: 'boot/kernel.bin', data: Buffer.from('k') }], { message: 'k' });
    img.setRef('boot', c, { kind: 'boot', state: 'pending', triesLeft: 1 });
    img.close();
    expect(bootAttempts(path)).toBe(0);
    setBootAttempts(path, 2);
    expect(bootAttempts(path)).toBe(2);
    const again = openImage(path);
    again.commitTree('main', [{ path: 'README', data: Buffer.from('hi\n') }], { message: 'other work' });
    again.close();
    expect(bootAttempts(path)).toBe(2);
    const third = openImage(path);
    third.setRef('boot', c, { state: 'pending', triesLeft: 1 });
    third.close();
    expect(bootAttempts(path)).toBe(0);
  });
});
