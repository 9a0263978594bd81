// ISO 9660 reader: the files of an image (names from Rock Ridge, else Joliet, else plain
// ISO 9660 with ";1" stripped) and its El Torito default boot entry. Everything read is
// checked; any fault is a BadInputError naming it. Work is linear in the image size: each
// directory extent is read once and the directories together may not exceed the image.
import { BadInputError } from '../../core/errors.ts';
import { SECTOR, fromUcs2be, readBoth16, readBoth32 } from './encoding.ts';
import { EL_TORITO_ID, parseCatalog } from './eltorito.ts';
import { type Continuation, type SuspInfo, parseSusp } from './rockridge.ts';

export interface IsoBootInfo {
  /** The file whose extent starts at the boot image, when there is one. */
  path?: string;
  lba: number;
  /** 512-byte virtual sectors the BIOS loads. */
  sectorCount: number;
  /** As stored: 0 means the BIOS default 0x7C0. */
  loadSegment: number;
  /** 0 = 80x86, 0xEF = EFI, ... */
  platform: number;
  /** 0 = no emulation, 1-3 floppy, 4 hard disk. */
  emulation: number;
}

export interface IsoImage {
  volumeId: string;
  /** Path ("dir/name", no leading "/") → contents (views into the input buffer). */
  files: Map<string, Buffer>;
  boot?: IsoBootInfo;
}

function bad(msg: string): never {
  throw new BadInputError(`bad ISO: ${msg}`);
}

interface DirRecord {
  sector: number;
  lba: number;
  size: number;
  flags: number;
  id: Buffer;
  su: Buffer;
}

/** Parses the directory record at `off` (already known to lie inside `buf`). */
function parseRecord(buf: Buffer, off: number, len: number, sector: number): DirRecord {
  const idLen = buf[off + 32]!;
  if (33 + idLen > len) bad(`directory record at sector ${sector} has a name longer than the record`);
  const lba = readBoth32(buf, off + 2);
  const size = readBoth32(buf, off + 10);
  if (lba === null || size === null) bad(`directory record at sector ${sector} has mismatched both-endian fields`);
  const suStart = 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
  return {
    sector,
    lba,
    size,
    flags: buf[off + 25]!,
    id: buf.subarray(off + 33, off + 33 + idLen),
    su: buf.subarray(off + Math.min(suStart, len), off + len),
  };
}

type NameMode = 'rr' | 'joliet' | 'iso';

