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
  /** For `EVENT data size=N`: the N raw bytes that followed the line. */
  payload?: Buffer;
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

/** The shell's prompt; it has no newline, so it prefixes whatever line comes next. */
export const SHELL_PROMPT = 'gt> ';

export type SerialItem = { kind: 'line'; line: string } | { kind: 'payload'; data: Buffer };

/**
 * Splits COM1's byte stream into lines (UTF-8, CR and leading prompts removed) and binary
 * payloads: after a line `EVENT data size=N`, the next N bytes are a payload, not lines.
 */
export class SerialDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private payloadLeft = 0;
  private payloadParts: Buffer[] = [];

  push(chunk: Buffer): SerialItem[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: SerialItem[] = [];
    for (;;) {
      if (this.payloadLeft > 0) {
        if (this.buf.length === 0) break;
        const take = Math.min(this.payloadLeft, this.buf.length);
        this.payloadParts.push(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        this.payloadLeft -= take;
        if (this.payloadLeft === 0) {
          out.push({ kind: 'payload', data: Buffer.concat(this.payloadParts) });
          this.payloadParts = [];
        }
        continue;
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) break;
      const line = stripPrompt(this.buf.subarray(0, nl).toString('utf8').replace(/\r$/, ''));
      this.buf = this.buf.subarray(nl + 1);
      out.push({ kind: 'line', line });
      const m = /^EVENT data size=(\d+)\s*$/.exec(line);
      if (m) {
        this.payloadLeft = Number(m[1]);
        if (this.payloadLeft === 0) out.push({ kind: 'payload', data: Buffer.alloc(0) });
      }
    }
    return out;
  }

  /** What is left at the end of the stream (an unterminated last line). */
  flush(): SerialItem[] {
    const rest = stripPrompt(this.buf.toString('utf8'));
    this.buf = Buffer.alloc(0);
    return rest ? [{ kind: 'line', line: rest }] : [];
  }
}

function stripPrompt(line: string): string {
  while (line.startsWith(SHELL_PROMPT)) line = line.slice(SHELL_PROMPT.length);
  return line;
}

/** Splits a text stream into lines; keeps the unfinished tail for the next chunk. */
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
