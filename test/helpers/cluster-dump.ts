// A debugging aid for the networked files: with GT_DUMP_DIR set, a file's afterAll writes every
// node's serial events (`cluster logs`, host-timed) there before it tears its cluster down, so a
// check that failed under a loaded CI can be read afterwards. Without the variable it does nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli.ts';

export async function dumpClusterLogs(name: string, nodes: number[], tag: string): Promise<void> {
  const dir = process.env.GT_DUMP_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  for (const n of nodes) {
    const r = await cli(['cluster', 'logs', String(n), '--name', name], { timeoutMs: 60_000 });
    // a cluster already down (placement's last check downs it after its own dump) has no logs
    // to give: keep what the earlier dump wrote rather than its "not up" line
    if (r.exitCode === 0) writeFileSync(join(dir, `${tag}-node${n}.log`), r.stdout);
  }
}
