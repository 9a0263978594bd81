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
    { name: 'watchdog_ms', size: 4, doc: 'watchdog timeout the loader arms (0: none)' },
    { name: 'default_tries', size: 4, doc: 'tries a new kernel gets by default (0 means 1)' },
    { name: 'stage2_size', size: 4, doc: 'bytes of stage 2 the MBR reads and checks (1..STAGE2_MAX_BYTES)' },
    { name: 'checksum', size: 4, doc: 'CRC-32 of those bytes with this field zero (checked by the MBR)' },
  ],
};

/** The ref that names the newest kernel commit known good (rollback target). */
export const BOOT_GOOD_REF = 'boot-good';
/**
 * Starts of a pending kernel that may end in a cold start (power lost, no failure seen) before
 * the next start counts as a failed boot (docs/boot.md, "Boot counting and rollback").
 */
export const BOOT_COLD_STARTS_MAX = 3;
/** Default watchdog timeout (ms) the loader arms: the ib700 counts in 2 s steps (docs/boot.md). */
export const DEFAULT_WATCHDOG_MS = 2000;

/** Where the kernel runs (identity-mapped) and the bounce buffer stage 2 reads it into. */
export const KERNEL_LOAD_ADDR = 0x100000;
export const KERNEL_BUFFER_ADDR = 0x20000;
export const KERNEL_MAX_BYTES = 0x60000; // 384 KiB: the buffer ends at 0x80000

// ---------------------------------------------------------------------------------------------
// GitFS area (docs/gitfs-format.md). All integers little-endian; byte offsets are absolute
// offsets from the start of the disk unless a field says otherwise.

/** Superblock copy A: 64 sectors (32 KiB) right after the boot area. */
export const SB_A_LBA = BOOT_AREA_END_LBA;
export const SB_SECTORS = 64;
export const SB_BYTES = SB_SECTORS * SECTOR_SIZE;
/** Superblock copy B follows copy A. */
export const SB_B_LBA = SB_A_LBA + SB_SECTORS;
/** The object log starts after both superblock copies. */
export const LOG_LBA = SB_B_LBA + SB_SECTORS;
export const SB_MAGIC_LO = 0x53465447; // "GTFS"
export const SB_MAGIC_HI = 0x31425300; // "\0SB1"  -> bytes "GTFS\0SB1"
export const GITFS_VERSION = 1;
/** Size of the superblock header that precedes the ref table. */
export const SB_HDR_SIZE = 128;
/** Ref slots in each superblock copy; slot 0 is the mainline log. */
export const REF_SLOTS = 255;
export const REF_SLOT_SIZE = 128;
export const REF_NAME_MAX = 64;
export const REF_NONE = 0xffff;

/** Ref kinds (ref_slot.kind). 0 = free slot. */
export const REF_KIND_FREE = 0;
export const REF_KIND_MAINLINE = 1;
export const REF_KIND_BRANCH = 2;
export const REF_KIND_SYMBOLIC = 3;
export const REF_KIND_BOOT = 4;
/** Boot-counting states (ref_slot.state). */
export const BOOT_STATE_NONE = 0;
export const BOOT_STATE_PENDING = 1;
export const BOOT_STATE_GOOD = 2;
export const BOOT_STATE_BAD = 3;

/** Object types: git's pack type numbers. */
export const OBJ_COMMIT = 1;
export const OBJ_TREE = 2;
export const OBJ_BLOB = 3;
export const OBJ_TAG = 4;
/** How a log record stores its object. */
export const STORE_RAW = 0;
export const STORE_DELTA = 1;
export const STORE_REFERRAL = 2;

export const REC_MAGIC = 0x43455247; // "GREC"
/** Every log record starts on a multiple of REC_ALIGN bytes, so a header never straddles a sector. */
export const REC_ALIGN = 64;
export const REC_HDR_SIZE = 64;
/** Longest delta chain a writer creates (a reader accepts up to this depth). */
export const DELTA_MAX_DEPTH = 16;
export const REFERRAL_HOLDER_SIZE = 32;

export const IDX_MAGIC = 0x58444947; // "GIDX"
/** Index region: a 1-sector header, the 256-entry fanout (2 sectors), then 32-byte entries. */
export const IDX_HDR_SIZE = 512;
export const IDX_FANOUT_OFFSET = 512;
export const IDX_ENTRIES_OFFSET = 1536;
export const IDX_ENTRY_SIZE = 32;

/** A flat tree holds at most this many entries before directories are split off. */
export const TREE_SPLIT_THRESHOLD = 256;

export const SUPERBLOCK_HDR: StructDef = {
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
};

