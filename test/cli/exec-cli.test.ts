// `gittorrent exec` as a user runs it: output of each command, and a failure summary that
// names the failed command without repeating a huge one whole.
import { describe, expect, it, beforeAll } from 'vitest';
import { join } from 'node:path';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir();
let image: string;
beforeAll(async () => {
  const b = await cli(['build', '--out', join(dir, 'out'), '--json']);
  expect(b.exitCode, b.stderr).toBe(0);
  image = (JSON.parse(b.stdout) as { image: string }).image;
});

describe('exec', () => {
  it('runs the commands; the failure summary shortens a 5,000-character command', async () => {
    const huge = `cat /kernel/${'y'.repeat(5000)}`;
    const r = await cli(['exec', '--snapshot', image, 'cat /kernel/VERSION', huge], { timeoutMs: 120_000 });
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toContain('0.1.0');
    const summary = r.stderr.split('\n').find((l) => l.includes('commands failed'))!;
    expect(summary).toBe(`gittorrent: 1 of 2 commands failed (first: ${huge.slice(0, 60)}…: line-too-long)`);
    expect(r.stderr).not.toContain('y'.repeat(100));
  });
});
