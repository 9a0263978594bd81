// The on-disk layout of a GitFS node image: the single source of truth for the builder (TS)
// and the loader/kernel (NASM). `renderLayoutInc()` emits kernel-asm/include/gitfs_layout.inc;
// test/unit/layout-inc.test.ts fails when the checked-in file is stale.
// Regenerate with: npx tsx gitfs/gen-layout-inc.ts
//
// Byte-exact description: docs/gitfs-format.md.

/** A field of an on-disk structure: its name and size in bytes. */
export interface FieldDef {
  readonly name: string;
  readonly size: number;
  readonly doc: string;
}

/** An on-disk structure (little-endian); offsets follow from the field order. Declare one
 * `as const satisfies StructDef` so that its field names stay literal types. */
export interface StructDef {
  readonly name: string;
  readonly doc: string;
  readonly fields: readonly FieldDef[];
}

/** The field names of a structure, as a union of string literals. */
export type FieldName<D extends StructDef> = D['fields'][number]['name'];

export interface StructLayout<F extends string = string> {
  readonly name: string;
  readonly size: number;
  readonly offsets: Readonly<Record<F, number>>;
  readonly sizes: Readonly<Record<F, number>>;
}

/** Offsets and sizes of a structure's fields; a misspelled field name does not compile. */
export function layoutOf<const D extends StructDef>(def: D): StructLayout<FieldName<D>> {
  const offsets: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  let off = 0;
  for (const f of def.fields) {
    offsets[f.name] = off;
    sizes[f.name] = f.size;
    off += f.size;
  }
  return { name: def.name, size: off, offsets, sizes } as StructLayout<FieldName<D>>;
}

// ---------------------------------------------------------------------------------------------
// The constants shared with the NASM side. Each is written once, in TABLE below (name, value,
// one-line doc); the TS exports are destructured from TABLE.values (the compiler rejects a name
// that is not in it) and renderLayoutInc() writes every entry into the include.

export type ConstantValue = number | string;

export interface LayoutConstant {
  readonly name: string;
  /** A number (NASM `equ`) or a string (NASM `%define NAME "..."` plus `NAME_LEN equ n`). */
  readonly value: ConstantValue;
  readonly doc: string;
}

/** Constants are plain numbers and strings in TS (not literal types). */
type Widen<V> = V extends number ? number : string;

type TableRow = { readonly section: string } | LayoutConstant;

/** An ordered table of constants; a value may be computed from the ones before it. */
export class ConstantTable<T extends Record<string, ConstantValue>> {
  private constructor(
    readonly values: T,
    readonly rows: readonly TableRow[],
  ) {}

  static create(): ConstantTable<Record<never, ConstantValue>> {
    return new ConstantTable({}, []);
  }

  /** Starts a titled group (a comment in the include). */
  section(title: string): ConstantTable<T> {
    return new ConstantTable(this.values, [...this.rows, { section: title }]);
  }

  add<const N extends string, V extends ConstantValue>(
    name: N,
    value: V | ((c: T) => V),
    doc: string,
  ): ConstantTable<T & { readonly [K in N]: Widen<V> }> {
    if (name in this.values) throw new Error(`layout constant ${name} defined twice`);
    const v = typeof value === 'function' ? value(this.values) : value;
    const values = { ...this.values, [name]: v } as T & { readonly [K in N]: Widen<V> };
    return new ConstantTable(values, [...this.rows, { name, value: v, doc }]);
  }

  get constants(): LayoutConstant[] {
    return this.rows.filter((r): r is LayoutConstant => 'name' in r);
  }
}

function log2(n: number): number {
  const k = Math.log2(n);
  if (!Number.isInteger(k)) throw new Error(`${n} is not a power of two`);
  return k;
}

