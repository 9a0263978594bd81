// ISO 9660 writer: a level-1 primary tree carrying Rock Ridge (RRIP 1.10) long names, a Joliet
// supplementary tree, and an optional El Torito no-emulation boot entry. Output depends only on
// the input (files are sorted; dates come from `date` or a fixed epoch).
//
// Image layout (2048-byte sectors):
//   0-15 system area (zeros) | 16 PVD | 17 El Torito boot record (if boot; SeaBIOS reads LBA 17)
//   | Joliet SVD | terminator | boot catalog (if boot) | path tables: ISO L, ISO M, Joliet L,
//   Joliet M | ISO directories (path-table order) | Joliet directories | file data.
import { BadInputError } from '../../core/errors.ts';
import {
  SECTOR,
  asciiField,
  both16,
  both32,
  recordDate,
  sectorsFor,
  ucs2Field,
  ucs2be,
  volumeDate,
} from './encoding.ts';
import { bootCatalog, bootRecord, bootSectorCount } from './eltorito.ts';
import { compareIsoIds, compareJolietIds, isoIdentifiers, jolietIdentifiers, splitPath } from './names.ts';
import { MODE_DIR, MODE_FILE, erEntry, nmEntry, pxEntry, spEntry } from './rockridge.ts';

export interface IsoFile {
  /** "dir/sub/name"; a leading "/" is allowed. */
  path: string;
  data: Buffer;
}

export interface IsoBootOptions {
  /** Path of the boot file; it must also be in `files`. */
  path: string;
  /** Real-mode segment to load at; 0 (default) means the BIOS default 0x7C0. */
  loadSegment?: number;
  /** 512-byte virtual sectors to load; default: the whole file, rounded up. */
  sectorCount?: number;
}

export interface WriteIsoOptions {
  /** 1-32 d-characters (A-Z, 0-9, _). */
  volumeId: string;
  files: IsoFile[];
  boot?: IsoBootOptions;
  /** Timestamp for every date field; default DEFAULT_ISO_DATE. */
  date?: Date;
}

/** The date written when none is given (keeps output reproducible). */
export const DEFAULT_ISO_DATE = new Date(Date.UTC(2000, 0, 1, 0, 0, 0));

interface FileNode {
  name: string;
  data: Buffer;
  isoId: string;
  jolietId: string;
  lba: number;
}

interface DirNode {
  name: string;
  parent: DirNode | null;
  dirs: Map<string, DirNode>;
  files: Map<string, FileNode>;
  isoId: string;
  jolietId: string;
  iso: DirPlacement;
  joliet: DirPlacement;
}

interface DirPlacement {
  lba: number;
  size: number;
  /** 1-based number in the path table. */
  num: number;
}

type Child = { kind: 'dir'; node: DirNode } | { kind: 'file'; node: FileNode };

function newDir(name: string, parent: DirNode | null): DirNode {
  return {
    name,
    parent,
    dirs: new Map(),
    files: new Map(),
    isoId: '',
    jolietId: '',
    iso: { lba: 0, size: 0, num: 0 },
    joliet: { lba: 0, size: 0, num: 0 },
  };
}

function buildTree(files: IsoFile[]): { root: DirNode; byPath: Map<string, FileNode> } {
  const root = newDir('', null);
  const byPath = new Map<string, FileNode>();
  for (const f of files) {
    if (!Buffer.isBuffer(f.data)) throw new BadInputError(`iso: data of "${f.path}" is not a Buffer`);
    if (f.data.length > 0xffffffff) throw new BadInputError(`iso: "${f.path}" is 4 GiB or larger`);
    const parts = splitPath(f.path);
    let dir = root;
    for (const p of parts.slice(0, -1)) {
      if (dir.files.has(p)) throw new BadInputError(`iso: "${f.path}" puts a directory where a file is`);
      let sub = dir.dirs.get(p);
      if (!sub) {
        sub = newDir(p, dir);
        dir.dirs.set(p, sub);
      }
      dir = sub;
    }
    const name = parts[parts.length - 1]!;
    if (dir.files.has(name)) throw new BadInputError(`iso: duplicate path "${f.path}"`);
    if (dir.dirs.has(name)) throw new BadInputError(`iso: "${f.path}" is both a file and a directory`);
    const node: FileNode = { name, data: f.data, isoId: '', jolietId: '', lba: 0 };
    dir.files.set(name, node);
    byPath.set(parts.join('/'), node);
  }
  return { root, byPath };
}

