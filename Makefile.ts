// The build graph: `npx tsx Makefile.ts [TARGET|clean] [--out DIR]`, or `gittorrent build`.
// Targets: layout-inc (generated NASM include), mbr, stage2, cdboot, kernel (nasm), iso (the
// release), image (node disk), kernel-elf (the kernel with symbols, for gdb), gdbinit.
// Content-hash incremental: a build with nothing changed does no work and says so.
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { BuildGraph, type GraphResult } from './builder/graph.ts';
import { createProgress, type Progress } from './core/progress.ts';
import { defaultGdbPort, renderGdbInit } from './builder/gdbinit.ts';
import { ToolError } from './core/errors.ts';
// The recipes' modules (nasm's runner, the ISO writer, GitFS) are imported when a target runs:
// a build with nothing to do loads none of them.

export const ROOT = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_OUT = join(ROOT, 'out');
const ASM = join(ROOT, 'kernel-asm');
const LAYOUT_INC = join(ASM, 'include', 'gitfs_layout.inc');
const LAYOUT_TS = join(ROOT, 'gitfs', 'layout.ts');

/** Deliberately broken kernels for the rollback tests and the demo (kernel-asm/kernel/health.asm). */
export const FAULT_KINDS = { hang: 1, 'triple-fault': 2, panic: 3, unhealthy: 4 } as const;
export type FaultKind = keyof typeof FAULT_KINDS;

export interface BuildOptions {
  outDir?: string;
  /** Build a broken kernel of this kind (default out folder: out/fault-KIND). */
  fault?: FaultKind;
  kernelVersion?: string;
  /** Extra nasm definitions for the kernel (test builds: TEST_FAULT). */
  kernelDefines?: Record<string, string | number>;
  imageSizeBytes?: number;
  progress?: Progress;
}

export interface BuildOutputs {
  outDir: string;
  image: string;
  /** The kernel as an ELF with symbols and line information (gdb), same code as `kernel`. */
  kernelElf: string;
  /** A gdb script: architecture, symbols, `target remote` (docs/debugging.md). */
  gdbinit: string;
  mbr: string;
  stage2: string;
  kernel: string;
  kernelListing: string;
  kernelMap: string;
  kernelVersion: string;
  iso: string;
  built: string[];
  upToDate: boolean;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function depsFromDepfile(depfile: string, source: string): string[] | undefined {
  if (!existsSync(depfile)) return undefined;
  const text = readFileSync(depfile, 'utf8').replace(/\\\n/g, ' ');
  const files = text.slice(text.indexOf(':') + 1).split(/\s+/).filter((s) => s && !s.endsWith(':'));
  return [...new Set([source, ...files.map((f) => resolve(ROOT, f))])];
}

/** The TypeScript sources a target's recipe runs (files, or every .ts under a folder). */
function sourcesOf(...paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const abs = join(ROOT, p);
    if (statSync(abs).isDirectory()) {
      for (const f of readdirSync(abs, { recursive: true }) as string[]) if (f.endsWith('.ts')) out.push(join(abs, f));
    } else out.push(abs);
  }
  return out;
}

function writeFileAtomic(path: string, data: Buffer): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

