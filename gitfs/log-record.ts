// Object log records: a 64-byte header (REC_HDR) and the payload, REC_ALIGN aligned.
import { CorruptDataError } from '../core/errors.ts';
import { HASH_SIZE, layoutOf, REC_ALIGN, REC_HDR, REC_HDR_SIZE, REC_MAGIC } from './layout.ts';

const O = layoutOf(REC_HDR).offsets;

export interface RecordHeader {
  type: number;
  storage: number;
  depth: number;
  payloadLen: number;
  objectSize: number;
  hash: string;
  base: string;
}

export function alignRec(n: number): number {
  return Math.ceil(n / REC_ALIGN) * REC_ALIGN;
}

export function recordSize(payloadLen: number): number {
  return alignRec(REC_HDR_SIZE + payloadLen);
}

/** Header + payload + zero padding to REC_ALIGN. */
export function encodeRecord(h: RecordHeader, payload: Buffer): Buffer {
  const buf = Buffer.alloc(recordSize(payload.length));
  buf.writeUInt32LE(REC_MAGIC, O.magic);
  buf[O.type] = h.type;
  buf[O.storage] = h.storage;
  buf.writeUInt16LE(h.depth, O.depth);
  buf.writeBigUInt64LE(BigInt(payload.length), O.payload_len);
  buf.writeBigUInt64LE(BigInt(h.objectSize), O.object_size);
  buf.write(h.hash, O.hash, HASH_SIZE, 'hex');
  buf.write(h.base, O.base, HASH_SIZE, 'hex');
  payload.copy(buf, REC_HDR_SIZE);
  return buf;
}

export function decodeRecordHeader(buf: Buffer, at: number): RecordHeader {
  if (buf.readUInt32LE(O.magic) !== REC_MAGIC) throw new CorruptDataError(`no log record at byte ${at}`);
  return {
    type: buf[O.type]!,
    storage: buf[O.storage]!,
    depth: buf.readUInt16LE(O.depth),
    payloadLen: Number(buf.readBigUInt64LE(O.payload_len)),
    objectSize: Number(buf.readBigUInt64LE(O.object_size)),
    hash: buf.toString('hex', O.hash, O.hash + HASH_SIZE),
    base: buf.toString('hex', O.base, O.base + HASH_SIZE),
  };
}
