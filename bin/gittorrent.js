#!/usr/bin/env node
// Entry point: runs the CLI compiled to dist/ (bin/cli-bundle.js), rebuilding that first when a
// source changed since (about 0.1 s); runs the TypeScript through tsx only when it cannot be
// built (no esbuild, an unwritable folder).
import { freshEntry } from './cli-bundle.js';

const entry = await freshEntry();
let main;
if (entry) {
  process.setSourceMapsEnabled(true); // stacks of internal errors show the TypeScript sources
  ({ main } = await import(entry));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv);
