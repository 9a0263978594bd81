// Independent check of a schedule against the seed's model: in a round a node sends at most once
// and receives at most once, only sends what it held at the start of the round, and at the end
// every node holds what the policy requires.
import type { Holdings, Schedule } from './types.ts';

export interface ValidationResult {
  ok: boolean;
  errors: string[];
  final: Holdings;
}

export function validateSchedule(initial: Holdings, wants: Holdings, schedule: Schedule): ValidationResult {
  const errors: string[] = [];
  const n = initial.length;
  const cur = initial.map((r) => r.slice());
  schedule.forEach((round, t) => {
    const sent = new Set<number>();
    const got = new Set<number>();
    const start = cur.map((r) => r.slice());
    for (const { from, to, piece } of round) {
      if (from < 0 || from >= n || to < 0 || to >= n || from === to) errors.push(`round ${t}: bad nodes ${from}->${to}`);
      else if (piece < 0 || piece >= (start[from]?.length ?? 0)) errors.push(`round ${t}: bad piece ${piece}`);
      else {
        if (sent.has(from)) errors.push(`round ${t}: node ${from} sends twice`);
        if (got.has(to)) errors.push(`round ${t}: node ${to} receives twice`);
        if (!start[from]![piece]) errors.push(`round ${t}: node ${from} sends piece ${piece} it does not hold`);
        sent.add(from);
        got.add(to);
        cur[to]![piece] = 1;
      }
    }
  });
  for (let v = 0; v < n; v++) {
    for (let p = 0; p < (wants[v]?.length ?? 0); p++) {
      if (wants[v]![p] && !cur[v]![p]) {
        errors.push(`node ${v} lacks piece ${p} at the end`);
        break;
      }
    }
  }
  return { ok: errors.length === 0, errors: errors.slice(0, 20), final: cur };
}
