#!/usr/bin/env python3
"""A deliberately faulty GTP holder for test/net/kernel-net.test.ts: an ordinary UDP socket in
the namespace (10.77.255.254, node number 65533) that answers WHO_HAS for one object with
I_HAVE, after a HAVE at its start (so it is the first holder in a fetcher's cache), and serves
GETs wrongly:

  corrupt     the first copy of every 4th chunk has a flipped byte (its CRC no longer matches)
  drop        the first copy of every 3rd chunk is never sent (loss)
  bad-object  every chunk is consistent (right CRC) but the bytes are not the object's
  not-here    every GET gets NOT_HERE
  honest      serves the object right (a good holder to fall back on)
  stall       serves right, but after its 10th chunk ignores GETs (a stalled process) until
              the fetcher asks the group again with WHO_HAS; it sends no HAVE at its start,
              so a fetcher finds it by a WHO_HAS of its own

usage: fakeholder.py MODE OBJECT_FILE HASH_HEX SECONDS
Runs SECONDS, then prints {"gets": N, "data": N, "faults": N, "whohas": N} (JSON).
"""
import json
import socket
import struct
import sys
import time
import zlib

mode, path, hash_hex, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
content = open(path, 'rb').read()
want = bytes.fromhex(hash_hex)
GROUP, PORT, ME, NODE, CHUNK = '239.192.71.84', 7184, '10.77.255.254', 65533, 1400
if mode == 'bad-object':
    content = bytes(b ^ 0x55 for b in content)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', PORT))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + socket.inet_aton(ME))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ME))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
s.settimeout(0.05)
seq = 0
stats = {'gets': 0, 'data': 0, 'faults': 0, 'whohas': 0}
sent_once: set[int] = set()


def send(typ: int, payload: bytes, to) -> None:
    global seq
    seq += 1
    s.sendto(struct.pack('<HBBHHIII', 0x5447, 1, typ, 0, len(payload), NODE, 1, seq) + payload, to)


# tell the group first, so a fetcher's holder cache lists this node before any real holder
if mode != 'stall':
    send(6, want + struct.pack('<QB3x', len(content), 3), (GROUP, PORT))
stalled = False
print('ready', file=sys.stderr, flush=True)
end = time.time() + seconds
while time.time() < end:
    try:
        f, src = s.recvfrom(2048)
    except socket.timeout:
        continue
    if len(f) < 20 or f[:2] != b'GT':
        continue
    typ, ln = f[3], struct.unpack_from('<H', f, 6)[0]
    p = f[20:20 + ln]
    if typ == 2 and len(p) == 24 and p[:20] == want:  # WHO_HAS
        stats['whohas'] += 1
        stalled = False
        send(3, want + p[20:24] + struct.pack('<QB3x', len(content), 3), (GROUP, PORT))
    elif typ == 4 and len(p) == 36 and p[:20] == want:  # GET
        stats['gets'] += 1
        off, length, fid = struct.unpack_from('<QII', p, 20)
        if mode == 'not-here':
            send(7, want + struct.pack('<I', fid), (src[0], PORT))
            stats['faults'] += 1
            continue
        if mode == 'stall' and stalled:
            stats['faults'] += 1
            continue
        pos = off
        while pos < min(off + length, len(content)):
            chunk = content[pos:pos + CHUNK]
            k = pos // CHUNK
            crc = zlib.crc32(chunk)
            first = k not in sent_once
            sent_once.add(k)
            if mode == 'drop' and first and k % 3 == 1:
                stats['faults'] += 1
                pos += CHUNK
                continue
            if mode == 'corrupt' and first and k % 4 == 1:
                chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                stats['faults'] += 1
            send(5, want + struct.pack('<IQQIB3x', fid, pos, len(content), crc, 3) + chunk, (src[0], PORT))
            stats['data'] += 1
            if mode == 'stall' and stats['data'] == 10:
                stalled = True
                break
            pos += CHUNK
            time.sleep(0.0002)
print(json.dumps(stats))
