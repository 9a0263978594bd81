// One networked cluster at a time per test run. Ten TCG guests on two cores starve each other
// past their watchdogs (a reset loses a seed's propagation and a node's counters), so the
// files that boot nodes on a network (the 5-node clusters, delta's 3 nodes, kernel-net's 2)
// take this slot around their boot .. teardown; the other files keep running beside them. The slot is a directory in the run's
// own TMPDIR (test/global-setup.ts), made atomically by mkdir; a holder whose process is gone
// (a killed worker) loses it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../cluster/runtime.ts';

const SLOT = join(tmpdir(), 'gt-cluster-slot');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for the slot and takes it; returns the function that gives it back. */
export async function takeClusterSlot(timeoutMs = 900_000): Promise<() => void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(SLOT);
      writeFileSync(join(SLOT, 'pid'), String(process.pid));
      return () => rmSync(SLOT, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(SLOT, 'pid'), 'utf8'));
    } catch {
      // made but its pid not written yet
    }
    if (holder > 0 && !pidAlive(holder)) rmSync(SLOT, { recursive: true, force: true });
    if (Date.now() > end) throw new Error(`no cluster slot in ${timeoutMs} ms (held by pid ${holder})`);
    await sleep(500);
  }
}
