// Chooses the accelerator. `auto` is TCG unless /dev/kvm opens here AND a one-time probe showed
// KVM boots a fixed reference — the release ISO of the current kernel build, from CD, no disk —
// to ready sooner than TCG. The probe never boots the user's image and never fails a command:
// any probe failure (KVM abort, timeout, no reference ISO) means TCG, with a one-line note.
// Verdicts are cached per QEMU version and reference ISO (its SHA-1) under
// $XDG_CACHE_HOME/gittorrent (default ~/.cache/gittorrent), failures included.
import { constants, accessSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Accel } from './qemu-args.ts';
import { UsageError } from '../core/errors.ts';
import { abbreviate } from '../core/output.ts';

export type AccelChoice = Accel | 'auto';

export function parseAccel(text: string): AccelChoice {
  if (text === 'auto' || text === 'tcg' || text === 'kvm') return text;
  throw new UsageError(`--accel must be auto, tcg or kvm, not "${text}"`);
}

export function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** One cached verdict. */
export interface ProbeVerdict {
  chosen: Accel;
  /** Host ms to ready under TCG (null: not measured, or it failed). */
  tcgMs: number | null;
  /** Host ms to ready under KVM (null: KVM failed). */
  kvmMs: number | null;
  /** Why TCG was chosen when KVM did not reach ready. */
  reason?: string;
}

export interface ProbeResult {
  accel: Accel;
  /** `cache`: an earlier probe's verdict; `probe`: measured now; `none`: nothing to probe with. */
  source: 'cache' | 'probe' | 'none';
  /** A one-line note for stderr when the probe failed (KVM unusable for this kernel). */
  note?: string;
  verdict?: ProbeVerdict;
}

export interface ProbeOptions {
  /** The reference release ISO (booted alone, from CD). */
  iso: string;
  /** Folder of the cache file (default: $XDG_CACHE_HOME/gittorrent). */
  cacheDir?: string;
  /** Bound for each probe boot (default 5 s). */
  timeoutMs?: number;
  /** Extra QEMU arguments for the KVM probe boot (tests use this to make KVM fail). */
  kvmExtraArgs?: string[];
}

export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'gittorrent');
}

const CACHE_FILE = 'accel-probe.json';
const REPO_OUT = fileURLToPath(new URL('../out/', import.meta.url));

/**
 * The reference kernel for the probe: the release ISO beside the image when the image sits in
 * a build's output folder, else the default build's (out/release.iso); undefined when neither
 * exists.
 */
export function referenceIso(image: string | undefined): string | undefined {
  const candidates: string[] = [];
  if (image) {
    const dir = dirname(image);
    if (existsSync(join(dir, '.build-state.json'))) candidates.push(join(dir, 'release.iso'));
  }
  candidates.push(join(REPO_OUT, 'release.iso'));
  return candidates.find((c) => existsSync(c));
}

async function qemuVersion(): Promise<string> {
  const r = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  return String(r.stdout).split('\n')[0] ?? 'unknown';
}

function isVerdict(v: unknown): v is ProbeVerdict {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const msOk = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));
  return (o.chosen === 'tcg' || o.chosen === 'kvm') && msOk(o.tcgMs) && msOk(o.kvmMs) && (o.reason === undefined || typeof o.reason === 'string');
}

/** The cache file's verdicts; a missing, unreadable or malformed file (or entry) counts as empty. */
function readCache(file: string): Record<string, ProbeVerdict> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const out: Record<string, ProbeVerdict> = {};
  for (const [k, v] of Object.entries(raw)) if (isVerdict(v)) out[k] = v;
  return out;
}

function writeCache(file: string, key: string, verdict: ProbeVerdict): void {
  try {
    const cache = readCache(file);
    cache[key] = verdict;
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(cache, null, 2) + '\n');
    renameSync(tmp, file); // atomic: parallel runs never see half a file
  } catch {
    // an unwritable cache only costs a probe next time
  }
}

/** Boots the ISO alone under `accel`; resolves with ms to ready or a one-line failure. */
async function timeIsoBoot(iso: string, accel: Accel, timeoutMs: number, extraArgs: string[]): Promise<{ ms: number } | { error: string }> {
  const { bootToReady } = await import('./boot.ts');
  try {
    const { vm, result } = await bootToReady({ cdrom: iso, accel, watchdog: false, extraArgs }, { timeoutMs, idleMs: timeoutMs });
    await vm.stop(200);
    return { ms: result.readyMs };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { error: abbreviate(msg.replace(/qemu-system-x86_64: /g, ''), 160) };
  }
}

/** Probes (or recalls) whether KVM boots the reference kernel faster than TCG. Never throws. */
export async function probeAccel(opts: ProbeOptions): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let isoHash: string;
  try {
    isoHash = createHash('sha1').update(readFileSync(opts.iso)).digest('hex');
  } catch {
    return { accel: 'tcg', source: 'none', note: `no reference kernel to probe KVM with (${opts.iso} is missing; run gittorrent build)` };
  }
  const file = join(opts.cacheDir ?? defaultCacheDir(), CACHE_FILE);
  const key = `${await qemuVersion()} iso-sha1=${isoHash}`;
  const hit = readCache(file)[key];
  if (hit) return { accel: hit.chosen, source: 'cache', verdict: hit };

  let verdict: ProbeVerdict;
  const kvm = await timeIsoBoot(opts.iso, 'kvm', timeoutMs, opts.kvmExtraArgs ?? []);
  if ('error' in kvm) {
    verdict = { chosen: 'tcg', tcgMs: null, kvmMs: null, reason: kvm.error };
  } else {
    const tcg = await timeIsoBoot(opts.iso, 'tcg', timeoutMs, []);
    const tcgMs = 'ms' in tcg ? tcg.ms : null;
    verdict = { chosen: tcgMs === null || kvm.ms < tcgMs ? 'kvm' : 'tcg', tcgMs, kvmMs: kvm.ms };
  }
  writeCache(file, key, verdict);
  const note = verdict.reason === undefined ? undefined : `KVM failed its probe (${verdict.reason}); using TCG`;
  return { accel: verdict.chosen, source: 'probe', verdict, note };
}

/**
 * Resolves `auto` to a concrete accelerator for booting `image` (which it never boots).
 * Notes (a failed probe) go to `onNote`, one line each.
 */
export async function resolveAccel(choice: AccelChoice, image: string | undefined, onNote: (line: string) => void = () => {}): Promise<Accel> {
  if (choice !== 'auto') {
    if (choice === 'kvm' && !kvmUsable()) throw new UsageError('--accel kvm: /dev/kvm is not usable on this machine');
    return choice;
  }
  if (!kvmUsable()) return 'tcg';
  const iso = referenceIso(image);
  let r: { accel: Accel; note?: string };
  try {
    r = iso ? await probeAccel({ iso }) : { accel: 'tcg', note: 'no reference kernel to probe KVM with (out/release.iso; run gittorrent build)' };
  } catch (e) {
    r = { accel: 'tcg', note: `the KVM probe failed (${abbreviate(e instanceof Error ? e.message : String(e), 160)}); using TCG` };
  }
  if (r.note) onNote(`accel auto: ${r.note}`);
  return r.accel;
}
