// A custodian's share file (format data-embassy/kek-share/v1, docs/format.md "Share files"): one
// Shamir share of the home's KEK, encrypted under the custodian's passphrase with scrypt (RFC 7914,
// memory-hard) and AES-256-GCM. Every other member is bound as associated data (its RFC 8785
// canonical bytes), so no byte of the file can change without the passphrase noticing. No I/O:
// text in, text out; the scrypt work runs on libuv's thread pool.
import { randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { EmbassyError } from '../errors.ts';
import { aes256GcmOpen, aes256GcmSeal, AES_GCM_NONCE_SIZE, AES_GCM_TAG_SIZE } from '../crypto/aead.ts';
import { concatBytes, fromBase64, fromHex, toBase64, utf8 } from '../format/bytes.ts';
import { canonicalJsonBytes, parseJsonStrict } from '../format/canonical-json.ts';
import { CUSTODIAN_NAME_RE, CUSTODY_MAX_CUSTODIANS } from '../format/statement-types.ts';
import { KEK_SHARE_SIZE, shareX } from './kek.ts';

export const SHARE_FILE_FORMAT = 'data-embassy/kek-share/v1';
/** Default scrypt cost: N = 2^17, r = 8 → 128 MiB of memory per attempt. */
export const SCRYPT_DEFAULT_LOG_N = 17;
/** Lowest cost a ceremony may choose (tests use it): 16 MiB. */
export const SCRYPT_MIN_LOG_N = 14;
/** Highest cost a file may ask for: 1 GiB at r = 8. Above it a file could exhaust the opener. */
export const SCRYPT_MAX_LOG_N = 20;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
/** Memory ceiling when opening a file: 128 · N · r may not exceed what logN 20, r 8 needs. */
const SCRYPT_MAX_MEMORY = 128 * 2 ** SCRYPT_MAX_LOG_N * SCRYPT_R;
const SALT_SIZE = 16;
/** Characters (Unicode code points after NFC) a passphrase needs at least. */
export const MIN_PASSPHRASE_LENGTH = 12;

export interface ShareMeta {
  home: string;
  homeVerifierKey: string;
  custodian: string;
  x: number;
  epoch: number;
  threshold: number;
  custodians: number;
  kekFingerprint: string;
}

interface Kdf {
  name: 'scrypt';
  logN: number;
  r: number;
  p: number;
  salt: string;
}

/** Refuses a passphrase too short to hold up against guessing; says why, never what it was. */
export function checkPassphraseStrength(passphrase: string, custodian: string): void {
  const length = [...passphrase.normalize('NFC')].length;
  if (length < MIN_PASSPHRASE_LENGTH) {
    throw new EmbassyError('usage', `custody: the passphrase for custodian ${custodian} has ${length} characters, at least ${MIN_PASSPHRASE_LENGTH} are needed`);
  }
}

function scrypt(passphrase: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Uint8Array> {
  const N = 2 ** logN;
  const pass = utf8.encode(passphrase.normalize('NFC'));
  return new Promise((resolve, reject) => {
    scryptCallback(pass, salt, 32, { N, r, p, maxmem: 128 * N * r + 2 * 1024 * 1024 }, (err, key) => {
      pass.fill(0);
      if (err) reject(new EmbassyError('crypto.invalid-argument', `scrypt: ${err.message}`));
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}

function aadOf(members: Record<string, unknown>): Uint8Array {
  return canonicalJsonBytes(members);
}

/**
 * Seals one share for one custodian. `logN` is the scrypt cost (14–20, default 17); the passphrase
 * must have at least 12 characters. Returns the file's text (pretty JSON and a newline).
 */
export async function sealShareFile(meta: ShareMeta, share: Uint8Array, passphrase: string, options: { logN?: number } = {}): Promise<string> {
  const logN = options.logN ?? SCRYPT_DEFAULT_LOG_N;
  if (!Number.isSafeInteger(logN) || logN < SCRYPT_MIN_LOG_N || logN > SCRYPT_MAX_LOG_N) {
    throw new EmbassyError('usage', `custody: scrypt cost logN must be ${SCRYPT_MIN_LOG_N}–${SCRYPT_MAX_LOG_N}, got ${logN}`);
  }
  if (share.length !== KEK_SHARE_SIZE || shareX(share) !== meta.x) {
    throw new EmbassyError('crypto.invalid-argument', `share file: expected a ${KEK_SHARE_SIZE}-byte share with x = ${meta.x}`);
  }
  checkPassphraseStrength(passphrase, meta.custodian);
  const kdf: Kdf = { name: 'scrypt', logN, r: SCRYPT_R, p: SCRYPT_P, salt: toBase64(new Uint8Array(randomBytes(SALT_SIZE))) };
  const members = { format: SHARE_FILE_FORMAT, ...pickMeta(meta), kdf };
  checkMembers(members, '<new share file>');
  const key = await scrypt(passphrase, fromBase64(kdf.salt)!, logN, SCRYPT_R, SCRYPT_P);
  const nonce = new Uint8Array(randomBytes(AES_GCM_NONCE_SIZE));
  try {
    const sealed = aes256GcmSeal(key, nonce, share, aadOf(members));
    return JSON.stringify({ ...members, ciphertext: toBase64(concatBytes(nonce, sealed)) }, null, 2) + '\n';
  } finally {
    key.fill(0);
  }
}

function pickMeta(m: ShareMeta): ShareMeta {
  return {
    home: m.home,
    homeVerifierKey: m.homeVerifierKey,
    custodian: m.custodian,
    x: m.x,
    epoch: m.epoch,
    threshold: m.threshold,
    custodians: m.custodians,
    kekFingerprint: m.kekFingerprint,
  };
}

const MEMBERS = ['format', 'home', 'homeVerifierKey', 'custodian', 'x', 'epoch', 'threshold', 'custodians', 'kekFingerprint', 'kdf', 'ciphertext'];
const KDF_MEMBERS = ['name', 'logN', 'r', 'p', 'salt'];

function intIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= lo && v <= hi;
}

/** Checks every member but the ciphertext; throws 'input.malformed' naming `source`. */
function checkMembers(o: Record<string, unknown>, source: string): { meta: ShareMeta; kdf: Kdf } {
  const bad = (what: string): EmbassyError => new EmbassyError('input.malformed', `share file ${source}: ${what}`);
  if (o.format !== SHARE_FILE_FORMAT) throw bad(`not a ${SHARE_FILE_FORMAT} file`);
  if (typeof o.home !== 'string' || o.home.length === 0 || o.home.length > 255) throw bad('home must be the home log origin');
  if (typeof o.homeVerifierKey !== 'string' || o.homeVerifierKey.length === 0 || o.homeVerifierKey.length > 1024) throw bad('homeVerifierKey must be a verifier key string');
  if (typeof o.custodian !== 'string' || !CUSTODIAN_NAME_RE.test(o.custodian)) throw bad('custodian must be a custodian name');
  if (!intIn(o.x, 1, 255)) throw bad('x must be an integer 1–255');
  if (!intIn(o.epoch, 1, Number.MAX_SAFE_INTEGER)) throw bad('epoch must be a positive integer');
  if (!intIn(o.custodians, 2, CUSTODY_MAX_CUSTODIANS)) throw bad(`custodians must be an integer 2–${CUSTODY_MAX_CUSTODIANS}`);
  if (!intIn(o.threshold, 2, o.custodians)) throw bad('threshold must be an integer from 2 to the number of custodians');
  if (typeof o.kekFingerprint !== 'string' || fromHex(o.kekFingerprint)?.length !== 16) throw bad('kekFingerprint must be 32 hex digits');
  const k = o.kdf as Record<string, unknown> | undefined;
  if (typeof k !== 'object' || k === null || Array.isArray(k)) throw bad('kdf must be an object');
  for (const m of Object.keys(k)) if (!KDF_MEMBERS.includes(m)) throw bad(`kdf: unknown member ${JSON.stringify(m)}`);
  if (k.name !== 'scrypt') throw bad('kdf.name must be "scrypt"');
  if (!intIn(k.logN, 1, 64)) throw bad('kdf.logN must be a positive integer');
  // Refused before any work: the opener would otherwise spend whatever memory and time the file asks for.
  if (k.logN < SCRYPT_MIN_LOG_N || k.logN > SCRYPT_MAX_LOG_N) throw bad(`kdf.logN ${k.logN} is outside ${SCRYPT_MIN_LOG_N}–${SCRYPT_MAX_LOG_N}`);
  if (!intIn(k.r, 1, 64) || !intIn(k.p, 1, 4)) throw bad('kdf.r must be 1–64 and kdf.p 1–4');
  if (128 * 2 ** k.logN * k.r > SCRYPT_MAX_MEMORY) throw bad(`kdf parameters need more than ${SCRYPT_MAX_MEMORY / 2 ** 20} MiB`);
  if (typeof k.salt !== 'string' || (fromBase64(k.salt)?.length ?? 0) < SALT_SIZE) throw bad(`kdf.salt must be base64 of at least ${SALT_SIZE} bytes`);
  const meta = pickMeta(o as unknown as ShareMeta);
  return { meta, kdf: k as unknown as Kdf };
}

/**
 * Opens a share file with its custodian's passphrase. A wrong passphrase and a file with any byte
 * changed are the same 'custody.passphrase' (GCM cannot tell them apart, and should not);
 * a file that does not parse is 'input.malformed'. Both name `source`, never the passphrase.
 */
export async function openShareFile(text: string, passphrase: string, source: string): Promise<{ meta: ShareMeta; share: Uint8Array }> {
  if (text.length > 64 * 1024) throw new EmbassyError('input.too-large', `share file ${source}: larger than 64 KiB`);
  let value: unknown;
  try {
    value = parseJsonStrict(text);
  } catch {
    throw new EmbassyError('input.malformed', `share file ${source}: not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EmbassyError('input.malformed', `share file ${source}: expected a JSON object`);
  }
  const o = value as Record<string, unknown>;
  for (const m of Object.keys(o)) {
    if (!MEMBERS.includes(m)) throw new EmbassyError('input.malformed', `share file ${source}: unknown member ${JSON.stringify(m)}`);
  }
  const { meta, kdf } = checkMembers(o, source);
  const sealed = typeof o.ciphertext === 'string' ? fromBase64(o.ciphertext) : undefined;
  if (!sealed || sealed.length !== AES_GCM_NONCE_SIZE + KEK_SHARE_SIZE + AES_GCM_TAG_SIZE) {
    throw new EmbassyError('input.malformed', `share file ${source}: ciphertext must be base64 of nonce, sealed share and tag (${AES_GCM_NONCE_SIZE + KEK_SHARE_SIZE + AES_GCM_TAG_SIZE} bytes)`);
  }
  const { ciphertext: _c, ...members } = o;
  const key = await scrypt(passphrase, fromBase64(kdf.salt)!, kdf.logN, kdf.r, kdf.p);
  let share: Uint8Array;
  try {
    share = aes256GcmOpen(key, sealed.subarray(0, AES_GCM_NONCE_SIZE), sealed.subarray(AES_GCM_NONCE_SIZE), aadOf(members));
  } catch {
    throw new EmbassyError('custody.passphrase', `share file ${source}: does not open for custodian ${meta.custodian} with the passphrase given`, {
      hint: 'check the passphrase; if it is right, the file was altered or damaged: ask for a fresh share (`embassy custody reshare`)',
    });
  } finally {
    key.fill(0);
  }
  if (shareX(share) !== meta.x) {
    share.fill(0);
    throw new EmbassyError('input.malformed', `share file ${source}: the share's x-coordinate is not the file's x`);
  }
  return { meta, share };
}
