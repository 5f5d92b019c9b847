import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { concatBytes, uint64BE, utf8 } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { ed25519PublicKey, ed25519Sign } from '../crypto/ed25519.ts';
import { formatCheckpoint, openCheckpoint } from './checkpoint.ts';
import {
  cosignatureNoteSigner,
  cosignatureNoteVerifier,
  formatCosignatureVerifierKey,
  parseCosignature,
  verifyCosignature,
} from './cosignature.ts';
import {
  MAX_COSIGNATURE_TIMESTAMP,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  cosignatureV1Message,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  keyId,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
} from './note.ts';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEmbassyError(e, code), `expected ${code}, got ${String(e)}`);
    return true;
  });
}

const seed = (n: number) => new Uint8Array(32).fill(n);
const LOG = 'example.com/log';
const WITNESS = 'example.com/witness';
const T = 1_700_000_000n;
const logSigner = ed25519NoteSigner(LOG, seed(1));
const logVerifier = ed25519NoteVerifier(LOG, ed25519PublicKey(seed(1)));
const witness = cosignatureNoteSigner(WITNESS, seed(3), () => T);
const witnessPub = ed25519PublicKey(seed(3));
const witnessVerifier = cosignatureNoteVerifier(WITNESS, witnessPub);
const body = formatCheckpoint({ origin: LOG, size: 7n, root: sha256(utf8.encode('x')), extensions: [] });

describe('cosignature/v1 signing and verification', () => {
  test('the signed message is the two header lines and the checkpoint body (spec example)', () => {
    const specBody = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    assert.equal(
      new TextDecoder().decode(cosignatureV1Message(1679315147n, utf8.encode(specBody))),
      'cosignature/v1\ntime 1679315147\n' + specBody,
    );
  });

  test('signature bytes are uint64 BE timestamp ‖ ed25519(message)', () => {
    const sig = witness.sign(utf8.encode(body));
    assert.equal(sig.length, 72);
    assert.deepEqual(sig.subarray(0, 8), uint64BE(T));
    assert.deepEqual(sig.subarray(8), ed25519Sign(seed(3), cosignatureV1Message(T, utf8.encode(body))));
    assert.deepEqual(witness.keyId, keyId(WITNESS, SIGNATURE_TYPE_COSIGNATURE_V1, witnessPub));
  });

  test('a cosignature is one more note line: signNote, openNote and openCheckpoint carry it', () => {
    const note = signNote(body, [logSigner, witness]);
    const opened = openNote(note, [logVerifier, witnessVerifier]);
    assert.deepEqual(opened.verified.map((s) => s.name), [LOG, WITNESS]);
    const { note: n } = openCheckpoint(note, logVerifier, [witnessVerifier]);
    const cosig = n.verified.find((s) => s.name === WITNESS)!;
    assert.deepEqual(verifyCosignature(body, cosig, witnessVerifier), { timestamp: T });
    assert.equal(parseCosignature(cosig.signature).timestamp, T);
  });

  test('the 0x04 vkey round trips and its verifier accepts the cosignature', () => {
    const vkey = formatCosignatureVerifierKey(WITNESS, witnessPub);
    const v = parseVerifierKey(vkey);
    assert.equal(v.type, SIGNATURE_TYPE_COSIGNATURE_V1);
    assert.deepEqual(v.keyId, witness.keyId);
    assert.equal(openNote(signNote(body, [witness]), [v]).verified.length, 1);
  });

  test('timestamps 0 and 2^63 − 1 are allowed', () => {
    for (const t of [0n, MAX_COSIGNATURE_TIMESTAMP]) {
      const w = cosignatureNoteSigner(WITNESS, seed(3), () => t);
      const sig = parseNote(signNote(body, [w])).signatures[0]!;
      assert.equal(verifyCosignature(body, sig, witnessVerifier).timestamp, t);
    }
  });

  test('domain separation: a plain ed25519 signature and a cosignature do not stand in for each other', () => {
    const plainByWitnessKey = ed25519NoteSigner(WITNESS, seed(3));
    // Different key IDs (type byte), so each is an unknown key to the other's verifier…
    assert.notDeepEqual(plainByWitnessKey.keyId, witness.keyId);
    throwsCode(() => openNote(signNote(body, [plainByWitnessKey]), [witnessVerifier]), 'note.unverified');
    // …and even forced under the same key ID the signed messages differ.
    const forged = { ...plainByWitnessKey, keyId: witness.keyId, sign: (m: Uint8Array) => concatBytes(uint64BE(T), ed25519Sign(seed(3), m)) };
    throwsCode(() => openNote(signNote(body, [forged]), [witnessVerifier]), 'note.bad-signature');
  });

  test('property: any checkpoint body and timestamp round trip', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_COSIGNATURE_TIMESTAMP }), fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), (t, size) => {
        const b = formatCheckpoint({ origin: LOG, size, root: sha256(uint64BE(size)), extensions: [] });
        const sig = parseNote(signNote(b, [cosignatureNoteSigner(WITNESS, seed(3), () => t)])).signatures[0]!;
        assert.equal(verifyCosignature(b, sig, witnessVerifier).timestamp, t);
      }),
      { numRuns: 50 },
    );
  });
});

