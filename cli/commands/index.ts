// Every subcommand registers itself here; one module per command (or command group).
import type { Command } from 'commander';
import { registerBuild } from './build.ts';
import { registerBoot } from './boot.ts';
import { registerDemo } from './demo.ts';
import { registerImage } from './image.ts';

export function registerCommands(program: Command): void {
  registerBuild(program);
  registerBoot(program);
  registerDemo(program);
  registerImage(program);
}
