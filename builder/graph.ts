// A small content-hash build graph: each target names its dependencies, the files its output
// depends on, its parameters and its outputs. A target runs only when the hash of all that
// changed (or an output is missing or its size or mtime changed); a build where nothing changed does no
// work and says so. An input's hash is remembered with its size and mtime (as git's index does):
// a no-op build stats its inputs instead of reading them.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Progress } from '../core/progress.ts';

export interface Target {
  readonly name: string;
  readonly deps: readonly string[];
  /** Files the output depends on; undefined means "unknown yet" (always run). */
  inputs(): string[] | undefined;
  /** JSON-serialisable parameters (defines, versions, recipe). */
  readonly params: unknown;
  readonly outputs: readonly string[];
  run(): Promise<void>;
}

interface TargetState {
  key: string;
  outputs: Record<string, string>;
}

/** A remembered input hash: valid while the file's size and mtime are unchanged. */
interface FileState {
  sig: string;
  sha1: string;
  /** When it was hashed: a file modified within a second of that is hashed again (racy mtime). */
  at: number;
}

const FILES_KEY = '#files';

export interface GraphResult {
  built: string[];
  upToDate: string[];
}

export function hashFile(path: string): string {
  return createHash('sha1').update(readFileSync(path)).digest('hex');
}

/** Outputs are checked by size and modification time (hashing a disk image would not be instant). */
function statSignature(path: string): string {
  const st = statSync(path);
  return `${st.size}:${st.mtimeMs}`;
}

export class BuildGraph {
  private readonly targets = new Map<string, Target>();
  private state: Record<string, TargetState> = {};
  private files: Record<string, FileState> = {};

  constructor(private readonly stateFile: string) {
    if (existsSync(stateFile)) {
      try {
        const raw = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
        const files = raw[FILES_KEY];
        delete raw[FILES_KEY];
        this.state = raw as Record<string, TargetState>;
        if (typeof files === 'object' && files !== null) this.files = files as Record<string, FileState>;
      } catch {
        this.state = {}; // a damaged state file only costs a rebuild
      }
    }
  }

  /** The input's SHA-1, from the remembered hash when its size and mtime are unchanged. */
  private inputHash(path: string): string {
    const sig = statSignature(path);
    const known = this.files[path];
    if (known && known.sig === sig && typeof known.sha1 === 'string' && statSync(path).mtimeMs + 1000 < known.at) return known.sha1;
    const at = Date.now();
    const sha1 = hashFile(path);
    this.files[path] = { sig, sha1, at };
    this.dirty = true;
    return sha1;
  }
  private dirty = false;

  add(target: Target): void {
    this.targets.set(target.name, target);
  }

  /** Builds the goals and everything they depend on, in dependency order. */
  async build(goals: string | readonly string[], progress: Progress): Promise<GraphResult> {
    const order: Target[] = [];
    const seen = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      if (seen.has(name)) return;
      if (path.includes(name)) throw new Error(`build graph cycle: ${[...path, name].join(' -> ')}`);
      const t = this.targets.get(name);
      if (!t) throw new Error(`unknown build target: ${name}`);
      for (const d of t.deps) visit(d, [...path, name]);
      seen.add(name);
      order.push(t);
    };
    for (const goal of typeof goals === 'string' ? [goals] : goals) visit(goal, []);

    const result: GraphResult = { built: [], upToDate: [] };
    const keys = new Map<string, string>();
    for (const t of order) {
      const key = this.keyOf(t, keys);
      const prev = this.state[t.name];
      const fresh = key !== undefined && prev?.key === key && this.outputsIntact(t, prev);
      if (fresh) {
        keys.set(t.name, key);
        result.upToDate.push(t.name);
        continue;
      }
      progress.start(`building ${t.name}`);
      const started = Date.now();
      try {
        await t.run();
      } catch (e) {
        progress.fail(`${t.name} failed`);
        delete this.state[t.name];
        this.save();
        throw e;
      }
      // Inputs may be known only after the run (nasm's dependency file): key again.
      const newKey = this.keyOf(t, keys) ?? `unkeyed-${Date.now()}`;
      keys.set(t.name, newKey);
      const outputs: Record<string, string> = {};
      for (const o of t.outputs) outputs[o] = statSignature(o);
      this.state[t.name] = { key: newKey, outputs };
      this.save();
      result.built.push(t.name);
      progress.succeed(`built ${t.name} (${Date.now() - started} ms)`);
    }
    if (this.dirty) this.save();
    return result;
  }

  private keyOf(t: Target, keys: Map<string, string>): string | undefined {
    const inputs = t.inputs();
    if (inputs === undefined) return undefined;
    const h = createHash('sha1');
    h.update(t.name + '\0' + JSON.stringify(t.params) + '\0');
    for (const d of t.deps) h.update(`dep ${d} ${keys.get(d) ?? '?'}\0`);
    for (const f of [...inputs].sort()) {
      if (!existsSync(f)) return undefined;
      h.update(`in ${f} ${this.inputHash(f)}\0`);
    }
    return h.digest('hex');
  }

  private outputsIntact(t: Target, prev: TargetState): boolean {
    for (const o of t.outputs) {
      if (!existsSync(o) || prev.outputs[o] !== statSignature(o)) return false;
    }
    return true;
  }

  private save(): void {
    mkdirSync(dirname(this.stateFile), { recursive: true });
    writeFileSync(this.stateFile, JSON.stringify({ ...this.state, [FILES_KEY]: this.files }, null, 2));
    this.dirty = false;
  }
}
