// Shared helpers for the ISO tests: temp dirs, running host tools, trees of files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IsoFile } from '../../builder/iso/index.ts';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a host tool (no shell) and returns its exit status and output. */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; binary?: false } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a tool and returns its stdout as bytes. */
export function runBytes(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

export function tempDir(t: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gt-iso-${t}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** A tree exercising nesting, spaces, long and UTF-8 names and awkward sizes. */
export function sampleFiles(): IsoFile[] {
  return [
    { path: 'VERSION', data: Buffer.from('0.1.0\n') },
    { path: 'boot/kernel.bin', data: bytes(5000, 1) },
    { path: 'boot/stage2.bin', data: bytes(2048, 2) },
    { path: 'with space/a file name that is well over thirty-one characters long.txt', data: Buffer.from('long name\n') },
    { path: 'with space/empty', data: Buffer.alloc(0) },
    { path: 'sizes/one', data: Buffer.from([0x5a]) },
    { path: 'sizes/s2047', data: bytes(2047, 3) },
    { path: 'sizes/s2048', data: bytes(2048, 4) },
    { path: 'sizes/s2049', data: bytes(2049, 5) },
    { path: 'sizes/big.bin', data: bytes(3 * 1024 * 1024 + 77, 6) },
    { path: 'a/b/c/d/e/f/deep file.dat', data: bytes(100, 7) },
    { path: 'ünïcødé/日本語のファイル.txt', data: Buffer.from('utf-8 name\n') },
    { path: 'case/Readme.md', data: Buffer.from('upper') },
    { path: 'case/readme.md', data: Buffer.from('lower') },
    { path: 'case/README.MD', data: Buffer.from('all upper') },
  ];
}

export function asMap(files: IsoFile[]): Map<string, Buffer> {
  return new Map(files.map((f) => [f.path.replace(/^\/+/, ''), f.data]));
}
