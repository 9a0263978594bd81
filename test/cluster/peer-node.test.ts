// The host peer's state machine (cluster/peer/node.ts) with its network replaced by a frame
// switch in this process, where a test can corrupt chunks in flight or make a holder lie:
// a bad chunk is refused (bad_chunk) and fetched again; an object that does not hash is not
// stored (bad_object) and is fetched from the next holder; a silent holder is left for another,
// and tried once more when it answers the fresh WHO_HAS.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FetchFailed, PeerNode, type PeerConfig } from '../../cluster/peer/node.ts';
import { GitFSStore, type ObjectStore } from '../../cluster/peer/store.ts';
import { nodeIp, ipNode } from '../../cluster/wire/address.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { MsgType } from '../../cluster/wire/constants.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gtneth-node-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const KEY = randomBytes(32);
let imgs = 0;

type Tamper = (bytes: Buffer, from: number, to: number | 'group') => Buffer | null;

/** Nodes joined by an in-process switch: every frame is delivered asynchronously, or tampered. */
function lan(tamper: Tamper = (b) => b) {
  const nodes = new Map<number, PeerNode>();
  const deliver = (bytes: Buffer, from: number, to: number | 'group') => {
    const out = tamper(Buffer.from(bytes), from, to);
    if (!out) return;
    setImmediate(() => {
      for (const [n, p] of nodes) if (n !== from && (to === 'group' || to === n)) p.receive(out, nodeIp(from));
    });
  };
  const add = (n: number, store: ObjectStore, onEvent?: PeerConfig['onEvent']) => {
    const p = new PeerNode({ node: n, key: KEY, store, announceMs: 0, onEvent, transport: { send: (b, ip) => deliver(b, n, ipNode(ip)!), multicast: (b) => deliver(b, n, 'group') } });
    nodes.set(n, p);
    return p;
  };
  return { add, stop: () => nodes.forEach((p) => p.stop()) };
}

function store(objects: Buffer[] = []): GitFSStore {
  const s = GitFSStore.open(join(tmp, `i${++imgs}.img`), 16 << 20);
  for (const d of objects) s.put(hashObject('blob', d), 3, d);
  return s;
}

/** A holder that serves other bytes than it claims for every object. */
function liar(inner: GitFSStore): ObjectStore {
  return {
    has: (h) => inner.has(h),
    get: (h) => {
      const o = inner.get(h);
      if (!o) return o;
      const data = Buffer.from(o.data);
      data[0]! ^= 0xff;
      return { otype: o.otype, data };
    },
    put: (h, t, d) => inner.put(h, t, d),
    commit: (b, t, m) => inner.commit(b, t, m),
    revision: () => inner.revision(),
    objectCount: () => inner.objectCount(),
    close: () => inner.close(),
  };
}

describe('fetch state machine', () => {
  it('a corrupt chunk is refused, counted and fetched again', async () => {
    const data = randomBytes(300_000);
    let corrupted = 0;
    const net = lan((b) => {
      // the 5th and 40th DATA frames get a byte flipped in their chunk (their CRC no longer matches)
      if (b[3] === 5 && (++corrupted === 5 || corrupted === 40)) b[b.length - 1]! ^= 1;
      return b;
    });
    net.add(1, store([data]));
    const s2 = store();
    const p2 = net.add(2, s2);
    const r = await p2.fetch(hashObject('blob', data));
    expect(r).toMatchObject({ fetched: true, holder: 1, size: data.length });
    expect(p2.counters.bad_chunk).toBe(2);
    expect(r.badChunks).toBe(2);
    expect(s2.get(hashObject('blob', data))!.data.equals(data)).toBe(true);
    net.stop();
  });

  it('an object that does not hash is not stored and comes from the next holder', async () => {
    const data = randomBytes(20_000);
    const h = hashObject('blob', data);
    const net = lan();
    net.add(1, store([data]));
    net.add(3, liar(store([data])));
    const s2 = store();
    const p2 = net.add(2, s2);
    // node 3 answers who-has first (node mod 8 ms), so it is tried first... or second: either way
    const r = await p2.fetch(h);
    expect(r.holder).toBe(1);
    expect(p2.counters.bad_object).toBeLessThanOrEqual(1);
    expect(s2.get(h)!.data.equals(data)).toBe(true);
    // a store that only knows the liar fails with no-holder and stores nothing
    const net2 = lan();
    net2.add(3, liar(store([data])));
    const s4 = store();
    const p4 = net2.add(4, s4);
    const err = await p4.fetch(h).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchFailed);
    expect((err as FetchFailed).reason).toBe('no-holder');
    expect(p4.counters.bad_object).toBe(1);
    expect(s4.has(h)).toBe(false);
    net.stop();
    net2.stop();
  });

  it('a holder that goes silent is left after 5 tries (and 5 more once it answers WHO_HAS again) for another holder', async () => {
    const data = randomBytes(100_000);
    const h = hashObject('blob', data);
    const net = lan((b, from, to) => (from === 3 && to !== 'group' ? null : b)); // node 3 answers who-has, never sends data
    net.add(3, store([data]));
    const p2 = net.add(2, store());
    const first = await p2.fetch(h).catch((e: unknown) => e);
    expect((first as FetchFailed).reason).toBe('no-holder');
    expect((first as FetchFailed).tries).toEqual(['3 silent', '3 silent']);
    expect((first as Error).message).toContain('tried 3 silent, 3 silent');
    expect(p2.counters.retransmits).toBeGreaterThanOrEqual(8);
    net.add(1, store([data]));
    const r = await p2.fetch(h);
    expect(r.holder).toBe(1);
    net.stop();
  });

  it('the only holder, silent mid-fetch (a stalled process), is tried again after the fresh WHO_HAS', async () => {
    const data = randomBytes(100_000);
    const h = hashObject('blob', data);
    // after its 10th DATA frame it sends no DATA until the fetcher asks the group again (its
    // WHO_HAS answers pass)
    let frames = 0;
    let whoHas = 0;
    const net = lan((b, from) => {
      if (from === 2 && b[3] === MsgType.WHO_HAS) whoHas++;
      if (from !== 1 || b[3] !== MsgType.DATA) return b;
      return ++frames > 10 && whoHas < 2 ? null : b;
    });
    net.add(1, store([data]));
    const retries: unknown[] = [];
    const p2 = net.add(2, store(), (e) => e.name === 'fetch-retry' && retries.push(e.fields));
    const r = await p2.fetch(h);
    expect(r).toMatchObject({ holder: 1, fetched: true, size: data.length });
    expect(retries).toEqual([{ hash: h, holder: 1, why: 'silent' }]);
    net.stop();
  });
});
