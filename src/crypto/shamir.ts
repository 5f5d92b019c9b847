// Shamir secret sharing over GF(2^8) with the AES polynomial 0x11B, byte by byte, through the
// audited npm package `shamir-secret-sharing` (a port of HashiCorp Vault's `shamir`). Share layout
// as in Vault: y_1 … y_L ‖ x, the last byte being the share's non-zero x-coordinate. Checked against
// shared/vectors/shamir. Combining a wrong or too small set of shares does NOT fail: it returns
// unrelated bytes. Callers detect that by comparing keyFingerprint (aead.ts) with the logged one.
import { combine, split } from 'shamir-secret-sharing';
import { EmbassyError } from '../errors.ts';

export const SHAMIR_MIN_THRESHOLD = 2;
export const SHAMIR_MAX_SHARES = 255;

function invalid(message: string, cause?: unknown): EmbassyError {
  return new EmbassyError('shamir.invalid', message, cause === undefined ? undefined : { cause });
}

// The package checks `x.constructor === Uint8Array`, so a Buffer or any subclass would be refused;
// a plain copy also keeps the caller's array out of its hands.
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * Splits `secret` (at least one byte) into `shares` shares of secret.length + 1 bytes each, any
 * `threshold` of which rebuild it. Randomness (coefficients and x-coordinates) comes from the
 * package's own node:crypto CSPRNG; it cannot be injected, so tests check round trips, not bytes.
 */
export async function splitSecret(secret: Uint8Array, shares: number, threshold: number): Promise<Uint8Array[]> {
  if (secret.length === 0) throw invalid('shamir: expected a non-empty secret');
  if (!Number.isSafeInteger(threshold) || threshold < SHAMIR_MIN_THRESHOLD) {
    throw invalid(`shamir: expected threshold >= ${SHAMIR_MIN_THRESHOLD}, got ${threshold}`);
  }
  if (!Number.isSafeInteger(shares) || shares > SHAMIR_MAX_SHARES) {
    throw invalid(`shamir: expected at most ${SHAMIR_MAX_SHARES} shares, got ${shares}`);
  }
  if (threshold > shares) throw invalid(`shamir: threshold ${threshold} exceeds share count ${shares}`);
  try {
    return await split(plain(secret), shares, threshold);
  } catch (e) {
    throw invalid('shamir: split failed', e);
  }
}

/**
 * Rebuilds a secret from at least two shares. Validates only the shape (count, equal lengths,
 * distinct non-zero x-coordinates); it cannot know whether the set is right or large enough.
 */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Uint8Array> {
  if (shares.length < SHAMIR_MIN_THRESHOLD || shares.length > SHAMIR_MAX_SHARES) {
    throw invalid(`shamir: expected ${SHAMIR_MIN_THRESHOLD}..${SHAMIR_MAX_SHARES} shares, got ${shares.length}`);
  }
  const length = shares[0]!.length;
  if (length < 2) throw invalid(`shamir: expected shares of at least 2 bytes, got ${length}`);
  const seen = new Set<number>();
  for (const [i, share] of shares.entries()) {
    if (share.length !== length) {
      throw invalid(`shamir: share ${i} is ${share.length} bytes, expected ${length} like share 0`);
    }
    const x = share[length - 1]!;
    // x = 0 would be the secret itself (f(0)); no honest split produces it, so it is an attack or
    // corruption, and the package would silently return that share's y-values.
    if (x === 0) throw invalid(`shamir: share ${i} has x-coordinate 0`);
    if (seen.has(x)) throw invalid(`shamir: share ${i} repeats an earlier share's x-coordinate`);
    seen.add(x);
  }
  try {
    return await combine(shares.map(plain));
  } catch (e) {
    throw invalid('shamir: combine failed', e);
  }
}
