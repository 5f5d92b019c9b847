// Receipts (DESIGN.md §5): a mirror's tlog-cosignature/v1 on a home checkpoint, meaning "I hold
// every retained version up to this checkpoint, complete and hash-verified". On the wire and on
// disk a receipt is the home's signed checkpoint note with the mirror's cosignature line added,
// so any C2SP tool verifies it with the two public keys. Witness cosignatures use the same shape.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { bytesEqual, utf8 } from '../format/bytes.ts';
import { openCheckpoint, parseCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import { cosignatureNoteVerifier, parseCosignature, verifyCosignature } from '../log/cosignature.ts';
import { formatSignatureLine, openNote, parseNote, parseVerifierKey, type NoteSigner, type NoteVerifier } from '../log/note.ts';

export const MAX_RECEIPT_SIZE = 64 * 1024;

/** Adds `cosigner`'s cosignature to a signed checkpoint note (which the caller has verified). */
export function cosignCheckpoint(note: string, cosigner: NoteSigner): string {
  const { text } = parseNote(note);
  const line = formatSignatureLine({ name: cosigner.name, keyId: cosigner.keyId, signature: cosigner.sign(utf8.encode(text)) });
  return (note.endsWith('\n') ? note : note + '\n') + line;
}

/** The tree size a stored receipt (or any signed checkpoint note) names, without checking signatures. */
export function noteTreeSize(note: string): bigint {
  return parseCheckpoint(parseNote(note).text).size;
}

/** The time in the last cosignature line of a receipt this site made itself. */
export function lastCosignatureTime(note: string): bigint {
  return parseCosignature(parseNote(note).signatures.at(-1)!.signature).timestamp;
}

export interface OpenedReceipt {
  checkpoint: Checkpoint;
  /** The checkpoint note with only the log's signature and this cosigner's line. */
  note: string;
  /** The cosignature's timestamp, POSIX seconds. */
  cosignedAt: bigint;
}

/**
 * Checks a receipt: the checkpoint is signed by the home log's key (origin `origin`), and it
 * carries a valid cosignature/v1 by `cosignVerifierKey`. Throws 'cosignature.invalid' when the
 * cosigner's line is absent or wrong, and the checkpoint errors of openCheckpoint otherwise.
 */
export function openReceipt(text: string, origin: string, logVerifier: NoteVerifier, cosignVerifierKey: string): OpenedReceipt {
  if (text.length > MAX_RECEIPT_SIZE) throw new EmbassyError('input.too-large', `receipt: over ${MAX_RECEIPT_SIZE} bytes`);
  const vk = parseVerifierKey(cosignVerifierKey);
  const cosigner = cosignatureNoteVerifier(vk.name, vk.publicKey);
  // The home's signature first (its errors as they are), then the cosigner's.
  const opened = openCheckpoint(text, logVerifier, [], { origin });
  let cosigned;
  try {
    cosigned = openNote(text, [cosigner]);
  } catch (e) {
    if (isEmbassyError(e, 'note.bad-signature')) throw new EmbassyError('cosignature.invalid', `receipt: the cosignature by ${vk.name} does not verify`);
    if (isEmbassyError(e, 'note.unverified')) throw new EmbassyError('cosignature.invalid', `receipt: no cosignature by ${vk.name}`);
    throw e;
  }
  const sig = cosigned.verified.find((s) => s.name === cosigner.name && bytesEqual(s.keyId, cosigner.keyId));
  if (sig === undefined) throw new EmbassyError('cosignature.invalid', `receipt: no cosignature by ${vk.name}`);
  const { timestamp } = verifyCosignature(opened.note.text, sig, cosigner);
  const logSig = opened.note.verified.find((s) => s.name === logVerifier.name && bytesEqual(s.keyId, logVerifier.keyId))!;
  const note = opened.note.text + '\n' + formatSignatureLine(logSig) + formatSignatureLine(sig);
  return { checkpoint: opened.checkpoint, note, cosignedAt: timestamp };
}
