// Typed GTP messages and their payload codecs (docs/protocol.md, "Messages"). Pure: bytes in,
// values out. Payload decoders run only on a payload checkFrame has already bounded; each
// returns a drop reason instead of throwing when the payload is not what its type requires.
import { CHUNK_MAX, ControlOp, DeltaStatus, GET_MAX, HASH_SIZE, MsgType, PIECES_MAX, SIZE, VERSION_MAX, type DropReason } from './constants.ts';

export type Control =
  | { op: 'commit'; tree: string; branch: string; message: string }
  | { op: 'committed'; commit: string; status: number }
  | { op: 'reboot' }
  /** Sets the policy of the branches a glob matches: copies 1..254, or POLICY_ALL. */
  | { op: 'policy'; glob: string; copies: number }
  | { op: 'policy_set'; blob: string; status: number }
  | { op: 'propagate'; flags: number; hashes: string[] };

export type Message =
  | { type: 'announce'; rev: string; kernel: string; objects: number; flags: number; version: string }
  | { type: 'who_has'; hash: string; qid: number }
  | { type: 'i_have'; hash: string; qid: number; size: number; otype: number }
  | { type: 'get'; hash: string; offset: number; length: number; fid: number }
  | { type: 'data'; hash: string; fid: number; offset: number; total: number; crc: number; otype: number; chunk: Buffer }
  | { type: 'have'; hash: string; size: number; otype: number }
  | { type: 'not_here'; hash: string; fid: number }
  | { type: 'control'; control: Control }
  | { type: 'get_delta'; hash: string; base: string; offset: number; length: number; fid: number }
  | { type: 'delta'; hash: string; fid: number; status: number; otype: number; offset: number; total: number; size: number; crc: number; chunk: Buffer }
  | { type: 'update'; id: string; total: number; offset: number; age: number; part: Buffer }
  | { type: 'piece'; id: string; piece: number; chunk: number; flags: number; bytes: Buffer }
  | { type: 'piece_status'; id: string; piece: number; missing: bigint }
  | { type: 'piece_get'; id: string; piece: number; missing: bigint }
  | { type: 'piece_who'; id: string; qid: number }
  | { type: 'piece_map'; id: string; pieces: number; held: number; bitmap: Buffer };

export type MessageName = Message['type'];

export const TYPE_OF: Record<MessageName, number> = {
  announce: MsgType.ANNOUNCE,
  who_has: MsgType.WHO_HAS,
  i_have: MsgType.I_HAVE,
  get: MsgType.GET,
  data: MsgType.DATA,
  have: MsgType.HAVE,
  not_here: MsgType.NOT_HERE,
  control: MsgType.CONTROL,
  get_delta: MsgType.GET_DELTA,
  delta: MsgType.DELTA,
  update: MsgType.UPDATE,
  piece: MsgType.PIECE,
  piece_status: MsgType.PIECE_STATUS,
  piece_get: MsgType.PIECE_GET,
  piece_who: MsgType.PIECE_WHO,
  piece_map: MsgType.PIECE_MAP,
};

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: DropReason };

const fail = (reason: DropReason): { ok: false; reason: DropReason } => ({ ok: false, reason });

/** A u64 as a JS number; undefined past 2^53 − 1 (no object is that big). */
function readU64(b: Buffer, at: number): number | undefined {
  const v = b.readBigUInt64LE(at);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

function hashAt(b: Buffer, at: number): string {
  return b.toString('hex', at, at + HASH_SIZE);
}

function isObjType(t: number): boolean {
  return t >= 1 && t <= 4;
}

// ---------------------------------------------------------------------------------------------
// Encoding (values are trusted: the caller built them; violations are programming errors)

function putHash(b: Buffer, at: number, hex: string): void {
  if (!/^[0-9a-f]{40}$/.test(hex)) throw new RangeError(`not a SHA-1: ${hex}`);
  b.write(hex, at, 'hex');
}

function u32(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not a u32: ${v}`);
  return v;
}

function u64(v: number): bigint {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a u64: ${v}`);
  return BigInt(v);
}

