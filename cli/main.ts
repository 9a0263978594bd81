// The `gittorrent` command: commander parses, command modules do the work and return data,
// core/output prints it, and typed user errors become a one-line message and an exit code.
import { Command, CommanderError } from 'commander';
import { isUserError } from '../core/errors.ts';
import { registerCommands } from './commands/index.ts';
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The program with the commands `argv` needs registered (cli/commands/index.ts). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('gittorrent')
    .description('Build, boot and cluster GitFS nodes: a bare-metal x86-64 kernel and its toolchain')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  await registerCommands(program, argv.slice(2));
  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed help, the version, or the usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isUserError(e)) {
      process.stderr.write(`gittorrent: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`gittorrent: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}
