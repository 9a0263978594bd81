// Routine headers tell the truth: a test build of the kernel (test/helpers/asm-contracts.ts)
// checks, at every call, that the callee changed no general register outside its header's
// CLOBBERS: and OUT: lines. The kernel boots on the GitFS fixture and runs every shell command
// (errors included); no `contract-violation` event may appear. A second build pretends one
// header is narrower than the code and must be caught, so the check itself is known to work.
import { copyFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
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
import { CLUSTER_KEY_FW_CFG, nodeMac } from '../../emulator/qemu-args.ts';
import { openImage } from '../../gitfs/image.ts';
import { NetNs } from '../helpers/netns.ts';

// kernel/ and lib/ make up the kernel; fault.asm only goes into TEST_FAULT builds
const kernelSources = readAsmFiles(['kernel', 'lib']).filter((f) => f.path !== 'kernel/fault.asm');

async function contractImage(dir: string, contract: ContractBuild): Promise<string> {
  const inc = join(dir, 'contract.inc');
  writeFileSync(inc, contract.text);
  const out = await build({ outDir: join(dir, 'out'), kernelDefines: { CONTRACT_CHECK: inc } });
  return out.image;
}

// one contract-checked build for both parts below (the build takes a while under TCG load)
const checkedContract = renderContractInclude(kernelSources);
let checkedImage: Promise<string> | undefined;
const contractChecked = () => (checkedImage ??= contractImage(tempDir('gt-contracts-build-'), checkedContract));

const violations = (events: readonly KernelEvent[]) =>
  events.filter((e) => e.name === 'contract-violation').map((e) => `${e.fields.routine} changed ${e.fields.reg}`);

describe('routine headers: every CLOBBERS line is true', () => {
  const contract = checkedContract;
  let fx: GitFSFixture;
  let vm: Vm | undefined;
  let sh: ShellClient;

  beforeAll(async () => {
    const dir = tempDir('gt-contracts-');
    const image = await contractChecked();
    fx = await buildGitFSFixture({ dir, baseImage: image });
    ({ vm } = await bootToReady({ disk: fx.image, accel: 'tcg', snapshot: true }, 60_000));
    sh = new ShellClient(vm);
  }, 600_000);

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
      // bare object hashes (fs_hash.asm) and the network commands of a node without a NIC
      { cmd: `stat ${first}`, ok: false },
      { cmd: `cat ${'ab'.repeat(20)}`, ok: false },
      { cmd: 'net', ok: false },
      { cmd: 'peers', ok: false },
      { cmd: 'placed', ok: true },
      { cmd: `whohas ${first}`, ok: false },
      { cmd: `fetch ${first}`, ok: false },
      { cmd: `fetch ${first} ${first}`, ok: false },
      { cmd: `delta ${first} ${first}`, ok: true },
      { cmd: `delta ${first}`, ok: false },
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

const HOSTCOMMIT = join(import.meta.dirname, '..', 'helpers', 'hostcommit.py');

describe('routine headers of the network stack (two contract-checked nodes on a bridge)', () => {
  const contract = checkedContract;
  let ns: NetNs | undefined;
  let dir: string;
  let keyFile: string;
  const vms: Vm[] = [];
  const shells: ShellClient[] = [];

  beforeAll(async () => {
    dir = tempDir('gt-contracts-net-');
    const image = await contractChecked();
    ns = await NetNs.create('contract', 2);
    keyFile = join(dir, 'cluster.key');
    writeFileSync(keyFile, randomBytes(32));
    for (const n of [1, 2]) {
      const disk = join(dir, `node${n}.img`);
      copyFileSync(image, disk);
      const img = openImage(disk);
      img.commitTree('data', [{ path: 'README', data: Buffer.from(`node ${n}\n`) }], { message: 'seed' });
      img.close();
      const { vm } = await bootToReady(
        { disk, accel: 'tcg', netns: ns.name, nic: { tap: ns.taps[n - 1]!, mac: nodeMac(n) }, fwCfg: [{ name: CLUSTER_KEY_FW_CFG, file: keyFile }] },
        90_000,
      );
      vms.push(vm);
      shells.push(new ShellClient(vm));
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all(vms.map((vm) => vm.stop(500)));
    await ns?.destroy();
  });

  it('checks the network routines', () => {
    for (const name of ['e1000_init', 'e1000_poll', 'net_rx', 'udp_pseudo_sum', 'gtp_hmac', 'gtp_auth_check', 'gtp_fetch_object', 'gtp_control_run']) {
      expect(contract.checked.has(name), name).toBe(true);
    }
  });

  it('bring-up, ping, ANNOUNCE, whohas, fetch, CONTROL COMMIT: no header is wrong', async () => {
    const [a, b] = shells as [ShellClient, ShellClient];
    expect((await ns!.exec('ping', ['-c', '2', '-W', '5', '10.77.0.1'])).exitCode).toBe(0);
    let peers = 0;
    for (let i = 0; i < 40 && peers === 0; i++) {
      peers = (await b.run('peers')).events.filter((e) => e.name === 'peer').length;
      if (peers === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(peers).toBe(1);
    const data = randomBytes(50_000);
    const put = await a.run(`put /data/net/blob.bin ${data.length}`, { input: data });
    expect(put.status, put.error).toBe('ok');
    const blob = put.events.find((e) => e.name === 'put')!.fields.blob!;
    const statuses: string[] = [];
    for (const cmd of ['net', `whohas ${blob}`, `fetch ${blob}`, `cat ${blob}`, `stat ${blob}`, `fetch ${blob}`, `fetch ${'ab'.repeat(20)}`, 'netsend 10.77.0.1 50', 'peers', 'placed']) {
      const r = await b.run(cmd, { timeoutMs: 60_000 });
      statuses.push(`${cmd.slice(0, 40)}: ${r.status}${r.error ? ' ' + r.error : ''}`);
    }
    // a new version moves as a delta (gtp_delta.asm on both sides, lib/delta_enc.asm on a)
    const data2 = Buffer.from(data);
    for (let i = 0; i < 20; i++) randomBytes(32).copy(data2, i * 2400 + 7);
    const put2 = await a.run(`put /data/net/blob.bin ${data2.length}`, { input: data2 });
    expect(put2.status, put2.error).toBe('ok');
    const blob2 = put2.events.find((e) => e.name === 'put')!.fields.blob!;
    const df = await b.run(`fetch ${blob2} ${blob}`, { timeoutMs: 60_000 });
    statuses.push(`fetch ${blob2.slice(0, 8)} ${blob.slice(0, 8)}: ${df.status} ${df.error ?? ''}`);
    expect(df.events.find((e) => e.name === 'fetch')?.fields.delta).toBe('yes');
    statuses.push(`delta: ${(await a.run(`delta ${blob} ${blob2}`, { timeoutMs: 60_000 })).status}`);
    const cat = await b.run(`cat ${blob}`);
    expect(createHash('sha1').update(cat.data ?? Buffer.alloc(0)).digest('hex')).toBe(createHash('sha1').update(data).digest('hex'));
    const commit = await ns!.exec('python3', [HOSTCOMMIT, keyFile, '10.77.0.2', 'data', 'contract check', '60'], { timeoutMs: 90_000 });
    expect(JSON.parse(String(commit.stdout)).status, String(commit.stderr)).toBe(0);
    for (const vm of vms) expect(violations(vm.events), statuses.join('\n')).toEqual([]);
  }, 300_000);
});
