// Pure codecs against real git and property tests: blob hashes, trees, commits, deltas.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCommit, encodeCommit } from '../../gitfs/commit.ts';
import { applyDelta, encodeDelta } from '../../gitfs/delta.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { buildTree, decodeTree, encodeTree, isTreeMode, type TreeEntry } from '../../gitfs/tree.ts';
import { isUserError } from '../../core/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-codecs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function git(args: string[], cwd = tmp, input?: Buffer | string): string {
  return execFileSync('git', args, { cwd, input, env: { ...process.env, GIT_AUTHOR_DATE: '1700000000 +0000', GIT_COMMITTER_DATE: '1700000000 +0000', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' }, maxBuffer: 1 << 28 }).toString();
}

describe('objects', () => {
  it('blob hashes equal git hash-object', () => {
    const blobs = [Buffer.alloc(0), Buffer.from('hello\n'), Buffer.from([0, 1, 2, 255, 10, 13]), Buffer.alloc(70000, 'x')];
    blobs.forEach((b, i) => {
      const f = join(tmp, `blob${i}`);
      writeFileSync(f, b);
      expect(hashObject('blob', b)).toBe(git(['hash-object', f]).trim());
    });
  });

  it('trees encode exactly as git mktree (git order: a tree sorts as name + "/")', () => {
    git(['init', '-q', join(tmp, 'r')]);
    const r = join(tmp, 'r');
    const b = git(['hash-object', '-w', '--stdin'], r, 'x').trim();
    expect(b).toBe(hashObject('blob', Buffer.from('x')));
    const sub = git(['mktree'], r, `100644 blob ${b}\tinner\n`).trim();
    const entries: TreeEntry[] = [
      { mode: '100644', name: 'a.b', hash: b },
      { mode: '40000', name: 'a', hash: sub },
      { mode: '100755', name: 'a-b', hash: b },
      { mode: '120000', name: 'link', hash: b },
      { mode: '100644', name: 'a0', hash: b },
    ];
    const ours = hashObject('tree', encodeTree(entries));
    const theirs = git(['mktree'], r, entries.map((e) => `${e.mode === '40000' ? '040000 tree' : e.mode + ' blob'} ${e.hash}\t${e.name}\n`).join('')).trim();
    expect(ours).toBe(theirs);
  });

  it('commits with extra headers are accepted by git and round-trip', () => {
    const r = join(tmp, 'r');
    const tree = git(['mktree'], r, '').trim();
    const data = encodeCommit({ tree, parents: [], author: 'a <a@b> 1 +0000', committer: 'a <a@b> 1 +0000', headers: [['branch', 'main'], ['forked-from', 'x'], ['kernel-version', '1.2']], message: 'm\n' });
    const h = git(['hash-object', '-w', '-t', 'commit', '--stdin'], r, data).trim();
    expect(h).toBe(hashObject('commit', data));
    expect(git(['cat-file', 'commit', h], r)).toBe(data.toString());
    const c = decodeCommit(data);
    expect(c.headers).toEqual([['branch', 'main'], ['forked-from', 'x'], ['kernel-version', '1.2']]);
    expect(encodeCommit(c).equals(data)).toBe(true);
  });
});

const pathArb = fc
  .array(fc.constantFrom('a', 'b', 'c', 'd', 'e.txt', 'f-g', 'h_0'), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('/'));

describe('tree codec properties', () => {
  it('decode(encode(entries)) gives the entries in git order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.record({ name: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0') && !s.includes('/')), mode: fc.constantFrom('100644', '100755', '120000', '40000'), hash: fc.stringMatching(/^[0-9a-f]{40}$/) }), { selector: (e) => e.name, maxLength: 20 }), (entries) => {
        const dec = decodeTree(encodeTree(entries));
        expect(dec.length).toBe(entries.length);
        expect(new Set(dec.map((e) => e.name))).toEqual(new Set(entries.map((e) => e.name)));
        expect(encodeTree(dec).equals(encodeTree(entries))).toBe(true);
      }),
    );
  });

  it('buildTree keeps every file at any split threshold; threshold 0 is git form', () => {
    fc.assert(
      fc.property(fc.uniqueArray(pathArb, { maxLength: 40 }), fc.integer({ min: 0, max: 50 }), (paths0, threshold) => {
        // Drop paths that are a prefix directory of another path (a file and a directory at once).
        const paths = paths0.filter((p) => !paths0.some((q) => q.startsWith(p + '/')));
        const trees = new Map<string, Buffer>();
        const files = paths.map((p, i) => ({ path: p, mode: '100644', hash: hashObject('blob', Buffer.from(String(i))) }));
        const root = buildTree(files, (t) => trees.set(t.hash, t.data), threshold);
        const flatten = (h: string, prefix: string): string[] =>
          decodeTree(trees.get(h)!).flatMap((e) => {
            if (threshold === 0) expect(e.name.includes('/')).toBe(false);
            return isTreeMode(e.mode) ? flatten(e.hash, prefix + e.name + '/') : [prefix + e.name + ':' + e.hash];
          });
        expect(flatten(root, '').sort()).toEqual(files.map((f) => f.path + ':' + f.hash).sort());
        for (const [h, d] of trees) {
          expect(hashObject('tree', d)).toBe(h);
          if (threshold > 0) expect(decodeTree(d).length <= threshold || decodeTree(d).every((e) => !e.name.includes('/'))).toBe(true);
        }
      }),
    );
  });

  it('malformed trees give a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          decodeTree(Buffer.from(bytes));
        } catch (e) {
          expect(isUserError(e)).toBe(true);
        }
      }),
    );
    expect(() => decodeTree(Buffer.from('100644 name\0short'))).toThrow(/malformed tree/);
  });
});

