// One seed, K pieces, N nodes, full replication: schedules on fixed communication patterns.
//
// A pattern says, for every round, where each node sends (a permutation, so each node also
// receives from at most one peer). The seed injects piece t in round t (a piece nobody else has,
// as the seed's "unique data first" rule asks); every other sender forwards the newest piece
// (highest index) its target lacks. Patterns tried, in order:
//   - the hypercube (N = 2^d): round t pairs x with x XOR 2^(t mod d); reaches K + d - 1;
//   - circulant graphs x -> x + s_j (mod N) with ceil(log2 N) skips (Träff's halving skips
//     s_q = N, s_j = ceil(s_{j+1} / 2), and powers of two), in descending and ascending order and
//     every rotation of it; a rarest-first variant of the forwarding rule.
// The first schedule that meets the lower bound wins; otherwise the shortest one.
import { ceilLog2, oneSeedLowerBound, type Schedule } from './types.ts';

type Rule = 'newest' | 'rarest';

interface Pattern {
  name: string;
  /** Target of node x (relative to the seed, which is 0) in round t. */
  target: (t: number, x: number) => number;
  rule: Rule;
}

/** Träff's skips: s_q = N, s_j = ceil(s_{j+1} / 2); ascending s_0 = 1, s_1 = 2, ... */
export function halvingSkips(n: number): number[] {
  const q = ceilLog2(n);
  const s = new Array<number>(q + 1).fill(0);
  s[q] = n;
  for (let j = q - 1; j >= 0; j--) s[j] = Math.ceil(s[j + 1]! / 2);
  return s.slice(0, q);
}

function powerSkips(n: number): number[] {
  return Array.from({ length: ceilLog2(n) }, (_, j) => 2 ** j);
}

function rotations(a: number[]): number[][] {
  return a.map((_, i) => [...a.slice(i), ...a.slice(0, i)]);
}

function circulant(n: number, skips: number[], rule: Rule, name: string): Pattern {
  const q = skips.length;
  return { name, rule, target: (t, x) => (x + skips[t % q]!) % n };
}

export function patterns(n: number): Pattern[] {
  const out: Pattern[] = [];
  const d = ceilLog2(n);
  if (2 ** d === n) out.push({ name: 'hypercube', rule: 'newest', target: (t, x) => x ^ (1 << t % d) });
  const families: [string, number[]][] = [
    ['halving-desc', halvingSkips(n).reverse()],
    ['powers-desc', powerSkips(n).reverse()],
    ['halving-asc', halvingSkips(n)],
    ['powers-asc', powerSkips(n)],
  ];
  for (const rule of ['newest', 'rarest'] as Rule[]) {
    for (const [fam, skips] of families) {
      rotations(skips).forEach((rot, i) => out.push(circulant(n, rot, rule, `circulant-${fam}-rot${i}-${rule}`)));
    }
  }
  // Halving skips of a slightly larger circle, taken mod N (needed for N = 34..36).
  for (let j = 1; j <= 8; j++) {
    const skips = halvingSkips(n + j).map((s) => s % n);
    if (skips.length !== d || new Set(skips).size !== d || skips.includes(0)) continue;
    for (const rule of ['newest', 'rarest'] as Rule[]) {
      rotations(skips.slice().reverse()).forEach((rot, i) =>
        out.push(circulant(n, rot, rule, `circulant-halving${n + j}-desc-rot${i}-${rule}`)),
      );
    }
  }
  return out;
}

/**
 * Runs one pattern. Returns the schedule in relative node numbers (seed = 0), or null when it
 * does not finish within `limit` rounds.
 */
export function runPattern(n: number, k: number, p: Pattern, limit: number): Schedule | null {
  const has = new Uint8Array(n * k);
  for (let b = 0; b < k; b++) has[b] = 1;
  const count = new Int32Array(n);
  count[0] = k;
  const holders = new Int32Array(k).fill(1);
  let missing = (n - 1) * k;
  const schedule: Schedule = [];
  const to = new Int32Array(n);
  const piece = new Int32Array(n);
  for (let t = 0; missing > 0; t++) {
    if (t >= limit) return null;
    const round = [];
    for (let x = 0; x < n; x++) {
      piece[x] = -1;
      const y = p.target(t, x);
      to[x] = y;
      if (y === 0 || y === x || count[y] === k) continue;
      const hx = x * k;
      const hy = y * k;
      let pick = -1;
      if (x === 0 && t < k) pick = t;
      else if (p.rule === 'newest') {
        for (let b = k - 1; b >= 0; b--) {
          if (has[hx + b] && !has[hy + b]) {
            pick = b;
            break;
          }
        }
      } else {
        let best = Infinity;
        for (let b = k - 1; b >= 0; b--) {
          if (has[hx + b] && !has[hy + b] && holders[b]! < best) {
            best = holders[b]!;
            pick = b;
          }
        }
      }
      piece[x] = pick;
    }
    for (let x = 0; x < n; x++) {
      const b = piece[x]!;
      if (b < 0) continue;
      const y = to[x]!;
      round.push({ from: x, to: y, piece: b });
      has[y * k + b] = 1;
      count[y]!++;
      holders[b]!++;
      missing--;
    }
    schedule.push(round);
  }
  return schedule;
}

export interface BroadcastPlan {
  schedule: Schedule;
  pattern: string;
}

/**
 * Best schedule found for one seed (node `seed` of `n`) with `k` pieces. `budgetMs` bounds the
 * time spent trying patterns once one complete schedule exists.
 */
export function planBroadcast(n: number, k: number, seed = 0, budgetMs = 3000): BroadcastPlan {
  if (n <= 1 || k === 0) return { schedule: [], pattern: 'none' };
  const bound = oneSeedLowerBound(n, k);
  const start = performance.now();
  let best: BroadcastPlan | null = null;
  for (const p of patterns(n)) {
    const limit = best ? best.schedule.length - 1 : 4 * (k + ceilLog2(n)) + n;
    const s = runPattern(n, k, p, limit);
    if (s && (!best || s.length < best.schedule.length)) best = { schedule: s, pattern: p.name };
    if (best && best.schedule.length <= bound) break;
    if (best && performance.now() - start > budgetMs) break;
  }
  if (!best) throw new Error('no pattern completed'); // the hypercube/circulant always complete
  const rel = best.schedule;
  const abs = (x: number) => (x + seed) % n;
  return {
    pattern: best.pattern,
    schedule: rel.map((r) => r.map((tr) => ({ from: abs(tr.from), to: abs(tr.to), piece: tr.piece }))),
  };
}
