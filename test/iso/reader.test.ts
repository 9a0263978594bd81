// readIso on images made by xorriso and genisoimage, targeted corruptions, and a fuzz test:
// any damage gives a result or a BadInputError, never another exception or a hang.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../core/errors.ts';
import { readIso, writeIso } from '../../builder/iso/index.ts';
import { asMap, bytes, run, tempDir } from './helpers.ts';

const treeFiles = [
  { path: 'VERSION', data: Buffer.from('0.1.0\n') },
  { path: 'boot/boot.img', data: bytes(20_000, 1) },
  { path: 'boot/kernel.bin', data: bytes(9000, 2) },
  { path: 'with space/a long file name beyond thirty one characters.bin', data: bytes(3000, 3) },
  { path: 'with space/empty', data: Buffer.alloc(0) },
  { path: 'sub/deeper/f.txt', data: Buffer.from('hi\n') },
  { path: 'sub/s2048', data: bytes(2048, 4) },
];

function expectBad(buf: Buffer, pattern: RegExp): void {
  let err: unknown;
  try {
    readIso(buf);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BadInputError);
  expect((err as Error).message).toMatch(/^bad ISO: /);
  expect((err as Error).message).toMatch(pattern);
  expect((err as Error).message).not.toContain('\n');
}

describe('readIso on images from real tools', () => {
  let t: ReturnType<typeof tempDir>;
  let src: string;
  beforeAll(() => {
    t = tempDir('reader');
    src = join(t.dir, 'src');
    for (const f of treeFiles) {
      mkdirSync(dirname(join(src, f.path)), { recursive: true });
      writeFileSync(join(src, f.path), f.data);
    }
  });
  afterAll(() => t.cleanup());

  const make = (tool: string, args: string[]): Buffer => {
    const out = join(t.dir, `out-${Math.random().toString(36).slice(2)}.iso`);
    const r = run(tool, [...args, '-o', out, src]);
    expect(r.status, r.stderr).toBe(0);
    return readFileSync(out);
  };
  const bootArgs = ['-b', 'boot/boot.img', '-c', 'boot/boot.cat', '-no-emul-boot', '-boot-load-size', '4'];

  it('reads xorriso -as mkisofs -R -J with El Torito', () => {
    const img = readIso(make('xorriso', ['-as', 'mkisofs', '-R', '-J', '-V', 'XVOL', ...bootArgs]));
    expect(img.volumeId).toBe('XVOL');
    const files = new Map(img.files);
    expect(files.get('boot/boot.cat')?.length).toBe(2048);
    files.delete('boot/boot.cat');
    expect([...files.keys()].sort()).toEqual([...asMap(treeFiles).keys()].sort());
    for (const f of treeFiles) expect(files.get(f.path)!.equals(f.data), f.path).toBe(true);
    expect(img.boot).toMatchObject({ path: 'boot/boot.img', sectorCount: 4, loadSegment: 0, platform: 0, emulation: 0 });
  });

  it('reads genisoimage -R -J with El Torito', () => {
    const img = readIso(make('genisoimage', ['-quiet', '-R', '-J', '-V', 'GVOL', ...bootArgs]));
    expect(img.volumeId).toBe('GVOL');
    for (const f of treeFiles) expect(img.files.get(f.path)!.equals(f.data), f.path).toBe(true);
    expect(img.boot?.path).toBe('boot/boot.img');
  });

  it('reads Joliet names when there is no Rock Ridge', () => {
    const img = readIso(make('xorriso', ['-as', 'mkisofs', '-J', '-V', 'JVOL']));
    for (const f of treeFiles) expect(img.files.get(f.path)!.equals(f.data), f.path).toBe(true);
  });

  it('reads plain ISO 9660 names (";1" stripped) when there is neither', () => {
    const img = readIso(make('genisoimage', ['-quiet', '-V', 'PVOL']));
    expect(img.files.get('VERSION')!.equals(treeFiles[0]!.data)).toBe(true);
    expect(img.files.get('SUB/DEEPER/F.TXT')!.toString()).toBe('hi\n');
    expect(img.files.size).toBe(treeFiles.length);
  });

  it('reads deep trees xorriso relocates (Rock Ridge CL/RE)', () => {
    const deep = join(src, 'd1/d2/d3/d4/d5/d6/d7/d8/d9/d10');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'leaf.txt'), 'leaf\n');
    try {
      const img = readIso(make('genisoimage', ['-quiet', '-R', '-V', 'DEEP']));
      expect(img.files.get('d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/leaf.txt')?.toString()).toBe('leaf\n');
      expect([...img.files.keys()].some((k) => k.startsWith('rr_moved/d'))).toBe(false);
    } finally {
      run('rm', ['-rf', join(src, 'd1')]);
    }
  });
});

