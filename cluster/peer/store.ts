// The object store a host peer serves from and fetches into: a GitFS image (gitfs/image.ts).
// Every object read is verified by the image (a holder never serves bytes that fail their
// hash); every object stored is one transaction.
import { formatSignature, encodeCommit } from '../../gitfs/commit.ts';
import { createImage, openImage, type GitFSImage } from '../../gitfs/image.ts';
import { hashObject, numToType, typeToNum, type ObjectType } from '../../gitfs/objects.ts';
import { existsSync } from 'node:fs';

export interface StoredObject {
  otype: number;
  data: Buffer;
}

export interface ObjectStore {
  has(hash: string): boolean;
  /** The verified object, or undefined when absent, a referral, or failing its hash. */
  get(hash: string): StoredObject | undefined;
  /** Stores an object whose hash the caller verified. */
  put(hash: string, otype: number, data: Buffer): void;
  /** Commits a stored tree as the new head of a branch (parent: its head); the commit hash. */
  commit(branch: string, tree: string, message: string): string;
  revision(): string | undefined;
  objectCount(): number;
  close(): void;
}

export class GitFSStore implements ObjectStore {
  private constructor(readonly img: GitFSImage) {}

  /** Opens an image; with `createBytes`, makes an empty one first when the file is absent. */
  static open(path: string, createBytes?: number): GitFSStore {
    if (!existsSync(path) && createBytes) createImage(path, { sizeBytes: createBytes }).close();
    return new GitFSStore(openImage(path));
  }

  has(hash: string): boolean {
    return this.img.hasObject(hash);
  }

  get(hash: string): StoredObject | undefined {
    if (!this.img.hasObject(hash)) return undefined;
    try {
      const o = this.img.readObject(hash);
      return { otype: typeToNum(o.type), data: o.data };
    } catch {
      return undefined; // corrupt on disk: not served
    }
  }

  put(hash: string, otype: number, data: Buffer): void {
    const type = numToType(otype);
    if (!type) throw new RangeError(`object type ${otype}`);
    this.img.importObjects([{ hash, type, data }], []);
  }

  commit(branch: string, tree: string, message: string): string {
    const parent = this.img.readRef(branch);
    const sig = formatSignature({ name: 'gittorrent', email: 'gittorrent@localhost', time: Math.floor(Date.now() / 1000) });
    const data = encodeCommit({ tree, parents: parent ? [parent] : [], author: sig, committer: sig, headers: [['branch', branch]], message: message.endsWith('\n') ? message : message + '\n' });
    const type: ObjectType = 'commit';
    const hash = hashObject(type, data);
    this.img.importObjects([{ hash, type, data }], [{ name: branch, hash, kind: 'branch' }]);
    return hash;
  }

  revision(): string | undefined {
    return this.img.revision();
  }

  objectCount(): number {
    return this.img.objectCount();
  }

  close(): void {
    this.img.close();
  }
}
