// Reads the routine headers of kernel-asm/ (STYLE: "; name -- what it does", then IN:, OUT:
// and a CLOBBERS: line) and turns them into register sets, for the header tests and for the
// contract-checking test build of the kernel (test/kernel/contracts.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ASM_ROOT = new URL('../../kernel-asm/', import.meta.url).pathname;

/** The general registers a routine may preserve (RSP is the stack itself). */
export const GPRS = ['RAX', 'RBX', 'RCX', 'RDX', 'RSI', 'RDI', 'RBP', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'] as const;
export type Gpr = (typeof GPRS)[number];

export interface AsmFile {
  /** Path relative to kernel-asm/, e.g. "lib/gitfs.asm". */
  path: string;
  lines: string[];
}

export interface RoutineHeader {
  name: string;
  file: string;
  /** 1-based line of the header's first line. */
  line: number;
  inText: string;
  outText: string;
  /** undefined when the header has no CLOBBERS: line. */
  clobbersText: string | undefined;
}

export function readAsmFiles(dirs: readonly string[] = ['boot', 'kernel', 'lib', 'include']): AsmFile[] {
  const out: AsmFile[] = [];
  for (const d of dirs) {
    for (const f of readdirSync(join(ASM_ROOT, d)).sort()) {
      if (!/\.(asm|inc)$/.test(f)) continue;
      const abs = join(ASM_ROOT, d, f);
      out.push({ path: relative(ASM_ROOT, abs), lines: readFileSync(abs, 'utf8').split('\n') });
    }
  }
  return out;
}

/** Code lines with comments and string literals removed (for name scans). */
export function codeOf(line: string): string {
  let out = '';
  let quote = '';
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      continue;
    }
    if (ch === ';') break;
    out += ch;
  }
  return out;
}

const HEADER_RE = /^; ((?:\.?[A-Za-z_][\w.]*)(?: \/ \.?[A-Za-z_][\w.]*)*) -- /;

/** Every routine header in the files, one entry per routine name it covers. */
export function readHeaders(files: readonly AsmFile[]): Map<string, RoutineHeader> {
  const headers = new Map<string, RoutineHeader>();
  for (const f of files) {
    for (let i = 0; i < f.lines.length; i++) {
      const m = HEADER_RE.exec(f.lines[i]!);
      if (!m) continue;
      const block: string[] = [];
      for (let j = i; j < f.lines.length && f.lines[j]!.startsWith(';'); j++) block.push(f.lines[j]!.replace(/^;\s?/, ''));
      const text = block.join('\n');
      const field = (key: string, ends: string[]): string => {
        const at = text.indexOf(`${key}:`);
        if (at < 0) return '';
        let end = text.length;
        for (const e of ends) {
          const k = text.indexOf(`${e}:`, at + key.length);
          if (k >= 0 && k < end) end = k;
        }
        return text.slice(at + key.length + 1, end).trim();
      };
      const clobbersAt = text.indexOf('CLOBBERS:');
      for (const name of m[1]!.split(' / ')) {
        headers.set(name, {
          name,
          file: f.path,
          line: i + 1,
          inText: field('IN', ['OUT', 'CLOBBERS']),
          outText: field('OUT', ['CLOBBERS']),
          clobbersText: clobbersAt < 0 ? undefined : text.slice(clobbersAt + 'CLOBBERS:'.length).trim(),
        });
      }
    }
  }
  return headers;
}

const REG_RE = /\b(R[ABCD]X|E[ABCD]X|[ABCD]X|[ABCD][LH]|RSI|RDI|RBP|ESI|EDI|EBP|SIL|DIL|R(?:[89]|1[0-5])[DWB]?)\b/g;

function widen(reg: string): Gpr {
  const r = reg.toUpperCase();
  const m = /^R(\d+)[DWB]?$/.exec(r);
  if (m) return `R${m[1]}` as Gpr;
  if (/^[RE]?SI|SIL$/.test(r)) return 'RSI';
  if (/^[RE]?DI|DIL$/.test(r)) return 'RDI';
  if (/^[RE]?BP$/.test(r)) return 'RBP';
  const letter = r.replace(/^[RE]/, '')[0]!;
  return `R${letter}X` as Gpr;
}

/** The registers a piece of header text names ("R8-R15" ranges included; [MEM] operands not). */
export function registersIn(text: string): Set<Gpr> {
  const t = text.replace(/\[[^\]]*\]/g, ' ');
  const regs = new Set<Gpr>();
  for (const m of t.matchAll(/\bR(\d+)-R(\d+)\b/g)) {
    for (let n = Number(m[1]); n <= Number(m[2]); n++) regs.add(`R${n}` as Gpr);
  }
  for (const m of t.matchAll(REG_RE)) regs.add(widen(m[1]!));
  return regs;
}

/** The registers a routine's header allows it to change: its CLOBBERS plus what OUT returns. */
export function mayChange(h: RoutineHeader, all: Map<string, RoutineHeader>, seen = new Set<string>()): Set<Gpr> | 'everything' {
  const c = h.clobbersText ?? '';
  const regs = new Set<Gpr>();
  const every = /\b(everything|anything)\b(?: but ([^\n]*))?/.exec(c);
  if (every) {
    const kept = every[2] ? registersIn(every[2]) : new Set<Gpr>();
    for (const r of GPRS) if (!kept.has(r)) regs.add(r);
  } else {
    for (const r of registersIn(c)) regs.add(r);
  }
  for (const r of registersIn(h.outText)) regs.add(r);
  // "OUT: as gitfs_read_object": that routine's outputs too
  for (const m of h.outText.matchAll(/\bas (\w+)/g)) {
    const other = all.get(m[1]!);
    if (!other || seen.has(other.name)) continue;
    seen.add(h.name);
    for (const r of registersIn(other.outText)) regs.add(r);
  }
  if (GPRS.every((r) => regs.has(r))) return 'everything';
  return regs;
}

/** Names called with a direct `call NAME` (not local labels), with where. */
export function callTargets(files: readonly AsmFile[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of files) {
    f.lines.forEach((line, i) => {
      const m = /^\s+call\s+([A-Za-z_]\w*)\s*$/i.exec(codeOf(line));
      if (!m) return;
      const list = out.get(m[1]!) ?? [];
      list.push(`${f.path}:${i + 1}`);
      out.set(m[1]!, list);
    });
  }
  return out;
}
