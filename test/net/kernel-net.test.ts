// The kernel's network stack on a real network: two VMs with e1000 NICs on a Linux bridge in a
// private namespace. Judges: Linux's own ping (ARP + ICMP echo from a client no one here
// wrote), the kernel's counters after a flood of malformed frames sent from a raw socket, and
// a boot without a NIC that behaves as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, copyFileSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { openImage } from '../../gitfs/image.ts';
import { POLICY_REF, rankNodes } from '../../cluster/placement.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { CLUSTER_KEY_FW_CFG, nodeMac } from '../../emulator/qemu-args.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { NetNs } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';
import { takeClusterSlot } from '../helpers/cluster-slot.ts';

const RAWSEND = join(import.meta.dirname, '..', 'helpers', 'rawsend.py');
const FAKEHOLDER = join(import.meta.dirname, '..', 'helpers', 'fakeholder.py');
const HOSTCOMMIT = join(import.meta.dirname, '..', 'helpers', 'hostcommit.py');
const HOSTCONTROL = join(import.meta.dirname, '..', 'helpers', 'hostcontrol.py');

interface Node {
  n: number;
  ip: string;
  mac: string;
  vm: Vm;
  sh: ShellClient;
  /** The kernel commit it booted (EVENT ready commit=). */
  commit: string;
  bootEvents: Array<{ name: string; fields: Record<string, string> }>;
}

let out: BuildOutputs;
let dir: string;
let ns: NetNs;
let keyFile: string;
const nodes: Node[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const blobId = (b: Buffer) => sha1(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]));

/** The images' placement rules: a blob of `data` (and of its forks, `data-fork-*`: both nodes commit a `data` of their own) is kept on ONE node, its first in HRW. This file
 *  tests fetches a test asks for, so its blobs are drawn with node 1 first: node 2's placement
 *  loop never fetches them in the background (which would move the counters compared here). */
const POLICY = 'kernel all\ndata* copies=1\n* copies=3\n';
function randomOnNode1(size: number): Buffer<ArrayBuffer> {
  let data = randomBytes(size);
  while (rankNodes(blobId(data), [1, 2])[0] !== 1) data = randomBytes(size);
  return data;
}

/** Blobs whose log record on node 1's disk has one content byte flipped (after the commit). */
const corrupt = [randomOnNode1(100_000), randomOnNode1(30_000)].map((data) => ({ data, hash: '' }));

/** Runs a faulty holder (test/helpers/fakeholder.py) in the namespace around fn. */
/** What the fake holder counted: GETs, DATA frames sent, GETs served wrongly, WHO_HAS heard. */
interface FakeStats {
  gets: number;
  data: number;
  faults: number;
  whohas: number;
}

async function withFakeHolder(mode: string, content: Buffer, hash: string, fn: () => Promise<void>): Promise<FakeStats> {
  const file = join(dir, `fake-${mode}.bin`);
  writeFileSync(file, content);
  const p = ns.exec('python3', [FAKEHOLDER, mode, file, hash, '4'], { timeoutMs: 60_000 });
  await new Promise<void>((resolve, reject) => {
    p.stderr?.on('data', (d: Buffer) => {
      if (String(d).includes('ready')) resolve();
    });
    void p.then((r) => reject(new Error(`fake holder ended early: ${String(r.stderr)}`)));
  });
  await sleep(100); // its HAVE is in
  await fn();
  const r = await p;
  return JSON.parse(String(r.stdout)) as FakeStats;
}

async function netStats(node: Node): Promise<Record<string, string>> {
  const r = await node.sh.run('net');
  expect(r.status, r.error).toBe('ok');
  const ev = r.events.find((e) => e.name === 'net');
  expect(ev).toBeDefined();
  return ev!.fields;
}

let releaseSlot: (() => void) | undefined;

