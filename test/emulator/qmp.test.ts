// QMP over a unix socket: status, reset (the kernel boots again), quit.
import { describe, expect, it, beforeAll } from 'vitest';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { Vm } from '../../emulator/vm.ts';
import { tempDir } from '../helpers/tmp.ts';

let out: BuildOutputs;
beforeAll(async () => {
  out = await build({ outDir: tempDir() });
});

describe('QMP', () => {
  it('reports status, resets the machine (the kernel boots again) and quits', async () => {
    const vm = Vm.launch({ disk: out.image, accel: 'tcg', snapshot: true, noReboot: false });
    try {
      await vm.waitForEvent((e) => e.name === 'ready', 30_000);
      const qmp = await vm.qmp();
      const status = await qmp.execute<{ status: string; running: boolean }>('query-status');
      expect(status.running).toBe(true);
      const before = vm.events.length;
      await qmp.execute('system_reset');
      const again = await vm.waitForEvent((e) => e.name === 'ready', 30_000, before);
      expect(again).toBeDefined();
      expect(vm.events.slice(before).map((e) => e.fields.stage ?? e.name)).toEqual(['mbr', 'stage2', 'watchdog-armed', 'loader', 'kernel', 'disk', 'mount', 'net', 'ready']);
      await qmp.execute('quit');
      const exit = await vm.exited;
      expect(exit.code).toBe(0);
    } finally {
      vm.killNow();
    }
  });

  it('rejects an unknown command with the QMP error class', async () => {
    const vm = Vm.launch({ disk: out.image, accel: 'tcg', snapshot: true });
    try {
      const qmp = await vm.qmp();
      await expect(qmp.execute('no-such-command')).rejects.toThrow(/CommandNotFound/);
    } finally {
      await vm.stop(200);
    }
  });
});
