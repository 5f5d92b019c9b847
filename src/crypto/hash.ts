// SHA-256 and HMAC-SHA-256 over Uint8Array, from node:crypto (OpenSSL).
import { createHash, createHmac } from 'node:crypto';

export const SHA256_SIZE = 32;

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
