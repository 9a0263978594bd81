// The memory map the loader and the kernel share (gitfs/layout.ts, generated into
// gitfs_layout.inc): regions in order and apart, and the built binaries inside theirs.
import { describe, expect, it } from 'vitest';
import { build } from '../../Makefile.ts';
import { readSymbolMap } from '../../builder/nasm.ts';
import {
  BOOTINFO_ADDR, FS_ARENA_ADDR, HEAP_ADDR, IDENTITY_MAP_BYTES, KERNEL_LOAD_ADDR, KERNEL_MAX_BYTES, LOADER_STACK_TOP, PD_ADDR,
  PDPT_ADDR, PML4_ADDR, REALMODE_STACK, SECTOR_SIZE, STAGE2_LOAD_ADDR, STAGE2_MAX_BYTES,
} from '../../gitfs/layout.ts';
import { tempDir } from '../helpers/tmp.ts';

const PAGE = 0x1000;
const CONVENTIONAL_END = 0x9fc00; // the BIOS's extended data area starts about here
const CD_KERNEL_ADDR = STAGE2_LOAD_ADDR + STAGE2_MAX_BYTES; // a release CD appends the kernel

describe('memory map', () => {
  it('keeps the low regions in order and apart', () => {
    expect(PML4_ADDR + PAGE).toBeLessThanOrEqual(PDPT_ADDR);
    expect(PDPT_ADDR + PAGE).toBeLessThanOrEqual(PD_ADDR);
    expect(PD_ADDR + PAGE).toBeLessThanOrEqual(BOOTINFO_ADDR);
    expect(BOOTINFO_ADDR + PAGE).toBeLessThanOrEqual(REALMODE_STACK); // the real-mode stack grows down to it
    expect(REALMODE_STACK + SECTOR_SIZE).toBe(STAGE2_LOAD_ADDR); // the MBR sits between them
    expect(CD_KERNEL_ADDR + KERNEL_MAX_BYTES).toBeLessThan(LOADER_STACK_TOP); // the loader's stack grows down to it
    expect(LOADER_STACK_TOP).toBeLessThanOrEqual(CONVENTIONAL_END);
  });

  it('keeps the kernel, the loader arena and the kernel arena in order inside the mapped 1 GiB', () => {
    expect(KERNEL_LOAD_ADDR).toBeGreaterThanOrEqual(0x100000);
    expect(KERNEL_LOAD_ADDR + KERNEL_MAX_BYTES).toBeLessThan(HEAP_ADDR);
    expect(HEAP_ADDR).toBeLessThan(FS_ARENA_ADDR);
    expect(FS_ARENA_ADDR).toBeLessThan(IDENTITY_MAP_BYTES);
  });

  it('fits the built loader and kernel, .bss included, into their regions', async () => {
    const out = await build({ outDir: tempDir('gt-memmap-') });
    const stage2 = readSymbolMap(out.stage2.replace(/\.bin$/, '.map'));
    const kernel = readSymbolMap(out.kernelMap);
    const s2End = stage2.get('s2_bss_end');
    const kEnd = kernel.get('bss_end');
    expect(s2End).toBeDefined();
    expect(kEnd).toBeDefined();
    expect(s2End!).toBeLessThanOrEqual(CD_KERNEL_ADDR); // zeroing .bss must not touch a CD's kernel
    expect(kernel.get('kernel_entry')).toBe(KERNEL_LOAD_ADDR);
    expect(kEnd!).toBeLessThanOrEqual(HEAP_ADDR);
  }, 120_000);
});
