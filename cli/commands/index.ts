// Every subcommand, one module per command (or command group), imported only when used: a
// start pays for the modules of the command it runs, `--version` for none. `--help`, no
// command or an unknown one loads them all, so help and suggestions list every command.
import type { Command } from 'commander';

type Register = (program: Command) => void;

const loaders = {
  build: async () => (await import('./build.ts')).registerBuild,
  boot: async () => (await import('./boot.ts')).registerBoot,
  demo: async () => (await import('./demo.ts')).registerDemo,
  simulate: async () => (await import('./simulate.ts')).registerSimulate,
  image: async (): Promise<Register> => {
    const [{ registerImage }, { registerMergeIso }, { registerBootRef }] = await Promise.all([
      import('./image.ts'),
      import('./merge-iso.ts'),
      import('./boot-ref.ts'),
    ]);
    return (program) => {
      registerImage(program);
      const image = program.commands.find((c) => c.name() === 'image')!;
      registerMergeIso(image);
      registerBootRef(image);
    };
  },
  iso: async () => (await import('./iso.ts')).registerIso,
  exec: async () => (await import('./exec.ts')).registerExec, // exec and shell
} satisfies Record<string, () => Promise<Register>>;

type Group = keyof typeof loaders;
/** Top-level command name -> the module group that registers it (in help order). */
const GROUP_OF: Record<string, Group> = {
  build: 'build',
  boot: 'boot',
  demo: 'demo',
  simulate: 'simulate',
  image: 'image',
  iso: 'iso',
  exec: 'exec',
  shell: 'exec',
};

/** The groups a command line needs: its command's, none for a bare --version, else all. */
export function groupsFor(args: readonly string[]): Group[] {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  if (name !== undefined && GROUP_OF[name]) return [GROUP_OF[name]];
  if (name === undefined && args.length > 0 && args.every((a) => a === '-V' || a === '--version')) return [];
  return Object.keys(loaders) as Group[];
}

export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const registers = await Promise.all(groupsFor(args).map((g) => loaders[g]()));
  for (const register of registers) register(program);
}