function assignIds(dir: DirNode): void {
  const entries = [
    ...[...dir.dirs.keys()].map((name) => ({ name, isDir: true })),
    ...[...dir.files.keys()].map((name) => ({ name, isDir: false })),
  ];
  const iso = isoIdentifiers(entries);
  const jol = jolietIdentifiers(entries.map((e) => e.name));
  for (const d of dir.dirs.values()) {
    d.isoId = iso.get(d.name)!;
    d.jolietId = jol.get(d.name)!;
    assignIds(d);
  }
  for (const f of dir.files.values()) {
    f.isoId = iso.get(f.name)!;
    f.jolietId = jol.get(f.name)!;
  }
}

function children(dir: DirNode, joliet: boolean): Child[] {
  const all: Child[] = [
    ...[...dir.dirs.values()].map((node): Child => ({ kind: 'dir', node })),
    ...[...dir.files.values()].map((node): Child => ({ kind: 'file', node })),
  ];
  return all.sort((a, b) =>
    joliet ? compareJolietIds(a.node.jolietId, b.node.jolietId) : compareIsoIds(a.node.isoId, b.node.isoId),
  );
}

/** Directories in path-table order: by level, then parent number, then identifier. */
function pathTableOrder(root: DirNode, joliet: boolean): DirNode[] {
  const order: DirNode[] = [root];
  for (let i = 0; i < order.length; i++) {
    for (const c of children(order[i]!, joliet)) if (c.kind === 'dir') order.push(c.node);
  }
  return order;
}

interface RecordSpec {
  id: Buffer;
  su: Buffer;
  isDir: boolean;
  /** Called after layout to fetch the extent. */
  extent: () => { lba: number; size: number };
}

function recordLength(r: RecordSpec): number {
  const base = 33 + r.id.length + (r.id.length % 2 === 0 ? 1 : 0);
  return base + r.su.length;
}

function encodeRecord(r: RecordSpec, date: Buffer): Buffer {
  const len = recordLength(r);
  if (len > 255) throw new BadInputError(`iso: directory record of ${len} bytes (name too long)`);
  const b = Buffer.alloc(len);
  const { lba, size } = r.extent();
  b[0] = len;
  b[1] = 0;
  both32(lba).copy(b, 2);
  both32(size).copy(b, 10);
  date.copy(b, 18);
  b[25] = r.isDir ? 2 : 0;
  both16(1).copy(b, 28);
  b[32] = r.id.length;
  r.id.copy(b, 33);
  r.su.copy(b, 33 + r.id.length + (r.id.length % 2 === 0 ? 1 : 0));
  return b;
}

/** Packs records into whole sectors; a record never crosses a sector boundary. */
function packedSize(records: RecordSpec[]): number {
  let off = 0;
  for (const r of records) {
    const len = recordLength(r);
    if ((off % SECTOR) + len > SECTOR) off += SECTOR - (off % SECTOR);
    off += len;
  }
  return sectorsFor(off) * SECTOR;
}

function packRecords(records: RecordSpec[], date: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  for (const r of records) {
    const enc = encodeRecord(r, date);
    if ((off % SECTOR) + enc.length > SECTOR) off += SECTOR - (off % SECTOR);
    enc.copy(out, off);
    off += enc.length;
  }
  return out;
}

function dirRecords(dir: DirNode, joliet: boolean): RecordSpec[] {
  const place = (d: DirNode) => (): { lba: number; size: number } => (joliet ? d.joliet : d.iso);
  const rr = !joliet;
  const subdirs = dir.dirs.size;
  const self: RecordSpec = {
    id: Buffer.from([0]),
    su: rr
      ? Buffer.concat(dir.parent === null ? [spEntry(), pxEntry(MODE_DIR, 2 + subdirs), erEntry()] : [pxEntry(MODE_DIR, 2 + subdirs)])
      : Buffer.alloc(0),
    isDir: true,
    extent: place(dir),
  };
  const parent = dir.parent ?? dir;
  const up: RecordSpec = {
    id: Buffer.from([1]),
    su: rr ? pxEntry(MODE_DIR, 2 + parent.dirs.size) : Buffer.alloc(0),
    isDir: true,
    extent: place(parent),
  };
  const rest = children(dir, joliet).map((c): RecordSpec => {
    if (c.kind === 'dir') {
      const d = c.node;
      return {
        id: joliet ? ucs2be(d.jolietId) : Buffer.from(d.isoId, 'ascii'),
        su: rr ? Buffer.concat([pxEntry(MODE_DIR, 2 + d.dirs.size), nmEntry(d.name)]) : Buffer.alloc(0),
        isDir: true,
        extent: place(d),
      };
    }
    const f = c.node;
    return {
      id: joliet ? ucs2be(f.jolietId) : Buffer.from(f.isoId, 'ascii'),
      su: rr ? Buffer.concat([pxEntry(MODE_FILE, 1), nmEntry(f.name)]) : Buffer.alloc(0),
      isDir: false,
      extent: () => ({ lba: f.lba, size: f.data.length }),
    };
  });
  return [self, up, ...rest];
}

