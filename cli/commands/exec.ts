// gittorrent exec IMAGE -- CMD... : boots a node, runs shell commands, prints their output,
// powers off. gittorrent shell IMAGE: boots a node and attaches the terminal to its shell.
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { checkBootableImage } from '../../builder/disk-check.ts';
import { BootError, UsageError } from '../../core/errors.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { parseAccel, resolveAccel } from '../../emulator/accel.ts';
import { ShellClient, type ShellResult } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { abbreviate } from '../../core/output.ts';

interface NodeFlags {
  timeout: string;
  accel: string;
  snapshot?: boolean;
  json?: boolean;
}

async function bootNode(image: string, flags: NodeFlags): Promise<Vm> {
  checkBootableImage(image);
  const timeoutMs = Number(flags.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive number of seconds`);
  const accel = await resolveAccel(parseAccel(flags.accel), image, (note) => process.stderr.write(`gittorrent: ${note}\n`));
  const { vm } = await bootToReady({ disk: image, accel, snapshot: Boolean(flags.snapshot) }, timeoutMs);
  return vm;
}

/** Prints one command's output the way a terminal user expects. */
function printResult(r: ShellResult): void {
  for (const line of r.lines) process.stdout.write(line + '\n');
  if (r.data) process.stdout.write(r.data);
  for (const e of r.events) {
    if (e.name === 'error') process.stderr.write(`${abbreviate(r.command.split(' ')[0]!)}: ${e.fields.reason ?? 'error'}${e.fields.object ? ` (object ${e.fields.object})` : ''}\n`);
    else if (e.name !== 'data') process.stdout.write(e.line + '\n');
  }
}

export function registerExec(program: Command): void {
  const common = (c: Command) =>
    c
      .option('--timeout <seconds>', 'boot timeout', '30')
      .option('--accel <a>', 'auto, tcg or kvm', 'auto')
      .option('--snapshot', 'discard what the commands write to the image');

  common(
    program
      .command('exec')
      .description('boot a node, run shell commands (one argument each), print their output, power off')
      .argument('<image>', 'node disk image')
      .argument('<commands...>', 'shell commands, e.g. "ls /" "cat /kernel/VERSION"')
      .option('--json', 'print every command result as JSON'),
  ).action(async (image: string, commands: string[], flags: NodeFlags) => {
    const vm = await bootNode(image, flags);
    const results: ShellResult[] = [];
    try {
      const sh = new ShellClient(vm);
      for (const c of commands) {
        const r = await sh.run(c);
        results.push(r);
        if (!flags.json) printResult(r);
      }
    } finally {
      await vm.stop(1000);
    }
    if (flags.json) {
      const out = results.map((r) => ({
        command: r.command,
        status: r.status,
        lines: r.lines,
        events: r.events.map((e) => ({ name: e.name, fields: e.fields })),
        error: r.error ?? null,
        data: r.data ? r.data.toString('base64') : null,
      }));
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    }
    const failed = results.filter((r) => r.status !== 'ok');
    if (failed.length > 0) {
      throw new BootError(`${failed.length} of ${results.length} commands failed (first: ${abbreviate(failed[0]!.command)}: ${abbreviate(failed[0]!.error ?? 'error')})`);
    }
  });

  common(
    program
      .command('shell')
      .description('boot a node and attach the terminal to its serial shell (Ctrl-D powers off)')
      .argument('<image>', 'node disk image'),
  ).action(async (image: string, flags: NodeFlags) => {
    const vm = await bootNode(image, flags);
    const sh = new ShellClient(vm);
    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'gt> ', terminal: Boolean(process.stdin.isTTY) });
    process.stderr.write('gittorrent shell: type `help` for commands, Ctrl-D to power off\n');
    rl.prompt();
    for await (const line of rl) {
      const cmd = line.trim();
      if (cmd) {
        try {
          printResult(await sh.run(cmd));
        } catch (e) {
          process.stderr.write(`${(e as Error).message}\n`);
          if (vm.exitStatus) break;
        }
      }
      rl.prompt();
    }
    await vm.stop(1000);
  });
}
