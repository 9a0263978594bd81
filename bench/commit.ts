// GitFS commit and read against git, measured side by side in one run.
//   npm run bench -- commit [--files 5000] [--mb 100] [--read-rounds 5]
// Commits a generated tree into a fresh image vs `git add -A && git commit`, then reads every
// file back vs `git cat-file --batch`: GitFS through readTreeFiles, the API `image export` and
// the host peer read a tree with (one tree walk, records read in log order in batches, every
// file's SHA-1 verified). Last line: JSON with the ratios (GitFS time / git time).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createImage, openImage } from '../gitfs/image.ts';
import { readDirFiles } from '../gitfs/host-files.ts';
import { median } from './stats.ts';

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : dflt;
}

function generate(dir: string, files: number, totalBytes: number): number {
  let written = 0;
  const avg = totalBytes / files;
  for (let i = 0; i < files; i++) {
    const d = join(dir, `d${i % 50}`, `s${i % 7}`);
    mkdirSync(d, { recursive: true });
    // Sizes spread from 0.1x to 1.9x the average; half binary, half text-like.
    const size = Math.max(1, Math.round(avg * (0.1 + 1.8 * ((i * 7919) % 1000) / 1000)));
    let data: Buffer;
    if (i % 2 === 0) data = randomBytes(size);
    else {
      const line = Buffer.from(`line of text for file ${i} with some words ${randomBytes(8).toString('hex')}\n`);
      data = Buffer.alloc(size);
      for (let o = 0; o < size; o += line.length) line.copy(data, o);
    }
    writeFileSync(join(d, `f${i}.dat`), data);
    written += size;
  }
  return written;
}

async function time<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, r];
}

export default async function bench(args: string[]): Promise<void> {
  const nFiles = arg(args, '--files', 5000);
  const mb = arg(args, '--mb', 100);
  const rounds = arg(args, '--read-rounds', 5);
  const root = mkdtempSync(join(tmpdir(), 'bench-commit-'));
  try {
    const tree = join(root, 'tree');
    mkdirSync(tree);
    const bytes = generate(tree, nFiles, mb * 1024 * 1024);
    process.stdout.write(`tree: ${nFiles} files, ${(bytes / 1048576).toFixed(1)} MiB\n`);
    const env = { GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
    await execa('git', ['init', '-q'], { cwd: tree });

    // Warm the page cache for both sides equally.
    for (const f of readDirFiles(tree)) readFileSync(join(tree, f.path));

    const imgPath = join(root, 'bench.img');
    const [tGitfs, commit] = await time(() => {
      const img = createImage(imgPath, { sizeBytes: Math.ceil((bytes * 1.2 + (64 << 20)) / 512) * 512 });
      const c = img.commitTree('main', readDirFiles(tree), { message: 'bench' });
      img.close();
      return c;
    });
    const [tGit] = await time(async () => {
      await execa('git', ['add', '-A'], { cwd: tree, env });
      await execa('git', ['commit', '-q', '-m', 'bench'], { cwd: tree, env });
    });

    const ls = (await execa('git', ['ls-tree', '-r', 'HEAD'], { cwd: tree })).stdout.split('\n');
    const blobHashes = ls.map((l) => l.split(/\s+/)[2]!);
    const gitRead = async () => {
      const r = await execa('git', ['cat-file', '--batch'], { cwd: tree, input: blobHashes.join('\n') + '\n', encoding: 'buffer', maxBuffer: 2 ** 31 - 1 });
      if (r.stdout.length < bytes) throw new Error(`git cat-file gave ${r.stdout.length} bytes, expected over ${bytes}`);
    };
    const gitfsRead = () => {
      const img = openImage(imgPath, { readOnly: true });
      let n = 0;
      let files = 0;
      for (const f of img.readTreeFiles(commit)) {
        n += f.data.length;
        files++;
      }
      img.close();
      if (n !== bytes || files !== nFiles) throw new Error(`read ${files} files / ${n} bytes, expected ${nFiles} / ${bytes}`);
    };
    // Reads are short: several rounds, the two sides alternating which goes first, so both see
    // the same load; the ratio is the median of the rounds' ratios.
    const gitReads: number[] = [];
    const gitfsReads: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let g = 0;
      let f = 0;
      if (r % 2 === 0) {
        [g] = await time(gitRead);
        [f] = await time(gitfsRead);
      } else {
        [f] = await time(gitfsRead);
        [g] = await time(gitRead);
      }
      gitReads.push(g);
      gitfsReads.push(f);
      ratios.push(f / g);
    }
    const tGitRead = median(gitReads);
    const tRead = median(gitfsReads);

    const commitRatio = tGitfs / tGit;
    const readRatio = median(ratios);
    process.stdout.write(`commit: gitfs ${tGitfs.toFixed(2)} s, git add+commit ${tGit.toFixed(2)} s, ratio ${commitRatio.toFixed(2)} (lower is better)\n`);
    process.stdout.write(`read:   gitfs ${tRead.toFixed(2)} s, git cat-file --batch ${tGitRead.toFixed(2)} s, ratio ${readRatio.toFixed(2)} (medians of ${rounds} rounds; ratios ${ratios.map((x) => x.toFixed(2)).join(' ')})\n`);
    process.stdout.write(JSON.stringify({ bench: 'commit', files: nFiles, bytes, gitfsCommitS: tGitfs, gitCommitS: tGit, commitRatio, gitfsReadS: tRead, gitReadS: tGitRead, readRatio }) + '\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
