// Runs the kernel's own network tools (ip, nft, tc, tcpdump), optionally inside a namespace.
import { execa } from 'execa';
import { ToolError } from '../../core/errors.ts';

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function sh(cmd: string, args: string[], opts: { ns?: string; input?: string; check?: boolean } = {}): Promise<ShResult> {
  const argv = opts.ns ? ['netns', 'exec', opts.ns, cmd, ...args] : args;
  const r = await execa(opts.ns ? 'ip' : cmd, argv, { reject: false, input: opts.input, timeout: 30_000 });
  const res = { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  if ((r as { code?: string }).code === 'ENOENT') throw new ToolError(`${opts.ns ? 'ip' : cmd} is not installed (run scripts/setup.sh)`);
  if (opts.check !== false && res.code !== 0) {
    throw new ToolError(`${cmd} ${args.join(' ')}${opts.ns ? ` (in ${opts.ns})` : ''}: ${res.stderr.trim().split('\n').at(-1) ?? `status ${res.code}`}`);
  }
  return res;
}
