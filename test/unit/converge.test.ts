// The convergence rule of `cluster wait --converged` (cluster/sync/converge.ts): one revision,
// nothing pending, every blob placed by policy (none missing, no surplus copy), nobody booting.
import { describe, expect, it } from 'vitest';
import { isConverged, PIECE_WIRE_BYTES, pieceWireUs, propagationRounds, waitConverged } from '../../cluster/sync/converge.ts';
import type { NodePropagation, NodeStatus } from '../../cluster/supervisor/supervisor.ts';

const REV = 'a'.repeat(40);
function node(n: number, over: Partial<NodeStatus> = {}): NodeStatus {
  return { node: n, state: 'ready', rev: REV, kernel: '', version: '', ip: '', mac: '', disk: '', net: true, heard: true, boots: 1, pending: 0, missing: 0, surplus: 0, rounds: 0, ...over };
}

describe('cluster wait --converged: the rule', () => {
  it('one revision, nothing pending, nothing missing, no surplus: converged', () => {
    expect(isConverged([node(1), node(2), node(3)])).toBe(true);
    // a stopped node does not count; a kernel without `placed` (no missing/surplus) does not block
    expect(isConverged([node(1), node(2, { state: 'stopped', rev: '' }), node(3, { missing: undefined, surplus: undefined })])).toBe(true);
  });

  it('each condition alone keeps it from converging', () => {
    expect(isConverged([node(1), node(2, { rev: 'b'.repeat(40) })])).toBe(false);
    expect(isConverged([node(1), node(2, { pending: 3 })])).toBe(false);
    expect(isConverged([node(1), node(2, { pending: undefined })])).toBe(false); // `sync` not answered
    expect(isConverged([node(1), node(2, { missing: 1 })])).toBe(false);
    expect(isConverged([node(1), node(2, { surplus: 2 })])).toBe(false); // a copy the policy places elsewhere
    expect(isConverged([node(1), node(2, { state: 'booting' })])).toBe(false);
    expect(isConverged([node(1, { rev: '' })])).toBe(false);
    expect(isConverged([node(1, { state: 'stopped' })])).toBe(false);
  });

  it('waits until the surplus is given up, and reports the time and the sync runs of the wait', async () => {
    let calls = 0;
    const r = await waitConverged(async () => {
      calls++;
      return { nodes: [node(1, { rounds: 4 + calls }), node(2, { surplus: calls < 3 ? 5 : 0, rounds: 2 })] };
    }, 5000, 5);
    expect(r).toMatchObject({ converged: true, rev: REV, rounds: 2, nodes: [{ node: 1, surplus: 0 }, { node: 2, surplus: 0 }] });
    expect(calls).toBe(3);
    const t = await waitConverged(async () => ({ nodes: [node(1, { surplus: 1 })] }), 30, 5);
    expect(t).toMatchObject({ converged: false, rev: '' });
    expect(t.ms).toBeGreaterThanOrEqual(30);
  });

  const ID = 'c'.repeat(40);
  function prop(over: Partial<NodePropagation>): NodePropagation {
    return { id: ID, state: 'stored', role: 'push', pieces: 16, held: 16, nodes: 5, planRounds: 18, ms: 0, pieceUs: 0, ...over };
  }

  it("a propagation's rounds: the slowest receiver's time over the median time of one piece; the seed does not count", () => {
    const nodes = [
      node(1, { propagation: prop({ role: 'seed', ms: 0, pieceUs: 0 }) }),
      node(2, { propagation: prop({ ms: 500, pieceUs: 20_000 }) }),
      node(3, { propagation: prop({ ms: 540, pieceUs: 30_000 }) }),
      node(4, { propagation: prop({ ms: 380, pieceUs: 25_000, role: 'late' }) }),
      node(5, { state: 'stopped', propagation: prop({ ms: 9000, pieceUs: 1 }) }), // not live: ignored
    ];
    // optimum K − 1 + ⌈log₂ 5⌉ = 18; 540 ms / 25 ms = 21.6 → 22
    expect(propagationRounds(nodes)).toEqual({ id: ID, pieces: 16, nodes: 5, optimum: 18, ms: 540, pieceUs: 25_000, roundUs: 25_000, unit: 'measured', rounds: 22 });
    // links limited to 20 Mbit/s: the unit is a piece's wire time at that rate (47 PIECE frames
    // of 90 header bytes each: 69,766 bytes, 27.9 ms), whatever the guests' own pace
    expect(PIECE_WIRE_BYTES).toBe(65536 + 47 * 90);
    expect(pieceWireUs('20mbit')).toBeCloseTo(27_906.4, 1);
    expect(pieceWireUs('2.5mbps')).toBeCloseTo(27_906.4, 1);
    expect(propagationRounds(nodes, '20mbit')).toMatchObject({ ms: 540, pieceUs: 25_000, roundUs: 27_906, unit: 'rate', rounds: 19 });
    // one node still receiving: no figure yet
    expect(propagationRounds([...nodes.slice(0, 3), node(4, { propagation: prop({ state: 'active' }) })])).toBeUndefined();
    // the id most nodes report is the latest (a node outside an older one keeps its old id)
    const old = node(6, { propagation: prop({ id: 'd'.repeat(40), state: 'stored', ms: 99_999, pieceUs: 1 }) });
    expect(propagationRounds([...nodes, old])?.id).toBe(ID);
    expect(propagationRounds([node(1), node(2)])).toBeUndefined();
  });

  it('reports the propagation that finished during the wait as its rounds, else the sync runs', async () => {
    let calls = 0;
    const during = await waitConverged(async () => {
      calls++;
      const state = calls < 2 ? 'active' : 'stored';
      return { nodes: [node(1, { propagation: prop({ role: 'seed', state: 'stored' }) }), node(2, { pending: calls < 2 ? 1 : 0, rounds: calls, propagation: prop({ state, ms: 400, pieceUs: 20_000 }) })] };
    }, 5000, 5);
    expect(during).toMatchObject({ converged: true, rounds: 20, roundsOf: 'propagation', update: { id: ID, rounds: 20, optimum: 18 } });
    // stored everywhere before the wait: it is reported, but the wait's rounds are its sync runs
    const after = await waitConverged(async () => ({ nodes: [node(1, { rounds: 7, propagation: prop({ ms: 400, pieceUs: 20_000 }) })] }), 5000, 5);
    expect(after).toMatchObject({ converged: true, rounds: 0, roundsOf: 'sync', update: { rounds: 20 } });
    // `commit --wait`: the status before the commit is the baseline, so a propagation the commit
    // started counts though it ended before the first poll; the time counts from the baseline
    const t0 = Date.now() - 1000;
    const since = { t0, nodes: [node(1, { rounds: 3, rev: 'b'.repeat(40) })] };
    const commit = await waitConverged(async () => ({ nodes: [node(1, { rounds: 4, propagation: prop({ ms: 400, pieceUs: 20_000 }) })] }), 5000, 5, since);
    expect(commit).toMatchObject({ converged: true, rev: REV, rounds: 20, roundsOf: 'propagation' });
    expect(commit.ms).toBeGreaterThanOrEqual(1000);
    // the baseline is not taken for the answer: a converged baseline still polls once
    const polled = await waitConverged(async () => ({ nodes: [node(1, { pending: 2 })] }), 30, 5, { t0: Date.now(), nodes: [node(1)] });
    expect(polled.converged).toBe(false);
  });
});
