// gittorrent demo: what `npm run demo` shows — build the node image, boot one node to ready,
// print its events, then power it off.
import type { Command } from 'commander';
import { build } from '../../Makefile.ts';
import { createProgress } from '../../core/progress.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { describeEvent } from '../../emulator/events.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build the node image and boot one node to ready, showing its events')
    .option('--timeout <seconds>', 'boot timeout', '60')
    .action(async (flags: { timeout: string }) => {
      const progress = createProgress();
      progress.log('== gittorrent demo: build the node image');
      const out = await build({ progress });
      progress.log(`image: ${out.image}`);
      progress.log('== boot one node in QEMU (TCG) until the kernel is ready');
      progress.start('booting');
      const { vm, result } = await bootToReady(
        { disk: out.image, accel: 'tcg', snapshot: true, onEvent: (e) => progress.log(`  EVENT ${describeEvent(e)}`) },
        Number(flags.timeout) * 1000,
      );
      progress.succeed(`node ready in ${result.readyMs} ms (kernel says ${result.kernelMs} ms since reset)`);
      progress.log('== ask the node on its control channel: ping');
      vm.send('ping');
      await vm.waitForEvent((e) => e.name === 'pong', 10_000);
      await vm.stop(500);
      progress.log('== done: node powered off');
    });
}
