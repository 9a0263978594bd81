// A private network for test VMs: a network namespace with a bridge (multicast snooping off,
// 10.77.255.254/16, as docs/protocol.md's host side) and one tap per node. Needs root. The
// namespace and everything in it go with `destroy()` (deleting a namespace deletes its
// bridge and taps); an exit hook destroys it too if a test run dies on the way.
import { execa, execaSync } from 'execa';

const live = new Set<NetNs>();
let hooked = false;

export const HOST_IP = '10.77.255.254';

export class NetNs {
  private destroyed = false;

  private constructor(
    readonly name: string,
    readonly taps: string[],
  ) {}

  /** Creates `gtnetk-<tag>-<pid>` with a bridge `br0` and taps tap1..tapN. */
  static async create(tag: string, taps: number): Promise<NetNs> {
    const name = `gtnetk-${tag}-${process.pid}`;
    if (!hooked) {
      hooked = true;
      process.on('exit', () => {
        for (const ns of live) ns.destroySync();
      });
    }
    await execa('ip', ['netns', 'del', name], { reject: false }); // a leftover of a dead run
    await execa('ip', ['netns', 'add', name]);
    const ns = new NetNs(name, Array.from({ length: taps }, (_, i) => `tap${i + 1}`));
    live.add(ns);
    try {
      await ns.ip('link', 'set', 'lo', 'up');
      await ns.ip('link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
      for (const tap of ns.taps) {
        await ns.ip('tuntap', 'add', tap, 'mode', 'tap');
        await ns.ip('link', 'set', tap, 'master', 'br0');
        await ns.ip('link', 'set', tap, 'up');
      }
      await ns.ip('addr', 'add', `${HOST_IP}/16`, 'dev', 'br0');
      await ns.ip('link', 'set', 'br0', 'up');
    } catch (e) {
      await ns.destroy();
      throw e;
    }
    return ns;
  }

  private async ip(...args: string[]): Promise<void> {
    await execa('ip', ['-n', this.name, ...args]);
  }

  /** Runs a command inside the namespace. */
  exec(cmd: string, args: string[], opts: { timeoutMs?: number; input?: Buffer } = {}) {
    return execa('ip', ['netns', 'exec', this.name, cmd, ...args], {
      reject: false,
      timeout: opts.timeoutMs ?? 60_000,
      input: opts.input,
    });
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    await execa('ip', ['netns', 'del', this.name], { reject: false });
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    execaSync('ip', ['netns', 'del', this.name], { reject: false }); // 'exit' cannot await
  }
}
