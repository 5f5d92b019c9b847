// C2SP signed notes (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank line, then
// one "— <key name> base64(key ID ‖ signature)" line per signature. Parsing follows Go's
// golang.org/x/mod/sumdb/note Open/Sign case for case (last blank line splits, 100-signature cap,
// duplicate handling, error precedence), with one deliberate tightening noted at openNote. Keys are
// the C2SP/Go vkey and skey strings; signature types 0x01 (Ed25519) and 0x04 (tlog-cosignature v1).
import { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';
import { bytesEqual, concatBytes, fromBase64, toBase64, toHex, utf8, utf8Strict } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import {
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
  ED25519_SIGNATURE_SIZE,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
} from '../crypto/ed25519.ts';

/** Signature type bytes from the signed-note registry. */
export const SIGNATURE_TYPE_ED25519 = 0x01;
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;
export const KEY_ID_SIZE = 4;
/** Go's note.Open rejects a note with more signature lines than this; C2SP requires at least 16. */
export const MAX_NOTE_SIGNATURES = 100;
/** uint64 timestamp ‖ Ed25519 signature (c2sp.org/tlog-cosignature). */
export const COSIGNATURE_V1_SIZE = 8 + ED25519_SIGNATURE_SIZE;
/** tlog-cosignature: the timestamp "MUST NOT exceed 2^63 - 1". */
export const MAX_COSIGNATURE_TIMESTAMP = (1n << 63n) - 1n;

const SIGNATURE_PREFIX = '— '; // U+2014 EM DASH, U+0020
const SIGNATURE_PREFIX_BYTES = utf8.encode(SIGNATURE_PREFIX);

export interface NoteSigner {
  name: string;
  keyId: Uint8Array;
  /** The signature bytes that follow the key ID on the signature line. */
  sign(text: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  name: string;
  keyId: Uint8Array;
  /** True only for a valid signature; never throws for bad input. */
  verify(text: Uint8Array, sig: Uint8Array): boolean;
}

export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  /** The bytes after the key ID. */
  signature: Uint8Array;
}

export interface OpenedNote {
  text: string;
  verified: NoteSignature[];
  unverified: NoteSignature[];
}

export type VerifierKey = NoteVerifier & { type: number; publicKey: Uint8Array };

// ---- names and key IDs ----

// Go's unicode.IsSpace: ASCII whitespace, U+0085, U+00A0 and the White_Space code points above
// U+00FF. Not JavaScript's \s, which adds U+FEFF and lacks U+0085.
const SPACE_OR_PLUS = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000+]/u;
/** In a /u regex a well-formed surrogate pair is one astral code point, so this finds only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f]/;

/** Key names are non-empty, well-formed Unicode, without Unicode spaces or '+'. */
export function isValidKeyName(name: string): boolean {
  return name !== '' && !LONE_SURROGATE.test(name) && !SPACE_OR_PLUS.test(name);
}

function requireKeyName(name: string, subject: string): void {
  if (typeof name !== 'string' || !isValidKeyName(name)) {
    throw new EmbassyError('key.malformed', `${subject}: key name must be non-empty, without spaces or '+'`);
  }
}

/** SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], the C2SP key ID. */
export function keyId(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  return sha256(utf8.encode(name), Uint8Array.of(0x0a, type), publicKey).slice(0, KEY_ID_SIZE);
}

function keyIdLabel(name: string, id: Uint8Array): string {
  return `${name}+${toHex(id)}`;
}

// ---- signers and verifiers ----

export function ed25519NoteSigner(name: string, seed: Uint8Array): NoteSigner {
  requireKeyName(name, 'signer key');
  requireSeed(seed);
  const s = seed.slice();
  return {
    name,
    keyId: keyId(name, SIGNATURE_TYPE_ED25519, ed25519PublicKey(s)),
    sign: (text) => ed25519Sign(s, text),
  };
}

export function ed25519NoteVerifier(name: string, publicKey: Uint8Array): VerifierKey {
  requireKeyName(name, 'verifier key');
  requirePublicKey(publicKey);
  const pub = publicKey.slice();
  return {
    name,
    keyId: keyId(name, SIGNATURE_TYPE_ED25519, pub),
    type: SIGNATURE_TYPE_ED25519,
    publicKey: pub,
    verify: (text, sig) => ed25519Verify(pub, text, sig),
  };
}

/** "cosignature/v1\ntime <t>\n" ‖ note text: what an Ed25519 cosignature/v1 signs. */
export function cosignatureV1Message(timestamp: bigint, text: Uint8Array): Uint8Array {
  return concatBytes(utf8.encode(`cosignature/v1\ntime ${timestamp}\n`), text);
}

