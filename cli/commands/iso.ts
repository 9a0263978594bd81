// gittorrent iso build / iso ls: kernel releases as ISO 9660 images.
import type { Command } from 'commander';
import { copyFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from '../../Makefile.ts';
import { readIso } from '../../builder/iso/index.ts';
import { FileNotFoundError } from '../../core/errors.ts';
import { printResult } from '../../core/output.ts';
import { createProgress } from '../../core/progress.ts';

export function readInputFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new FileNotFoundError(`${what} not found: ${path}`);
  }
}

export function registerIso(program: Command): void {
  const iso = program.command('iso').description('kernel releases as ISO 9660 images (El Torito bootable)');

  iso
    .command('build')
    .description('pack a kernel release: kernel, loader, VERSION and a CD boot image')
    .option('--out <file>', 'where to write the ISO (default: out/release.iso)')
    .option('--kernel-version <v>', 'kernel version (default: the package version)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { out?: string; kernelVersion?: string; json?: boolean }) => {
      const r = await build({ kernelVersion: flags.kernelVersion, progress: createProgress() });
      let path = r.iso;
      if (flags.out) {
        path = resolve(flags.out);
        copyFileSync(r.iso, path);
      }
      const files = [...readIso(readFileSync(path)).files.entries()].map(([p, d]) => ({ path: p, size: d.length }));
      printResult({ iso: path, kernelVersion: r.kernelVersion, files }, { json: flags.json }, (x) =>
        [`iso      ${x.iso}`, `version  ${x.kernelVersion}`, ...x.files.map((f) => `  ${String(f.size).padStart(8)}  ${f.path}`)].join('\n'),
      );
    });

  iso
    .command('ls')
    .description('list the files of an ISO image and its El Torito boot entry')
    .argument('<iso>', 'ISO image')
    .option('--json', 'print the result as JSON')
    .action((file: string, flags: { json?: boolean }) => {
      const img = readIso(readInputFile(file, 'ISO'));
      const result = {
        volumeId: img.volumeId,
        files: [...img.files.entries()].map(([p, d]) => ({ path: p, size: d.length })),
        boot: img.boot ?? null,
      };
      printResult(result, { json: flags.json }, (x) =>
        [
          `volume   ${x.volumeId}`,
          ...x.files.map((f) => `  ${String(f.size).padStart(8)}  ${f.path}`),
          x.boot ? `boot     ${x.boot.path ?? '?'} (${x.boot.sectorCount} sectors, segment 0x${x.boot.loadSegment.toString(16)})` : 'boot     none',
        ].join('\n'),
      );
    });
}
