import { describe, expect, it } from 'vitest';
import { formatUpTimes } from '../../cli/commands/cluster.ts';

describe('cluster up --verbose', () => {
  it('lists every event in the order it happened, with the time since the one before', () => {
    const out = formatUpTimes({
      phases: [{ phase: 'cli', atMs: 150 }, { phase: 'checks', atMs: 160 }, { phase: 'spawn', atMs: 170 }, { phase: 'disks', atMs: 200 }, { phase: 'network', atMs: 190 }, { phase: 'supervisor', atMs: 480 }, { phase: 'ready', atMs: 700 }, { phase: 'heard', atMs: 705 }],
      supervisor: { processMs: 175, mainMs: 400, peerMs: 470, listeningMs: 478 },
      nodes: [{ node: 1, launchedMs: 450, readyMs: 690, heardMs: 698 }, { node: 2, launchedMs: 452, readyMs: 695, heardMs: 701 }],
    });
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('timing: cli-started +150 ms (at 150 ms)');
    expect(lines).toContain('timing: network +15 ms (at 190 ms)');
    expect(lines).toContain('timing: disks +10 ms (at 200 ms)');
    expect(lines).toContain('timing: first-qemu-launch +50 ms (at 450 ms)');
    expect(lines).toContain('timing: last-ready +5 ms (at 695 ms)');
    expect(lines.at(-1)).toBe('timing: cli-saw-all-heard +4 ms (at 705 ms)');
    const at = lines.map((l) => Number(/at (\d+) ms/.exec(l)![1]));
    expect(at).toEqual([...at].sort((a, b) => a - b));
  });
});
