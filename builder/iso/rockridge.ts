// System Use Sharing Protocol (SUSP 1.10) and Rock Ridge (RRIP 1.10, "RRIP_1991A") entries:
// builders for the writer (SP, ER, PX, NM) and a parser for the reader (NM, CL, RE, CE, ST).
import { both32 } from './encoding.ts';

function entry(sig: string, version: number, body: Buffer): Buffer {
  const head = Buffer.from([sig.charCodeAt(0), sig.charCodeAt(1), 4 + body.length, version]);
  return Buffer.concat([head, body]);
}

/** SP: marks SUSP use; only in the "." record of the root directory. No bytes skipped. */
export function spEntry(): Buffer {
  return entry('SP', 1, Buffer.from([0xbe, 0xef, 0]));
}

const ER_ID = 'RRIP_1991A';
const ER_DESCRIPTOR = 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
const ER_SOURCE = 'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.';

/** ER: names the extension (Rock Ridge 1.10) in the root "." record. */
export function erEntry(): Buffer {
  const id = Buffer.from(ER_ID, 'ascii');
  const des = Buffer.from(ER_DESCRIPTOR, 'ascii');
  const src = Buffer.from(ER_SOURCE, 'ascii');
  const head = Buffer.from([id.length, des.length, src.length, 1]);
  return entry('ER', 1, Buffer.concat([head, id, des, src]));
}

/** PX: POSIX mode, link count, uid, gid (RRIP 1.10 form, 36 bytes). */
export function pxEntry(mode: number, nlink: number): Buffer {
  return entry('PX', 1, Buffer.concat([both32(mode), both32(nlink), both32(0), both32(0)]));
}

/** NM: the POSIX name of the file (one entry, no continuation). */
export function nmEntry(name: string): Buffer {
  return entry('NM', 1, Buffer.concat([Buffer.from([0]), Buffer.from(name, 'utf8')]));
}

export const MODE_DIR = 0o040555;
export const MODE_FILE = 0o100444;

/** What the reader takes from one record's system use entries. */
export interface SuspInfo {
  /** Rock Ridge name, when NM entries were present. */
  name?: string;
  /** CL: this entry is a relocated directory whose extent is at this LBA. */
  childLink?: number;
  /** RE: this directory is a relocation target; list it where its CL points from instead. */
  relocated: boolean;
  /** SP skip length (only meaningful in the root "." record). */
  spSkip?: number;
}

/** A continuation area to read next: where it is and how long. */
export interface Continuation {
  lba: number;
  offset: number;
  length: number;
}

/**
 * Parses the SUSP entries in `area` into `info`. Returns the CE continuation if present, or a
 * string describing what is malformed.
 */
export function parseSusp(area: Buffer, info: SuspInfo, nmParts: Buffer[]): Continuation | null | string {
  let off = 0;
  let next: Continuation | null = null;
  while (off + 4 <= area.length) {
    const s0 = area[off]!;
    const s1 = area[off + 1]!;
    const len = area[off + 2]!;
    if (s0 === 0 && s1 === 0) break; // padding
    if (len < 4) return `system use entry of length ${len}`;
    if (off + len > area.length) return 'system use entry runs past its area';
    const sig = String.fromCharCode(s0, s1);
    const body = area.subarray(off + 4, off + len);
    switch (sig) {
      case 'SP':
        if (body.length >= 3 && body[0] === 0xbe && body[1] === 0xef) info.spSkip = body[2]!;
        break;
      case 'NM': {
        if (body.length < 1) return 'NM entry too short';
        const flags = body[0]!;
        if (flags & 0x06) {
          // "." or ".." names: not a real name.
        } else {
          nmParts.push(body.subarray(1));
        }
        break;
      }
      case 'CL':
        if (body.length < 8) return 'CL entry too short';
        info.childLink = body.readUInt32LE(0);
        break;
      case 'RE':
        info.relocated = true;
        break;
      case 'CE':
        if (body.length < 24) return 'CE entry too short';
        next = { lba: body.readUInt32LE(0), offset: body.readUInt32LE(8), length: body.readUInt32LE(16) };
        break;
      case 'ST':
        return next;
      default:
        break;
    }
    off += len;
  }
  return next;
}
