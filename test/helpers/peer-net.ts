// A test LAN for host peers: a switch namespace with a bridge (snooping off), and one namespace
// per peer joined to it by a veth pair, each peer a real process (cluster/peer/main.ts) spoken
// to in JSON lines. Names are `gtneth-<pid>-...`; leftovers of dead test processes are swept.
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { addBridge, addNamespace, addVethPort, deleteNamespace, listNamespaces } from '../../cluster/net/netns.ts';
import { nodeIp } from '../../cluster/wire/address.ts';

const MAIN = fileURLToPath(new URL('../../cluster/peer/main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Deletes gtneth-<pid>-* namespaces whose test process is gone. */
export async function sweepTestNamespaces(): Promise<void> {
  for (const ns of await listNamespaces()) {
    const m = /^gtneth-(\d+)-/.exec(ns);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) await deleteNamespace(ns);
  }
}

export class PeerProc {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly events: Array<Record<string, unknown>> = [];
  readonly ready: Promise<Record<string, unknown>>;
  stderr = '';

  constructor(readonly proc: ResultPromise, readonly node: number) {
    let onReady!: (v: Record<string, unknown>) => void;
    this.ready = new Promise((r) => (onReady = r));
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (o.ready) onReady(o);
      else if (typeof o.id === 'number') {
        const p = this.pending.get(o.id);
        this.pending.delete(o.id);
        if (o.ok) p?.resolve(o.result);
        else p?.reject(Object.assign(new Error(String(o.error)), { reason: o.reason }));
      } else if (o.event) this.events.push(o);
    });
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  request<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n');
    });
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }
}

export class PeerLan {
  readonly sw: string;
  readonly bridge = 'br0';
  private readonly namespaces: string[] = [];
  private readonly procs: PeerProc[] = [];

  constructor(readonly tag: string) {
    this.sw = `gtneth-${process.pid}-${tag}-sw`;
  }

  async create(): Promise<void> {
    await sweepTestNamespaces();
    await deleteNamespace(this.sw);
    await addNamespace(this.sw);
    this.namespaces.push(this.sw);
    await addBridge(this.sw, this.bridge);
  }

  /** A namespace for node `n` on the switch, and a peer process in it. */
  async peer(n: number, image: string, opts: { keyFile?: string; announceMs?: number } = {}): Promise<PeerProc> {
    const ns = `gtneth-${process.pid}-${this.tag}-${n}`;
    await deleteNamespace(ns);
    await addNamespace(ns);
    this.namespaces.push(ns);
    await addVethPort(this.sw, this.bridge, `p${n}`, ns, 'eth0', `${nodeIp(n)}/16`);
    const args = ['netns', 'exec', ns, process.execPath, '--import', 'tsx', MAIN, '--image', image, '--node', String(n), '--announce-ms', String(opts.announceMs ?? 500)];
    if (opts.keyFile) args.push('--key-file', opts.keyFile);
    const proc = execa('ip', args, { cwd: REPO, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false });
    const p = new PeerProc(proc, n);
    this.procs.push(p);
    await Promise.race([
      p.ready,
      proc.then(() => {
        throw new Error(`peer ${n} exited: ${p.stderr}`);
      }),
    ]);
    return p;
  }

  async destroy(): Promise<void> {
    for (const p of this.procs) p.kill();
    for (const ns of this.namespaces.reverse()) await deleteNamespace(ns);
  }
}
