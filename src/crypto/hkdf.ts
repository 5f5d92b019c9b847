// HKDF with HMAC-SHA-256 (RFC 5869), Extract-then-Expand in one call, from node:crypto.
// Used to derive every sub-key of the deterministic AEAD; callers pass their own domain-separating
// `info` strings. Arguments are checked here so OpenSSL's errors never escape uncoded.
import { hkdfSync } from 'node:crypto';
import { EmbassyError } from '../errors.ts';

export const HKDF_SHA256_HASH_SIZE = 32;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
export const HKDF_SHA256_MAX_LENGTH = 255 * HKDF_SHA256_HASH_SIZE;
/** Node (OpenSSL) refuses longer `info`; RFC 5869 itself sets no limit. */
export const HKDF_MAX_INFO_SIZE = 1024;

/**
 * HKDF-SHA-256(ikm, salt, info) truncated to `length` bytes. An empty salt means HashLen zero
 * bytes (RFC 5869 §2.2); that is what HMAC does with an empty key anyway.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new EmbassyError(
      'crypto.invalid-argument',
      `hkdf: expected output length 0..${HKDF_SHA256_MAX_LENGTH}, got ${length}`,
    );
  }
  if (info.length > HKDF_MAX_INFO_SIZE) {
    throw new EmbassyError(
      'crypto.invalid-argument',
      `hkdf: expected info of at most ${HKDF_MAX_INFO_SIZE} bytes, got ${info.length}`,
    );
  }
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
