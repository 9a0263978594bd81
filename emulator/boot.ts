// Boots a node image until the kernel is ready, a panic, a QEMU exit, or a timeout.
import { BootError } from '../core/errors.ts';
import { describeEvent, type KernelEvent } from './events.ts';
import type { Accel } from './qemu-args.ts';
import { Vm, describeExit, type VmOptions } from './vm.ts';

export interface BootResult {
  ready: boolean;
  /** Host milliseconds from launching QEMU to the ready event. */
  readyMs: number;
  /** The kernel's own figure: milliseconds since reset (EVENT ready ms=). */
  kernelMs: number | undefined;
  accel: Accel;
  events: Array<{ name: string; fields: Record<string, string>; hostMs: number }>;
}

/** Events that end a boot attempt without a ready. */
export function isFatalEvent(e: KernelEvent): boolean {
  return e.name === 'panic' || (e.name === 'error' && (e.fields.stage === 'mbr' || e.fields.stage === 'stage2'));
}

export function fatalMessage(e: KernelEvent): string {
  if (e.name === 'panic') {
    return `kernel panic: vector=${e.fields.vector} (${e.fields.name ?? '?'}) rip=${e.fields.rip ?? '?'}`;
  }
  return `boot failed: ${describeEvent(e)}`;
}

/**
 * Launches the VM and waits for `EVENT ready`. Resolves with the VM still running (the caller
 * stops it); rejects with BootError (and stops the VM) on panic, loader error, QEMU exit or
 * timeout.
 */
export async function bootToReady(opts: VmOptions, timeoutMs: number): Promise<{ vm: Vm; result: BootResult }> {
  const vm = Vm.launch(opts);
  let ev: KernelEvent;
  try {
    ev = await vm.waitForEvent((e) => e.name === 'ready' || isFatalEvent(e), timeoutMs);
  } catch (e) {
    await vm.stop(200);
    if (e instanceof BootError && vm.exitStatus) {
      throw new BootError(`QEMU exited (${describeExit(vm.exitStatus)}) before the kernel was ready`);
    }
    throw e;
  }
  if (ev.name !== 'ready') {
    await vm.stop(200);
    throw new BootError(fatalMessage(ev));
  }
  const ms = Number(ev.fields.ms);
  return {
    vm,
    result: {
      ready: true,
      readyMs: ev.hostMs,
      kernelMs: Number.isFinite(ms) ? ms : undefined,
      accel: opts.accel,
      events: vm.events.map((e) => ({ name: e.name, fields: e.fields, hostMs: e.hostMs })),
    },
  };
}
