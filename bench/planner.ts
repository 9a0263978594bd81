// Planner benchmark: one seed, full replication, for several sizes. Reports rounds against the
// optimum K - 1 + ceil(log2 N), the planning time, and as a reference measured in the same run
// the time of the independent validator replaying the same schedule (the cheapest thing that
// must touch every transfer), plus the matching heuristic's rounds and time on the same input.
import { planGreedy } from '../cluster/heuristic.ts';
import { plan } from '../cluster/planner.ts';
import { seedHoldings } from '../cluster/types.ts';
import { validateSchedule } from '../cluster/validate.ts';

function ms(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

export default async function bench(args: string[]): Promise<void> {
  const sizes: [number, number][] = args.includes('--quick')
    ? [[100, 64], [1000, 256]]
    : [[5, 6], [64, 64], [100, 64], [333, 100], [1000, 256], [1000, 1000]];
  const rows = [];
  for (const [n, k] of sizes) {
    const h = seedHoldings(n, k);
    let p = plan({ holdings: h, policy: { kind: 'all' } });
    const planMs = ms(() => {
      p = plan({ holdings: h, policy: { kind: 'all' } });
    });
    let ok = false;
    const validateMs = ms(() => {
      ok = validateSchedule(h, p.wants, p.schedule).ok;
    });
    let greedyRounds = 0;
    let greedyMs = NaN;
    if (n * k <= 64_000) {
      greedyMs = ms(() => {
        greedyRounds = planGreedy(h, p.wants).length;
      });
    }
    const row = {
      nodes: n,
      pieces: k,
      rounds: p.rounds,
      optimum: p.lowerBound,
      method: p.method,
      valid: ok,
      planMs: Math.round(planMs),
      validateMs: Math.round(validateMs),
      planVsValidate: Number((planMs / validateMs).toFixed(2)),
      greedyRounds: greedyRounds || null,
      greedyMs: Number.isNaN(greedyMs) ? null : Math.round(greedyMs),
    };
    rows.push(row);
    process.stdout.write(
      `${String(n).padStart(5)} x ${String(k).padEnd(5)} rounds ${row.rounds} / optimum ${row.optimum}  plan ${row.planMs} ms` +
        `  validate ${row.validateMs} ms  ratio ${row.planVsValidate}` +
        (row.greedyMs !== null ? `  greedy ${row.greedyRounds} rounds ${row.greedyMs} ms` : '') +
        `  (${row.method})\n`,
    );
  }
  process.stdout.write(JSON.stringify({ bench: 'planner', rows }) + '\n');
}