class Reader {
  private dirBytes = 0;
  private readonly visited = new Set<number>();
  readonly files = new Map<string, Buffer>();
  readonly fileLba = new Map<number, string>();
  private suspSkip = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly mode: NameMode,
  ) {}

  private checkExtent(lba: number, size: number, what: string): void {
    if (size === 0) return;
    if (lba * SECTOR + size > this.buf.length) bad(`${what} at sector ${lba} (${size} bytes) runs past the end of the image`);
  }

  /** Iterates the records of a directory extent. */
  records(lba: number, size: number, what: string): DirRecord[] {
    if (size === 0) bad(`${what} at sector ${lba} is empty`);
    this.checkExtent(lba, size, what);
    this.dirBytes += size;
    if (this.dirBytes > this.buf.length) bad('directories overlap (more directory data than the image holds)');
    const base = lba * SECTOR;
    const out: DirRecord[] = [];
    let off = 0;
    while (off < size) {
      const sector = lba + Math.floor(off / SECTOR);
      const len = this.buf[base + off]!;
      if (len === 0) {
        off = (Math.floor(off / SECTOR) + 1) * SECTOR;
        continue;
      }
      if (len < 34) bad(`directory record at sector ${sector} is too short (${len} bytes)`);
      if (off + len > size) bad(`directory record at sector ${sector} runs past the end of its directory`);
      if ((off % SECTOR) + len > SECTOR) bad(`directory record at sector ${sector} crosses a sector boundary`);
      out.push(parseRecord(this.buf, base + off, len, sector));
      off += len;
    }
    return out;
  }

  /** Reads the SUSP entries of a record, following CE continuation areas. */
  private susp(rec: DirRecord, skip: number): SuspInfo & { nm: Buffer[] } {
    const info: SuspInfo & { nm: Buffer[] } = { relocated: false, nm: [] };
    let area = rec.su.subarray(Math.min(skip, rec.su.length));
    const seen = new Set<string>();
    for (let hops = 0; ; hops++) {
      const r = parseSusp(area, info, info.nm);
      if (typeof r === 'string') bad(`${r} in directory record at sector ${rec.sector}`);
      if (r === null) break;
      const ce: Continuation = r;
      const key = `${ce.lba}:${ce.offset}`;
      if (hops >= 64 || seen.has(key)) bad(`continuation areas loop at directory record in sector ${rec.sector}`);
      seen.add(key);
      const start = ce.lba * SECTOR + ce.offset;
      if (ce.offset >= SECTOR || start + ce.length > this.buf.length)
        bad(`continuation area at sector ${ce.lba} runs past the end of the image`);
      area = this.buf.subarray(start, start + ce.length);
    }
    return info;
  }

  private nameOf(rec: DirRecord): string {
    let name: string;
    if (this.mode === 'rr') {
      const info = this.susp(rec, this.suspSkip);
      if (info.nm.length > 0) name = Buffer.concat(info.nm).toString('utf8');
      else name = this.plainName(rec);
    } else if (this.mode === 'joliet') {
      if (rec.id.length % 2 !== 0) bad(`Joliet name of odd length at sector ${rec.sector}`);
      name = fromUcs2be(rec.id).replace(/;\d*$/, '');
    } else {
      name = this.plainName(rec);
    }
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
      bad(`directory record at sector ${rec.sector} has an invalid name "${name}"`);
    return name;
  }

  private plainName(rec: DirRecord): string {
    let n = rec.id.toString('latin1').replace(/;\d*$/, '');
    if (n.endsWith('.') && !(rec.flags & 2)) n = n.slice(0, -1);
    return n;
  }

  /** Walks the tree from the root record. */
  walk(root: DirRecord): void {
    if (!(root.flags & 2)) bad('root directory record is not a directory');
    if (this.mode === 'rr') {
      // SP in the root "." record gives the number of bytes to skip in every system use area.
      const first = this.records(root.lba, root.size, 'root directory')[0];
      this.dirBytes = 0;
      if (first) {
        const info: SuspInfo = { relocated: false };
        const r = parseSusp(first.su, info, []);
        if (typeof r === 'string') bad(`${r} in root directory at sector ${first.sector}`);
        this.suspSkip = info.spSkip ?? 0;
      }
    }
    const stack: Array<{ lba: number; size: number; path: string }> = [{ lba: root.lba, size: root.size, path: '' }];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      if (this.visited.has(dir.lba)) bad(`directory at sector ${dir.lba} is reached twice (a loop)`);
      this.visited.add(dir.lba);
      const recs = this.records(dir.lba, dir.size, 'directory');
      const names = new Set<string>();
      let multi: { name: string; parts: Buffer[]; lba: number; total: number } | null = null;
      for (const rec of recs) {
        if (rec.id.length === 1 && (rec.id[0] === 0 || rec.id[0] === 1)) continue; // "." / ".."
        if (rec.flags & 4) continue; // associated file
        let isDir = (rec.flags & 2) !== 0;
        let lba = rec.lba;
        let size = rec.size;
        if (this.mode === 'rr') {
          const info = this.susp(rec, this.suspSkip);
          if (info.relocated) continue; // shown where its CL entry points from
          if (info.childLink !== undefined) {
            const target = this.records(info.childLink, SECTOR, 'relocated directory')[0];
            this.dirBytes -= SECTOR;
            if (!target) bad(`relocated directory at sector ${info.childLink} has no "." record`);
            isDir = true;
            lba = target.lba;
            size = target.size;
          }
        }
        const name = this.nameOf(rec);
        const path = dir.path === '' ? name : `${dir.path}/${name}`;
        if (multi && (multi.name !== name || isDir)) bad(`multi-extent file "${multi.name}" is cut short`);
        if (isDir) {
          if (names.has(name)) bad(`duplicate name "${path}"`);
          names.add(name);
          stack.push({ lba, size, path });
          continue;
        }
        this.checkExtent(lba, size, `file "${path}"`);
        const data = size === 0 ? Buffer.alloc(0) : this.buf.subarray(lba * SECTOR, lba * SECTOR + size);
        if (rec.flags & 0x80) {
          multi ??= { name, parts: [], lba, total: 0 };
          multi.parts.push(data);
          multi.total += size;
          if (multi.total > this.buf.length) bad(`multi-extent file "${path}" is larger than the image`);
          continue;
        }
        let content = data;
        let firstLba = lba;
        if (multi) {
          content = Buffer.concat([...multi.parts, data]);
          firstLba = multi.lba;
          multi = null;
        }
        if (names.has(name)) bad(`duplicate name "${path}"`);
        names.add(name);
        this.files.set(path, content);
        if (content.length > 0 && !this.fileLba.has(firstLba)) this.fileLba.set(firstLba, path);
      }
      if (multi) bad(`multi-extent file "${multi.name}" is cut short`);
    }
  }
}

