// Faults with the kernel's own engines, all inside the cluster's namespace: nftables in the
// bridge family for loss (`numgen random`) and partitions, tc tbf for a link's rate.
import { sh } from './sh.ts';

/** The nftables table a cluster's faults live in (per namespace; `gt` is an nft keyword). */
export const FAULT_TABLE = 'gittorrent_faults';

export interface FaultState {
  /** Percent of frames dropped on every path through the bridge. */
  lossPercent: number;
  /** Groups of bridge ports that cannot reach each other (empty: no partition). */
  partition: string[][];
}

/** The nft script for a fault state (the table is replaced as a whole, atomically). */
export function faultScript(table: string, s: FaultState): string {
  const rules: string[] = [];
  if (s.lossPercent > 0) rules.push(`numgen random mod 100 < ${Math.round(s.lossPercent)} drop`);
  const set = (ports: string[]) => `{ ${ports.map((p) => `"${p}"`).join(', ')} }`;
  const fwd: string[] = [];
  for (let i = 0; i < s.partition.length; i++) {
    for (let j = 0; j < s.partition.length; j++) {
      if (i === j || s.partition[i]!.length === 0 || s.partition[j]!.length === 0) continue;
      fwd.push(`iifname ${set(s.partition[i]!)} oifname ${set(s.partition[j]!)} drop`);
    }
  }
  const chain = (name: string, hook: string, extra: string[]) =>
    `  chain ${name} {\n    type filter hook ${hook} priority 0; policy accept;\n${[...extra, ...rules].map((r) => `    ${r}\n`).join('')}  }\n`;
  return `table bridge ${table} {\n${chain('faults_forward', 'forward', fwd)}${chain('faults_input', 'input', [])}${chain('faults_output', 'output', [])}}\n`;
}

export async function applyFaults(ns: string, table: string, s: FaultState): Promise<void> {
  await clearFaults(ns, table);
  if (s.lossPercent <= 0 && s.partition.length === 0) return;
  await sh('nft', ['-f', '-'], { ns, input: faultScript(table, s) });
}

export async function clearFaults(ns: string, table: string): Promise<void> {
  await sh('nft', ['delete', 'table', 'bridge', table], { ns, check: false });
}

export async function listTables(ns?: string): Promise<string[]> {
  const r = await sh('nft', ['list', 'tables'], { ns, check: false });
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** A tc rate (`up --rate`: "20mbit", "2.5mbps": tc's bit and byte units, k/m/g as 10^3/10^6/10^9) in bits/s. */
export const TC_RATE = /^(\d+(?:\.\d+)?)([kmg]?)(bit|bps)$/;

export function rateBitsPerSecond(rate: string): number {
  const m = TC_RATE.exec(rate);
  if (!m) throw new Error(`not a tc rate such as 20mbit: ${rate}`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2] as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult * (m[3] === 'bps' ? 8 : 1);
}

/** `setRate` for many links in one `tc -batch`. */
export async function setRates(ns: string, devs: string[], rate: string): Promise<void> {
  if (devs.length === 0) return;
  const lines = devs.map((d) => `qdisc replace dev ${d} root tbf rate ${rate} burst 32kbit latency 400ms`);
  await sh('tc', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** Limits a link's egress rate with a token bucket filter (e.g. "20mbit"). */
export async function setRate(ns: string, dev: string, rate: string): Promise<void> {
  await sh('tc', ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', '32kbit', 'latency', '400ms'], { ns });
}
