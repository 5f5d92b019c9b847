// Exit codes of every `embassy` command, in one table (shown in --help), and the one mapping
// from error codes to them.
import type { ErrorCode } from '../errors.ts';

export const EXIT = {
  OK: 0,
  FINDINGS: 1,
  USAGE: 2,
  INPUT: 3,
  SITE: 4,
  INTEGRITY: 5,
  IO: 6,
  NOT_FOUND: 7,
  REFUSED: 8,
  INTERNAL: 70,
} as const;

export const EXIT_TABLE: readonly [number, string][] = [
  [EXIT.OK, 'success'],
  [EXIT.FINDINGS, 'verification ran and found problems (listed on stdout)'],
  [EXIT.USAGE, 'bad command-line arguments'],
  [EXIT.INPUT, 'an input file or value is malformed or too large; nothing was written'],
  [EXIT.SITE, 'site missing, already exists, locked by another process, or misconfigured'],
  [EXIT.INTEGRITY, 'a signature, proof or authentication check failed, or stored data is corrupt'],
  [EXIT.IO, 'storage or network I/O failed; nothing was committed'],
  [EXIT.NOT_FOUND, 'the record asked for is not in that version'],
  [EXIT.REFUSED, 'refused: no activation in force, a token missing or out of scope, or a rate limit'],
  [EXIT.INTERNAL, 'internal error (a bug): please report it'],
];

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'usage':
      return EXIT.USAGE;
    case 'input.malformed':
    case 'input.too-large':
    case 'json.invalid':
    case 'note.malformed':
    case 'key.malformed':
    case 'checkpoint.malformed':
    case 'cosignature.malformed':
    case 'witness.malformed':
    case 'tile.malformed':
    case 'proof.malformed':
    case 'shamir.invalid':
    case 'crypto.invalid-argument':
    case 'record.invalid':
    case 'tree.unsorted':
    case 'tree.duplicate-key':
      return EXIT.INPUT;
    case 'site.exists':
    case 'site.missing':
    case 'site.config':
    case 'log.locked':
    case 'dataset.unknown':
    case 'dataset.exists':
    case 'version.unknown':
      return EXIT.SITE;
    case 'note.unverified':
    case 'note.bad-signature':
    case 'checkpoint.origin-mismatch':
    case 'cosignature.invalid':
    case 'log.inconsistent':
    case 'crypto.auth-failed':
    case 'proof.invalid':
    case 'log.corrupt':
    case 'object.malformed':
    case 'object.id-mismatch':
    case 'store.corrupt':
    case 'tree.corrupt':
    case 'custody.passphrase':
    case 'custody.wrong-share':
    case 'custody.short':
    case 'custody.mismatch':
      return EXIT.INTEGRITY;
    case 'custody.none':
      return EXIT.SITE;
    case 'activation.inactive':
    case 'activation.conflict':
    case 'activation.expired':
    case 'auth.unauthorized':
    case 'auth.forbidden':
    case 'rate.limited':
      return EXIT.REFUSED;
    case 'store.not-found':
    case 'store.io':
    case 'sync.incomplete':
      return EXIT.IO;
    case 'record.not-found':
      return EXIT.NOT_FOUND;
  }
}
