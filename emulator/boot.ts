// Boots a node image until the kernel is ready (healthy, after any watchdog resets and
// rollbacks), a fatal loader error, a QEMU exit, a hang, or a timeout.
import { BootError } from '../core/errors.ts';
import { describeEvent, type KernelEvent } from './events.ts';
import type { Accel } from './qemu-args.ts';
import { Vm, describeExit, type VmOptions } from './vm.ts';

export interface BootResult {
  ready: boolean;
  /** Host milliseconds from launching QEMU to the ready event. */
  readyMs: number;
  /** The kernel's own figure: milliseconds since its last reset (EVENT ready ms=). */
  kernelMs: number | undefined;
  /** The kernel commit that reached ready (empty for a CD boot). */
  commit: string;
  /** Watchdog (or other) resets it took to get there. */
  resets: number;
  /** Rollbacks the loader made on the way. */
  rollbacks: Array<{ from: string; to: string; reason: string }>;
  accel: Accel;
  events: Array<{ name: string; fields: Record<string, string>; hostMs: number }>;
}

export interface BootWaitOptions {
  /** Overall limit. */
  timeoutMs: number;
  /**
   * Host-side supervision: a VM that prints nothing for this long is reported as hung instead
   * of waited for (default: 15 s; with a watchdog the guest resets itself long before).
   */
  idleMs?: number;
}

/** Events that end a boot attempt without a ready. */
export function isFatalEvent(e: KernelEvent, watchdog: boolean): boolean {
  if (e.name === 'halt') return true; // the loader found nothing bootable
  if (e.name === 'error' && (e.fields.stage === 'mbr' || e.fields.stage === 'cdboot')) return true; // they halt before any watchdog is armed
  if (watchdog) return false; // panics and loader errors end in a reset and a rollback
  return e.name === 'panic' || (e.name === 'error' && (e.fields.stage === 'mbr' || e.fields.stage === 'stage2'));
}

export function fatalMessage(e: KernelEvent): string {
  if (e.name === 'panic') {
    return `kernel panic: vector=${e.fields.vector} (${e.fields.name ?? '?'}) rip=${e.fields.rip ?? '?'}`;
  }
  if (e.name === 'error' && e.fields.stage === 'cdboot' && e.fields.reason === 'stage2-corrupt') {
    return `boot failed: stage 2 on the CD is corrupt (its CRC-32 does not match its header; ${describeEvent(e)}): rebuild the release ISO`;
  }
  if (e.name === 'error' && e.fields.stage === 'mbr' && e.fields.reason === 'stage2-corrupt') {
    return `boot failed: stage 2 on the disk is corrupt (its CRC-32 does not match its header; ${describeEvent(e)}): rewrite the boot area with \`gittorrent image boot-ref IMG boot-good --good\``;
  }
  return `boot failed: ${describeEvent(e)}`;
}

/**
 * Launches the VM and waits for `EVENT ready`. Resolves with the VM still running (the caller
 * stops it); rejects with BootError (and stops the VM) on a fatal event, QEMU exit, hang or
 * timeout.
 */
export async function bootToReady(opts: VmOptions, wait: number | BootWaitOptions): Promise<{ vm: Vm; result: BootResult }> {
  const w: BootWaitOptions = typeof wait === 'number' ? { timeoutMs: wait } : wait;
  const idleMs = w.idleMs ?? 15_000;
  const vm = Vm.launch(opts);
  const watchdog = Boolean(opts.watchdog);
  // every fatal event seen before ready: with -no-reboot the VM stops there
  let fatal: KernelEvent | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let hung = false;
  const armIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      hung = true;
      vm.killNow();
    }, idleMs);
  };
  armIdle();
  let ev: KernelEvent;
  try {
    let seen = 0;
    const idleCheck = setInterval(() => {
      if (vm.lines.length !== seen) {
        seen = vm.lines.length;
        armIdle();
      }
    }, 200);
    try {
      ev = await vm.waitForEvent((e) => {
        if (isFatalEvent(e, watchdog)) {
          fatal = e;
          return true;
        }
        return e.name === 'ready';
      }, w.timeoutMs);
    } finally {
      clearInterval(idleCheck);
    }
  } catch (e) {
    if (idleTimer) clearTimeout(idleTimer);
    await vm.stop(200);
    const last = vm.events.at(-1);
    if (hung) {
      throw new BootError(`the VM printed nothing for ${(idleMs / 1000).toFixed(0)} s: hung${last ? ` after: ${describeEvent(last)}` : ''}${watchdog ? '' : ' (no watchdog to reset it)'}`);
    }
    if (e instanceof BootError && vm.exitStatus) {
      throw new BootError(`QEMU exited (${describeExit(vm.exitStatus)}) before the kernel was ready`);
    }
    throw e;
  }
  if (idleTimer) clearTimeout(idleTimer);
  if (fatal || ev.name !== 'ready') {
    await vm.stop(200);
    const end = fatal ?? ev;
    // a loader halt: say why, from the error it reported just before
    if (end.name === 'halt') {
      const upTo = vm.events.indexOf(end);
      const lastBoot = vm.events.slice(0, upTo).map((e) => e.name === 'boot' && e.fields.stage === 'mbr').lastIndexOf(true);
      const errors = vm.events.slice(Math.max(0, lastBoot), upTo).filter((e) => e.name === 'error').map(describeEvent);
      if (errors.length > 0) throw new BootError(`boot failed: ${errors.join('; ')} (no bootable kernel left)`);
    }
    throw new BootError(fatalMessage(end));
  }
  const ms = Number(ev.fields.ms);
  const resets = vm.events.filter((e) => e.name === 'boot' && (e.fields.stage === 'mbr' || e.fields.stage === 'cdboot')).length - 1;
  return {
    vm,
    result: {
      ready: true,
      readyMs: ev.hostMs,
      kernelMs: Number.isFinite(ms) ? ms : undefined,
      commit: ev.fields.commit && !/^0+$/.test(ev.fields.commit) ? ev.fields.commit : '',
      resets: Math.max(0, resets),
      rollbacks: vm.events.filter((e) => e.name === 'rollback').map((e) => ({ from: e.fields.from ?? '', to: e.fields.to ?? '', reason: e.fields.reason ?? '' })),
      accel: opts.accel,
      events: vm.events.map((e) => ({ name: e.name, fields: e.fields, hostMs: e.hostMs })),
    },
  };
}
