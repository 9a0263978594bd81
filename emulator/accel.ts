// Chooses the accelerator. `auto` is TCG unless /dev/kvm works here AND a one-time probe
// showed KVM boots this kernel to ready faster than TCG (KVM can take seconds to start a VM
// on these machines, while TCG boots our kernel in a fraction of a second). The probe's
// verdict is cached per kernel image and QEMU version.
import { constants, accessSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Accel } from './qemu-args.ts';
import { UsageError } from '../core/errors.ts';

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

export interface ProbeResult {
  tcgMs: number;
  kvmMs: number | null;
  chosen: Accel;
}

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'gittorrent', 'accel-probe.json');
}

async function qemuVersion(): Promise<string> {
  const r = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  return String(r.stdout).split('\n')[0] ?? 'unknown';
}

/**
 * Resolves `auto` to a concrete accelerator. `measure(accel)` boots the image to ready and
 * returns the milliseconds it took (or throws); it runs only when KVM is usable and no
 * cached verdict exists for this image and QEMU.
 */
export async function resolveAccel(choice: AccelChoice, image: string, measure: (a: Accel) => Promise<number>): Promise<Accel> {
  if (choice !== 'auto') {
    if (choice === 'kvm' && !kvmUsable()) throw new UsageError('--accel kvm: /dev/kvm is not usable on this machine');
    return choice;
  }
  if (!kvmUsable()) return 'tcg';
  const key = createHash('sha1').update(readFileSync(image).subarray(0, 1 << 20)).update(await qemuVersion()).digest('hex');
  const file = cacheFile();
  let cache: Record<string, ProbeResult> = {};
  if (existsSync(file)) {
    try {
      cache = JSON.parse(readFileSync(file, 'utf8')) as Record<string, ProbeResult>;
    } catch {
      cache = {};
    }
  }
  const hit = cache[key];
  if (hit) return hit.chosen;
  const tcgMs = await measure('tcg');
  let kvmMs: number | null = null;
  try {
    kvmMs = await measure('kvm');
  } catch {
    kvmMs = null;
  }
  const chosen: Accel = kvmMs !== null && kvmMs < tcgMs ? 'kvm' : 'tcg';
  cache[key] = { tcgMs, kvmMs, chosen };
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(cache, null, 2));
  return chosen;
}