beforeAll(async () => {
  dir = tempDir();
  out = await build({ outDir: join(dir, 'out') });
  releaseSlot = await takeClusterSlot(); // one networked cluster at a time (helpers/cluster-slot.ts)
  ns = await NetNs.create('net', 3);
  const key = join(dir, 'cluster.key');
  keyFile = key;
  writeFileSync(key, randomBytes(32));
  await Promise.all(
    [1, 2].map(async (n) => {
      const disk = join(dir, `node${n}.img`);
      copyFileSync(out.image, disk);
      const img = openImage(disk); // a branch for the tests to write to
      const files = [{ path: 'README', data: Buffer.from(`node ${n}\n`) }];
      if (n === 1) corrupt.forEach((c, i) => files.push({ path: `corrupt${i}.bin`, data: c.data }));
      img.commitTree('data', files, { message: 'seed' });
      img.setRef(POLICY_REF, img.putObject('blob', Buffer.from(POLICY)).hash, { kind: 'symbolic' });
      const spots = n === 1 ? corrupt.map((c) => ((c.hash = blobId(c.data)), img.locateRaw(c.hash))) : [];
      img.close();
      for (const at of spots) {
        // one byte in the middle of the stored content: the record header stays right
        const fd = openSync(disk, 'r+');
        const pos = at.lba * 512 + at.offset + Math.floor(at.size / 2);
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, pos);
        b[0] ^= 0x5a;
        writeSync(fd, b, 0, 1, pos);
        closeSync(fd);
      }
      const mac = nodeMac(n);
      const { vm, result } = await bootToReady(
        { disk, accel: 'tcg', netns: ns.name, nic: { tap: ns.taps[n - 1], mac }, fwCfg: [{ name: CLUSTER_KEY_FW_CFG, file: key }] },
        90_000,
      );
      nodes.push({ n, ip: `10.77.0.${n}`, mac, vm, sh: new ShellClient(vm), commit: result.commit, bootEvents: result.events });
    }),
  );
  nodes.sort((a, b) => a.n - b.n);
}, 1_200_000);

afterAll(async () => {
  await Promise.all(nodes.map((x) => x.vm.stop(1000)));
  await ns?.destroy();
  releaseSlot?.();
});

describe('kernel network', () => {
  it('brings the e1000 up with the identity its MAC gives', () => {
    for (const node of nodes) {
      const ev = node.bootEvents.find((e) => e.name === 'net');
      expect(ev?.fields).toMatchObject({ mac: node.mac, ip: node.ip, node: String(node.n), link: 'up' });
      // the NIC comes up before the disk, so its 1 s receive delay overlaps the boot
      const names = node.bootEvents.map((e) => e.name);
      expect(names.indexOf('net')).toBeLessThan(names.indexOf('ready'));
      // RCTL is written before the disk and GitFS come up (ms since reset on the same clock)
      const ready = node.bootEvents.find((e) => e.name === 'ready')!.fields;
      expect(Number(ev!.fields.rctl_ms)).toBeGreaterThan(0);
      expect(Number(ev!.fields.rctl_ms)).toBeLessThanOrEqual(Number(ready.ms));
    }
  });

  it('answers Linux ping (ARP and ICMP echo), small and full-size', async () => {
    for (const node of nodes) {
      const before = Number((await netStats(node)).icmp_echo);
      const r = await ns.exec('ping', ['-c', '3', '-W', '5', node.ip]);
      expect(r.exitCode, String(r.stdout)).toBe(0);
      expect(String(r.stdout)).toMatch(/3 packets transmitted, 3 received/);
      const big = await ns.exec('ping', ['-c', '2', '-W', '5', '-s', '1472', '-M', 'do', node.ip]);
      expect(big.exitCode, String(big.stdout)).toBe(0);
      const after = await netStats(node);
      expect(Number(after.icmp_echo) - before).toBe(5);
      // the first frame was heard after the RCTL write, and each frame woke the CPU (RXT0)
      expect(Number(after.first_rx_ms)).toBeGreaterThan(Number(after.rctl_ms));
      expect(Number(after.nic_irqs)).toBeGreaterThan(0);
      expect(Number(after.arp_rx)).toBeGreaterThan(0);
      expect(Number(after.tx)).toBeGreaterThanOrEqual(5);
    }
    // the namespace learned the MACs from the kernel's ARP replies
    const neigh = String((await ns.exec('ip', ['neigh', 'show', 'dev', 'br0'])).stdout);
    for (const node of nodes) expect(neigh).toContain(`${node.ip} lladdr ${node.mac}`);
  });

  it('drops and counts malformed frames by reason and keeps answering', async () => {
    const node = nodes[0];
    const before = await netStats(node);
    const r = await ns.exec('python3', [RAWSEND, 'br0', node.mac, node.ip, String(node.n), '11000', '7'], { timeoutMs: 120_000 });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const sent = JSON.parse(String(r.stdout)) as { reasons: Record<string, number>; total: number };
    // the node still answers, and has seen every frame by now
    const ping = await ns.exec('ping', ['-c', '2', '-W', '5', node.ip]);
    expect(ping.exitCode).toBe(0);
    const after = await netStats(node);
    const delta = (k: string) => Number(after[k]) - Number(before[k]);
    for (const [reason, n] of Object.entries(sent.reasons)) {
      expect(delta(`drop_${reason}`), `drop_${reason}`).toBeGreaterThanOrEqual(n);
    }
    expect(delta('rx_drop')).toBeGreaterThanOrEqual(sent.total);
    expect(delta('rx')).toBeGreaterThanOrEqual(sent.total);
    expect(Number(after.nic_rx_err)).toBe(0);
    expect((await node.sh.run('rev')).status).toBe('ok');
  }, 180_000);
});

