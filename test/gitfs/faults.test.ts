// Bad input and crashes: corrupt superblocks, truncation, torn ref updates, random byte flips.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BlockDev, FileBlockDev } from '../../gitfs/blockdev.ts';
import { createImage, type GitFSImage, openImage } from '../../gitfs/image.ts';
import { SB_A_LBA, SB_B_LBA, SECTOR_SIZE } from '../../gitfs/layout.ts';
import { BadInputError, CorruptDataError, isUserError } from '../../core/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-faults-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const who = (time: number) => ({ name: 'T', email: 't@t', time });

function content(n: number, seed: number): Buffer {
  let s = '';
  for (let i = 0; i < n; i++) s += `${seed}:${i}:${(i * 7919 + seed) % 10007}\n`;
  return Buffer.from(s);
}

const V1 = [
  { path: 'a.txt', data: Buffer.from('version one\n') },
  { path: 'd/big', data: content(800, 1) },
];
const V2 = [
  { path: 'a.txt', data: Buffer.from('version two\n') },
  { path: 'd/big', data: Buffer.concat([content(800, 1), Buffer.from('more\n')]) },
  { path: 'd/new', data: Buffer.from('new') },
];

/** An image with main at V1. */
function baseImage(name: string): { path: string; c1: string } {
  const path = join(tmp, name);
  const img = createImage(path, { sizeBytes: 1 << 20 });
  const c1 = img.commitTree('main', V1, { message: 'v1', author: who(100) });
  img.close();
  return { path, c1 };
}

function expectState(img: GitFSImage, files: typeof V1): void {
  for (const f of files) expect(img.readFile('main', f.path).equals(f.data)).toBe(true);
}

class PowerCut extends Error {}

/** Counts writes; the n-th write lands half its bytes and then the power goes. */
class CuttingDev implements BlockDev {
  writes = 0;
  constructor(
    private readonly inner: FileBlockDev,
    private readonly cutAt: number,
  ) {}
  get size() {
    return this.inner.size;
  }
  read(pos: number, len: number) {
    return this.inner.read(pos, len);
  }
  write(pos: number, data: Buffer) {
    this.writes++;
    if (this.writes === this.cutAt) {
      this.inner.write(pos, data.subarray(0, Math.floor(data.length / 2)));
      throw new PowerCut('power cut');
    }
    if (this.writes > this.cutAt) throw new PowerCut('power is off');
    this.inner.write(pos, data);
  }
  sync() {}
  close() {
    this.inner.close();
  }
}

describe('superblock copies', () => {
  it('one bad copy: the other is used; both bad: a clear error', () => {
    const { path, c1 } = baseImage('sb.img');
    const img = openImage(path);
    const c2 = img.commitTree('main', V2, { message: 'v2', author: who(101) });
    const active = img.stats().activeCopy;
    img.close();
    const good = readFileSync(path);
    const activeLba = active === 'A' ? SB_A_LBA : SB_B_LBA;
    const other = active === 'A' ? SB_B_LBA : SB_A_LBA;
    // Break the active copy: the older copy (main at c1) is used, with a warning.
    const bad1 = Buffer.from(good);
    bad1[activeLba * SECTOR_SIZE + 200] ^= 0x40;
    writeFileSync(path, bad1);
    let r = openImage(path, { readOnly: true });
    expect(r.readRef('main')).toBe(c1);
    expect(r.warnings.join()).toMatch(/bad checksum/);
    r.close();
    // Break the older copy only: the newest state is used.
    const bad2 = Buffer.from(good);
    bad2[other * SECTOR_SIZE + 9] ^= 0x01;
    writeFileSync(path, bad2);
    r = openImage(path, { readOnly: true });
    expect(r.readRef('main')).toBe(c2);
    r.close();
    // Both broken.
    bad2[activeLba * SECTOR_SIZE + 300] ^= 0x10;
    writeFileSync(path, bad2);
    expect(() => openImage(path, { readOnly: true })).toThrow(CorruptDataError);
    expect(() => openImage(path, { readOnly: true })).toThrow(/no usable superblock.*bad checksum/);
  });

  it('truncated images and non-images are named as such', () => {
    const { path } = baseImage('trunc.img');
    truncateSync(path, 600 * 1024);
    expect(() => openImage(path)).toThrow(BadInputError);
    expect(() => openImage(path)).toThrow(/truncated/);
    truncateSync(path, 10000);
    expect(() => openImage(path)).toThrow(/not a GitFS image/);
    const junk = join(tmp, 'junk.img');
    writeFileSync(junk, Buffer.alloc(2 << 20, 7));
    expect(() => openImage(junk)).toThrow(/not a GitFS image \(no superblock magic\)/);
  });
});

