// A host peer as a process: `node --import tsx cluster/peer/main.ts --image F --node N
// [--ip A] [--key-file K] [--announce-ms MS] [--create-mb MB]`, run inside the cluster's
// namespace (`ip netns exec NS ...`). It speaks JSON lines: requests on stdin
// ({"id":1,"cmd":"fetch","hash":"..."}), results ({"id":1,"ok":true,"result":...}) and events
// ({"event":"fetch",...}) on stdout. Commands: fetch, fetch-tree, whohas, peers, counters,
// holders, put, commit-on, quit.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { hashObject, numToType } from '../../gitfs/objects.ts';
import { isNodeNumber, nodeIp } from '../wire/address.ts';
import { isValidKey } from '../wire/hmac.ts';
import { FetchFailed, PeerNode } from './node.ts';
import { GitFSStore } from './store.ts';
import { openUdp } from './udp.ts';

interface Request {
  id?: number;
  cmd?: string;
  hash?: string;
  data?: string;
  otype?: number;
  node?: number;
  tree?: string;
  branch?: string;
  message?: string;
  waitMs?: number;
  base?: string;
}

function out(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      image: { type: 'string' },
      node: { type: 'string' },
      ip: { type: 'string' },
      'key-file': { type: 'string' },
      'announce-ms': { type: 'string', default: '2000' },
      'create-mb': { type: 'string' },
      version: { type: 'string', default: 'host-peer' },
    },
  });
  const node = Number(values.node);
  if (!values.image || !isNodeNumber(node)) throw new Error('usage: main.ts --image FILE --node N [--ip A] [--key-file K]');
  const key = values['key-file'] ? readFileSync(values['key-file']) : undefined;
  if (key && !isValidKey(key)) throw new Error('the key file must hold 16 to 64 bytes');
  const store = GitFSStore.open(values.image, values['create-mb'] ? Number(values['create-mb']) << 20 : undefined);
  const ip = values.ip ?? nodeIp(node);
  let peer: PeerNode | undefined;
  const udp = await openUdp({ ip, onMessage: (b, from) => peer?.receive(b, from), onSendError: () => peer?.countTxError() });
  peer = new PeerNode({ node, key, store, transport: udp, announceMs: Number(values['announce-ms']), version: values.version, onEvent: (e) => out({ event: e.name, ...e.fields }) });
  peer.start();
  out({ ready: true, node, ip, epoch: peer.epoch });

  const rl = createInterface({ input: process.stdin });
  const shutdown = async () => {
    peer!.stop();
    await udp.close();
    store.close();
    process.exit(0);
  };
  rl.on('close', () => void shutdown());
  for await (const line of rl) {
    if (!line.trim()) continue;
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      out({ ok: false, error: 'not JSON' });
      continue;
    }
    const id = req.id;
    const p = peer;
    const run = async (): Promise<unknown> => {
      switch (req.cmd) {
        case 'fetch':
          return p.fetch(String(req.hash), req.base ? { base: String(req.base) } : {});
        case 'fetch-tree':
          return { fetched: await p.fetchTree(String(req.tree)) };
        case 'whohas':
          return p.whoHas(String(req.hash), req.waitMs ?? 300);
        case 'peers':
          return p.peers();
        case 'counters':
          return p.counters;
        case 'holders':
          return p.holders.get(String(req.hash));
        case 'put': {
          const data = Buffer.from(String(req.data ?? ''), 'base64');
          const otype = req.otype ?? 3;
          const hash = hashObject(numToType(otype) ?? 'blob', data);
          store.put(hash, otype, data);
          return { hash };
        }
        case 'commit-on':
          return p.commitOn(Number(req.node), String(req.tree), String(req.branch), String(req.message ?? ''));
        case 'quit':
          setImmediate(() => void shutdown());
          return {};
        default:
          throw new Error(`unknown command ${String(req.cmd)}`);
      }
    };
    run().then(
      (result) => out({ id, ok: true, result }),
      (e: unknown) => out({ id, ok: false, error: e instanceof Error ? e.message : String(e), ...(e instanceof FetchFailed ? { reason: e.reason } : {}) }),
    );
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`host peer: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
