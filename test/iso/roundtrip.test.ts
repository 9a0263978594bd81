// readIso(writeIso(x)) == x, determinism, and the writer's input checks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../core/errors.ts';
import { readIso, writeIso, type IsoFile } from '../../builder/iso/index.ts';
import { asMap, bytes, sampleFiles } from './helpers.ts';

function expectSameFiles(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, v] of expected) expect(actual.get(k)!.equals(v), k).toBe(true);
}

describe('ISO round trip', () => {
  it('reads back nested dirs, spaces, long/UTF-8 names, case clashes and awkward sizes', () => {
    const files = sampleFiles();
    const img = readIso(writeIso({ volumeId: 'RT', files }));
    expect(img.volumeId).toBe('RT');
    expect(img.boot).toBeUndefined();
    expectSameFiles(img.files, asMap(files));
  });

  it('reads back a 0-file ISO', () => {
    const img = readIso(writeIso({ volumeId: 'EMPTY', files: [] }));
    expect(img.files.size).toBe(0);
    expect(img.volumeId).toBe('EMPTY');
  });

  it('reads back the boot entry', () => {
    const files = [...sampleFiles(), { path: '/boot/boot.img', data: bytes(100_000, 11) }];
    const img = readIso(writeIso({ volumeId: 'BOOT', files, boot: { path: '/boot/boot.img' } }));
    expect(img.boot).toMatchObject({
      path: 'boot/boot.img',
      sectorCount: Math.ceil(100_000 / 512),
      loadSegment: 0,
      platform: 0,
      emulation: 0,
    });
    const explicit = readIso(
      writeIso({ volumeId: 'BOOT', files, boot: { path: 'boot/boot.img', loadSegment: 0x2000, sectorCount: 8 } }),
    );
    expect(explicit.boot).toMatchObject({ path: 'boot/boot.img', sectorCount: 8, loadSegment: 0x2000 });
  });

  it('is deterministic and honours the date', () => {
    const files = sampleFiles();
    const a = writeIso({ volumeId: 'DET', files });
    const b = writeIso({ volumeId: 'DET', files: [...files].reverse() });
    expect(a.equals(b)).toBe(true);
    const c = writeIso({ volumeId: 'DET', files, date: new Date(Date.UTC(2024, 4, 6, 7, 8, 9)) });
    expect(c.equals(a)).toBe(false);
    expect(c.toString('latin1', 16 * 2048 + 813, 16 * 2048 + 829)).toBe('2024050607080900');
    expect(a.length % 2048).toBe(0);
  });

  it('rejects bad writer input with BadInputError', () => {
    const ok = { path: 'a', data: Buffer.from('x') };
    const cases: Array<[string, () => Buffer]> = [
      ['lower-case volume id', () => writeIso({ volumeId: 'lower', files: [] })],
      ['empty volume id', () => writeIso({ volumeId: '', files: [] })],
      ['duplicate path', () => writeIso({ volumeId: 'V', files: [ok, { ...ok }] })],
      ['file/dir clash', () => writeIso({ volumeId: 'V', files: [ok, { path: 'a/b', data: Buffer.alloc(1) }] })],
      ['dot-dot', () => writeIso({ volumeId: 'V', files: [{ path: 'x/../y', data: Buffer.alloc(1) }] })],
      ['empty component', () => writeIso({ volumeId: 'V', files: [{ path: 'x//y', data: Buffer.alloc(1) }] })],
      ['name too long', () => writeIso({ volumeId: 'V', files: [{ path: 'n'.repeat(200), data: Buffer.alloc(1) }] })],
      ['missing boot file', () => writeIso({ volumeId: 'V', files: [ok], boot: { path: 'nope' } })],
      ['empty boot file', () => writeIso({ volumeId: 'V', files: [{ path: 'e', data: Buffer.alloc(0) }], boot: { path: 'e' } })],
      ['sector count 0', () => writeIso({ volumeId: 'V', files: [ok], boot: { path: 'a', sectorCount: 0 } })],
      ['sector count > 16 bits', () => writeIso({ volumeId: 'V', files: [ok], boot: { path: 'a', sectorCount: 70000 } })],
      ['boot image past 640K', () => writeIso({ volumeId: 'V', files: [{ path: 'b', data: Buffer.alloc(700 * 1024) }], boot: { path: 'b' } })],
    ];
    for (const [what, f] of cases) expect(f, what).toThrow(BadInputError);
  });

  it('round-trips random trees (property)', () => {
    const segment = fc.oneof(
      fc.stringMatching(/^[a-zA-Z0-9_. -]{1,12}$/),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc.stringMatching(/^[a-z]{32,70}$/),
    ).filter((s) => s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0') && Buffer.byteLength(s) <= 160);
    const file = fc.record({
      dirs: fc.array(segment, { maxLength: 5 }),
      name: segment,
      data: fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        fc.constantFrom(0, 1, 2047, 2048, 2049, 5000).map((n) => bytes(n, n + 1)),
      ),
    });
    fc.assert(
      fc.property(fc.array(file, { maxLength: 25 }), fc.stringMatching(/^[A-Z0-9_]{1,32}$/), (raw, vol) => {
        // Drop entries whose path clashes with an earlier one (as file or as directory).
        const files: IsoFile[] = [];
        const taken = new Set<string>();
        const dirs = new Set<string>();
        for (const r of raw) {
          const parts = [...r.dirs, r.name];
          const path = parts.join('/');
          const prefixes = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
          if (taken.has(path) || dirs.has(path) || prefixes.some((p) => taken.has(p))) continue;
          taken.add(path);
          prefixes.forEach((p) => dirs.add(p));
          files.push({ path, data: Buffer.from(r.data) });
        }
        const img = readIso(writeIso({ volumeId: vol, files }));
        expect(img.volumeId).toBe(vol);
        expectSameFiles(img.files, asMap(files));
      }),
      { numRuns: 150 },
    );
  });
});
