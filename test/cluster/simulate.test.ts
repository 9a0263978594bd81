import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulate } from '../../cluster/simulate.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/gittorrent.js');

describe('simulation under faults', () => {
  it('completes under loss, re-planning from current holdings', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = simulate({ nodes: 17, pieces: 10, policy: { kind: 'all' }, loss: 0.3, seed });
      expect(r.complete).toBe(true);
      expect(r.lost.flat().length).toBeGreaterThan(0);
      expect(r.replans).toBeGreaterThan(1);
    }
  });

  it('completes when nodes leave and join mid-propagation', () => {
    const r = simulate({
      nodes: 12,
      pieces: 8,
      policy: { kind: 'all' },
      loss: 0.1,
      seed: 9,
      churn: [
        { round: 3, kind: 'leave', node: 5 },
        { round: 4, kind: 'join' },
        { round: 6, kind: 'join' },
        { round: 7, kind: 'leave', node: 2 },
      ],
    });
    expect(r.complete).toBe(true);
    expect(r.live[5]).toBe(false);
    expect(r.live[12]).toBe(true);
    expect(r.counts.at(-1)![13]).toBe(8);
  });

  it('completes k-copy replication under loss', () => {
    const r = simulate({ nodes: 30, pieces: 16, policy: { kind: 'copies', copies: 3 }, loss: 0.2, seed: 3 });
    expect(r.complete).toBe(true);
  });

  it('is reproducible for a given PRNG seed', () => {
    const a = simulate({ nodes: 9, pieces: 5, policy: { kind: 'all' }, loss: 0.25, seed: 77 });
    const b = simulate({ nodes: 9, pieces: 5, policy: { kind: 'all' }, loss: 0.25, seed: 77 });
    expect(a.schedule).toEqual(b.schedule);
  });
});

describe('gittorrent simulate', () => {
  it('prints JSON with rounds, optimum and the schedule', () => {
    const out = execFileSync('node', [bin, 'simulate', '--nodes', '5', '--pieces', '6', '--json'], { encoding: 'utf8' });
    const j = JSON.parse(out) as { rounds: number; optimum: number; valid: boolean; schedule: { from: number; to: number; piece: number }[][] };
    expect(j.rounds).toBe(8);
    expect(j.optimum).toBe(8);
    expect(j.valid).toBe(true);
    expect(j.schedule).toHaveLength(8);
    expect(j.schedule[0]![0]).toMatchObject({ from: 0 });
  }, 30_000);

  it('prints the seed-style table and writes HTML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-sim-'));
    const html = join(dir, 'p.html');
    const out = execFileSync('node', [bin, 'simulate', '--nodes', '5', '--pieces', '6', '--html', html], { encoding: 'utf8' });
    expect(out).toMatch(/rounds 8 \(optimum 8\)/);
    expect(out).toMatch(/A1[B-E]/);
    expect(out).toMatch(/123456\s+123456\s+123456\s+123456\s+123456/);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).not.toMatch(/(src|href)=/);
  }, 30_000);

  it('rejects a bad argument with a one-line error and a non-zero exit', () => {
    const r = spawnSync('node', [bin, 'simulate', '--nodes', '5', '--pieces', '3', '--loss', '2'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--loss/);
    expect(r.stderr).not.toMatch(/at .*\.ts/);
  }, 30_000);
});
