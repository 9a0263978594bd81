// Boots the real image in QEMU (TCG) and checks the kernel's event sequence.
import { describe, expect, it, beforeAll } from 'vitest';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { debugExitStatus } from '../../emulator/qemu-args.ts';
import { tempDir } from '../helpers/tmp.ts';
import { openImage } from '../../gitfs/image.ts';
import { statSync } from 'node:fs';

let out: BuildOutputs;

beforeAll(async () => {
  out = await build({ outDir: tempDir(), kernelVersion: '9.8.7-test' });
});

describe('kernel boot (QEMU, TCG)', () => {
  it('goes MBR -> stage 2 -> kernel -> ready, in that order', async () => {
    const { vm, result } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000);
    await vm.stop(200);
    const seq = result.events.map((e) => (e.name === 'boot' ? `boot:${e.fields.stage}` : e.name));
    expect(seq).toEqual(['boot:mbr', 'boot:stage2', 'watchdog-armed', 'boot:loader', 'boot:kernel', 'disk', 'mount', 'net', 'ready']);
    // the loader booted the commit the `boot` ref names, and the kernel blob it verified
    const img = openImage(out.image, { readOnly: true });
    const bootCommit = img.readRef('boot')!;
    const kernelBlob = img.lookupPath(img.commitTreeHash(bootCommit), 'boot/kernel.bin')!.hash;
    const revision = img.revision();
    img.close();
    const at = (name: string, stage?: string) => result.events.find((e) => e.name === name && (!stage || e.fields.stage === stage))!;
    const loader = at('boot', 'loader');
    expect(loader.fields.commit).toBe(bootCommit);
    expect(loader.fields.kernel).toBe(kernelBlob);
    expect(Number(loader.fields.size)).toBe(statSync(out.kernel).size);
    expect(loader.fields.state).toBe('good'); // the first kernel of a node
    expect(at('watchdog-armed').fields['timeout-ms']).toBe('2000');
    const kernelEv = at('boot', 'kernel');
    expect(kernelEv.fields.version).toBe('9.8.7-test');
    expect(Number(at('disk').fields.sectors)).toBe(64 * 1024 * 1024 / 512); // the ATA driver sized the disk
    expect(at('mount').fields.rev).toBe(revision); // the kernel mounted GitFS: mainline head
    expect(at('mount').fields.from).toBe('loader'); // the loader's mount, handed over and re-checked
    const ready = at('ready');
    expect(ready.fields.commit).toBe(bootCommit);
    expect(Number(ready.fields.ms)).toBeGreaterThan(0);
    expect(Number(ready.fields.ticks)).toBeGreaterThanOrEqual(4); // the PIT tick is running
  });

  it('keeps ticking after ready and answers on the shell', async () => {
    const { vm } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000);
    try {
      const n = vm.events.length;
      vm.send('ping');
      const p1 = await vm.waitForEvent((e) => e.name === 'pong', 10_000, n);
      await new Promise((r) => setTimeout(r, 300));
      vm.send('ping');
      const p2 = await vm.waitForEvent((e) => e.name === 'pong' && e !== p1, 10_000, n);
      expect(Number(p2.fields.ticks)).toBeGreaterThan(Number(p1.fields.ticks) + 100);
      vm.send('no-such-command');
      const err = await vm.waitForEvent((e) => e.name === 'error' && e.fields.cmd === 'shell', 10_000, n);
      expect(err.fields.reason).toBe('unknown-command');
      vm.send('x'.repeat(2000));
      const long = await vm.waitForEvent((e) => e.name === 'error' && e.fields.reason === 'line-too-long', 10_000, n);
      expect(long).toBeDefined();
      vm.send('ping'); // still alive after bad input
      await vm.waitForEvent((e) => e.name === 'pong' && e !== p1 && e !== p2, 10_000, n);
    } finally {
      await vm.stop(200);
    }
  });

  it('ends QEMU with a status through isa-debug-exit', async () => {
    const { vm } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000);
    vm.send('exit 0x10');
    const exit = await vm.exited;
    expect(exit.code).toBe(debugExitStatus(0x10));
    expect(exit.code).toBe(33);
  });

  it('reports the kernel and loader sizes and keeps the kernel small', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(out.mbr).size).toBe(512);
    expect(statSync(out.kernel).size).toBeLessThan(128 * 1024); // the budget (docs/decisions.md): 72 KiB with sync, placement, propagation and deltas
  });
});

describe('serial shell protocol', () => {
  it('ends every command with the end marker and keeps working after bad input', async () => {
    const { ShellClient } = await import('../../emulator/shell-client.ts');
    const { vm } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000);
    try {
      const sh = new ShellClient(vm);
      const help = await sh.run('help');
      expect(help.status).toBe('ok');
      expect(help.lines).toEqual(expect.arrayContaining(['help', 'ping', 'exit', 'reboot', 'hash']));
      const bad = await sh.run('frobnicate now');
      expect(bad.status).toBe('error');
      expect(bad.error).toBe('unknown-command');
      const long = await sh.run('x'.repeat(2000));
      expect(long.error).toBe('line-too-long');
      const ping = await sh.run('ping');
      expect(ping.status).toBe('ok');
      expect(ping.events.map((e) => e.name)).toEqual(['pong']);
      // a read the disk cannot serve is an error event, never a hang
      const far = await sh.run('readraw 99999999 1');
      expect(far.status).toBe('error');
      expect(far.events.find((e) => e.name === 'error' && e.fields.dev === 'ata')!.fields).toMatchObject({ op: 'read', reason: 'out-of-range' });
      expect((await sh.run('ping')).status).toBe('ok');
    } finally {
      await vm.stop(200);
    }
  });
});