const TABLE = ConstantTable.create()
  .section('Hashes')
  .add('HASH_SIZE', 20, 'bytes of a SHA-1 (an object id)')
  .add('HASH_HEX_LEN', (c) => c.HASH_SIZE * 2, 'hex digits of a SHA-1')

  .section('Boot area: sector 0 the MBR, then a fixed run of sectors for stage 2')
  .add('SECTOR_SIZE', 512, 'bytes per disk sector')
  .add('SECTOR_SHIFT', (c) => log2(c.SECTOR_SIZE), 'log2(SECTOR_SIZE): bytes <-> sectors by shifting')
  .add('STAGE2_LBA', 1, 'first sector of stage 2')
  .add('STAGE2_SECTORS', 127, 'sectors of stage 2 (LBA 1..127); GitFS starts at LBA 128')
  .add('STAGE2_MAX_BYTES', (c) => c.STAGE2_SECTORS * c.SECTOR_SIZE, 'largest stage 2')
  .add('BOOT_AREA_END_LBA', (c) => c.STAGE2_LBA + c.STAGE2_SECTORS, 'first sector after the boot area')
  .add('STAGE2_HDR_OFFSET', 16, 'offset of stage2_hdr in stage 2 (after a 16-byte jump slot)')
  .add('STAGE2_MAGIC', 0x32535447, '"GTS2"')
  .add('BOOTSRC_DISK', 1, 'kernel read through GitFS from the boot disk')
  .add('BOOTSRC_APPENDED', 2, 'kernel appended to stage 2 in memory (CD boot)')
  .add('KERNEL_MAX_BYTES', 0x60000, 'largest kernel stage 2 loads (384 KiB)')
  .add('DEFAULT_WATCHDOG_MS', 2000, 'default loader watchdog timeout (the ib700 counts in 2 s steps)')

  .section('Memory map: physical addresses shared by the loader and the kernel (identity-mapped)')
  .add('PML4_ADDR', 0x1000, '4 KiB: level-4 page table')
  .add('PDPT_ADDR', 0x2000, '4 KiB: page-directory-pointer table')
  .add('PD_ADDR', 0x3000, '4 KiB: page directory, 512 x 2 MiB = the first 1 GiB')
  .add('BOOTINFO_ADDR', 0x4000, 'struc bootinfo (boot.inc), filled by stage 2 for the kernel')
  .add('BOOT_ATTEMPT_ADDR', 0x5000, 'struc boot_attempt (boot.inc): RAM survives a warm reset, not a power cut')
  .add('CRC16_TABLE_ADDR', 0x6000, "1 KiB: the MBR's CRC-32 table (a page with no code)")
  .add('REALMODE_STACK', 0x7c00, 'real-mode stack top (grows down from the MBR)')
  .add('STAGE2_LOAD_ADDR', 0x7e00, 'stage 2 is loaded here (by the MBR, or by El Torito behind a stub)')
  .add('LOADER_STACK_TOP', 0x90000, "stage 2's long-mode stack top: off every page holding code")
  .add('KERNEL_LOAD_ADDR', 0x100000, 'the kernel runs here')
  .add('HEAP_ADDR', 0x1000000, "16 MiB: the loader's GitFS arena; later the kernel's scratch (hash)")
  .add('FS_ARENA_ADDR', 0x3000000, "48 MiB: end of the loader's arena; the kernel's GitFS arena to RAM end")
  .add('IDENTITY_MAP_BYTES', 0x40000000, 'stage 2 identity-maps the first 1 GiB')

  .section('Ref names the loader and the kernel use')
  .add('MAINLINE_REF', 'mainline', 'slot 0: the log of every cluster ref update (the filesystem revision)')
  .add('BOOT_REF', 'boot', 'the kernel commit to boot')
  .add('BOOT_GOOD_REF', 'boot-good', 'the newest kernel commit known good (rollback target)')
  .add('BOOT_LOG_REF', 'boot-log', 'the node-local log: every update of boot, boot-good (never synced)')

  .section('GitFS area (docs/gitfs-format.md); byte offsets are from the start of the disk')
  .add('SB_A_LBA', (c) => c.BOOT_AREA_END_LBA, 'superblock copy A, right after the boot area')
  .add('SB_SECTORS', 64, 'sectors per superblock copy (32 KiB)')
  .add('SB_BYTES', (c) => c.SB_SECTORS * c.SECTOR_SIZE, 'bytes per superblock copy (checksummed)')
  .add('SB_B_LBA', (c) => c.SB_A_LBA + c.SB_SECTORS, 'superblock copy B follows copy A')
  .add('LOG_LBA', (c) => c.SB_B_LBA + c.SB_SECTORS, 'the object log starts after both copies')
  .add('SB_MAGIC_LO', 0x53465447, '"GTFS"')
  .add('SB_MAGIC_HI', 0x31425300, '"\\0SB1" (bytes "GTFS\\0SB1")')
  .add('GITFS_VERSION', 1, 'on-disk format version')
  .add('SB_HDR_SIZE', 128, 'superblock header (struc gitfs_sb); the ref table follows')
  .add('REF_SLOTS', 255, 'ref slots per superblock copy; slot 0 is the mainline log')
  .add('REF_SLOT_SIZE', 128, 'bytes per ref slot (struc gitfs_ref)')
  .add('REF_NAME_MAX', 64, 'bytes of a ref name (zero padded)')
  .add('REF_NONE', 0xffff, 'no forked-from slot')
  .add('REF_KIND_FREE', 0, 'ref kind: a free slot')
  .add('REF_KIND_MAINLINE', 1, 'ref kind: the mainline log (slot 0)')
  .add('REF_KIND_BRANCH', 2, 'ref kind: a branch')
  .add('REF_KIND_SYMBOLIC', 3, 'ref kind: a named pointer to any object')
  .add('REF_KIND_BOOT', 4, 'ref kind: the kernel commit to boot')
  .add('BOOT_STATE_NONE', 0, 'boot state: no boot counting')
  .add('BOOT_STATE_PENDING', 1, 'boot state: a new kernel with tries_left boots')
  .add('BOOT_STATE_GOOD', 2, 'boot state: the kernel passed its self-test')
  .add('BOOT_STATE_BAD', 3, 'boot state: the kernel failed; rolled back')
  .add('BOOT_COLD_STARTS_MAX', 3, 'cold starts of a pending kernel before one counts as a failure (docs/boot.md)')
  .add('OBJ_COMMIT', 1, "object type (git's pack numbers): commit")
  .add('OBJ_TREE', 2, 'object type: tree')
  .add('OBJ_BLOB', 3, 'object type: blob')
  .add('OBJ_TAG', 4, 'object type: tag')
  .add('STORE_RAW', 0, 'record storage: the payload is the object content')
  .add('STORE_DELTA', 1, 'record storage: a git delta against base')
  .add('STORE_REFERRAL', 2, 'record storage: holders only, no content')
  .add('REC_MAGIC', 0x43455247, '"GREC"')
  .add('REC_ALIGN', 64, 'log records start on multiples of this (a header never straddles a sector)')
  .add('REC_HDR_SIZE', 64, 'log record header bytes (struc gitfs_rec)')
  .add('DELTA_MAX_DEPTH', 16, 'longest delta chain a writer creates and a reader accepts')
  .add('REFERRAL_HOLDER_SIZE', 32, 'bytes per referral holder id')
  .add('IDX_MAGIC', 0x58444947, '"GIDX"')
  .add('IDX_FANOUT_OFFSET', 512, 'fanout (256 x u32 cumulative counts), after the 1-sector header')
  .add('IDX_ENTRIES_OFFSET', (c) => c.IDX_FANOUT_OFFSET + 256 * 4, 'first index entry')
  .add('IDX_ENTRY_SIZE', 32, 'bytes per index entry (struc gitfs_idx_entry)')
  .add('IDX_ENTRY_SHIFT', (c) => log2(c.IDX_ENTRY_SIZE), 'log2(IDX_ENTRY_SIZE): entry number <-> byte offset')
  .add('TREE_SPLIT_THRESHOLD', 256, 'a flat tree holds at most this many entries');