describe('delta codec', () => {
  const bufArb = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));
  it('apply(encode(a, b), a) == b for random pairs', () => {
    fc.assert(fc.property(bufArb, bufArb, (a, b) => {
      expect(applyDelta(a, encodeDelta(a, b)).equals(b)).toBe(true);
    }));
  });

  it('apply(encode(a, edit(a)), a) == edit(a), and edits make small deltas', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 2000, maxLength: 20000 }).map((a) => Buffer.from(a)),
        fc.array(fc.record({ at: fc.nat(), del: fc.nat({ max: 50 }), ins: fc.uint8Array({ maxLength: 50 }) }), { maxLength: 5 }),
        (a, edits) => {
          let b = a;
          for (const e of edits) {
            const at = e.at % (b.length + 1);
            b = Buffer.concat([b.subarray(0, at), Buffer.from(e.ins), b.subarray(Math.min(b.length, at + e.del))]);
          }
          const d = encodeDelta(a, b);
          expect(applyDelta(a, d).equals(b)).toBe(true);
          expect(d.length).toBeLessThan(b.length / 2 + 64 * edits.length + 64);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('copies longer than 64 KiB and large offsets round-trip', () => {
    const a = Buffer.alloc(300000);
    for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % 251;
    const b = Buffer.concat([Buffer.from('head'), a.subarray(100000), a.subarray(0, 70000)]);
    const d = encodeDelta(a, b);
    expect(d.length).toBeLessThan(100);
    expect(applyDelta(a, d).equals(b)).toBe(true);
  });

  it('random bytes as a delta give a typed error, never a crash', () => {
    fc.assert(
      fc.property(bufArb, fc.uint8Array({ maxLength: 100 }), (base, delta) => {
        try {
          applyDelta(base, Buffer.from(delta));
        } catch (e) {
          expect(isUserError(e)).toBe(true);
        }
      }),
    );
  });

  it('decodes deltas that real git wrote into a packfile', () => {
    const r = join(tmp, 'packrepo');
    git(['init', '-q', r]);
    let text = '';
    for (let i = 0; i < 3000; i++) text += `line ${i} ${(i * 2654435761) % 1000003}\n`;
    writeFileSync(join(r, 'f.txt'), text);
    git(['add', 'f.txt'], r);
    git(['commit', '-qm', 'one'], r);
    writeFileSync(join(r, 'f.txt'), text.replace('line 1500 ', 'LINE 1500 changed ') + 'tail\n');
    git(['commit', '-qam', 'two'], r);
    git(['repack', '-adf', '-q'], r);
    const packDir = join(r, '.git', 'objects', 'pack');
    const pack = readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
    const verify = git(['verify-pack', '-v', join(packDir, pack)], r);
    const packBytes = readFileSync(join(packDir, pack));
    let checked = 0;
    for (const line of verify.split('\n')) {
      const m = /^([0-9a-f]{40}) (\w+)\s+(\d+) (\d+) (\d+) \d+ ([0-9a-f]{40})$/.exec(line);
      if (!m) continue;
      const [, hash, type, , inPack, offset, base] = m;
      // Entry header: type/size varint, then an OFS_DELTA offset or a REF_DELTA base id.
      let p = Number(offset);
      let c = packBytes[p++]!;
      const packType = (c >> 4) & 7;
      while (c & 0x80) c = packBytes[p++]!;
      if (packType === 6) {
        c = packBytes[p++]!;
        while (c & 0x80) c = packBytes[p++]!;
      } else if (packType === 7) p += 20;
      else continue;
      const delta = inflateSync(packBytes.subarray(p, Number(offset) + Number(inPack)));
      const baseData = execFileSync('git', ['cat-file', type!, base!], { cwd: r });
      const out = applyDelta(baseData, delta);
      expect(hashObject(type as 'blob', out)).toBe(hash);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});
