// Shared types of the propagation planner: nodes are indices 0..N-1 in cluster order, pieces
// (the seed's "deltas") are indices 0..K-1 (shown to people as 1..K).

/** One transfer in a round: `from` sends piece `piece` to `to`. */
export interface Transfer {
  from: number;
  to: number;
  piece: number;
}

/** A schedule: one array of transfers per round. */
export type Schedule = Transfer[][];

/** holdings[node][piece] = 1 when the node holds the piece. */
export type Holdings = Uint8Array[];

export function emptyHoldings(nodes: number, pieces: number): Holdings {
  return Array.from({ length: nodes }, () => new Uint8Array(pieces));
}

export function cloneHoldings(h: Holdings): Holdings {
  return h.map((row) => row.slice());
}

/** One seed (node `seed`) holding every piece, everyone else nothing. */
export function seedHoldings(nodes: number, pieces: number, seed = 0): Holdings {
  const h = emptyHoldings(nodes, pieces);
  h[seed]!.fill(1);
  return h;
}

/** ceil(log2 n) for n >= 1. */
export function ceilLog2(n: number): number {
  let d = 0;
  while (2 ** d < n) d++;
  return d;
}

/** Lower bound K - 1 + ceil(log2 N) for one seed with K pieces and N nodes in total. */
export function oneSeedLowerBound(nodes: number, pieces: number): number {
  if (nodes <= 1 || pieces === 0) return 0;
  return pieces - 1 + ceilLog2(nodes);
}
