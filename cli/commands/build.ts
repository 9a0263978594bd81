// gittorrent build: assembles the loader and kernel and writes the node disk image.
import type { Command } from 'commander';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { createProgress } from '../../core/progress.ts';
import { printResult } from '../../core/output.ts';

interface BuildFlags {
  out?: string;
  json?: boolean;
  kernelVersion?: string;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('assemble the loader and kernel and write the node disk image (incremental)')
    .option('--out <dir>', 'output folder (default: out/)')
    .option('--kernel-version <v>', 'kernel version string (default: the package version)')
    .option('--json', 'print the produced paths as JSON')
    .action(async (flags: BuildFlags) => {
      const progress = createProgress();
      const r = await build({ outDir: flags.out, kernelVersion: flags.kernelVersion, progress });
      printResult(r, { json: flags.json }, renderBuild);
    });
}

function renderBuild(r: BuildOutputs): string {
  return [
    `image    ${r.image}`,
    `kernel   ${r.kernel} (version ${r.kernelVersion})`,
    `listing  ${r.kernelListing}`,
    `map      ${r.kernelMap}`,
    r.upToDate ? 'nothing to do: up to date' : `built: ${r.built.join(', ')}`,
  ].join('\n');
}
