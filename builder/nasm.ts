// The assembler wrapper: runs nasm through execa, writes a listing (.lst), a symbol map
// (.map) and a make-style dependency file (.d) next to each binary, and turns nasm's
// diagnostics into file:line messages; a warning fails the build as an error does (so a
// mistake nasm only warns about, such as an immediate that does not fit, cannot ship). For
// gdb, an ELF with symbols of the same source.
import { execa } from 'execa';
import { readFileSync, readdirSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { AssemblyError, ToolError } from '../core/errors.ts';

export interface AssembleOptions {
  /** The .asm file to assemble. */
  source: string;
  /** Where the flat binary goes; .lst, .map and .d are written beside it. */
  output: string;
  includeDirs: string[];
  /** nasm -D definitions; a string value is passed quoted (a NASM string), a number bare. */
  defines?: Record<string, string | number>;
  /** Paths in diagnostics are shown relative to this folder. */
  root?: string;
  /** nasm's optimisation level: 'full' (-Ox, the default: the shortest jumps, several passes)
   *  or 'minimal' (-O1: one pass; for a contract-checked build, whose thousands of macro-made
   *  thunks make -Ox's passes take minutes). */
  optimize?: 'full' | 'minimal';
}

export interface AssembleResult {
  output: string;
  listing: string;
  map: string;
  depfile: string;
  /** Every file nasm read (the source and its includes), absolute. */
  inputs: string[];
}

export interface Diagnostic {
  file: string;
  line: number;
  severity: 'error' | 'warning' | 'fatal';
  message: string;
}

const DIAG_RE = /^(.*?):(\d+): (error|warning|fatal): (.*)$/;

/** Parses nasm's stderr into diagnostics (lines it cannot parse are kept as file "nasm"). */
export function parseDiagnostics(stderr: string, root: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.trim()) continue;
    const m = DIAG_RE.exec(line);
    if (m) {
      out.push({
        file: relative(root, resolve(m[1]!)) || m[1]!,
        line: Number(m[2]),
        severity: m[3] as Diagnostic['severity'],
        message: m[4]!,
      });
    } else {
      const sev = /\bwarning\b/.test(line) ? 'warning' : 'error';
      out.push({ file: 'nasm', line: 0, severity: sev, message: line.replace(/^nasm: /, '') });
    }
  }
  return out;
}

/**
 * nasm 2.16.01's own `alignb` macro (standard.mac) brackets its `resb` with `[warning push]` /
 * `[warning pop]`, which that version's -w+all then reports, at the line using alignb, as
 * "unknown warning name: push/pop". They come from nasm, not from our source: dropped.
 */
function fromNasmItself(d: Diagnostic): boolean {
  return d.severity === 'warning' && /^unknown warning name: (push|pop) \[-w\+unknown-warning\]$/.test(d.message);
}

/**
 * Fails the build on its diagnostics: every error, and every warning in our sources or about
 * our command line (all but fromNasmItself). The AssemblyError is one line naming each as
 * file:line, errors first.
 */
export function failOnDiagnostics(diags: Diagnostic[], what: string): void {
  const fatal = diags.filter((d) => !fromNasmItself(d));
  if (fatal.length === 0) return;
  const ordered = [...fatal.filter((d) => d.severity !== 'warning'), ...fatal.filter((d) => d.severity === 'warning')];
  const shown = ordered
    .slice(0, 8)
    .map((d) => formatDiagnostic(d.severity === 'warning' ? { ...d, severity: 'error', message: `${d.message} (a nasm warning: warnings fail the build)` } : d));
  const more = ordered.length > shown.length ? ` (and ${ordered.length - shown.length} more in ${what})` : '';
  throw new AssemblyError(`${shown.join('; ')}${more}`);
}

export function formatDiagnostic(d: Diagnostic): string {
  return d.line > 0 ? `${d.file}:${d.line}: ${d.severity}: ${d.message}` : `${d.file}: ${d.severity}: ${d.message}`;
}

