// Node identity: node number n = HI·256 + LO ⇔ MAC 52:54:00:47:HI:LO ⇔ IPv4 10.77.HI.LO.
import { HOST_NODE, NODE_MAX } from './constants.ts';

export function isNodeNumber(n: number): boolean {
  return Number.isInteger(n) && ((n >= 1 && n <= NODE_MAX) || n === HOST_NODE);
}

export function nodeIp(n: number): string {
  return `10.77.${n >> 8}.${n & 0xff}`;
}

export function nodeMac(n: number): string {
  const hex = (v: number) => v.toString(16).padStart(2, '0');
  return `52:54:00:47:${hex(n >> 8)}:${hex(n & 0xff)}`;
}

/** The node number of an address inside 10.77.0.0/16, or undefined. */
export function ipNode(ip: string): number | undefined {
  const m = /^10\.77\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  if (hi > 255 || lo > 255) return undefined;
  return hi * 256 + lo;
}

export function inSubnet(ip: string): boolean {
  return ipNode(ip) !== undefined;
}