export function encodePayload(m: Message): Buffer {
  switch (m.type) {
    case 'announce': {
      const ver = Buffer.from(m.version, 'utf8');
      if (ver.length > VERSION_MAX) throw new RangeError(`version longer than ${VERSION_MAX} bytes`);
      const b = Buffer.alloc(SIZE.ANNOUNCE_FIXED + ver.length);
      putHash(b, 0, m.rev);
      putHash(b, 20, m.kernel);
      b.writeUInt32LE(u32(m.objects), 40);
      b.writeUInt16LE(m.flags, 44);
      b.writeUInt8(ver.length, 46);
      ver.copy(b, 47);
      return b;
    }
    case 'who_has': {
      const b = Buffer.alloc(SIZE.WHO_HAS);
      putHash(b, 0, m.hash);
      b.writeUInt32LE(u32(m.qid), 20);
      return b;
    }
    case 'i_have': {
      const b = Buffer.alloc(SIZE.I_HAVE);
      putHash(b, 0, m.hash);
      b.writeUInt32LE(u32(m.qid), 20);
      b.writeBigUInt64LE(u64(m.size), 24);
      b.writeUInt8(m.otype, 32);
      return b;
    }
    case 'get': {
      if (m.length < 1 || m.length > GET_MAX) throw new RangeError(`GET length ${m.length} out of 1..${GET_MAX}`);
      const b = Buffer.alloc(SIZE.GET);
      putHash(b, 0, m.hash);
      b.writeBigUInt64LE(u64(m.offset), 20);
      b.writeUInt32LE(u32(m.length), 28);
      b.writeUInt32LE(u32(m.fid), 32);
      return b;
    }
    case 'data': {
      if (m.chunk.length > CHUNK_MAX) throw new RangeError(`chunk of ${m.chunk.length} bytes > ${CHUNK_MAX}`);
      const b = Buffer.alloc(SIZE.DATA_FIXED + m.chunk.length);
      putHash(b, 0, m.hash);
      b.writeUInt32LE(u32(m.fid), 20);
      b.writeBigUInt64LE(u64(m.offset), 24);
      b.writeBigUInt64LE(u64(m.total), 32);
      b.writeUInt32LE(u32(m.crc), 40);
      b.writeUInt8(m.otype, 44);
      m.chunk.copy(b, SIZE.DATA_FIXED);
      return b;
    }
    case 'have': {
      const b = Buffer.alloc(SIZE.HAVE);
      putHash(b, 0, m.hash);
      b.writeBigUInt64LE(u64(m.size), 20);
      b.writeUInt8(m.otype, 28);
      return b;
    }
    case 'not_here': {
      const b = Buffer.alloc(SIZE.NOT_HERE);
      putHash(b, 0, m.hash);
      b.writeUInt32LE(u32(m.fid), 20);
      return b;
    }
    case 'control':
      return encodeControl(m.control);
    case 'get_delta': {
      if (m.length < 1 || m.length > GET_MAX) throw new RangeError(`GET_DELTA length ${m.length} out of 1..${GET_MAX}`);
      const b = Buffer.alloc(SIZE.GET_DELTA);
      putHash(b, 0, m.hash);
      putHash(b, 20, m.base);
      b.writeUInt32LE(u32(m.offset), 40);
      b.writeUInt32LE(u32(m.length), 44);
      b.writeUInt32LE(u32(m.fid), 48);
      return b;
    }
    case 'delta': {
      if (m.chunk.length > CHUNK_MAX) throw new RangeError(`chunk of ${m.chunk.length} bytes > ${CHUNK_MAX}`);
      const b = Buffer.alloc(SIZE.DELTA_FIXED + m.chunk.length);
      putHash(b, 0, m.hash);
      b.writeUInt32LE(u32(m.fid), 20);
      b.writeUInt8(m.status, 24);
      b.writeUInt8(m.otype, 25);
      b.writeUInt32LE(u32(m.offset), 28);
      b.writeUInt32LE(u32(m.total), 32);
      b.writeBigUInt64LE(u64(m.size), 36);
      b.writeUInt32LE(u32(m.crc), 44);
      m.chunk.copy(b, SIZE.DELTA_FIXED);
      return b;
    }
    case 'update': {
      const b = Buffer.alloc(SIZE.UPDATE_FIXED + m.part.length);
      putHash(b, 0, m.id);
      b.writeUInt32LE(u32(m.total), 20);
      b.writeUInt32LE(u32(m.offset), 24);
      b.writeUInt32LE(u32(m.age), 28);
      m.part.copy(b, SIZE.UPDATE_FIXED);
      return b;
    }
    case 'piece': {
      if (m.bytes.length > CHUNK_MAX) throw new RangeError(`chunk of ${m.bytes.length} bytes > ${CHUNK_MAX}`);
      const b = Buffer.alloc(SIZE.PIECE_FIXED + m.bytes.length);
      putHash(b, 0, m.id);
      b.writeUInt32LE(u32(m.piece), 20);
      b.writeUInt16LE(m.chunk, 24);
      b.writeUInt16LE(m.flags, 26);
      m.bytes.copy(b, SIZE.PIECE_FIXED);
      return b;
    }
    case 'piece_status':
    case 'piece_get': {
      const b = Buffer.alloc(SIZE.PIECE_STATUS);
      putHash(b, 0, m.id);
      b.writeUInt32LE(u32(m.piece), 20);
      b.writeBigUInt64LE(m.missing, 24);
      return b;
    }
    case 'piece_who': {
      const b = Buffer.alloc(SIZE.PIECE_WHO);
      putHash(b, 0, m.id);
      b.writeUInt32LE(u32(m.qid), 20);
      return b;
    }
    case 'piece_map': {
      const b = Buffer.alloc(SIZE.PIECE_MAP_FIXED + Math.ceil(m.pieces / 8));
      putHash(b, 0, m.id);
      b.writeUInt16LE(m.pieces, 20);
      b.writeUInt16LE(m.held, 22);
      m.bitmap.copy(b, SIZE.PIECE_MAP_FIXED, 0, Math.ceil(m.pieces / 8));
      return b;
    }
  }
}