describe('readIso rejects damaged images', () => {
  const good = writeIso({ volumeId: 'GOOD', files: treeFiles, boot: { path: 'boot/boot.img' } });
  const S = 2048;
  const pvd = 16 * S;
  const rootLba = good.readUInt32LE(pvd + 156 + 2);

  it('too small / not an ISO', () => {
    expectBad(Buffer.alloc(100), /too small/);
    expectBad(Buffer.alloc(40 * S), /CD001/);
  });

  it('truncated before the terminator', () => {
    expectBad(good.subarray(0, 18 * S), /no terminator/);
  });

  it('truncated file data', () => {
    expectBad(good.subarray(0, good.length - S), /runs past the end of the image/);
  });

  it('a directory record running past the end of the image', () => {
    const b = Buffer.from(good);
    // root's extent points near the end of the image
    const bad = b.length / S - 1;
    b.writeUInt32LE(bad, pvd + 156 + 2);
    b.writeUInt32BE(bad, pvd + 156 + 6);
    b.writeUInt32LE(8 * S, pvd + 156 + 10);
    b.writeUInt32BE(8 * S, pvd + 156 + 14);
    expectBad(b, /runs past the end of the image/);
  });

  it('a directory loop', () => {
    const b = Buffer.from(good);
    // make the first sub-directory record of the root point back at the root
    let off = rootLba * S;
    off += b[off]!; // "."
    off += b[off]!; // ".."
    for (;;) {
      if (b[off + 25]! & 2) break;
      off += b[off]!;
    }
    b.writeUInt32LE(rootLba, off + 2);
    b.writeUInt32BE(rootLba, off + 6);
    expectBad(b, /loop|overlap/);
  });

  it('a record shorter than the minimum', () => {
    const b = Buffer.from(good);
    const dotLen = b[rootLba * S]!;
    b[rootLba * S + dotLen] = 10;
    expectBad(b, /too short/);
  });

  it('a boot catalog with a bad checksum', () => {
    const b = Buffer.from(good);
    const cat = b.readUInt32LE(17 * S + 0x47);
    b[cat * S + 4] ^= 0xff;
    expectBad(b, /checksum/);
  });

  it('a bad logical block size', () => {
    const b = Buffer.from(good);
    b.writeUInt16LE(512, pvd + 128);
    b.writeUInt16BE(512, pvd + 130);
    expectBad(b, /block size/);
  });

  it('random byte flips and truncations give a result or BadInputError, never anything else', () => {
    const small = writeIso({
      volumeId: 'FUZZ',
      files: treeFiles.map((f) => ({ ...f, data: f.data.subarray(0, 300) })),
      boot: { path: 'boot/boot.img' },
    });
    // Aim most flips at the non-blank bytes of the metadata (descriptors, catalog, path
    // tables, directories): random offsets mostly land in zero padding.
    const hot: number[] = [];
    for (let i = 16 * S; i < small.length; i++) if (small[i] !== 0 && small[i] !== 0x20) hot.push(i);
    const offset = fc.oneof(fc.constantFrom(...hot), fc.nat({ max: small.length - 1 }));
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: offset, v: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat({ max: small.length }), { nil: undefined, freq: 4 }),
        (flips, cut) => {
          const b = Buffer.from(small);
          for (const { at, v } of flips) b[at] = v;
          const input = cut === undefined ? b : b.subarray(0, cut);
          try {
            readIso(input);
          } catch (e) {
            if (!(e instanceof BadInputError)) throw e;
            expect(e.message).not.toContain('internal reader error');
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