export async function build(opts: BuildOptions = {}): Promise<BuildOutputs> {
  const outDir = resolve(opts.outDir ?? (opts.fault ? join(DEFAULT_OUT, `fault-${opts.fault}`) : DEFAULT_OUT));
  const progress = opts.progress ?? createProgress({ quiet: true });
  const kernelVersion = opts.kernelVersion ?? packageVersion();
  const includeDirs = [join(ASM, 'include'), join(ASM, 'lib')];
  const graph = new BuildGraph(join(outDir, '.build-state.json'));

  graph.add({
    name: 'layout-inc',
    deps: [],
    inputs: () => [LAYOUT_TS],
    params: {},
    outputs: [LAYOUT_INC],
    async run() {
      const { renderLayoutInc } = await import('./gitfs/layout.ts');
      const text = renderLayoutInc();
      if (!existsSync(LAYOUT_INC) || readFileSync(LAYOUT_INC, 'utf8') !== text) writeFileSync(LAYOUT_INC, text);
    },
  });

  const nasmTarget = (name: string, source: string, extraIncludes: string[], defines: Record<string, string | number>, optimize: 'full' | 'minimal' = 'full') => {
    const output = join(outDir, `${name}.bin`);
    const depfile = join(outDir, `${name}.d`);
    graph.add({
      name,
      deps: ['layout-inc'],
      inputs: () => depsFromDepfile(depfile, source),
      params: { defines, includeDirs: [...includeDirs, ...extraIncludes], optimize },
      outputs: [output, join(outDir, `${name}.lst`), join(outDir, `${name}.map`)],
      async run() {
        const { assemble } = await import('./builder/nasm.ts');
        await assemble({ source, output, includeDirs: [...includeDirs, ...extraIncludes], defines, root: ROOT, optimize });
      },
    });
    return output;
  };

  const mbr = nasmTarget('mbr', join(ASM, 'boot', 'mbr.asm'), [], {});
  const stage2 = nasmTarget('stage2', join(ASM, 'boot', 'stage2.asm'), [], {});
  const cdboot = nasmTarget('cdboot', join(ASM, 'boot', 'cdboot.asm'), [], {});
  const kernelSource = join(ASM, 'kernel', 'main.asm');
  const kernelDefines: Record<string, string | number> = { KERNEL_VERSION: kernelVersion, ...(opts.kernelDefines ?? {}) };
  if (opts.fault) kernelDefines.FAULT_KIND = FAULT_KINDS[opts.fault];
  // a contract-checked kernel (a test build) is assembled in one pass: -Ox takes minutes on it
  const kernelOptimize = kernelDefines.CONTRACT_CHECK === undefined ? 'full' : 'minimal';
  const kernel = nasmTarget('kernel', kernelSource, [join(ASM, 'kernel')], kernelDefines, kernelOptimize);

  // The kernel release: an ISO 9660 image that boots by itself as a CD.
  const iso = join(outDir, 'release.iso');
  graph.add({
    name: 'iso',
    deps: ['mbr', 'stage2', 'cdboot', 'kernel'],
    inputs: () => [mbr, stage2, cdboot, kernel, ...sourcesOf('builder/release.ts', 'builder/iso')],
    params: { kernelVersion },
    outputs: [iso],
    async run() {
      const { buildReleaseIso } = await import('./builder/release.ts');
      writeFileAtomic(iso, buildReleaseIso({ kernel, stage2, mbr, cdboot, kernelVersion }));
    },
  });

  // The node disk image: a GitFS image whose kernel branch holds the release merged from its
  // ISO, with the `boot` ref on it and the release's loader in the boot area.
  const image = join(outDir, 'node.img');
  const imageSizeBytes = opts.imageSizeBytes ?? 64 * 1024 * 1024;
  graph.add({
    name: 'image',
    deps: ['iso'],
    inputs: () => [iso, ...sourcesOf('builder/kernel-merge.ts', 'gitfs')],
    params: { imageSizeBytes },
    outputs: [image],
    async run() {
      const [{ createImage }, { mergeRelease }, { readRelease }] = await Promise.all([
        import('./gitfs/image.ts'),
        import('./builder/kernel-merge.ts'),
        import('./builder/release.ts'),
      ]);
      const tmp = `${image}.tmp`;
      const img = createImage(tmp, { sizeBytes: imageSizeBytes, overwrite: true });
      try {
        // The first kernel of a node: nothing older to roll back to, so it is good.
        mergeRelease(img, readRelease(readFileSync(iso), iso), { boot: { state: 'good' }, message: `kernel ${kernelVersion} (gittorrent build)` });
      } finally {
        img.close();
      }
      renameSync(tmp, image);
    },
  });

  // For gdb: the kernel as an ELF with symbols (the same code as kernel.bin, checked), and a
  // script that loads it and attaches to `boot --gdb` on the default port.
  const kernelElf = join(outDir, 'kernel.elf');
  const kernelIncludes = [...includeDirs, join(ASM, 'kernel')];
  graph.add({
    name: 'kernel-elf',
    deps: ['kernel'],
    inputs: () => {
      const deps = depsFromDepfile(join(outDir, 'kernel.d'), kernelSource);
      return deps && [...deps, kernel, join(ROOT, 'builder', 'nasm.ts')];
    },
    params: { defines: kernelDefines, includeDirs: kernelIncludes, optimize: kernelOptimize },
    outputs: [kernelElf],
    async run() {
      const { assembleElf, readSymbolMap } = await import('./builder/nasm.ts');
      // the kernel's `org`, as the flat build saw it (generated from gitfs/layout.ts)
      const loadAddr = readSymbolMap(join(outDir, 'kernel.map')).get('KERNEL_LOAD_ADDR');
      if (loadAddr === undefined) throw new ToolError('kernel.map has no KERNEL_LOAD_ADDR: cannot link kernel.elf');
      await assembleElf({ source: kernelSource, includeDirs: kernelIncludes, defines: kernelDefines, flat: kernel, output: kernelElf, loadAddr, entry: 'kernel_entry', root: ROOT, optimize: kernelOptimize });
    },
  });
  const gdbinit = join(outDir, '.gdbinit');
  const gdbPort = defaultGdbPort();
  graph.add({
    name: 'gdbinit',
    deps: [],
    inputs: () => [join(ROOT, 'builder', 'gdbinit.ts')],
    params: { kernelElf, gdbPort },
    outputs: [gdbinit],
    async run() {
      writeFileSync(gdbinit, renderGdbInit(kernelElf, gdbPort));
    },
  });

  const result: GraphResult = await graph.build(['image', 'kernel-elf', 'gdbinit'], progress);
  if (result.built.length === 0) progress.log(`nothing to do: ${result.upToDate.length} targets up to date`);
  return {
    outDir,
    image,
    kernelElf,
    gdbinit,
    mbr,
    stage2,
    kernel,
    kernelListing: join(outDir, 'kernel.lst'),
    kernelMap: join(outDir, 'kernel.map'),
    kernelVersion,
    iso,
    built: result.built,
    upToDate: result.built.length === 0,
  };
}

export function clean(outDir: string = DEFAULT_OUT): void {
  rmSync(outDir, { recursive: true, force: true });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIdx = args.indexOf('--out');
  const outDir = outIdx >= 0 ? args[outIdx + 1] : undefined;
  if (args[0] === 'clean') {
    clean(outDir);
    console.log(`removed ${outDir ?? DEFAULT_OUT}`);
  } else {
    const r = await build({ outDir, progress: createProgress() });
    console.log(r.image);
  }
}
