// The kernel's shell on an image holding git tags and a shallow import (host side:
// test/gitfs/git-tags-shallow.test.ts): `branches` and `ls /` list every tag ref (kind
// symbolic) exactly as the host reader sees them, a lightweight tag's commit lists its files,
// and `log` of the shallow branch prints the commit it holds and then names the referral.
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { importGit } from '../../gitfs/git-interop.ts';
import { openImage, type RefInfo } from '../../gitfs/image.ts';
import { build } from '../../Makefile.ts';
import { tempDir } from '../helpers/tmp.ts';

const ENV = { GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@a', GIT_COMMITTER_NAME: 'C', GIT_COMMITTER_EMAIL: 'c@c', GIT_AUTHOR_DATE: '1600000000 +0000', GIT_COMMITTER_DATE: '1600000000 +0000' };
const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: { ...process.env, ...ENV }, stdio: ['pipe', 'pipe', 'pipe'] }).toString();

let vm: Vm | undefined;
let sh: ShellClient;
let refs: RefInfo[];
let head = '';
let parent = '';
const dir = tempDir('gt-kernel-tags-');

beforeAll(async () => {
  const out = await build({ outDir: join(dir, 'out') });
  const src = join(dir, 'src');
  execFileSync('git', ['init', '-q', '-b', 'master', src]);
  for (let i = 1; i <= 3; i++) {
    writeFileSync(join(src, `f${i}.txt`), `file ${i}\n`);
    git(src, ['add', '.']);
    git(src, ['commit', '-q', '-m', `c${i}`]);
  }
  git(src, ['tag', '-a', 'v3', '-m', 'version 3']);
  git(src, ['tag', 'light']);
  git(src, ['tag', 'tree-light', 'HEAD^{tree}']);
  const clone = join(dir, 'clone');
  execFileSync('git', ['clone', '-q', '--depth', '1', `file://${src}`, clone]);
  head = git(src, ['rev-parse', 'master']).trim();
  parent = git(src, ['rev-parse', 'master~1']).trim();
  const image = join(dir, 'tags.img');
  copyFileSync(out.image, image);
  const img = openImage(image);
  await importGit(img, clone);
  refs = img.listRefs();
  expect(img.fsck().ok).toBe(true);
  img.close();
  ({ vm } = await bootToReady({ disk: image, accel: 'tcg', snapshot: true }, 60_000));
  sh = new ShellClient(vm);
}, 300_000);

afterAll(async () => {
  await vm?.stop(200);
});

describe('kernel shell with tag refs and a shallow import', () => {
  it('branches and ls / list the tags as the host reader does', async () => {
    expect(refs.filter((r) => r.name.startsWith('tags/')).map((r) => r.name).sort()).toEqual(['tags/light', 'tags/tree-light', 'tags/v3']);
    const b = await sh.run('branches');
    expect(b.status).toBe('ok');
    expect(b.lines).toEqual(refs.map((r) => `${r.name}\t${r.kind}\t${r.hash}\t${r.forkedFrom ?? '-'}\t${r.state}`));
    const ls = await sh.run('ls /');
    expect(ls.status).toBe('ok');
    expect([...ls.lines].sort()).toEqual(refs.filter((r) => r.hash !== '0'.repeat(40)).map((r) => `40000 branch ${r.hash}\t${r.name}/`).sort());
  });

  it('the shallow branch lists its files; log prints its commit, then names the referral parent', async () => {
    const ls = await sh.run('ls /master');
    expect(ls.status).toBe('ok');
    expect(ls.lines.map((l) => l.split('\t')[1])).toEqual(['f1.txt', 'f2.txt', 'f3.txt']);
    const log = await sh.run('log master');
    expect(log.lines).toEqual([`${head}\tc3`]);
    expect(log.status).toBe('error');
    expect(log.error).toBe('referral-only');
    expect(log.events.find((e) => e.name === 'error')?.fields.object).toBe(parent);
  });
});
