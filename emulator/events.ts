// Parses the kernel's structured serial output: "EVENT name key=value key=value ...".

export interface KernelEvent {
  /** Event name: boot, ready, panic, error, ... */
  name: string;
  /** key=value pairs, values as text. */
  fields: Record<string, string>;
  /** Milliseconds since the VM was launched (host clock). */
  hostMs: number;
  /** The raw line. */
  line: string;
}

const EVENT_RE = /^EVENT ([a-z][a-z0-9_-]*)((?: [A-Za-z0-9_.-]+=\S*)*)\s*$/;

/** Returns the event a serial line carries, or undefined for any other line. */
export function parseEventLine(line: string, hostMs = 0): KernelEvent | undefined {
  const clean = line.replace(/\r$/, '');
  const m = EVENT_RE.exec(clean);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const pair of m[2]!.trim().split(' ').filter(Boolean)) {
    const eq = pair.indexOf('=');
    fields[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { name: m[1]!, fields, hostMs, line: clean };
}

/** Splits a byte stream into lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  private tail = '';
  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const parts = text.split('\n');
    this.tail = parts.pop() ?? '';
    return parts.map((p) => p.replace(/\r$/, ''));
  }
  flush(): string[] {
    const t = this.tail;
    this.tail = '';
    return t ? [t] : [];
  }
}

/** A one-line description of an event, for people. */
export function describeEvent(e: KernelEvent): string {
  return e.line.replace(/^EVENT /, '');
}
