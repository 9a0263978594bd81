// Deltas on the wire, the host peer's side (docs/protocol.md, "Deltas"): what a holder serves
// for GET_DELTA (the store's rule: a blob of at least 64 bytes, the delta at most 75 % of it and
// at least 64 bytes smaller, at most DELTA_MAX), a small cache of encoded deltas, and the
// fetcher's check of a received delta (applied to the base, the result must hash to the asked
// object). The encoder and decoder are gitfs/delta.ts's.
import { applyDelta, encodeDelta } from '../../gitfs/delta.ts';
import { hashObject, numToType } from '../../gitfs/objects.ts';
import { DELTA_MAX, DeltaStatus } from '../wire/constants.ts';
import type { StoredObject } from './store.ts';

export const DELTA_MIN = 64;
const CACHE_ENTRIES = 8;

export type DeltaVerdict = { status: typeof DeltaStatus.OK; delta: Buffer } | { status: typeof DeltaStatus.FULL | typeof DeltaStatus.ABSENT };

/** The delta worth sending for `target` against `base`, or why there is none. */
export function deltaVerdict(target: StoredObject | undefined, base: StoredObject | undefined): DeltaVerdict {
  if (!target) return { status: DeltaStatus.ABSENT };
  if (!base || target.otype !== 3 || target.data.length < DELTA_MIN) return { status: DeltaStatus.FULL };
  const delta = encodeDelta(base.data, target.data);
  const n = target.data.length;
  if (delta.length > Math.floor((n * 3) / 4) || delta.length > n - DELTA_MIN || delta.length > DELTA_MAX) return { status: DeltaStatus.FULL };
  return { status: DeltaStatus.OK, delta };
}

/** (hash, base) → verdict, the last few encoded (a GET_DELTA's windows and retries reuse it). */
export class DeltaCache {
  private readonly map = new Map<string, DeltaVerdict>();

  get(hash: string, base: string, make: () => DeltaVerdict): DeltaVerdict {
    const key = `${hash}:${base}`;
    const hit = this.map.get(key);
    if (hit) return hit;
    const v = make();
    if (v.status === DeltaStatus.ABSENT) return v; // the object may arrive later
    this.map.set(key, v);
    while (this.map.size > CACHE_ENTRIES) this.map.delete(this.map.keys().next().value!);
    return v;
  }

  clear(): void {
    this.map.clear();
  }
}

/** A received delta applied to the base: the object's bytes when they hash to `hash`, else undefined. */
export function applyReceived(hash: string, otype: number, base: Buffer, delta: Buffer, maxSize: number): Buffer | undefined {
  const type = numToType(otype);
  if (!type) return undefined;
  let out: Buffer;
  try {
    out = applyDelta(base, delta, maxSize);
  } catch {
    return undefined;
  }
  return hashObject(type, out) === hash ? out : undefined;
}
