// The on-disk layout of a GitFS node image: the single source of truth for the builder (TS)
// and the loader/kernel (NASM). `renderLayoutInc()` emits kernel-asm/include/gitfs_layout.inc;
// test/unit/layout-inc.test.ts fails when the checked-in file is stale.
// Regenerate with: npx tsx builder/gitfs/gen-layout-inc.ts
//
// Byte-exact description: docs/gitfs-format.md.

/** A field of an on-disk structure: its name and size in bytes. */
export interface FieldDef {
  readonly name: string;
  readonly size: number;
  readonly doc: string;
}

/** An on-disk structure (little-endian); offsets follow from the field order. */
export interface StructDef {
  readonly name: string;
  readonly doc: string;
  readonly fields: readonly FieldDef[];
}

export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly offsets: Readonly<Record<string, number>>;
  readonly sizes: Readonly<Record<string, number>>;
}

export function layoutOf(def: StructDef): StructLayout {
  const offsets: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  let off = 0;
  for (const f of def.fields) {
    offsets[f.name] = off;
    sizes[f.name] = f.size;
    off += f.size;
  }
  return { name: def.name, size: off, offsets, sizes };
}

// ---------------------------------------------------------------------------------------------
// Boot area: sector 0 the MBR, then a fixed run of sectors for stage 2.

export const SECTOR_SIZE = 512;
export const MBR_LBA = 0;
export const STAGE2_LBA = 1;
/** Stage 2 owns LBA 1..127; the GitFS area starts right after, at LBA 128 (64 KiB). */
export const STAGE2_SECTORS = 127;
export const STAGE2_MAX_BYTES = STAGE2_SECTORS * SECTOR_SIZE;
/** Real-mode address stage 2 is loaded to (by the MBR, or by El Torito behind a 512-byte stub). */
export const STAGE2_LOAD_ADDR = 0x7e00;
/** First LBA after the boot area. */
export const BOOT_AREA_END_LBA = STAGE2_LBA + STAGE2_SECTORS;

/** Offset of the stage-2 header inside the stage-2 binary (after a 16-byte jump slot). */
export const STAGE2_HDR_OFFSET = 16;
export const STAGE2_MAGIC = 0x32535447; // "GTS2" little-endian

/** How stage 2 finds the kernel (patched by the builder). */
export const BOOTSRC_DISK = 1; // kernel bytes at (kernel_lba, kernel_offset) on the boot disk
export const BOOTSRC_APPENDED = 2; // kernel bytes appended right after stage 2 in memory (CD boot)

export const STAGE2_HDR: StructDef = {
  name: 'stage2_hdr',
  doc: 'Header at STAGE2_HDR_OFFSET in the stage-2 binary, patched by the image builder',
  fields: [
    { name: 'magic', size: 4, doc: 'STAGE2_MAGIC' },
    { name: 'source', size: 4, doc: 'BOOTSRC_DISK or BOOTSRC_APPENDED' },
    { name: 'kernel_lba', size: 8, doc: 'first sector holding kernel bytes (BOOTSRC_DISK)' },
    { name: 'kernel_offset', size: 4, doc: 'byte offset of the kernel inside that sector' },
    { name: 'kernel_size', size: 4, doc: 'kernel size in bytes' },
    { name: 'flags', size: 4, doc: 'reserved, 0' },
    { name: 'reserved', size: 4, doc: 'reserved, 0' },
  ],
};

/** Where the kernel runs (identity-mapped) and the bounce buffer stage 2 reads it into. */
export const KERNEL_LOAD_ADDR = 0x100000;
export const KERNEL_BUFFER_ADDR = 0x20000;
export const KERNEL_MAX_BYTES = 0x60000; // 384 KiB: the buffer ends at 0x80000

// ---------------------------------------------------------------------------------------------
// Rendering the NASM include.

export interface LayoutConstant {
  readonly name: string;
  readonly value: number;
  readonly doc: string;
}

export const CONSTANTS: LayoutConstant[] = [
  { name: 'SECTOR_SIZE', value: SECTOR_SIZE, doc: 'bytes per disk sector' },
  { name: 'MBR_LBA', value: MBR_LBA, doc: 'the MBR sector' },
  { name: 'STAGE2_LBA', value: STAGE2_LBA, doc: 'first sector of stage 2' },
  { name: 'STAGE2_SECTORS', value: STAGE2_SECTORS, doc: 'sectors reserved for stage 2' },
  { name: 'STAGE2_LOAD_ADDR', value: STAGE2_LOAD_ADDR, doc: 'where stage 2 is loaded' },
  { name: 'BOOT_AREA_END_LBA', value: BOOT_AREA_END_LBA, doc: 'first sector after the boot area' },
  { name: 'STAGE2_HDR_OFFSET', value: STAGE2_HDR_OFFSET, doc: 'offset of stage2_hdr in stage 2' },
  { name: 'STAGE2_MAGIC', value: STAGE2_MAGIC, doc: '"GTS2"' },
  { name: 'BOOTSRC_DISK', value: BOOTSRC_DISK, doc: 'kernel read from the boot disk' },
  { name: 'BOOTSRC_APPENDED', value: BOOTSRC_APPENDED, doc: 'kernel appended to stage 2 (CD)' },
  { name: 'KERNEL_LOAD_ADDR', value: KERNEL_LOAD_ADDR, doc: 'kernel runs here' },
  { name: 'KERNEL_BUFFER_ADDR', value: KERNEL_BUFFER_ADDR, doc: 'stage 2 reads the kernel here' },
  { name: 'KERNEL_MAX_BYTES', value: KERNEL_MAX_BYTES, doc: 'largest kernel stage 2 loads' },
];

export const STRUCTS: StructDef[] = [STAGE2_HDR];

function hex(v: number): string {
  return '0x' + v.toString(16).toUpperCase();
}

export function renderLayoutInc(): string {
  const lines: string[] = [];
  lines.push('; gitfs_layout.inc -- GENERATED from builder/gitfs/layout.ts; do not edit.');
  lines.push('; Regenerate with: npx tsx builder/gitfs/gen-layout-inc.ts');
  lines.push('%ifndef GITFS_LAYOUT_INC');
  lines.push('%define GITFS_LAYOUT_INC');
  lines.push('');
  for (const c of CONSTANTS) {
    lines.push(`${c.name.padEnd(24)} equ ${hex(c.value).padEnd(12)} ; ${c.doc}`);
  }
  for (const s of STRUCTS) {
    lines.push('');
    lines.push(`; ${s.doc}`);
    lines.push(`struc ${s.name}`);
    for (const f of s.fields) {
      lines.push(`  .${f.name.padEnd(20)} resb ${String(f.size).padEnd(4)} ; ${f.doc}`);
    }
    lines.push('endstruc');
  }
  lines.push('');
  lines.push('%endif');
  lines.push('');
  return lines.join('\n');
}
