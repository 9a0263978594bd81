// Git tags and shallow clones through import and export, with real git as the judge: tags keep
// their names, hashes and types (annotated, lightweight, to a tree, to a blob, nested), a
// `git clone --depth 1` imports with its boundary and passes both fscks, and bad input is a
// one-line error that leaves the image as it was.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.ts';
import { exportGit, importGit } from '../../gitfs/git-interop.ts';
import { createImage, openImage } from '../../gitfs/image.ts';
import { hashObject } from '../../gitfs/objects.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gitfs-tags-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = join(import.meta.dirname, '../../bin/gittorrent.js');
const cli = (args: string[]) => execa('node', [bin, ...args], { reject: false, cwd: tmp, env: { CI: '1' }, stripFinalNewline: false });
const sha = (p: string) => createHash('sha1').update(readFileSync(p)).digest('hex');
const ENV = { GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@a', GIT_COMMITTER_NAME: 'C', GIT_COMMITTER_EMAIL: 'c@c', GIT_AUTHOR_DATE: '1600000000 +0000', GIT_COMMITTER_DATE: '1600000000 +0000' };

function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', ['-c', 'advice.nestedTag=false', ...args], { cwd, input, env: { ...process.env, ...ENV }, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

/** `git for-each-ref refs/tags` as "name hash type" lines. */
const tagList = (repo: string) => git(repo, ['for-each-ref', '--format=%(refname) %(objectname) %(objecttype)', 'refs/tags/']).trim().split('\n').filter(Boolean);

/**
 * master: c1..c4; topic forks at c2 with t1. Tags: v1 (annotated, c2), v2-light (c4), topic-v
 * (annotated, on topic), tree-light (c4's tree), blob-ann (annotated, a blob), nested (a tag of v1),
 * release/1.0 (a name with a slash).
 */
function makeTaggedRepo(dir: string): void {
  execFileSync('git', ['init', '-q', '-b', 'master', dir]);
  for (let i = 1; i <= 4; i++) {
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`);
    git(dir, ['add', '.']);
    git(dir, ['commit', '-q', '-m', `c${i}`]);
    if (i === 2) {
      git(dir, ['branch', 'topic']);
      git(dir, ['tag', '-a', 'v1', '-m', 'version 1']);
    }
  }
  const blob = git(dir, ['hash-object', '-w', '--stdin'], 'a tagged blob\n').trim();
  git(dir, ['tag', 'v2-light']);
  git(dir, ['tag', 'tree-light', 'HEAD^{tree}']);
  git(dir, ['tag', '-a', 'blob-ann', '-m', 'a blob', blob]);
  git(dir, ['tag', '-a', 'nested', '-m', 'a tag of a tag', 'v1']);
  git(dir, ['tag', 'release/1.0', 'HEAD~1']);
  git(dir, ['checkout', '-q', 'topic']);
  writeFileSync(join(dir, 'topic.txt'), 'on topic\n');
  git(dir, ['add', '.']);
  git(dir, ['commit', '-q', '-m', 't1']);
  git(dir, ['tag', '-a', 'topic-v', '-m', 'on topic']);
  git(dir, ['checkout', '-q', 'master']);
}

describe('tags', () => {
  const repo = join(tmp, 'tagged');
  makeTaggedRepo(repo);

  it('import every tag as tags/NAME, fsck follows them, export keeps names, hashes and types', async () => {
    const imgPath = join(tmp, 'tags.img');
    const img = createImage(imgPath, { sizeBytes: 8 << 20 });
    const r = await importGit(img, repo);
    const source = tagList(repo);
    expect(source.length).toBe(7);
    expect(r.tags.map((t) => `refs/tags/${t.name.slice(5)} ${t.hash} ${t.type}`).sort()).toEqual(source.sort());
    for (const t of r.tags) expect(img.refInfo(t.name)).toMatchObject({ kind: 'symbolic', hash: t.hash });
    expect(img.fsck()).toMatchObject({ ok: true, problems: [] });
    // A tag resolves by its git name too, and peels to its commit for history and files.
    expect(img.log('v1').map((e) => e.commit.message.trim())).toEqual(['c2', 'c1']);
    expect(img.log('tags/nested').length).toBe(2);
    expect(img.resolveRev('v1~1')).toBe(git(repo, ['rev-parse', 'v1~1']).trim());
    expect(img.commitTreeHash(img.resolveRev('tree-light'))).toBe(git(repo, ['rev-parse', 'master^{tree}']).trim());
    expect(() => img.commitTreeHash(img.resolveRev('blob-ann'))).toThrow(/names [0-9a-f]{40}, which is a blob, not a commit or tree/);
    img.close();

    const ro = openImage(imgPath, { readOnly: true });
    const out = join(tmp, 'tags-out');
    await exportGit(ro, out);
    expect(tagList(out).sort()).toEqual(source.sort());
    for (const t of ['v1', 'blob-ann', 'nested', 'topic-v']) expect(git(out, ['cat-file', '-t', t]).trim()).toBe('tag');
    expect(git(out, ['cat-file', '-t', 'tree-light']).trim()).toBe('tree');
    expect(git(out, ['cat-file', '-p', 'blob-ann^{}'])).toBe('a tagged blob\n');
    expect(git(out, ['rev-parse', 'nested^{}']).trim()).toBe(git(repo, ['rev-parse', 'v1^{}']).trim());
    git(out, ['-c', 'fsck.fullPathname=ignore', 'fsck', '--strict', '--no-dangling']);
    expect(git(out, ['-c', 'fsck.fullPathname=ignore', 'fsck', '--no-dangling', '--unreachable'])).toBe('');

    // --strict-git rewrites commits; tags naming them are retargeted, names and types kept.
    const strict = join(tmp, 'tags-strict');
    await exportGit(ro, strict, { strict: true });
    git(strict, ['fsck', '--strict', '--no-dangling']);
    expect(tagList(strict).map((l) => `${l.split(' ')[0]} ${l.split(' ')[2]}`).sort()).toEqual(source.map((l) => `${l.split(' ')[0]} ${l.split(' ')[2]}`).sort());
    expect(git(strict, ['log', '--format=%s', 'nested']).trim()).toBe('c2\nc1');
    expect(git(strict, ['cat-file', '-p', 'blob-ann^{}'])).toBe('a tagged blob\n');
    ro.close();
  });

  it('--branch follows only the tags in those branches; --no-tags imports none', async () => {
    const img = createImage(join(tmp, 'follow.img'), { sizeBytes: 8 << 20 });
    const r = await importGit(img, repo, { branches: ['topic'] });
    // topic holds c1, c2, t1: v1 (c2), nested (v1 peels to c2), topic-v (t1). Not the tree or blob tags.
    expect(r.tags.map((t) => t.name).sort()).toEqual(['tags/nested', 'tags/topic-v', 'tags/v1']);
    expect(img.fsck().ok).toBe(true);
    img.close();
    const none = createImage(join(tmp, 'notags.img'), { sizeBytes: 8 << 20 });
    expect((await importGit(none, repo, { tags: false })).tags).toEqual([]);
    expect(none.listRefs().map((r) => r.name).sort()).toEqual(['mainline', 'master', 'topic']);
    none.close();
  });

  it('image branches and image ls IMG list the tags; image log takes a tag', async () => {
    const imgPath = join(tmp, 'cli-tags.img');
    expect((await cli(['image', 'create', imgPath, '--size', '8M'])).exitCode).toBe(0);
    const imp = await cli(['image', 'import', imgPath, repo]);
    expect(imp.exitCode).toBe(0);
    expect(imp.stdout).toContain(`tags/v1 ${git(repo, ['rev-parse', 'v1']).trim()} (tag)`);
    const branches = (await cli(['image', 'branches', imgPath])).stdout;
    for (const t of ['v1', 'v2-light', 'tree-light', 'blob-ann', 'nested', 'release/1.0', 'topic-v']) expect(branches).toContain(`tags/${t} (symbolic ${git(repo, ['rev-parse', t]).trim().slice(0, 12)})`);
    const ls = JSON.parse((await cli(['image', 'ls', imgPath, '--json'])).stdout) as { entries: { name: string; hash: string }[] };
    expect(ls.entries.find((e) => e.name === 'tags/blob-ann/')?.hash).toBe(git(repo, ['rev-parse', 'blob-ann']).trim());
    expect(ls.entries.filter((e) => e.name.startsWith('tags/')).length).toBe(7);
    const log = await cli(['image', 'log', imgPath, 'v1', '--json']);
    expect((JSON.parse(log.stdout) as { hash: string }[]).map((e) => e.hash)).toEqual(git(repo, ['rev-list', 'v1']).trim().split('\n'));
    expect((await cli(['image', 'fsck', imgPath])).exitCode).toBe(0);
  });

  it('a tag name GitFS cannot hold is a one-line error naming it, and the image is unchanged', async () => {
    const bad = join(tmp, 'badtag');
    execFileSync('git', ['clone', '-q', repo, bad]);
    git(bad, ['tag', 'v1+build', 'HEAD']);
    const imgPath = join(tmp, 'badtag.img');
    expect((await cli(['image', 'create', imgPath, '--size', '8M'])).exitCode).toBe(0);
    const before = sha(imgPath);
    const r = await cli(['image', 'import', imgPath, bad]);
    expect(r.exitCode).toBe(new UsageError('').exitCode);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('gittorrent:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/tag "v1\+build" cannot be a GitFS ref .*--no-tags/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(sha(imgPath)).toBe(before);
    // ... and --no-tags imports the branches.
    expect((await cli(['image', 'import', imgPath, bad, '--no-tags'])).exitCode).toBe(0);
    expect((await cli(['image', 'fsck', imgPath])).exitCode).toBe(0);
  });

  it('fsck follows a tag to its target: a missing target and a wrong type are problems', () => {
    const img = createImage(join(tmp, 'broken-tag.img'), { sizeBytes: 4 << 20 });
    const absent = 'ab'.repeat(20);
    const dangling = Buffer.from(`object ${absent}\ntype commit\ntag lost\ntagger T <t@t> 1 +0000\n\nlost\n`);
    const blob = Buffer.from('just a blob\n');
    const blobHash = hashObject('blob', blob);
    const liar = Buffer.from(`object ${blobHash}\ntype commit\ntag liar\ntagger T <t@t> 1 +0000\n\nliar\n`);
    const objs = [
      { hash: hashObject('tag', dangling), type: 'tag' as const, data: dangling },
      { hash: blobHash, type: 'blob' as const, data: blob },
      { hash: hashObject('tag', liar), type: 'tag' as const, data: liar },
    ];
    img.importObjects(objs, [{ name: 'tags/lost', hash: objs[0]!.hash, kind: 'symbolic' }, { name: 'tags/liar', hash: objs[2]!.hash, kind: 'symbolic' }]);
    const r = img.fsck();
    expect(r.ok).toBe(false);
    expect(r.problems).toContain(`object ${absent}: missing (reachable from a ref)`);
    expect(r.problems).toContain(`tag ${objs[2]!.hash}: names a commit but ${blobHash} is a blob`);
    img.close();
  });
});

describe('shallow clones', () => {
  const src = join(tmp, 'deep');
  makeTaggedRepo(src);

  it('git clone --depth 1 imports with its boundary: fsck, the export and git fsck pass', async () => {
    const clone = join(tmp, 'shallow');
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${src}`, clone]);
    expect(git(clone, ['rev-parse', '--is-shallow-repository']).trim()).toBe('true');
    const boundary = readFileSync(join(clone, '.git/shallow'), 'utf8').trim().split('\n').sort();
    expect(boundary).toEqual([git(src, ['rev-parse', 'master']).trim()]);
    expect(tagList(clone).length).toBeGreaterThan(0); // the tags on c4 came along

    const imgPath = join(tmp, 'shallow.img');
    expect((await cli(['image', 'create', imgPath, '--size', '8M'])).exitCode).toBe(0);
    const imp = await cli(['image', 'import', imgPath, clone, '--json']);
    expect(imp.exitCode).toBe(0);
    expect((JSON.parse(imp.stdout) as { shallow: string[] }).shallow).toEqual(boundary);
    const fsck = await cli(['image', 'fsck', imgPath, '--json']);
    expect(fsck.exitCode).toBe(0);
    // The boundary commit's parent (c3) is a referral: held elsewhere.
    expect(JSON.parse(fsck.stdout)).toMatchObject({ ok: true, referrals: 1 });

    const img = openImage(imgPath, { readOnly: true });
    expect(img.log('master').map((e) => e.hash)).toEqual([git(src, ['rev-parse', 'master']).trim()]);
    expect(img.readReferral(git(src, ['rev-parse', 'master~1']).trim())).toMatchObject({ type: 'commit', holders: [] });
    const out = join(tmp, 'shallow-out');
    const res = await exportGit(img, out);
    expect(res.shallow).toEqual(boundary);
    expect(readFileSync(join(out, '.git/shallow'), 'utf8').trim().split('\n')).toEqual(boundary);
    git(out, ['-c', 'fsck.fullPathname=ignore', 'fsck', '--strict', '--no-dangling']);
    expect(git(out, ['log', '--format=%H', 'master'])).toBe(git(clone, ['log', '--format=%H', 'master']));
    expect(tagList(out).sort()).toEqual(tagList(clone).sort());

    const strict = join(tmp, 'shallow-strict');
    const sres = await exportGit(img, strict, { strict: true });
    expect(sres.shallow.length).toBe(1);
    git(strict, ['fsck', '--strict', '--no-dangling']);
    expect(git(strict, ['log', '--format=%s', 'master']).trim()).toBe('c4');
    img.close();

    // Importing the full repository later fills the boundary in: no referrals, no shallow file.
    const full = openImage(imgPath);
    await importGit(full, src);
    expect(full.fsck()).toMatchObject({ ok: true, referrals: 0 });
    expect(full.log('master').length).toBe(4);
    const fullOut = join(tmp, 'full-out');
    expect((await exportGit(full, fullOut)).shallow).toEqual([]);
    expect(existsSync(join(fullOut, '.git/shallow'))).toBe(false);
    git(fullOut, ['-c', 'fsck.fullPathname=ignore', 'fsck', '--no-dangling']);
    full.close();
  });
});
