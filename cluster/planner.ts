// The propagation planner: from the ordered nodes, what each holds and the policy, a schedule of
// rounds in the seed's model (per round a node sends to at most one peer and receives from at
// most one peer). Deterministic: every node that sees the same inputs computes the same plan.
//   - one seed holding everything that exists, full replication: Traff's round-optimal
//     circulant broadcast (cluster/broadcast.ts), which meets K - 1 + ceil(log2 N) for every N;
//   - anything else: the matching heuristic of cluster/heuristic.ts, round by round.
import { planBroadcast } from './broadcast.ts';
import { planGreedy } from './heuristic.ts';
import { wantsFor, type Policy } from './policy.ts';
import { oneSeedLowerBound, type Holdings, type Schedule } from './types.ts';

export interface PlanInput {
  holdings: Holdings;
  policy: Policy;
  /** Which nodes take part; all when omitted. */
  live?: readonly boolean[];
}

export interface Plan {
  schedule: Schedule;
  rounds: number;
  /** A lower bound on the rounds (the optimum for one seed and full replication). */
  lowerBound: number;
  /** True when lowerBound is known to be the optimum (one seed, full replication). */
  boundIsOptimum: boolean;
  method: string;
  wants: Holdings;
}

/** The seed, when exactly one live node holds anything and the policy is full replication. */
export function singleSeed(holdings: Holdings, live: readonly boolean[]): number | null {
  let seed: number | null = null;
  for (let v = 0; v < holdings.length; v++) {
    if (!live[v] || !holdings[v]!.some((x) => x === 1)) continue;
    if (seed !== null) return null;
    seed = v;
  }
  return seed;
}

export function plan(input: PlanInput): Plan {
  const { holdings, policy } = input;
  const live = input.live ?? holdings.map(() => true);
  const wants = wantsFor(policy, holdings, live);
  const liveIdx = [...holdings.keys()].filter((v) => live[v]);
  const seed = policy.kind === 'all' ? singleSeed(holdings, live) : null;
  if (seed !== null) {
    // Broadcast over the live nodes in cluster order, pieces the seed holds, renumbered.
    const pieces = [...holdings[seed]!.keys()].filter((p) => holdings[seed]![p]);
    const pos = liveIdx.indexOf(seed);
    const b = planBroadcast(liveIdx.length, pieces.length, pos);
    const schedule = b.schedule.map((r) =>
      r.map((t) => ({ from: liveIdx[t.from]!, to: liveIdx[t.to]!, piece: pieces[t.piece]! })),
    );
    return {
      schedule,
      rounds: schedule.length,
      lowerBound: oneSeedLowerBound(liveIdx.length, pieces.length),
      boundIsOptimum: true,
      method: `broadcast:${b.pattern}`,
      wants,
    };
  }
  const schedule = planGreedy(holdings, wants, live);
  return { schedule, rounds: schedule.length, lowerBound: lowerBound(holdings, wants, live), boundIsOptimum: false, method: 'matching', wants };
}

/**
 * A simple lower bound for arbitrary holdings: a node receives at most one piece per round, and
 * the holders of a piece at most double per round.
 */
export function lowerBound(holdings: Holdings, wants: Holdings, live: readonly boolean[]): number {
  let lb = 0;
  const k = holdings.length > 0 ? holdings[0]!.length : 0;
  for (let v = 0; v < holdings.length; v++) {
    if (!live[v]) continue;
    let m = 0;
    for (let p = 0; p < k; p++) if (wants[v]![p] && !holdings[v]![p]) m++;
    lb = Math.max(lb, m);
  }
  for (let p = 0; p < k; p++) {
    let h = 0;
    let need = 0;
    for (let v = 0; v < holdings.length; v++) {
      if (!live[v]) continue;
      if (holdings[v]![p]) h++;
      else if (wants[v]![p]) need++;
    }
    if (h > 0 && need > 0) lb = Math.max(lb, Math.ceil(Math.log2((h + need) / h)));
  }
  return lb;
}
