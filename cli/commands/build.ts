import type { Command } from 'commander';

export function registerBuild(program: Command): void {
  program.command('build').description('(being written)').action(() => {
    throw new Error('not yet');
  });
}
