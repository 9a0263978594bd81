// Boots the real kernel in QEMU (TCG) once and checks its SHA-1 (kernel-asm/lib/sha1.asm) and
// CRC-32 (kernel-asm/lib/crc32.asm) against the host's, through the serial shell's
// `hash N` command: the host sends N raw bytes, the kernel answers
// `EVENT hash size=N sha1=<40 hex> crc32=0x<hex>`.
// Serial input runs at about 100 KB/s under TCG, so the inputs stay around 350 KB in all.
// (Measured separately with rdtsc around the calls: SHA-1 ~50 MB/s, CRC-32 ~190 MB/s under TCG.)
import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../Makefile.ts';
import { bootToReady } from '../../emulator/boot.ts';
import type { KernelEvent } from '../../emulator/events.ts';
import type { Vm } from '../../emulator/vm.ts';
import { tempDir } from '../helpers/tmp.ts';

let vm: Vm | undefined;

beforeAll(async () => {
  const out = await build({ outDir: tempDir() });
  ({ vm } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000));
});

afterAll(async () => {
  await vm?.stop(200);
});

function hostSha1(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

/** The crc32 field as the kernel prints it: "0x" and lowercase hex without leading zeros. */
function hostCrc32(data: Buffer): string {
  return `0x${zlibCrc32(data).toString(16)}`;
}

/** Seeded bytes (mulberry32), so a failure can be reproduced. */
function seededBytes(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    buf[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return buf;
}

/** Sends `hash N` and the bytes; resolves with the kernel's answer and the host-side time. */
async function kernelHash(data: Buffer, timeoutMs = 30_000): Promise<{ ev: KernelEvent; ms: number }> {
  const from = vm!.events.length;
  const t0 = Date.now();
  vm!.send(`hash ${data.length}`);
  if (data.length > 0) vm!.write(data);
  const ev = await vm!.waitForEvent(
    (e) => e.name === 'hash' || (e.name === 'error' && e.fields.cmd === 'hash') || e.name === 'panic',
    timeoutMs,
    from,
  );
  return { ev, ms: Date.now() - t0 };
}

async function expectSameAsHost(data: Buffer, timeoutMs?: number): Promise<number> {
  const { ev, ms } = await kernelHash(data, timeoutMs);
  expect(ev.name, ev.line).toBe('hash');
  expect(ev.fields).toEqual({ size: String(data.length), sha1: hostSha1(data), crc32: hostCrc32(data) });
  return ms;
}

describe('kernel SHA-1 and CRC-32 (QEMU, TCG)', () => {
  it('matches the FIPS 180 / NIST SHA-1 test vectors', async () => {
    const vectors: [string, string][] = [
      ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
      ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
      [
        'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
        'a49b2446a02c645bf419f995b67091253a04a259',
      ],
    ];
    for (const [text, sha1] of vectors) {
      const { ev } = await kernelHash(Buffer.from(text, 'latin1'));
      expect(ev.fields.sha1, JSON.stringify(text)).toBe(sha1);
      expect(ev.fields.crc32).toBe(hostCrc32(Buffer.from(text, 'latin1')));
    }
  });

  it('matches the host on 64 KiB of "a" (the million-"a" vector is too big for the serial line)', async () => {
    await expectSameAsHost(Buffer.alloc(65536, 'a'));
  });

  it('gives the CRC-32 check value: crc32("123456789") = 0xcbf43926', async () => {
    const { ev } = await kernelHash(Buffer.from('123456789'));
    expect(ev.fields.crc32).toBe('0xcbf43926');
    expect(ev.fields.sha1).toBe('f7c3bc1d808e04732adf679965ccc34ca7ae3441');
  });

  it('prints a CRC-32 with a leading zero nibble without padding', async () => {
    // seed picked so that the crc32 is below 0x10000000
    let data: Buffer;
    for (let seed = 1; ; seed++) {
      data = seededBytes(16, seed);
      if (zlibCrc32(data) < 0x10000000) break;
    }
    await expectSameAsHost(data);
  });

  // Padding edges: 55 is the longest message with one padding block, 56..63 need a second one,
  // and multiples of 64 start the padding in a fresh block.
  const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4095, 4096, 65536];
  it.each(lengths)('matches node:crypto sha1 and zlib crc32 on %i random bytes', async (n) => {
    await expectSameAsHost(seededBytes(n, 0x5eed0000 + n));
  });

  it('matches the host on ~200 KB and reports the time it took', async () => {
    const big = seededBytes(200_000, 0xb16b00b5);
    const small = seededBytes(20_000, 0x51a11);
    // The serial line dominates: 20 KB gives the transfer rate, the rest is hashing.
    const msSmall = await expectSameAsHost(small);
    const msBig = await expectSameAsHost(big, 90_000);
    const perKb = msSmall / 20;
    console.log(
      `hash 20000: ${msSmall} ms; hash 200000: ${msBig} ms ` +
        `(serial alone would take ~${Math.round(perKb * 200)} ms at the 20 KB rate)`,
    );
  });

  it('still answers ping afterwards', async () => {
    const from = vm!.events.length;
    vm!.send('ping');
    const pong = await vm!.waitForEvent((e) => e.name === 'pong', 10_000, from);
    expect(Number(pong.fields.ticks)).toBeGreaterThan(0);
  });
});