/** Every shared constant, in include order. */
export const CONSTANTS: readonly LayoutConstant[] = TABLE.constants;

export const {
  HASH_SIZE, HASH_HEX_LEN,
  SECTOR_SIZE, SECTOR_SHIFT, STAGE2_LBA, STAGE2_SECTORS, STAGE2_MAX_BYTES, BOOT_AREA_END_LBA, STAGE2_HDR_OFFSET,
  STAGE2_MAGIC, BOOTSRC_DISK, BOOTSRC_APPENDED, KERNEL_MAX_BYTES, DEFAULT_WATCHDOG_MS,
  PML4_ADDR, PDPT_ADDR, PD_ADDR, BOOTINFO_ADDR, BOOT_ATTEMPT_ADDR, CRC16_TABLE_ADDR, REALMODE_STACK, STAGE2_LOAD_ADDR, LOADER_STACK_TOP,
  KERNEL_LOAD_ADDR, HEAP_ADDR, FS_ARENA_ADDR, IDENTITY_MAP_BYTES,
  MAINLINE_REF, BOOT_REF, BOOT_GOOD_REF, BOOT_LOG_REF,
  SB_A_LBA, SB_SECTORS, SB_BYTES, SB_B_LBA, LOG_LBA, SB_MAGIC_LO, SB_MAGIC_HI, GITFS_VERSION,
  SB_HDR_SIZE, REF_SLOTS, REF_SLOT_SIZE, REF_NAME_MAX, REF_NONE,
  REF_KIND_FREE, REF_KIND_MAINLINE, REF_KIND_BRANCH, REF_KIND_SYMBOLIC, REF_KIND_BOOT,
  BOOT_STATE_NONE, BOOT_STATE_PENDING, BOOT_STATE_GOOD, BOOT_STATE_BAD, BOOT_COLD_STARTS_MAX,
  OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_TAG, STORE_RAW, STORE_DELTA, STORE_REFERRAL,
  REC_MAGIC, REC_ALIGN, REC_HDR_SIZE, DELTA_MAX_DEPTH, REFERRAL_HOLDER_SIZE,
  IDX_MAGIC, IDX_FANOUT_OFFSET, IDX_ENTRIES_OFFSET, IDX_ENTRY_SIZE, IDX_ENTRY_SHIFT,
  TREE_SPLIT_THRESHOLD,
} = TABLE.values;

