import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BOOT_GOOD_REF, CONSTANTS, ConstantTable, HASH_SIZE, IDX_ENTRY, IDX_ENTRY_SIZE, layoutOf, REF_SLOT, renderLayoutInc, SB_B_LBA,
  SB_A_LBA, SB_SECTORS,
} from '../../gitfs/layout.ts';
import { LAYOUT_INC_PATH } from '../../gitfs/gen-layout-inc.ts';

describe('generated layout include', () => {
  it('kernel-asm/include/gitfs_layout.inc matches gitfs/layout.ts', () => {
    expect(readFileSync(LAYOUT_INC_PATH, 'utf8')).toBe(renderLayoutInc());
  });

  it('writes every constant once, numbers as equ and strings as %define plus a length', () => {
    const inc = renderLayoutInc();
    for (const c of CONSTANTS) {
      const defs = inc.split('\n').filter((l) => l.startsWith(`${c.name} `) || l.startsWith(`%define ${c.name} `));
      expect(defs, c.name).toHaveLength(1);
    }
    expect(inc).toMatch(/^HASH_SIZE\s+equ 0x14\s/m);
    expect(inc).toMatch(new RegExp(`^%define BOOT_GOOD_REF\\s+"${BOOT_GOOD_REF}"`, 'm'));
    expect(inc).toMatch(new RegExp(`^BOOT_GOOD_REF_LEN\\s+equ ${BOOT_GOOD_REF.length}\\s`, 'm'));
    expect(inc).toMatch(/^FS_ARENA_ADDR\s+equ 0x3000000\s/m);
  });

  it('computes derived constants from the ones before them, and refuses a name twice', () => {
    expect(SB_B_LBA).toBe(SB_A_LBA + SB_SECTORS);
    const t = ConstantTable.create().add('A', 2, 'a').add('B', (c) => c.A * 3, 'b');
    expect(t.values.B).toBe(6);
    expect(() => t.add('A', 1, 'again')).toThrow(/defined twice/);
  });

  it('types structure fields by name, so a misspelled field does not compile', () => {
    const e = layoutOf(IDX_ENTRY);
    expect(e.size).toBe(IDX_ENTRY_SIZE);
    expect(e.offsets.offset).toBe(HASH_SIZE + 4);
    expect(layoutOf(REF_SLOT).sizes.target).toBe(HASH_SIZE);
    // @ts-expect-error -- `npx tsc --noEmit` fails here if field names stop being literal types
    expect(e.offsets.ofset).toBeUndefined();
  });
});
