// The store's bulk and streamed paths against the one-object-at-a-time reader: readTreeFiles
// (batched, log order) gives exactly what readFile gives for every path, over split trees,
// duplicates and deltas; a streamed blob (over the stream threshold) reads back and dedups; a
// flipped byte is a CorruptDataError on every path.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptDataError } from '../../core/errors.ts';
import { STREAM_THRESHOLD } from '../../gitfs/commit-tree.ts';
import { type BlobSource, createImage, type FileInput, openImage } from '../../gitfs/image.ts';
import { hashObject } from '../../gitfs/objects.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-read-paths-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const who = { name: 'T', email: 't@t', time: 1000 };

function text(n: number, seed: number): Buffer {
  let s = '';
  for (let i = 0; i < n; i++) s += `line ${i} of file ${seed} ${(i * 2654435761 + seed) % 1000003}\n`;
  return Buffer.from(s);
}

/** A source of `size` pattern bytes computed from the position (never held whole). */
function patternSource(size: number, seed: number): BlobSource {
  return {
    size,
    read(pos, buf) {
      const n = Math.min(buf.length, size - pos);
      for (let i = 0; i < n; i++) buf[i] = ((pos + i) * 31 + seed + ((pos + i) >>> 12)) & 0xff;
      return n;
    },
  };
}

function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] = b[0]! ^ 0x01;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

describe('bulk and streamed reads', () => {
  it('readTreeFiles equals readFile for every path of every commit (split trees, duplicates, deltas)', () => {
    const path = join(tmp, 'bulk.img');
    const img = createImage(path, { sizeBytes: 16 << 20 });
    const files: FileInput[] = [];
    for (let i = 0; i < 300; i++) files.push({ path: `big/f${String(i).padStart(3, '0')}.txt`, data: text(20 + (i % 40), i) });
    files.push({ path: 'copy/a.txt', data: text(30, 7) }, { path: 'copy/b.txt', data: text(30, 7) }); // one blob, two paths
    files.push({ path: 'link', data: Buffer.from('copy/a.txt'), mode: 0o120000 }, { path: 'empty', data: Buffer.alloc(0) });
    const c1 = img.commitTree('main', files, { message: 'one', author: who });
    const edited = files.map((f, i) => (i % 10 === 0 && f.data ? { ...f, data: Buffer.concat([f.data, Buffer.from('edit\n')]) } : f));
    const stats = { files: 0, storedBlobs: 0, deltas: 0, reusedBlobs: 0, bytesWritten: 0 };
    const c2 = img.commitTree('main', edited, { message: 'two', author: who }, stats);
    expect(stats.deltas).toBeGreaterThan(10);
    img.close();

    const r = openImage(path, { readOnly: true });
    try {
      for (const rev of [c1, c2, 'main', 'main~1']) {
        const tree = r.commitTreeHash(r.resolveRev(rev));
        const listed = r.listFiles(tree);
        const got = [...r.readTreeFiles(rev)];
        expect(got.map((f) => f.path).sort()).toEqual(listed.map((f) => f.path).sort());
        for (const f of got) {
          expect(f.data.equals(r.readFile(rev, f.path)), `${rev}:${f.path}`).toBe(true);
          expect(hashObject('blob', f.data)).toBe(f.hash);
        }
      }
    } finally {
      r.close();
    }
  });

  it('a blob over the stream threshold is streamed in, read back in chunks, and stored once', () => {
    const path = join(tmp, 'stream.img');
    const img = createImage(path, { sizeBytes: 128 << 20 });
    const size = STREAM_THRESHOLD + 12345;
    const src = patternSource(size, 3);
    const whole = Buffer.alloc(size);
    src.read(0, whole);
    const s1 = { files: 0, storedBlobs: 0, deltas: 0, reusedBlobs: 0, bytesWritten: 0 };
    img.commitTree('main', [{ path: 'huge.bin', source: src }, { path: 'small', data: Buffer.from('s') }], { message: 'one', author: who }, s1);
    expect(s1).toMatchObject({ storedBlobs: 2, reusedBlobs: 0 });
    expect(s1.bytesWritten).toBeGreaterThan(size);
    const s2 = { files: 0, storedBlobs: 0, deltas: 0, reusedBlobs: 0, bytesWritten: 0 };
    img.commitTree('other', [{ path: 'again.bin', source: patternSource(size, 3) }], { message: 'two', author: who }, s2);
    expect(s2).toMatchObject({ storedBlobs: 0, reusedBlobs: 1 });
    expect(s2.bytesWritten).toBeLessThan(4096);
    const hash = img.history.fileEntry('main', 'huge.bin').hash;
    expect(hash).toBe(hashObject('blob', whole));
    const chunks = [...img.readChunks(hash)];
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(whole)).toBe(true);
    expect(img.fsck().ok).toBe(true);
    img.close();

    // One flipped byte in the middle: the streamed read fails after its last chunk, fsck names it.
    const where = openImage(path, { readOnly: true });
    const loc = where.locateRaw(hash);
    where.close();
    flipByte(path, loc.lba * 512 + loc.offset + Math.floor(size / 2));
    const bad = openImage(path, { readOnly: true });
    try {
      expect(() => [...bad.readChunks(hash)]).toThrow(CorruptDataError);
      const report = bad.fsck();
      expect(report.ok).toBe(false);
      expect(report.problems.join('\n')).toContain(`object ${hash} is corrupt (hash mismatch)`);
    } finally {
      bad.close();
    }
  });

  it('a flipped byte in one blob: readTreeFiles throws CorruptDataError naming it', () => {
    const path = join(tmp, 'flip.img');
    const img = createImage(path, { sizeBytes: 4 << 20 });
    const files = Array.from({ length: 20 }, (_, i) => ({ path: `d/f${i}`, data: text(10 + i, i) }));
    img.commitTree('main', files, { message: 'one', author: who });
    const victim = img.history.fileEntry('main', 'd/f7').hash;
    const loc = img.locateRaw(victim);
    img.close();
    flipByte(path, loc.lba * 512 + loc.offset + 3);
    const r = openImage(path, { readOnly: true });
    try {
      expect(() => [...r.readTreeFiles('main')]).toThrow(new RegExp(`object ${victim} is corrupt`));
      expect(r.readFile('main', 'd/f8').equals(files[8]!.data)).toBe(true);
    } finally {
      r.close();
    }
  });
});
