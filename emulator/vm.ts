// Launches one QEMU node and supervises it: COM1 streamed as lines and parsed events, QMP
// over a unix socket, input to the kernel's control channel, and cleanup that always
// happens — QEMU runs under `setpriv --pdeathsig SIGKILL`, so it dies with the caller even
// when the caller is killed outright, and its socket folder is swept at the next start.
import { execa, type ResultPromise } from 'execa';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BootError, ToolError } from '../core/errors.ts';
import { SerialDecoder, parseEventLine, type KernelEvent, type SerialItem } from './events.ts';
import { QmpClient } from './qmp.ts';
import { QEMU_BINARY, qemuArgv, type Accel, type FwCfgFile, type NicConfig } from './qemu-args.ts';
import { runtimeDir } from './runtime-dir.ts';

export interface VmOptions {
  disk?: string;
  cdrom?: string;
  accel: Accel;
  /** More `-machine` properties (qemu-args.ts LEAN_MACHINE). */
  machineOptions?: string[];
  memoryMb?: number;
  debugExit?: boolean;
  noReboot?: boolean;
  snapshot?: boolean;
  /** Extra `-drive` options for the disk (tests: `throttling.iops-write=N` to slow writes down). */
  diskOptions?: string[];
  /** A watchdog device (ib700, reset action); the VM then reboots instead of exiting. */
  watchdog?: boolean;
  gdbPort?: number;
  /** Run QEMU inside this network namespace (`ip netns exec`; needs root). */
  netns?: string;
  /** An e1000 NIC on a tap device of that namespace. */
  nic?: NicConfig;
  /** fw_cfg files for the guest (the cluster key). */
  fwCfg?: FwCfgFile[];
  extraArgs?: string[];
  /** Called for every serial line (events included). */
  onLine?: (line: string) => void;
  /** Called for every parsed event. */
  onEvent?: (e: KernelEvent) => void;
}

export interface VmExit {
  /** QEMU's exit status, or null when it was killed by a signal. */
  code: number | null;
  signal?: string;
  /** The tail of QEMU's stderr. */
  stderr: string;
}

type Waiter = {
  pred: (e: KernelEvent) => boolean;
  resolve: (e: KernelEvent) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
};

const live = new Set<Vm>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const vm of live) vm.killNow();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const vm of live) vm.killNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

let vmCounter = 0;

export class Vm {
  readonly events: KernelEvent[] = [];
  readonly lines: string[] = [];
  readonly argv: string[];
  readonly qmpSocket: string;
  readonly startedAt: number;
  readonly exited: Promise<VmExit>;
  private exitInfo: VmExit | undefined;
  private readonly proc: ResultPromise;
  private readonly waiters = new Set<Waiter>();
  private stderrTail = '';
  private qmpClient: QmpClient | undefined;

