// The replay window (RFC 4303's, per sender): the newest (epoch, seq) accepted and a 64-bit
// bitmap of the 64 seqs below it. Pure state: accept() is called only for frames whose HMAC
// verified, so forged frames never move the window.

interface Window {
  epoch: number;
  top: number;
  /** bit i set: seq top − 1 − i was seen. */
  bits: bigint;
}

const WIDTH = 64;
const MASK = (1n << BigInt(WIDTH)) - 1n;

export class ReplayWindow {
  private readonly windows = new Map<number, Window>();

  /** Would (epoch, seq) from sender be accepted? (No state change.) */
  check(sender: number, epoch: number, seq: number): boolean {
    const w = this.windows.get(sender);
    if (!w || epoch > w.epoch) return true;
    if (epoch < w.epoch) return false;
    if (seq > w.top) return true;
    if (seq === w.top) return false;
    const back = w.top - seq; // 1 ..
    if (back > WIDTH) return false;
    return ((w.bits >> BigInt(back - 1)) & 1n) === 0n;
  }

  /** Checks and, when accepted, records (epoch, seq). Returns whether it was accepted. */
  accept(sender: number, epoch: number, seq: number): boolean {
    if (!this.check(sender, epoch, seq)) return false;
    const w = this.windows.get(sender);
    if (!w || epoch > w.epoch) {
      this.windows.set(sender, { epoch, top: seq, bits: 0n });
      return true;
    }
    if (seq > w.top) {
      const shift = seq - w.top;
      // the old top becomes bit shift-1
      w.bits = shift > WIDTH ? 0n : ((w.bits << BigInt(shift)) | (1n << BigInt(shift - 1))) & MASK;
      w.top = seq;
    } else {
      w.bits |= 1n << BigInt(w.top - seq - 1);
    }
    return true;
  }

  /** Forgets every sender (a new key). */
  clear(): void {
    this.windows.clear();
  }
}
