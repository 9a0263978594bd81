// Drives the kernel's serial shell: sends one command, collects its output lines, events and
// binary payload up to the end marker `EVENT end cmd=NAME status=ok|error` (docs/shell.md).
import { BootError } from '../core/errors.ts';
import type { KernelEvent } from './events.ts';
import type { Vm } from './vm.ts';

export interface ShellResult {
  command: string;
  status: 'ok' | 'error';
  /** Text lines the command printed (events excluded). */
  lines: string[];
  /** Events the command printed (the end marker excluded). */
  events: KernelEvent[];
  /** The reason of the command's `EVENT error`, if any. */
  error?: string;
  /** The binary payload of an `EVENT data size=N`, if any. */
  data?: Buffer;
}

export class ShellClient {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly vm: Vm) {}

  /** Runs one command (serialised with any other run on this client). */
  run(command: string, opts: { input?: Buffer; timeoutMs?: number } = {}): Promise<ShellResult> {
    const next = this.queue.then(() => this.runNow(command, opts));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(command: string, opts: { input?: Buffer; timeoutMs?: number }): Promise<ShellResult> {
    if (command.includes('\n')) throw new Error('a shell command is one line');
    const evIndex = this.vm.events.length;
    const lineIndex = this.vm.lineCount;
    this.vm.send(command);
    if (opts.input) this.vm.write(opts.input);
    const end = await this.vm.waitForEvent((e) => e.name === 'end', opts.timeoutMs ?? 60_000, evIndex).catch((e: unknown) => {
      if (e instanceof BootError) throw new BootError(`shell command "${command.slice(0, 60)}": ${e.message}`);
      throw e;
    });
    const endIdx = this.vm.events.indexOf(end);
    const events = this.vm.events.slice(evIndex, endIdx);
    const after = this.vm.lines.slice(lineIndex);
    const endLine = after.indexOf(end.line);
    const lines = (endLine >= 0 ? after.slice(0, endLine) : after).filter((l) => !l.startsWith('EVENT '));
    const err = events.find((e) => e.name === 'error');
    const data = events.find((e) => e.name === 'data')?.payload;
    return {
      command,
      status: end.fields.status === 'ok' ? 'ok' : 'error',
      lines,
      events,
      error: err?.fields.reason,
      data,
    };
  }
}
