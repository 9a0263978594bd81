// Ref names and kinds.
import { UsageError } from '../core/errors.ts';
import { BOOT_GOOD_REF, BOOT_LOG_REF, BOOT_REF, MAINLINE_REF, REF_KIND_BOOT, REF_KIND_BRANCH, REF_KIND_MAINLINE, REF_KIND_SYMBOLIC, REF_NAME_MAX, BOOT_STATE_BAD, BOOT_STATE_GOOD, BOOT_STATE_NONE, BOOT_STATE_PENDING } from './layout.ts';

export type RefKind = 'mainline' | 'branch' | 'symbolic' | 'boot';
export type BootState = 'none' | 'pending' | 'good' | 'bad';

export const MAINLINE = MAINLINE_REF;
export const BOOT_LOG = BOOT_LOG_REF;

/**
 * Node-local refs (docs/gitfs-format.md, "Node-local and cluster state"): the boot refs and the
 * node-local log. Their updates go to the `boot-log` log, not the mainline log, and the mainline
 * tree (the cluster revision) never lists them; every other ref is cluster state.
 */
export function isNodeLocalRef(name: string): boolean {
  return name === BOOT_REF || name === BOOT_GOOD_REF || name === BOOT_LOG_REF;
}

export function kindToNum(k: RefKind): number {
  return { mainline: REF_KIND_MAINLINE, branch: REF_KIND_BRANCH, symbolic: REF_KIND_SYMBOLIC, boot: REF_KIND_BOOT }[k];
}

export function numToKind(n: number): RefKind {
  switch (n) {
    case REF_KIND_MAINLINE:
      return 'mainline';
    case REF_KIND_SYMBOLIC:
      return 'symbolic';
    case REF_KIND_BOOT:
      return 'boot';
    default:
      return 'branch';
  }
}

export function stateToNum(s: BootState): number {
  return { none: BOOT_STATE_NONE, pending: BOOT_STATE_PENDING, good: BOOT_STATE_GOOD, bad: BOOT_STATE_BAD }[s];
}

export function numToState(n: number): BootState {
  return n === BOOT_STATE_PENDING ? 'pending' : n === BOOT_STATE_GOOD ? 'good' : n === BOOT_STATE_BAD ? 'bad' : 'none';
}

/** Ref names follow git's branch-name rules (so every ref exports), at most REF_NAME_MAX bytes. */
export function validateRefName(name: string): void {
  const bad = (why: string): never => {
    throw new UsageError(`bad ref name ${JSON.stringify(name)}: ${why}`);
  };
  if (name.length === 0) bad('empty');
  if (Buffer.byteLength(name, 'utf8') > REF_NAME_MAX) bad(`longer than ${REF_NAME_MAX} bytes`);
  if (!/^[A-Za-z0-9._\/-]+$/.test(name)) bad('use letters, digits, ".", "_", "-" and "/"');
  if (name.includes('..') || name.includes('//') || name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) bad('malformed');
  if (name.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock'))) bad('malformed component');
  if (name.startsWith('-')) bad('starts with "-"');
  if (/^[0-9a-f]{4,40}$/.test(name)) bad('looks like a hash');
}
