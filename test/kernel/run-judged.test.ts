// runJudged (test/helpers/gitfs-fixture.ts) re-runs a shell command only when the kernel
// counted serial bytes it dropped meanwhile; any other mismatch is reported after one try, so
// an intermittent kernel bug cannot pass on a later one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../Makefile.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { runJudged, txDropped } from '../helpers/gitfs-fixture.ts';
import { tempDir } from '../helpers/tmp.ts';

let vm: Vm | undefined;
let sh: ShellClient;

beforeAll(async () => {
  const out = await build({ outDir: tempDir() });
  ({ vm } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000));
  sh = new ShellClient(vm);
});

afterAll(async () => {
  await vm?.stop(200);
});

describe('runJudged', () => {
  it('a mismatch with no serial bytes dropped is returned after one try', async () => {
    const dropped = await txDropped(sh);
    const stats = { commands: 0, retried: [] as string[] };
    const miss = await runJudged(sh, 'cat /kernel/VERSION', (r) => (r.data?.toString() === 'no such version' ? undefined : r.data?.toString().trim()), stats);
    expect(miss).toBe('0.1.0');
    expect(stats).toEqual({ commands: 1, retried: [] });
    expect(await txDropped(sh)).toBe(dropped); // the cause was measured: nothing lost
  });

  it('a right answer passes on the first try', async () => {
    const stats = { commands: 0, retried: [] as string[] };
    expect(await runJudged(sh, 'cat /kernel/VERSION', (r) => (r.data?.toString().trim() === '0.1.0' ? undefined : r.data?.toString()), stats)).toBeUndefined();
    expect(stats).toEqual({ commands: 1, retried: [] });
  });
});
