// Per-process runtime folders for QMP sockets and the like, under the system temp folder.
// Folders left by a process that died (even by SIGKILL) are swept at the next start.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'gittorrent-run-';
let created: string | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes runtime folders whose owning process is gone. */
export function sweepStaleRuntimeDirs(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of entries) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** This process's runtime folder (created on first use, removed when the process exits). */
export function runtimeDir(): string {
  if (created) return created;
  sweepStaleRuntimeDirs();
  created = join(tmpdir(), `${PREFIX}${process.pid}`);
  mkdirSync(created, { recursive: true, mode: 0o700 });
  const dir = created;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return created;
}
