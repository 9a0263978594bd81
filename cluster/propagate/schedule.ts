// One node's part of the round-optimal broadcast schedule (cluster/broadcast.ts, Träff's
// circulant construction), computed alone from the node count, the piece count and the node's
// index in the update's node list (0 = the seed): what it receives in each plan round and what
// it pushes to whom. The kernel (kernel-asm/kernel/gtp_bcast.asm) computes the same; `bsched`
// there prints scheduleFnv's value for each N (the port's check).
import { baseblock, halvingSkips, receiveSchedule } from '../broadcast.ts';

export interface Push {
  round: number;
  /** Index of the target in the node list. */
  to: number;
  piece: number;
}

export interface NodePlan {
  n: number;
  k: number;
  me: number;
  q: number;
  x: number;
  rounds: number;
  /** What this node receives, by plan round (-1: nothing); empty for the seed. */
  receives: Int32Array;
  /** This node's pushes in plan order (clamped copies the target already has are left out). */
  pushes: Push[];
}

/** The piece a node with receive schedule `row` gets in plan round t (clamped; -1 none). */
function roundPiece(t: number, row: Int32Array, q: number, x: number, k: number): number {
  const i = t + x;
  const slot = i % q;
  const p = row[slot]! + i - slot - x;
  if (p < 0) return -1;
  return p >= k ? k - 1 : p;
}

export function nodePlan(n: number, k: number, me: number): NodePlan {
  if (n < 2 || k < 1 || me < 0 || me >= n) throw new RangeError(`no plan for node ${me} of ${n} with ${k} pieces`);
  const skips = halvingSkips(n);
  const q = skips.length - 1;
  const x = (q - ((k - 1) % q)) % q;
  const rounds = k - 1 + q;
  const receives = new Int32Array(me === 0 ? 0 : rounds).fill(-1);
  if (me !== 0) {
    const row = receiveSchedule(me, skips);
    const seen = new Uint8Array(k);
    for (let t = 0; t < rounds; t++) {
      const p = roundPiece(t, row, q, x, k);
      if (p >= 0 && !seen[p]) {
        seen[p] = 1;
        receives[t] = p;
      }
    }
  }
  const pushes: Push[] = [];
  const targets = Array.from({ length: q }, (_, slot) => {
    const to = (me + skips[slot]!) % n;
    if (to === 0) return undefined;
    const row = receiveSchedule(to, skips);
    let first = -1;
    for (let t = 0; t < rounds && first < 0; t++) if (roundPiece(t, row, q, x, k) === k - 1) first = t;
    return { to, row, first };
  });
  for (let t = 0; t < rounds; t++) {
    const slot = (t + x) % q;
    const tg = targets[slot];
    if (!tg) continue;
    const p = roundPiece(t, tg.row, q, x, k);
    if (p < 0 || (p === k - 1 && t !== tg.first)) continue;
    pushes.push({ round: t, to: tg.to, piece: p });
  }
  return { n, k, me, q, x, rounds, receives, pushes };
}

/**
 * FNV-1a (32 bits) over the receive schedules of nodes 1..N-1, entries in slot order, each
 * as its low byte: the kernel's `bsched N N` prints the same number.
 */
export function scheduleFnv(n: number): number {
  const skips = halvingSkips(n);
  let h = 0x811c9dc5;
  for (let r = 1; r < n; r++) {
    for (const e of receiveSchedule(r, skips)) {
      h ^= e & 0xff;
      h = Math.imul(h, 16777619) >>> 0;
    }
  }
  return h >>> 0;
}

export { baseblock };
