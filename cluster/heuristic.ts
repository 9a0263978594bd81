// General-case round planner: any initial holdings, any policy. Each round is a bipartite
// matching senders -> receivers (each sends and receives at most once) built greedily and then
// grown by augmenting paths (Kuhn), then every matched pair gets the rarest piece the receiver
// still needs. A node holding pieces nobody else holds (and somebody needs) serves only those,
// as the seed asks of the updated node. Deterministic: the same inputs give the same rounds.
import type { Holdings, Schedule, Transfer } from './types.ts';

const WORD = 32;

class Bits {
  readonly words: number;
  readonly data: Uint32Array;
  constructor(
    readonly rows: number,
    readonly bits: number,
  ) {
    this.words = Math.max(1, Math.ceil(bits / WORD));
    this.data = new Uint32Array(rows * this.words);
  }
  get(r: number, b: number): boolean {
    return ((this.data[r * this.words + (b >>> 5)]! >>> (b & 31)) & 1) === 1;
  }
  set(r: number, b: number): void {
    this.data[r * this.words + (b >>> 5)]! |= 1 << (b & 31);
  }
  clear(r: number, b: number): void {
    this.data[r * this.words + (b >>> 5)]! &= ~(1 << (b & 31));
  }
}

export interface RoundInput {
  holdings: Holdings;
  wants: Holdings;
  /** Nodes that take part (left nodes neither send nor receive). */
  live: readonly boolean[];
}

/** One round of transfers for the current state (empty when nothing is left to do). */
export function planRound(input: RoundInput): Transfer[] {
  const { holdings, wants, live } = input;
  const n = holdings.length;
  const k = n > 0 ? holdings[0]!.length : 0;
  const has = new Bits(n, k);
  const need = new Bits(n, k);
  const holders = new Int32Array(k);
  const needers = new Int32Array(k);
  const receivers: number[] = [];
  const missing = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    if (!live[v]) continue;
    const h = holdings[v]!;
    const w = wants[v]!;
    for (let p = 0; p < k; p++) {
      if (h[p]) {
        has.set(v, p);
        holders[p]!++;
      } else if (w[p]) {
        need.set(v, p);
        needers[p]!++;
        missing[v]!++;
      }
    }
    if (missing[v]! > 0) receivers.push(v);
  }
  if (receivers.length === 0) return [];
  // What each sender may offer: its unique, needed pieces if it has any, else all it holds.
  const offer = new Bits(n, k);
  const senders: number[] = []; // live nodes holding something, in cluster order
  for (let u = 0; u < n; u++) {
    if (!live[u]) continue;
    let any = false;
    for (let i = 0; i < has.words && !any; i++) any = has.data[u * has.words + i] !== 0;
    if (!any) continue;
    senders.push(u);
    let unique = false;
    for (let p = 0; p < k; p++) {
      if (has.get(u, p) && holders[p] === 1 && needers[p]! > 0) {
        offer.set(u, p);
        unique = true;
      }
    }
    if (!unique) for (let i = 0; i < has.words; i++) offer.data[u * offer.words + i] = has.data[u * has.words + i]!;
  }
  const W = has.words;
  const edge = (u: number, v: number): boolean => {
    const ou = u * W;
    const nv = v * W;
    for (let i = 0; i < W; i++) if ((offer.data[ou + i]! & need.data[nv + i]!) !== 0) return true;
    return false;
  };
  // Receivers that need the rarest pieces go first, then those missing most; ties by index.
  const rarest = new Int32Array(n).fill(1 << 30);
  for (const v of receivers) for (let p = 0; p < k; p++) if (need.get(v, p) && holders[p]! < rarest[v]!) rarest[v] = holders[p]!;
  receivers.sort((a, b) => rarest[a]! - rarest[b]! || missing[b]! - missing[a]! || a - b);
  // Candidate senders of v: the senders before v in cluster order, nearest first (cyclic).
  const S = senders.length;
  const firstBefore = (v: number): number => {
    let lo = 0;
    let hi = S; // first index with senders[i] >= v
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (senders[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return (lo - 1 + S) % S;
  };
  const senderOf = new Int32Array(n).fill(-1); // receiver -> sender
  const receiverOf = new Int32Array(n).fill(-1); // sender -> receiver
  // Greedy pass: the nearest preceding node in cluster order that can serve.
  for (const v of receivers) {
    const i0 = firstBefore(v);
    for (let d = 0; d < S; d++) {
      const u = senders[(i0 - d + S) % S]!;
      if (u === v || receiverOf[u] !== -1) continue;
      if (edge(u, v)) {
        receiverOf[u] = v;
        senderOf[v] = u;
        break;
      }
    }
  }
  // Augmenting paths for receivers left out, with a work budget for large clusters.
  let budget = 200_000;
  const stamp = new Int32Array(n);
  let epoch = 0;
  const augment = (v: number): boolean => {
    const i0 = firstBefore(v);
    for (let d = 0; d < S; d++) {
      if (--budget < 0) return false;
      const u = senders[(i0 - d + S) % S]!;
      if (u === v || stamp[u] === epoch || !edge(u, v)) continue;
      stamp[u] = epoch;
      const w = receiverOf[u]!;
      if (w === -1 || augment(w)) {
        receiverOf[u] = v;
        senderOf[v] = u;
        return true;
      }
    }
    return false;
  };
  for (const v of receivers) {
    if (senderOf[v] !== -1) continue;
    epoch++;
    augment(v);
    if (budget < 0) break;
  }
  // Pieces: rarest first counting what this round already moves; ties by lower index.
  const planned = new Int32Array(k);
  const out: Transfer[] = [];
  for (const v of receivers) {
    const u = senderOf[v]!;
    if (u < 0) continue;
    let pick = -1;
    let best = Infinity;
    for (let p = 0; p < k; p++) {
      if (offer.get(u, p) && need.get(v, p)) {
        const score = holders[p]! + planned[p]!;
        if (score < best) {
          best = score;
          pick = p;
        }
      }
    }
    planned[pick]!++;
    out.push({ from: u, to: v, piece: pick });
  }
  out.sort((a, b) => a.from - b.from);
  return out;
}

/** Plans every round until the policy is met (or no progress is possible). */
export function planGreedy(holdings: Holdings, wants: Holdings, live?: readonly boolean[]): Schedule {
  const alive = live ?? holdings.map(() => true);
  const cur = holdings.map((r) => r.slice());
  const schedule: Schedule = [];
  for (;;) {
    const round = planRound({ holdings: cur, wants, live: alive });
    if (round.length === 0) break;
    for (const t of round) cur[t.to]![t.piece] = 1;
    schedule.push(round);
  }
  return schedule;
}