function readIsoChecked(buf: Buffer): IsoImage {
  if (!Buffer.isBuffer(buf)) bad('input is not a Buffer');
  if (buf.length < 17 * SECTOR) bad(`image of ${buf.length} bytes is too small to hold a volume descriptor`);
  let pvd: number | undefined;
  let joliet: number | undefined;
  let bootRec: number | undefined;
  for (let s = 16; ; s++) {
    const off = s * SECTOR;
    if (off + SECTOR > buf.length) bad(`volume descriptors run past the end of the image at sector ${s} (no terminator)`);
    if (buf.toString('latin1', off + 1, off + 6) !== 'CD001') bad(`volume descriptor at sector ${s} lacks the CD001 signature`);
    const type = buf[off]!;
    if (type === 255) break;
    if (type === 1 && pvd === undefined) pvd = off;
    if (type === 2 && joliet === undefined && buf[off + 88] === 0x25 && buf[off + 89] === 0x2f) {
      const lvl = buf[off + 90];
      if (lvl === 0x40 || lvl === 0x43 || lvl === 0x45) joliet = off;
    }
    if (type === 0 && bootRec === undefined && buf.toString('latin1', off + 7, off + 7 + EL_TORITO_ID.length) === EL_TORITO_ID)
      bootRec = off;
  }
  if (pvd === undefined) bad('no primary volume descriptor');
  const blockSize = readBoth16(buf, pvd + 128);
  if (blockSize !== SECTOR) bad(`logical block size is ${blockSize ?? 'inconsistent'}, not 2048`);
  const volumeId = buf.toString('latin1', pvd + 40, pvd + 72).replace(/[ \0]+$/, '');

  const rootOf = (vd: number): DirRecord => {
    const len = buf[vd + 156]!;
    if (len < 34) bad(`root directory record in the descriptor at sector ${vd / SECTOR} has length ${len}`);
    return parseRecord(buf, vd + 156, 34, vd / SECTOR);
  };
  const pvdRoot = rootOf(pvd);

  // Rock Ridge is in use when the root's "." record starts its system use area with SP.
  let mode: NameMode = 'iso';
  let root = pvdRoot;
  const probe = new Reader(buf, 'iso');
  const rootRecs = probe.records(pvdRoot.lba, pvdRoot.size, 'root directory');
  const dot = rootRecs[0];
  if (dot && dot.su.length >= 7 && dot.su.toString('latin1', 0, 2) === 'SP' && dot.su[4] === 0xbe && dot.su[5] === 0xef) {
    mode = 'rr';
  } else if (joliet !== undefined) {
    mode = 'joliet';
    root = rootOf(joliet);
  }
  const reader = new Reader(buf, mode);
  reader.walk(root);

  let boot: IsoBootInfo | undefined;
  if (bootRec !== undefined) {
    const cat = buf.readUInt32LE(bootRec + 0x47);
    const entry = parseCatalog(buf, cat * SECTOR);
    if (typeof entry === 'string') bad(`${entry} (catalog at sector ${cat})`);
    if (entry.lba * SECTOR + entry.sectorCount * 512 > buf.length || entry.lba * SECTOR >= buf.length)
      bad(`boot image at sector ${entry.lba} (${entry.sectorCount} × 512 bytes) runs past the end of the image`);
    boot = {
      lba: entry.lba,
      sectorCount: entry.sectorCount,
      loadSegment: entry.loadSegment,
      platform: entry.platform,
      emulation: entry.emulation,
    };
    const path = reader.fileLba.get(entry.lba);
    if (path !== undefined) boot.path = path;
  }
  return boot ? { volumeId, files: reader.files, boot } : { volumeId, files: reader.files };
}

/** Reads an ISO 9660 image. Throws BadInputError (and nothing else) for any malformed input. */
export function readIso(buf: Buffer): IsoImage {
  try {
    return readIsoChecked(buf);
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    // A check this reader lacks: still report it as bad input, but recognisably.
    throw new BadInputError(`bad ISO: internal reader error: ${e instanceof Error ? e.message : String(e)}`);
  }
}
