#!/usr/bin/env python3
# A lying GTP holder for tests (docs/protocol.md): announces with I_HAVE that it holds an
# object, then answers every GET for it with DATA frames whose chunks have a correct CRC-32
# but one flipped byte, so only the fetcher's SHA-1 check of the whole object can refuse them.
# Run inside the cluster's namespace:
#   evil-holder.py ADDR NODE HASH CONTENT_FILE SECONDS
# ADDR: its own address on the bridge (10.77.x.y, already configured); NODE: its node number.
import socket, struct, sys, time, zlib

GROUP, PORT, CHUNK = '239.192.71.84', 7184, 1400
addr, node, hexhash, path, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
h = bytes.fromhex(hexhash)
content = bytearray(open(path, 'rb').read())
content[len(content) // 2] ^= 0x01                     # the lie: one bit of the middle byte
total = len(content)
epoch, seq = int(time.time()), 0

def frame(t, payload):
    global seq
    seq += 1
    return struct.pack('<HBBHHIII', 0x5447, 1, t, 0, len(payload), node, epoch, seq) + payload

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, PORT))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.settimeout(0.2)
i_have = frame(3, h + struct.pack('<IQB3x', 0, total, 3))
end, next_have, served = time.time() + seconds, 0.0, 0
while time.time() < end:
    if time.time() >= next_have:                     # I_HAVE to the group every 500 ms
        s.sendto(i_have, (GROUP, PORT))
        next_have = time.time() + 0.5
    try:
        data, src = s.recvfrom(2048)
    except socket.timeout:
        continue
    if len(data) != 20 + 36 or data[:2] != b'GT' or data[3] != 4 or data[20:40] != h:
        continue
    offset, length, fid = struct.unpack_from('<QII', data, 40)
    first, last = offset // CHUNK, (min(total, offset + length) - 1) // CHUNK
    for i in range(first, last + 1):
        chunk = bytes(content[i * CHUNK:(i + 1) * CHUNK])
        crc = zlib.crc32(chunk) & 0xffffffff
        s.sendto(frame(5, h + struct.pack('<IQQIB3x', fid, i * CHUNK, total, crc, 3) + chunk), src)
        served += 1
print(f'served {served}')
