// One error class for the whole project. Every failure that crosses a module boundary is an
// EmbassyError with a code from one of the per-area lists below; tests assert the code, not the
// message. Parsers of untrusted input catch everything else and rethrow as a coded error.
// Messages are lowercase, subject first: "checkpoint: expected 3 body lines, got 2".
// A message never contains key material, share bytes, tokens or record contents.

export const ERROR_CODES = [
  // input and usage
  'usage', // bad command-line arguments
  'input.malformed', // a file or request body that does not parse
  'input.too-large', // over a size limit
  // encodings
  'json.invalid', // not representable as RFC 8785 canonical JSON
  'note.malformed', // signed note does not parse
  'note.unverified', // no signature by a known key verifies
  'note.bad-signature', // a known key's signature does not verify
  'key.malformed', // signer or verifier key string does not parse
  'checkpoint.malformed',
  'checkpoint.origin-mismatch',
  'cosignature.malformed',
  'cosignature.invalid',
  'witness.malformed', // add-checkpoint request or response body
  'tile.malformed', // tile or entry bundle bytes or path
  // cryptography
  'crypto.invalid-argument',
  'crypto.auth-failed', // AEAD open failed: wrong key or tampered bytes
  'shamir.invalid',
  // Merkle proofs
  'proof.invalid', // proof does not verify
  'proof.malformed', // wrong length or impossible indices
  // log storage and site state
  'log.corrupt', // stored log contradicts itself
  'log.locked', // another writer holds the log
  'log.inconsistent', // a peer's checkpoint forks from or rolls back what this site saw before
  'sync.incomplete', // a mirror could not get every object of a version from any peer
  'store.not-found',
  'store.io', // storage operation failed
  'site.exists',
  'site.missing',
  'site.config',
  // objects, stores, record trees, datasets
  'object.malformed', // stored object bytes do not parse
  'object.id-mismatch', // bytes do not hash to the object id they were stored or served under
  'store.corrupt', // pack file or index contradicts itself
  'tree.unsorted', // input to a tree build is not sorted by key
  'tree.duplicate-key', // the same key twice in one version
  'tree.corrupt', // a node's structure is impossible (order, levels, counts)
  'record.invalid', // a record without a key, with a bad key, or over a size limit
  'dataset.unknown',
  'dataset.exists',
  'version.unknown',
  'record.not-found', // no record with that key in that version
  // custody, activation and serving
  'custody.none', // no custody statement: no ceremony was held, or for another KEK
  'custody.passphrase', // a share file does not open with the passphrase given
  'custody.wrong-share', // a share that is not one of the custody statement's shares
  'custody.short', // fewer shares than the threshold
  'custody.mismatch', // the shares rebuild a KEK whose fingerprint is not the logged one
  'activation.inactive', // nothing may be served: no activation is in force
  'activation.conflict', // an activation or collection is already under way, or the request contradicts it
  'activation.expired', // the activation's time is over
  'auth.unauthorized', // no bearer token, or not a valid one
  'auth.forbidden', // a valid token outside its scope
  'rate.limited', // too many requests for this client
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class EmbassyError extends Error {
  readonly code: ErrorCode;
  /** What an operator can do about it, when there is something to do. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmbassyError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isEmbassyError(e: unknown, code?: ErrorCode): e is EmbassyError {
  return e instanceof EmbassyError && (code === undefined || e.code === code);
}