/** Reads a make-style dependency file as written by nasm -MD. */
export function parseDepfile(text: string): string[] {
  const joined = text.replace(/\\\n/g, ' ');
  const colon = joined.indexOf(':');
  if (colon < 0) return [];
  return joined
    .slice(colon + 1)
    .split(/\s+/)
    .filter((s) => s.length > 0 && !s.endsWith(':'));
}

function defineArgs(defines: Record<string, string | number>): string[] {
  return Object.entries(defines).map(([k, v]) => (typeof v === 'number' ? `-D${k}=${v}` : `-D${k}="${v.replace(/"/g, '')}"`));
}

export async function assemble(opts: AssembleOptions): Promise<AssembleResult> {
  const root = opts.root ?? process.cwd();
  const output = resolve(opts.output);
  const base = output.replace(/\.bin$/, '');
  const listing = `${base}.lst`;
  const map = `${base}.map`;
  const depfile = `${base}.d`;
  mkdirSync(dirname(output), { recursive: true });
  const args = [
    '-f', 'bin',
    '-w+all',
    opts.optimize === 'minimal' ? '-O1' : '-Ox',
    ...opts.includeDirs.map((d) => `-I${resolve(d)}/`),
    ...defineArgs(opts.defines ?? {}),
    '-o', output,
    '-l', listing,
    '--before', `[map symbols ${map}]`,
    resolve(opts.source),
  ];
  let result;
  try {
    result = await execa('nasm', args, { reject: false, cwd: root, all: false });
  } catch (e) {
    throw new ToolError(`cannot run nasm: ${(e as Error).message.split('\n')[0]}`);
  }
  if (result.failed && (result as { code?: string }).code === 'ENOENT') {
    throw new ToolError('nasm is not installed (apt-get install nasm)');
  }
  const diags = parseDiagnostics(String(result.stderr ?? ''), root);
  if (result.exitCode !== 0 && diags.every((d) => d.severity === 'warning')) {
    diags.push({ file: 'nasm', line: 0, severity: 'error', message: `failed on ${relative(root, opts.source)} (exit ${result.exitCode})` });
  }
  failOnDiagnostics(diags, relative(root, opts.source));
  // Dependencies: a separate `nasm -M` pass (nasm 2.16's -MD during assembly omits includes).
  const deps = await execa('nasm', ['-M', '-MT', output, ...opts.includeDirs.map((d) => `-I${resolve(d)}/`), ...defineArgs(opts.defines ?? {}), resolve(opts.source)], {
    reject: false,
    cwd: root,
  });
  if (deps.exitCode === 0) {
    writeFileSync(depfile, String(deps.stdout) + '\n');
  } else {
    // Preprocess-only mode cannot evaluate everything (e.g. %assign of an equ symbol): fall
    // back to every source in the include folders, a safe over-approximation.
    const all = opts.includeDirs.flatMap((d) =>
      readdirSync(resolve(d))
        .filter((f) => /\.(asm|inc)$/.test(f))
        .map((f) => join(resolve(d), f)),
    );
    writeFileSync(depfile, `${output} : ${[resolve(opts.source), ...all].join(' \\\n  ')}\n`);
  }
  const inputs = existsSync(depfile) ? parseDepfile(readFileSync(depfile, 'utf8')).map((p) => resolve(root, p)) : [resolve(opts.source)];
  return { output, listing, map, depfile, inputs };
}

