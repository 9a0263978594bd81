// scripts/setup.sh: without root and without the Debian packages it names what is missing
// and stops; with everything there it does nothing (and fast).
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('setup script', () => {
  it('as a non-root user without the packages: names them and exits non-zero', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755); // the unprivileged user must reach the tools
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['bash', 'id', 'sha1sum', 'cut', 'cat', 'dirname']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    const r = await execa('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/bash', join(REPO, 'scripts/setup.sh')], {
      env: { PATH: bin },
      extendEnv: false,
      reject: false,
      cwd: '/',
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/missing Debian packages: .*\bnasm\b/);
    expect(r.stderr).toMatch(/qemu-system-x86/);
    expect(r.stderr).toMatch(/sudo apt-get install -y /);
  });

  it('with everything installed it does nothing and says nothing', async () => {
    const r = await execa('bash', [join(REPO, 'scripts/setup.sh')], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
  });
});
