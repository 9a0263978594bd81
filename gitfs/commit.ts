// Git commits: encode/decode, with GitFS's extra headers (branch, forked-from, kernel-version)
// after committer and before the blank line.
import { CorruptDataError, UsageError } from '../core/errors.ts';
import { isFullHash } from './objects.ts';

export interface Signature {
  readonly name: string;
  readonly email: string;
  /** Seconds since the epoch. */
  readonly time: number;
  /** "+0000" style offset. */
  readonly tz?: string;
}

export interface Commit {
  readonly tree: string;
  readonly parents: readonly string[];
  /** Raw author / committer lines (after the keyword). */
  readonly author: string;
  readonly committer: string;
  /** Headers after committer, in order (multi-line values keep their newlines). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly message: string;
}

export function formatSignature(s: Signature): string {
  for (const v of [s.name, s.email]) {
    if (/[<>\n]/.test(v)) throw new UsageError(`bad name or email ${JSON.stringify(v)}`);
  }
  return `${s.name} <${s.email}> ${Math.floor(s.time)} ${s.tz ?? '+0000'}`;
}

export function encodeCommit(c: Commit): Buffer {
  let s = `tree ${c.tree}\n`;
  for (const p of c.parents) s += `parent ${p}\n`;
  s += `author ${c.author}\ncommitter ${c.committer}\n`;
  for (const [k, v] of c.headers) {
    if (!/^[a-z][a-z0-9-]*$/.test(k) || ['tree', 'parent', 'author', 'committer'].includes(k)) {
      throw new UsageError(`bad commit header name ${JSON.stringify(k)}`);
    }
    if (v.includes('\n')) throw new UsageError(`commit header ${k} must be one line`);
    s += `${k} ${v}\n`;
  }
  s += '\n' + c.message;
  return Buffer.from(s, 'utf8');
}

export function decodeCommit(data: Buffer, what = 'commit'): Commit {
  const text = data.toString('utf8');
  const blank = text.indexOf('\n\n');
  const head = blank < 0 ? text : text.slice(0, blank);
  const message = blank < 0 ? '' : text.slice(blank + 2);
  let tree: string | undefined;
  const parents: string[] = [];
  let author = '';
  let committer = '';
  const headers: [string, string][] = [];
  for (const line of head.split('\n')) {
    if (line.startsWith(' ') && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last[1] += '\n' + line.slice(1);
      continue;
    }
    const sp = line.indexOf(' ');
    const k = sp < 0 ? line : line.slice(0, sp);
    const v = sp < 0 ? '' : line.slice(sp + 1);
    if (k === 'tree' && tree === undefined) tree = v;
    else if (k === 'parent') parents.push(v);
    else if (k === 'author') author = v;
    else if (k === 'committer') committer = v;
    else headers.push([k, v]);
  }
  if (tree === undefined || !isFullHash(tree)) throw new CorruptDataError(`malformed ${what}: no tree line`);
  for (const p of parents) if (!isFullHash(p)) throw new CorruptDataError(`malformed ${what}: bad parent ${JSON.stringify(p)}`);
  return { tree, parents, author, committer, headers, message };
}

export function commitHeader(c: Commit, key: string): string | undefined {
  return c.headers.find(([k]) => k === key)?.[1];
}

/** Seconds since the epoch from a signature line ("Name <mail> 123 +0000"), 0 if unreadable. */
export function signatureTime(sig: string): number {
  const m = /> (\d+) [+-]\d{4}$/.exec(sig);
  return m ? Number(m[1]) : 0;
}
