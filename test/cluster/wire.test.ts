// The GTP v1 codec (cluster/wire): byte layout against docs/protocol.md, round trips and
// hostile input as property tests, HMAC and the replay window.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_MAX, DROP_REASONS, GET_MAX, HEADER_SIZE, HMAC_SIZE, HOST_NODE, ReplayWindow, SIZE, authenticate, checkFrame,
  chunkCrc, decodeFrame, encodeFrame, frameHmac, ipNode, nodeIp, nodeMac, type Frame, type Message,
} from '../../cluster/wire/index.ts';

const KEY = Buffer.alloc(32, 7);
const hashArb = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex'));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const otype = fc.integer({ min: 1, max: 4 });
const ascii = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength });

const dataArb = fc
  .record({ hash: hashArb, fid: u32, total: fc.integer({ min: 0, max: 1 << 24 }), pick: fc.nat(), crc: u32, otype })
  .map(({ hash, fid, total, pick, crc, otype }) => {
    const chunks = Math.max(1, Math.ceil(total / CHUNK_MAX));
    const offset = (pick % chunks) * CHUNK_MAX;
    const len = Math.min(CHUNK_MAX, total - offset);
    const chunk = Buffer.alloc(len, pick & 0xff);
    return { type: 'data' as const, hash, fid, offset, total, crc, otype, chunk };
  });

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('announce' as const), rev: hashArb, kernel: hashArb, objects: u32, flags: fc.integer({ min: 0, max: 0xffff }), version: ascii(32) }),
  fc.record({ type: fc.constant('who_has' as const), hash: hashArb, qid: u32 }),
  fc.record({ type: fc.constant('i_have' as const), hash: hashArb, qid: u32, size: u64, otype }),
  fc.record({ type: fc.constant('get' as const), hash: hashArb, offset: u64, length: fc.integer({ min: 1, max: GET_MAX }), fid: u32 }),
  dataArb,
  fc.record({ type: fc.constant('have' as const), hash: hashArb, size: u64, otype }),
  fc.record({ type: fc.constant('not_here' as const), hash: hashArb, fid: u32 }),
  fc.record({
    type: fc.constant('control' as const),
    control: fc.oneof(
      fc.record({ op: fc.constant('commit' as const), tree: hashArb, branch: ascii(255), message: ascii(2000) }),
      fc.record({ op: fc.constant('committed' as const), commit: hashArb, status: fc.integer({ min: 0, max: 255 }) }),
      fc.constant({ op: 'reboot' as const }),
    ),
  }),
);

const frameArb: fc.Arbitrary<Frame> = fc.record({ sender: fc.integer({ min: 1, max: 0xffffffff }), epoch: u32, seq: u32, msg: messageArb });

const H = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'; // sha1("test")

