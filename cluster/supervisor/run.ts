// The supervisor process's body: reads the cluster's spec, boots its VMs, serves the control
// socket, and stops its VMs on SIGTERM/SIGINT (QEMU also dies with it: --pdeathsig). Started
// detached by `gittorrent cluster up` inside the cluster's namespace as the hidden command
// `gittorrent cluster supervise DIR` (the compiled CLI: no TypeScript compiled at start), or
// `node --import tsx cluster/supervisor/main.ts DIR`. When GITTORRENT_SUPERVISOR_FD names an
// inherited pipe, `up` started it early (its start overlaps the disks and taps being made): it
// then waits for `go` on stdin (the spec is written; end of input: `up` gave up, it exits), and
// writes `listening` to that pipe once the control socket accepts, then closes it: `up` wakes on
// these instead of polling.
import { closeSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { paths, readSpec } from '../runtime.ts';
import { serveControl } from './control.ts';
import { Supervisor } from './supervisor.ts';

export const NOTIFY_FD_ENV = 'GITTORRENT_SUPERVISOR_FD';

function notify(line: string): void {
  const fd = Number(process.env[NOTIFY_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, line + '\n');
    closeSync(fd);
  } catch {
    // `up` is gone (its end of the pipe closed): nobody to tell
  }
}

/** Resolves on a `go` line on stdin; exits quietly at end of input (`up` failed or is gone). */
function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    let said = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      said += d;
      if (!said.includes('go\n')) return;
      process.stdin.removeAllListeners('end');
      process.stdin.pause();
      process.stdin.destroy();
      resolve();
    });
    process.stdin.once('end', () => process.exit(1));
  });
}

export async function runSupervisor(dir: string): Promise<void> {
  const mainAt = Date.now();
  if (process.env[NOTIFY_FD_ENV]) await waitForGo();
  const goAt = Date.now();
  const spec = readSpec(dir);
  if (!spec) throw new Error(`no cluster spec in ${dir}`);
  const p = paths(dir);
  writeFileSync(p.pid, String(process.pid));
  const sup = new Supervisor(spec, { processAt: Math.round(performance.timeOrigin), mainAt, goAt });
  await sup.start();
  const server = serveControl(p.socket, (r) => sup.handle(r));
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  sup.timeline.listeningAt = Date.now();
  notify('listening');
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

/** Runs the supervisor as the process's whole job: a failure is one line and status 1. */
export function supervisorMain(dir: string | undefined): void {
  if (!dir) {
    process.stderr.write('supervisor: usage: gittorrent cluster supervise DIR\n');
    process.exit(2);
  }
  runSupervisor(dir).catch((e: unknown) => {
    process.stderr.write(`supervisor: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
