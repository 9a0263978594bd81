// `gittorrent cluster wait --converged`: polls `cluster status` until every live node reports
// the same revision with nothing pending and its blobs placed by policy: none missing, no
// surplus copy left (docs/protocol.md, "Sync"). It reports the rounds the convergence used: a
// propagation's, measured, when one finished during the wait (or since the status a `cluster
// commit --wait` took before its commit); the sync runs otherwise.
import type { NodePropagation, NodeStatus } from '../supervisor/supervisor.ts';
import { rateBitsPerSecond } from '../net/faults.ts';
import { ceilLog2 } from '../types.ts';
import { CHUNK_MAX, PIECE_SIZE, SIZE } from '../wire/constants.ts';

/** The bytes of one full piece on the wire: its PIECE frames, each with Ethernet 14 + IPv4 20 +
 *  UDP 8 + header 20 + PIECE fixed part before its chunk. */
export const PIECE_WIRE_BYTES = PIECE_SIZE + Math.ceil(PIECE_SIZE / CHUNK_MAX) * (14 + 20 + 8 + 20 + SIZE.PIECE_FIXED);

/** The time of one piece over one link at a tc rate, µs. */
export function pieceWireUs(rate: string): number {
  return (PIECE_WIRE_BYTES * 8 * 1e6) / rateBitsPerSecond(rate);
}

/** The latest propagation, as its nodes account for it (docs/protocol.md, "Propagation"). */
export interface PropagationRounds {
  id: string;
  pieces: number;
  /** Nodes in the update (its manifest's list, the host peer included when it took part). */
  nodes: number;
  /** K − 1 + ⌈log₂ N⌉: the fewest rounds any schedule can take (one seed, everyone wants all). */
  optimum: number;
  /** The slowest node's time from its manifest to every piece held. */
  ms: number;
  /** The median over the receiving nodes of each one's median time for one piece to arrive
   *  (first chunk to verified). */
  pieceUs: number;
  /** The round's unit, µs: the time of one piece over one link (the seed's model). With the
   *  links limited (`up --rate`), the wire time of a piece's frames at that rate (unit 'rate'):
   *  a guest behind a tap reads its queue in bursts, so its own piece time shows how fast it
   *  takes a piece in, not the link's pace. Without a rate, the guests' pace is the link's, and
   *  the unit is the measured pieceUs (unit 'measured'). */
  roundUs: number;
  unit: 'rate' | 'measured';
  /** ms / roundUs, rounded: the rounds the propagation used, measured. */
  rounds: number;
}

export interface ConvergeResult {
  converged: boolean;
  rev: string;
  ms: number;
  /** The rounds the convergence used: the propagation's measured rounds when one finished
   *  during the wait (roundsOf 'propagation'), else the sync runs since the wait began, the
   *  largest count of any node (roundsOf 'sync'). */
  rounds: number;
  roundsOf: 'propagation' | 'sync';
  /** The latest propagation every node of it stored (whether or not it ran during the wait). */
  update?: PropagationRounds;
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

/** The upper median (the kernel's bc_piece_median takes the same element). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}

/**
 * The latest propagation of the ready nodes: the update id most of them report, when every one
 * that reports it has stored it (undefined while it runs, or when none has one). Its rounds: the
 * slowest receiver's time over the time of one piece on one link.
 */
export function propagationRounds(nodes: readonly NodeStatus[], rate?: string): PropagationRounds | undefined {
  const own = nodes.filter((n) => n.state === 'ready' && n.propagation).map((n) => n.propagation!);
  const votes = new Map<string, number>();
  for (const p of own) votes.set(p.id, (votes.get(p.id) ?? 0) + 1);
  const id = [...votes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  if (id === undefined) return undefined;
  const of = own.filter((p) => p.id === id);
  if (!of.every((p) => p.state === 'stored')) return undefined;
  const rx = of.filter((p): p is NodePropagation => p.role !== 'seed' && p.pieceUs > 0);
  const first = of[0]!;
  const ms = Math.max(0, ...rx.map((p) => p.ms));
  const pieceUs = median(rx.map((p) => p.pieceUs));
  const roundUs = rate !== undefined ? Math.round(pieceWireUs(rate)) : pieceUs;
  return {
    id, pieces: first.pieces, nodes: first.nodes,
    optimum: first.pieces - 1 + ceilLog2(first.nodes),
    ms, pieceUs, roundUs, unit: rate !== undefined ? 'rate' : 'measured',
    rounds: roundUs > 0 ? Math.round((ms * 1000) / roundUs) : 0,
  };
}

/** A status taken before a change (`cluster commit --wait`), and when: the wait then counts
 *  from it, and a propagation the change started counts even if it ended before the first poll. */
export interface WaitSince {
  nodes: NodeStatus[];
  rate?: string;
  t0: number;
}

export async function waitConverged(status: () => Promise<{ nodes: NodeStatus[]; rate?: string }>, timeoutMs: number, pollMs = 250, since?: WaitSince): Promise<ConvergeResult> {
  const t0 = since?.t0 ?? Date.now();
  const first = since ?? await status();
  const rate = first.rate;
  const base = new Map(first.nodes.map((n) => [n.node, n.rounds ?? 0]));
  // a propagation counts for this wait unless every node of it had stored it when the wait
  // began (or before the change it waits for)
  const before = propagationRounds(first.nodes, rate)?.id;
  let last = since ? (await status()).nodes : first.nodes;
  for (;;) {
    const done = isConverged(last);
    const ms = Date.now() - t0;
    if (done || ms >= timeoutMs) {
      const live = last.filter((n) => n.state === 'ready');
      const syncRuns = Math.max(0, ...live.map((n) => (n.rounds ?? 0) - (base.get(n.node) ?? 0)));
      const update = propagationRounds(last, rate);
      const during = update !== undefined && update.id !== before;
      return {
        converged: done, rev: done ? live[0]!.rev : '', ms,
        rounds: during ? update.rounds : syncRuns, roundsOf: during ? 'propagation' : 'sync',
        ...(update ? { update } : {}),
        nodes: live.map((n) => ({ node: n.node, rev: n.rev, ...(n.pending !== undefined ? { pending: n.pending } : {}), ...(n.missing !== undefined ? { missing: n.missing } : {}), ...(n.surplus !== undefined ? { surplus: n.surplus } : {}) })),
      };
    }
    await new Promise((r) => setTimeout(r, pollMs));
    last = (await status()).nodes;
  }
}
