// Round-by-round execution of plans with faults: a transfer can be lost (seeded PRNG), nodes
// can leave or join. Whenever a round does not go as planned (a loss, a membership change) the
// next round is re-planned from the current holdings, so the propagation still completes.
import { planRound } from './heuristic.ts';
import { plan, singleSeed } from './planner.ts';
import { wantsFor, type Policy } from './policy.ts';
import { emptyHoldings, oneSeedLowerBound, type Holdings, type Schedule, type Transfer } from './types.ts';

export interface ChurnEvent {
  /** Round (0-based) before which the event happens. */
  round: number;
  kind: 'leave' | 'join';
  /** Node that leaves; ignored for joins (a joining node gets the next free index). */
  node?: number;
}

export interface SimOptions {
  nodes: number;
  pieces: number;
  policy: Policy;
  /** Probability that a transfer is lost. */
  loss?: number;
  /** PRNG seed for losses. */
  seed?: number;
  churn?: ChurnEvent[];
  /** Keep full holdings snapshots (for the text table); counts are always kept. */
  snapshots?: boolean;
  /** Called after every round (progress). */
  onRound?: (round: number) => void;
}

export interface SimResult {
  rounds: number;
  /** K - 1 + ceil(log2 N): optimum without faults, one seed, full replication. */
  optimum: number;
  complete: boolean;
  schedule: Schedule;
  lost: Schedule;
  replans: number;
  methods: string[];
  /** Nodes ever present (initial + joined). */
  totalNodes: number;
  /** live[node] at the end. */
  live: boolean[];
  /** counts[round][node]: pieces held after the round (round 0 = initial state). */
  counts: number[][];
  /** wanted[node] at the end: pieces the policy requires. */
  wanted: number[];
  /** Full holdings after each round (index 0 = initial), when asked. */
  history?: Holdings[];
}

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function satisfied(h: Holdings, wants: Holdings, live: readonly boolean[]): boolean {
  for (let v = 0; v < h.length; v++) {
    if (!live[v]) continue;
    const w = wants[v]!;
    const r = h[v]!;
    for (let p = 0; p < r.length; p++) if (w[p] && !r[p]) return false;
  }
  return true;
}

export function simulate(opts: SimOptions): SimResult {
  const { nodes, pieces, policy } = opts;
  const loss = opts.loss ?? 0;
  const rand = prng(opts.seed ?? 1);
  const churn = [...(opts.churn ?? [])].sort((a, b) => a.round - b.round);
  const joins = churn.filter((e) => e.kind === 'join').length;
  const total = nodes + joins;
  const h = emptyHoldings(total, pieces);
  if (nodes > 0) h[0]!.fill(1);
  const live = Array.from({ length: total }, (_, v) => v < nodes);
  let nextJoin = nodes;
  const schedule: Schedule = [];
  const lost: Schedule = [];
  const methods: string[] = [];
  const count = (v: number) => h[v]!.reduce((s, x) => s + x, 0);
  const counts: number[][] = [h.map((_, v) => count(v))];
  const history: Holdings[] | undefined = opts.snapshots ? [h.map((r) => r.slice())] : undefined;
  let current: Schedule = [];
  let idx = 0;
  let replan = true;
  let replans = 0;
  let wants = wantsFor(policy, h, live);
  const limit = 20 * (pieces + total) + 100;
  let round = 0;
  for (; round < limit; round++) {
    for (const e of churn) {
      if (e.round !== round) continue;
      if (e.kind === 'join') live[nextJoin++] = true;
      else if (e.node !== undefined && e.node < total && live[e.node]) {
        live[e.node] = false;
        h[e.node]!.fill(0); // it takes its pieces with it
      }
      replan = true;
    }
    if (replan) wants = wantsFor(policy, h, live);
    if (satisfied(h, wants, live)) break;
    let transfers: Transfer[];
    if (replan || idx >= current.length) {
      replans++;
      let method = 'matching';
      if (policy.kind === 'all' && singleSeed(h, live) !== null) {
        const p = plan({ holdings: h, policy, live });
        method = p.method;
        current = p.schedule;
        idx = 0;
        transfers = current[idx++] ?? [];
      } else {
        // Off the one-seed path: plan one round at a time (the heuristic's next round).
        current = [];
        idx = 0;
        transfers = planRound({ holdings: h, wants, live });
      }
      if (methods[methods.length - 1] !== method) methods.push(method);
      replan = false;
    } else {
      transfers = current[idx++]!;
    }
    const ok: Transfer[] = [];
    const failed: Transfer[] = [];
    for (const t of transfers) {
      if (loss > 0 && rand() < loss) failed.push(t);
      else ok.push(t);
    }
    for (const t of ok) h[t.to]![t.piece] = 1;
    if (failed.length > 0) replan = true;
    schedule.push(ok);
    lost.push(failed);
    counts.push(h.map((_, v) => (live[v] ? count(v) : 0)));
    history?.push(h.map((r) => r.slice()));
    opts.onRound?.(round);
  }
  const complete = satisfied(h, wants, live);
  return {
    rounds: schedule.length,
    optimum: oneSeedLowerBound(nodes, pieces),
    complete,
    schedule,
    lost,
    replans,
    methods,
    totalNodes: total,
    live,
    counts,
    wanted: wants.map((w) => w.reduce((s, x) => s + x, 0)),
    history,
  };
}
