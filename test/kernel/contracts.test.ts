// Routine headers tell the truth: a test build of the kernel (test/helpers/asm-contracts.ts)
// checks, at every call, that the callee changed no general register outside its header's
// CLOBBERS: and OUT: lines. The kernel boots on the GitFS fixture and runs every shell command
// (errors included); no `contract-violation` event may appear. A second build pretends one
// header is narrower than the code and must be caught, so the check itself is known to work.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../Makefile.ts';
import { bootToReady } from '../../emulator/boot.ts';
import type { KernelEvent } from '../../emulator/events.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { type ContractBuild, renderContractInclude } from '../helpers/asm-contracts.ts';
import { readAsmFiles } from '../helpers/asm-headers.ts';
import { buildGitFSFixture, type GitFSFixture } from '../helpers/gitfs-fixture.ts';
import { tempDir } from '../helpers/tmp.ts';

// kernel/ and lib/ make up the kernel; fault.asm only goes into TEST_FAULT builds
const kernelSources = readAsmFiles(['kernel', 'lib']).filter((f) => f.path !== 'kernel/fault.asm');

async function contractImage(dir: string, contract: ContractBuild): Promise<string> {
  const inc = join(dir, 'contract.inc');
  writeFileSync(inc, contract.text);
  const out = await build({ outDir: join(dir, 'out'), kernelDefines: { CONTRACT_CHECK: inc } });
  return out.image;
}

const violations = (events: readonly KernelEvent[]) =>
  events.filter((e) => e.name === 'contract-violation').map((e) => `${e.fields.routine} changed ${e.fields.reg}`);

describe('routine headers: every CLOBBERS line is true', () => {
  const contract = renderContractInclude(kernelSources);
  let fx: GitFSFixture;
  let vm: Vm | undefined;
  let sh: ShellClient;

  beforeAll(async () => {
    const dir = tempDir('gt-contracts-');
    const image = await contractImage(dir, contract);
    fx = await buildGitFSFixture({ dir, baseImage: image });
    ({ vm } = await bootToReady({ disk: fx.image, accel: 'tcg', snapshot: true }, 60_000));
    sh = new ShellClient(vm);
  }, 180_000);

  afterAll(async () => {
    await vm?.stop(200);
  });

  it('checks the routines the kernel calls', () => {
    // the library and the kernel's own routines are both covered
    for (const name of ['gitfs_find', 'gitfs_read_object', 'gitfs_commit_tree', 'gitfs_parse_hex20', 'fs_first_parent', 'fs_find_prefix', 'serial_putc', 'ata_read', 'sha1_update']) {
      expect(contract.checked.has(name), name).toBe(true);
    }
    expect(contract.checked.size).toBeGreaterThan(60);
  });

  it('boots and runs every command without a header being wrong', async () => {
    const head = fx.data[2]!;
    const file = [...head.files.keys()].filter((p) => !p.includes(' ')).sort()[0]!;
    const dir = file.split('/').slice(0, -1).join('/');
    const first = fx.data[0]!.hash;
    const delta = fx.changedInThird.find((p) => fx.changedInSecond.includes(p) && !p.includes(' '))!;
    const payload = Buffer.from('contract check\n');
    const cmds: Array<{ cmd: string; input?: Buffer; ok: boolean }> = [
      { cmd: 'help', ok: true },
      { cmd: 'ping', ok: true },
      { cmd: 'hash 1000', input: Buffer.alloc(1000, 7), ok: true },
      { cmd: 'ls /', ok: true },
      { cmd: 'ls /data', ok: true },
      { cmd: `ls /data/${dir}`, ok: true },
      { cmd: `ls /data@~1/${dir}`, ok: true },
      { cmd: `ls /data@${first.slice(0, 7)}/`, ok: true },
      { cmd: `ls /feature@data~2/`, ok: true },
      { cmd: `ls /data/${fx.bigDir}`, ok: true },
      { cmd: `ls /mainline`, ok: true },
      { cmd: `cat /data/${file}`, ok: true },
      // edited twice: stored as a delta chain
      { cmd: `cat /data/${delta}`, ok: true },
      { cmd: `sha1 /data/${delta}`, ok: true },
      { cmd: `stat /mainline/data`, ok: true },
      { cmd: 'ls /feature', ok: true },
      { cmd: `stat /data/${file}`, ok: true },
      { cmd: `stat /data/${dir}`, ok: true },
      { cmd: `sha1 /data/${file}`, ok: true },
      { cmd: 'log data', ok: true },
      { cmd: 'log feature 2', ok: true },
      { cmd: `log ${first}`, ok: true },
      { cmd: 'branches', ok: true },
      { cmd: 'rev', ok: true },
      { cmd: 'readraw 128 8', ok: true },
      { cmd: `readfile /data/${file}`, ok: true },
      { cmd: `put /data/contract/check.txt ${payload.length}`, input: payload, ok: true },
      { cmd: 'cat /data/contract/check.txt', ok: true },
      { cmd: 'ls /nope', ok: false },
      { cmd: `cat /data/${dir}`, ok: false },
      { cmd: 'ls /data@zzzz/', ok: false },
      { cmd: `log ${first.slice(0, 4)}x`, ok: false },
      { cmd: 'log', ok: false },
      { cmd: 'put /nope/x 1', input: Buffer.from('x'), ok: false },
      { cmd: 'frobnicate', ok: false },
    ];
    const statuses: string[] = [];
    for (const c of cmds) {
      const r = await sh.run(c.cmd, { input: c.input, timeoutMs: 30_000 });
      statuses.push(`${c.cmd.slice(0, 40)}: ${r.status}${r.error ? ' ' + r.error : ''}`);
      expect(r.status, `${c.cmd} -> ${r.status} ${r.error ?? ''}`).toBe(c.ok ? 'ok' : 'error');
    }
    expect(violations(vm!.events), statuses.join('\n')).toEqual([]);
  }, 300_000);
});

describe('the contract check', () => {
  it('catches a header that claims a register is kept when the code changes it', async () => {
    // gitfs_parse_hex20 advances RDI by 20 (its header says so); the self-test at boot parses
    // the booted commit's tree line with it
    const lying = renderContractInclude(kernelSources, { routine: 'gitfs_parse_hex20', reg: 'RDI' });
    expect(lying.checked.get('gitfs_parse_hex20')).toContain('RDI');
    const image = await contractImage(tempDir('gt-contracts-lie-'), lying);
    const { vm } = await bootToReady({ disk: image, accel: 'tcg', snapshot: true }, 60_000);
    try {
      expect(violations(vm.events)).toEqual(['gitfs_parse_hex20 changed RDI']);
    } finally {
      await vm.stop(200);
    }
  }, 180_000);
});