function pathTable(order: DirNode[], joliet: boolean, bigEndian: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const d of order) {
    const p = joliet ? d.joliet : d.iso;
    const id = d.parent === null ? Buffer.from([0]) : joliet ? ucs2be(d.jolietId) : Buffer.from(d.isoId, 'ascii');
    const e = Buffer.alloc(8 + id.length + (id.length % 2));
    e[0] = id.length;
    e[1] = 0;
    const parentNum = d.parent === null ? 1 : (joliet ? d.parent.joliet : d.parent.iso).num;
    if (bigEndian) {
      e.writeUInt32BE(p.lba, 2);
      e.writeUInt16BE(parentNum, 6);
    } else {
      e.writeUInt32LE(p.lba, 2);
      e.writeUInt16LE(parentNum, 6);
    }
    id.copy(e, 8);
    parts.push(e);
  }
  return Buffer.concat(parts);
}

interface VolumeFields {
  type: 1 | 2;
  volumeId: string;
  totalSectors: number;
  pathTableSize: number;
  lPath: number;
  mPath: number;
  root: RecordSpec;
  date: Date;
}

function volumeDescriptor(v: VolumeFields): Buffer {
  const b = Buffer.alloc(SECTOR);
  const joliet = v.type === 2;
  const text = (s: string, len: number): Buffer => (joliet ? ucs2Field(s, len) : asciiField(s, len));
  b[0] = v.type;
  b.write('CD001', 1, 'ascii');
  b[6] = 1;
  text('', 32).copy(b, 8); // system identifier
  text(v.volumeId, 32).copy(b, 40);
  both32(v.totalSectors).copy(b, 80);
  if (joliet) b.write('%/E', 88, 'ascii'); // UCS-2 level 3
  both16(1).copy(b, 120); // volume set size
  both16(1).copy(b, 124); // volume sequence number
  both16(SECTOR).copy(b, 128);
  both32(v.pathTableSize).copy(b, 132);
  b.writeUInt32LE(v.lPath, 140);
  b.writeUInt32BE(v.mPath, 148);
  encodeRecord(v.root, recordDate(v.date)).copy(b, 156);
  text('', 128).copy(b, 190); // volume set
  text('', 128).copy(b, 318); // publisher
  text('', 128).copy(b, 446); // data preparer
  text('GITTORRENT', 128).copy(b, 574); // application
  text('', 37).copy(b, 702);
  text('', 37).copy(b, 739);
  text('', 37).copy(b, 776);
  volumeDate(v.date).copy(b, 813);
  volumeDate(v.date).copy(b, 830);
  volumeDate(null).copy(b, 847);
  volumeDate(null).copy(b, 864);
  b[881] = 1;
  return b;
}

function terminator(): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = 255;
  b.write('CD001', 1, 'ascii');
  b[6] = 1;
  return b;
}

