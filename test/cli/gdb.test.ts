// gdb works as `boot --gdb` says: the build writes kernel.elf (symbols and line information,
// the same code as kernel.bin) and .gdbinit; gdb in batch mode, run as the hint says, attaches
// to the waiting QEMU and stops at a hardware breakpoint on kernel_entry, and the kernel goes on
// to ready once gdb detaches.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BIN, REPO, cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('debugging with gdb', () => {
  const dir = tempDir();

  it('the build writes kernel.elf with the flat binary\'s code, and .gdbinit', async () => {
    const b = await cli(['build', '--out', join(dir, 'out'), '--json']);
    expect(b.exitCode, b.stderr).toBe(0);
    const r = JSON.parse(b.stdout) as { kernel: string; kernelElf: string; gdbinit: string };
    const text = join(dir, 'text.bin');
    await execa('objcopy', ['-O', 'binary', '-j', '.text', r.kernelElf, text]);
    expect(readFileSync(text).equals(readFileSync(r.kernel))).toBe(true);
    const nm = await execa('nm', [r.kernelElf]);
    expect(nm.stdout).toMatch(/^0000000000100000 T kernel_entry$/m);
    expect(readFileSync(r.gdbinit, 'utf8')).toMatch(/^set architecture i386:x86-64\nfile .*kernel\.elf\ntarget remote 127\.0\.0\.1:\d+$/m);
    const badPort = await cli(['boot', join(dir, 'out', 'node.img'), '--gdb', '70000']);
    expect(badPort.exitCode).toBe(2);
    expect(badPort.stderr).toBe('gittorrent: --gdb takes a TCP port (1-65535), not "70000"'); // one line, no stack
  });

  it('gdb, run as boot --gdb says, stops at kernel_entry; detached, the kernel reaches ready', async () => {
    const image = join(dir, 'out', 'node.img');
    const port = await freePort();
    const boot = execa('node', [BIN, 'boot', image, '--gdb', String(port), '--accel', 'tcg'], { cwd: REPO, reject: false, env: { CI: '1' }, buffer: false });
    let out = '';
    let err = '';
    boot.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    boot.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await until(() => /QEMU waits for gdb: .*\n/.test(err), 30_000, 'the gdb hint');
      const hint = /QEMU waits for gdb: gdb -x (\S+)/.exec(err);
      expect(hint, err).not.toBeNull();
      const gdb = await execa('gdb', ['-nx', '-batch', '-x', hint![1]!, '-ex', 'hbreak kernel_entry', '-ex', 'continue', '-ex', 'info registers rip', '-ex', 'detach'], {
        cwd: REPO,
        reject: false,
        timeout: 120_000,
      });
      expect(gdb.stdout, gdb.stderr).toMatch(/Breakpoint 1, kernel_entry \(\) at .*kernel-asm\/kernel\/main\.asm:\d+/);
      expect(gdb.stdout).toMatch(/^rip\s+0x100000\s+0x100000 <kernel_entry>$/m);
      await until(() => out.includes('EVENT ready'), 60_000, 'EVENT ready after gdb detached');
    } finally {
      boot.kill('SIGTERM');
      await boot;
    }
  });
});
