// The GTP v1 reference codec (docs/protocol.md): pure encode/decode, no I/O.
export * from './constants.ts';
export * from './address.ts';
export * from './messages.ts';
export * from './frame.ts';
export * from './hmac.ts';
export * from './replay.ts';
export * from './crc.ts';
