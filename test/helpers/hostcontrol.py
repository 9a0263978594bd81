#!/usr/bin/env python3
"""Sends one authenticated CONTROL frame (docs/protocol.md) to a node, as the host peer would:
node number 65532, from 10.77.255.254, epoch = the host's clock in seconds, seq = the
microseconds within that second + 1 (so frames sent one after another are never replays).

usage: hostcontrol.py KEY_FILE NODE_IP OP [ARGS_HEX]
The payload is `op u8 · pad[3]` followed by the arguments. Prints the frame sent (hex).
"""
import hashlib
import hmac
import socket
import struct
import sys
import time

key_file, node_ip, op = sys.argv[1], sys.argv[2], int(sys.argv[3])
args = bytes.fromhex(sys.argv[4]) if len(sys.argv) > 4 else b''
key = open(key_file, 'rb').read()
PORT, ME, NODE = 7184, '10.77.255.254', 65532

payload = struct.pack('<B3x', op) + args
now = time.time()
frame = struct.pack('<HBBHHIII', 0x5447, 1, 8, 1, len(payload), NODE, int(now), int((now % 1) * 1e6) + 1) + payload
frame += hmac.new(key, frame, hashlib.sha1).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ME, PORT))
s.sendto(frame, (node_ip, PORT))
print(frame.hex())
