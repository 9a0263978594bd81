#!/usr/bin/env python3
"""Forged and replayed sync frames for test/cluster/sync.test.ts (docs/protocol.md, "Sync").

usage: syncsend.py forge IFACE NODE_MAC NODE_IP COUNT
         sends COUNT each of: a SYNC_REQ, a SYNC_ANS and an ANNOUNCE (a made-up revision) with the
         AUTH flag and a wrong HMAC, and a SYNC_REQ without AUTH, from node 77 (10.77.0.77);
         prints {"forged": N} (every one must be dropped, reason auth)
   or: syncsend.py replay TAP COUNT
         waits (60 s) on a node's tap for one real SYNC_REQ or SYNC_ANS delivered to the node,
         then delivers that same frame COUNT more times; prints {"replayed": COUNT, "type": T}
"""
import json
import os
import socket
import struct
import sys
import time


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(dst_mac: bytes, dst_ip: bytes, g: bytes) -> bytes:
    src_ip = socket.inet_aton('10.77.0.77')
    ln = 8 + len(g)
    h = struct.pack('!HHHH', 7184, 7184, ln, 0)
    c = csum(src_ip + dst_ip + struct.pack('!BBH', 0, 17, ln) + h + g) or 0xFFFF
    u = h[:6] + struct.pack('!H', c) + g
    iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(u), 1, 0x4000, 64, 17, 0, src_ip, dst_ip)
    iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
    return dst_mac + bytes.fromhex('525400470077') + b'\x08\x00' + iph + u


seq = 1


def gtp(typ: int, payload: bytes, auth: bool) -> bytes:
    global seq
    seq += 1
    hdr = struct.pack('<HBBHHIII', 0x5447, 1, typ, 1 if auth else 0, len(payload), 77, int(time.time()), seq)
    return hdr + payload + (os.urandom(20) if auth else b'')


if sys.argv[1] == 'forge':
    iface, mac, ip, count = sys.argv[2], bytes.fromhex(sys.argv[3].replace(':', '')), socket.inet_aton(sys.argv[4]), int(sys.argv[5])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    n = 0
    for _ in range(count):
        for g in (gtp(9, os.urandom(40) + struct.pack('<II', 0, 0), True),
                  gtp(10, os.urandom(20) + struct.pack('<IIHH', 0, 1, 1, 0) + os.urandom(20) + struct.pack('<I', 100), True),
                  gtp(1, os.urandom(40) + struct.pack('<IHB', 5, 0, 5) + b'0.1.0', True),
                  gtp(9, os.urandom(40) + struct.pack('<II', 0, 0), False)):
            s.send(frame(mac, ip, g))
            n += 1
            time.sleep(0.01)  # paced: a node busy in a sync run must not lose them in its NIC ring
    print(json.dumps({'forged': n}))
elif sys.argv[1] == 'replay':
    tap, times = sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((tap, 0))
    s.settimeout(60)
    while True:
        f, addr = s.recvfrom(2048)
        # outgoing on the tap (PACKET_OUTGOING = 4) is what the host delivers to the VM
        if addr[2] == 4 and len(f) >= 62 and f[12:14] == b'\x08\x00' and f[23] == 17 \
                and f[36:38] == struct.pack('!H', 7184) and f[42:44] == b'GT' and f[45] in (9, 10):
            break
    for _ in range(times):
        s.send(f)
        time.sleep(0.002)
    print(json.dumps({'replayed': times, 'type': f[45]}))
