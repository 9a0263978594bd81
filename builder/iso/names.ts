// File names on an ISO: input path checks, ISO 9660 level-1 identifiers (8.3, d-characters,
// made unique per directory), Joliet identifiers (UCS-2, at most 64 units) and the sort
// orders ECMA-119 §9.3 and Joliet prescribe for directory records and path tables.
import { BadInputError } from '../../core/errors.ts';

/** Longest name (UTF-8 bytes) a Rock Ridge NM entry may carry in one directory record here. */
export const MAX_NAME_BYTES = 160;
/** Joliet's limit on an identifier, in UCS-2 units. */
export const JOLIET_MAX = 64;

/** Splits "a/b/c.txt" (a leading "/" allowed) into checked components. */
export function splitPath(path: string): string[] {
  const parts = path.replace(/^\/+/, '').split('/');
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..') throw new BadInputError(`iso: bad path "${path}": empty, "." or ".." component`);
    if (p.includes('\0')) throw new BadInputError(`iso: bad path "${path}": NUL in name`);
    if (Buffer.byteLength(p, 'utf8') > MAX_NAME_BYTES)
      throw new BadInputError(`iso: name "${p.slice(0, 40)}..." is longer than ${MAX_NAME_BYTES} bytes`);
  }
  return parts;
}

function dchars(s: string): string {
  return s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/**
 * Gives each name of one directory a unique ISO 9660 level-1 identifier: "NAME.EXT;1" for
 * files, "NAME" for directories. Names are visited in sorted order so the result is stable.
 */
export function isoIdentifiers(entries: Array<{ name: string; isDir: boolean }>): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { name, isDir } of sorted) {
    let base: string;
    let ext = '';
    const dot = name.lastIndexOf('.');
    if (!isDir && dot > 0) {
      base = dchars(name.slice(0, dot));
      ext = dchars(name.slice(dot + 1)).slice(0, 3);
    } else {
      base = dchars(name);
    }
    if (base === '') base = '_';
    const make = (b: string): string => (isDir ? b : `${b}.${ext};1`);
    let id = make(base.slice(0, 8));
    for (let n = 1; used.has(id); n++) {
      const suffix = `_${n}`;
      id = make(base.slice(0, 8 - suffix.length) + suffix);
    }
    used.add(id);
    out.set(name, id);
  }
  return out;
}

/** Unique Joliet identifiers (JS strings of ≤ 64 UTF-16 units, without ";1") per directory. */
export function jolietIdentifiers(names: string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const name of [...names].sort()) {
    const clean = name.replace(/[*/:;?\\]/g, '_');
    let id = clean.slice(0, JOLIET_MAX);
    for (let n = 1; used.has(id); n++) {
      const suffix = `~${n}`;
      id = clean.slice(0, JOLIET_MAX - suffix.length) + suffix;
    }
    used.add(id);
    out.set(name, id);
  }
  return out;
}

/** ECMA-119 9.3 order of two level-1 identifiers: name then extension, space-padded. */
export function compareIsoIds(a: string, b: string): number {
  const split = (id: string): [string, string] => {
    const noVer = id.replace(/;\d+$/, '');
    const dot = noVer.indexOf('.');
    return dot < 0 ? [noVer, ''] : [noVer.slice(0, dot), noVer.slice(dot + 1)];
  };
  const cmpPadded = (x: string, y: string): number => {
    const n = Math.max(x.length, y.length);
    const xp = x.padEnd(n, ' ');
    const yp = y.padEnd(n, ' ');
    return xp < yp ? -1 : xp > yp ? 1 : 0;
  };
  const [an, ae] = split(a);
  const [bn, be] = split(b);
  return cmpPadded(an, bn) || cmpPadded(ae, be);
}

/** Joliet order: by the UCS-2 big-endian bytes, i.e. by UTF-16 code units. */
export function compareJolietIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
