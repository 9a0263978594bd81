// A QMP client (QEMU Machine Protocol) over a unix socket: greeting, capabilities
// negotiation, commands with ids, asynchronous events.
import { createConnection, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class QmpError extends Error {}

export class QmpClient extends EventEmitter {
  private socket: Socket | undefined;
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  /** Connects, retrying until the socket appears or the deadline passes, and negotiates. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const client = new QmpClient();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await client.open(path);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new QmpError(`cannot connect to QMP at ${path}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await client.execute('qmp_capabilities');
    return client;
  }

  private open(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let greeted = false;
      const sock = createConnection(path);
      sock.setEncoding('utf8');
      sock.once('error', (e) => {
        if (!greeted) reject(e);
      });
      sock.on('data', (chunk: string) => {
        this.buffer += chunk;
        let nl: number;
        while ((nl = this.buffer.indexOf('\n')) >= 0) {
          const line = this.buffer.slice(0, nl).trim();
          this.buffer = this.buffer.slice(nl + 1);
          if (!line) continue;
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (!greeted && 'QMP' in msg) {
            greeted = true;
            this.socket = sock;
            resolve();
            continue;
          }
          this.dispatch(msg);
        }
      });
      sock.on('close', () => {
        if (!greeted) return; // a failed connection attempt: connect() retries
        this.closed = true;
        for (const p of this.pending.values()) p.reject(new QmpError('QMP connection closed'));
        this.pending.clear();
        this.emit('close');
      });
      sock.on('error', () => {});
    });
  }

  private dispatch(msg: Record<string, unknown>): void {
    if (typeof msg.event === 'string') {
      this.emit('event', msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    if (!id) return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if ('error' in msg) {
      const err = msg.error as { class?: string; desc?: string };
      p.reject(new QmpError(`${err.class ?? 'Error'}: ${err.desc ?? 'QMP error'}`));
    } else {
      p.resolve(msg.return);
    }
  }

  /** Runs a QMP command and returns its "return" value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (!this.socket || this.closed) return Promise.reject(new QmpError('QMP is not connected'));
    const id = `c${this.nextId++}`;
    const payload = JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id });
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket!.write(payload + '\n');
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket?.destroy();
  }
}