/** Builds an ISO 9660 image (Rock Ridge + Joliet names, optional El Torito boot entry). */
export function writeIso(opts: WriteIsoOptions): Buffer {
  if (!/^[A-Z0-9_]{1,32}$/.test(opts.volumeId))
    throw new BadInputError(`iso: volume id "${opts.volumeId}" must be 1-32 characters of A-Z, 0-9 and _`);
  const date = opts.date ?? DEFAULT_ISO_DATE;
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1900 || date.getUTCFullYear() > 2155)
    throw new BadInputError('iso: date must be a valid date between 1900 and 2155');
  const { root, byPath } = buildTree(opts.files);
  assignIds(root);

  let bootFile: FileNode | undefined;
  let bootCount = 0;
  if (opts.boot) {
    bootFile = byPath.get(splitPath(opts.boot.path).join('/'));
    if (!bootFile) throw new BadInputError(`iso: boot file "${opts.boot.path}" is not among the files`);
    if (bootFile.data.length === 0) throw new BadInputError(`iso: boot file "${opts.boot.path}" is empty`);
    bootCount = bootSectorCount(bootFile.data.length, opts.boot.loadSegment ?? 0, opts.boot.sectorCount);
  }

  const isoOrder = pathTableOrder(root, false);
  const jolOrder = pathTableOrder(root, true);
  isoOrder.forEach((d, i) => (d.iso.num = i + 1));
  jolOrder.forEach((d, i) => (d.joliet.num = i + 1));
  const isoRecs = new Map(isoOrder.map((d) => [d, dirRecords(d, false)]));
  const jolRecs = new Map(jolOrder.map((d) => [d, dirRecords(d, true)]));
  for (const d of isoOrder) d.iso.size = packedSize(isoRecs.get(d)!);
  for (const d of jolOrder) d.joliet.size = packedSize(jolRecs.get(d)!);
  // Path table sizes do not depend on LBAs.
  const isoPtSize = pathTable(isoOrder, false, false).length;
  const jolPtSize = pathTable(jolOrder, true, false).length;

  // Layout.
  let lba = 16;
  const pvdLba = lba++;
  const brLba = opts.boot ? lba++ : -1;
  const svdLba = lba++;
  const termLba = lba++;
  const catalogLba = opts.boot ? lba++ : -1;
  const isoL = lba;
  lba += sectorsFor(isoPtSize);
  const isoM = lba;
  lba += sectorsFor(isoPtSize);
  const jolL = lba;
  lba += sectorsFor(jolPtSize);
  const jolM = lba;
  lba += sectorsFor(jolPtSize);
  for (const d of isoOrder) {
    d.iso.lba = lba;
    lba += d.iso.size / SECTOR;
  }
  for (const d of jolOrder) {
    d.joliet.lba = lba;
    lba += d.joliet.size / SECTOR;
  }
  const fileOrder: FileNode[] = [];
  for (const d of isoOrder) for (const c of children(d, false)) if (c.kind === 'file') fileOrder.push(c.node);
  for (const f of fileOrder) {
    if (f.data.length === 0) continue; // empty files point at LBA 0
    f.lba = lba;
    lba += sectorsFor(f.data.length);
  }
  const total = lba;
  if (total > 0xffffffff) throw new BadInputError(`iso: image of ${total} sectors is too large`);

  const img = Buffer.alloc(total * SECTOR);
  const at = (sector: number, data: Buffer): void => {
    data.copy(img, sector * SECTOR);
  };
  const recDate = recordDate(date);
  at(
    pvdLba,
    volumeDescriptor({
      type: 1,
      volumeId: opts.volumeId,
      totalSectors: total,
      pathTableSize: isoPtSize,
      lPath: isoL,
      mPath: isoM,
      root: { ...isoRecs.get(root)![0]!, su: Buffer.alloc(0) },
      date,
    }),
  );
  at(
    svdLba,
    volumeDescriptor({
      type: 2,
      volumeId: opts.volumeId.slice(0, 16),
      totalSectors: total,
      pathTableSize: jolPtSize,
      lPath: jolL,
      mPath: jolM,
      root: jolRecs.get(root)![0]!,
      date,
    }),
  );
  at(termLba, terminator());
  if (opts.boot && bootFile) {
    at(brLba, bootRecord(catalogLba));
    at(catalogLba, bootCatalog({ lba: bootFile.lba, sectorCount: bootCount, loadSegment: opts.boot.loadSegment ?? 0 }));
  }
  at(isoL, pathTable(isoOrder, false, false));
  at(isoM, pathTable(isoOrder, false, true));
  at(jolL, pathTable(jolOrder, true, false));
  at(jolM, pathTable(jolOrder, true, true));
  for (const d of isoOrder) at(d.iso.lba, packRecords(isoRecs.get(d)!, recDate, d.iso.size));
  for (const d of jolOrder) at(d.joliet.lba, packRecords(jolRecs.get(d)!, recDate, d.joliet.size));
  for (const f of fileOrder) if (f.data.length > 0) at(f.lba, f.data);
  return img;
}
