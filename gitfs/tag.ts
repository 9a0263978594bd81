// Git tag objects (type 4) and tag refs: decode a tag, peel a chain of tags to the object it
// names, and the GitFS name of a git tag (`tags/<name>`, a symbolic ref). Pure functions; the
// store is passed in as a reader. Format: docs/gitfs-format.md, "Tags".
import { CorruptDataError } from '../core/errors.ts';
import { type GitObject, isFullHash, isObjectType, type ObjectType } from './objects.ts';

/** GitFS ref names of git tags start with this; such a ref is a symbolic ref. */
export const TAG_REF_PREFIX = 'tags/';

/** Tag chains longer than this are treated as corrupt (git itself stops much earlier in practice). */
export const TAG_PEEL_MAX = 16;

export interface Tag {
  /** The tagged object. */
  readonly object: string;
  readonly type: ObjectType;
  /** The tag's own name (the `tag` header). */
  readonly tag: string;
}

/** Parses the headers of a tag object's content; malformed input gives CorruptDataError. */
export function decodeTag(data: Buffer, what = 'tag'): Tag {
  const text = data.toString('utf8');
  const blank = text.indexOf('\n\n');
  const head = (blank < 0 ? text : text.slice(0, blank)).split('\n');
  const field = (i: number, key: string): string => {
    const line = head[i];
    if (line === undefined || !line.startsWith(key + ' ')) throw new CorruptDataError(`malformed ${what}: line ${i + 1} is not "${key} ..."`);
    return line.slice(key.length + 1);
  };
  const object = field(0, 'object');
  if (!isFullHash(object)) throw new CorruptDataError(`malformed ${what}: bad object hash ${JSON.stringify(object)}`);
  const type = field(1, 'type');
  if (!isObjectType(type)) throw new CorruptDataError(`malformed ${what}: bad object type ${JSON.stringify(type)}`);
  const tag = field(2, 'tag');
  return { object, type, tag };
}

/** Tag content with the tagged object replaced (the `object` header only; used by --strict-git export). */
export function retargetTag(data: Buffer, object: string): Buffer {
  const nl = data.indexOf(0x0a);
  if (!data.subarray(0, 7).equals(Buffer.from('object ')) || nl !== 47) throw new CorruptDataError('malformed tag: no object header');
  return Buffer.concat([Buffer.from(`object ${object}`), data.subarray(nl)]);
}

/**
 * Follows tag objects from `hash` to the first object that is not a tag (git's `^{}`).
 * Returns the hash itself for a non-tag. A tag whose type header disagrees with the object it
 * names, or a chain longer than TAG_PEEL_MAX, is corrupt.
 */
export function peelTag(read: (hash: string) => GitObject, hash: string): { hash: string; type: ObjectType } {
  let h = hash;
  let o = read(h);
  for (let depth = 0; o.type === 'tag'; depth++) {
    if (depth >= TAG_PEEL_MAX) throw new CorruptDataError(`tag ${hash}: chain of tags longer than ${TAG_PEEL_MAX}`);
    const t = decodeTag(o.data, `tag ${h}`);
    const next = read(t.object);
    if (next.type !== t.type) throw new CorruptDataError(`tag ${h}: names a ${t.type} but ${t.object} is a ${next.type}`);
    h = t.object;
    o = next;
  }
  return { hash: h, type: o.type };
}

/** The GitFS ref name for git's `refs/tags/<name>`. */
export function tagRefName(gitTag: string): string {
  return TAG_REF_PREFIX + gitTag;
}

/** True for the GitFS name of a tag ref (`tags/...`). */
export function isTagRefName(name: string): boolean {
  return name.startsWith(TAG_REF_PREFIX) && name.length > TAG_REF_PREFIX.length;
}