// ---------------------------------------------------------------------------------------------
// On-disk structures.

export const STAGE2_HDR = {
  name: 'stage2_hdr',
  doc: 'Header at STAGE2_HDR_OFFSET in the stage-2 binary, patched by the image builder',
  fields: [
    { name: 'magic', size: 4, doc: 'STAGE2_MAGIC' },
    { name: 'source', size: 4, doc: 'BOOTSRC_DISK or BOOTSRC_APPENDED' },
    { name: 'kernel_lba', size: 8, doc: 'first sector holding kernel bytes (BOOTSRC_DISK)' },
    { name: 'kernel_offset', size: 4, doc: 'byte offset of the kernel inside that sector' },
    { name: 'kernel_size', size: 4, doc: 'kernel size in bytes' },
    { name: 'watchdog_ms', size: 4, doc: 'watchdog timeout the loader arms (0: none)' },
    { name: 'default_tries', size: 4, doc: 'tries a new kernel gets by default (0 means 1)' },
    { name: 'stage2_size', size: 4, doc: 'bytes of stage 2 the MBR reads and checks (1..STAGE2_MAX_BYTES)' },
    { name: 'checksum', size: 4, doc: 'CRC-32 of those bytes with this field zero (checked by the MBR)' },
  ],
} as const satisfies StructDef;

