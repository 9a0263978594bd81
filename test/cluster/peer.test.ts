// Two host peers (cluster/peer) as real processes in network namespaces of their own, on a
// bridge: announce, who-has, fetch in both directions (verified against git's hashing), trees,
// CONTROL COMMIT, hostile frames, and 10% loss with nftables in the bridge family.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFaults, clearFaults, listTables } from '../../cluster/net/faults.ts';
import { sh } from '../../cluster/net/sh.ts';
import type { Counters } from '../../cluster/peer/counters.ts';
import type { FetchResult, PeerInfo, WhoHasAnswer } from '../../cluster/peer/node.ts';
import { GitFSStore } from '../../cluster/peer/store.ts';
import { createImage, openImage } from '../../gitfs/image.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { buildTree } from '../../gitfs/tree.ts';
import { PeerLan, type PeerProc } from '../helpers/peer-net.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gtneth-peer-'));
const lan = new PeerLan('peer');
const KEY = join(tmp, 'key');
const imgA = join(tmp, 'a.img');
const imgB = join(tmp, 'b.img');
let a: PeerProc;
let b: PeerProc;

const big = randomBytes(1 << 20);
const lossy = randomBytes(3 << 20);
const small = Buffer.from('hello, cluster\n');
const empty = Buffer.alloc(0);
let tree = '';
const treeFiles = new Map<string, Buffer>();

function gitHash(data: Buffer): string {
  const f = join(tmp, 'obj');
  writeFileSync(f, data);
  return execFileSync('git', ['hash-object', f]).toString().trim();
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  writeFileSync(KEY, randomBytes(32));
  createImage(imgB, { sizeBytes: 64 << 20 }).close();
  createImage(imgA, { sizeBytes: 64 << 20 }).close();
  const s = GitFSStore.open(imgA);
  for (const d of [big, lossy, small, empty]) s.put(hashObject('blob', d), 3, d);
  // a tree with a subtree (git's form: threshold 0 splits every directory)
  const files = [
    { path: 'README', data: Buffer.from('readme\n') },
    { path: 'src/main.c', data: randomBytes(5000) },
    { path: 'src/lib/util.c', data: randomBytes(3000) },
    { path: 'empty', data: empty },
  ];
  const tf = files.map((f) => {
    const h = hashObject('blob', f.data);
    s.put(h, 3, f.data);
    treeFiles.set(f.path, f.data);
    return { path: f.path, mode: '100644', hash: h };
  });
  tree = buildTree(tf, (t) => s.put(t.hash, 2, t.data), 0);
  s.close();
  await lan.create();
  a = await lan.peer(1, imgA, { keyFile: KEY });
  b = await lan.peer(2, imgB, { keyFile: KEY });
}, 60_000);

