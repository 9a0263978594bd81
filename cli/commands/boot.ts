import type { Command } from 'commander';

export function registerBoot(program: Command): void {
  program.command('boot').description('(being written)').action(() => {
    throw new Error('not yet');
  });
}
