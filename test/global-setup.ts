// Runs once per `vitest run`, before any test file: every run gets its own empty
// XDG_CACHE_HOME (inherited by the workers and every CLI they spawn), so no test passes
// because of a cache (the accelerator probe's verdict) that another run left; removed at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const cache = mkdtempSync(join(tmpdir(), 'gt-test-cache-'));
  process.env.XDG_CACHE_HOME = cache;
  return () => rmSync(cache, { recursive: true, force: true });
}
