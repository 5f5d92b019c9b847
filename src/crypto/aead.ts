// Deterministic AEAD v1 (DESIGN.md §5), an RFC 5297-style SIV scheme from HMAC-SHA-256, HKDF-SHA-256
// (RFC 5869) and AES-256-GCM (SP 800-38D), plus key wrapping and key fingerprints on top of it:
//   K_siv, K_enc = HKDF(K, "", "data-embassy/daead/v1/siv" | ".../enc")
//   SIV = HMAC(K_siv, uint64be(len A) ‖ A ‖ P); K_obj = HKDF(K_enc, SIV, "data-embassy/daead/v1/obj")
//   sealed = SIV ‖ AES-256-GCM(K_obj, nonce 0^96, aad A, P) ‖ tag
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { EmbassyError } from '../errors.ts';
import { bytesEqualConstantTime, concatBytes, uint64BE, utf8 } from '../format/bytes.ts';
import { hmacSha256 } from './hash.ts';
import { hkdfSha256 } from './hkdf.ts';

export const DAEAD_KEY_SIZE = 32;
export const DAEAD_SIV_SIZE = 32;
export const DAEAD_TAG_SIZE = 16;
/** Sealed length = plaintext length + DAEAD_OVERHEAD. */
export const DAEAD_OVERHEAD = DAEAD_SIV_SIZE + DAEAD_TAG_SIZE;
export const DAEAD_INFO_SIV = 'data-embassy/daead/v1/siv';
export const DAEAD_INFO_ENC = 'data-embassy/daead/v1/enc';
export const DAEAD_INFO_OBJ = 'data-embassy/daead/v1/obj';

export const AES256_GCM_KEY_SIZE = 32;
export const AES_GCM_NONCE_SIZE = 12;
export const AES_GCM_TAG_SIZE = 16;

const EMPTY = new Uint8Array(0);
const ZERO_NONCE = new Uint8Array(AES_GCM_NONCE_SIZE);
const INFO_SIV = utf8.encode(DAEAD_INFO_SIV);
const INFO_ENC = utf8.encode(DAEAD_INFO_ENC);
const INFO_OBJ = utf8.encode(DAEAD_INFO_OBJ);

function authFailed(): EmbassyError {
  // Deliberately one message for every cause: which check failed is an oracle for an attacker.
  return new EmbassyError('crypto.auth-failed', 'aead: message authentication failed');
}

function checkKey(subject: string, key: Uint8Array, size = DAEAD_KEY_SIZE): void {
  if (key.length !== size) {
    throw new EmbassyError('crypto.invalid-argument', `${subject}: expected ${size}-byte key, got ${key.length}`);
  }
}

// ---- AES-256-GCM, 96-bit nonce -----------------------------------------------------------------
// The raw primitive under the DAEAD. Exported for the Wycheproof vector tests; nothing else should
// call it, because a repeated (key, nonce) pair destroys GCM's security.

/** AES-256-GCM encryption; returns ciphertext ‖ 16-byte tag. */
export function aes256GcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey('aes-gcm', key, AES256_GCM_KEY_SIZE);
  if (nonce.length !== AES_GCM_NONCE_SIZE) {
    throw new EmbassyError('crypto.invalid-argument', `aes-gcm: expected 12-byte nonce, got ${nonce.length}`);
  }
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AES_GCM_TAG_SIZE });
  c.setAAD(aad);
  const head = c.update(plaintext);
  const tail = c.final();
  return concatBytes(head, tail, c.getAuthTag());
}

/** AES-256-GCM decryption of ciphertext ‖ tag; any failure is 'crypto.auth-failed'. */
export function aes256GcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey('aes-gcm', key, AES256_GCM_KEY_SIZE);
  if (nonce.length !== AES_GCM_NONCE_SIZE) {
    throw new EmbassyError('crypto.invalid-argument', `aes-gcm: expected 12-byte nonce, got ${nonce.length}`);
  }
  if (sealed.length < AES_GCM_TAG_SIZE) throw authFailed();
  const ctEnd = sealed.length - AES_GCM_TAG_SIZE;
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AES_GCM_TAG_SIZE });
  d.setAuthTag(sealed.subarray(ctEnd));
  d.setAAD(aad);
  const head = d.update(sealed.subarray(0, ctEnd));
  try {
    d.final();
  } catch {
    // Node has already produced the unauthenticated plaintext; do not let it linger.
    head.fill(0);
    throw authFailed();
  }
  return new Uint8Array(head.buffer, head.byteOffset, head.byteLength);
}