function encodeControl(c: Control): Buffer {
  switch (c.op) {
    case 'commit': {
      const br = Buffer.from(c.branch, 'utf8');
      const msg = Buffer.from(c.message, 'utf8');
      if (br.length > 255) throw new RangeError('branch name longer than 255 bytes');
      if (msg.length > 0xffff) throw new RangeError('commit message longer than 65535 bytes');
      const b = Buffer.alloc(4 + 20 + 1 + br.length + 2 + msg.length);
      b.writeUInt8(ControlOp.COMMIT, 0);
      putHash(b, 4, c.tree);
      b.writeUInt8(br.length, 24);
      br.copy(b, 25);
      b.writeUInt16LE(msg.length, 25 + br.length);
      msg.copy(b, 27 + br.length);
      return b;
    }
    case 'committed': {
      const b = Buffer.alloc(4 + 21);
      b.writeUInt8(ControlOp.COMMITTED, 0);
      putHash(b, 4, c.commit);
      b.writeUInt8(c.status, 24);
      return b;
    }
    case 'reboot': {
      const b = Buffer.alloc(4);
      b.writeUInt8(ControlOp.REBOOT, 0);
      return b;
    }
    case 'policy': {
      const g = Buffer.from(c.glob, 'utf8');
      if (g.length < 1 || g.length > 63) throw new RangeError('a policy glob is 1 to 63 bytes');
      const b = Buffer.alloc(4 + 1 + g.length + 1);
      b.writeUInt8(ControlOp.POLICY, 0);
      b.writeUInt8(g.length, 4);
      g.copy(b, 5);
      b.writeUInt8(c.copies, 5 + g.length);
      return b;
    }
    case 'policy_set': {
      const b = Buffer.alloc(4 + 21);
      b.writeUInt8(ControlOp.POLICY_SET, 0);
      putHash(b, 4, c.blob);
      b.writeUInt8(c.status, 24);
      return b;
    }
    case 'propagate': {
      if (c.hashes.length < 1 || c.hashes.length > 64) throw new RangeError('PROPAGATE names 1 to 64 objects');
      const b = Buffer.alloc(4 + 20 * c.hashes.length);
      b.writeUInt8(ControlOp.PROPAGATE, 0);
      b.writeUInt8(c.flags, 1);
      b.writeUInt8(c.hashes.length, 2);
      c.hashes.forEach((h, i) => putHash(b, 4 + 20 * i, h));
      return b;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** The payload size a type requires given the payload's first bytes, or a drop reason. */
export function checkPayloadSize(type: number, p: Buffer): DropReason | undefined {
  const n = p.length;
  switch (type) {
    case MsgType.ANNOUNCE:
      if (n < SIZE.ANNOUNCE_FIXED) return 'size';
      return p[46]! <= VERSION_MAX && n === SIZE.ANNOUNCE_FIXED + p[46]! ? undefined : 'size';
    case MsgType.WHO_HAS:
      return n === SIZE.WHO_HAS ? undefined : 'size';
    case MsgType.I_HAVE:
      return n === SIZE.I_HAVE ? undefined : 'size';
    case MsgType.GET:
      return n === SIZE.GET ? undefined : 'size';
    case MsgType.DATA:
      return n >= SIZE.DATA_FIXED && n <= SIZE.DATA_FIXED + CHUNK_MAX ? undefined : 'size';
    case MsgType.HAVE:
      return n === SIZE.HAVE ? undefined : 'size';
    case MsgType.NOT_HERE:
      return n === SIZE.NOT_HERE ? undefined : 'size';
    case MsgType.CONTROL:
      return n >= SIZE.CONTROL_MIN ? undefined : 'size';
    case MsgType.GET_DELTA:
      return n === SIZE.GET_DELTA ? undefined : 'size';
    case MsgType.DELTA:
      return n >= SIZE.DELTA_FIXED && n <= SIZE.DELTA_FIXED + CHUNK_MAX ? undefined : 'size';
    case MsgType.UPDATE:
      return n > SIZE.UPDATE_FIXED ? undefined : 'size';
    case MsgType.PIECE:
      return n > SIZE.PIECE_FIXED && n <= SIZE.PIECE_FIXED + CHUNK_MAX ? undefined : 'size';
    case MsgType.PIECE_STATUS:
    case MsgType.PIECE_GET:
      return n === SIZE.PIECE_STATUS ? undefined : 'size';
    case MsgType.PIECE_WHO:
      return n === SIZE.PIECE_WHO ? undefined : 'size';
    case MsgType.PIECE_MAP:
      return n > SIZE.PIECE_MAP_FIXED && n <= SIZE.PIECE_MAP_FIXED + PIECES_MAX / 8 ? undefined : 'size';
    default:
      return 'type';
  }
}

/** Decodes a payload whose size checkPayloadSize accepted. */
export function decodePayload(type: number, p: Buffer): Decoded<Message> {
  switch (type) {
    case MsgType.ANNOUNCE: {
      const vlen = p[46]!;
      return {
        ok: true,
        value: { type: 'announce', rev: hashAt(p, 0), kernel: hashAt(p, 20), objects: p.readUInt32LE(40), flags: p.readUInt16LE(44), version: p.toString('utf8', 47, 47 + vlen) },
      };
    }
    case MsgType.WHO_HAS:
      return { ok: true, value: { type: 'who_has', hash: hashAt(p, 0), qid: p.readUInt32LE(20) } };
    case MsgType.I_HAVE: {
      const size = readU64(p, 24);
      const otype = p[32]!;
      if (size === undefined || !isObjType(otype)) return fail('size');
      return { ok: true, value: { type: 'i_have', hash: hashAt(p, 0), qid: p.readUInt32LE(20), size, otype } };
    }
    case MsgType.GET: {
      const offset = readU64(p, 20);
      const length = p.readUInt32LE(28);
      if (offset === undefined || length < 1 || length > GET_MAX) return fail('size');
      return { ok: true, value: { type: 'get', hash: hashAt(p, 0), offset, length, fid: p.readUInt32LE(32) } };
    }
    case MsgType.DATA: {
      const offset = readU64(p, 24);
      const total = readU64(p, 32);
      const otype = p[44]!;
      const len = p.length - SIZE.DATA_FIXED;
      if (offset === undefined || total === undefined || !isObjType(otype)) return fail('size');
      // chunks sit at multiples of CHUNK_MAX; each is full except the last; only an empty
      // object has an empty chunk
      if (offset % CHUNK_MAX !== 0 || offset > total) return fail('size');
      if (len !== Math.min(CHUNK_MAX, total - offset) || (len === 0 && total !== 0)) return fail('size');
      return {
        ok: true,
        value: { type: 'data', hash: hashAt(p, 0), fid: p.readUInt32LE(20), offset, total, crc: p.readUInt32LE(40), otype, chunk: Buffer.from(p.subarray(SIZE.DATA_FIXED)) },
      };
    }
    case MsgType.HAVE: {
      const size = readU64(p, 20);
      const otype = p[28]!;
      if (size === undefined || !isObjType(otype)) return fail('size');
      return { ok: true, value: { type: 'have', hash: hashAt(p, 0), size, otype } };
    }
    case MsgType.NOT_HERE:
      return { ok: true, value: { type: 'not_here', hash: hashAt(p, 0), fid: p.readUInt32LE(20) } };
    case MsgType.CONTROL: {
      const c = decodeControl(p);
      return c.ok ? { ok: true, value: { type: 'control', control: c.value } } : c;
    }
    case MsgType.GET_DELTA: {
      const length = p.readUInt32LE(44);
      if (length < 1 || length > GET_MAX) return fail('size');
      return { ok: true, value: { type: 'get_delta', hash: hashAt(p, 0), base: hashAt(p, 20), offset: p.readUInt32LE(40), length, fid: p.readUInt32LE(48) } };
    }
    case MsgType.DELTA:
      return decodeDelta(p);
    case MsgType.UPDATE:
      return { ok: true, value: { type: 'update', id: hashAt(p, 0), total: p.readUInt32LE(20), offset: p.readUInt32LE(24), age: p.readUInt32LE(28), part: Buffer.from(p.subarray(SIZE.UPDATE_FIXED)) } };
    case MsgType.PIECE:
      return { ok: true, value: { type: 'piece', id: hashAt(p, 0), piece: p.readUInt32LE(20), chunk: p.readUInt16LE(24), flags: p.readUInt16LE(26), bytes: Buffer.from(p.subarray(SIZE.PIECE_FIXED)) } };
    case MsgType.PIECE_STATUS:
      return { ok: true, value: { type: 'piece_status', id: hashAt(p, 0), piece: p.readUInt32LE(20), missing: p.readBigUInt64LE(24) } };
    case MsgType.PIECE_GET:
      return { ok: true, value: { type: 'piece_get', id: hashAt(p, 0), piece: p.readUInt32LE(20), missing: p.readBigUInt64LE(24) } };
    case MsgType.PIECE_WHO:
      return { ok: true, value: { type: 'piece_who', id: hashAt(p, 0), qid: p.readUInt32LE(20) } };
    case MsgType.PIECE_MAP: {
      const pieces = p.readUInt16LE(20);
      if (p.length !== SIZE.PIECE_MAP_FIXED + Math.ceil(pieces / 8)) return fail('size');
      return { ok: true, value: { type: 'piece_map', id: hashAt(p, 0), pieces, held: p.readUInt16LE(22), bitmap: Buffer.from(p.subarray(SIZE.PIECE_MAP_FIXED)) } };
    }
    default:
      return fail('type');
  }
}

/** DELTA: a chunk of the delta (status OK: chunked like DATA), or a status with no chunk. */
function decodeDelta(p: Buffer): Decoded<Message> {
  const status = p[24]!;
  const otype = p[25]!;
  const offset = p.readUInt32LE(28);
  const total = p.readUInt32LE(32);
  const size = readU64(p, 36);
  const len = p.length - SIZE.DELTA_FIXED;
  if (size === undefined) return fail('size');
  if (status === DeltaStatus.OK) {
    if (!isObjType(otype) || total === 0 || offset % CHUNK_MAX !== 0 || offset >= total || len !== Math.min(CHUNK_MAX, total - offset)) return fail('size');
  } else if (status === DeltaStatus.FULL || status === DeltaStatus.ABSENT) {
    if (offset !== 0 || total !== 0 || len !== 0) return fail('size');
  } else return fail('size');
  return {
    ok: true,
    value: { type: 'delta', hash: hashAt(p, 0), fid: p.readUInt32LE(20), status, otype, offset, total, size, crc: p.readUInt32LE(44), chunk: Buffer.from(p.subarray(SIZE.DELTA_FIXED)) },
  };
}

function decodeControl(p: Buffer): Decoded<Control> {
  switch (p[0]) {
    case ControlOp.COMMIT: {
      if (p.length < 25) return fail('size');
      const blen = p[24]!;
      if (p.length < 27 + blen) return fail('size');
      const mlen = p.readUInt16LE(25 + blen);
      if (p.length !== 27 + blen + mlen) return fail('size');
      return { ok: true, value: { op: 'commit', tree: hashAt(p, 4), branch: p.toString('utf8', 25, 25 + blen), message: p.toString('utf8', 27 + blen, 27 + blen + mlen) } };
    }
    case ControlOp.COMMITTED:
      if (p.length !== 25) return fail('size');
      return { ok: true, value: { op: 'committed', commit: hashAt(p, 4), status: p[24]! } };
    case ControlOp.REBOOT:
      if (p.length !== 4) return fail('size');
      return { ok: true, value: { op: 'reboot' } };
    case ControlOp.POLICY: {
      if (p.length < 7) return fail('size');
      const glen = p[4]!;
      if (glen < 1 || glen > 63 || p.length !== 6 + glen || p[5 + glen] === 0) return fail('size');
      return { ok: true, value: { op: 'policy', glob: p.toString('utf8', 5, 5 + glen), copies: p[5 + glen]! } };
    }
    case ControlOp.POLICY_SET:
      if (p.length !== 25) return fail('size');
      return { ok: true, value: { op: 'policy_set', blob: hashAt(p, 4), status: p[24]! } };
    case ControlOp.PROPAGATE: {
      const count = p[2]!;
      if (count < 1 || count > 64 || p.length !== 4 + 20 * count) return fail('size');
      return { ok: true, value: { op: 'propagate', flags: p[1]!, hashes: Array.from({ length: count }, (_, i) => hashAt(p, 4 + 20 * i)) } };
    }
    default:
      return fail('type');
  }
}
