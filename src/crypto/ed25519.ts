// Ed25519 (RFC 8032) signing and verification with raw 32-byte seeds and public keys, from
// node:crypto. Node wants DER key objects, so raw keys are wrapped in the fixed PKCS#8 / SPKI
// prefixes for the Ed25519 OID 1.3.101.112.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';

export const ED25519_SEED_SIZE = 32;
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyOf(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_SEED_SIZE) {
    throw new EmbassyError('crypto.invalid-argument', `ed25519: expected 32-byte seed, got ${seed.length}`);
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyOf(pub: Uint8Array): KeyObject {
  if (pub.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new EmbassyError('crypto.invalid-argument', `ed25519: expected 32-byte public key, got ${pub.length}`);
  }
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

/** The raw public key of a seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyOf(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyOf(seed)));
}

/**
 * True only for a valid signature. Malformed public keys (wrong length, not a point) and
 * signatures of the wrong length give false, never an exception.
 */
export function ed25519Verify(pub: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (pub.length !== ED25519_PUBLIC_KEY_SIZE || signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    return verify(null, message, publicKeyOf(pub), signature);
  } catch {
    return false;
  }
}
