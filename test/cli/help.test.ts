// Commands are imported only when used (cli/commands/index.ts): every command's --help still
// works, the top-level help lists them all, and an unknown command gets a suggestion.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';

const COMMANDS = ['build', 'boot', 'demo', 'simulate', 'image', 'iso', 'exec', 'shell'];

describe('help with lazily loaded commands', () => {
  it('the top-level help lists every command; --version needs none', async () => {
    const r = await cli(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    const v = await cli(['--version']);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('every command and image subcommand answers --help (and `help CMD`)', async () => {
    const image = await cli(['image', '--help']);
    const subs = [...image.stdout.matchAll(/^  ([a-z-]+) /gm)].map((m) => m[1]!).filter((s) => s !== 'help');
    expect(subs).toEqual(expect.arrayContaining(['create', 'commit', 'ls', 'merge-iso', 'boot-ref']));
    for (const args of [...COMMANDS.map((c) => [c]), ...subs.map((s) => ['image', s])]) {
      const r = await cli([...args, '--help']);
      expect(r.exitCode, args.join(' ')).toBe(0);
      expect(r.stdout).toContain(`Usage: gittorrent ${args.join(' ')} `);
    }
    expect((await cli(['help', 'boot'])).stdout).toContain('Usage: gittorrent boot [options] <image>');
  });

  it('an unknown command is a usage error with a suggestion', async () => {
    const r = await cli(['bot']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'bot'[\s\S]*Did you mean boot\?/);
  });
});
