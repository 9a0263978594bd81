// The kernel's git delta encoder (kernel-asm/lib/delta_enc.asm) through the shell's `delta BASE
// TARGET`, judged by git: each delta the kernel prints goes into a real packfile as a REF_DELTA
// against its base, `git index-pack` reads it and `git cat-file` must give the target byte for
// byte; gitfs/delta.ts's decoder must agree. Edits at many places of a 4 MiB file must cost
// about their own bytes, not the file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import { applyDelta } from '../../gitfs/delta.ts';
import { openImage } from '../../gitfs/image.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { tempDir } from '../helpers/tmp.ts';

let out: BuildOutputs;
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  out = await build({ outDir: join(dir, 'out') });
}, 300_000);

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomBuf(n: number, seed: number): Buffer {
  const r = seeded(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
  return b;
}

/** `count` edits of `len` random bytes, spread over the buffer (same length). */
function edited(base: Buffer, count: number, len: number, seed: number): Buffer {
  const r = seeded(seed);
  const t = Buffer.from(base);
  for (let i = 0; i < count; i++) {
    const at = Math.floor(((i + r()) * (t.length - len)) / count);
    for (let j = 0; j < len; j++) t[at + j] = Math.floor(r() * 256);
  }
  return t;
}

function packObjHeader(type: number, size: number): Buffer {
  const out = [((type & 7) << 4) | (size & 15)];
  size = Math.floor(size / 16);
  while (size > 0) {
    out[out.length - 1]! |= 0x80;
    out.push(size & 0x7f);
    size = Math.floor(size / 128);
  }
  return Buffer.from(out);
}

/** A packfile holding `base` whole and `target` as a REF_DELTA (the kernel's delta) against it. */
function packOf(base: Buffer, baseHash: string, delta: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(2, 8);
  const body = Buffer.concat([
    head,
    packObjHeader(3, base.length),
    deflateSync(base),
    packObjHeader(7, delta.length),
    Buffer.from(baseHash, 'hex'),
    deflateSync(delta),
  ]);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

describe('kernel delta encoder', () => {
  it('encodes small edits anywhere in a big file compactly; git and gitfs/ read the deltas back exactly', async () => {
    const big = randomBuf(4 << 20, 7);
    const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i}: the quick brown fox\n`).join(''));
    const shifted = Buffer.concat([text.subarray(0, 1000), Buffer.from('INSERTED'), text.subarray(1000, 50_000), text.subarray(50_037)]);
    const cases = [
      { name: 'big-edits', base: big, target: edited(big, 24, 32, 1), maxDelta: 24 * 60 },
      { name: 'big-same', base: big, target: big, maxDelta: 64 },
      { name: 'shifted', base: text, target: shifted, maxDelta: 256 },
      { name: 'unrelated', base: randomBuf(5000, 3), target: randomBuf(7000, 4), maxDelta: 7100 },
      { name: 'tiny', base: Buffer.from('abc'), target: Buffer.from('abcd'), maxDelta: 16 },
      { name: 'empty', base: text, target: Buffer.alloc(0), maxDelta: 8 },
    ];
    const img = join(dir, 'delta.img');
    copyFileSync(out.image, img);
    const h = openImage(img);
    h.commitTree('data', cases.flatMap((c) => [
      { path: `${c.name}.base`, data: c.base },
      { path: `${c.name}.target`, data: c.target },
    ]), { message: 'delta cases' });
    h.close();
    const { vm } = await bootToReady({ disk: img, accel: 'tcg' }, 60_000);
    try {
      const sh = new ShellClient(vm);
      for (const c of cases) {
        const bh = hashObject('blob', c.base);
        const th = hashObject('blob', c.target);
        const r = await sh.run(`delta ${bh} ${th}`, { timeoutMs: 120_000 });
        expect(r.status, `${c.name}: ${r.error}`).toBe('ok');
        const ev = r.events.find((e) => e.name === 'delta')!.fields;
        const delta = r.events.find((e) => e.name === 'data')!.payload!;
        expect(Number(ev.bytes), c.name).toBe(delta.length);
        expect(delta.length, `${c.name}: ${delta.length} bytes`).toBeLessThanOrEqual(c.maxDelta);
        // gitfs/'s decoder
        expect(applyDelta(c.base, delta).equals(c.target), c.name).toBe(true);
        // git's own: a packfile with the base and the kernel's delta (an object cannot be its
        // own delta's base in a pack, and git does not read an empty object out of a delta:
        // those two cases are judged by the decoder alone)
        if (th === bh || c.target.length === 0) continue;
        const repo = join(dir, `git-${c.name}`);
        execFileSync('git', ['init', '-q', '--bare', repo]);
        execFileSync('git', ['-C', repo, 'index-pack', '--stdin'], { input: packOf(c.base, bh, delta), stdio: ['pipe', 'ignore', 'pipe'] });
        const got = execFileSync('git', ['-C', repo, 'cat-file', 'blob', th], { maxBuffer: 64 << 20 });
        expect(got.equals(c.target), `${c.name}: git read the delta`).toBe(true);
        if (c.name === 'big-edits') console.log(`4 MiB, 24 edits of 32 bytes: delta ${delta.length} bytes, encoded in ${ev.us} us`);
      }
      // a hash it does not store: GitFS's error, the node keeps running
      const bad = await sh.run(`delta ${'0'.repeat(40)} ${'1'.repeat(40)}`);
      expect(bad.status).toBe('error');
      expect((await sh.run('help')).status).toBe('ok');
    } finally {
      await vm.stop();
    }
  }, 400_000);
});
