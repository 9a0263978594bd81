#!/usr/bin/env python3
"""A minimal host peer for test/net/kernel-net.test.ts: holds a small tree (a file, an empty
file, and a subdirectory with a file) as git objects, serves them over GTP (WHO_HAS -> I_HAVE
on the group, GET -> DATA unicast), and sends one authenticated CONTROL COMMIT to a node, then
waits for its CONTROL COMMITTED answer (checking that frame's HMAC too).

usage: hostcommit.py KEY_FILE NODE_IP BRANCH MESSAGE SECONDS [repeat]
prints {"tree": hex, "files": {path: hex content}, "commit": hex, "status": N} (JSON). With
`repeat`, the same COMMIT goes once more (a new seq: a resend, as after a lost COMMITTED) once
the first is answered, and its answer is added as "again": {"commit", "status"}.
"""
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time
import zlib

key_file, node_ip, branch, message, seconds = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode(), float(sys.argv[5])
repeat = sys.argv[6:7] == ['repeat']
key = open(key_file, 'rb').read()
GROUP, PORT, ME, NODE, CHUNK = '239.192.71.84', 7184, '10.77.255.254', 65534, 1400
objects: dict[bytes, tuple[int, bytes]] = {}


def put(otype: int, content: bytes) -> bytes:
    name = {1: b'commit', 2: b'tree', 3: b'blob'}[otype]
    h = hashlib.sha1(name + b' %d\0' % len(content) + content).digest()
    objects[h] = (otype, content)
    return h


def tree(entries: list[tuple[bytes, bytes, bytes]]) -> bytes:
    return put(2, b''.join(mode + b' ' + n + b'\0' + h for mode, n, h in sorted(entries, key=lambda e: e[1])))


files = {'hello.txt': os.urandom(5000), 'empty.txt': b'', 'sub/deep.bin': os.urandom(3000)}
sub = tree([(b'100644', b'deep.bin', put(3, files['sub/deep.bin']))])
root = tree([(b'100644', b'hello.txt', put(3, files['hello.txt'])), (b'100644', b'empty.txt', put(3, b'')),
             (b'40000', b'sub', sub)])

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', PORT))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + socket.inet_aton(ME))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ME))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
s.settimeout(0.05)
# epoch = the host's clock in seconds, seq from the microseconds within that second: two runs in
# the same second (a fast COMMIT, then the next) are never replays of each other
_now = time.time_ns()
epoch, seq = _now // 1_000_000_000, (_now % 1_000_000_000) // 1000


def send(typ: int, payload: bytes, to, auth: bool = False) -> None:
    global seq
    seq += 1
    frame = struct.pack('<HBBHHIII', 0x5447, 1, typ, 1 if auth else 0, len(payload), NODE, epoch, seq) + payload
    if auth:
        frame += hmac.new(key, frame, hashlib.sha1).digest()
    s.sendto(frame, to)


req = struct.pack('<B3x', 1) + root + bytes([len(branch)]) + branch + struct.pack('<H', len(message)) + message
send(8, req, (node_ip, PORT), auth=True)
result = {'tree': root.hex(), 'files': {p: c.hex() for p, c in files.items()}, 'commit': None, 'status': None}
answers: list[tuple[str, int]] = []
end = time.time() + seconds
while time.time() < end and len(answers) < (2 if repeat else 1):
    try:
        f, src = s.recvfrom(2048)
    except socket.timeout:
        continue
    if len(f) < 20 or f[:2] != b'GT':
        continue
    typ, flags, ln = f[3], struct.unpack_from('<H', f, 4)[0], struct.unpack_from('<H', f, 6)[0]
    p = f[20:20 + ln]
    if typ == 2 and len(p) == 24 and p[:20] in objects:
        otype, c = objects[p[:20]]
        send(3, p[:20] + p[20:24] + struct.pack('<QB3x', len(c), otype), (GROUP, PORT))
    elif typ == 4 and len(p) == 36 and p[:20] in objects:
        otype, c = objects[p[:20]]
        off, length, fid = struct.unpack_from('<QII', p, 20)
        pos = off
        while pos < min(off + length, len(c)):
            chunk = c[pos:pos + CHUNK]
            send(5, p[:20] + struct.pack('<IQQIB3x', fid, pos, len(c), zlib.crc32(chunk), otype) + chunk, (src[0], PORT))
            pos += CHUNK
    elif typ == 8 and flags & 1 and len(f) == 20 + ln + 20 and src[0] == node_ip:
        if hmac.compare_digest(hmac.new(key, f[:20 + ln], hashlib.sha1).digest(), f[20 + ln:]) and p[0] == 2:
            answers.append((p[4:24].hex(), p[24]))
            if repeat and len(answers) == 1:
                send(8, req, (node_ip, PORT), auth=True)
if answers:
    result['commit'], result['status'] = answers[0]
if len(answers) > 1:
    result['again'] = {'commit': answers[1][0], 'status': answers[1][1]}
print(json.dumps(result))
