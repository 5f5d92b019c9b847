// C2SP tlog-cosignature v1, Ed25519 (c2sp.org/tlog-cosignature): a witness or mirror signs
// "cosignature/v1\ntime <t>\n" followed by the checkpoint body, and its note signature is
// uint64 big-endian t ‖ 64-byte Ed25519 signature, under key type 0x04. A cosignature is one more
// signed-note line on the checkpoint, so signNote and openNote carry it unchanged.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, concatBytes, uint64BE, utf8, utf8Strict } from '../format/bytes.ts';
import { ed25519PublicKey, ed25519Sign, ED25519_SEED_SIZE } from '../crypto/ed25519.ts';
import { parseCheckpoint } from './checkpoint.ts';
import {
  COSIGNATURE_V1_SIZE,
  MAX_COSIGNATURE_TIMESTAMP,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  cosignatureV1Message,
  ed25519CosignatureVerifier,
  formatVerifierKey,
  isValidKeyName,
  keyId,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type VerifierKey,
} from './note.ts';

function isCheckpointBody(text: Uint8Array): boolean {
  try {
    parseCheckpoint(utf8Strict.decode(text));
    return true;
  } catch {
    return false;
  }
}

/**
 * A NoteSigner producing cosignature/v1 signatures, timestamped by `now()` (POSIX seconds).
 * It refuses to sign anything but a checkpoint body ('checkpoint.malformed').
 */
export function cosignatureNoteSigner(name: string, seed: Uint8Array, now: () => bigint): NoteSigner {
  if (!isValidKeyName(name)) throw new EmbassyError('key.malformed', "cosigner key: key name must be non-empty, without spaces or '+'");
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) {
    throw new EmbassyError('key.malformed', `cosigner key: expected 32-byte ed25519 seed, got ${seed?.length}`);
  }
  const s = seed.slice();
  return {
    name,
    keyId: keyId(name, SIGNATURE_TYPE_COSIGNATURE_V1, ed25519PublicKey(s)),
    sign(text) {
      let body: string;
      try {
        body = utf8Strict.decode(text);
      } catch {
        throw new EmbassyError('checkpoint.malformed', 'checkpoint: not valid utf-8');
      }
      parseCheckpoint(body);
      const t = now();
      if (typeof t !== 'bigint' || t < 0n || t > MAX_COSIGNATURE_TIMESTAMP) {
        throw new EmbassyError('cosignature.malformed', 'cosignature: timestamp must be between 0 and 2^63-1');
      }
      return concatBytes(uint64BE(t), ed25519Sign(s, cosignatureV1Message(t, text)));
    },
  };
}

/** A NoteVerifier for cosignature/v1 that accepts only a checkpoint body and a well-formed frame. */
export function cosignatureNoteVerifier(name: string, publicKey: Uint8Array): VerifierKey {
  const base = ed25519CosignatureVerifier(name, publicKey);
  return { ...base, verify: (text, sig) => isCheckpointBody(text) && base.verify(text, sig) };
}

/** Splits the bytes after the key ID: 'cosignature.malformed' unless 8 + 64 bytes with t ≤ 2^63−1. */
export function parseCosignature(sig: Uint8Array): { timestamp: bigint; signature: Uint8Array } {
  if (!(sig instanceof Uint8Array) || sig.length !== COSIGNATURE_V1_SIZE) {
    throw new EmbassyError('cosignature.malformed', `cosignature: expected 72 bytes (timestamp and ed25519 signature), got ${sig?.length}`);
  }
  const timestamp = new DataView(sig.buffer, sig.byteOffset, 8).getBigUint64(0);
  if (timestamp > MAX_COSIGNATURE_TIMESTAMP) throw new EmbassyError('cosignature.malformed', 'cosignature: timestamp above 2^63-1');
  return { timestamp, signature: sig.slice(8) };
}

/** "<name>+<hex key ID>+base64(0x04 ‖ public key)". */
export function formatCosignatureVerifierKey(name: string, publicKey: Uint8Array): string {
  return formatVerifierKey(name, publicKey, SIGNATURE_TYPE_COSIGNATURE_V1);
}

/**
 * Checks one cosignature line against a cosigner's verifier and returns its timestamp.
 * 'cosignature.invalid' when it is by another key or does not verify; 'cosignature.malformed'
 * for a bad frame; 'checkpoint.malformed' when the body is not a checkpoint.
 */
export function verifyCosignature(checkpointBody: string, sig: NoteSignature, verifier: NoteVerifier): { timestamp: bigint } {
  if (sig.name !== verifier.name || !bytesEqual(sig.keyId, verifier.keyId)) {
    throw new EmbassyError('cosignature.invalid', `cosignature: signature is not by cosigner ${verifier.name}`);
  }
  const { timestamp } = parseCosignature(sig.signature);
  parseCheckpoint(checkpointBody);
  let ok = false;
  try {
    ok = verifier.verify(utf8.encode(checkpointBody), sig.signature) === true;
  } catch {
    ok = false;
  }
  if (!ok) throw new EmbassyError('cosignature.invalid', `cosignature: signature by ${verifier.name} does not verify`);
  return { timestamp };
}