export const SUPERBLOCK_HDR = {
  name: 'gitfs_sb',
  doc: 'Superblock header (first 128 bytes of each 32 KiB copy; the ref table follows)',
  fields: [
    { name: 'magic', size: 8, doc: '"GTFS\\0SB1"' },
    { name: 'version', size: 4, doc: 'GITFS_VERSION' },
    { name: 'sb_bytes', size: 4, doc: 'SB_BYTES: bytes covered by the checksum' },
    { name: 'generation', size: 8, doc: 'higher wins; a write goes to the other copy with +1' },
    { name: 'disk_sectors', size: 8, doc: 'image size in sectors' },
    { name: 'log_lba', size: 8, doc: 'first sector of the object log (LOG_LBA)' },
    { name: 'log_end', size: 8, doc: 'absolute byte offset of the first free log byte (REC_ALIGN aligned)' },
    { name: 'log_limit_lba', size: 8, doc: 'first sector after the log (= index region A)' },
    { name: 'index_lba', size: 8, doc: 'first sector of this copy\'s index region' },
    { name: 'index_sectors', size: 4, doc: 'capacity of each index region in sectors' },
    { name: 'index_count', size: 4, doc: 'index entries' },
    { name: 'index_crc', size: 4, doc: 'CRC-32 of the index bytes (header+fanout+entries)' },
    { name: 'ref_slots', size: 4, doc: 'REF_SLOTS' },
    { name: 'index_a_lba', size: 8, doc: 'index region A (used by copy A)' },
    { name: 'index_b_lba', size: 8, doc: 'index region B (used by copy B)' },
    { name: 'copy', size: 4, doc: '0 = copy A, 1 = copy B' },
    { name: 'flags', size: 4, doc: 'reserved, 0' },
    { name: 'reserved', size: 20, doc: 'reserved, 0' },
    { name: 'checksum', size: 4, doc: 'CRC-32 of the whole copy with this field zero' },
  ],
} as const satisfies StructDef;

export const REF_SLOT = {
  name: 'gitfs_ref',
  doc: 'Ref slot (128 bytes); REF_SLOTS of them follow the superblock header',
  fields: [
    { name: 'name', size: REF_NAME_MAX, doc: 'UTF-8, zero padded; empty = free slot' },
    { name: 'target', size: HASH_SIZE, doc: 'SHA-1 the ref points to (zero = none yet)' },
    { name: 'kind', size: 1, doc: 'REF_KIND_*' },
    { name: 'state', size: 1, doc: 'BOOT_STATE_* (boot counting)' },
    { name: 'tries_left', size: 1, doc: 'boots left before rollback (pending state)' },
    { name: 'flags', size: 1, doc: 'reserved, 0' },
    { name: 'forked_from', size: 2, doc: 'slot index of the branch it was forked from, or REF_NONE' },
    { name: 'boot_attempts', size: 1, doc: 'starts of a pending kernel since its last failed boot (boot counting)' },
    { name: 'reserved0', size: 1, doc: 'reserved, 0' },
    { name: 'updated_gen', size: 8, doc: 'superblock generation of the last update' },
    { name: 'reserved', size: 28, doc: 'reserved, 0' },
  ],
} as const satisfies StructDef;

export const REC_HDR = {
  name: 'gitfs_rec',
  doc: 'Object log record header (64 bytes, REC_ALIGN aligned); payload follows',
  fields: [
    { name: 'magic', size: 4, doc: 'REC_MAGIC "GREC"' },
    { name: 'type', size: 1, doc: 'OBJ_COMMIT/TREE/BLOB/TAG' },
    { name: 'storage', size: 1, doc: 'STORE_RAW, STORE_DELTA or STORE_REFERRAL' },
    { name: 'depth', size: 2, doc: 'delta chain depth (0 for raw)' },
    { name: 'payload_len', size: 8, doc: 'bytes of payload after this header' },
    { name: 'object_size', size: 8, doc: 'size of the object content' },
    { name: 'hash', size: HASH_SIZE, doc: 'SHA-1 of "<type> <size>\\0" + content' },
    { name: 'base', size: HASH_SIZE, doc: 'delta base hash (STORE_DELTA), else zero' },
  ],
} as const satisfies StructDef;