/** Reads the label addresses from a nasm map file ("-- Symbols --", Real/Virtual/Name rows). */
export function readSymbolMap(mapPath: string): Map<string, number> {
  const symbols = new Map<string, number>();
  const text = readFileSync(mapPath, 'utf8');
  const start = text.indexOf('-- Symbols --');
  if (start < 0) return symbols;
  for (const line of text.slice(start).split('\n')) {
    const m = /^\s*([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+(\S+)\s*$/.exec(line);
    if (m) {
      symbols.set(m[3]!, parseInt(m[2]!, 16));
      continue;
    }
    const n = /^\s*([0-9A-Fa-f]+)\s+(\S+)\s*$/.exec(line);
    if (n && !symbols.has(n[2]!)) symbols.set(n[2]!, parseInt(n[1]!, 16));
  }
  return symbols;
}

export interface AssembleElfOptions {
  /** The same source, include folders and definitions as the flat binary it describes. */
  source: string;
  includeDirs: string[];
  defines?: Record<string, string | number>;
  /** The flat binary (`org loadAddr`, sections .text then .bss) this ELF must match byte for byte. */
  flat: string;
  /** Where the ELF goes. */
  output: string;
  /** The address the flat binary is loaded at (its `org`). */
  loadAddr: number;
  /** A label made the ELF's entry point (and global). */
  entry: string;
  root?: string;
  /** As the flat binary's (AssembleOptions.optimize): the code must come out the same. */
  optimize?: 'full' | 'minimal';
}

async function runTool(tool: string, args: string[], pkg: string, root: string): Promise<string> {
  let r;
  try {
    r = await execa(tool, args, { reject: false, cwd: root });
  } catch (e) {
    throw new ToolError(`cannot run ${tool}: ${(e as Error).message.split('\n')[0]}`);
  }
  if ((r as { code?: string }).code === 'ENOENT') throw new ToolError(`${tool} is not installed (apt-get install ${pkg})`);
  if (r.exitCode !== 0) {
    const first = String(r.stderr ?? '').split('\n').find((l) => /error|fatal/i.test(l)) ?? String(r.stderr ?? '').split('\n')[0];
    throw new ToolError(`${tool} failed: ${first || `exit ${r.exitCode}`}`);
  }
  return String(r.stderr ?? '');
}

/**
 * Builds an ELF with symbols and DWARF line information beside a flat binary, for gdb: the same
 * source assembled with `nasm -f elf64 -g -F dwarf` (a prelude turns `org` into nothing and
 * declares the bin format's `section..bss.start`, which the linker script defines), linked by
 * `ld` at the load address. The flat binary is not touched; the ELF's .text is checked to be
 * byte-identical to it, so every symbol's address is the running kernel's.
 */
export async function assembleElf(opts: AssembleElfOptions): Promise<string> {
  const root = opts.root ?? process.cwd();
  const output = resolve(opts.output);
  const work = mkdtempSync(join(tmpdir(), 'gt-elf-'));
  try {
    const prelude = join(work, 'prelude.inc');
    writeFileSync(prelude, ['%macro org 1', '%endmacro', 'extern section..bss.start', `global ${opts.entry}`, ''].join('\n'));
    const script = join(work, 'link.ld');
    writeFileSync(
      script,
      [
        `ENTRY(${opts.entry})`,
        'SECTIONS {',
        `  . = 0x${opts.loadAddr.toString(16)};`,
        '  .text : { *(.text) }',
        '  .bss (NOLOAD) : ALIGN(4096) { *(.bss) }',
        '  "section..bss.start" = ADDR(.bss);',
        '}',
        '',
      ].join('\n'),
    );
    const object = join(work, 'kernel.o');
    const nasmArgs = ['-f', 'elf64', '-g', '-F', 'dwarf', '-w+all', opts.optimize === 'minimal' ? '-O1' : '-Ox', '-p', prelude, ...opts.includeDirs.map((d) => `-I${resolve(d)}/`), ...defineArgs(opts.defines ?? {}), '-o', object, resolve(opts.source)];
    failOnDiagnostics(parseDiagnostics(await runTool('nasm', nasmArgs, 'nasm', root), root), `${relative(root, opts.source)} (ELF)`);
    mkdirSync(dirname(output), { recursive: true });
    await runTool('ld', ['-m', 'elf_x86_64', '-nostdlib', '-static', '-T', script, '-o', output, object], 'binutils', root);
    const text = join(work, 'text.bin');
    await runTool('objcopy', ['-O', 'binary', '-j', '.text', output, text], 'binutils', root);
    if (!readFileSync(text).equals(readFileSync(opts.flat))) {
      throw new ToolError(`${relative(root, output)}: its code differs from ${relative(root, opts.flat)} (the ELF build of ${relative(root, opts.source)} does not match the flat one)`);
    }
    return output;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
