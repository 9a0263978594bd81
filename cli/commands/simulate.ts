// `gittorrent simulate`: plan and simulate the propagation of K pieces from node 0 to N nodes.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { printResult } from '../../core/output.ts';
import { createProgress } from '../../core/progress.ts';
import { parsePolicy, policyName, wantsFor } from '../../cluster/policy.ts';
import { renderHtml, renderText } from '../../cluster/render.ts';
import { simulate, type ChurnEvent } from '../../cluster/simulate.ts';
import { validateSchedule } from '../../cluster/validate.ts';
import { seedHoldings } from '../../cluster/types.ts';

interface SimulateFlags {
  nodes: string;
  pieces: string;
  policy: string;
  loss: string;
  seed: string;
  json?: boolean;
  html?: string;
  leave: string[];
  join: string[];
}

function int(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be an integer, got '${text}'`);
  const v = Number(text);
  if (v < min || v > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('plan and simulate propagating K pieces from node 0 to N nodes (seed model: one send, one receive per round)')
    .requiredOption('--nodes <N>', 'number of nodes (node 0 is the seed)')
    .requiredOption('--pieces <K>', 'number of pieces (deltas) the seed holds')
    .option('--policy <p>', 'all | copies=k', 'all')
    .option('--loss <P>', 'probability that a transfer is lost', '0')
    .option('--seed <S>', 'PRNG seed for losses', '1')
    .option('--leave <round:node>', 'node leaves before round (repeatable)', collect, [])
    .option('--join <round>', 'a new node joins before round (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .option('--html <file>', 'write a self-contained HTML picture')
    .action((flags: SimulateFlags) => {
      const nodes = int('nodes', flags.nodes, 1, 100_000);
      const pieces = int('pieces', flags.pieces, 0, 100_000);
      if (nodes * pieces > 50_000_000) throw new UsageError('--nodes x --pieces is too large (max 50,000,000)');
      const policy = parsePolicy(flags.policy);
      if (!policy) throw new UsageError(`--policy must be 'all' or 'copies=k', got '${flags.policy}'`);
      const loss = Number(flags.loss);
      if (!/^\d*\.?\d+$/.test(flags.loss) || !(loss >= 0 && loss < 1)) throw new UsageError(`--loss must be a number in [0, 1), got '${flags.loss}'`);
      const seed = int('seed', flags.seed, 0, 2 ** 32 - 1);
      const churn: ChurnEvent[] = [];
      for (const l of flags.leave) {
        const m = /^(\d+):(\d+)$/.exec(l);
        if (!m) throw new UsageError(`--leave must be ROUND:NODE, got '${l}'`);
        if (Number(m[2]) === 0) throw new UsageError('--leave: node 0 is the seed and cannot leave');
        churn.push({ kind: 'leave', round: Number(m[1]), node: Number(m[2]) });
      }
      for (const j of flags.join) churn.push({ kind: 'join', round: int('join', j, 0, 1_000_000) });
      const big = nodes * pieces > 200_000;
      const progress = createProgress({ quiet: !big });
      progress.start(`simulating ${nodes} nodes x ${pieces} pieces`);
      const r = simulate({
        nodes,
        pieces,
        policy,
        loss,
        seed,
        churn,
        snapshots: nodes + flags.join.length <= 26,
        onRound: (t) => {
          if (big && t % 50 === 0) progress.update(`round ${t}`);
        },
      });
      progress.succeed(`${r.rounds} rounds`);
      // Without faults the executed schedule must pass the independent validator.
      let valid: boolean | null = null;
      if (loss === 0 && churn.length === 0) {
        const init = seedHoldings(nodes, pieces);
        valid = validateSchedule(init, wantsFor(policy, init, init.map(() => true)), r.schedule).ok;
      }
      // For copies=k the one-seed bound does not apply: every piece that must leave the seed
      // does so in its own round, so K' (such pieces) is a lower bound.
      let optimum = r.optimum;
      if (policy.kind === 'copies') {
        const init = seedHoldings(nodes, pieces);
        const w = wantsFor(policy, init, init.map(() => true));
        optimum = [...Array(pieces).keys()].filter((p) => w.some((row, v) => v !== 0 && row[p])).length;
      }
      const result = {
        rounds: r.rounds,
        optimum,
        optimumKind: policy.kind === 'all' ? 'exact (K - 1 + ceil(log2 N))' : 'lower bound (pieces that must leave the seed)',
        complete: r.complete,
        valid,
        nodes,
        pieces,
        policy: policyName(policy),
        loss,
        seed,
        replans: r.replans,
        methods: r.methods,
        lostTransfers: r.lost.reduce((s, x) => s + x.length, 0),
        pieceNumbering: 'pieces are 0-based in JSON (the text table numbers them from 1)',
        schedule: r.schedule,
        lost: r.lost,
      };
      if (flags.html) {
        writeFileSync(flags.html, renderHtml({ ...r, optimum }, pieces, `gittorrent: ${nodes} nodes x ${pieces} pieces, policy ${policyName(policy)}`));
      }
      printResult(result, { json: flags.json }, () => renderText({ ...r, optimum }, pieces));
    });
}
