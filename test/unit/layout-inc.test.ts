import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderLayoutInc } from '../../gitfs/layout.ts';
import { LAYOUT_INC_PATH } from '../../gitfs/gen-layout-inc.ts';

describe('generated layout include', () => {
  it('kernel-asm/include/gitfs_layout.inc matches gitfs/layout.ts', () => {
    expect(readFileSync(LAYOUT_INC_PATH, 'utf8')).toBe(renderLayoutInc());
  });
});
