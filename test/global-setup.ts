// Runs once per `vitest run`, before any test file: every run gets its own empty
// XDG_CACHE_HOME (inherited by the workers and every CLI they spawn), so no test passes
// because of a cache (the accelerator probe's verdict) that another run left; removed at the end.
// It also brings the compiled CLI (dist/) up to date once, so that the tests' CLI runs use it
// rather than each compiling it on first use.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  const cache = mkdtempSync(join(tmpdir(), 'gt-test-cache-'));
  process.env.XDG_CACHE_HOME = cache;
  execFileSync('node', [fileURLToPath(new URL('../bin/cli-bundle.js', import.meta.url))], { stdio: 'inherit' });
  return () => rmSync(cache, { recursive: true, force: true });
}
