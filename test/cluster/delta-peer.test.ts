// GET_DELTA / DELTA (docs/protocol.md, "Deltas") in the TypeScript implementation: the codec's
// round trip and its drop reasons, and two host peers joined by an in-process switch: a fetch
// with a base moves a delta (far fewer bytes than the object), a holder without the base or
// with a delta not worth it answers "full" and the object comes whole, a corrupted delta is
// refused (bad_delta) and the object comes whole.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PeerNode } from '../../cluster/peer/node.ts';
import { GitFSStore } from '../../cluster/peer/store.ts';
import { ipNode, nodeIp } from '../../cluster/wire/address.ts';
import { CHUNK_MAX, DeltaStatus, MsgType } from '../../cluster/wire/constants.ts';
import { checkPayloadSize, decodePayload, encodePayload, type Message } from '../../cluster/wire/messages.ts';
import { hashObject } from '../../gitfs/objects.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gtdelta-peer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const KEY = randomBytes(32);
let imgs = 0;
const H = 'ab'.repeat(20);
const B = 'cd'.repeat(20);

function roundTrip(m: Message): Message {
  const p = encodePayload(m);
  const type = m.type === 'get_delta' ? MsgType.GET_DELTA : MsgType.DELTA;
  expect(checkPayloadSize(type, p)).toBeUndefined();
  const d = decodePayload(type, p);
  expect(d.ok).toBe(true);
  return (d as { ok: true; value: Message }).value;
}

describe('GET_DELTA and DELTA codec', () => {
  it('round-trips and has the documented sizes', () => {
    const g: Message = { type: 'get_delta', hash: H, base: B, offset: 2800, length: 89_600, fid: 7 };
    expect(encodePayload(g).length).toBe(52);
    expect(roundTrip(g)).toEqual(g);
    const chunk = randomBytes(CHUNK_MAX);
    const d: Message = { type: 'delta', hash: H, fid: 7, status: DeltaStatus.OK, otype: 3, offset: 1400, total: 5000, size: 4 << 20, crc: 0x12345678, chunk };
    expect(encodePayload(d).length).toBe(48 + CHUNK_MAX);
    expect(roundTrip(d)).toEqual(d);
    const full: Message = { type: 'delta', hash: H, fid: 7, status: DeltaStatus.FULL, otype: 3, offset: 0, total: 0, size: 100, crc: 0, chunk: Buffer.alloc(0) };
    expect(roundTrip(full)).toEqual(full);
  });

  it('drops what breaks the rules with a named reason', () => {
    expect(checkPayloadSize(MsgType.GET_DELTA, Buffer.alloc(51))).toBe('size');
    expect(checkPayloadSize(MsgType.DELTA, Buffer.alloc(47))).toBe('size');
    expect(checkPayloadSize(MsgType.DELTA, Buffer.alloc(48 + CHUNK_MAX + 1))).toBe('size');
    const g = encodePayload({ type: 'get_delta', hash: H, base: B, offset: 0, length: 1, fid: 1 });
    g.writeUInt32LE(0, 44);
    expect(decodePayload(MsgType.GET_DELTA, g)).toEqual({ ok: false, reason: 'size' });
    const chunk = randomBytes(100);
    const d = encodePayload({ type: 'delta', hash: H, fid: 1, status: 0, otype: 3, offset: 0, total: 100, size: 1000, crc: 0, chunk });
    const wrongLen = Buffer.from(d);
    wrongLen.writeUInt32LE(101, 32); // total says 101: the chunk is one byte short
    expect(decodePayload(MsgType.DELTA, wrongLen)).toEqual({ ok: false, reason: 'size' });
    const badStatus = Buffer.from(d);
    badStatus[24] = 3;
    expect(decodePayload(MsgType.DELTA, badStatus)).toEqual({ ok: false, reason: 'size' });
    const statusWithChunk = Buffer.from(d);
    statusWithChunk[24] = DeltaStatus.FULL;
    expect(decodePayload(MsgType.DELTA, statusWithChunk)).toEqual({ ok: false, reason: 'size' });
  });
});

function lan() {
  const nodes = new Map<number, PeerNode>();
  const deliver = (bytes: Buffer, from: number, to: number | 'group') => {
    setImmediate(() => {
      for (const [n, p] of nodes) if (n !== from && (to === 'group' || to === n)) p.receive(bytes, nodeIp(from));
    });
  };
  const add = (n: number, store: GitFSStore) => {
    const p = new PeerNode({ node: n, key: KEY, store, announceMs: 0, transport: { send: (b, ip) => deliver(b, n, ipNode(ip)!), multicast: (b) => deliver(b, n, 'group') } });
    nodes.set(n, p);
    return p;
  };
  return { add, stop: () => nodes.forEach((p) => p.stop()) };
}

function store(objects: Buffer[]): GitFSStore {
  const s = GitFSStore.open(join(tmp, `i${++imgs}.img`), 32 << 20);
  for (const d of objects) s.put(hashObject('blob', d), 3, d);
  return s;
}

function edited(base: Buffer, count: number): Buffer {
  const t = Buffer.from(base);
  for (let i = 0; i < count; i++) randomBytes(32).copy(t, Math.floor(((i + 0.5) * (t.length - 32)) / count));
  return t;
}

describe('host peers with deltas', () => {
  it('moves a new version as a delta, falls back to the whole object when there is none worth it or it is corrupt', async () => {
    const v1 = randomBytes(1 << 20);
    const v2 = edited(v1, 20);
    const other = randomBytes(200_000);
    const other2 = randomBytes(200_000);
    const net = lan();
    const holderStore = store([v1, v2, other2]);
    const holder = net.add(10, holderStore);
    const fetcher = net.add(20, store([v1, other]));
    try {
      const r = await fetcher.fetch(hashObject('blob', v2), { base: hashObject('blob', v1) });
      expect(r).toMatchObject({ holder: 10, delta: 'yes', fetched: true, size: v2.length });
      expect(r.deltaBytes!).toBeLessThan(2000);
      expect(r.wireBytes!).toBeLessThanOrEqual(2 * r.deltaBytes!);
      expect(fetcher.store.get(hashObject('blob', v2))!.data.equals(v2)).toBe(true);
      // the holder lacks the base: "full", the object whole
      const f = await fetcher.fetch(hashObject('blob', other2), { base: hashObject('blob', other) });
      expect(f).toMatchObject({ delta: 'no', fetched: true, holder: 10 });
      expect(fetcher.store.get(hashObject('blob', other2))!.data.equals(other2)).toBe(true);
      // a corrupt delta: refused, counted, the object whole
      const v3 = edited(v2, 5);
      holderStore.put(hashObject('blob', v3), 3, v3);
      holder.setFaults({ corruptDeltas: true });
      const c = await fetcher.fetch(hashObject('blob', v3), { base: hashObject('blob', v2) });
      expect(c).toMatchObject({ delta: 'bad', fetched: true });
      expect(fetcher.counters.bad_delta).toBe(1);
      expect(fetcher.store.get(hashObject('blob', v3))!.data.equals(v3)).toBe(true);
    } finally {
      net.stop();
    }
  }, 60_000);
});
