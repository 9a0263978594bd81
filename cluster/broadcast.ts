// One seed, K pieces, N nodes, full replication: Träff's round-optimal circulant broadcast
// schedule (J. L. Träff, "Round-optimal n-Block Broadcast Schedules in Logarithmic Time",
// arXiv 2312.11236; the circulant graph of arXiv 2205.10072 and Träff & Ripke).
//
// Communication graph: q = ceil(log2 N) halving skips s_q = N, s_j = ceil(s_{j+1} / 2), so
// s_0 = 1, s_1 = 2, ... In round i, with slot k = i mod q, every node r (numbered relative to the
// seed, which is 0) sends to r + s_k and receives from r - s_k (mod N): a permutation, so every
// node sends at most once and receives at most once per round.
//
// Pieces: every node r != 0 owns a receive schedule recv[0..q-1] (q entries, computed
// independently per node in O(log^2 N) here): in plan round t, with i = t + x, slot k = i mod q
// and phase j = floor(i / q), it receives piece recv[k] + j*q - x from r - s_k, where
// x = (q - (K-1) mod q) mod q aligns the phases so that the last one ends the broadcast. recv[]
// holds the node's baseblock b (the smallest skip of the greedy decomposition of r into skips)
// and b' - q for every other b' in 0..q-1, so the q slots cover every residue mod q once and every
// piece arrives exactly once. Pieces below 0 are not sent; pieces from K on are clamped to K-1
// (and dropped when the receiver already has K-1). What a node sends in slot k is by definition
// what its target r + s_k receives, so only receive schedules are needed. Träff proves that the
// sender always holds that piece, so the plan takes K - 1 + q rounds: the lower bound.
//
// planBroadcast replays its own plan while emitting it (O(N (K + q))) and throws rather than
// return an invalid plan; test/cluster/broadcast.test.ts checks it against the independent
// validator over wide ranges of N and K.
import { ceilLog2, type Schedule, type Transfer } from './types.ts';

/** Träff's skips s_0..s_q: s_q = N, s_j = ceil(s_{j+1} / 2). Length q + 1; s_0 = 1 for N >= 2. */
export function halvingSkips(n: number): number[] {
  const q = ceilLog2(n);
  const s = new Array<number>(q + 1).fill(0);
  s[q] = n;
  for (let j = q - 1; j >= 0; j--) s[j] = Math.ceil(s[j + 1]! / 2);
  return s;
}

/**
 * Baseblock of node r (relative to the seed): write r greedily as a sum of distinct skips, largest
 * first (take s_j while the partial sum stays below r, stop when it hits r exactly); the baseblock
 * is the index of the last (smallest) skip taken. The seed (r = 0) gets q.
 */
export function baseblock(r: number, skips: readonly number[]): number {
  const q = skips.length - 1;
  let sum = 0;
  for (let j = q - 1; j >= 0; j--) {
    const next = sum + skips[j]!;
    if (next === r) return j;
    if (next < r) sum = next;
  }
  return q;
}

/**
 * Receive schedule of node r (1 <= r < N): entry k is the piece (relative to the phase) node r
 * receives in slot k, from r - s_k. One entry is the baseblock b, the others are b' - q for the
 * remaining skip indices b' != b, so the entries are distinct modulo q.
 *
 * The search (Träff's greedy depth-first search over canonical skip sequences): node r is taken
 * as R = N + r; walking canonical paths 0, s_e1, s_e1 + s_e2, ... (skip indices not yet assigned,
 * tried from large to small) it assigns, slot by slot in increasing order, the index e of the
 * last skip of a path whose end lies at or before the slot's sender R - s_k and strictly before
 * the previously assigned end; a path end that also lies at or before R - s_{k+1} is first
 * extended, so that deeper (earlier-arriving) candidates fill the slots first. Index q (the path
 * that wraps around through the seed) stands for the baseblock itself.
 */
export function receiveSchedule(r: number, skips: readonly number[]): Int32Array {
  const q = skips.length - 1;
  const n = skips[q]!;
  const b = baseblock(r, skips);
  const R = n + r;
  const assigned = new Uint8Array(q + 1);
  assigned[b] = 1;
  const slotIndex = new Int32Array(q).fill(-1);
  let slot = 0;
  // Extends the path ending at `end`; `bound` is the previous accepted path end (exclusive).
  const extend = (end: number, bound: number, from: number): void => {
    for (let e = from; e >= 0 && slot < q; e--) {
      if (assigned[e]) continue;
      const cand = end + skips[e]!;
      if (cand > R - skips[slot]! || cand >= bound) continue;
      if (cand <= R - skips[slot + 1]!) {
        extend(cand, bound, e);
        // Never taken for N <= 5000 (checked); guards against filling a slot twice.
        if (slot >= q) return;
        if (assigned[e]) continue;
      }
      if (end > R - skips[slot + 1]!) return;
      bound = cand;
      slotIndex[slot++] = e;
      assigned[e] = 1;
    }
  };
  extend(0, 2 * n, q);
  if (slot !== q) throw new Error(`receive schedule of node ${r} of ${n}: only ${slot} of ${q} slots`);
  const out = new Int32Array(q);
  for (let k = 0; k < q; k++) out[k] = slotIndex[k] === q ? b : slotIndex[k]! - q;
  return out;
}

export interface BroadcastPlan {
  schedule: Schedule;
  pattern: string;
}

/**
 * Schedule for one seed (node `seed` of `n`) with `k` pieces: K - 1 + ceil(log2 N) rounds, the
 * lower bound. Deterministic, O(N log² N) to build the receive schedules and O(N (K + log N)) to
 * emit and check the transfers.
 */
export function planBroadcast(n: number, k: number, seed = 0): BroadcastPlan {
  if (n <= 1 || k === 0) return { schedule: [], pattern: 'none' };
  const skips = halvingSkips(n);
  const q = skips.length - 1;
  const recv = new Int32Array(n * q); // recv[r * q + slot]; the seed's row stays unused
  for (let r = 1; r < n; r++) recv.set(receiveSchedule(r, skips), r * q);

  const has = new Uint8Array(n * k);
  has.fill(1, 0, k); // the seed (relative node 0) holds everything
  const x = (q - ((k - 1) % q)) % q;
  const rounds = k - 1 + q;
  const got = new Int32Array(n);
  const schedule: Schedule = [];
  for (let t = 0; t < rounds; t++) {
    const i = t + x;
    const slot = i % q;
    const base = i - slot - x; // phase * q - x
    const s = skips[slot]!;
    const round: Transfer[] = [];
    for (let r = 1; r < n; r++) {
      let piece = recv[r * q + slot]! + base;
      got[r] = -1;
      if (piece < 0) continue;
      if (piece >= k) piece = k - 1;
      if (has[r * k + piece]) continue; // redundant (clamped) transfer: drop it
      const from = r >= s ? r - s : r - s + n;
      if (!has[from * k + piece]) {
        throw new Error(`broadcast ${n}x${k}: node ${from} lacks piece ${piece} in round ${t}`);
      }
      got[r] = piece;
      const a = from + seed;
      const b = r + seed;
      round.push({ from: a >= n ? a - n : a, to: b >= n ? b - n : b, piece });
    }
    for (let r = 1; r < n; r++) if (got[r]! >= 0) has[r * k + got[r]!] = 1;
    schedule.push(round);
  }
  if (has.indexOf(0) >= 0) {
    const i = has.indexOf(0);
    throw new Error(`broadcast ${n}x${k}: node ${Math.floor(i / k)} lacks piece ${i % k} at the end`);
  }
  return { schedule, pattern: 'circulant-traff' };
}
