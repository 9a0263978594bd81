// Storing objects read elsewhere (a git repository) as they are, hashes checked, with referrals
// for objects held elsewhere (a shallow clone's boundary parents) and the ref updates that name
// them, in one transaction.
import { CorruptDataError } from '../core/errors.ts';
import { hashObject, type ObjectType } from './objects.ts';
import type { RefKind } from './refs.ts';
import type { RefTable } from './refs-table.ts';
import type { ObjectStore, Referral } from './store.ts';

export interface ImportObject {
  hash: string;
  type: ObjectType;
  data: Buffer;
}

export interface ImportRef {
  name: string;
  hash: string;
  kind?: RefKind;
  forkedFrom?: string;
}

/** Stores every object (raw, each verified against its hash), then the referrals, and points the refs; returns how many objects were new. */
export function importObjects(store: ObjectStore, refs: RefTable, objects: Iterable<ImportObject>, refUpdates: readonly ImportRef[], onObject?: () => void, referrals: readonly Referral[] = []): number {
  return store.transaction(() => {
    let n = 0;
    for (const o of objects) {
      if (hashObject(o.type, o.data) !== o.hash) throw new CorruptDataError(`object ${o.hash}: content does not match its hash`);
      if (store.putObject(o.type, o.data, { hash: o.hash, raw: true }).stored) n++;
      onObject?.();
    }
    for (const r of referrals) store.appendReferral(r);
    for (const r of refUpdates) refs.updateRef(r.name, r.hash, { ...(r.kind ? { kind: r.kind } : {}), ...(r.forkedFrom ? { forkedFrom: r.forkedFrom } : {}) });
    return n;
  });
}