describe('layout (docs/protocol.md)', () => {
  it('a WHO_HAS is byte for byte the documented header and payload', () => {
    const b = encodeFrame({ sender: 0x0102, epoch: 0x11223344, seq: 5, msg: { type: 'who_has', hash: H, qid: 0xdeadbeef } });
    const want = Buffer.concat([
      Buffer.from([0x47, 0x54, 1, 2, 0, 0, 24, 0, 0x02, 0x01, 0, 0, 0x44, 0x33, 0x22, 0x11, 5, 0, 0, 0]),
      Buffer.from(H, 'hex'),
      Buffer.from([0xef, 0xbe, 0xad, 0xde]),
    ]);
    expect(b.equals(want)).toBe(true);
  });

  it('payload sizes are the documented ones; authenticated types carry a 20-byte HMAC', () => {
    const f = (msg: Message) => encodeFrame({ sender: 1, epoch: 1, seq: 1, msg }, KEY);
    expect(f({ type: 'announce', rev: H, kernel: H, objects: 1, flags: 0, version: '0.1.0' }).length).toBe(HEADER_SIZE + 47 + 5 + HMAC_SIZE);
    expect(f({ type: 'who_has', hash: H, qid: 1 }).length).toBe(HEADER_SIZE + 24);
    expect(f({ type: 'i_have', hash: H, qid: 1, size: 9, otype: 3 }).length).toBe(HEADER_SIZE + 36);
    expect(f({ type: 'get', hash: H, offset: 0, length: 10, fid: 1 }).length).toBe(HEADER_SIZE + 36);
    expect(f({ type: 'data', hash: H, fid: 1, offset: 0, total: 3, crc: 0, otype: 3, chunk: Buffer.from('abc') }).length).toBe(HEADER_SIZE + 48 + 3);
    expect(f({ type: 'have', hash: H, size: 9, otype: 3 }).length).toBe(HEADER_SIZE + 32);
    expect(f({ type: 'not_here', hash: H, fid: 1 }).length).toBe(HEADER_SIZE + 24);
    expect(f({ type: 'control', control: { op: 'reboot' } }).length).toBe(HEADER_SIZE + 4 + HMAC_SIZE);
    // a full DATA frame fills an Ethernet MTU with its IPv4 and UDP headers
    expect(20 + 8 + HEADER_SIZE + SIZE.DATA_FIXED + CHUNK_MAX).toBeLessThanOrEqual(1500);
  });

  it('the HMAC is HMAC-SHA1(key, header ‖ payload)', () => {
    const b = encodeFrame({ sender: 3, epoch: 9, seq: 1, msg: { type: 'control', control: { op: 'reboot' } } }, KEY);
    const mac = createHmac('sha1', KEY).update(b.subarray(0, b.length - 20)).digest();
    expect(b.subarray(b.length - 20).equals(mac)).toBe(true);
    // RFC 2202 test case 2
    expect(frameHmac(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  });

  it('addresses follow the node number', () => {
    expect(nodeIp(1)).toBe('10.77.0.1');
    expect(nodeIp(258)).toBe('10.77.1.2');
    expect(nodeMac(258)).toBe('52:54:00:47:01:02');
    expect(nodeIp(HOST_NODE)).toBe('10.77.255.254');
    expect(ipNode('10.77.1.2')).toBe(258);
    expect(ipNode('10.78.1.2')).toBeUndefined();
  });

  it('CRC-32 is zlib\'s', () => {
    expect(chunkCrc(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
  });
});

describe('round trips (property)', () => {
  it('decode(encode(frame)) = frame for every type', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const d = decodeFrame(encodeFrame(f, KEY));
        expect(d.ok).toBe(true);
        if (d.ok) expect(d.frame).toEqual(f);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('hostile input (property)', () => {
  const isReason = (r: string) => (DROP_REASONS as readonly string[]).includes(r);

  it('random bytes never throw: a frame or a named drop reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
        const d = decodeFrame(bytes);
        if (!d.ok) expect(isReason(d.reason)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('random bytes behind a valid header prefix never throw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 1600 }), (type, flags, rest) => {
        const h = Buffer.alloc(20);
        h.writeUInt16LE(0x5447, 0);
        h[2] = 1;
        h[3] = type;
        h.writeUInt16LE(flags, 4);
        h.writeUInt16LE(Math.max(0, rest.length - (flags & 1 ? 20 : 0)), 6);
        h.writeUInt32LE(7, 8);
        const d = decodeFrame(Buffer.concat([h, Buffer.from(rest)]));
        if (!d.ok) expect(isReason(d.reason)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('valid frames truncated, extended or with a byte changed never throw', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 }), (f, at, v, how) => {
        let b = encodeFrame(f, KEY);
        if (how === 0) b = b.subarray(0, at % b.length);
        else if (how === 1) b = Buffer.concat([b, Buffer.from([v])]);
        else {
          b = Buffer.from(b);
          b[at % b.length] = v;
        }
        const d = decodeFrame(b);
        if (!d.ok) expect(isReason(d.reason)).toBe(true);
        else if (how !== 2) throw new Error('a truncated or extended frame was accepted');
      }),
      { numRuns: 3000 },
    );
  });

  it('named reasons for the documented checks', () => {
    const good = encodeFrame({ sender: 5, epoch: 1, seq: 1, msg: { type: 'who_has', hash: H, qid: 1 } });
    const mod = (fn: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      fn(b);
      return b;
    };
    const reason = (b: Uint8Array, self?: number) => {
      const d = decodeFrame(b, { self });
      return d.ok ? 'ok' : d.reason;
    };
    expect(reason(good)).toBe('ok');
    expect(reason(good.subarray(0, 19))).toBe('short');
    expect(reason(mod((b) => (b[0] = 0)))).toBe('magic');
    expect(reason(mod((b) => (b[2] = 2)))).toBe('version');
    expect(reason(mod((b) => b.writeUInt16LE(23, 6)))).toBe('length');
    expect(reason(mod((b) => (b[3] = 9)))).toBe('type');
    expect(reason(mod((b) => (b[3] = 4)))).toBe('size'); // a GET is 36 bytes, not 24
    expect(reason(good, 5)).toBe('self');
    expect(reason(mod((b) => b.writeUInt32LE(0, 8)))).toBe('self');
    // an ANNOUNCE without AUTH, a WHO_HAS with it
    const ann = encodeFrame({ sender: 5, epoch: 1, seq: 1, msg: { type: 'announce', rev: H, kernel: H, objects: 0, flags: 0, version: '' } }, KEY);
    const stripped = Buffer.from(ann.subarray(0, ann.length - 20));
    stripped.writeUInt16LE(0, 4);
    expect(reason(stripped)).toBe('auth');
    const withMac = Buffer.concat([good, Buffer.alloc(20)]);
    withMac.writeUInt16LE(1, 4);
    expect(reason(withMac)).toBe('auth');
    // DATA: misaligned, wrong chunk length, empty chunk of a non-empty object
    const data = (offset: number, total: number, len: number) => {
      const b = encodeFrame({ sender: 5, epoch: 1, seq: 1, msg: { type: 'data', hash: H, fid: 1, offset: 0, total: len, crc: 0, otype: 3, chunk: Buffer.alloc(len) } });
      b.writeBigUInt64LE(BigInt(offset), 20 + 24);
      b.writeBigUInt64LE(BigInt(total), 20 + 32);
      return reason(b);
    };
    expect(data(0, 0, 0)).toBe('ok');
    expect(data(CHUNK_MAX, CHUNK_MAX + 10, 10)).toBe('ok');
    expect(data(10, 20, 10)).toBe('size');
    expect(data(0, 5000, 10)).toBe('size');
    expect(data(0, 10, 0)).toBe('size');
    expect(data(CHUNK_MAX, 10, 0)).toBe('size');
  });
});

describe('authentication and replay', () => {
  const ctl = (seq: number, epoch = 100, key = KEY) => decodeFrame(encodeFrame({ sender: 9, epoch, seq, msg: { type: 'control', control: { op: 'reboot' } } }, key));

  it('a right HMAC passes once; a replay, a wrong key and a changed byte are dropped', () => {
    const w = new ReplayWindow();
    const a = ctl(1);
    if (!a.ok) throw new Error('decode');
    expect(authenticate(a, KEY, w)).toBeUndefined();
    expect(authenticate(a, KEY, w)).toBe('replay');
    const b = ctl(2, 100, Buffer.alloc(32, 8));
    if (!b.ok) throw new Error('decode');
    expect(authenticate(b, KEY, w)).toBe('auth');
    // the forged frame did not move the window: the real seq 2 still passes
    const c = ctl(2);
    if (!c.ok) throw new Error('decode');
    const tampered = { ...c, signed: Buffer.from(c.signed) };
    tampered.signed[16] ^= 1;
    expect(authenticate(tampered, KEY, w)).toBe('auth');
    expect(authenticate(c, KEY, w)).toBeUndefined();
    // no key at all: every authenticated frame fails
    expect(authenticate(c, undefined, new ReplayWindow())).toBe('auth');
  });

  it('the window accepts exactly what a model of RFC 4303 accepts (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 200 })), { maxLength: 300 }), (ops) => {
        const w = new ReplayWindow();
        let epoch = -1;
        let top = -1;
        const seen = new Set<number>();
        for (const [e, s] of ops) {
          let want: boolean;
          if (e > epoch) want = true;
          else if (e < epoch) want = false;
          else if (s > top) want = true;
          else want = top - s <= 64 && !seen.has(s);
          expect(w.accept(1, e, s)).toBe(want);
          if (want) {
            if (e > epoch) {
              epoch = e;
              top = s;
              seen.clear();
            } else if (s > top) top = s;
            seen.add(s);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
