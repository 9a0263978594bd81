// A host directory as files to commit. Names are kept as the host gives them: only "/" separates
// path components ("back\slash" is one file name). `.git` is skipped, as are sockets, FIFOs and
// devices. Every directory is listed and every file opened once up front, so an unreadable entry
// fails the commit (FileNotFoundError naming it) before the image is touched; contents are read
// when they are committed, big files in chunks (never whole in memory).
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError, FileNotFoundError } from '../core/errors.ts';
import type { FileInput } from './commit-tree.ts';
import type { BlobSource } from './store.ts';

/** A host file system error as a one-line user error naming the path. */
export function hostFileError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new FileNotFoundError(`${path}: cannot read it (permission denied)`);
  if (code === 'ENOENT') return new FileNotFoundError(`${path}: no such file (removed while it was being read?)`);
  if (code) return new BadInputError(`${path}: cannot read it (${code})`);
  return e instanceof Error ? e : new Error(String(e));
}

/** A host file read in pieces when it is committed (opened for each piece). */
export class HostFileSource implements BlobSource {
  constructor(
    readonly file: string,
    readonly size: number,
  ) {}

  read(pos: number, buf: Buffer): number {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (e) {
      throw hostFileError(this.file, e);
    }
    try {
      let done = 0;
      while (done < buf.length) {
        const n = readSync(fd, buf, done, buf.length - done, pos + done);
        if (n <= 0) break;
        done += n;
      }
      return done;
    } catch (e) {
      throw hostFileError(this.file, e);
    } finally {
      closeSync(fd);
    }
  }
}

function attempt<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw hostFileError(path, e);
  }
}

/** Reads a directory into file inputs (skipping .git), in path order. */
export function readDirFiles(dir: string): FileInput[] {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new FileNotFoundError(`${dir}: no such directory`);
    throw hostFileError(dir, e);
  }
  if (!st.isDirectory()) throw new BadInputError(`${dir}: not a directory`);
  const out: FileInput[] = [];
  const walk = (d: string, prefix: string) => {
    const names = attempt(d, () => readdirSync(d)).sort();
    for (const name of names) {
      if (name === '.git') continue;
      const full = join(d, name);
      const rel = prefix + name;
      const ls = attempt(full, () => lstatSync(full));
      if (ls.isSymbolicLink()) out.push({ path: rel, data: Buffer.from(attempt(full, () => readlinkSync(full))), mode: 0o120000 });
      else if (ls.isDirectory()) walk(full, rel + '/');
      else if (ls.isFile()) {
        attempt(full, () => closeSync(openSync(full, 'r')));
        out.push({ path: rel, source: new HostFileSource(full, ls.size), mode: ls.mode & 0o111 ? 0o100755 : 0o100644 });
      }
    }
  };
  walk(dir, '');
  return out;
}
