import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // QEMU-booting tests are slow under TCG on 2 cores; run files in parallel but bounded.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // A worker that boots QEMU can take over vitest's default 10 s to stop on a loaded machine;
    // past this vitest logs a "Timeout terminating forks worker" line after CI's closing line
    teardownTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
