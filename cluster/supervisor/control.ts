// The supervisor's control socket: one JSON request per connection, one JSON answer
// ({ok:true,result} or {ok:false,error,kind}), over a unix socket in the cluster's folder.
import { createConnection, createServer, type Server } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { BootError, NotFoundError, UsageError } from '../../core/errors.ts';

export interface ControlRequest {
  cmd: string;
  [k: string]: unknown;
}

type Answer = { ok: true; result: unknown } | { ok: false; error: string; kind: string };

export function serveControl(socket: string, handle: (r: ControlRequest) => Promise<unknown>): Server {
  if (existsSync(socket)) rmSync(socket, { force: true });
  const server = createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
      } catch {
        conn.end(JSON.stringify({ ok: false, error: 'not JSON', kind: 'UsageError' }) + '\n');
        return;
      }
      handle(req).then(
        (result) => conn.end(JSON.stringify({ ok: true, result } satisfies Answer) + '\n'),
        (e: unknown) => conn.end(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e), kind: e instanceof Error ? e.name : 'Error' } satisfies Answer) + '\n'),
      );
    });
    conn.on('error', () => {});
  });
  server.listen(socket);
  return server;
}

const KINDS: Record<string, new (m: string) => Error> = { UsageError, NotFoundError, BootError };

/** Sends one request; the supervisor's typed errors come back as the same classes. */
export function callControl<T = unknown>(socket: string, req: ControlRequest, timeoutMs = 120_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new BootError(`the cluster supervisor did not answer "${req.cmd}" within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'));
    conn.on('data', (d: string) => (buf += d));
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(new NotFoundError(`the cluster supervisor is not running (${(e as NodeJS.ErrnoException).code ?? e.message})`));
    });
    conn.on('end', () => {
      clearTimeout(timer);
      let a: Answer;
      try {
        a = JSON.parse(buf) as Answer;
      } catch {
        reject(new BootError('the cluster supervisor closed the connection without an answer'));
        return;
      }
      if (a.ok) resolve(a.result as T);
      else reject(new (KINDS[a.kind] ?? BootError)(a.error));
    });
  });
}
