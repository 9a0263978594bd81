// The holder cache: hash → up to 8 node numbers heard in I_HAVE or HAVE, newest last, with the
// size and type they announced. Bounded in hashes too (oldest forgotten first).

export interface Holding {
  node: number;
  size: number;
  otype: number;
}

export const HOLDERS_PER_HASH = 8;

export class HolderCache {
  private readonly map = new Map<string, Holding[]>();

  constructor(private readonly maxHashes = 65536) {}

  add(hash: string, h: Holding): void {
    let list = this.map.get(hash);
    if (!list) {
      if (this.map.size >= this.maxHashes) this.map.delete(this.map.keys().next().value!);
      this.map.set(hash, (list = []));
    }
    const i = list.findIndex((x) => x.node === h.node);
    if (i >= 0) list.splice(i, 1);
    list.push(h);
    if (list.length > HOLDERS_PER_HASH) list.shift();
  }

  get(hash: string): Holding[] {
    return [...(this.map.get(hash) ?? [])];
  }

  forget(hash: string, node: number): void {
    const list = this.map.get(hash);
    if (!list) return;
    const i = list.findIndex((x) => x.node === node);
    if (i >= 0) list.splice(i, 1);
  }

  get size(): number {
    return this.map.size;
  }
}
