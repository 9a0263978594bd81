// The counters docs/protocol.md names, kept by the host peer as the kernel keeps them.
import { DROP_REASONS, type DropReason } from '../wire/constants.ts';

export interface Counters {
  rx: number;
  tx: number;
  rx_drop: Record<DropReason, number>;
  tx_err: number;
  retransmits: number;
  bad_chunk: number;
  bad_object: number;
  /** Deltas refused: they did not apply to the base or the result did not hash. */
  bad_delta: number;
  auth_fail: number;
  replay: number;
}

export function newCounters(): Counters {
  const rx_drop = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  return { rx: 0, tx: 0, rx_drop, tx_err: 0, retransmits: 0, bad_chunk: 0, bad_object: 0, bad_delta: 0, auth_fail: 0, replay: 0 };
}

export function totalDrops(c: Counters): number {
  return Object.values(c.rx_drop).reduce((a, b) => a + b, 0);
}
