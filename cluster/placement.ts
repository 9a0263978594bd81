// Data by policy (docs/protocol.md, "Placement"): the TypeScript reference of what the kernel
// computes in kernel-asm/kernel/gtp_policy.asm.
//   - The policy configuration: the blob the ref `config/policy` names, lines
//     `<branch-glob> all|copies=K` (first match wins; `#` comment lines and blank lines are
//     skipped, as is a malformed line); no ref: `kernel all`, `* copies=3`.
//   - Rendezvous hashing (HRW) on (object hash, node): weight = the first 8 bytes, little
//     endian, of SHA-1(hash[20] ‖ u32le(node)); an object with k copies is placed on the k
//     live nodes of highest weight (ties: the lower node number).
import { createHash } from 'node:crypto';
import { UsageError } from '../core/errors.ts';

export const POLICY_REF = 'config/policy';
export const COPIES_MAX = 254;

export type Copies = number | 'all';

export interface PolicyRule {
  glob: string;
  copies: Copies;
}

export const DEFAULT_RULES: readonly PolicyRule[] = [
  { glob: 'kernel', copies: 'all' },
  { glob: '*', copies: 3 },
];

/** `all` or `copies=K` (1..254); null for anything else. */
export function parseCopies(text: string): Copies | null {
  if (text === 'all') return 'all';
  const m = /^copies=(\d{1,4})$/.exec(text);
  if (!m) return null;
  const k = Number(m[1]);
  return k >= 1 && k <= COPIES_MAX ? k : null;
}

export function copiesName(c: Copies): string {
  return c === 'all' ? 'all' : `copies=${c}`;
}

/** Parses a policy blob as the kernel does; `bad` counts the lines skipped. At most 16 rules. */
export function parsePolicyConfig(text: string): { rules: PolicyRule[]; bad: number } {
  const rules: PolicyRule[] = [];
  let bad = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S{1,63})[ \t]+(\S+)[ \t]*$/.exec(line);
    const copies = m ? parseCopies(m[2]!) : null;
    if (!m || copies === null || rules.length >= 16) {
      bad++;
      continue;
    }
    rules.push({ glob: m[1]!, copies });
  }
  return { rules, bad };
}

/** The text of a policy blob for rules (one line each). */
export function formatPolicyConfig(rules: readonly PolicyRule[]): string {
  return rules.map((r) => `${r.glob} ${copiesName(r.copies)}\n`).join('');
}

/** Sets BRANCH-GLOB's policy: replaces its rule, or adds it before the catch-all rules. */
export function setRule(rules: readonly PolicyRule[], glob: string, copies: Copies): PolicyRule[] {
  if (!/^[A-Za-z0-9._/*-]{1,63}$/.test(glob)) throw new UsageError(`bad branch glob "${glob}" (1-63 of A-Z a-z 0-9 . _ / - *)`);
  const out = rules.map((r) => ({ ...r }));
  const at = out.findIndex((r) => r.glob === glob);
  if (at >= 0) out[at]!.copies = copies;
  else {
    const star = out.findIndex((r) => r.glob === '*');
    out.splice(star >= 0 ? star : out.length, 0, { glob, copies });
  }
  if (out.length > 16) throw new UsageError('a policy holds at most 16 rules');
  return out;
}

/** Glob match: `*` is any run of bytes (`/` included), everything else literal. */
export function globMatch(name: string, glob: string): boolean {
  const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return re.test(name);
}

/** The copies a ref name gets: the first matching rule; none matches: 3. */
export function copiesFor(rules: readonly PolicyRule[], name: string): Copies {
  return rules.find((r) => globMatch(name, r.glob))?.copies ?? 3;
}

/** HRW weight of (object hash, node) as a bigint. */
export function objectWeight(hash: string, node: number): bigint {
  const b = Buffer.alloc(24);
  Buffer.from(hash, 'hex').copy(b, 0);
  b.writeUInt32LE(node, 20);
  return createHash('sha1').update(b).digest().readBigUInt64LE(0);
}

/** Live nodes ranked for an object, highest weight first (ties: lower node number). */
export function rankNodes(hash: string, live: readonly number[]): number[] {
  return [...live]
    .map((n) => ({ n, w: objectWeight(hash, n) }))
    .sort((a, b) => (a.w === b.w ? a.n - b.n : a.w > b.w ? -1 : 1))
    .map((x) => x.n);
}

/** The nodes an object with `copies` is placed on. */
export function placedOn(hash: string, live: readonly number[], copies: Copies): number[] {
  const r = rankNodes(hash, live);
  return copies === 'all' ? r.sort((a, b) => a - b) : r.slice(0, copies);
}

/** What `blobMarks` reads of a GitFS image (gitfs/image.ts's image has all of it). */
export interface PlacementReader {
  listRefs(): ReadonlyArray<{ name: string; hash: string; kind: string }>;
  readReferral(hash: string): unknown;
  readObject(hash: string): { type: string };
  readTree(hash: string): ReadonlyArray<{ mode: string; hash: string }>;
  commitTreeHash(hash: string): string;
}

/** The larger of two copy counts (`all` beats any number). */
export function moreCopies(a: Copies | undefined, b: Copies): Copies {
  return a === undefined ? b : a === 'all' || b === 'all' ? 'all' : Math.max(a, b);
}

/**
 * The blobs an image's refs name, each with the copies its refs want, as the kernel marks them
 * (docs/protocol.md, "Placement"): a branch's head tree with the branch's rule, a `boot` ref's
 * commit `all`, a symbolic ref by its own name; a ref held only as a referral counts as one
 * blob; the most copies win. Older versions (only in the history) are not marked.
 */
export function blobMarks(img: PlacementReader, rules: readonly PolicyRule[]): Map<string, Copies> {
  const marks = new Map<string, Copies>();
  for (const r of img.listRefs()) {
    if (r.kind === 'mainline' || !r.hash) continue;
    const k: Copies = r.kind === 'boot' ? 'all' : copiesFor(rules, r.name);
    const mark = (h: string) => marks.set(h, moreCopies(marks.get(h), k));
    const walk = (tree: string): void => {
      for (const e of img.readTree(tree)) {
        if (e.mode === '40000') walk(e.hash);
        else if (e.mode !== '160000') mark(e.hash);
      }
    };
    if (img.readReferral(r.hash)) mark(r.hash);
    else {
      const o = img.readObject(r.hash);
      if (o.type === 'blob') mark(r.hash);
      else walk(o.type === 'tree' ? r.hash : img.commitTreeHash(r.hash));
    }
  }
  return marks;
}
