// Writes kernel-asm/include/gitfs_layout.inc from the layout module.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderLayoutInc } from './layout.ts';

export const LAYOUT_INC_PATH = fileURLToPath(new URL('../kernel-asm/include/gitfs_layout.inc', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(LAYOUT_INC_PATH, renderLayoutInc());
  console.log(`wrote ${LAYOUT_INC_PATH}`);
}