export const IDX_HDR = {
  name: 'gitfs_idx',
  doc: 'Index region header (sector 0 of the region; fanout at +512, entries at +1536)',
  fields: [
    { name: 'magic', size: 4, doc: 'IDX_MAGIC "GIDX"' },
    { name: 'version', size: 4, doc: 'GITFS_VERSION' },
    { name: 'count', size: 4, doc: 'entries' },
    { name: 'generation', size: 4, doc: 'low 32 bits of the superblock generation' },
  ],
} as const satisfies StructDef;

export const IDX_ENTRY = {
  name: 'gitfs_idx_entry',
  doc: 'Index entry (32 bytes), sorted by hash',
  fields: [
    { name: 'hash', size: HASH_SIZE, doc: 'object SHA-1' },
    { name: 'type', size: 1, doc: 'OBJ_*' },
    { name: 'storage', size: 1, doc: 'STORE_* (STORE_REFERRAL: record holds size and holders only)' },
    { name: 'depth', size: 2, doc: 'delta chain depth (0 raw)' },
    { name: 'offset', size: 8, doc: 'absolute byte offset of the log record header' },
  ],
} as const satisfies StructDef;

// ---------------------------------------------------------------------------------------------
// Rendering the NASM include.

export const STRUCTS: readonly StructDef[] = [STAGE2_HDR, SUPERBLOCK_HDR, REF_SLOT, REC_HDR, IDX_HDR, IDX_ENTRY];

/** Structures whose size a constant also states: loading this module fails when they disagree. */
const STRUCT_SIZES: readonly (readonly [StructDef, string, number])[] = [
  [SUPERBLOCK_HDR, 'SB_HDR_SIZE', SB_HDR_SIZE],
  [REF_SLOT, 'REF_SLOT_SIZE', REF_SLOT_SIZE],
  [REC_HDR, 'REC_HDR_SIZE', REC_HDR_SIZE],
  [IDX_ENTRY, 'IDX_ENTRY_SIZE', IDX_ENTRY_SIZE],
];
for (const [def, name, size] of STRUCT_SIZES) {
  if (layoutOf(def).size !== size) throw new Error(`struct ${def.name} is ${layoutOf(def).size} bytes, ${name} says ${size}`);
}

function hex(v: number): string {
  return '0x' + v.toString(16).toUpperCase();
}

function nasmString(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s) || s.includes('"')) throw new Error(`constant string ${JSON.stringify(s)} cannot be a NASM string`);
  return `"${s}"`;
}

export function renderLayoutInc(): string {
  const lines: string[] = [];
  lines.push('; gitfs_layout.inc -- GENERATED from gitfs/layout.ts; do not edit.');
  lines.push('; Regenerate with: npx tsx gitfs/gen-layout-inc.ts');
  lines.push('%ifndef GITFS_LAYOUT_INC');
  lines.push('%define GITFS_LAYOUT_INC');
  for (const row of TABLE.rows) {
    if ('section' in row) {
      lines.push('');
      lines.push(`; ---- ${row.section}`);
    } else if (typeof row.value === 'number') {
      lines.push(`${row.name.padEnd(24)} equ ${hex(row.value).padEnd(12)} ; ${row.doc}`);
    } else {
      lines.push(`%define ${row.name.padEnd(16)} ${nasmString(row.value).padEnd(12)} ; ${row.doc}`);
      lines.push(`${(row.name + '_LEN').padEnd(24)} equ ${String(row.value.length).padEnd(12)} ; bytes of ${row.name}`);
    }
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
