// GTP frames: the 20-byte header, checkFrame (the gate that bounds everything before any field
// past the header is read), frame encode/decode, and authentication against key + replay window.
import { DROP_REASONS, FLAG_AUTH, GTP_MAGIC, GTP_VERSION, HEADER_SIZE, HMAC_SIZE, requiresAuth, type DropReason } from './constants.ts';
import { frameHmac, verifyHmac } from './hmac.ts';
import { TYPE_OF, checkPayloadSize, decodePayload, encodePayload, type Message } from './messages.ts';
import type { ReplayWindow } from './replay.ts';

export interface Header {
  type: number;
  flags: number;
  length: number;
  sender: number;
  epoch: number;
  seq: number;
}

/** What a sender puts on the wire: who, when, and the message. */
export interface Frame {
  sender: number;
  epoch: number;
  seq: number;
  msg: Message;
}

export type Checked =
  | { ok: true; header: Header; payload: Buffer; signed: Buffer; hmac: Buffer | undefined }
  | { ok: false; reason: DropReason };

export type DecodedFrame =
  | { ok: true; frame: Frame; header: Header; signed: Buffer; hmac: Buffer | undefined }
  | { ok: false; reason: DropReason };

export interface CheckOptions {
  /** The receiver's own node number: its own frames are dropped (reason self). */
  self?: number;
}

export function isDropReason(s: string): s is DropReason {
  return (DROP_REASONS as readonly string[]).includes(s);
}

/**
 * The gate: header, exact length, known type, per-type payload size, AUTH presence, sender.
 * Reads nothing past what it has bounded; never throws for any input.
 */
export function checkFrame(bytes: Uint8Array, opts: CheckOptions = {}): Checked {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER_SIZE) return { ok: false, reason: 'short' };
  if (b.readUInt16LE(0) !== GTP_MAGIC) return { ok: false, reason: 'magic' };
  if (b[2] !== GTP_VERSION) return { ok: false, reason: 'version' };
  const type = b[3]!;
  const flags = b.readUInt16LE(4);
  if ((flags & ~FLAG_AUTH) !== 0) return { ok: false, reason: 'version' }; // a later version's flag
  const length = b.readUInt16LE(6);
  const auth = (flags & FLAG_AUTH) !== 0;
  if (HEADER_SIZE + length + (auth ? HMAC_SIZE : 0) !== b.length) return { ok: false, reason: 'length' };
  const payload = b.subarray(HEADER_SIZE, HEADER_SIZE + length);
  const sizeErr = checkPayloadSize(type, payload);
  if (sizeErr) return { ok: false, reason: sizeErr };
  if (auth !== requiresAuth(type)) return { ok: false, reason: 'auth' };
  const sender = b.readUInt32LE(8);
  if (sender === 0 || (opts.self !== undefined && sender === opts.self)) return { ok: false, reason: 'self' };
  return {
    ok: true,
    header: { type, flags, length, sender, epoch: b.readUInt32LE(12), seq: b.readUInt32LE(16) },
    payload,
    signed: b.subarray(0, HEADER_SIZE + length),
    hmac: auth ? b.subarray(HEADER_SIZE + length) : undefined,
  };
}

/** checkFrame, then the message itself. */
export function decodeFrame(bytes: Uint8Array, opts: CheckOptions = {}): DecodedFrame {
  const c = checkFrame(bytes, opts);
  if (!c.ok) return c;
  const m = decodePayload(c.header.type, c.payload);
  if (!m.ok) return m;
  const { sender, epoch, seq } = c.header;
  return { ok: true, frame: { sender, epoch, seq, msg: m.value }, header: c.header, signed: c.signed, hmac: c.hmac };
}

/** Encodes a frame; types that require AUTH are signed with `key` (required for them). */
export function encodeFrame(f: Frame, key?: Buffer): Buffer {
  const type = TYPE_OF[f.msg.type];
  const payload = encodePayload(f.msg);
  if (payload.length > 0xffff) throw new RangeError('payload longer than 65535 bytes');
  const auth = requiresAuth(type);
  if (auth && !key) throw new Error(`a ${f.msg.type} frame needs the cluster key`);
  const out = Buffer.alloc(HEADER_SIZE + payload.length + (auth ? HMAC_SIZE : 0));
  out.writeUInt16LE(GTP_MAGIC, 0);
  out.writeUInt8(GTP_VERSION, 2);
  out.writeUInt8(type, 3);
  out.writeUInt16LE(auth ? FLAG_AUTH : 0, 4);
  out.writeUInt16LE(payload.length, 6);
  out.writeUInt32LE(f.sender >>> 0, 8);
  out.writeUInt32LE(f.epoch >>> 0, 12);
  out.writeUInt32LE(f.seq >>> 0, 16);
  payload.copy(out, HEADER_SIZE);
  if (auth) frameHmac(key!, out.subarray(0, HEADER_SIZE + payload.length)).copy(out, HEADER_SIZE + payload.length);
  return out;
}

/**
 * For frames that carry AUTH: the HMAC under `key` (reason auth), then the replay window
 * (reason replay; only a verified frame moves it). Frames without AUTH pass.
 */
export function authenticate(d: { header: Header; signed: Buffer; hmac: Buffer | undefined }, key: Buffer | undefined, window: ReplayWindow): DropReason | undefined {
  if (!d.hmac) return undefined;
  if (!key || !verifyHmac(key, d.signed, d.hmac)) return 'auth';
  if (!window.accept(d.header.sender, d.header.epoch, d.header.seq)) return 'replay';
  return undefined;
}