// ---- Deterministic AEAD ------------------------------------------------------------------------

/** Deterministic AEAD under one key, with the key's sub-keys derived once (see createDeterministicAead). */
export interface DeterministicAead {
  /** deterministicSeal under this context's key. */
  seal(plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  /** deterministicOpen under this context's key. */
  open(sealed: Uint8Array, ad: Uint8Array): Uint8Array;
  /** Zeroes the sub-keys; every later seal or open throws 'crypto.invalid-argument'. */
  wipe(): void;
}

// The length prefix makes (A, P) → input injective: without it, moving bytes from the end of A to
// the start of P would give the same SIV.
function computeSiv(kSiv: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return hmacSha256(kSiv, uint64BE(BigInt(ad.length)), ad, plaintext);
}

const INFO_OBJ_1 = concatBytes(INFO_OBJ, Uint8Array.of(1));

/**
 * K_obj = HKDF-SHA-256(K_enc, salt = SIV, info = INFO_OBJ), 32 bytes: RFC 5869 written out as its
 * two HMACs (PRK = HMAC(SIV, K_enc); OKM = T(1) = HMAC(PRK, info ‖ 0x01)), the same bytes as
 * hkdfSha256 at less than half the cost of node's hkdfSync, which sets up a KDF context per call.
 */
function objectKey(kEnc: Uint8Array, siv: Uint8Array): Uint8Array {
  const prk = hmacSha256(siv, kEnc);
  const kObj = hmacSha256(prk, INFO_OBJ_1);
  prk.fill(0);
  return kObj;
}

/**
 * A deterministic AEAD context for one 32-byte key: K_siv and K_enc are derived here, once, instead
 * of on every call, which is what sealing thousands of objects under one data key needs. The
 * context holds copies of the sub-keys only (never the key itself: callers wipe theirs as they
 * please); wipe() zeroes them when the caller is done.
 */
export function createDeterministicAead(key: Uint8Array): DeterministicAead {
  checkKey('aead', key);
  const kSiv = hkdfSha256(key, EMPTY, INFO_SIV, 32);
  const kEnc = hkdfSha256(key, EMPTY, INFO_ENC, 32);
  let wiped = false;
  const live = (): void => {
    if (wiped) throw new EmbassyError('crypto.invalid-argument', 'aead: context used after wipe()');
  };
  return {
    seal(plaintext, ad) {
      live();
      const siv = computeSiv(kSiv, plaintext, ad);
      // A fixed nonce is safe only because K_obj is fresh for every distinct (K, A, P): two messages
      // that share K_obj share SIV, hence (up to an HMAC collision) are the same message.
      const kObj = objectKey(kEnc, siv);
      try {
        return concatBytes(siv, aes256GcmSeal(kObj, ZERO_NONCE, plaintext, ad));
      } finally {
        kObj.fill(0);
      }
    },
    open(sealed, ad) {
      live();
      if (sealed.length < DAEAD_OVERHEAD) throw authFailed();
      const siv = sealed.subarray(0, DAEAD_SIV_SIZE);
      const kObj = objectKey(kEnc, siv);
      let plaintext: Uint8Array;
      try {
        plaintext = aes256GcmOpen(kObj, ZERO_NONCE, sealed.subarray(DAEAD_SIV_SIZE), ad);
      } finally {
        kObj.fill(0);
      }
      // GCM alone accepts any SIV its producer chose; recomputing it is what pins the object to the
      // canonical deterministic encryption of (A, P), so one plaintext has exactly one valid object.
      if (!bytesEqualConstantTime(computeSiv(kSiv, plaintext, ad), siv)) {
        plaintext.fill(0);
        throw authFailed();
      }
      return plaintext;
    },
    wipe() {
      wiped = true;
      kSiv.fill(0);
      kEnc.fill(0);
    },
  };
}

/**
 * Encrypts `plaintext` with associated data `ad` (may be empty) under a 32-byte key. The same
 * (key, ad, plaintext) always gives the same bytes, which is the point (dedup, history-independent
 * object ids) and the cost: equality of plaintexts is visible. Output is SIV ‖ ciphertext ‖ tag.
 * For many messages under one key, createDeterministicAead derives the sub-keys once.
 */
export function deterministicSeal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const aead = createDeterministicAead(key);
  try {
    return aead.seal(plaintext, ad);
  } finally {
    aead.wipe();
  }
}

