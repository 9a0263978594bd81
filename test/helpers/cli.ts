// Runs the real CLI (`node bin/gittorrent.js ...`) as a user would.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/gittorrent.js', import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], {
    cwd: REPO,
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    input: opts.input,
    env: { CI: '1' },
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
