// Git objects: type names, the "<type> <len>\0" header, SHA-1 ids. Pure functions, no storage.
import { createHash } from 'node:crypto';
import { CorruptDataError } from '../core/errors.ts';
import { OBJ_BLOB, OBJ_COMMIT, OBJ_TAG, OBJ_TREE } from './layout.ts';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface GitObject {
  readonly type: ObjectType;
  readonly data: Buffer;
}

export const ZERO_HASH = '0'.repeat(40);

const TYPE_NUMS: Record<ObjectType, number> = { commit: OBJ_COMMIT, tree: OBJ_TREE, blob: OBJ_BLOB, tag: OBJ_TAG };

export function typeToNum(t: ObjectType): number {
  return TYPE_NUMS[t];
}

export function numToType(n: number): ObjectType | undefined {
  switch (n) {
    case OBJ_COMMIT:
      return 'commit';
    case OBJ_TREE:
      return 'tree';
    case OBJ_BLOB:
      return 'blob';
    case OBJ_TAG:
      return 'tag';
    default:
      return undefined;
  }
}

export function isObjectType(s: string): s is ObjectType {
  return s === 'commit' || s === 'tree' || s === 'blob' || s === 'tag';
}

/** SHA-1 of "<type> <len>\0" + data, as lowercase hex (equals `git hash-object -t type`). */
export function hashObject(type: ObjectType, data: Buffer): string {
  return createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
}

export function isFullHash(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s);
}

export function hashToBytes(hex: string): Buffer {
  if (!isFullHash(hex)) throw new CorruptDataError(`not a SHA-1: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex');
}