afterAll(async () => {
  await lan.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

describe('two host peers on a bridge', () => {
  it('hear each other announce (authenticated)', async () => {
    const pb = await until(() => b.request<PeerInfo[]>('peers'), (p) => p.length > 0);
    const pa = await until(() => a.request<PeerInfo[]>('peers'), (p) => p.length > 0);
    expect(pb.map((p) => [p.node, p.ip, p.mac])).toEqual([[1, '10.77.0.1', '52:54:00:47:00:01']]);
    expect(pa.map((p) => p.node)).toEqual([2]);
    const ca = await a.request<Counters>('counters');
    expect(ca.auth_fail).toBe(0);
  });

  it('who-has is answered by the holder only', async () => {
    const ans = await b.request<WhoHasAnswer[]>('whohas', { hash: hashObject('blob', big) });
    expect(ans.map((x) => [x.node, x.size, x.otype])).toEqual([[1, big.length, 3]]);
    const none = await a.request<WhoHasAnswer[]>('whohas', { hash: hashObject('blob', Buffer.from('nobody has this')) });
    expect(none).toEqual([]);
  });

  it('fetches a 1 MiB blob, a small one and the empty blob by hash; git agrees on the hashes', async () => {
    for (const d of [big, small, empty]) {
      const h = gitHash(d);
      const r = await b.request<FetchResult>('fetch', { hash: h });
      expect(r).toMatchObject({ hash: h, size: d.length, holder: 1, fetched: true, type: 'blob' });
    }
    const img = openImage(imgB, { readOnly: true });
    try {
      for (const d of [big, small, empty]) expect(img.readObject(gitHash(d)).data.equals(d)).toBe(true);
    } finally {
      img.close();
    }
    // HAVE told peer 1 who holds it now
    const holders = await until(() => a.request<Array<{ node: number }>>('holders', { hash: hashObject('blob', big) }), (x) => x.length > 0);
    expect(holders.map((x) => x.node)).toEqual([2]);
  });

  it('fetches the other way: an object only peer 2 holds', async () => {
    const only = randomBytes(200_000);
    const { hash } = await b.request<{ hash: string }>('put', { data: only.toString('base64') });
    const r = await a.request<FetchResult>('fetch', { hash });
    expect(r).toMatchObject({ holder: 2, size: only.length, fetched: true });
  });

  it('an object nobody holds fails with reason timeout', async () => {
    const err = await a.request('fetch', { hash: hashObject('blob', Buffer.from('absent')) }).catch((e: Error & { reason?: string }) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { reason?: string }).reason).toBe('timeout');
  });

  it('fetches a tree and everything it names', async () => {
    const r = await b.request<{ fetched: number }>('fetch-tree', { tree });
    expect(r.fetched).toBeGreaterThanOrEqual(4); // root, src, src/lib trees + blobs not yet held
    const img = openImage(imgB, { readOnly: true });
    try {
      const files = img.listFiles(tree);
      expect(files.map((f) => f.path).sort()).toEqual([...treeFiles.keys()].sort());
      for (const f of files) expect(img.readObject(f.hash).data.equals(treeFiles.get(f.path)!)).toBe(true);
    } finally {
      img.close();
    }
  });

  it('CONTROL COMMIT: peer 1 orders peer 2 to fetch a tree and commit it', async () => {
    const s = randomBytes(7000);
    const blob = (await a.request<{ hash: string }>('put', { data: s.toString('base64') })).hash;
    const entries = Buffer.concat([Buffer.from('100644 new.bin\0'), Buffer.from(blob, 'hex')]);
    const t = (await a.request<{ hash: string }>('put', { data: entries.toString('base64'), otype: 2 })).hash;
    const r = await a.request<{ commit: string; status: number }>('commit-on', { node: 2, tree: t, branch: 'pushed', message: 'from peer 1' });
    expect(r.status).toBe(0);
    const img = openImage(imgB, { readOnly: true });
    try {
      expect(img.readRef('pushed')).toBe(r.commit);
      expect(img.readCommit(r.commit).tree).toBe(t);
      expect(img.readFile('pushed', 'new.bin').equals(s)).toBe(true);
    } finally {
      img.close();
    }
  });

  it('drops hostile frames by reason and keeps serving', async () => {
    // a sender on the bridge itself: random bytes, truncated headers, wrong lengths, bad HMACs, replays
    await sh('ip', ['-n', lan.sw, 'addr', 'add', '10.77.255.254/16', 'dev', lan.bridge], { check: false });
    await sh('ping', ['-c', '1', '-W', '5', '10.77.0.1'], { ns: lan.sw }); // the neighbour is known before the burst
    const before = await a.request<Counters>('counters');
    const script = `
      const dgram = require('node:dgram'); const crypto = require('node:crypto');
      const s = dgram.createSocket('udp4'); const frames = [];
      const hdr = (type, flags, len, seq) => { const b = Buffer.alloc(20); b.writeUInt16LE(0x5447,0); b[2]=1; b[3]=type; b.writeUInt16LE(flags,4); b.writeUInt16LE(len,6); b.writeUInt32LE(65534,8); b.writeUInt32LE(1,12); b.writeUInt32LE(seq,16); return b; };
      for (let i = 0; i < 500; i++) frames.push(crypto.randomBytes(i % 100));
      for (let i = 0; i < 500; i++) frames.push(hdr(2, 0, 24, i).subarray(0, i % 20));
      for (let i = 0; i < 500; i++) frames.push(Buffer.concat([hdr(2, 0, 30, i), crypto.randomBytes(24)]));
      for (let i = 0; i < 500; i++) frames.push(Buffer.concat([hdr(8, 1, 4, i), Buffer.from([3,0,0,0]), crypto.randomBytes(20)]));
      const key = require('node:fs').readFileSync(process.argv[1]);
      const ok = Buffer.concat([hdr(8, 1, 4, 7), Buffer.from([3,0,0,0])]);
      const mac = crypto.createHmac('sha1', key).update(ok).digest();
      for (let i = 0; i < 500; i++) frames.push(Buffer.concat([ok, mac]));
      let n = 0; const next = () => { if (n >= frames.length) return s.close(); s.send(frames[n++], 7184, '10.77.0.1', () => setImmediate(next)); }; next();`;
    await sh(process.execPath, ['-e', script, KEY], { ns: lan.sw });
    // all 2,500 in (the replays come last): counting on an earlier total races them
    const after = await until(() => a.request<Counters>('counters'), (c) => c.rx - before.rx >= 2500, 10_000);
    const d = (k: keyof Counters['rx_drop']) => after.rx_drop[k] - before.rx_drop[k];
    const why = JSON.stringify({ before, after });
    expect(after.rx - before.rx, why).toBeGreaterThanOrEqual(2400);
    expect(d('short'), why).toBeGreaterThan(400);
    expect(d('length'), why).toBeGreaterThanOrEqual(500);
    expect(d('auth'), why).toBeGreaterThanOrEqual(500);
    expect(d('replay'), why).toBeGreaterThanOrEqual(498); // the first copy of the good REBOOT passes
    expect(after.auth_fail - before.auth_fail).toBe(d('auth'));
    // still serving
    const more = randomBytes(50_000);
    const { hash } = await a.request<{ hash: string }>('put', { data: more.toString('base64') });
    expect(await b.request<FetchResult>('fetch', { hash })).toMatchObject({ fetched: true, size: more.length });
  });

  it('with 10% loss on the bridge a 3 MiB fetch completes, with retransmissions counted', async () => {
    const table = `gtneth_loss_${process.pid}`;
    await applyFaults(lan.sw, table, { lossPercent: 10, partition: [] });
    try {
      expect((await listTables(lan.sw)).join('\n')).toContain(table);
      const before = await b.request<Counters>('counters');
      const r = await b.request<FetchResult>('fetch', { hash: gitHash(lossy) });
      expect(r).toMatchObject({ fetched: true, size: lossy.length, holder: 1 });
      expect(r.retransmits).toBeGreaterThan(0);
      const after = await b.request<Counters>('counters');
      expect(after.retransmits - before.retransmits).toBe(r.retransmits);
    } finally {
      await clearFaults(lan.sw, table);
    }
    const img = openImage(imgB, { readOnly: true });
    try {
      expect(img.readObject(gitHash(lossy)).data.equals(lossy)).toBe(true);
    } finally {
      img.close();
    }
  }, 120_000);
});
