// The manifest of an update (docs/protocol.md, "Propagation"): the objects (hash, type, size),
// the ordered node list (index 0 = the seed), the 64 KiB pieces' SHA-1s over the objects'
// contents concatenated in manifest order. The update's id is the manifest's SHA-1.
import { createHash } from 'node:crypto';
import { PIECE_SIZE, PIECES_MAX } from '../wire/constants.ts';

export const MANIFEST_MAGIC = 0x4d505447; // "GTPM"
const HDR = 28;
const OBJ = 32;

export interface ManifestObject {
  hash: string;
  otype: number;
  size: number;
}

export interface Manifest {
  objects: ManifestObject[];
  nodes: number[];
  pieces: number;
  total: number;
  pieceHashes: string[];
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

export function manifestId(bytes: Buffer): string {
  return sha1(bytes);
}

export function pieceCount(total: number): number {
  return Math.ceil(total / PIECE_SIZE);
}

/** Bytes of piece p of an update of `total` bytes. */
export function pieceLength(total: number, p: number): number {
  return Math.min(PIECE_SIZE, total - p * PIECE_SIZE);
}

/** A manifest for objects whose contents, concatenated in order, are `data`. */
export function makeManifest(objects: ManifestObject[], nodes: number[], data: Buffer): Manifest {
  const pieces = pieceCount(data.length);
  const pieceHashes = Array.from({ length: pieces }, (_, p) => sha1(data.subarray(p * PIECE_SIZE, p * PIECE_SIZE + pieceLength(data.length, p))));
  return { objects, nodes, pieces, total: data.length, pieceHashes };
}

export function encodeManifest(m: Manifest): Buffer {
  const b = Buffer.alloc(HDR + OBJ * m.objects.length + 4 * m.nodes.length + 20 * m.pieces);
  b.writeUInt32LE(MANIFEST_MAGIC, 0);
  b.writeUInt8(1, 4);
  b.writeUInt16LE(m.objects.length, 6);
  b.writeUInt16LE(m.nodes.length, 8);
  b.writeUInt32LE(m.pieces, 12);
  b.writeUInt32LE(PIECE_SIZE, 16);
  b.writeBigUInt64LE(BigInt(m.total), 20);
  let at = HDR;
  for (const o of m.objects) {
    b.write(o.hash, at, 'hex');
    b.writeUInt8(o.otype, at + 20);
    b.writeBigUInt64LE(BigInt(o.size), at + 24);
    at += OBJ;
  }
  for (const n of m.nodes) {
    b.writeUInt32LE(n, at);
    at += 4;
  }
  for (const h of m.pieceHashes) {
    b.write(h, at, 'hex');
    at += 20;
  }
  return b;
}

/** Parses a manifest; a one-line reason when any field is out of bounds or the sizes disagree. */
export function decodeManifest(b: Buffer): { ok: true; value: Manifest } | { ok: false; reason: string } {
  const no = (reason: string) => ({ ok: false as const, reason });
  if (b.length < HDR) return no('shorter than its header');
  if (b.readUInt32LE(0) !== MANIFEST_MAGIC || b[4] !== 1) return no('not a version 1 manifest');
  const nobj = b.readUInt16LE(6);
  const nnodes = b.readUInt16LE(8);
  const pieces = b.readUInt32LE(12);
  if (b.readUInt32LE(16) !== PIECE_SIZE) return no('piece size is not 64 KiB');
  const total = Number(b.readBigUInt64LE(20));
  if (nobj < 1 || nobj > 64 || nnodes < 2 || nnodes > 64 || pieces < 1 || pieces > PIECES_MAX) return no('counts out of range');
  if (total < 1 || pieceCount(total) !== pieces) return no('piece count does not fit the total');
  if (b.length !== HDR + OBJ * nobj + 4 * nnodes + 20 * pieces) return no('length does not fit the counts');
  let at = HDR;
  const objects: ManifestObject[] = [];
  let sum = 0;
  for (let i = 0; i < nobj; i++, at += OBJ) {
    const otype = b[at + 20]!;
    const size = Number(b.readBigUInt64LE(at + 24));
    if (otype < 1 || otype > 4) return no('an object type is not git\'s');
    objects.push({ hash: b.toString('hex', at, at + 20), otype, size });
    sum += size;
  }
  if (sum !== total) return no('object sizes do not add up to the total');
  const nodes: number[] = [];
  for (let i = 0; i < nnodes; i++, at += 4) nodes.push(b.readUInt32LE(at));
  const pieceHashes: string[] = [];
  for (let i = 0; i < pieces; i++, at += 20) pieceHashes.push(b.toString('hex', at, at + 20));
  return { ok: true, value: { objects, nodes, pieces, total, pieceHashes } };
}