describe('cluster protocol (GTP)', () => {
  it('nodes hear each other through authenticated ANNOUNCEs: peers', async () => {
    for (const node of nodes) {
      const other = nodes.find((x) => x !== node)!;
      const otherRev = (await other.sh.run('rev')).lines[0];
      let peer: Record<string, string> | undefined;
      for (let i = 0; i < 40 && !peer; i++) {
        peer = (await node.sh.run('peers')).events.find((e) => e.name === 'peer' && e.fields.node === String(other.n))?.fields;
        if (!peer) await sleep(250);
      }
      expect(peer).toMatchObject({ ip: other.ip, mac: other.mac, state: 'live', rev: otherRev, kernel: other.commit, version: out.kernelVersion });
      const stats = await netStats(node);
      expect(stats.peers).toBe('1');
      expect(Number(stats.announces_rx)).toBeGreaterThan(0);
    }
  });

  it('a file put on node 1 is found and fetched by hash on node 2, byte for byte', async () => {
    const [a, b] = nodes;
    const data = randomOnNode1(200_000); // 143 chunks, three GET windows
    const put = await a.sh.run(`put /data/net/blob.bin ${data.length}`, { input: data });
    expect(put.status, put.error).toBe('ok');
    const blob = put.events.find((e) => e.name === 'put')!.fields.blob;
    expect(blob).toBe(blobId(data));
    // not held on node 2: unknown, or (once it synced node 1's revision) a referral that a
    // transparent read serves from node 1 without keeping it
    const before = await b.sh.run(`cat ${blob}`);
    if (before.error !== 'not-found') expect(before.data?.equals(data), before.error).toBe(true);

    const wh = await b.sh.run(`whohas ${blob}`);
    expect(wh.status, wh.error).toBe('ok');
    const answers = wh.events.filter((e) => e.name === 'i-have');
    expect(answers.map((e) => e.fields)).toEqual([expect.objectContaining({ node: '1', ip: a.ip, size: String(data.length), type: '3' })]);
    expect(Number(answers[0].fields.us)).toBeGreaterThan(0);

    const f = await b.sh.run(`fetch ${blob}`);
    expect(f.status, f.error).toBe('ok');
    expect(f.events.find((e) => e.name === 'fetch')?.fields).toMatchObject({ hash: blob, size: String(data.length), type: '3', from: '1', chunks: '143' });
    const cat = await b.sh.run(`cat ${blob}`);
    expect(cat.data?.equals(data)).toBe(true);
    expect((await b.sh.run(`sha1 ${blob}`)).lines).toEqual([sha1(data)]);
    expect((await b.sh.run(`stat ${blob}`)).lines).toEqual([`100644 blob ${data.length} ${blob}`]);
    expect((await b.sh.run(`fetch ${blob}`)).events.find((e) => e.name === 'fetch')?.fields.from).toBe('local');
    // node 2 now serves it too: node 1 hears it answer
    const back = await a.sh.run(`whohas ${blob}`);
    expect(back.events.filter((e) => e.name === 'i-have').map((e) => e.fields.node)).toEqual(['2']);
    expect(Number((await netStats(a)).data_tx)).toBeGreaterThanOrEqual(143);
  }, 120_000);

  it('an object no node holds: fetch says timeout; a malformed hash: usage', async () => {
    const b = nodes[1];
    const r = await b.sh.run(`fetch ${'ab'.repeat(20)}`);
    expect(r.error).toBe('timeout');
    expect((await b.sh.run('fetch 1234')).error).toBe('usage');
    expect((await b.sh.run(`whohas ${'cd'.repeat(20)}`)).events.find((e) => e.name === 'whohas')?.fields).toMatchObject({ holders: '0', tries: '3' });
  });

  it('a corrupt chunk is refused (bad_chunk) and fetched again; a lost chunk is re-requested', async () => {
    const b = nodes[1];
    for (const mode of ['corrupt', 'drop']) {
      const data = randomBytes(30_000); // 22 chunks; the faulty holder is the only one
      const hash = blobId(data);
      const before = await netStats(b);
      const stats = await withFakeHolder(mode, data, hash, async () => {
        const f = await b.sh.run(`fetch ${hash}`);
        expect(f.status, `${mode}: ${f.error}`).toBe('ok');
        const ev = f.events.find((e) => e.name === 'fetch')!.fields;
        expect(ev.from).toBe('65533');
        expect(Number(ev.retransmits)).toBeGreaterThan(0);
        expect((await b.sh.run(`cat ${hash}`)).data?.equals(data)).toBe(true);
      });
      const after = await netStats(b);
      expect(stats.faults).toBeGreaterThan(0);
      if (mode === 'corrupt') expect(Number(after.bad_chunk) - Number(before.bad_chunk)).toBe(stats.faults);
      expect(Number(after.retransmits) - Number(before.retransmits)).toBeGreaterThan(0);
      expect(Number(after.bad_object)).toBe(Number(before.bad_object));
    }
  }, 120_000);

  it('a holder that serves the wrong object or says NOT_HERE is passed over for the next one', async () => {
    const [a, b] = nodes;
    for (const mode of ['bad-object', 'not-here']) {
      const data = randomOnNode1(20_000);
      const put = await a.sh.run(`put /data/net/${mode}.bin ${data.length}`, { input: data });
      const hash = put.events.find((e) => e.name === 'put')!.fields.blob;
      const before = await netStats(b);
      await withFakeHolder(mode, data, hash, async () => {
        // the cache now lists the faulty holder (its HAVE) before node 1 (its I_HAVE)
        const wh = await b.sh.run(`whohas ${hash}`);
        expect(wh.events.filter((e) => e.name === 'i-have').map((e) => e.fields.node)).toContain('1');
        const f = await b.sh.run(`fetch ${hash}`);
        expect(f.status, `${mode}: ${f.error}`).toBe('ok');
        expect(f.events.find((e) => e.name === 'fetch')?.fields.from).toBe('1');
      });
      const after = await netStats(b);
      expect(Number(after.bad_object) - Number(before.bad_object)).toBe(mode === 'bad-object' ? 1 : 0);
      expect((await b.sh.run(`sha1 ${hash}`)).lines).toEqual([sha1(data)]);
    }
  }, 120_000);

  it('a holder whose stored record is corrupt: bad_object at the fetcher, which takes the next holder', async () => {
    const b = nodes[1];
    const [bad, only] = corrupt;
    const before = await netStats(b);
    // node 1 offers it (it serves from the record and never reads the whole object)
    const wh = await b.sh.run(`whohas ${bad.hash}`);
    expect(wh.events.filter((e) => e.name === 'i-have').map((e) => e.fields.node)).toEqual(['1']);
    await withFakeHolder('honest', bad.data, bad.hash, async () => {
      const f = await b.sh.run(`fetch ${bad.hash}`);
      expect(f.status, f.error).toBe('ok');
      expect(f.events.find((e) => e.name === 'fetch')?.fields.from).toBe('65533');
    });
    expect(Number((await netStats(b)).bad_object) - Number(before.bad_object)).toBe(1);
    expect((await b.sh.run(`cat ${bad.hash}`)).data?.equals(bad.data)).toBe(true);
    // with the corrupt holder alone: a clear error, nothing stored
    const f = await b.sh.run(`fetch ${only.hash}`);
    expect(f.error).toBe('bad-object');
    // found by a WHO_HAS of its own, so it is not asked again: one more bad object
    expect(Number((await netStats(b)).bad_object) - Number(before.bad_object)).toBe(2);
    // nothing stored; node 2 may know it as a referral (it synced node 1's revision, whose tree
    // names it): a transparent read finds no holder whose bytes hash right either
    expect(['not-found', 'referral-only']).toContain((await b.sh.run(`cat ${only.hash}`)).error);
  }, 120_000);

  it('the only holder, silent mid-fetch, is asked again after a fresh WHO_HAS: the fetch completes', async () => {
    const b = nodes[1];
    const data = randomBytes(200_000); // only the stalling holder has it, and no cache lists it
    const hash = blobId(data);
    // it stops answering GETs after 10 chunks, until the fetcher asks the group again
    const stats = await withFakeHolder('stall', data, hash, async () => {
      const f = await b.sh.run(`fetch ${hash}`);
      expect(f.status, f.error).toBe('ok');
      expect(f.events.find((e) => e.name === 'fetch')?.fields.from).toBe('65533');
    });
    expect(stats.faults).toBeGreaterThanOrEqual(5); // the GETs of its 5 silent tries went unanswered
    expect(stats.whohas).toBeGreaterThanOrEqual(2); // the fetch's own WHO_HAS, then the new one
    expect((await b.sh.run(`sha1 ${hash}`)).lines).toEqual([sha1(data)]);
  }, 60_000);

  it('when every holder fails, fetch asks again, then says no-holder', async () => {
    const b = nodes[1];
    const data = randomBytes(5000); // only the faulty holder has it
    const hash = blobId(data);
    const stats = await withFakeHolder('not-here', data, hash, async () => {
      const f = await b.sh.run(`fetch ${hash}`);
      expect(f.error).toBe('no-holder');
    });
    expect(stats.gets).toBe(2); // the cached holder, then the same one again after a new WHO_HAS
    expect((await b.sh.run(`cat ${hash}`)).error).toBe('not-found');
  }, 60_000);

  it('CONTROL COMMIT from a host peer: the node fetches the tree over the network and commits it', async () => {
    const b = nodes[1];
    // the branch's head before (node 2 may have moved it by syncing node 1's revision)
    const head = (await b.sh.run('log data 1')).lines[0]!;
    const repeats = Number((await netStats(b)).commit_repeats);
    // the COMMIT goes twice (the second as a resend after a lost COMMITTED would): one commit,
    // answered twice
    const r = await ns.exec('python3', [HOSTCOMMIT, keyFile, b.ip, 'data', 'delivered over GTP', '30', 'repeat'], { timeoutMs: 60_000 });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const res = JSON.parse(String(r.stdout)) as { tree: string; files: Record<string, string>; commit: string | null; status: number | null; again?: { commit: string; status: number } };
    expect(res.status).toBe(0);
    expect(res.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(res.again).toEqual({ commit: res.commit, status: 0 });
    expect(Number((await netStats(b)).commit_repeats)).toBe(repeats + 1);
    const log = await b.sh.run('log data 2');
    expect(log.lines[0]).toBe(`${res.commit}\tdelivered over GTP`);
    expect(log.lines[1]).toBe(head); // the parent: the branch's old head
    for (const [path, hex] of Object.entries(res.files)) {
      const cat = await b.sh.run(`cat /data/${path}`);
      expect(cat.status, `${path}: ${cat.error}`).toBe('ok');
      expect(cat.data?.toString('hex') ?? '').toBe(hex);
    }
    const ev = b.vm.events.filter((e) => e.name === 'control').at(-1);
    expect(ev?.fields).toMatchObject({ op: 'commit', branch: 'data', status: '0', commit: res.commit, fetched: '5', from: '65534' });
    // a COMMIT without a valid HMAC changes nothing
    const before = await netStats(b);
    const bad = await ns.exec('python3', [HOSTCOMMIT, join(dir, 'out', 'kernel.bin'), b.ip, 'data', 'forged', '2'], { timeoutMs: 30_000 });
    expect(JSON.parse(String(bad.stdout)).status).toBeNull();
    expect(Number((await netStats(b)).drop_auth)).toBeGreaterThan(Number(before.drop_auth));
    expect((await b.sh.run('log data 1')).lines[0]).toBe(`${res.commit}\tdelivered over GTP`);
    // a new branch is created, with no parent; a name the store refuses is a malformed request
    const fresh = await ns.exec('python3', [HOSTCOMMIT, keyFile, b.ip, 'fresh/one', 'a new branch', '30'], { timeoutMs: 60_000 });
    const fr = JSON.parse(String(fresh.stdout)) as { commit: string | null; status: number | null };
    expect(fr.status, String(fresh.stderr)).toBe(0);
    const flog = await b.sh.run('log fresh/one 5');
    expect(flog.lines).toEqual([`${fr.commit}\ta new branch`]);
    expect((await b.sh.run('branches')).lines.some((l) => l.includes('fresh/one'))).toBe(true);
    const badName = await ns.exec('python3', [HOSTCOMMIT, keyFile, b.ip, 'bad..name', 'refused', '30'], { timeoutMs: 60_000 });
    expect(JSON.parse(String(badName.stdout)).status).toBe(3);
    expect((await b.sh.run('branches')).lines.some((l) => l.includes('bad..name'))).toBe(false);
  }, 180_000);

  it('a replayed ANNOUNCE (a real frame, sent again) is dropped and counted', async () => {
    const [a, b] = nodes;
    const before = await netStats(a);
    const r = await ns.exec('python3', [RAWSEND, 'replay', 'br0', b.ip, '5'], { timeoutMs: 30_000 });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    await sleep(200);
    const after = await netStats(a);
    expect(Number(after.drop_replay) - Number(before.drop_replay)).toBeGreaterThanOrEqual(5);
    expect(Number(after.replay) - Number(before.replay)).toBeGreaterThanOrEqual(5);
    // the genuine ANNOUNCEs still count: node 2 stays a live peer
    expect((await a.sh.run('peers')).events.find((e) => e.name === 'peer')?.fields.state).toBe('live');
  });
});

describe('CONTROL REBOOT', () => {
  it('a forged one changes nothing; an authenticated one resets the node, which boots again', async () => {
    // its own node (4, on the third tap), allowed to reboot (the others exit on a reset)
    const disk = join(dir, 'reboot.img');
    copyFileSync(out.image, disk);
    const ip = '10.77.0.4';
    const { vm } = await bootToReady(
      { disk, accel: 'tcg', netns: ns.name, nic: { tap: ns.taps[2], mac: nodeMac(4) }, fwCfg: [{ name: CLUSTER_KEY_FW_CFG, file: keyFile }], noReboot: false },
      90_000,
    );
    try {
      const node: Node = { n: 4, ip, mac: nodeMac(4), vm, sh: new ShellClient(vm), commit: '', bootEvents: [] };
      const boots = () => vm.events.filter((e) => e.name === 'ready').length;
      expect(boots()).toBe(1);
      // on the network first: QEMU's e1000 delivers nothing for 1 s after the RCTL write
      let heard = false;
      for (let i = 0; i < 20 && !heard; i++) heard = (await ns.exec('ping', ['-c', '1', '-W', '1', ip])).exitCode === 0;
      expect(heard).toBe(true);
      // node 1 answers node 4's queries (it answers each (asker, qid) once)
      const qdata = randomOnNode1(3000);
      const put = await nodes[0]!.sh.run(`put /data/net/qid.bin ${qdata.length}`, { input: qdata });
      const qhash = put.events.find((e) => e.name === 'put')!.fields.blob;
      const answered = async () => {
        const w = await node.sh.run(`whohas ${qhash}`);
        return w.events.filter((e) => e.name === 'i-have').map((e) => e.fields.node);
      };
      for (let i = 0; i < 3; i++) expect(await answered()).toContain('1');
      const before = await netStats(node);
      const forged = await ns.exec('python3', [HOSTCONTROL, join(dir, 'out', 'kernel.bin'), ip, '3']);
      expect(forged.exitCode, String(forged.stderr)).toBe(0);
      // REBOOT with an argument is malformed: dropped (size)
      expect((await ns.exec('python3', [HOSTCONTROL, keyFile, ip, '3', '00'])).exitCode).toBe(0);
      await sleep(500);
      const mid = await netStats(node);
      expect(Number(mid.drop_auth)).toBeGreaterThan(Number(before.drop_auth));
      expect(Number(mid.drop_size)).toBeGreaterThan(Number(before.drop_size));
      expect(boots()).toBe(1);
      const from = vm.events.length;
      const r = await ns.exec('python3', [HOSTCONTROL, keyFile, ip, '3']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const ev = await vm.waitForEvent((e) => e.name === 'control' && e.fields.op === 'reboot', 30_000, from);
      expect(ev.fields.from).toBe('65532');
      await vm.waitForEvent((e) => e.name === 'ready', 90_000, from);
      expect(boots()).toBe(2);
      // back on the network, with fresh counters
      let ok = false;
      for (let i = 0; i < 20 && !ok; i++) ok = (await ns.exec('ping', ['-c', '1', '-W', '1', ip])).exitCode === 0;
      expect(ok).toBe(true);
      expect(Number((await netStats(node)).drop_size)).toBe(0);
      // a restarted node does not reuse its query ids: node 1 still answers it
      for (let i = 0; i < 3; i++) expect(await answered()).toContain('1');
    } finally {
      await vm.stop(1000);
    }
  }, 240_000);
});

describe('a node without the cluster key', () => {
  it('sends no ANNOUNCE, drops every authenticated frame (auth), and nobody lists it', async () => {
    const disk = join(dir, 'nokey.img');
    copyFileSync(out.image, disk);
    const { vm, result } = await bootToReady({ disk, accel: 'tcg', netns: ns.name, nic: { tap: ns.taps[2], mac: nodeMac(3) } }, 90_000);
    try {
      expect(result.events.find((e) => e.name === 'gtp')?.fields.key).toBe('absent');
      const sh = new ShellClient(vm);
      await sleep(3000); // over an ANNOUNCE period of the others
      const stats = (await sh.run('net')).events.find((e) => e.name === 'net')!.fields;
      expect(stats.announces).toBe('0');
      expect(Number(stats.drop_auth)).toBeGreaterThan(0); // the others' ANNOUNCEs
      expect(stats.peers).toBe('0');
      for (const node of nodes) {
        const peers = (await node.sh.run('peers')).events.filter((e) => e.name === 'peer').map((e) => e.fields.node);
        expect(peers).not.toContain('3');
      }
      // it still answers ping and serves the unauthenticated protocol
      expect((await ns.exec('ping', ['-c', '1', '-W', '5', '10.77.0.3'])).exitCode).toBe(0);
    } finally {
      await vm.stop(1000);
    }
  }, 120_000);

  it('the key never appears on any serial line', () => {
    const hex = readFileSync(keyFile).toString('hex');
    for (const node of nodes) {
      for (const line of node.vm.lines) expect(line.includes(hex.slice(0, 16))).toBe(false);
    }
  });
});

describe('kernel without a NIC', () => {
  it('boots as before: net state=absent, and `net` says there is no network', async () => {
    const disk = join(dir, 'nonic.img');
    copyFileSync(out.image, disk);
    const { vm, result } = await bootToReady({ disk, accel: 'tcg' }, 60_000);
    try {
      expect(result.events.find((e) => e.name === 'net')?.fields).toEqual({ state: 'absent' });
      const r = await new ShellClient(vm).run('net');
      expect(r.status).toBe('error');
      expect(r.error).toBe('no-network');
    } finally {
      await vm.stop(1000);
    }
  }, 90_000);
});