/**
 * A type 0x04 verifier that checks the frame (8-byte timestamp ≤ 2^63−1, 64-byte signature) and
 * the signature over cosignatureV1Message. It is agnostic about the text; cosignature.ts wraps it
 * to also insist that the text is a checkpoint.
 */
export function ed25519CosignatureVerifier(name: string, publicKey: Uint8Array): VerifierKey {
  requireKeyName(name, 'verifier key');
  requirePublicKey(publicKey);
  const pub = publicKey.slice();
  return {
    name,
    keyId: keyId(name, SIGNATURE_TYPE_COSIGNATURE_V1, pub),
    type: SIGNATURE_TYPE_COSIGNATURE_V1,
    publicKey: pub,
    verify(text, sig) {
      if (sig.length !== COSIGNATURE_V1_SIZE) return false;
      const timestamp = new DataView(sig.buffer, sig.byteOffset, 8).getBigUint64(0);
      if (timestamp > MAX_COSIGNATURE_TIMESTAMP) return false;
      return ed25519Verify(pub, cosignatureV1Message(timestamp, text), sig.subarray(8));
    },
  };
}

function requireSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) {
    throw new EmbassyError('key.malformed', `signer key: expected 32-byte ed25519 seed, got ${seed?.length}`);
  }
}

function requirePublicKey(pub: Uint8Array): void {
  if (!(pub instanceof Uint8Array) || pub.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new EmbassyError('key.malformed', `verifier key: expected 32-byte ed25519 public key, got ${pub?.length}`);
  }
}

// ---- key strings ----

