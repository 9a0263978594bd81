// Propagation without VMs: every node's own part of the schedule (cluster/propagate/schedule.ts)
// put together is exactly cluster/broadcast.ts's plan; the manifest codec refuses what does not
// add up; the wire codecs of types 17-22 and CONTROL PROPAGATE round-trip and the Lua
// dissector decodes each of them without an error (tshark, a capture written here).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planBroadcast } from '../../cluster/broadcast.ts';
import { decodeManifest, encodeManifest, makeManifest, manifestId } from '../../cluster/propagate/manifest.ts';
import { nodePlan } from '../../cluster/propagate/schedule.ts';
import { decodeFrame, encodeFrame } from '../../cluster/wire/frame.ts';
import type { Message } from '../../cluster/wire/messages.ts';

const LUA = join(import.meta.dirname, '..', '..', 'cluster', 'wireshark', 'gtp.lua');

describe('each node computes its own part of the round-optimal schedule', () => {
  it('the union of every node pushes is planBroadcast: same transfers, same rounds (N <= 40, several K)', () => {
    for (let n = 2; n <= 40; n++) {
      for (const k of [1, 2, 3, 7, 16, 64]) {
        const want = planBroadcast(n, k).schedule.flatMap((r, t) => r.map((x) => `${t}:${x.from}>${x.to}:${x.piece}`)).sort();
        const got: string[] = [];
        for (let me = 0; me < n; me++) {
          const p = nodePlan(n, k, me);
          expect(p.rounds).toBe(k - 1 + p.q);
          for (const s of p.pushes) got.push(`${s.round}:${me}>${s.to}:${s.piece}`);
          // what a node receives: each piece exactly once
          if (me > 0) expect([...p.receives].filter((x) => x >= 0).sort((a, b) => a - b)).toEqual(Array.from({ length: k }, (_, i) => i));
        }
        expect(got.sort(), `${n} x ${k}`).toEqual(want);
      }
    }
  });
});

describe('the manifest', () => {
  const data = Buffer.alloc(200_000, 3);
  const m = makeManifest([{ hash: 'a'.repeat(40), otype: 3, size: 150_000 }, { hash: 'b'.repeat(40), otype: 3, size: 50_000 }], [1, 2, 3], data);
  it('round-trips; pieces of 64 KiB with their SHA-1s; the id is its SHA-1', () => {
    const b = encodeManifest(m);
    expect(b.length).toBe(28 + 2 * 32 + 3 * 4 + 4 * 20);
    expect(decodeManifest(b)).toEqual({ ok: true, value: m });
    expect(manifestId(b)).toMatch(/^[0-9a-f]{40}$/);
  });
  it('refuses a manifest whose fields do not add up', () => {
    const b = encodeManifest(m);
    const sizes = Buffer.from(b);
    sizes.writeBigUInt64LE(1n, 28 + 24);
    expect(decodeManifest(sizes)).toMatchObject({ ok: false, reason: 'object sizes do not add up to the total' });
    expect(decodeManifest(b.subarray(0, b.length - 1))).toMatchObject({ ok: false });
    const magic = Buffer.from(b);
    magic[0] = 0;
    expect(decodeManifest(magic)).toMatchObject({ ok: false, reason: 'not a version 1 manifest' });
  });
});

describe('wire: types 17-22 and CONTROL PROPAGATE', () => {
  const key = Buffer.alloc(32, 7);
  const id = 'ab'.repeat(20);
  const msgs: Message[] = [
    { type: 'update', id, total: 1500, offset: 1024, age: 5, part: Buffer.alloc(476, 1) },
    { type: 'piece', id, piece: 3, chunk: 46, flags: 1, bytes: Buffer.alloc(1136, 2) },
    { type: 'piece_status', id, piece: 3, missing: 5n },
    { type: 'piece_get', id, piece: 3, missing: (1n << 47n) - 1n },
    { type: 'piece_who', id, qid: 9 },
    { type: 'piece_map', id, pieces: 16, held: 3, bitmap: Buffer.from([7, 0]) },
    { type: 'control', control: { op: 'propagate', flags: 1, hashes: [id, 'cd'.repeat(20)] } },
  ];
  const frames = msgs.map((msg, i) => encodeFrame({ sender: 1, epoch: 1, seq: i + 1, msg }, key));

  it('round-trip; UPDATE carries AUTH; sizes are checked', () => {
    frames.forEach((f, i) => {
      const d = decodeFrame(f);
      expect(d.ok && d.frame.msg).toEqual(msgs[i]);
    });
    expect(frames[0]!.readUInt16LE(4)).toBe(1);
    const short = Buffer.from(frames[2]!.subarray(0, frames[2]!.length - 1));
    short.writeUInt16LE(31, 6);
    expect(decodeFrame(short)).toEqual({ ok: false, reason: 'size' });
  });

  it('the Lua dissector decodes every one of them without an error', () => {
    const recs: Buffer[] = [];
    for (const g of frames) {
      const udp = Buffer.alloc(8);
      udp.writeUInt16BE(7184, 0);
      udp.writeUInt16BE(7184, 2);
      udp.writeUInt16BE(8 + g.length, 4);
      const ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(28 + g.length, 2);
      ip[8] = 64;
      ip[9] = 17;
      Buffer.from([10, 77, 0, 1, 10, 77, 0, 2]).copy(ip, 12);
      const eth = Buffer.alloc(14);
      eth.writeUInt16BE(0x0800, 12);
      const pkt = Buffer.concat([eth, ip, udp, g]);
      const h = Buffer.alloc(16);
      h.writeUInt32LE(pkt.length, 8);
      h.writeUInt32LE(pkt.length, 12);
      recs.push(h, pkt);
    }
    const gh = Buffer.alloc(24);
    gh.writeUInt32LE(0xa1b2c3d4, 0);
    gh.writeUInt16LE(2, 4);
    gh.writeUInt16LE(4, 6);
    gh.writeUInt32LE(65535, 16);
    gh.writeUInt32LE(1, 20);
    const dir = mkdtempSync(join(tmpdir(), 'gtprop-pcap-'));
    try {
      writeFileSync(join(dir, 'p.pcap'), Buffer.concat([gh, ...recs]));
      const out = execFileSync('tshark', ['-X', `lua_script:${LUA}`, '-r', join(dir, 'p.pcap'), '-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      for (const name of ['UPDATE', 'PIECE_STATUS', 'PIECE_GET', 'PIECE_WHO', 'PIECE_MAP', 'PROPAGATE']) expect(out).toContain(name);
      expect(out).not.toMatch(/Malformed|Lua Error/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
