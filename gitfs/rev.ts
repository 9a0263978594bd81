// Revision syntax: NAME | HASH | abbreviated HASH, followed by any number of ~N / ^ / ^N;
// and REV:PATH.
import { UsageError } from '../core/errors.ts';

export interface RevStep {
  readonly op: '~' | '^';
  readonly n: number;
}

export interface ParsedRev {
  readonly base: string;
  readonly steps: readonly RevStep[];
}

export function parseRev(rev: string): ParsedRev {
  const m = /^([^~^]+)((?:[~^]\d*)*)$/.exec(rev);
  if (!m) throw new UsageError(`bad revision ${JSON.stringify(rev)}`);
  const steps: RevStep[] = [];
  const re = /([~^])(\d*)/g;
  let s: RegExpExecArray | null;
  while ((s = re.exec(m[2]!)) !== null) {
    const n = s[2] === '' ? 1 : Number(s[2]);
    if (!Number.isSafeInteger(n)) throw new UsageError(`bad revision ${JSON.stringify(rev)}`);
    steps.push({ op: s[1] as '~' | '^', n });
  }
  return { base: m[1]!, steps };
}

/** Splits "REV:PATH" (PATH may be empty); no colon means just a revision. */
export function splitRevPath(spec: string): { rev: string; path: string | undefined } {
  const i = spec.indexOf(':');
  if (i < 0) return { rev: spec, path: undefined };
  return { rev: spec.slice(0, i), path: spec.slice(i + 1) };
}
