// The host peer's network: one ordinary UDP socket on port 7184, joined to the cluster group
// on the interface that holds `ip` (multicast TTL 1, no loopback of its own frames).
import { createSocket, type Socket } from 'node:dgram';
import { GROUP, PORT } from '../wire/constants.ts';
import type { Transport } from './node.ts';

export interface UdpTransport extends Transport {
  close(): Promise<void>;
}

export async function openUdp(opts: { ip: string; port?: number; onMessage: (bytes: Buffer, fromIp: string) => void; onSendError?: () => void }): Promise<UdpTransport> {
  const port = opts.port ?? PORT;
  const sock: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, '0.0.0.0', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.addMembership(GROUP, opts.ip);
  sock.setMulticastInterface(opts.ip);
  sock.setMulticastTTL(1);
  sock.setMulticastLoopback(false);
  try {
    sock.setRecvBufferSize(8 << 20);
    sock.setSendBufferSize(8 << 20);
  } catch {
    // the kernel's limits apply
  }
  sock.on('message', (msg, rinfo) => opts.onMessage(msg, rinfo.address));
  sock.on('error', () => opts.onSendError?.());
  const cb = (err: Error | null) => {
    if (err) opts.onSendError?.();
  };
  return {
    send: (bytes, ip) => sock.send(bytes, port, ip, cb),
    multicast: (bytes) => sock.send(bytes, port, GROUP, cb),
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
