// `cluster commit`'s host half: a directory becomes GitFS blobs and trees in the host peer's
// store, the same tree `gittorrent image commit` makes of that directory.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeDirectory } from '../../cluster/peer/dir.ts';
import { GitFSStore } from '../../cluster/peer/store.ts';
import { createImage, openImage } from '../../gitfs/image.ts';
import { cli } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gtneth-dir-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('storeDirectory', () => {
  it('makes the tree image commit makes (nested, executable, symlink, a split directory, .git skipped)', async () => {
    const dir = join(tmp, 'src');
    mkdirSync(join(dir, 'a/b/c'), { recursive: true });
    mkdirSync(join(dir, 'many'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git/config'), 'not content');
    writeFileSync(join(dir, 'README'), 'hello\n');
    writeFileSync(join(dir, 'a/b/c/deep.txt'), 'deep\n');
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(dir, 'run.sh'), 0o755);
    symlinkSync('README', join(dir, 'link'));
    writeFileSync(join(dir, 'empty'), '');
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, 'many', `f${i}`), `file ${i}\n`);
    const store = GitFSStore.open(join(tmp, 'host.img'), 32 << 20);
    const r = storeDirectory(store, dir);
    expect(r.files).toBe(305);
    const img = join(tmp, 'ref.img');
    createImage(img, { sizeBytes: 32 << 20 }).close();
    const c = await cli(['image', 'commit', img, dir, '--branch', 'b', '--json']);
    expect(c.exitCode, c.stderr).toBe(0);
    const ref = openImage(img, { readOnly: true });
    try {
      expect(r.tree).toBe(ref.commitTreeHash(JSON.parse(c.stdout).commit));
      // and the host peer's store holds every object of it, so a node can fetch them all
      for (const f of ref.listFiles(r.tree)) expect(store.has(f.hash)).toBe(true);
    } finally {
      ref.close();
      store.close();
    }
  });

  it('refuses a missing or empty directory with one line', () => {
    const store = GitFSStore.open(join(tmp, 'host2.img'), 16 << 20);
    try {
      expect(() => storeDirectory(store, join(tmp, 'absent'))).toThrow(/is not a directory/);
      mkdirSync(join(tmp, 'void'));
      expect(() => storeDirectory(store, join(tmp, 'void'))).toThrow(/has no files to commit/);
    } finally {
      store.close();
    }
  });
});