/**
 * Inverse of deterministicSeal. Every failure — short input, bad tag, SIV mismatch, wrong key,
 * wrong associated data — is the same 'crypto.auth-failed'; a key of the wrong length is
 * 'crypto.invalid-argument' because that is a caller's bug, not an attack.
 */
export function deterministicOpen(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array {
  const aead = createDeterministicAead(key);
  try {
    return aead.open(sealed, ad);
  } finally {
    aead.wipe();
  }
}

// ---- Key wrapping and fingerprints -------------------------------------------------------------

export const DEK_SIZE = 32;
export const WRAPPED_KEY_SIZE = DEK_SIZE + DAEAD_OVERHEAD;
export const KEY_FINGERPRINT_SIZE = 16;
export const KEY_WRAP_AD_PREFIX = 'data-embassy/key-wrap/v1\n';
export const KEY_FINGERPRINT_LABEL = 'data-embassy/key-fingerprint/v1';

const WRAP_AD_PREFIX = utf8.encode(KEY_WRAP_AD_PREFIX);
const FINGERPRINT_LABEL = utf8.encode(KEY_FINGERPRINT_LABEL);

/**
 * Wraps a 32-byte data key under a 32-byte key-encryption key, bound to `context` (for example
 * the dataset id and key number), as deterministicSeal(kek, dek, "data-embassy/key-wrap/v1\n" ‖
 * context). The fixed prefix keeps a wrapped key from ever opening as an object, or an object as
 * a wrapped key, should the KEK ever be misused as a DEK. Deterministic like RFC 5297's key wrap:
 * wrapping the same key twice gives the same bytes, and reveals only that.
 */
export function wrapKey(kek: Uint8Array, dek: Uint8Array, context: Uint8Array): Uint8Array {
  checkKey('key-wrap', kek);
  if (dek.length !== DEK_SIZE) {
    throw new EmbassyError(
      'crypto.invalid-argument',
      `key-wrap: expected ${DEK_SIZE}-byte data key, got ${dek.length}`,
    );
  }
  return deterministicSeal(kek, dek, concatBytes(WRAP_AD_PREFIX, context));
}

/** Inverse of wrapKey; a wrong KEK, wrong context or tampered bytes give 'crypto.auth-failed'. */
export function unwrapKey(kek: Uint8Array, wrapped: Uint8Array, context: Uint8Array): Uint8Array {
  checkKey('key-wrap', kek);
  if (wrapped.length !== WRAPPED_KEY_SIZE) throw authFailed();
  return deterministicOpen(kek, wrapped, concatBytes(WRAP_AD_PREFIX, context));
}

/**
 * A public 16-byte name for a 32-byte key: HMAC-SHA-256(key, "data-embassy/key-fingerprint/v1")
 * truncated. Published in the log so a KEK rebuilt from Shamir shares (or a DEK unwrapped) can be
 * checked before use. A PRF of the key rather than a plain hash, so the fingerprint is never a value
 * that some other protocol computes from the same key.
 */
export function keyFingerprint(key: Uint8Array): Uint8Array {
  checkKey('key-fingerprint', key);
  return hmacSha256(key, FINGERPRINT_LABEL).slice(0, KEY_FINGERPRINT_SIZE);
}
