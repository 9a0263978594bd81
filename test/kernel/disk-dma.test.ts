// The kernel's disk goes by bus-master DMA (PIIX IDE, PRD tables, READ/WRITE DMA EXT): a kernel
// reads a host-written file and writes files of its own through it, and the host's store, its
// fsck and git judge the result. A DMA command that fails (an I/O error injected by QEMU's
// blkdebug at one sector of a file's record, once) makes the driver say so in one EVENT and
// redo the transfer by PIO, and everything after it keeps working by PIO.
import { describe, expect, it, beforeAll } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOutputs } from '../../Makefile.ts';
import { openImage } from '../../gitfs/image.ts';
import { SECTOR_SIZE } from '../../gitfs/layout.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { ShellClient } from '../../emulator/shell-client.ts';
import type { Vm } from '../../emulator/vm.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

let out: BuildOutputs;
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  out = await build({ outDir: join(dir, 'out') });
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function seeded(seed: number, n: number): Buffer {
  let s = seed >>> 0;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

// 3 MiB and an odd tail: a record spanning many 64 KiB PRD entries, not sector-aligned
const BIG = seeded(1, 3 * 1024 * 1024 + 1235);
const PUT = seeded(2, 300_001);

/** A node image with /dma/big.bin (raw); the LBA of its content's middle. */
function image(name: string): { img: string; midLba: number } {
  const img = join(dir, name);
  copyFileSync(out.image, img);
  const h = openImage(img);
  try {
    h.commitTree('dma', [{ path: 'big.bin', data: BIG, raw: true }], { message: 'a file for the DMA reads' });
    const hash = h.lookupPath(h.commitTreeHash(h.readRef('dma')!), 'big.bin')!.hash;
    const loc = h.locateRaw(hash);
    return { img, midLba: loc.lba + Math.floor((loc.offset + BIG.length / 2) / SECTOR_SIZE) };
  } finally {
    h.close();
  }
}

/** The kernel reads the file, writes one, reads its own write back. */
async function readAndWrite(vm: Vm): Promise<void> {
  const sh = new ShellClient(vm);
  expect((await sh.run('sha1 /dma/big.bin', { timeoutMs: 60_000 })).lines).toEqual([sha1(BIG)]);
  const p = await sh.run(`put /dma/put.bin ${PUT.length}`, { input: PUT, timeoutMs: 60_000 });
  expect(p.status, p.error).toBe('ok');
  expect((await sh.run('sha1 /dma/put.bin', { timeoutMs: 60_000 })).lines).toEqual([sha1(PUT)]);
}

/** The host's reader, fsck and git judge what the kernel wrote. */
async function judge(img: string, name: string): Promise<void> {
  const r = openImage(img, { readOnly: true });
  try {
    expect(sha1(r.readFile('dma', 'put.bin'))).toBe(sha1(PUT));
    expect(sha1(r.readFile('dma', 'big.bin'))).toBe(sha1(BIG));
  } finally {
    r.close();
  }
  const fsck = await cli(['image', 'fsck', img]);
  expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
  const git = join(dir, `${name}.git`);
  expect((await cli(['image', 'export', img, git])).exitCode).toBe(0);
  await execa('git', ['-C', git, '-c', 'fsck.fullPathname=ignore', 'fsck', '--no-dangling']);
  const blob = await execa('git', ['-C', git, 'cat-file', 'blob', 'dma:put.bin'], { encoding: 'buffer' });
  expect(sha1(Buffer.from(blob.stdout))).toBe(sha1(PUT));
}

/** Small files, one DMA read each: the serial-input test's reads. */
const SMALL = Array.from({ length: 8 }, (_, i) => seeded(100 + i, 700 + i * 997));

describe('kernel disk DMA', () => {
  it('a disk the host slows down (QEMU throttling: 1 write and 64 KiB a second) under the shortest watchdog (2 s): a put waits its seconds, completes, and the node is not reset', async () => {
    // A host disk busy with other work (a long fdatasync behind the kernel's FLUSH CACHE) can
    // hold one transaction's writes for seconds. The driver feeds the watchdog while it waits,
    // so that is slowness, not a hang: the node keeps its RAM state (a propagation's pins).
    const { img } = image('slow.img');
    const wd = await cli(['image', 'boot-ref', img, 'boot', '--good', '--watchdog-ms', '2000']);
    expect(wd.exitCode, wd.stderr).toBe(0);
    const { vm } = await bootToReady({ disk: img, accel: 'tcg', watchdog: true }, 60_000);
    try {
      const qmp = await vm.qmp();
      const blocks = await qmp.execute<Array<{ device: string; qdev?: string; inserted?: { file: string } }>>('query-block');
      const disk = blocks.find((b) => b.inserted?.file === img)!;
      await qmp.execute('block_set_io_throttle', {
        ...(disk.qdev ? { id: disk.qdev } : { device: disk.device }),
        bps: 0, bps_rd: 0, bps_wr: 65536, iops: 0, iops_rd: 0, iops_wr: 1,
      });
      type Stats = { stats?: { wr_operations: number; wr_bytes: number } };
      const writes = async () => (await qmp.execute<Stats[]>('query-blockstats')).find((d) => d.stats)!.stats!;
      const sh = new ShellClient(vm);
      const before = vm.events.length;
      const w0 = await writes();
      const p = await sh.run(`put /dma/put.bin ${PUT.length}`, { input: PUT, timeoutMs: 90_000 });
      expect(p.status, p.error).toBe('ok');
      // the put's writes outlasted the watchdog's 2 s: at 1 write and 64 KiB a second (the
      // throttle lets the first second's budget through at once) they took over 3 s
      const w1 = await writes();
      console.log(`slow disk: the put made ${w1.wr_operations - w0.wr_operations} writes, ${w1.wr_bytes - w0.wr_bytes} bytes`);
      expect(Math.max(w1.wr_operations - w0.wr_operations - 1, (w1.wr_bytes - w0.wr_bytes) / 65536 - 1)).toBeGreaterThan(3);
      expect((await sh.run('sha1 /dma/put.bin', { timeoutMs: 60_000 })).lines).toEqual([sha1(PUT)]);
      expect(vm.events.slice(before).filter((e) => e.name === 'boot')).toEqual([]);
    } finally {
      await vm.stop(1000);
    }
    await judge(img, 'slow');
  }, 180_000);

  it('never takes a byte of serial input: 400 pipelined commands, each reading the disk by DMA, all answered right', async () => {
    // After each DMA command the driver reads the bus master's status register; a wrong port
    // there (COM1's receive register, next to the device control port) would take a byte of
    // whatever the host is typing: a command would arrive garbled.
    const img = join(dir, 'pipe.img');
    copyFileSync(out.image, img);
    const h = openImage(img);
    h.commitTree('small', SMALL.map((data, i) => ({ path: `f${i}.bin`, data })), { message: 'small files' });
    const hashes = SMALL.map((_, i) => h.lookupPath(h.commitTreeHash(h.readRef('small')!), `f${i}.bin`)!.hash);
    h.close();
    const { vm } = await bootToReady({ disk: img, accel: 'tcg' }, 60_000);
    try {
      const from = vm.events.length;
      const n = 400;
      const commands = Array.from({ length: n }, (_, i) => `sha1 ${hashes[i % hashes.length]}`);
      vm.write(Buffer.from(commands.join('\n') + '\n')); // all at once: input arrives while the disk works
      await vm.waitForEvent(() => vm.events.slice(from).filter((e) => e.name === 'end').length >= n, 120_000, from);
      const ends = vm.events.slice(from).filter((e) => e.name === 'end');
      expect(ends.map((e) => `${e.fields.cmd} ${e.fields.status}`)).toEqual(commands.map(() => 'sha1 ok'));
      const sums = vm.lines.filter((l) => /^[0-9a-f]{40}$/.test(l)).slice(-n);
      expect(sums).toEqual(commands.map((_, i) => sha1(SMALL[i % SMALL.length]!)));
      expect(vm.events.filter((e) => e.name === 'disk' && e.fields.dma === 'off')).toEqual([]);
    } finally {
      await vm.stop(1000);
    }
  });

  it('reads and writes through bus-master DMA; the host store, fsck and git read the result', async () => {
    const { img } = image('dma.img');
    const { vm, result } = await bootToReady({ disk: img, accel: 'tcg' }, 60_000);
    try {
      const disk = result.events.find((e) => e.name === 'disk')!;
      expect(disk.fields.dma).toBe('on');
      await readAndWrite(vm);
      // no fallback happened on the way
      expect(vm.events.filter((e) => e.name === 'disk' && e.fields.dma === 'off')).toEqual([]);
    } finally {
      await vm.stop(1000);
    }
    await judge(img, 'dma');
  });

  it('a failed DMA command falls back to PIO, says so once, and the transfer and the writes after it succeed', async () => {
    const { img, midLba } = image('fallback.img');
    // one read error (EIO) at a sector only the kernel's read of big.bin covers
    const cfg = join(dir, 'blkdebug.conf');
    writeFileSync(cfg, `[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "${midLba}"\nonce = "on"\nimmediately = "off"\n`);
    const { vm, result } = await bootToReady(
      { disk: img, accel: 'tcg', diskOptions: ['file.driver=blkdebug', `file.config=${cfg}`] },
      60_000,
    );
    try {
      expect(result.events.find((e) => e.name === 'disk')!.fields.dma).toBe('on');
      await readAndWrite(vm);
      const off = vm.events.filter((e) => e.name === 'disk' && e.fields.dma === 'off');
      expect(off.length).toBe(1);
      expect(off[0]!.fields.why).toBe('failed');
      expect(off[0]!.fields.reason).toBe('device-error');
      expect(Number(off[0]!.fields.lba)).toBeLessThanOrEqual(midLba);
      // later reads and writes go by PIO and still work
      const sh = new ShellClient(vm);
      expect((await sh.run('sha1 /dma/big.bin', { timeoutMs: 60_000 })).lines).toEqual([sha1(BIG)]);
      expect(vm.events.filter((e) => e.name === 'disk' && e.fields.dma === 'off').length).toBe(1);
    } finally {
      await vm.stop(1000);
    }
    await judge(img, 'fallback');
  });
});
