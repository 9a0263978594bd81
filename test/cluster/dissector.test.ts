// The Wireshark dissector (cluster/wireshark/gtp.lua) judged by tshark on real captures: two
// host peers on a bridge exchange every message type; tcpdump records the bridge; every GTP
// frame must decode with no malformed packet or expert error, and malformed frames sent on
// purpose must be flagged.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../../cluster/net/sh.ts';
import type { FetchResult } from '../../cluster/peer/node.ts';
import { GitFSStore } from '../../cluster/peer/store.ts';
import { createImage } from '../../gitfs/image.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { PeerLan, type PeerProc } from '../helpers/peer-net.ts';

const LUA = fileURLToPath(new URL('../../cluster/wireshark/gtp.lua', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'gtneth-dissect-'));
const lan = new PeerLan('wsk');
const KEY = join(tmp, 'key');
const big = randomBytes(300_000);
let a: PeerProc;
let b: PeerProc;

function tshark(pcap: string, args: string[]): string {
  return execFileSync('tshark', ['-X', `lua_script:${LUA}`, '-r', pcap, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function capture(file: string): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', lan.sw, 'tcpdump', '--immediate-mode', '-B', '32768', '-i', lan.bridge, '-U', '-w', file, 'udp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    p.on('exit', (c) => reject(new Error(`tcpdump exited ${c}: ${err}`)));
  });
  return p;
}

async function stop(p: ChildProcess): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGINT');
  await done;
}

/** Sends raw datagrams from the bridge's own address (10.77.255.254) to node 1 or the group. */
async function sendRaw(frames: Buffer[], to = '10.77.0.1'): Promise<void> {
  const script = `const s = require('node:dgram').createSocket('udp4'); const f = JSON.parse(process.argv[1]).map((h) => Buffer.from(h, 'hex'));
    s.bind(0, () => { s.setMulticastInterface('10.77.255.254');
    let i = 0; const next = () => { if (i >= f.length) return setTimeout(() => s.close(), 300); s.send(f[i++], 7184, process.argv[2], next); }; next(); });`;
  await sh(process.execPath, ['-e', script, JSON.stringify(frames.map((x) => x.toString('hex'))), to], { ns: lan.sw });
}

function header(type: number, flags: number, len: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16LE(0x5447, 0);
  h[2] = 1;
  h[3] = type;
  h.writeUInt16LE(flags, 4);
  h.writeUInt16LE(len, 6);
  h.writeUInt32LE(65534, 8);
  h.writeUInt32LE(1, 12);
  h.writeUInt32LE(1, 16);
  return h;
}

beforeAll(async () => {
  writeFileSync(KEY, randomBytes(32));
  const imgA = join(tmp, 'a.img');
  const imgB = join(tmp, 'b.img');
  createImage(imgA, { sizeBytes: 32 << 20 }).close();
  createImage(imgB, { sizeBytes: 32 << 20 }).close();
  const s = GitFSStore.open(imgA);
  s.put(hashObject('blob', big), 3, big);
  s.put(hashObject('blob', Buffer.alloc(0)), 3, Buffer.alloc(0));
  s.close();
  await lan.create();
  await sh('ip', ['-n', lan.sw, 'addr', 'add', '10.77.255.254/16', 'dev', lan.bridge]);
}, 60_000);

afterAll(async () => {
  await lan.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

describe('tshark decodes GTP with the Lua dissector', () => {
  it('every message type between two host peers, no malformed frame', async () => {
    const pcap = join(tmp, 'peers.pcap');
    const cap = await capture(pcap);
    a = await lan.peer(1, join(tmp, 'a.img'), { keyFile: KEY, announceMs: 300 });
    b = await lan.peer(2, join(tmp, 'b.img'), { keyFile: KEY, announceMs: 300 });
    await new Promise((r) => setTimeout(r, 700)); // ANNOUNCEs
    expect(await b.request<FetchResult>('fetch', { hash: hashObject('blob', big) })).toMatchObject({ fetched: true }); // WHO_HAS, I_HAVE, GET, DATA, HAVE
    expect(await b.request<FetchResult>('fetch', { hash: hashObject('blob', Buffer.alloc(0)) })).toMatchObject({ fetched: true, size: 0 });
    const tree = (await a.request<{ hash: string }>('put', { data: Buffer.concat([Buffer.from('100644 f\0'), Buffer.from(hashObject('blob', big), 'hex')]).toString('base64'), otype: 2 })).hash;
    expect(await a.request<{ status: number }>('commit-on', { node: 2, tree, branch: 'main', message: 'dissected' })).toMatchObject({ status: 0 }); // CONTROL COMMIT / COMMITTED
    const get = Buffer.concat([header(4, 0, 36), randomBytes(20), Buffer.alloc(16)]);
    get.writeUInt32LE(1, 48); // length 1
    await sendRaw([get]); // NOT_HERE back
    await stop(cap);

    const lines = tshark(pcap, ['-Y', 'udp.port == 7184', '-T', 'fields', '-e', 'frame.number', '-e', 'gittorrent.type', '-e', 'gittorrent.op']).trim().split('\n');
    expect(lines.length).toBeGreaterThan(200);
    const undecoded = lines.filter((l) => !/^\d+\t\d+/.test(l));
    expect(undecoded).toEqual([]);
    const types = new Set(lines.map((l) => Number(l.split('\t')[1])));
    expect([...types].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const ops = new Set(lines.map((l) => l.split('\t')[2]).filter(Boolean));
    expect([...ops].sort()).toEqual(['1', '2']);
    const malformed = tshark(pcap, ['-Y', '_ws.malformed || _ws.expert.severity == error']).trim();
    expect(malformed).toBe('');
    // the fields decode to what was sent
    const sizes = tshark(pcap, ['-Y', 'gittorrent.type == 3', '-T', 'fields', '-e', 'gittorrent.size']).trim().split('\n');
    expect(sizes).toContain(String(big.length));
    expect(readFileSync(pcap).length).toBeGreaterThan(big.length);
  }, 120_000);

  it('flags malformed frames', async () => {
    const pcap = join(tmp, 'bad.pcap');
    const cap = await capture(pcap);
    const who = Buffer.concat([header(2, 0, 24), randomBytes(24)]);
    const frames = [
      header(2, 0, 24).subarray(0, 12), // short
      Buffer.concat([header(2, 0, 30), randomBytes(24)]), // length
      Buffer.concat([header(9, 0, 4), randomBytes(4)]), // type
      Buffer.concat([header(4, 0, 24), randomBytes(24)]), // size
      Buffer.concat([header(8, 0, 4), Buffer.from([3, 0, 0, 0])]), // CONTROL without AUTH
      Buffer.concat([header(5, 0, 58), randomBytes(20), Buffer.alloc(4), Buffer.from('0500000000000000', 'hex'), Buffer.from('0a00000000000000', 'hex'), Buffer.alloc(4), Buffer.from([3, 0, 0, 0]), randomBytes(10)]), // misaligned DATA
    ];
    await sendRaw([...frames, who], '239.192.71.84');
    await stop(cap);
    const all = tshark(pcap, ['-Y', 'gittorrent && ip.src == 10.77.255.254', '-T', 'fields', '-e', 'frame.number']).trim().split('\n');
    expect(all).toHaveLength(frames.length + 1);
    const flagged = tshark(pcap, ['-Y', 'gittorrent.malformed && ip.src == 10.77.255.254', '-T', 'fields', '-e', 'frame.number']).trim().split('\n');
    expect(flagged).toHaveLength(frames.length); // every bad one, not the good WHO_HAS
  }, 60_000);
});