describe('torn writes', () => {
  it('a commit cut at every write boundary leaves the old or the new state', () => {
    const { path, c1 } = baseImage('torn-base.img');
    // Count the writes of an uncut update.
    const probe = join(tmp, 'torn-probe.img');
    copyFileSync(path, probe);
    const counter = new CuttingDev(new FileBlockDev(probe, false), Infinity);
    const img = openImage(probe, { dev: counter });
    const c2 = img.commitTree('main', V2, { message: 'v2', author: who(101) });
    img.close();
    expect(counter.writes).toBeGreaterThanOrEqual(3);
    const seen = new Set<string>();
    for (let cut = 1; cut <= counter.writes; cut++) {
      const p = join(tmp, `torn-${cut}.img`);
      copyFileSync(path, p);
      const dev = new CuttingDev(new FileBlockDev(p, false), cut);
      const w = openImage(p, { dev });
      expect(() => w.commitTree('main', V2, { message: 'v2', author: who(101) })).toThrow(PowerCut);
      dev.close();
      const r = openImage(p, { readOnly: true });
      const head = r.readRef('main');
      expect([c1, c2]).toContain(head);
      expectState(r, head === c1 ? V1 : V2);
      expect(r.fsck().ok).toBe(true);
      seen.add(head!);
      r.close();
      // The image stays writable after the cut.
      const again = openImage(p);
      const c = again.commitTree('main', V2, { message: 'v2', author: who(101) });
      if (head === c1) expect(c).toBe(c2);
      expect(again.fsck().ok).toBe(true);
      again.close();
      rmSync(p);
    }
    expect(seen.has(c1)).toBe(true);
  });
});

describe('corruption fuzz', () => {
  it('random byte flips give correct data or a typed error, never a crash', () => {
    const { path } = baseImage('fuzz.img');
    const img = openImage(path);
    img.commitTree('main', V2, { message: 'v2', author: who(101) });
    img.commitTree('dev', [{ path: 'x', data: content(300, 9) }], { message: 'dev', from: 'main', author: who(102) });
    const logEnd = SB_B_LBA * SECTOR_SIZE + 32768 + img.stats().logBytes;
    img.close();
    const good = readFileSync(path);
    const expected = new Map<string, Buffer>([...V2.map((f) => ['main:' + f.path, f.data] as const), ['dev:x', content(300, 9)]]);
    // Index regions are at the end of the disk.
    const size = good.length;
    const ranges = [[SB_A_LBA * SECTOR_SIZE, logEnd], [size - 2 * 64 * SECTOR_SIZE, size]] as const;
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const p = join(tmp, 'fuzz-run.img');
    let typed = 0;
    for (let iter = 0; iter < 400; iter++) {
      const buf = Buffer.from(good);
      const flips = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < flips; k++) {
        const [lo, hi] = ranges[rand() < 0.8 ? 0 : 1];
        const at = lo + Math.floor(rand() * (hi - lo));
        buf[at] ^= 1 << Math.floor(rand() * 8);
      }
      writeFileSync(p, buf);
      const attempt = (fn: () => void) => {
        try {
          fn();
        } catch (e) {
          if (!isUserError(e)) throw e;
          typed++;
        }
      };
      attempt(() => {
        const r = openImage(p, { readOnly: true });
        try {
          for (const [spec, data] of expected) {
            const [rev, file] = spec.split(':') as [string, string];
            attempt(() => {
              const got = r.readFile(rev, file);
              expect(got.equals(data)).toBe(true);
            });
          }
          attempt(() => void r.log('mainline'));
          r.fsck();
        } finally {
          r.close();
        }
      });
    }
    expect(typed).toBeGreaterThan(0);
  });
});
