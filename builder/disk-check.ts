// Checks that a file is a bootable gittorrent disk image before QEMU is asked to boot it.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { BadInputError, FileNotFoundError } from '../core/errors.ts';
import { BOOT_AREA_END_LBA, SECTOR_SIZE, STAGE2_HDR_OFFSET, STAGE2_LBA, STAGE2_MAGIC } from '../gitfs/layout.ts';

export function checkBootableImage(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new BadInputError(`not a disk image: ${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    throw new FileNotFoundError(`image not found: ${path}`);
  }
  const minSize = BOOT_AREA_END_LBA * SECTOR_SIZE;
  if (size < minSize) throw new BadInputError(`not a gittorrent disk image: ${path} is ${size} bytes, smaller than the ${minSize}-byte boot area`);
  const head = Buffer.alloc(STAGE2_LBA * SECTOR_SIZE + STAGE2_HDR_OFFSET + 4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head[510] !== 0x55 || head[511] !== 0xaa) {
    throw new BadInputError(`not a gittorrent disk image: ${path} has no boot signature in sector 0`);
  }
  if (head.readUInt32LE(STAGE2_LBA * SECTOR_SIZE + STAGE2_HDR_OFFSET) !== STAGE2_MAGIC) {
    throw new BadInputError(`not a gittorrent disk image: ${path} has no gittorrent stage 2 at sector ${STAGE2_LBA}`);
  }
}
