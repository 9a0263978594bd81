#!/usr/bin/env node
// Entry point: loads the TypeScript CLI through tsx (no separate compile step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
