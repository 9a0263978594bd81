// npm run bench -- kernel-read [--runs N] [--mb M]: the kernel's GitFS read path against its
// own raw driver reads, in the same VM. Builds the node image, commits an M MiB (default 16)
// random file as /bench/big.bin, boots (TCG, 512 MiB RAM) and alternates, N times (default 7):
//   readfile /bench/big.bin  -- path lookup, record reads, SHA-1 verification of the content
//   readraw <lba> <sectors>  -- the same sectors (the file's whole log record) through the ATA
//                               driver only (the reference)
// Both are timed by the kernel (rdtsc, EVENT ... us=T). Prints the medians, their ratio
// (GitFS + SHA-1 / raw driver) and the size of kernel.bin (goal: under 64 KiB). Last line JSON.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, DEFAULT_OUT } from '../Makefile.ts';
import { openImage } from '../gitfs/image.ts';
import { REC_HDR_SIZE, SECTOR_SIZE } from '../gitfs/layout.ts';
import { bootToReady } from '../emulator/boot.ts';
import type { KernelEvent } from '../emulator/events.ts';
import { ShellClient } from '../emulator/shell-client.ts';
import { median, round } from './stats.ts';

function argValue(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bad ${name} ${args[i + 1]}`);
  return v;
}

/** Runs a timing command until it gives its event (a lost serial byte costs a retry). */
async function timed(sh: ShellClient, cmd: string, event: string): Promise<KernelEvent> {
  let last = '';
  for (let i = 0; i < 4; i++) {
    try {
      const r = await sh.run(cmd, { timeoutMs: 60_000 });
      const ev = r.events.find((e) => e.name === event);
      if (r.status === 'ok' && ev) return ev;
      last = `${r.status} ${r.error ?? ''} ${r.events.map((e) => e.line).join(' | ')}`;
    } catch (e) {
      last = (e as Error).message;
      await sh.run('ping', { timeoutMs: 2_000 }).catch(() => undefined);
    }
  }
  throw new Error(`${cmd}: no ${event} event (${last})`);
}

export default async function kernelReadBench(args: string[]): Promise<void> {
  const runs = argValue(args, '--runs', 7);
  const mb = argValue(args, '--mb', 16);
  const work = mkdtempSync(join(tmpdir(), 'gt-bench-kread-'));
  try {
    // out/ is shared: build into the work folder (same sources, so the same kernel.bin as
    // out/kernel.bin when that is up to date; its size is printed too when it exists)
    const out = await build({ outDir: join(work, 'out') });
    const kernelBytes = statSync(out.kernel).size;
    const outKernel = join(DEFAULT_OUT, 'kernel.bin');
    const outKernelBytes = existsSync(outKernel) ? statSync(outKernel).size : undefined;
    const size = mb * 1024 * 1024;
    const data = randomBytes(size);
    const img = openImage(out.image);
    let recordLba: number;
    let sectors: number;
    try {
      img.commitTree('bench', [{ path: 'big.bin', data, raw: true }], { message: 'kernel-read bench file' });
      const hash = img.lookupPath(img.commitTreeHash(img.readRef('bench')!), 'big.bin')!.hash;
      const loc = img.locateRaw(hash);
      const recordStart = loc.lba * SECTOR_SIZE + loc.offset - REC_HDR_SIZE;
      recordLba = Math.floor(recordStart / SECTOR_SIZE);
      sectors = Math.ceil(((recordStart % SECTOR_SIZE) + REC_HDR_SIZE + size) / SECTOR_SIZE);
    } finally {
      img.close();
    }

    const { vm } = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true, memoryMb: 512 }, 30_000);
    const file: number[] = [];
    const raw: number[] = [];
    try {
      const sh = new ShellClient(vm);
      // warm-up (and the lba check): the kernel reports where the file's record starts
      const first = await timed(sh, 'readfile /bench/big.bin', 'readfile');
      if (Number(first.fields.bytes) !== size) throw new Error(`readfile read ${first.fields.bytes} bytes, expected ${size}`);
      if (Number(first.fields.lba) !== recordLba) throw new Error(`readfile lba=${first.fields.lba}, the host says ${recordLba}`);
      await timed(sh, `readraw ${recordLba} ${sectors}`, 'readraw');
      for (let i = 0; i < runs; i++) {
        file.push(Number((await timed(sh, 'readfile /bench/big.bin', 'readfile')).fields.us));
        const r = await timed(sh, `readraw ${recordLba} ${sectors}`, 'readraw');
        if (Number(r.fields.sectors) !== sectors) throw new Error(`readraw read ${r.fields.sectors} sectors`);
        raw.push(Number(r.fields.us));
      }
    } finally {
      await vm.stop(200);
    }
    const f = median(file);
    const r = median(raw);
    const ratio = round(f / r);
    const mbps = (us: number) => round(size / 1048576 / (us / 1e6), 1);
    console.log(`readfile /bench/big.bin (${mb} MiB, GitFS + SHA-1)  median ${round(f / 1000, 1)} ms  ${mbps(f)} MiB/s  (runs us: ${file.join(' ')})`);
    console.log(`readraw ${recordLba} ${sectors} (driver only)          median ${round(r / 1000, 1)} ms  ${mbps(r)} MiB/s  (runs us: ${raw.join(' ')})`);
    console.log(`ratio ${ratio} (GitFS read / raw read)`);
    if (outKernelBytes !== undefined && outKernelBytes !== kernelBytes) console.log(`(out/kernel.bin, from an earlier build, is ${outKernelBytes} bytes)`);
    console.log(`kernel.bin ${kernelBytes} bytes (${round(kernelBytes / 1024, 1)} KiB; goal < 64 KiB: ${kernelBytes < 65536 ? 'met' : 'NOT met'})`);
    console.log(JSON.stringify({ bench: 'kernel-read', accel: 'tcg', runs, bytes: size, sectors, readfileUs: f, readrawUs: r, ratio, kernelBytes }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
