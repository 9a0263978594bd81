// Every subcommand registers itself here; one module per command (or command group).
import type { Command } from 'commander';
import { registerBuild } from './build.ts';
import { registerBoot } from './boot.ts';
import { registerDemo } from './demo.ts';
import { registerSimulate } from './simulate.ts';
import { registerImage } from './image.ts';
import { registerIso } from './iso.ts';
import { registerExec } from './exec.ts';
import { registerMergeIso } from './merge-iso.ts';
import { registerBootRef } from './boot-ref.ts';
import { registerCluster } from './cluster.ts';

export function registerCommands(program: Command): void {
  registerBuild(program);
  registerBoot(program);
  registerDemo(program);
  registerSimulate(program);
  registerImage(program);
  registerIso(program);
  registerExec(program);
  registerCluster(program);
  const image = program.commands.find((c) => c.name() === 'image')!;
  registerMergeIso(image);
  registerBootRef(image);
}
