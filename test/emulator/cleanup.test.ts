// The runner always cleans up: QEMU dies with its caller even when the caller is SIGKILLed,
// and the caller's socket folder is swept by the next run.
import { describe, expect, it, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { sweepStaleRuntimeDirs } from '../../emulator/runtime-dir.ts';
import { tempDir } from '../helpers/tmp.ts';

let out: BuildOutputs;
beforeAll(async () => {
  out = await build({ outDir: tempDir() });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe('QEMU process cleanup', () => {
  it('QEMU dies when its caller is killed with SIGKILL; the stale folder is swept', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/launch-and-wait.ts', import.meta.url));
    const child = execa('node', ['--import', 'tsx', fixture, out.image], { reject: false, buffer: false });
    const info = await new Promise<{ pid: number; dir: string }>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        const nl = text.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(text.slice(0, nl)) as { pid: number; dir: string });
      });
      setTimeout(() => reject(new Error('fixture did not report')), 30_000);
    });
    expect(alive(info.pid)).toBe(true);
    expect(existsSync(info.dir)).toBe(true);
    child.kill('SIGKILL');
    await child;
    expect(await waitGone(info.pid, 5000)).toBe(true);
    // A SIGKILLed process cannot clean its folder; the next run sweeps it (another test
    // worker starting a VM may already have done so).
    sweepStaleRuntimeDirs();
    expect(existsSync(info.dir)).toBe(false);
  });
});
