// El Torito 1.0: the boot record volume descriptor and the boot catalog (validation entry +
// initial/default entry), for the writer, and their parser for the reader.
//
// What SeaBIOS (QEMU's BIOS, src/cdrom.c cdrom_boot) does with them: it reads the boot record
// at LBA 17 only (so it must be the first descriptor after the PVD), checks the validation
// entry's header byte, platform 0 and 0x55AA key (not the checksum), requires the default
// entry's indicator 0x88, then reads DIV_ROUND_UP(sector_count, 4) whole 2048-byte CD sectors
// in one READ(10) to load_segment:0 (0x7C0 when 0) and jumps there. There is no size limit
// other than the 16-bit count; nothing stops an image from overrunning the EBDA below 640 KiB,
// so the writer refuses images that would.
import { BadInputError } from '../../core/errors.ts';
import { SECTOR } from './encoding.ts';

export const EL_TORITO_ID = 'EL TORITO SPECIFICATION';
/** Where the BIOS's data starts (EBDA, typically 0x9FC00): a loaded image must end below it. */
export const LOW_MEMORY_END = 0x9fc00;

export interface BootEntry {
  lba: number;
  sectorCount: number;
  loadSegment: number;
  platform: number;
  emulation: number;
  bootable: boolean;
}

/** The boot record volume descriptor pointing at the catalog. */
export function bootRecord(catalogLba: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = 0;
  b.write('CD001', 1, 'ascii');
  b[6] = 1;
  b.write(EL_TORITO_ID, 7, 'ascii');
  b.writeUInt32LE(catalogLba, 0x47);
  return b;
}

/** A one-sector boot catalog with a no-emulation, bootable x86 default entry. */
export function bootCatalog(e: { lba: number; sectorCount: number; loadSegment: number }): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = 1; // validation entry header
  b[1] = 0; // platform: 80x86
  b[30] = 0x55;
  b[31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + b.readUInt16LE(i)) & 0xffff;
  b.writeUInt16LE((0x10000 - sum) & 0xffff, 28);
  b[32] = 0x88; // bootable
  b[33] = 0; // no emulation
  b.writeUInt16LE(e.loadSegment, 34);
  b[36] = 0; // system type
  b.writeUInt16LE(e.sectorCount, 38);
  b.writeUInt32LE(e.lba, 40);
  return b;
}

/** Checks a boot file against what the BIOS can load; returns the catalog's sector count. */
export function bootSectorCount(size: number, loadSegment: number, sectorCount: number | undefined): number {
  const count = sectorCount ?? Math.ceil(size / 512);
  if (!Number.isInteger(count) || count < 1 || count > 0xffff)
    throw new BadInputError(`iso: boot sector count ${count} is not in 1..65535 (boot file is ${size} bytes)`);
  if (!Number.isInteger(loadSegment) || loadSegment < 0 || loadSegment > 0xffff)
    throw new BadInputError(`iso: boot load segment ${loadSegment} is not a 16-bit value`);
  const base = (loadSegment === 0 ? 0x7c0 : loadSegment) * 16;
  const loaded = Math.ceil(count / 4) * SECTOR; // SeaBIOS loads whole CD sectors
  if (base + loaded > LOW_MEMORY_END)
    throw new BadInputError(
      `iso: boot image of ${count} sectors at 0x${base.toString(16)} would overrun low memory (ends 0x${LOW_MEMORY_END.toString(16)})`,
    );
  return count;
}

/** Parses a boot catalog at byte `off`; returns the default entry or a description of the fault. */
export function parseCatalog(buf: Buffer, off: number): BootEntry | string {
  if (off + 64 > buf.length) return 'boot catalog runs past the end of the image';
  if (buf[off] !== 1) return `boot catalog validation entry has header ${buf[off]}, not 1`;
  if (buf[off + 30] !== 0x55 || buf[off + 31] !== 0xaa) return 'boot catalog validation entry lacks the 55 AA key';
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + buf.readUInt16LE(off + i)) & 0xffff;
  if (sum !== 0) return `boot catalog checksum does not add up (sum 0x${sum.toString(16)})`;
  const ind = buf[off + 32]!;
  if (ind !== 0x88 && ind !== 0x00) return `boot catalog default entry has indicator 0x${ind.toString(16)}`;
  const emulation = buf[off + 33]! & 0x0f;
  if (emulation > 4) return `boot catalog default entry has media type ${emulation}`;
  return {
    platform: buf[off + 1]!,
    bootable: ind === 0x88,
    emulation,
    loadSegment: buf.readUInt16LE(off + 34),
    sectorCount: buf.readUInt16LE(off + 38),
    lba: buf.readUInt32LE(off + 40),
  };
}