  private constructor(private readonly opts: VmOptions) {
    installExitHooks();
    const dir = runtimeDir();
    this.qmpSocket = join(dir, `qmp-${++vmCounter}.sock`);
    this.argv = qemuArgv({
      disk: opts.disk,
      cdrom: opts.cdrom,
      accel: opts.accel,
      machineOptions: opts.machineOptions,
      memoryMb: opts.memoryMb ?? 256,
      qmpSocket: this.qmpSocket,
      debugExit: opts.debugExit ?? true,
      noReboot: opts.noReboot ?? !opts.watchdog,
      snapshot: opts.snapshot,
      diskOptions: opts.diskOptions,
      watchdog: opts.watchdog,
      gdbPort: opts.gdbPort,
      nic: opts.nic,
      fwCfg: opts.fwCfg,
      extra: opts.extraArgs,
    });
    this.startedAt = Date.now();
    const inNetns = opts.netns ? ['ip', 'netns', 'exec', opts.netns] : [];
    this.proc = execa('setpriv', ['--pdeathsig', 'SIGKILL', '--', ...inNetns, QEMU_BINARY, ...this.argv], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      encoding: 'buffer',
    });
    live.add(this);
    const decoder = new SerialDecoder();
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) this.onItem(item);
    });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4096);
    });
    this.proc.stdin!.on('error', () => {});
    this.exited = this.proc.then((r) => {
      for (const item of decoder.flush()) this.onItem(item);
      live.delete(this);
      this.qmpClient?.close();
      rmSync(this.qmpSocket, { force: true });
      const info: VmExit = {
        code: typeof r.exitCode === 'number' ? r.exitCode : null,
        signal: r.signal ?? undefined,
        stderr: this.stderrTail.trim(),
      };
      if ((r as { code?: string }).code === 'ENOENT') info.stderr = 'setpriv or QEMU is not installed';
      this.exitInfo = info;
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(new BootError(`QEMU exited (${describeExit(info)}) before ${'the awaited event'}`));
      }
      this.waiters.clear();
      return info;
    });
  }

  /** Starts QEMU. Throws ToolError when QEMU cannot be found. */
  static launch(opts: VmOptions): Vm {
    if (!opts.disk && !opts.cdrom) throw new Error('Vm.launch needs a disk or a cdrom');
    for (const p of [opts.disk, opts.cdrom]) {
      if (p && !existsSync(p)) throw new ToolError(`image not found: ${p}`);
    }
    return new Vm(opts);
  }

  private pendingData: KernelEvent | undefined;

  private onItem(item: SerialItem): void {
    if (item.kind === 'payload') {
      const ev = this.pendingData;
      this.pendingData = undefined;
      if (ev) {
        ev.payload = item.data;
        this.publish(ev);
      }
      return;
    }
    const line = item.line;
    this.lines.push(line);
    this.opts.onLine?.(line);
    const ev = parseEventLine(line, Date.now() - this.startedAt);
    if (!ev) return;
    if (ev.name === 'data') {
      this.pendingData = ev; // published once its payload has arrived
      return;
    }
    this.publish(ev);
  }

  private publish(ev: KernelEvent): void {
    this.events.push(ev);
    this.opts.onEvent?.(ev);
    for (const w of [...this.waiters]) {
      if (w.pred(ev)) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve(ev);
      }
    }
  }

  /** QEMU's process id (setpriv execs into QEMU, so it is the same process). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Has QEMU exited? */
  get exitStatus(): VmExit | undefined {
    return this.exitInfo;
  }

  /**
   * Resolves with the first event (already seen from `fromIndex` on, or future) matching pred;
   * rejects with BootError on timeout or when QEMU exits first.
   */
  waitForEvent(pred: (e: KernelEvent) => boolean, timeoutMs: number, fromIndex = 0): Promise<KernelEvent> {
    const seen = this.events.slice(fromIndex).find(pred);
    if (seen) return Promise.resolve(seen);
    if (this.exitInfo) return Promise.reject(new BootError(`QEMU exited (${describeExit(this.exitInfo)})`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          const last = this.events.at(-1);
          reject(new BootError(`timed out after ${(timeoutMs / 1000).toFixed(1)} s${last ? `; last event: ${last.line.replace(/^EVENT /, '')}` : '; no kernel event seen'}`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Sends one line to the kernel's control channel on COM1. */
  send(line: string): void {
    this.proc.stdin!.write(line + '\n');
  }

  /** Number of serial lines seen so far (an index for reading a command's output). */
  get lineCount(): number {
    return this.lines.length;
  }

  /** Sends raw bytes to COM1 (a command's binary payload). */
  write(data: Buffer): void {
    this.proc.stdin!.write(data);
  }

  /** The QMP client (connected on first use). */
  async qmp(): Promise<QmpClient> {
    if (!this.qmpClient || this.qmpClient.isClosed) this.qmpClient = await QmpClient.connect(this.qmpSocket);
    return this.qmpClient;
  }

  /** Stops the VM: QMP quit when possible, then SIGKILL; resolves when QEMU is gone. */
  async stop(graceMs = 2000): Promise<VmExit> {
    if (this.exitInfo) return this.exitInfo;
    try {
      const q = await Promise.race([this.qmp(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('qmp')), 500))]);
      await Promise.race([q.execute('quit').catch(() => undefined), new Promise((r) => setTimeout(r, graceMs))]);
    } catch {
      // no QMP: fall through to the kill
    }
    const t = setTimeout(() => this.killNow(), graceMs);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }

  /** Kills QEMU at once (synchronous; used on process exit). */
  killNow(): void {
    try {
      this.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function describeExit(e: VmExit): string {
  const status = e.code !== null ? `status ${e.code}` : `signal ${e.signal ?? '?'}`;
  const why = e.stderr ? `: ${e.stderr.split('\n').filter(Boolean).at(-1)}` : '';
  return status + why;
}
