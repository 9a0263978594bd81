// `npm run bench -- host-fetch [--runs 3] [--mib 16]`: two host peers (cluster/peer) in network
// namespaces on a bridge; peer 2 fetches a blob from peer 1 by hash (GTP: WHO_HAS, GET windows,
// DATA chunks, SHA-1, GitFS store) against a raw UDP send loop of the same bytes in 1400-byte
// datagrams between the same two namespaces in the same run. Prints MiB/s and the ratio.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { GitFSStore } from '../cluster/peer/store.ts';
import type { FetchResult } from '../cluster/peer/node.ts';
import { createImage } from '../gitfs/image.ts';
import { hashObject } from '../gitfs/objects.ts';
import { PeerLan } from '../test/helpers/peer-net.ts';
import { median, round } from './stats.ts';

const RECEIVER = `const s = require('node:dgram').createSocket('udp4'); const want = Number(process.argv[1]); let got = 0, t0 = 0;
  s.on('message', (m) => { if (!t0) t0 = performance.now(); got += m.length; if (got >= want) { console.log(JSON.stringify({ got, ms: performance.now() - t0 })); process.exit(0); } });
  s.bind(7185, () => { s.setRecvBufferSize(1 << 24); console.log('ready'); });
  setTimeout(() => { console.log(JSON.stringify({ got, ms: performance.now() - t0 })); process.exit(0); }, 20000);`;
const SENDER = `const s = require('node:dgram').createSocket('udp4'); const n = Number(process.argv[1]); const b = Buffer.alloc(1400, 7); let i = 0;
  const next = () => { if (i >= n) return s.close(); i++; s.send(b, 7185, process.argv[2], next); }; next();`;

export default async function hostFetch(args: string[]): Promise<void> {
  const flag = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    const v = i >= 0 ? Number(args[i + 1]) : dflt;
    return Number.isInteger(v) && v > 0 ? v : dflt;
  };
  const runs = flag('--runs', 3);
  const mib = flag('--mib', 16);
  const tmp = mkdtempSync(join(tmpdir(), 'gtneth-bench-'));
  const lan = new PeerLan('bench');
  try {
    const key = join(tmp, 'key');
    writeFileSync(key, randomBytes(32));
    const blobs = Array.from({ length: runs }, () => randomBytes(mib << 20));
    createImage(join(tmp, 'a.img'), { sizeBytes: (mib * runs + 32) << 20 }).close();
    createImage(join(tmp, 'b.img'), { sizeBytes: (mib * runs + 32) << 20 }).close();
    const s = GitFSStore.open(join(tmp, 'a.img'));
    for (const b of blobs) s.put(hashObject('blob', b), 3, b);
    s.close();
    await lan.create();
    await lan.peer(1, join(tmp, 'a.img'), { keyFile: key });
    const b = await lan.peer(2, join(tmp, 'b.img'), { keyFile: key });
    const nsA = `gtneth-${process.pid}-bench-1`;
    const nsB = `gtneth-${process.pid}-bench-2`;
    const fetchRate: number[] = [];
    const rawRate: number[] = [];
    for (let r = 0; r < runs; r++) {
      // the raw loop: as many datagrams as the blob has chunks
      const n = Math.ceil((mib << 20) / 1400);
      const rx = execa('ip', ['netns', 'exec', nsB, process.execPath, '-e', RECEIVER, String(n * 1400)], { buffer: true, reject: false, stdout: 'pipe' });
      await new Promise<void>((res) => rx.stdout!.once('data', () => res()));
      await execa('ip', ['netns', 'exec', nsA, process.execPath, '-e', SENDER, String(n), '10.77.0.2']);
      const out = String((await rx).stdout).trim().split('\n').at(-1)!;
      const { got, ms } = JSON.parse(out) as { got: number; ms: number };
      rawRate.push(got / (1 << 20) / (ms / 1000));
      const f = await b.request<FetchResult>('fetch', { hash: hashObject('blob', blobs[r]!) });
      fetchRate.push(f.size / (1 << 20) / (f.ms / 1000));
      process.stderr.write(`run ${r + 1}: raw ${round(rawRate.at(-1)!, 1)} MiB/s (${round((got / (n * 1400)) * 100, 1)}% delivered), fetch ${round(fetchRate.at(-1)!, 1)} MiB/s (${f.ms} ms, ${f.retransmits} retransmits)\n`);
    }
    const result = { bench: 'host-fetch', mib, runs, fetchMiBs: round(median(fetchRate), 1), rawMiBs: round(median(rawRate), 1), ratio: round(median(fetchRate) / median(rawRate), 3) };
    process.stdout.write(`host peer fetch of ${mib} MiB: ${result.fetchMiBs} MiB/s; raw UDP send loop: ${result.rawMiBs} MiB/s; ratio ${result.ratio}\n`);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await lan.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}