/** Go's chop: split at the first sep; without one, everything is "before". */
function chop(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

// Go parses the ID with strconv.ParseUint(h, 16, 32) after checking len(h) == 8: either case.
const KEY_ID_HEX = /^[0-9a-fA-F]{8}$/;

function parseKeyIdHex(h: string): Uint8Array | undefined {
  if (!KEY_ID_HEX.test(h)) return undefined;
  const n = Number.parseInt(h, 16);
  const out = new Uint8Array(KEY_ID_SIZE);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** "PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 ‖ seed)". The result is a secret. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  const signer = ed25519NoteSigner(name, seed);
  return `PRIVATE+KEY+${name}+${toHex(signer.keyId)}+${toBase64(concatBytes(Uint8Array.of(SIGNATURE_TYPE_ED25519), seed))}`;
}

/** Parses an Ed25519 skey; the key ID must match the derived public key. Never echoes the input. */
export function parseSignerKey(skey: string): { name: string; keyId: Uint8Array; seed: Uint8Array } {
  const bad = (why: string) => new EmbassyError('key.malformed', `signer key: ${why}`);
  if (typeof skey !== 'string') throw bad('expected a string');
  const [p1, r1] = chop(skey, '+');
  const [p2, r2] = chop(r1, '+');
  const [name, r3] = chop(r2, '+');
  const [idHex, key64] = chop(r3, '+');
  if (p1 !== 'PRIVATE' || p2 !== 'KEY') throw bad('expected PRIVATE+KEY+<name>+<id>+<key>');
  if (!isValidKeyName(name)) throw bad("key name must be non-empty, without spaces or '+'");
  const id = parseKeyIdHex(idHex);
  if (id === undefined) throw bad('key id must be 8 hex digits');
  const key = fromBase64(key64);
  if (key === undefined || key.length === 0) throw bad('key data is not base64');
  if (key[0] !== SIGNATURE_TYPE_ED25519) throw bad(`unsupported key type ${key[0]}`);
  if (key.length !== 1 + ED25519_SEED_SIZE) throw bad(`expected 32-byte ed25519 seed, got ${key.length - 1}`);
  const seed = key.slice(1);
  if (!bytesEqual(id, keyId(name, SIGNATURE_TYPE_ED25519, ed25519PublicKey(seed)))) {
    throw bad('key id does not match the key');
  }
  return { name, keyId: id, seed };
}

/** "<name>+<hex key ID>+base64(type ‖ public key)"; type 0x01 (default) or 0x04. */
export function formatVerifierKey(name: string, publicKey: Uint8Array, type: number = SIGNATURE_TYPE_ED25519): string {
  const v = verifierOfType(name, publicKey, type);
  return `${name}+${toHex(v.keyId)}+${toBase64(concatBytes(Uint8Array.of(type), publicKey))}`;
}

function verifierOfType(name: string, publicKey: Uint8Array, type: number): VerifierKey {
  if (type === SIGNATURE_TYPE_ED25519) return ed25519NoteVerifier(name, publicKey);
  if (type === SIGNATURE_TYPE_COSIGNATURE_V1) return ed25519CosignatureVerifier(name, publicKey);
  throw new EmbassyError('key.malformed', `verifier key: unsupported key type ${type}`);
}

/**
 * Parses a vkey of type 0x01 (Ed25519) or 0x04 (Ed25519 cosignature/v1) as Go's NewVerifier does:
 * split on the first two '+' only (base64 may contain '+'), 8 hex digits of key ID that must equal
 * the ID computed from name, type and key, and a 32-byte key.
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  const bad = (why: string) => new EmbassyError('key.malformed', `verifier key: ${why}`);
  if (typeof vkey !== 'string') throw bad('expected a string');
  const [name, rest] = chop(vkey, '+');
  const [idHex, key64] = chop(rest, '+');
  if (!isValidKeyName(name)) throw bad("key name must be non-empty, without spaces or '+'");
  const id = parseKeyIdHex(idHex);
  if (id === undefined) throw bad('key id must be 8 hex digits');
  const key = fromBase64(key64);
  if (key === undefined || key.length === 0) throw bad('key data is not base64');
  const type = key[0]!;
  if (type !== SIGNATURE_TYPE_ED25519 && type !== SIGNATURE_TYPE_COSIGNATURE_V1) throw bad(`unsupported key type ${type}`);
  if (key.length !== 1 + ED25519_PUBLIC_KEY_SIZE) throw bad(`expected 32-byte public key, got ${key.length - 1}`);
  const v = verifierOfType(name, key.subarray(1), type);
  if (!bytesEqual(id, v.keyId)) throw bad('key id does not match the key');
  return v;
}

// ---- signature lines ----

/** Standard base64 with padding, as Go's StdEncoding reads it: non-zero trailing bits tolerated. */
const B64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface ParsedSignatureLine extends NoteSignature {
  /** The line after the prefix, for Go's "drop repeated identical unverified signatures". */
  line: string;
  /** False when the base64 has non-zero trailing bits (another encoding of the same bytes). */
  canonical: boolean;
}

function parseLine(line: string): ParsedSignatureLine | string {
  if (!line.startsWith(SIGNATURE_PREFIX)) return 'signature line must start with "— "';
  const body = line.slice(SIGNATURE_PREFIX.length);
  const [name, b64] = chop(body, ' ');
  if (!isValidKeyName(name)) return 'signature line has an invalid key name';
  if (b64 === '' || !B64_SHAPE.test(b64)) return 'signature is not base64';
  // Node's decoder, like Go's, ignores the trailing bits; B64_SHAPE has already vetted the alphabet and padding.
  const raw = new Uint8Array(Buffer.from(b64, 'base64'));
  if (raw.length < KEY_ID_SIZE + 1) return 'signature is shorter than 5 bytes';
  return {
    name,
    keyId: raw.slice(0, KEY_ID_SIZE),
    signature: raw.slice(KEY_ID_SIZE),
    line: body,
    canonical: fromBase64(b64) !== undefined,
  };
}

/** Parses one signature line without its newline: "— <name> <base64>". */
export function parseSignatureLine(line: string): NoteSignature {
  const p = parseLine(line);
  if (typeof p === 'string') throw new EmbassyError('note.malformed', `note: ${p}`);
  return { name: p.name, keyId: p.keyId, signature: p.signature };
}

/** Formats one signature line including its newline. */
export function formatSignatureLine(sig: NoteSignature): string {
  if (!isValidKeyName(sig.name)) throw new EmbassyError('note.malformed', "note: key name must be non-empty, without spaces or '+'");
  if (sig.keyId.length !== KEY_ID_SIZE) throw new EmbassyError('note.malformed', `note: expected 4-byte key id, got ${sig.keyId.length}`);
  if (sig.signature.length === 0) throw new EmbassyError('note.malformed', 'note: empty signature');
  return `${SIGNATURE_PREFIX}${sig.name} ${toBase64(concatBytes(sig.keyId, sig.signature))}\n`;
}

// ---- notes ----

function malformed(why: string): EmbassyError {
  return new EmbassyError('note.malformed', `note: ${why}`);
}

/** Note text rules shared by signing and opening: well-formed, no control characters but \n. */
function checkText(text: string): void {
  if (LONE_SURROGATE.test(text)) throw malformed('text is not well-formed unicode');
  if (CONTROL_EXCEPT_NEWLINE.test(text)) throw malformed('text contains a control character');
}

interface SplitNote {
  text: string;
  textBytes: Uint8Array;
  lines: string[];
}

function splitNote(note: string | Uint8Array): SplitNote {
  let bytes: Uint8Array;
  if (typeof note === 'string') {
    checkText(note);
    bytes = utf8.encode(note);
  } else if (note instanceof Uint8Array) {
    // Bytes below 0x20 never occur inside a multi-byte UTF-8 sequence, so a byte scan equals Go's rune scan.
    for (const b of note) if (b < 0x20 && b !== 0x0a) throw malformed('text contains a control character');
    try {
      utf8Strict.decode(note);
    } catch {
      throw malformed('not valid utf-8');
    }
    bytes = note;
  } else {
    throw malformed('expected a string or bytes');
  }
  // The signature block starts after the last blank line; the text keeps its final newline.
  let split = -1;
  for (let i = bytes.length - 2; i >= 0; i--) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      split = i;
      break;
    }
  }
  if (split < 0) throw malformed('no blank line before the signatures');
  const sigs = bytes.subarray(split + 2);
  if (sigs.length === 0 || sigs[sigs.length - 1] !== 0x0a) throw malformed('signature block must end in a newline');
  const textBytes = bytes.slice(0, split + 1);
  const lines = utf8Strict.decode(sigs).split('\n');
  lines.pop();
  return { text: utf8Strict.decode(textBytes), textBytes, lines };
}

