// Replication policies: which node must end up with which piece.
//   all       every live node gets every piece (the seed's 100% for master kernels);
//   copies=k  piece p goes to the k live nodes with the highest rendezvous (HRW) weight
//             sha1("<piece>:<node>"); holders keep what they have, nothing is relayed through
//             nodes that are not targets.
import { createHash } from 'node:crypto';
import type { Holdings } from './types.ts';

export type Policy = { kind: 'all' } | { kind: 'copies'; copies: number };

/** Rendezvous weight of (piece, node): the first 48 bits of sha1("piece:node"). */
export function hrwWeight(piece: number, node: number): number {
  const h = createHash('sha1').update(`${piece}:${node}`).digest();
  return h.readUIntBE(0, 6);
}

/** The k live nodes chosen for a piece, highest weight first (ties by lower index). */
export function hrwTargets(piece: number, live: readonly number[], k: number): number[] {
  return [...live]
    .map((n) => ({ n, w: hrwWeight(piece, n) }))
    .sort((a, b) => b.w - a.w || a.n - b.n)
    .slice(0, Math.min(k, live.length))
    .map((x) => x.n);
}

/**
 * wants[node][piece] = 1 when the policy requires the node to hold the piece. Only pieces that
 * exist somewhere in `holdings` are wanted; dead nodes want nothing.
 */
export function wantsFor(policy: Policy, holdings: Holdings, live: readonly boolean[]): Holdings {
  const n = holdings.length;
  const k = n > 0 ? holdings[0]!.length : 0;
  const exists = new Uint8Array(k);
  for (let v = 0; v < n; v++) if (live[v]) for (let p = 0; p < k; p++) if (holdings[v]![p]) exists[p] = 1;
  const wants = Array.from({ length: n }, () => new Uint8Array(k));
  const liveIdx = [...Array(n).keys()].filter((v) => live[v]);
  for (let p = 0; p < k; p++) {
    if (!exists[p]) continue;
    const targets = policy.kind === 'all' ? liveIdx : hrwTargets(p, liveIdx, policy.copies);
    for (const v of targets) wants[v]![p] = 1;
  }
  return wants;
}

export function parsePolicy(text: string): Policy | null {
  if (text === 'all') return { kind: 'all' };
  const m = /^copies=(\d+)$/.exec(text);
  if (m && Number(m[1]) >= 1) return { kind: 'copies', copies: Number(m[1]) };
  return null;
}

export function policyName(p: Policy): string {
  return p.kind === 'all' ? 'all' : `copies=${p.copies}`;
}