export const REF_SLOT: StructDef = {
  name: 'gitfs_ref',
  doc: 'Ref slot (128 bytes); REF_SLOTS of them follow the superblock header',
  fields: [
    { name: 'name', size: REF_NAME_MAX, doc: 'UTF-8, zero padded; empty = free slot' },
    { name: 'target', size: 20, doc: 'SHA-1 the ref points to (zero = none yet)' },
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
};

export const REC_HDR: StructDef = {
  name: 'gitfs_rec',
  doc: 'Object log record header (64 bytes, REC_ALIGN aligned); payload follows',
  fields: [
    { name: 'magic', size: 4, doc: 'REC_MAGIC "GREC"' },
    { name: 'type', size: 1, doc: 'OBJ_COMMIT/TREE/BLOB/TAG' },
    { name: 'storage', size: 1, doc: 'STORE_RAW, STORE_DELTA or STORE_REFERRAL' },
    { name: 'depth', size: 2, doc: 'delta chain depth (0 for raw)' },
    { name: 'payload_len', size: 8, doc: 'bytes of payload after this header' },
    { name: 'object_size', size: 8, doc: 'size of the object content' },
    { name: 'hash', size: 20, doc: 'SHA-1 of "<type> <size>\\0" + content' },
    { name: 'base', size: 20, doc: 'delta base hash (STORE_DELTA), else zero' },
  ],
};

export const IDX_HDR: StructDef = {
  name: 'gitfs_idx',
  doc: 'Index region header (sector 0 of the region; fanout at +512, entries at +1536)',
  fields: [
    { name: 'magic', size: 4, doc: 'IDX_MAGIC "GIDX"' },
    { name: 'version', size: 4, doc: 'GITFS_VERSION' },
    { name: 'count', size: 4, doc: 'entries' },
    { name: 'generation', size: 4, doc: 'low 32 bits of the superblock generation' },
  ],
};

export const IDX_ENTRY: StructDef = {
  name: 'gitfs_idx_entry',
  doc: 'Index entry (32 bytes), sorted by hash',
  fields: [
    { name: 'hash', size: 20, doc: 'object SHA-1' },
    { name: 'type', size: 1, doc: 'OBJ_*' },
    { name: 'storage', size: 1, doc: 'STORE_* (STORE_REFERRAL: record holds size and holders only)' },
    { name: 'depth', size: 2, doc: 'delta chain depth (0 raw)' },
    { name: 'offset', size: 8, doc: 'absolute byte offset of the log record header' },
  ],
};

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
  { name: 'STAGE2_MAX_BYTES', value: STAGE2_MAX_BYTES, doc: 'largest stage 2 (its area)' },
  { name: 'STAGE2_LOAD_ADDR', value: STAGE2_LOAD_ADDR, doc: 'where stage 2 is loaded' },
  { name: 'BOOT_AREA_END_LBA', value: BOOT_AREA_END_LBA, doc: 'first sector after the boot area' },
  { name: 'STAGE2_HDR_OFFSET', value: STAGE2_HDR_OFFSET, doc: 'offset of stage2_hdr in stage 2' },
  { name: 'STAGE2_MAGIC', value: STAGE2_MAGIC, doc: '"GTS2"' },
  { name: 'BOOTSRC_DISK', value: BOOTSRC_DISK, doc: 'kernel read from the boot disk' },
  { name: 'BOOTSRC_APPENDED', value: BOOTSRC_APPENDED, doc: 'kernel appended to stage 2 (CD)' },
  { name: 'KERNEL_LOAD_ADDR', value: KERNEL_LOAD_ADDR, doc: 'kernel runs here' },
  { name: 'KERNEL_BUFFER_ADDR', value: KERNEL_BUFFER_ADDR, doc: 'stage 2 reads the kernel here' },
  { name: 'KERNEL_MAX_BYTES', value: KERNEL_MAX_BYTES, doc: 'largest kernel stage 2 loads' },
  { name: 'DEFAULT_WATCHDOG_MS', value: DEFAULT_WATCHDOG_MS, doc: 'default loader watchdog timeout' },
  { name: 'SB_A_LBA', value: SB_A_LBA, doc: 'superblock copy A' },
  { name: 'SB_B_LBA', value: SB_B_LBA, doc: 'superblock copy B' },
  { name: 'SB_SECTORS', value: SB_SECTORS, doc: 'sectors per superblock copy' },
  { name: 'SB_BYTES', value: SB_BYTES, doc: 'bytes per superblock copy (checksummed)' },
  { name: 'LOG_LBA', value: LOG_LBA, doc: 'first sector of the object log' },
  { name: 'SB_MAGIC_LO', value: SB_MAGIC_LO, doc: '"GTFS"' },
  { name: 'SB_MAGIC_HI', value: SB_MAGIC_HI, doc: '"\\0SB1"' },
  { name: 'GITFS_VERSION', value: GITFS_VERSION, doc: 'on-disk format version' },
  { name: 'SB_HDR_SIZE', value: SB_HDR_SIZE, doc: 'superblock header; ref table follows' },
  { name: 'REF_SLOTS', value: REF_SLOTS, doc: 'ref slots per superblock copy' },
  { name: 'REF_SLOT_SIZE', value: REF_SLOT_SIZE, doc: 'bytes per ref slot' },
  { name: 'REF_NAME_MAX', value: REF_NAME_MAX, doc: 'bytes of a ref name' },
  { name: 'REF_NONE', value: REF_NONE, doc: 'no forked-from slot' },
  { name: 'REF_KIND_FREE', value: REF_KIND_FREE, doc: 'free slot' },
  { name: 'REF_KIND_MAINLINE', value: REF_KIND_MAINLINE, doc: 'the mainline log (slot 0)' },
  { name: 'REF_KIND_BRANCH', value: REF_KIND_BRANCH, doc: 'a branch' },
  { name: 'REF_KIND_SYMBOLIC', value: REF_KIND_SYMBOLIC, doc: 'a named pointer to any object' },
  { name: 'REF_KIND_BOOT', value: REF_KIND_BOOT, doc: 'the kernel commit to boot' },
  { name: 'BOOT_STATE_NONE', value: BOOT_STATE_NONE, doc: 'no boot counting' },
  { name: 'BOOT_STATE_PENDING', value: BOOT_STATE_PENDING, doc: 'new kernel, tries_left boots' },
  { name: 'BOOT_STATE_GOOD', value: BOOT_STATE_GOOD, doc: 'kernel passed its self-test' },
  { name: 'BOOT_STATE_BAD', value: BOOT_STATE_BAD, doc: 'kernel rolled back' },
  { name: 'BOOT_COLD_STARTS_MAX', value: BOOT_COLD_STARTS_MAX, doc: 'cold starts of a pending kernel before one counts as a failure' },
  { name: 'OBJ_COMMIT', value: OBJ_COMMIT, doc: 'git commit' },
  { name: 'OBJ_TREE', value: OBJ_TREE, doc: 'git tree' },
  { name: 'OBJ_BLOB', value: OBJ_BLOB, doc: 'git blob' },
  { name: 'OBJ_TAG', value: OBJ_TAG, doc: 'git tag' },
  { name: 'STORE_RAW', value: STORE_RAW, doc: 'payload is the object content' },
  { name: 'STORE_DELTA', value: STORE_DELTA, doc: 'payload is a git delta against base' },
  { name: 'STORE_REFERRAL', value: STORE_REFERRAL, doc: 'payload lists holders; no content' },
  { name: 'REC_MAGIC', value: REC_MAGIC, doc: '"GREC"' },
  { name: 'REC_ALIGN', value: REC_ALIGN, doc: 'log record alignment' },
  { name: 'REC_HDR_SIZE', value: REC_HDR_SIZE, doc: 'log record header bytes' },
  { name: 'DELTA_MAX_DEPTH', value: DELTA_MAX_DEPTH, doc: 'longest delta chain' },
  { name: 'REFERRAL_HOLDER_SIZE', value: REFERRAL_HOLDER_SIZE, doc: 'bytes per referral holder id' },
  { name: 'IDX_MAGIC', value: IDX_MAGIC, doc: '"GIDX"' },
  { name: 'IDX_HDR_SIZE', value: IDX_HDR_SIZE, doc: 'index region header bytes' },
  { name: 'IDX_FANOUT_OFFSET', value: IDX_FANOUT_OFFSET, doc: 'fanout: 256 x u32 cumulative counts' },
  { name: 'IDX_ENTRIES_OFFSET', value: IDX_ENTRIES_OFFSET, doc: 'first index entry' },
  { name: 'IDX_ENTRY_SIZE', value: IDX_ENTRY_SIZE, doc: 'bytes per index entry' },
  { name: 'TREE_SPLIT_THRESHOLD', value: TREE_SPLIT_THRESHOLD, doc: 'max entries of a flat tree' },
];

export const STRUCTS: StructDef[] = [STAGE2_HDR, SUPERBLOCK_HDR, REF_SLOT, REC_HDR, IDX_HDR, IDX_ENTRY];

function hex(v: number): string {
  return '0x' + v.toString(16).toUpperCase();
}

export function renderLayoutInc(): string {
  const lines: string[] = [];
  lines.push('; gitfs_layout.inc -- GENERATED from gitfs/layout.ts; do not edit.');
  lines.push('; Regenerate with: npx tsx gitfs/gen-layout-inc.ts');
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
