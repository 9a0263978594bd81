// A deliberate fault in a test build of the kernel must produce the panic event with the
// right vector, and rip at the faulting instruction (checked against the symbol map).
import { describe, expect, it } from 'vitest';
import { build } from '../../Makefile.ts';
import { readSymbolMap } from '../../builder/nasm.ts';
import { Vm } from '../../emulator/vm.ts';
import { BootError } from '../../core/errors.ts';
import { bootToReady } from '../../emulator/boot.ts';
import { tempDir } from '../helpers/tmp.ts';

const cases: Array<{ vector: number; name: string; ripDelta: number; cr2?: string }> = [
  { vector: 0, name: 'divide-error', ripDelta: 0 },
  { vector: 3, name: 'breakpoint', ripDelta: 1 }, // a trap: rip is after int3
  { vector: 6, name: 'invalid-opcode', ripDelta: 0 },
  { vector: 13, name: 'general-protection', ripDelta: 0 },
  { vector: 14, name: 'page-fault', ripDelta: 0, cr2: '0x80000000' },
];

describe('CPU exceptions end in a panic event, never a silent triple fault', () => {
  for (const c of cases) {
    it(`vector ${c.vector} (${c.name})`, async () => {
      const out = await build({ outDir: tempDir(), kernelDefines: { TEST_FAULT: c.vector } });
      const site = readSymbolMap(out.kernelMap).get('fault_site');
      expect(site).toBeDefined();
      const vm = Vm.launch({ disk: out.image, accel: 'tcg', snapshot: true });
      try {
        const ev = await vm.waitForEvent((e) => e.name === 'panic' || e.name === 'ready', 30_000);
        expect(ev.name).toBe('panic');
        expect(Number(ev.fields.vector)).toBe(c.vector);
        expect(ev.fields.name).toBe(c.name);
        expect(BigInt(ev.fields.rip!)).toBe(BigInt(site! + c.ripDelta));
        if (c.cr2) expect(ev.fields.cr2).toBe(c.cr2);
        // the kernel halts after a panic: QEMU is still running (no reset, no exit)
        await new Promise((r) => setTimeout(r, 300));
        expect(vm.exitStatus).toBeUndefined();
      } finally {
        await vm.stop(200);
      }
    });
  }

  it('bootToReady reports a panic as a one-line BootError', async () => {
    const out = await build({ outDir: tempDir(), kernelDefines: { TEST_FAULT: 6 } });
    const err = await bootToReady({ disk: out.image, accel: 'tcg', snapshot: true }, 30_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootError);
    expect((err as Error).message).toMatch(/^kernel panic: vector=6 \(invalid-opcode\) rip=0x[0-9a-f]+$/);
  });
});
