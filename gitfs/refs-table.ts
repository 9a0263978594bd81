// The ref table: the REF_SLOTS slots the superblock carries (slot 0 is the mainline log), ref
// updates, and the mainline-log commit that records each one (its tree lists every other ref as
// a gitlink). Updates go through the store's transactions.
import { NotFoundError, UsageError } from '../core/errors.ts';
import { encodeCommit, formatSignature } from './commit.ts';
import { REF_NONE, REF_SLOTS } from './layout.ts';
import { isFullHash, ZERO_HASH } from './objects.ts';
import { BOOT_LOG, type BootState, isNodeLocalRef, kindToNum, MAINLINE, numToKind, numToState, type RefKind, stateToNum, validateRefName } from './refs.ts';
import type { ObjectStore } from './store.ts';
import { buildTree, MODE_GITLINK, type TreeFile } from './tree.ts';

export interface RefInfo {
  name: string;
  hash: string;
  kind: RefKind;
  forkedFrom?: string;
  state: BootState;
  triesLeft: number;
  slot: number;
}

export interface SetRefOptions {
  kind?: RefKind;
  /** Name of the branch this one was forked from (new refs only, or to change it). */
  forkedFrom?: string;
  state?: BootState;
  triesLeft?: number;
  /** Reason recorded in the mainline-log commit message. */
  reason?: string;
  time?: number;
}

export interface Identity {
  name: string;
  email: string;
  /** Seconds since the epoch; default now. */
  time?: number;
  tz?: string;
}

export const DEFAULT_IDENTITY: Identity = { name: 'gittorrent', email: 'gittorrent@localhost' };

export class RefTable {
  constructor(private readonly store: ObjectStore) {}

  /** The slot index of a ref, or -1. */
  slotOf(name: string): number {
    return this.store.slots.findIndex((r) => r?.name === name);
  }

  private info(slot: number): RefInfo {
    const slots = this.store.slots;
    const r = slots[slot]!;
    const from = r.forkedFrom !== REF_NONE ? slots[r.forkedFrom]?.name : undefined;
    return { name: r.name, hash: r.target, kind: numToKind(r.kind), ...(from ? { forkedFrom: from } : {}), state: numToState(r.state), triesLeft: r.triesLeft, slot };
  }

  /** The hash a ref points to, or undefined (also for a ref with no commits yet). */
  readRef(name: string): string | undefined {
    const s = this.slotOf(name);
    if (s < 0) return undefined;
    const t = this.store.slots[s]!.target;
    return t === ZERO_HASH ? undefined : t;
  }

  refInfo(name: string): RefInfo | undefined {
    const s = this.slotOf(name);
    return s < 0 ? undefined : this.info(s);
  }

  listRefs(): RefInfo[] {
    const out: RefInfo[] = [];
    this.store.slots.forEach((r, i) => {
      if (r) out.push(this.info(i));
    });
    return out;
  }

  /** The filesystem revision: the mainline log's head. */
  revision(): string | undefined {
    return this.readRef(MAINLINE);
  }

  /** Points a ref at an object (atomically), with a mainline-log commit for the update. */
  setRef(name: string, hash: string, opts: SetRefOptions = {}): void {
    this.store.transaction(() => this.updateRef(name, hash, opts));
  }

