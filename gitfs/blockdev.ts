// The byte-addressed device an image lives on. The store does all I/O through this interface so
// tests can inject faults (a power cut after the n-th write).
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { CorruptDataError, FileNotFoundError } from '../core/errors.ts';

export interface BlockDev {
  /** Size in bytes. */
  readonly size: number;
  /** Reads exactly `len` bytes at `pos`; past the end is CorruptDataError. */
  read(pos: number, len: number): Buffer;
  write(pos: number, data: Buffer): void;
  sync(): void;
  close(): void;
}

export class FileBlockDev implements BlockDev {
  private fd: number;
  readonly size: number;
  constructor(
    readonly path: string,
    readOnly: boolean,
  ) {
    try {
      this.fd = openSync(path, readOnly ? 'r' : 'r+');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new FileNotFoundError(`${path}: no such file`);
      if (code === 'EISDIR') throw new FileNotFoundError(`${path}: is a directory, not an image file`);
      throw new FileNotFoundError(`${path}: cannot open (${code ?? 'error'})`);
    }
    const st = fstatSync(this.fd);
    if (st.isDirectory()) {
      closeSync(this.fd);
      throw new FileNotFoundError(`${path}: is a directory, not an image file`);
    }
    this.size = st.size;
  }
  read(pos: number, len: number): Buffer {
    if (pos < 0 || len < 0 || pos + len > this.size) {
      throw new CorruptDataError(`read of ${len} bytes at ${pos} is past the end of the image (${this.size} bytes)`);
    }
    const buf = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, buf, done, len - done, pos + done);
      if (n <= 0) throw new CorruptDataError(`short read at ${pos + done}`);
      done += n;
    }
    return buf;
  }
  write(pos: number, data: Buffer): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, pos + done);
  }
  sync(): void {
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}
