// Exact optimum by breadth-first search over holdings states, for small cases only
// (nodes x pieces <= 24 bits). Pure model: the "unique data first" rule is not imposed.
import type { Holdings } from './types.ts';

export function exactRounds(holdings: Holdings, wants: Holdings, maxRounds = 64): number {
  const n = holdings.length;
  const k = n > 0 ? holdings[0]!.length : 0;
  if (n * k > 24) throw new Error('exactRounds: case too large');
  const bit = (v: number, p: number) => 1 << (v * k + p);
  let start = 0;
  let goal = 0;
  for (let v = 0; v < n; v++) {
    for (let p = 0; p < k; p++) {
      if (holdings[v]![p]) start |= bit(v, p);
      if (wants[v]![p]) goal |= bit(v, p);
    }
  }
  const done = (s: number) => (s & goal) === goal;
  if (done(start)) return 0;
  const seen = new Set<number>([start]);
  let layer = [start];
  for (let r = 1; r <= maxRounds; r++) {
    const next: number[] = [];
    for (const s of layer) {
      // Receivers choose (sender, piece); senders distinct. Only useful transfers.
      const rec = (v: number, used: number, add: number): boolean => {
        if (v === n) {
          if (add === 0) return false;
          const t = s | add;
          if (done(t)) return true;
          if (!seen.has(t)) {
            seen.add(t);
            next.push(t);
          }
          return false;
        }
        if (rec(v + 1, used, add)) return true;
        for (let p = 0; p < k; p++) {
          const b = bit(v, p);
          if (s & b || !(goal & b)) continue;
          for (let u = 0; u < n; u++) {
            if (u === v || used & (1 << u) || !(s & bit(u, p))) continue;
            if (rec(v + 1, used | (1 << u), add | b)) return true;
          }
        }
        return false;
      };
      if (rec(0, 0, 0)) return r;
    }
    if (next.length === 0) return Infinity;
    layer = next;
  }
  return Infinity;
}
