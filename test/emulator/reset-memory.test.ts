// The premise of the boot-attempt record (docs/boot.md, "Power cuts"), checked on the real
// QEMU + SeaBIOS: RAM (at BOOT_ATTEMPT_ADDR's page) and CMOS NVRAM both survive a warm reset —
// a triple fault and the ib700 watchdog's reset — and a new QEMU process (a power cut) starts
// with neither. (On real hardware CMOS is battery-backed and survives the power cut too: that is
// why the loader keeps the record in RAM.)
import { describe, expect, it, beforeAll } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../../builder/nasm.ts';
import { Vm } from '../../emulator/vm.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir();
const images = new Map<string, string>();

beforeAll(async () => {
  for (const [kind, n] of [['triple-fault', 1], ['watchdog', 2]] as const) {
    const r = await assemble({
      source: fileURLToPath(new URL('../fixtures/reset-memory.asm', import.meta.url)),
      output: join(dir, `${kind}.bin`),
      includeDirs: [fileURLToPath(new URL('../../kernel-asm/include/', import.meta.url))],
      defines: { RESET_KIND: n },
    });
    const img = Buffer.alloc(1 << 20);
    readFileSync(r.output).copy(img, 0);
    writeFileSync(join(dir, `${kind}.img`), img);
    images.set(kind, join(dir, `${kind}.img`));
  }
});

/** The (ram, cmos) counters of the first `boots` boots of one QEMU process. */
async function counters(kind: string, boots: number): Promise<Array<[number, number]>> {
  const vm = Vm.launch({ disk: images.get(kind)!, accel: 'tcg', watchdog: kind === 'watchdog', noReboot: false });
  try {
    for (let i = 0; i < boots; i++) await vm.waitForEvent((e) => e.name === 'mem' && vm.events.filter((x) => x.name === 'mem').length > i, 30_000);
    return vm.events.filter((e) => e.name === 'mem').slice(0, boots).map((e) => [Number(e.fields.ram), Number(e.fields.cmos)]);
  } finally {
    vm.killNow();
    await vm.exited;
  }
}

describe('what survives a reset under QEMU', () => {
  for (const [kind, boots] of [['triple-fault', 3], ['watchdog', 2]] as const) {
    it(`a ${kind} reset keeps RAM and CMOS; a new QEMU process has neither`, async () => {
      const seen = await counters(kind, boots);
      const [ram0, cmos0] = seen[0]!;
      expect(seen).toEqual(seen.map((_, i) => [ram0 + i, cmos0 + i]));
      // a power cut: the next process starts from the same values, not from where the last ended
      const again = await counters(kind, 1);
      expect(again).toEqual([[ram0, cmos0]]);
      expect(ram0).toBe(0);
    }, 60_000);
  }
});
