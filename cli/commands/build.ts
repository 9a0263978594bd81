// gittorrent build: assembles the loader and kernel and writes the node disk image.
import type { Command } from 'commander';
import { build, FAULT_KINDS, type BuildOutputs, type FaultKind } from '../../Makefile.ts';
import { UsageError } from '../../core/errors.ts';
import { createProgress } from '../../core/progress.ts';
import { printResult } from '../../core/output.ts';

interface BuildFlags {
  out?: string;
  json?: boolean;
  kernelVersion?: string;
  fault?: string;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('assemble the loader and kernel and write the node disk image (incremental)')
    .option('--out <dir>', 'output folder (default: out/)')
    .option('--kernel-version <v>', 'kernel version string (default: the package version)')
    .option('--fault <kind>', `build a deliberately broken kernel: ${Object.keys(FAULT_KINDS).join('|')} (out/fault-KIND)`)
    .option('--json', 'print the produced paths as JSON')
    .action(async (flags: BuildFlags) => {
      if (flags.fault !== undefined && !(flags.fault in FAULT_KINDS)) {
        throw new UsageError(`--fault must be one of ${Object.keys(FAULT_KINDS).join(', ')}, not "${flags.fault}"`);
      }
      const progress = createProgress();
      const r = await build({ outDir: flags.out, kernelVersion: flags.kernelVersion, fault: flags.fault as FaultKind | undefined, progress });
      printResult(r, { json: flags.json }, renderBuild);
    });
}

function renderBuild(r: BuildOutputs): string {
  return [
    `image    ${r.image}`,
    `iso      ${r.iso}`,
    `kernel   ${r.kernel} (version ${r.kernelVersion})`,
    `listing  ${r.kernelListing}`,
    `map      ${r.kernelMap}`,
    `elf      ${r.kernelElf} (symbols for gdb: gdb -x ${r.gdbinit})`,
    r.upToDate ? 'nothing to do: up to date' : `built: ${r.built.join(', ')}`,
  ].join('\n');
}
