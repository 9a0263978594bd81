// The supervisor process: `node --import tsx cluster/supervisor/main.ts DIR`, started detached
// by `gittorrent cluster up` inside the cluster's namespace. Writes its pid, serves the control
// socket, and stops its VMs on SIGTERM/SIGINT (QEMU also dies with it: --pdeathsig).
import { rmSync, writeFileSync } from 'node:fs';
import { paths, readSpec } from '../runtime.ts';
import { serveControl } from './control.ts';
import { Supervisor } from './supervisor.ts';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: supervisor/main.ts DIR');
  const spec = readSpec(dir);
  if (!spec) throw new Error(`no cluster spec in ${dir}`);
  const p = paths(dir);
  writeFileSync(p.pid, String(process.pid));
  const sup = new Supervisor(spec);
  await sup.start();
  const server = serveControl(p.socket, (r) => sup.handle(r));
  const stop = (code: number) => {
    server.close();
    void sup.shutdown().finally(() => {
      rmSync(p.socket, { force: true });
      process.exit(code);
    });
  };
  process.once('SIGTERM', () => stop(143));
  process.once('SIGINT', () => stop(130));
  process.stderr.write(`supervisor ${process.pid} up: ${spec.nodes.length} nodes\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`supervisor: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