/** Parses signature lines lazily, so errors surface in Go's order (parse, count, then verify). */
function* signatureLines(lines: readonly string[]): Generator<ParsedSignatureLine> {
  let n = 0;
  for (const line of lines) {
    const p = parseLine(line);
    if (typeof p === 'string') throw malformed(p);
    if (++n > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
    yield p;
  }
}

/** Structure only, nothing verified: the text and every signature line in order. */
export function parseNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  const { text, lines } = splitNote(note);
  const signatures: NoteSignature[] = [];
  for (const p of signatureLines(lines)) signatures.push({ name: p.name, keyId: p.keyId, signature: p.signature });
  return { text, signatures };
}

/** Signs text (which must end in \n) with each signer, in order. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw malformed('text must end in a newline');
  checkText(text);
  if (signers.length === 0) throw malformed('expected at least one signer');
  if (signers.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  for (const s of signers) {
    requireKeyName(s.name, 'signer key');
    if (!(s.keyId instanceof Uint8Array) || s.keyId.length !== KEY_ID_SIZE) {
      throw new EmbassyError('key.malformed', `signer key: expected 4-byte key id for ${s.name}`);
    }
  }
  const msg = utf8.encode(text);
  let out = text + '\n';
  for (const s of signers) out += formatSignatureLine({ name: s.name, keyId: s.keyId, signature: s.sign(msg) });
  return out;
}

/**
 * Opens a signed note as Go's note.Open does: unknown keys' signatures are kept in `unverified`
 * (identical lines once); a known key is verified on its first line only, and a failure rejects
 * the whole note ('note.bad-signature'); with nothing verified, 'note.unverified'.
 * Tightening over Go: a known key's signature whose base64 has non-zero trailing bits is rejected
 * as a bad signature rather than accepted, so a verified note has exactly one byte encoding.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, textBytes, lines } = splitNote(note);
  const known = new Map<string, NoteVerifier[]>();
  for (const v of verifiers) {
    const label = keyIdLabel(v.name, v.keyId);
    const list = known.get(label) ?? [];
    if (!list.includes(v)) list.push(v);
    known.set(label, list);
  }
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  for (const p of signatureLines(lines)) {
    const sig: NoteSignature = { name: p.name, keyId: p.keyId, signature: p.signature };
    const label = keyIdLabel(p.name, p.keyId);
    const candidates = known.get(label);
    if (candidates === undefined) {
      if (!seenUnverified.has(p.line)) {
        seenUnverified.add(p.line);
        unverified.push(sig);
      }
      continue;
    }
    if (candidates.length > 1) throw new EmbassyError('key.malformed', `note: more than one verifier for key ${label}`);
    if (seen.has(label)) continue;
    seen.add(label);
    if (!p.canonical || !safeVerify(candidates[0]!, textBytes, p.signature)) {
      throw new EmbassyError('note.bad-signature', `note: invalid signature for key ${label}`);
    }
    verified.push(sig);
  }
  if (verified.length === 0) throw new EmbassyError('note.unverified', 'note: no signature by a known key');
  return { text, verified, unverified };
}

function safeVerify(v: NoteVerifier, text: Uint8Array, sig: Uint8Array): boolean {
  try {
    return v.verify(text, sig) === true;
  } catch {
    return false;
  }
}
