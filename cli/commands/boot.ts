// gittorrent boot IMAGE: boots one node in QEMU and shows the kernel's events.
import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultGdbPort, renderGdbInit } from '../../builder/gdbinit.ts';
import { checkBootableImage } from '../../builder/disk-check.ts';
import { UsageError } from '../../core/errors.ts';
import { createProgress } from '../../core/progress.ts';
import { bootToReady, isFatalEvent, fatalMessage, type BootResult } from '../../emulator/boot.ts';
import { parseAccel, resolveAccel } from '../../emulator/accel.ts';
import { describeEvent } from '../../emulator/events.ts';
import { Vm, describeExit } from '../../emulator/vm.ts';

interface BootFlags {
  until?: string;
  timeout: string;
  accel: string;
  json?: boolean;
  gdb?: string | boolean;
  qemuArg: string[];
  memory: string;
  watchdog: boolean;
  hangAfter: string;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseSeconds(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds, not "${text}"`);
  return n;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--gdb takes a TCP port (1-65535), not "${text}"`);
  return n;
}

const REPO_OUT = fileURLToPath(new URL('../../out/', import.meta.url));

/**
 * How to attach gdb: the .gdbinit of the build the image comes from (its folder when it holds
 * kernel.elf, else out/), rewritten for this port when it names another; without a kernel.elf,
 * gdb without symbols.
 */
function gdbHint(image: string, port: number): string {
  const dir = [dirname(resolve(image)), REPO_OUT].find((d) => existsSync(join(d, 'kernel.elf')));
  if (!dir) return `gdb -ex 'set architecture i386:x86-64' -ex 'target remote 127.0.0.1:${port}' (no kernel.elf with symbols: run gittorrent build)`;
  const gdbinit = join(dir, '.gdbinit');
  const text = renderGdbInit(join(dir, 'kernel.elf'), port);
  try {
    if (!existsSync(gdbinit) || readFileSync(gdbinit, 'utf8') !== text) writeFileSync(gdbinit, text);
  } catch {
    return `gdb -ex 'set architecture i386:x86-64' -ex 'file ${join(dir, 'kernel.elf')}' -ex 'target remote 127.0.0.1:${port}'`;
  }
  return `gdb -x ${relative(process.cwd(), gdbinit) || gdbinit}   (then e.g. hbreak kernel_entry, continue; docs/debugging.md)`;
}

export function registerBoot(program: Command): void {
  program
    .command('boot')
    .description('boot a node image in QEMU and show the kernel events')
    .argument('<image>', 'node disk image (from gittorrent build)')
    .option('--until <event>', 'exit 0 once the kernel reaches this state (ready)')
    .option('--timeout <seconds>', 'give up after this many seconds', '30')
    .option('--accel <a>', 'auto, tcg or kvm (auto: KVM only if it boots the reference kernel faster here)', 'auto')
    .option('--memory <mb>', 'guest memory in MiB', '256')
    .option('--gdb [port]', 'wait for gdb on a TCP port (default 1234 + uid % 1000)')
    .option('--qemu-arg <arg>', 'extra QEMU argument (repeatable)', collect, [])
    .option('--no-watchdog', 'no watchdog device (debugging): a hang is reported by the host instead')
    .option('--hang-after <seconds>', 'report the VM as hung after this long without output', '15')
    .option('--json', 'print the result as JSON (with --until)')
    .action(async (image: string, flags: BootFlags) => {
      if (flags.until !== undefined && flags.until !== 'ready') throw new UsageError(`--until takes "ready", not "${flags.until}"`);
      const timeoutMs = parseSeconds(flags.timeout, '--timeout') * 1000;
      const idleMs = parseSeconds(flags.hangAfter, '--hang-after') * 1000;
      const memoryMb = Number(flags.memory);
      if (!Number.isInteger(memoryMb) || memoryMb < 16) throw new UsageError(`--memory must be at least 16 (MiB), not "${flags.memory}"`);
      checkBootableImage(image);
      const choice = parseAccel(flags.accel);
      const gdbPort = flags.gdb === undefined ? undefined : flags.gdb === true ? defaultGdbPort() : parsePort(String(flags.gdb));
      const base = { disk: image, memoryMb, extraArgs: flags.qemuArg, snapshot: false, watchdog: flags.watchdog && gdbPort === undefined };
      const accel = await resolveAccel(choice, image, (note) => process.stderr.write(`gittorrent: ${note}\n`));
      const progress = createProgress({ quiet: flags.json });

      if (gdbPort !== undefined) process.stderr.write(`QEMU waits for gdb: ${gdbHint(image, gdbPort)}\n`);

      if (flags.until === 'ready') {
        progress.start(`booting ${image} (${accel})`);
        const { vm, result } = await bootToReady(
          { ...base, accel, gdbPort, onEvent: (e) => progress.log(`EVENT ${describeEvent(e)}`) },
          gdbPort !== undefined ? { timeoutMs: 24 * 3600 * 1000, idleMs: 24 * 3600 * 1000 } : { timeoutMs, idleMs },
        ).catch((e: unknown) => {
          progress.fail('boot failed');
          throw e;
        });
        await vm.stop(200);
        const extra = result.resets > 0 ? `, after ${result.resets} reset(s) and ${result.rollbacks.length} rollback(s)` : '';
        progress.succeed(`ready in ${result.readyMs} ms (kernel ${result.commit.slice(0, 12) || '(CD)'}: ${result.kernelMs ?? '?'} ms since its reset${extra})`);
        if (flags.json) process.stdout.write(JSON.stringify(result satisfies BootResult, null, 2) + '\n');
        return;
      }

      // Interactive: show events (and other serial lines) until QEMU exits or Ctrl-C.
      const vm = Vm.launch({
        ...base,
        accel,
        gdbPort,
        onLine: (line) => process.stdout.write(line + '\n'),
        onEvent: (e) => {
          if (isFatalEvent(e, base.watchdog)) process.stderr.write(`gittorrent: ${fatalMessage(e)}\n`);
        },
      });
      process.stdin.on('data', (d: Buffer) => vm.send(d.toString('utf8').replace(/\n$/, '')));
      const exit = await vm.exited;
      process.stdin.pause();
      process.stderr.write(`QEMU exited (${describeExit(exit)})\n`);
    });
}
