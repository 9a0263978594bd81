// `gittorrent cluster wait --converged`: polls `cluster status` until every live node reports
// the same revision with nothing pending and its blobs placed by policy: none missing, no
// surplus copy left (docs/protocol.md, "Sync").
import type { NodeStatus } from '../supervisor/supervisor.ts';

export interface ConvergeResult {
  converged: boolean;
  rev: string;
  ms: number;
  /** Sync exchanges (SYNC runs) since the wait began: the largest count of any node. */
  rounds: number;
  nodes: Array<{ node: number; rev: string; pending?: number; missing?: number; surplus?: number }>;
}

/**
 * Converged: no node still booting, and every ready node answered `sync` with one revision and
 * pending 0, and `placed` with missing=0 and surplus=0 (every blob on the nodes the policy places
 * it on, and only there). Stopped nodes do not count.
 */
export function isConverged(nodes: readonly NodeStatus[]): boolean {
  if (nodes.some((n) => n.state === 'booting')) return false;
  const live = nodes.filter((n) => n.state === 'ready');
  if (live.length === 0) return false;
  const rev = live[0]!.rev;
  return rev !== '' && live.every((n) => n.pending !== undefined && n.rev === rev && n.pending === 0 && (n.missing === undefined || n.missing === 0) && (n.surplus === undefined || n.surplus === 0));
}

export async function waitConverged(status: () => Promise<{ nodes: NodeStatus[] }>, timeoutMs: number, pollMs = 250): Promise<ConvergeResult> {
  const t0 = Date.now();
  const first = await status();
  const base = new Map(first.nodes.map((n) => [n.node, n.rounds ?? 0]));
  let last = first.nodes;
  for (;;) {
    const done = isConverged(last);
    const ms = Date.now() - t0;
    if (done || ms >= timeoutMs) {
      const live = last.filter((n) => n.state === 'ready');
      const rounds = Math.max(0, ...live.map((n) => (n.rounds ?? 0) - (base.get(n.node) ?? 0)));
      return {
        converged: done, rev: done ? live[0]!.rev : '', ms, rounds,
        nodes: live.map((n) => ({ node: n.node, rev: n.rev, ...(n.pending !== undefined ? { pending: n.pending } : {}), ...(n.missing !== undefined ? { missing: n.missing } : {}), ...(n.surplus !== undefined ? { surplus: n.surplus } : {}) })),
      };
    }
    await new Promise((r) => setTimeout(r, pollMs));
    last = (await status()).nodes;
  }
}
