// The convergence rule of `cluster wait --converged` (cluster/sync/converge.ts): one revision,
// nothing pending, every blob placed by policy (none missing, no surplus copy), nobody booting.
import { describe, expect, it } from 'vitest';
import { isConverged, waitConverged } from '../../cluster/sync/converge.ts';
import type { NodeStatus } from '../../cluster/supervisor/supervisor.ts';

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
});