describe('malformed cosignatures: frame', () => {
  const good = witness.sign(utf8.encode(body));
  const cases: Record<string, Uint8Array> = {
    '68-byte plain signature (64 after the key id)': ed25519Sign(seed(3), utf8.encode(body)),
    '71 bytes': good.subarray(0, 71),
    '73 bytes': concatBytes(good, Uint8Array.of(0)),
    empty: new Uint8Array(0),
    'timestamp 2^63': concatBytes(uint64BE(1n << 63n), good.subarray(8)),
  };
  for (const [why, sig] of Object.entries(cases)) {
    test(why, () => {
      throwsCode(() => parseCosignature(sig), 'cosignature.malformed');
      throwsCode(() => verifyCosignature(body, { name: WITNESS, keyId: witness.keyId, signature: sig }, witnessVerifier), 'cosignature.malformed');
      assert.equal(witnessVerifier.verify(utf8.encode(body), sig), false);
    });
  }
});

describe('invalid cosignatures', () => {
  const sig = parseNote(signNote(body, [witness])).signatures[0]!;

  test('another body', () => {
    const other = body.replace('\n7\n', '\n8\n');
    throwsCode(() => verifyCosignature(other, sig, witnessVerifier), 'cosignature.invalid');
  });

  test('another timestamp in the frame', () => {
    const moved = concatBytes(uint64BE(T + 1n), sig.signature.subarray(8));
    throwsCode(() => verifyCosignature(body, { ...sig, signature: moved }, witnessVerifier), 'cosignature.invalid');
  });

  test('a line by another cosigner', () => {
    const other = cosignatureNoteVerifier('example.com/other', ed25519PublicKey(seed(4)));
    throwsCode(() => verifyCosignature(body, sig, other), 'cosignature.invalid');
  });

  test('the body must be a checkpoint', () => {
    throwsCode(() => verifyCosignature('hello\n', sig, witnessVerifier), 'checkpoint.malformed');
  });
});

describe('cosigning only checkpoints', () => {
  test('the signer refuses a body that is not a checkpoint', () => {
    throwsCode(() => signNote('hello\n', [witness]), 'checkpoint.malformed');
    throwsCode(() => witness.sign(Uint8Array.of(0xff, 0x0a)), 'checkpoint.malformed');
  });

  test('the signer refuses a clock outside 0 … 2^63 − 1', () => {
    throwsCode(() => signNote(body, [cosignatureNoteSigner(WITNESS, seed(3), () => -1n)]), 'cosignature.malformed');
    throwsCode(() => signNote(body, [cosignatureNoteSigner(WITNESS, seed(3), () => 1n << 63n)]), 'cosignature.malformed');
  });

  test('a valid signature over a non-checkpoint text: cosignatureNoteVerifier says no, the bare 0x04 vkey verifier yes', () => {
    const text = utf8.encode('hello\n');
    const sig = concatBytes(uint64BE(T), ed25519Sign(seed(3), cosignatureV1Message(T, text)));
    assert.equal(witnessVerifier.verify(text, sig), false);
    assert.equal(parseVerifierKey(formatCosignatureVerifierKey(WITNESS, witnessPub)).verify(text, sig), true);
  });

  test('bad cosigner keys', () => {
    throwsCode(() => cosignatureNoteSigner('a b', seed(3), () => T), 'key.malformed');
    throwsCode(() => cosignatureNoteSigner(WITNESS, seed(3).subarray(1), () => T), 'key.malformed');
    throwsCode(() => cosignatureNoteVerifier(WITNESS, witnessPub.subarray(1)), 'key.malformed');
    throwsCode(() => formatCosignatureVerifierKey('', witnessPub), 'key.malformed');
  });
});
