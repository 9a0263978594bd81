// GTP v1 constants (docs/protocol.md): addresses, the header, message types and their sizes.

export const GTP_MAGIC = 0x5447; // bytes "G" "T" little-endian
export const GTP_VERSION = 1;
export const HEADER_SIZE = 20;
export const HMAC_SIZE = 20;
export const HASH_SIZE = 20;
export const FLAG_AUTH = 0x0001;

export const GROUP = '239.192.71.84';
export const PORT = 7184;
export const SUBNET_PREFIX = '10.77.';
/** The host side's node number (10.77.255.254). */
export const HOST_NODE = 65534;
export const NODE_MAX = 65279;

/** Chunk payload bytes in one DATA frame: IPv4 20 + UDP 8 + header 20 + DATA fixed 48 + 1400 ≤ 1500. */
export const CHUNK_MAX = 1400;
/** A GET asks for at most this many bytes (64 chunks). */
export const GET_MAX = 64 * CHUNK_MAX;
export const VERSION_MAX = 32;

export const MsgType = {
  ANNOUNCE: 1,
  WHO_HAS: 2,
  I_HAVE: 3,
  GET: 4,
  DATA: 5,
  HAVE: 6,
  NOT_HERE: 7,
  CONTROL: 8,
  /** Revision sync (docs/protocol.md, "Sync"): a page of the answerer's mainline walk, asked for. */
  SYNC_REQ: 9,
  /** The page: commit hashes and sizes. */
  SYNC_ANS: 10,
  // propagation (docs/protocol.md, "Propagation")
  UPDATE: 17,
  PIECE: 18,
  PIECE_STATUS: 19,
  PIECE_GET: 20,
  PIECE_WHO: 21,
  PIECE_MAP: 22,
  // deltas (docs/protocol.md, "Deltas")
  GET_DELTA: 23,
  DELTA: 24,
} as const;
export type MsgTypeNum = (typeof MsgType)[keyof typeof MsgType];

/** CONTROL ops; 8 POLICY / 9 POLICY_SET: placement; 10 PROPAGATE: propagation (docs/protocol.md). */
export const ControlOp = { COMMIT: 1, COMMITTED: 2, REBOOT: 3, POLICY: 8, POLICY_SET: 9, PROPAGATE: 10 } as const;
/** A POLICY's copies byte for `all`. */
export const POLICY_ALL = 255;

/** Propagation: piece size, manifest bytes per UPDATE frame, limits of the kernel's buffers. */
export const PIECE_SIZE = 0x10000;
export const UPDATE_PART = 1024;
export const PIECES_MAX = 128;
export const PIECE_LAST = 0x0001;

/** Fixed payload sizes (ANNOUNCE and DATA: the fixed part before the variable one). */
export const SIZE = {
  ANNOUNCE_FIXED: 47,
  WHO_HAS: 24,
  I_HAVE: 36,
  GET: 36,
  DATA_FIXED: 48,
  HAVE: 32,
  NOT_HERE: 24,
  CONTROL_MIN: 4,
  SYNC_REQ: 48,
  SYNC_ANS_FIXED: 32,
  GET_DELTA: 52,
  DELTA_FIXED: 48,
  UPDATE_FIXED: 32,
  PIECE_FIXED: 28,
  PIECE_STATUS: 32,
  PIECE_WHO: 24,
  PIECE_MAP_FIXED: 24,
} as const;

/** SYNC_ANS entries (hash 20 + size u32) per frame. */
export const SYNC_PAGE = 56;
/** DELTA's status byte (docs/protocol.md, "Deltas"). */
export const DeltaStatus = { OK: 0, FULL: 1, ABSENT: 2 } as const;
/** The largest delta a node serves or accepts (the kernel's delta cache). */
export const DELTA_MAX = 1 << 20;

/** Types that must carry AUTH; every other type must not. */
export function requiresAuth(type: number): boolean {
  return type === MsgType.ANNOUNCE || type === MsgType.CONTROL || type === MsgType.SYNC_REQ || type === MsgType.SYNC_ANS || type === MsgType.UPDATE;
}

/** Why a frame was dropped: the named reasons of docs/protocol.md. */
export const DROP_REASONS = ['short', 'magic', 'version', 'length', 'type', 'size', 'auth', 'replay', 'self', 'csum', 'proto', 'frag', 'addr'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
