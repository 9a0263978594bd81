// HMAC-SHA1 under the cluster key over header ‖ payload (RFC 2104), and the key's rules.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { HMAC_SIZE } from './constants.ts';

export const KEY_MIN = 16;
export const KEY_MAX = 64;

export function frameHmac(key: Buffer, signed: Buffer): Buffer {
  return createHmac('sha1', key).update(signed).digest();
}

export function verifyHmac(key: Buffer, signed: Buffer, mac: Buffer): boolean {
  if (mac.length !== HMAC_SIZE) return false;
  return timingSafeEqual(frameHmac(key, signed), mac);
}

/** A fresh cluster key: 32 random bytes. */
export function newClusterKey(): Buffer {
  return randomBytes(32);
}

export function isValidKey(key: Buffer): boolean {
  return key.length >= KEY_MIN && key.length <= KEY_MAX;
}
