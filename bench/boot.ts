// npm run bench -- boot [--runs N]: boots the node image to ready and, alternating in the same
// run with the same QEMU flags, a bare 512-byte boot sector that prints one line; prints the
// median host time from launching QEMU to that line for each, and their ratio. Last line JSON.
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { build } from '../Makefile.ts';
import { assemble } from '../builder/nasm.ts';
import { Vm } from '../emulator/vm.ts';
import { median, round } from './stats.ts';

async function timeToReady(disk: string): Promise<number> {
  const vm = Vm.launch({ disk, accel: 'tcg', snapshot: true });
  try {
    const ev = await vm.waitForEvent((e) => e.name === 'ready', 30_000);
    return ev.hostMs;
  } finally {
    vm.killNow();
    await vm.exited;
  }
}

export default async function bootBench(args: string[]): Promise<void> {
  const runsIdx = args.indexOf('--runs');
  const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 15;
  const work = mkdtempSync(join(tmpdir(), 'gt-bench-boot-'));
  try {
    const out = await build({ outDir: join(work, 'out') });
    const bare = await assemble({
      source: fileURLToPath(new URL('./fixtures/bare-boot.asm', import.meta.url)),
      output: join(work, 'bare.bin'),
      includeDirs: [],
    });
    // Same disk size and flags as the node image: only the boot code differs.
    const bareImg = join(work, 'bare.img');
    writeFileSync(bareImg, Buffer.alloc(readFileSync(out.image).length));
    const fd = readFileSync(bare.output);
    const img = readFileSync(bareImg);
    fd.copy(img, 0);
    writeFileSync(bareImg, img);

    await timeToReady(out.image); // warm the page cache for both
    await timeToReady(bareImg);
    const kernel: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < runs; i++) {
      kernel.push(await timeToReady(out.image));
      reference.push(await timeToReady(bareImg));
    }
    const k = median(kernel);
    const r = median(reference);
    const ratio = round(k / r);
    console.log(`node image to ready      median ${k} ms  (runs: ${kernel.join(' ')})`);
    console.log(`bare boot sector to line median ${r} ms  (runs: ${reference.join(' ')})`);
    console.log(`ratio ${ratio} (target <= 1.3)`);
    console.log(JSON.stringify({ bench: 'boot', accel: 'tcg', runs, kernelMs: k, referenceMs: r, ratio }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