  /** Points a ref at an object inside the caller's transaction. */
  updateRef(name: string, hash: string, opts: SetRefOptions): void {
    if (name === MAINLINE || name === BOOT_LOG) throw new UsageError(`the ${name} ref is written only by the store`);
    validateRefName(name);
    if (!isFullHash(hash)) throw new UsageError(`bad hash ${JSON.stringify(hash)}`);
    const target = this.store.lookup(hash);
    if (!target) throw new NotFoundError(`object ${hash} not found`);
    const slots = this.store.slots;
    let slot = this.slotOf(name);
    const old = slot >= 0 ? slots[slot]!.target : ZERO_HASH;
    const kind: RefKind = opts.kind ?? (slot >= 0 ? numToKind(slots[slot]!.kind) : name === 'boot' ? 'boot' : target.type === 1 ? 'branch' : 'symbolic');
    if (kind === 'mainline') throw new UsageError('only slot 0 is the mainline ref');
    if ((kind === 'branch' || kind === 'boot') && target.type !== 1) throw new UsageError(`a ${kind} ref must point to a commit; ${hash} is not one`);
    let forkedFrom = slot >= 0 ? slots[slot]!.forkedFrom : REF_NONE;
    if (opts.forkedFrom !== undefined) {
      const f = this.slotOf(opts.forkedFrom);
      if (f < 0) throw new NotFoundError(`branch ${opts.forkedFrom} not found`);
      forkedFrom = f;
    }
    if (slot < 0) {
      slot = slots.findIndex((r, i) => i > 0 && r === undefined);
      if (slot < 0) throw new UsageError(`${this.store.path}: ref table is full (${REF_SLOTS} refs)`);
    }
    const prev = slots[slot];
    slots[slot] = {
      name, target: hash, kind: kindToNum(kind),
      state: opts.state !== undefined ? stateToNum(opts.state) : (prev?.state ?? 0),
      triesLeft: opts.triesLeft ?? prev?.triesLeft ?? 0,
      flags: 0, forkedFrom, updatedGen: 0,
      bootAttempts: 0, // the loader's count of starts belongs to the target it counted for
    };
    if (opts.triesLeft !== undefined && (!Number.isInteger(opts.triesLeft) || opts.triesLeft < 0 || opts.triesLeft > 255)) throw new UsageError('tries left must be 0..255');
    this.mainlineCommit(name, kind, old, hash, opts);
  }

  /**
   * Appends the log commit recording one ref update: a cluster ref's to the mainline log (slot 0;
   * its tree lists every other cluster ref as a gitlink), a node-local ref's (isNodeLocalRef) to
   * the `boot-log` log (its tree lists the node-local refs), so a boot-state change never moves
   * the filesystem revision.
   */
  private mainlineCommit(name: string, kind: RefKind, old: string, neu: string, opts: SetRefOptions): void {
    const slots = this.store.slots;
    const local = isNodeLocalRef(name);
    const log = local ? BOOT_LOG : MAINLINE;
    const files: TreeFile[] = [];
    for (let i = 1; i < slots.length; i++) {
      const r = slots[i];
      if (r && r.target !== ZERO_HASH && r.name !== BOOT_LOG && isNodeLocalRef(r.name) === local) files.push({ path: r.name, mode: MODE_GITLINK, hash: r.target });
    }
    const tree = buildTree(files, (t) => this.store.putObject('tree', t.data, { hash: t.hash }));
    let logSlot = local ? this.slotOf(BOOT_LOG) : 0;
    const head = logSlot >= 0 ? slots[logSlot]!.target : ZERO_HASH;
    const time = opts.time ?? Math.floor(Date.now() / 1000);
    const sig = formatSignature({ ...DEFAULT_IDENTITY, time });
    const state = slots[this.slotOf(name)]!;
    let msg = `${kind} ${name}: ${old === ZERO_HASH ? '(new)' : old.slice(0, 12)} -> ${neu.slice(0, 12)}\n`;
    if (state.state !== 0) msg += `\nboot-state: ${numToState(state.state)} tries-left ${state.triesLeft}\n`;
    if (opts.reason) msg += `\n${opts.reason.trimEnd()}\n`;
    const data = encodeCommit({
      tree, parents: head === ZERO_HASH ? [] : [head], author: sig, committer: sig,
      headers: [['branch', log], ['ref', name], ['ref-old', old], ['ref-new', neu]], message: msg,
    });
    const { hash } = this.store.putObject('commit', data);
    if (logSlot < 0) {
      logSlot = slots.findIndex((r, i) => i > 0 && r === undefined);
      if (logSlot < 0) throw new UsageError(`${this.store.path}: ref table is full (${REF_SLOTS} refs)`);
      slots[logSlot] = { name: BOOT_LOG, target: hash, kind: kindToNum('branch'), state: 0, triesLeft: 0, flags: 0, forkedFrom: REF_NONE, updatedGen: 0, bootAttempts: 0 };
    } else {
      slots[logSlot] = { ...slots[logSlot]!, target: hash, updatedGen: 0 };
    }
  }
}
