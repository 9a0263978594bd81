// The assembly's naming and header rules (STYLE.md), checked on the sources:
//  - `gfs_` / `GFS_` names are internal to kernel-asm/lib/: code outside lib/ uses only the
//    public `gitfs_` / `GITFS_` API;
//  - every routine something calls has a header naming it, with a CLOBBERS: line.
// Whether the CLOBBERS lines are true is checked by running the kernel: test/kernel/contracts.
import { describe, expect, it } from 'vitest';
import { callTargets, codeOf, readAsmFiles, readHeaders } from '../helpers/asm-headers.ts';

const files = readAsmFiles();

describe('assembly names and headers', () => {
  it('reads the sources (a guard against a test that checks nothing)', () => {
    expect(files.some((f) => f.path === 'lib/gitfs.asm')).toBe(true);
    expect(files.some((f) => f.path === 'kernel/main.asm')).toBe(true);
    expect(files.some((f) => f.path === 'boot/stage2.asm')).toBe(true);
  });

  it('uses no gfs_ (internal) name outside kernel-asm/lib/', () => {
    const uses: string[] = [];
    for (const f of files) {
      if (f.path.startsWith('lib/')) continue;
      f.lines.forEach((line, i) => {
        if (/\bgfs_\w*/i.test(codeOf(line))) uses.push(`kernel-asm/${f.path}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(uses).toEqual([]);
  });

  it('the internal-name scan sees a use when there is one', () => {
    expect(/\bgfs_\w*/i.test(codeOf('\tcall gfs_read            ; a comment'))).toBe(true);
    expect(/\bgfs_\w*/i.test(codeOf('\tcall gitfs_read_object   ; not gfs_load'))).toBe(false);
    expect(/\bgfs_\w*/i.test(codeOf('\tdb "gfs_x", 0'))).toBe(false);
  });

  it('gives every called routine a header with a CLOBBERS line', () => {
    const headers = readHeaders(files);
    const missing: string[] = [];
    for (const [name, sites] of callTargets(files)) {
      const h = headers.get(name);
      if (!h) missing.push(`${name} (called at ${sites[0]}): no header`);
      else if (h.clobbersText === undefined) missing.push(`${name} (kernel-asm/${h.file}:${h.line}): no CLOBBERS line`);
    }
    expect(missing).toEqual([]);
  });
});
