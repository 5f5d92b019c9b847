// The KEK under custody (DESIGN.md §6): the custody statement that describes a Shamir split of it,
// the share check that recognises a custodian's share without revealing it, and the rebuild of the
// KEK from shares, which refuses a share that is not the logged one, a short set, and a set that
// does not give the logged KEK fingerprint. Pure: no I/O; shares come in as bytes.
import { EmbassyError } from '../errors.ts';
import { keyFingerprint } from '../crypto/aead.ts';
import { sha256 } from '../crypto/hash.ts';
import { combineShares } from '../crypto/shamir.ts';
import { bytesEqualConstantTime, fromHex, toHex, utf8 } from '../format/bytes.ts';
import { parseHomeStatement, type CustodyStatement } from '../format/statement-types.ts';

export const KEK_SIZE = 32;
/** A share of a 32-byte KEK: 32 y-bytes and the x-coordinate. */
export const KEK_SHARE_SIZE = KEK_SIZE + 1;
export const SHARE_CHECK_LABEL = 'data-embassy share-check v1\n';
const LABEL = utf8.encode(SHARE_CHECK_LABEL);

/**
 * hex SHA-256("data-embassy share-check v1\n" ‖ share). A share has 256 bits of fresh randomness
 * in its y-bytes, so the check cannot be inverted or searched; it only recognises the share.
 */
export function shareCheck(share: Uint8Array): string {
  return toHex(sha256(LABEL, share));
}

/** The x-coordinate of a share: its last byte. */
export function shareX(share: Uint8Array): number {
  return share[share.length - 1] ?? 0;
}

/** The custody statement for a split: `shares[i]` is held by `names[i]`. Checked as a reader would. */
export function custodyStatement(epoch: number, kek: Uint8Array, threshold: number, names: readonly string[], shares: readonly Uint8Array[]): CustodyStatement {
  if (names.length !== shares.length) {
    throw new EmbassyError('usage', `custody: ${names.length} custodian names for ${shares.length} shares`);
  }
  const s: CustodyStatement = {
    type: 'custody',
    epoch,
    kekFingerprint: toHex(keyFingerprint(kek)),
    threshold,
    custodians: names.map((name, i) => ({ name, x: shareX(shares[i]!), shareCheck: shareCheck(shares[i]!) })),
  };
  try {
    parseHomeStatement(s);
  } catch (e) {
    throw new EmbassyError('usage', (e as Error).message);
  }
  return s;
}

/**
 * Checks that `share` is the share the custody statement records for `custodian`: a known name,
 * the recorded x-coordinate, the recorded share check. Anything else is 'custody.wrong-share' —
 * a share of another ceremony, of another epoch, another custodian's, or a corrupted one.
 */
export function checkShare(custody: CustodyStatement, custodian: string, share: Uint8Array): void {
  const entry = custody.custodians.find((c) => c.name === custodian);
  const where = `custody epoch ${custody.epoch}`;
  if (!entry) {
    throw new EmbassyError('custody.wrong-share', `share: ${JSON.stringify(custodian)} is not a custodian of ${where}`, {
      hint: `the custodians are ${custody.custodians.map((c) => c.name).join(', ')}`,
    });
  }
  if (share.length !== KEK_SHARE_SIZE || shareX(share) !== entry.x ||
      !bytesEqualConstantTime(fromHex(shareCheck(share))!, fromHex(entry.shareCheck)!)) {
    throw new EmbassyError('custody.wrong-share', `share: the share of custodian ${custodian} is not the one recorded in ${where}`, {
      hint: 'it is from another ceremony or epoch (after `custody rotate` or `reshare` only the new share files count), or damaged',
    });
  }
}

/**
 * Rebuilds the KEK from the shares of at least `threshold` distinct custodians. Each share is
 * checked first (checkShare); the combined key must have the logged fingerprint. Intermediate
 * buffers are wiped; the caller owns (and wipes) the returned key.
 */
export async function rebuildKek(custody: CustodyStatement, shares: readonly { custodian: string; share: Uint8Array }[]): Promise<Uint8Array> {
  const seen = new Set<string>();
  for (const s of shares) {
    if (seen.has(s.custodian)) {
      throw new EmbassyError('custody.wrong-share', `share: custodian ${s.custodian} submitted more than one share`);
    }
    seen.add(s.custodian);
    checkShare(custody, s.custodian, s.share);
  }
  if (shares.length < custody.threshold) {
    throw new EmbassyError('custody.short', `custody epoch ${custody.epoch}: ${shares.length} of ${custody.threshold} shares needed`);
  }
  const copies = shares.map((s) => new Uint8Array(s.share));
  let kek: Uint8Array | undefined;
  try {
    kek = await combineShares(copies);
    if (kek.length !== KEK_SIZE || toHex(keyFingerprint(kek)) !== custody.kekFingerprint) {
      kek.fill(0);
      throw new EmbassyError('custody.mismatch', `custody epoch ${custody.epoch}: the shares rebuild a key whose fingerprint is not the logged KEK fingerprint ${custody.kekFingerprint}`);
    }
    return kek;
  } finally {
    for (const c of copies) c.fill(0);
  }
}
