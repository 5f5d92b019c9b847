// C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint): the text of a signed note made of
// an origin line, the tree size in decimal, the base64 RFC 6962 root hash, then optional non-empty
// extension lines. The size is capped below 2^63, as Go's sumdb/tlog (int64) and torchwood read
// it. openCheckpoint requires the log's own signature and the origin to be the log's key name.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, fromBase64, toBase64 } from '../format/bytes.ts';
import { openNote, type NoteVerifier, type OpenedNote } from './note.ts';

export interface Checkpoint {
  origin: string;
  size: bigint;
  /** RFC 6962 Merkle tree hash of the first `size` leaves. */
  root: Uint8Array;
  /** Opaque lines after the root, without their newlines. */
  extensions: string[];
}

export const CHECKPOINT_ROOT_SIZE = 32;
/** Largest tree size a checkpoint may carry: 2^63 − 1. */
export const MAX_CHECKPOINT_SIZE = (1n << 63n) - 1n;

const DECIMAL = /^(?:0|[1-9][0-9]{0,18})$/;
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /[\u0000-\u001f]/;

function malformed(why: string): EmbassyError {
  return new EmbassyError('checkpoint.malformed', `checkpoint: ${why}`);
}

/** Decimal without sign or leading zeros, below 2^63; undefined otherwise. */
export function parseTreeSize(s: string): bigint | undefined {
  if (!DECIMAL.test(s)) return undefined;
  const n = BigInt(s);
  return n <= MAX_CHECKPOINT_SIZE ? n : undefined;
}

function checkLine(line: string, what: string): void {
  if (line === '') throw malformed(`${what} is empty`);
  if (LONE_SURROGATE.test(line) || CONTROL.test(line)) throw malformed(`${what} contains a control character or broken unicode`);
}

/** The note text (body) of a checkpoint, ending in a newline. */
export function formatCheckpoint(c: Checkpoint): string {
  checkLine(c.origin, 'origin');
  if (typeof c.size !== 'bigint' || c.size < 0n || c.size > MAX_CHECKPOINT_SIZE) throw malformed('size out of range');
  if (!(c.root instanceof Uint8Array) || c.root.length !== CHECKPOINT_ROOT_SIZE) {
    throw malformed(`expected 32-byte root hash, got ${c.root?.length}`);
  }
  c.extensions.forEach((e, i) => checkLine(e, `extension line ${i + 1}`));
  return [c.origin, c.size.toString(), toBase64(c.root), ...c.extensions].map((l) => l + '\n').join('');
}

/** Strict: every deviation from the spec is 'checkpoint.malformed'. */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string') throw malformed('expected a string');
  if (!text.endsWith('\n')) throw malformed('text must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed(`expected at least 3 lines, got ${lines.length}`);
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  checkLine(origin, 'origin');
  const size = parseTreeSize(sizeLine);
  if (size === undefined) throw malformed('size must be a decimal below 2^63 without sign or leading zeros');
  const root = fromBase64(rootLine);
  if (root === undefined || root.length !== CHECKPOINT_ROOT_SIZE) throw malformed('root must be a 32-byte hash in base64');
  extensions.forEach((e, i) => checkLine(e, `extension line ${i + 1}`));
  return { origin, size, root, extensions };
}

/**
 * Opens a signed checkpoint. The log's signature must verify; signatures by `extraVerifiers`
 * (mirrors, witnesses) are verified when present but not required. The origin must equal
 * `options.origin`, which defaults to the log key's name (the spec's SHOULD; sum.golang.org,
 * whose origin is "go.sum database tree", needs it given explicitly).
 */
export function openCheckpoint(
  note: string | Uint8Array,
  logVerifier: NoteVerifier,
  extraVerifiers: readonly NoteVerifier[] = [],
  options: { origin?: string } = {},
): { checkpoint: Checkpoint; note: OpenedNote } {
  const opened = openNote(note, [logVerifier, ...extraVerifiers]);
  const byLog = opened.verified.some((s) => s.name === logVerifier.name && bytesEqual(s.keyId, logVerifier.keyId));
  if (!byLog) throw new EmbassyError('note.unverified', `checkpoint: not signed by the log key ${logVerifier.name}`);
  const checkpoint = parseCheckpoint(opened.text);
  const origin = options.origin ?? logVerifier.name;
  if (checkpoint.origin !== origin) {
    throw new EmbassyError('checkpoint.origin-mismatch', 'checkpoint: origin does not match the expected log');
  }
  return { checkpoint, note: opened };
}
