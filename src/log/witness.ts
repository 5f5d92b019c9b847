// C2SP tlog-witness (c2sp.org/tlog-witness) add-checkpoint bodies. Request: "old <size>\n", up to
// 63 base64 consistency-proof hash lines, a blank line, then the signed checkpoint note. Response
// 200: one or more cosignature lines ("— <name> <base64>\n"); response 409: the witness's latest
// cosigned size in decimal and a newline, as Content-Type text/x.tlog.size. Framing only: opening
// the checkpoint and checking the proof (merkle.ts) belong to the caller.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { fromBase64, toBase64, utf8Strict } from '../format/bytes.ts';
import { MAX_CHECKPOINT_SIZE, parseTreeSize } from './checkpoint.ts';
import { MAX_NOTE_SIGNATURES, formatSignatureLine, parseSignatureLine, type NoteSignature } from './note.ts';

/** "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_CONSISTENCY_PROOF_LINES = 63;
export const PROOF_HASH_SIZE = 32;
/** Content-Type of the 409 Conflict body. */
export const ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  /** Size of the checkpoint the witness last cosigned for this origin, as the client believes. */
  oldSize: bigint;
  /** RFC 6962 consistency proof from oldSize to the checkpoint's size; empty when oldSize is 0. */
  proof: Uint8Array[];
  /** The signed checkpoint note, unverified. */
  checkpoint: string;
}

const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f]/;

function malformed(why: string, cause?: unknown): EmbassyError {
  return new EmbassyError('witness.malformed', `witness: ${why}`, cause === undefined ? undefined : { cause });
}

function decodeBody(body: string | Uint8Array): string {
  if (typeof body === 'string') {
    if (LONE_SURROGATE.test(body)) throw malformed('body is not well-formed unicode');
    return body;
  }
  if (!(body instanceof Uint8Array)) throw malformed('expected a string or bytes');
  try {
    return utf8Strict.decode(body);
  } catch {
    throw malformed('body is not valid utf-8');
  }
}

function checkSize(n: bigint, what: string): void {
  if (typeof n !== 'bigint' || n < 0n || n > MAX_CHECKPOINT_SIZE) throw malformed(`${what} out of range`);
}

export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  checkSize(req.oldSize, 'old size');
  if (req.proof.length > MAX_CONSISTENCY_PROOF_LINES) throw malformed(`more than ${MAX_CONSISTENCY_PROOF_LINES} proof lines`);
  if (req.oldSize === 0n && req.proof.length !== 0) throw malformed('a proof from size 0 must be empty');
  for (const h of req.proof) if (h.length !== PROOF_HASH_SIZE) throw malformed(`expected 32-byte proof hashes, got ${h.length}`);
  if (typeof req.checkpoint !== 'string' || req.checkpoint === '') throw malformed('missing checkpoint');
  return `old ${req.oldSize}\n${req.proof.map((h) => toBase64(h) + '\n').join('')}\n${req.checkpoint}`;
}

/**
 * Strict framing: the header is everything before the first blank line (it cannot contain one),
 * "old <decimal without leading zeros, < 2^63>", then at most 63 lines of canonical base64 of
 * 32 bytes. The checkpoint note is returned unverified and must be non-empty.
 */
export function parseAddCheckpointRequest(body: string | Uint8Array): AddCheckpointRequest {
  const s = decodeBody(body);
  const blank = s.indexOf('\n\n');
  if (blank < 0) throw malformed('expected a blank line before the checkpoint');
  const [oldLine, ...proofLines] = s.slice(0, blank).split('\n') as [string, ...string[]];
  if (!oldLine.startsWith('old ')) throw malformed('expected an "old <size>" line');
  const oldSize = parseTreeSize(oldLine.slice(4));
  if (oldSize === undefined) throw malformed('old size must be a decimal below 2^63 without sign or leading zeros');
  if (proofLines.length > MAX_CONSISTENCY_PROOF_LINES) throw malformed(`more than ${MAX_CONSISTENCY_PROOF_LINES} proof lines`);
  const proof = proofLines.map((line, i) => {
    const h = fromBase64(line);
    if (h === undefined || h.length !== PROOF_HASH_SIZE) throw malformed(`proof line ${i + 1} is not a 32-byte hash in base64`);
    return h;
  });
  const checkpoint = s.slice(blank + 2);
  if (checkpoint === '') throw malformed('missing checkpoint');
  return { oldSize, proof, checkpoint };
}

/** The 200 body: one signature line per cosignature. */
export function formatAddCheckpointResponse(signatures: readonly NoteSignature[]): string {
  if (signatures.length === 0) throw malformed('a response carries at least one cosignature');
  if (signatures.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} cosignatures`);
  return signatures.map((sig) => formatSignatureLine(sig)).join('');
}

/**
 * Parses a 200 body into signatures, nothing verified: append them to the checkpoint and open it
 * with the trusted witness keys (or use verifyCosignature), ignoring unknown keys.
 */
export function parseAddCheckpointResponse(body: string | Uint8Array): NoteSignature[] {
  const s = decodeBody(body);
  if (s === '' || !s.endsWith('\n')) throw malformed('response must be signature lines, each ending in a newline');
  if (CONTROL_EXCEPT_NEWLINE.test(s)) throw malformed('response contains a control character');
  const lines = s.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} cosignatures`);
  return lines.map((line, i) => {
    try {
      return parseSignatureLine(line);
    } catch (e) {
      if (isEmbassyError(e)) throw malformed(`response line ${i + 1} is not a signature line`, e);
      throw e;
    }
  });
}

/** The 409 body: the size of the latest checkpoint the witness cosigned, in decimal, and "\n". */
export function formatAddCheckpointConflict(knownSize: bigint): string {
  checkSize(knownSize, 'known size');
  return `${knownSize}\n`;
}

export function parseAddCheckpointConflict(body: string | Uint8Array): bigint {
  const s = decodeBody(body);
  const n = s.endsWith('\n') ? parseTreeSize(s.slice(0, -1)) : undefined;
  if (n === undefined) throw malformed('conflict body must be a decimal size and a newline');
  return n;
}
