// A directory as GitFS objects in a host peer's store: blobs (modes as `image commit` gives
// them: 100644, 100755, 120000 for symlinks; .git skipped) and trees (GitFS's split form), so
// `cluster commit` delivers the same tree `gittorrent image commit` would make.
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NotFoundError, UsageError } from '../../core/errors.ts';
import { hashObject } from '../../gitfs/objects.ts';
import { buildTree, normalizePath, type TreeFile } from '../../gitfs/tree.ts';
import type { ObjectStore } from './store.ts';

export function storeDirectory(store: ObjectStore, dir: string): { tree: string; files: number } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new NotFoundError(`${dir} is not a directory`);
  const files: TreeFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === '.git') continue;
      const p = join(d, name);
      const st = lstatSync(p);
      let data: Buffer;
      let mode: string;
      if (st.isDirectory()) {
        walk(p);
        continue;
      } else if (st.isSymbolicLink()) {
        data = Buffer.from(readlinkSync(p));
        mode = '120000';
      } else if (st.isFile()) {
        data = readFileSync(p);
        mode = st.mode & 0o111 ? '100755' : '100644';
      } else continue;
      const hash = hashObject('blob', data);
      store.put(hash, 3, data);
      files.push({ path: normalizePath(relative(dir, p)), mode, hash });
    }
  };
  walk(dir);
  if (files.length === 0) throw new UsageError(`${dir} has no files to commit`);
  const tree = buildTree(files, (t) => store.put(t.hash, 2, t.data));
  return { tree, files: files.length };
}
