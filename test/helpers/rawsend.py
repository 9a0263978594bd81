#!/usr/bin/env python3
"""Sends malformed frames at one cluster node from inside its network namespace (AF_PACKET on
the bridge), for test/net/kernel-net.test.ts. Every frame is addressed to the node's MAC and
is wrong in exactly one way (or is random bytes); the node must drop and count each one.

usage: rawsend.py IFACE NODE_MAC NODE_IP NODE_NUMBER COUNT SEED
prints one JSON object: {category: frames sent} and "reasons": {drop reason: frames sent}.
   or: rawsend.py replay IFACE SRC_IP COUNT (resends a captured ANNOUNCE: a replay)
"""
import json
import random
import socket
import struct
import sys
import time

if sys.argv[1] == 'replay':
    # replay IFACE SRC_IP COUNT: waits for one ANNOUNCE from SRC_IP (a real, authenticated
    # frame), then sends that same frame COUNT more times; prints {"replayed": COUNT}.
    iface, src_ip, times = sys.argv[2], socket.inet_aton(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(10)
    while True:
        f = s.recv(2048)
        if len(f) >= 62 and f[12:14] == b'\x08\x00' and f[26:30] == src_ip and f[23] == 17 \
                and f[36:38] == struct.pack('!H', 7184) and f[42:44] == b'GT' and f[45] == 1:
            break
    for _ in range(times):
        s.send(f)
        time.sleep(0.002)
    print(json.dumps({'replayed': times}))
    sys.exit(0)

iface, node_mac, node_ip, node_number, count, seed = sys.argv[1:7]
node_number, count, rnd = int(node_number), int(count), random.Random(int(seed))
DST = bytes.fromhex(node_mac.replace(':', ''))
SRC = bytes.fromhex('020000000099')
SRC_IP, DST_IP = socket.inet_aton('10.77.255.253'), socket.inet_aton(node_ip)
PORT = 7184


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(payload: bytes, etype: int = 0x0800) -> bytes:
    return DST + SRC + struct.pack('!H', etype) + payload


def ip(payload: bytes, proto: int = 17, src: bytes = SRC_IP, frag: int = 0x4000, bad_csum: bool = False,
       total: int | None = None) -> bytes:
    tl = total if total is not None else 20 + len(payload)
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, tl, rnd.randrange(65536), frag, 64, proto, 0, src, DST_IP)
    c = csum(h)
    if bad_csum:
        c ^= 0x5A5A
    return h[:10] + struct.pack('!H', c) + h[12:] + payload


def udp(payload: bytes, dport: int = PORT, bad_csum: bool = False, src: bytes = SRC_IP) -> bytes:
    ln = 8 + len(payload)
    pseudo = src + DST_IP + struct.pack('!BBH', 0, 17, ln)
    h = struct.pack('!HHHH', PORT, dport, ln, 0)
    c = csum(pseudo + h + payload) or 0xFFFF
    if bad_csum:
        c = (c + 1) & 0xFFFF or 1
    return h[:6] + struct.pack('!H', c) + payload


def gtp(typ: int, payload: bytes, flags: int = 0, length: int | None = None, magic: int = 0x5447,
        version: int = 1, sender: int = 65533, hmac: bytes = b'') -> bytes:
    ln = len(payload) if length is None else length
    return struct.pack('<HBBHHIII', magic, version, typ, flags, ln, sender, 1, rnd.randrange(1, 1 << 31)) + payload + hmac


def frame_udp(g: bytes, **kw) -> bytes:
    return eth(ip(udp(g, **kw)))


H = lambda: bytes(rnd.randrange(256) for _ in range(20))  # noqa: E731
WHO_HAS = lambda: H() + struct.pack('<I', rnd.randrange(1 << 32))  # noqa: E731
ANNOUNCE = H() + H() + struct.pack('<IHB', 0, 0, 5) + b'0.1.0'

# category -> (drop reason, frame maker)
CATS = {
    'random': ('proto', lambda: eth(bytes(rnd.randrange(256) for _ in range(rnd.randrange(46, 1500))),
                                    rnd.choice([0x86DD, 0x88CC, 0x1234, 0x0805]))),
    'ip_truncated': ('short', lambda: eth(ip(b'\0' * 30, total=1200))),
    'ip_bad_length': ('length', lambda: eth(ip(b'', total=12))),
    'ip_bad_csum': ('csum', lambda: eth(ip(udp(gtp(2, WHO_HAS())), bad_csum=True))),
    'ip_fragment': ('frag', lambda: eth(ip(udp(gtp(2, WHO_HAS())), frag=0x2000))),
    'ip_foreign_src': ('addr', lambda: eth(ip(udp(gtp(2, WHO_HAS()), src=socket.inet_aton('192.168.1.9')),
                                              src=socket.inet_aton('192.168.1.9')))),
    'ip_other_proto': ('proto', lambda: eth(ip(b'x' * 20, proto=6))),
    'udp_bad_csum': ('csum', lambda: frame_udp(gtp(2, WHO_HAS()), bad_csum=True)),
    'udp_other_port': ('proto', lambda: frame_udp(gtp(2, WHO_HAS()), dport=9)),
    'udp_truncated': ('length', lambda: eth(ip(struct.pack('!HHHH', PORT, PORT, 200, 0) + b'z' * 20))),
    'gtp_short': ('short', lambda: frame_udp(b'GT\x01\x02' + b'\0' * rnd.randrange(0, 16))),
    'gtp_bad_magic': ('magic', lambda: frame_udp(gtp(2, WHO_HAS(), magic=0x4754))),
    'gtp_bad_version': ('version', lambda: frame_udp(gtp(2, WHO_HAS(), version=rnd.choice([0, 2, 255])))),
    'gtp_bad_length': ('length', lambda: frame_udp(gtp(2, WHO_HAS(), length=rnd.choice([0, 23, 25, 999])))),
    'gtp_bad_type': ('type', lambda: frame_udp(gtp(rnd.choice([0, 200, 255]), WHO_HAS()))),
    'gtp_bad_size': ('size', lambda: frame_udp(gtp(2, WHO_HAS() + b'!'))),
    'gtp_oversized': ('size', lambda: frame_udp(gtp(2, WHO_HAS() * 40))),
    'gtp_announce_no_auth': ('auth', lambda: frame_udp(gtp(1, ANNOUNCE))),
    'gtp_who_has_with_auth': ('auth', lambda: frame_udp(gtp(2, WHO_HAS(), flags=1, hmac=H()))),
    'gtp_bad_hmac': ('auth', lambda: frame_udp(gtp(1, ANNOUNCE, flags=1, hmac=H()))),
    'gtp_self': ('self', lambda: frame_udp(gtp(2, WHO_HAS(), sender=node_number))),
    'gtp_sender_zero': ('self', lambda: frame_udp(gtp(2, WHO_HAS(), sender=0))),
}

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
names = list(CATS)
sent = {n: 0 for n in names}
reasons: dict[str, int] = {}
for i in range(count):
    n = names[i % len(names)]
    reason, make = CATS[n]
    s.send(make())
    sent[n] += 1
    reasons[reason] = reasons.get(reason, 0) + 1
    if i % 16 == 15:
        time.sleep(0.004)  # paced: the node polls at ~1 kHz; the tap's queue must not overflow
print(json.dumps({'sent': sent, 'reasons': reasons, 'total': count}))
