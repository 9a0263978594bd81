// gittorrent demo: what `npm run demo` shows — build the node image, boot one node to ready and
// look at its filesystem through the kernel's shell; then commit a kernel that hangs on top,
// boot it, and watch the watchdog fire and the loader roll back to the good kernel.
import type { Command } from 'commander';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../../Makefile.ts';
import { openImage } from '../../gitfs/image.ts';
import { mergeRelease } from '../../builder/kernel-merge.ts';
import { readRelease } from '../../builder/release.ts';
import { createProgress } from '../../core/progress.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { describeEvent } from '../../emulator/events.ts';
import { ShellClient } from '../../emulator/shell-client.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build and boot a node, browse its GitFS, then show a bad kernel rolled back by the watchdog')
    .option('--timeout <seconds>', 'boot timeout', '60')
    .action(async (flags: { timeout: string }) => {
      const timeoutMs = Number(flags.timeout) * 1000;
      const progress = createProgress();
      const show = (e: { name: string; line: string }) => {
        if (e.name !== 'end') progress.log(`  ${e.line}`); // shell end markers stay quiet
      };

      progress.log('== 1. build the node image (a GitFS disk; the kernel release ISO merged on the kernel branch)');
      const out = await build({ progress });
      const demo = join(out.outDir, 'demo.img');
      copyFileSync(out.image, demo);
      progress.log(`image: ${demo}`);

      progress.log('== 2. boot one node in QEMU (TCG, ib700 watchdog armed by the loader)');
      progress.start('booting');
      const first = await bootToReady({ disk: demo, accel: 'tcg', watchdog: true, onEvent: show }, { timeoutMs });
      progress.succeed(`node ready in ${first.result.readyMs} ms on kernel commit ${first.result.commit.slice(0, 12)}`);
      const sh = new ShellClient(first.vm);
      for (const cmd of ['ls /', 'ls /kernel/boot', 'log kernel', 'rev']) {
        progress.log(`gt> ${cmd}`);
        for (const line of (await sh.run(cmd)).lines) progress.log(`  ${line}`);
      }
      await first.vm.stop(500);

      progress.log('== 3. commit a kernel that hangs on top of the good one (pending, 1 try)');
      const hang = await build({ fault: 'hang', progress });
      const img = openImage(demo);
      let bad: string;
      try {
        bad = mergeRelease(img, readRelease(readFileSync(hang.iso), hang.iso), { boot: { state: 'pending', tries: 1 }, message: 'a kernel that hangs' }).commit;
      } finally {
        img.close();
      }
      progress.log(`kernel branch -> ${bad.slice(0, 12)} (boot: pending)`);

      progress.log('== 4. boot it: the kernel hangs, the watchdog resets the VM, the loader rolls back');
      progress.start('booting the new kernel');
      const second = await bootToReady({ disk: demo, accel: 'tcg', watchdog: true, onEvent: show }, { timeoutMs });
      await second.vm.stop(500);
      const rb = second.result.rollbacks[0];
      progress.succeed(
        `ready on ${second.result.commit.slice(0, 12)} after ${second.result.resets} watchdog reset(s)` +
          (rb ? `; rolled back from ${rb.from.slice(0, 12)} (${rb.reason})` : ''),
      );
      const after = openImage(demo, { readOnly: true });
      const entry = after.log('mainline', { limit: 1 })[0]!;
      after.close();
      progress.log(`mainline log: ${entry.commit.message.trim().split('\n').filter(Boolean).join(' | ')}`);
      progress.log(`== done: the node runs the good kernel ${second.result.commit.slice(0, 12)} (${describeEvent(second.vm.events.at(-1)!)})`);
    });
}
