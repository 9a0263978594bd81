// The writer's output judged by real tools: isoinfo (genisoimage) and xorriso.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIso } from '../../builder/iso/index.ts';
import { bytes, run, runBytes, sampleFiles, tempDir } from './helpers.ts';

describe('writeIso output read by isoinfo and xorriso', () => {
  const files = sampleFiles();
  const bootData = bytes(70_000, 42);
  files.push({ path: 'boot/boot.img', data: bootData });
  let t: ReturnType<typeof tempDir>;
  let iso: string;

  beforeAll(() => {
    t = tempDir('tools');
    iso = join(t.dir, 'test.iso');
    writeFileSync(iso, writeIso({ volumeId: 'GITTORRENT_TEST', files, boot: { path: 'boot/boot.img' } }));
  });
  afterAll(() => t.cleanup());

  it('isoinfo -d shows the volume id, El Torito, Joliet and Rock Ridge', () => {
    const r = run('isoinfo', ['-d', '-i', iso]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Volume id: GITTORRENT_TEST');
    expect(r.stdout).toContain('El Torito VD version 1 found');
    expect(r.stdout).toContain('Joliet with UCS level 3 found');
    expect(r.stdout).toContain('Rock Ridge signatures version 1 found');
    expect(r.stdout).toMatch(/Bootid 88 \(bootable\)/);
    expect(r.stdout).toMatch(/Boot media 0 \(No Emulation Boot\)/);
    // isoinfo prints the sector count in hex: 70000 bytes = 137 = 0x89 sectors
    expect(r.stdout).toMatch(/Nsect 89\b/);
  });

  it('isoinfo -R -l and -J -l list the long names', () => {
    const rr = run('isoinfo', ['-R', '-l', '-i', iso]);
    expect(rr.status).toBe(0);
    expect(rr.stdout).toContain('a file name that is well over thirty-one characters long.txt');
    expect(rr.stdout).toContain('Directory listing of /a/b/c/d/e/f/');
    expect(rr.stdout).toContain('deep file.dat');
    expect(rr.stdout).toContain('日本語のファイル.txt');
    const jo = run('isoinfo', ['-J', '-l', '-i', iso]);
    expect(jo.status).toBe(0);
    expect(jo.stdout).toContain('a file name that is well over thirty-one characters long.txt');
    expect(jo.stdout).toContain('Directory listing of /with space/');
  });

  it('isoinfo -R -x extracts files byte-identical', () => {
    for (const f of files.filter((x) => x.data.length < 100_000)) {
      const out = runBytes('isoinfo', ['-R', '-x', `/${f.path}`, '-i', iso]);
      expect(out.equals(f.data), f.path).toBe(true);
    }
  });

  it('xorriso extracts the whole tree byte-identical', () => {
    const dest = join(t.dir, 'extract');
    mkdirSync(dest);
    const r = run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', dest]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/SORRY|FAILURE|FATAL/);
    for (const f of files) expect(readFileSync(join(dest, f.path)).equals(f.data), f.path).toBe(true);
  });

  it('xorriso reports the El Torito entry with the whole file as load size', () => {
    const r = run('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+137\s+\d+/);
    expect(r.stdout).toContain('El Torito img path :   1  /boot/boot.img');
    const m = run('xorriso', ['-indev', iso, '-report_el_torito', 'as_mkisofs']);
    expect(m.stdout).toContain("-b '/boot/boot.img'");
    expect(m.stdout).toContain('-no-emul-boot');
    expect(m.stdout).toContain('-boot-load-size 137');
  });

  it('xorriso loads the image without complaints and -check_media finds it all good', () => {
    const r = run('xorriso', ['-indev', iso, '-check_media', '--']);
    expect(r.status).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).not.toMatch(/WARNING|SORRY|FAILURE|FATAL/);
    expect(all).toMatch(/Media region :\s+0 ,\s+\d+ , \+ good/);
    expect(all).not.toMatch(/Media region :.*(- |0 )(bad|unreadable)/);
  });

  it('an ISO with custom load segment and sector count reports them', () => {
    const p = join(t.dir, 'seg.iso');
    writeFileSync(
      p,
      writeIso({
        volumeId: 'SEG',
        files: [{ path: 'b.img', data: bytes(4096, 9) }],
        boot: { path: 'b.img', loadSegment: 0x1000, sectorCount: 4 },
      }),
    );
    const r = run('xorriso', ['-indev', p, '-report_el_torito', 'plain']);
    expect(r.stdout).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x1000\s+0x00\s+4\s+\d+/);
  });

  it('a 0-file ISO is accepted by isoinfo and xorriso', () => {
    const p = join(t.dir, 'empty.iso');
    writeFileSync(p, writeIso({ volumeId: 'EMPTY', files: [] }));
    expect(run('isoinfo', ['-d', '-i', p]).stdout).toContain('Volume id: EMPTY');
    const r = run('xorriso', ['-indev', p, '-find', '/']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("'/'");
  });
});
