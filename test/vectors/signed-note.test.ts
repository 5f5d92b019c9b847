// Third-party vectors for signed notes, checkpoints, cosignatures and the witness protocol
// (/work/shared/vectors/signed-note, see its README for sources and traps), plus the Tessera
// test log's checkpoints (/work/shared/vectors/tlog-tiles-tessera) as a signing known-answer test.
// Every section of the JSON file is consumed and every loop's case count is asserted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { isEmbassyError, type ErrorCode } from '../../src/errors.ts';
import { bytesEqual, concatBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/format/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { EMPTY_ROOT, verifyConsistency } from '../../src/log/merkle.ts';
import {
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  cosignatureV1Message,
  ed25519NoteSigner,
  formatSignerKey,
  formatVerifierKey,
  keyId,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteSignature,
  type NoteVerifier,
} from '../../src/log/note.ts';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, type Checkpoint } from '../../src/log/checkpoint.ts';
import {
  cosignatureNoteSigner,
  cosignatureNoteVerifier,
  formatCosignatureVerifierKey,
  parseCosignature,
  verifyCosignature,
} from '../../src/log/cosignature.ts';
import {
  ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE,
  formatAddCheckpointConflict,
  formatAddCheckpointResponse,
  parseAddCheckpointConflict,
  parseAddCheckpointRequest,
  parseAddCheckpointResponse,
} from '../../src/log/witness.ts';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);
const NOTE_FILE = new URL('signed-note/signed-note-vectors.json', VECTORS);
const TESSERA = new URL('tlog-tiles-tessera/log/', VECTORS);
const present = existsSync(NOTE_FILE) && existsSync(TESSERA);
const skip = present ? false : `shared vectors not found under ${VECTORS.pathname}; skipping the signed-note vector suite`;

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEmbassyError(e, code), `expected ${code}, got ${String(e)}`);
    return true;
  });
}

const label = (s: { name: string; keyId: Uint8Array }) => `${s.name}+${toHex(s.keyId)}`;
const b64 = (s: string) => {
  const b = fromBase64(s);
  assert.ok(b, `bad base64 in vectors: ${s}`);
  return b;
};

// The error strings the vectors carry, as Go words them, mapped to our codes.
const GO_ERRORS: Record<string, ErrorCode> = {
  'malformed note': 'note.malformed',
  'note has no verifiable signatures': 'note.unverified',
};
function goErrorCode(msg: string): ErrorCode {
  if (msg.startsWith('invalid signature for key ')) return 'note.bad-signature';
  const code = GO_ERRORS[msg];
  assert.ok(code, `unmapped Go error ${msg}`);
  return code;
}

interface Vectors {
  golang_x_mod_sumdb_note: {
    keys: { name: string; vkey: string; skey: string | null; keyId: string }[];
    text: string;
    signLines: Record<string, string>;
    sign: { skey: string; text: string; want?: string; wantErr?: string }[];
    open: {
      desc: string;
      verifiers: string[];
      note: string;
      wantText?: string;
      wantVerified?: string[];
      wantUnverified?: string[];
      wantUnverifiedCount?: number;
      wantErr?: string;
    }[];
    malformedNotes: string[];
    badVerifierKeys: { vkey: string; why: string }[];
    tlogNoteFormats: { tree: { N: number; want: string }; record: { id: number; text: string; want: string } };
  };
  c2sp_specs: {
    signedNoteVerifiable: { vkey: string; note: string; keyId: string };
    signedNoteIllustrative: { note: string };
    checkpointIllustrative: {
      note: string;
      expectedParse: {
        origin: string;
        size: number;
        rootHash_b64: string;
        signatures: { name: string; keyId: string; payloadBytes: number; cosignatureTimestamp?: number }[];
      };
    };
    cosignatureSignedMessageExample: { message: string };
  };
  transparency_dev_formats: {
    realWorldCheckpoint: { vkey: string; note: string; wantOrigin: string; wantSize: number; wrongOriginCase: { expectedOrigin: string } };
    keyPairs: { vkey: string; skey: string }[];
    cosignature: {
      vkeys_type04: { vkey: string }[];
      type01KeyAcceptedAsCosigner: { vkey: string };
      timestampDecode: { sigBase64: string; wantKeyId?: string; wantTimestamp?: number; wantErr?: string }[];
      badVkeys: { vkey: string; why: string }[];
    };
  };
  torchwood_litewitness: {
    realWorldCheckpoint2: { vkey: string; note: string };
    sigsumStyleLog: {
      publicKey_hex: string;
      origin_and_keyName: string;
      derivedVkey: string;
      checkpoints: { note: string; valid: boolean }[];
    };
    witnessAddCheckpointRequests: {
      sequence: { body: string; wantStatus: number; wantBodyContains: string }[];
      consistencyVector: { size1: number; root1_b64: string; size2: number; root2_b64: string; proof_b64: string[] };
    };
  };
}

const V: Vectors = present ? JSON.parse(readFileSync(NOTE_FILE, 'utf8')) : ({} as Vectors);

describe('golang.org/x/mod sumdb/note', { skip }, () => {
  const g = V.golang_x_mod_sumdb_note;
  const peterVkey = () => g.keys[0]!.vkey;

  test('keys: vkeys parse with their key IDs; the skey derives the same public key', () => {
    assert.equal(g.keys.length, 2);
    for (const k of g.keys) {
      const v = parseVerifierKey(k.vkey);
      assert.equal(v.name, k.name);
      assert.equal(toHex(v.keyId), k.keyId);
      assert.equal(v.type, SIGNATURE_TYPE_ED25519);
      assert.equal(formatVerifierKey(v.name, v.publicKey), k.vkey);
      if (k.skey !== null) {
        const s = parseSignerKey(k.skey);
        assert.equal(toHex(s.keyId), k.keyId);
        assert.deepEqual(ed25519PublicKey(s.seed), v.publicKey);
        assert.equal(formatSignerKey(s.name, s.seed), k.skey);
      }
    }
  });

  test('signature lines: Peter re-signs to his line, Enoch’s line verifies', () => {
    assert.equal(Object.keys(g.signLines).length, 2);
    const peter = parseSignerKey(g.keys[0]!.skey!);
    assert.equal(signNote(g.text, [ed25519NoteSigner(peter.name, peter.seed)]), `${g.text}\n${g.signLines.PeterNeumann}`);
    const opened = openNote(`${g.text}\n${g.signLines.EnochRoot}`, [parseVerifierKey(g.keys[1]!.vkey)]);
    assert.equal(opened.verified.length, 1);
  });

  test('sign: known answer and the text without newline', () => {
    assert.equal(g.sign.length, 2);
    for (const c of g.sign) {
      const k = parseSignerKey(c.skey);
      const signer = ed25519NoteSigner(k.name, k.seed);
      if (c.want !== undefined) assert.equal(signNote(c.text, [signer]), c.want);
      else throwsCode(() => signNote(c.text, [signer]), goErrorCode(c.wantErr!));
    }
  });

  test('open: each scenario gives Go’s verified/unverified lists or error', () => {
    assert.equal(g.open.length, 6);
    for (const c of g.open) {
      const verifiers = c.verifiers.map(parseVerifierKey);
      if (c.wantErr !== undefined) {
        throwsCode(() => openNote(c.note, verifiers), goErrorCode(c.wantErr));
        continue;
      }
      const n = openNote(c.note, verifiers);
      if (c.wantText !== undefined) assert.equal(n.text, c.wantText, c.desc);
      assert.deepEqual(n.verified.map(label), c.wantVerified, c.desc);
      if (c.wantUnverified !== undefined) assert.deepEqual(n.unverified.map(label), c.wantUnverified, c.desc);
      if (c.wantUnverifiedCount !== undefined) assert.equal(n.unverified.length, c.wantUnverifiedCount, c.desc);
    }
  });

  test('malformed notes, with entry 5 as the raw byte 0xFF (invalid UTF-8), not U+00FF', () => {
    assert.equal(g.malformedNotes.length, 7);
    const peter = [parseVerifierKey(peterVkey())];
    let rawFF = 0;
    for (const note of g.malformedNotes) {
      if (note.startsWith('\u00ff')) {
        rawFF++;
        throwsCode(() => openNote(concatBytes(Uint8Array.of(0xff), utf8.encode(note.slice(1))), peter), 'note.malformed');
        // Read as U+00FF the note is valid UTF-8 and merely signs another text: a bad signature, not a malformed note.
        throwsCode(() => openNote(note, peter), 'note.bad-signature');
      } else {
        throwsCode(() => openNote(note, peter), 'note.malformed');
        throwsCode(() => openNote(utf8.encode(note), peter), 'note.malformed');
      }
    }
    assert.equal(rawFF, 1);
  });

  test('bad verifier keys, every proper substring of Peter’s vkey, and every one-byte increment', () => {
    assert.equal(g.badVerifierKeys.length, 2);
    for (const k of g.badVerifierKeys) throwsCode(() => parseVerifierKey(k.vkey), 'key.malformed');
    const vkey = peterVkey();
    let n = 0;
    for (let i = 0; i < vkey.length; i++) {
      for (let j = i + 1; j <= vkey.length; j++) {
        if (i === 0 && j === vkey.length) continue;
        throwsCode(() => parseVerifierKey(vkey.slice(i, j)), 'key.malformed');
        n++;
      }
      const bumped = vkey.slice(0, i) + String.fromCharCode(vkey.charCodeAt(i) + 1) + vkey.slice(i + 1);
      throwsCode(() => parseVerifierKey(bumped), 'key.malformed');
      n++;
    }
    assert.equal(n, (vkey.length * (vkey.length + 1)) / 2 - 1 + vkey.length);
  });

  test('tlog note formats: the go.sum tree body is a checkpoint body; a record body is not', () => {
    const { tree, record } = g.tlogNoteFormats;
    const c: Checkpoint = {
      origin: 'go.sum database tree',
      size: BigInt(tree.N),
      root: sha256(Uint8Array.of(0), utf8.encode('hello world')),
      extensions: [],
    };
    assert.equal(formatCheckpoint(c), tree.want);
    assert.deepEqual(parseCheckpoint(tree.want), c);
    assert.equal(record.want, `${record.id}\n${record.text}\n`);
    throwsCode(() => parseCheckpoint(record.want), 'checkpoint.malformed');
  });
});

describe('C2SP spec examples', { skip }, () => {
  const c = V.c2sp_specs;

  test('signed-note example.com/foo verifies under its published key', () => {
    const v = parseVerifierKey(c.signedNoteVerifiable.vkey);
    assert.equal(toHex(keyId(v.name, SIGNATURE_TYPE_ED25519, v.publicKey)), c.signedNoteVerifiable.keyId);
    const n = openNote(c.signedNoteVerifiable.note, [v]);
    assert.equal(n.text, 'This is an example message.\n');
    assert.deepEqual(n.verified.map(label), [`example.com/foo+${c.signedNoteVerifiable.keyId}`]);
  });

  test('signed-note opening example: text keeps its inner blank line; no key, so framing only', () => {
    const { text, signatures } = parseNote(c.signedNoteIllustrative.note);
    assert.equal(text, 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n');
    assert.equal(signatures.length, 1);
    assert.equal(label(signatures[0]!), 'quasimodo.example/salvatore+367ba04b');
    assert.equal(signatures[0]!.signature.length, 64);
    throwsCode(() => openNote(c.signedNoteIllustrative.note, []), 'note.unverified');
  });

  test('checkpoint/cosignature example (behind-the-sofa): parse and framing, not verifiable', () => {
    const want = c.checkpointIllustrative.expectedParse;
    const { text, signatures } = parseNote(c.checkpointIllustrative.note);
    const cp = parseCheckpoint(text);
    assert.equal(cp.origin, want.origin);
    assert.equal(cp.size, BigInt(want.size));
    assert.equal(toBase64(cp.root), want.rootHash_b64);
    assert.deepEqual(cp.extensions, []);
    assert.equal(signatures.length, want.signatures.length);
    assert.equal(want.signatures.length, 2);
    signatures.forEach((s, i) => {
      const w = want.signatures[i]!;
      assert.equal(s.name, w.name);
      assert.equal(toHex(s.keyId), w.keyId);
      assert.equal(4 + s.signature.length, w.payloadBytes);
      if (w.cosignatureTimestamp !== undefined) assert.equal(parseCosignature(s.signature).timestamp, BigInt(w.cosignatureTimestamp));
      else throwsCode(() => parseCosignature(s.signature), 'cosignature.malformed');
    });
    // The log line reuses sum.golang.org's key ID but under another name: an unknown key, not a bad signature.
    const sumdb = parseVerifierKey(V.transparency_dev_formats.realWorldCheckpoint.vkey);
    assert.equal(toHex(sumdb.keyId), want.signatures[0]!.keyId);
    throwsCode(() => openNote(c.checkpointIllustrative.note, [sumdb]), 'note.unverified');
  });

  test('cosignature/v1 signed message for the example checkpoint', () => {
    const body = parseNote(c.checkpointIllustrative.note).text;
    const ts = BigInt(c.checkpointIllustrative.expectedParse.signatures[1]!.cosignatureTimestamp!);
    assert.equal(new TextDecoder().decode(cosignatureV1Message(ts, utf8.encode(body))), c.cosignatureSignedMessageExample.message);
  });
});

describe('transparency-dev/formats', { skip }, () => {
  const t = V.transparency_dev_formats;

  test('real sum.golang.org checkpoint: verifies; origin is not the key name', () => {
    const r = t.realWorldCheckpoint;
    const v = parseVerifierKey(r.vkey);
    const { checkpoint } = openCheckpoint(r.note, v, [], { origin: r.wantOrigin });
    assert.equal(checkpoint.origin, r.wantOrigin);
    assert.equal(checkpoint.size, BigInt(r.wantSize));
    throwsCode(() => openCheckpoint(r.note, v), 'checkpoint.origin-mismatch');
    throwsCode(() => openCheckpoint(r.note, v, [], { origin: r.wrongOriginCase.expectedOrigin }), 'checkpoint.origin-mismatch');
  });

  test('key pairs: formats reproduce, sign → open, cosign → verify', () => {
    assert.equal(t.keyPairs.length, 5);
    for (const { vkey, skey } of t.keyPairs) {
      const s = parseSignerKey(skey);
      const v = parseVerifierKey(vkey);
      assert.deepEqual(s.keyId, v.keyId);
      assert.equal(formatSignerKey(s.name, s.seed), skey);
      assert.equal(formatVerifierKey(s.name, ed25519PublicKey(s.seed)), vkey);
      const body = formatCheckpoint({ origin: s.name, size: 3n, root: sha256(utf8.encode(s.name)), extensions: [] });
      const note = signNote(body, [ed25519NoteSigner(s.name, s.seed), cosignatureNoteSigner(s.name, s.seed, () => 1727964367n)]);
      const cosigner = cosignatureNoteVerifier(v.name, v.publicKey);
      const { note: opened } = openCheckpoint(note, v, [cosigner]);
      assert.equal(opened.verified.length, 2);
      assert.equal(verifyCosignature(body, opened.verified[1]!, cosigner).timestamp, 1727964367n);
    }
  });

  test('cosignature keys: native 0x04 vkey, and a 0x01 vkey re-keyed as a cosigner', () => {
    assert.equal(t.cosignature.vkeys_type04.length, 1);
    for (const { vkey } of t.cosignature.vkeys_type04) {
      const v = parseVerifierKey(vkey);
      assert.equal(v.type, SIGNATURE_TYPE_COSIGNATURE_V1);
      assert.equal(toHex(v.keyId), 'da77ade7');
      assert.equal(formatCosignatureVerifierKey(v.name, v.publicKey), vkey);
    }
    const plain = parseVerifierKey(t.cosignature.type01KeyAcceptedAsCosigner.vkey);
    assert.equal(plain.type, SIGNATURE_TYPE_ED25519);
    const cosigner = parseVerifierKey(formatCosignatureVerifierKey(plain.name, plain.publicKey));
    assert.equal(cosigner.type, SIGNATURE_TYPE_COSIGNATURE_V1);
    assert.notDeepEqual(cosigner.keyId, plain.keyId);
    assert.deepEqual(cosigner.keyId, keyId(plain.name, SIGNATURE_TYPE_COSIGNATURE_V1, plain.publicKey));
  });

  test('cosignature timestamps: the 76-byte payload decodes, the 68-byte plain signature does not', () => {
    assert.equal(t.cosignature.timestampDecode.length, 2);
    for (const c of t.cosignature.timestampDecode) {
      const raw = b64(c.sigBase64);
      const sig: NoteSignature = { name: 'x', keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
      if (c.wantErr !== undefined) {
        assert.equal(raw.length, 68);
        throwsCode(() => parseCosignature(sig.signature), 'cosignature.malformed');
      } else {
        assert.equal(toHex(sig.keyId), c.wantKeyId);
        assert.equal(parseCosignature(sig.signature).timestamp, BigInt(c.wantTimestamp!));
      }
    }
  });

  test('bad cosigner vkeys', () => {
    assert.equal(t.cosignature.badVkeys.length, 3);
    for (const { vkey } of t.cosignature.badVkeys) throwsCode(() => parseVerifierKey(vkey), 'key.malformed');
  });
});

// A witness as c2sp.org/tlog-witness describes it, built from our parsers and merkle.ts.
interface WitnessResult {
  status: number;
  body: string;
}
function makeWitness(trusted: readonly NoteVerifier[], cosigner: ReturnType<typeof cosignatureNoteSigner>) {
  const state = new Map<string, { size: bigint; root: Uint8Array }>();
  const byOrigin = new Map(trusted.map((v) => [v.name, v]));
  return function addCheckpoint(body: string): WitnessResult {
    let req;
    try {
      req = parseAddCheckpointRequest(body);
    } catch (e) {
      if (isEmbassyError(e, 'witness.malformed')) return { status: 400, body: 'malformed request\n' };
      throw e;
    }
    const origin = req.checkpoint.slice(0, Math.max(0, req.checkpoint.indexOf('\n')));
    const verifier = byOrigin.get(origin);
    if (verifier === undefined) return { status: 404, body: 'unknown log\n' };
    let checkpoint: Checkpoint;
    let text: string;
    try {
      const opened = openCheckpoint(req.checkpoint, verifier);
      checkpoint = opened.checkpoint;
      text = opened.note.text;
    } catch (e) {
      if (isEmbassyError(e, 'note.unverified') || isEmbassyError(e, 'note.bad-signature')) return { status: 403, body: 'invalid signature\n' };
      if (isEmbassyError(e)) return { status: 400, body: 'malformed checkpoint\n' };
      throw e;
    }
    if (req.oldSize > checkpoint.size) return { status: 400, body: 'old size beyond checkpoint\n' };
    const known = state.get(origin) ?? { size: 0n, root: EMPTY_ROOT };
    if (req.oldSize !== known.size) return { status: 409, body: formatAddCheckpointConflict(known.size) };
    if (checkpoint.size === 0n && !bytesEqual(checkpoint.root, EMPTY_ROOT)) return { status: 422, body: 'size 0 with a non-empty root\n' };
    if (req.oldSize === 0n) {
      if (req.proof.length !== 0) return { status: 422, body: 'consistency proof from size 0 must be empty\n' };
    } else {
      try {
        verifyConsistency(req.oldSize, checkpoint.size, req.proof, known.root, checkpoint.root);
      } catch (e) {
        if (req.oldSize === checkpoint.size && isEmbassyError(e, 'proof.invalid')) return { status: 409, body: formatAddCheckpointConflict(known.size) };
        if (isEmbassyError(e, 'proof.invalid') || isEmbassyError(e, 'proof.malformed')) return { status: 422, body: 'bad consistency proof\n' };
        throw e;
      }
    }
    state.set(origin, { size: checkpoint.size, root: checkpoint.root });
    return { status: 200, body: formatAddCheckpointResponse(parseNote(signNote(text, [cosigner])).signatures) };
  };
}

describe('torchwood litewitness', { skip }, () => {
  const w = V.torchwood_litewitness;

  test('second real sum.golang.org checkpoint verifies', () => {
    const { checkpoint } = openCheckpoint(w.realWorldCheckpoint2.note, parseVerifierKey(w.realWorldCheckpoint2.vkey), [], {
      origin: 'go.sum database tree',
    });
    assert.equal(checkpoint.size, 35225469n);
  });

  test('Sigsum-style log: vkey from the raw key; checkpoints 1 and 3 valid, the tampered one a bad signature', () => {
    const s = w.sigsumStyleLog;
    const pub = fromHex(s.publicKey_hex)!;
    assert.equal(s.origin_and_keyName, `sigsum.org/v1/tree/${toHex(sha256(pub))}`);
    assert.equal(formatVerifierKey(s.origin_and_keyName, pub), s.derivedVkey);
    const v = parseVerifierKey(s.derivedVkey);
    assert.equal(s.checkpoints.length, 3);
    const sizes: bigint[] = [];
    for (const c of s.checkpoints) {
      if (c.valid) sizes.push(openCheckpoint(c.note, v).checkpoint.size);
      else throwsCode(() => openCheckpoint(c.note, v), 'note.bad-signature');
    }
    assert.deepEqual(sizes, [1n, 3n]);
  });

  test('consistency vector 1 → 3 verifies, and fails with a changed hash', () => {
    const c = w.witnessAddCheckpointRequests.consistencyVector;
    const proof = c.proof_b64.map(b64);
    verifyConsistency(BigInt(c.size1), BigInt(c.size2), proof, b64(c.root1_b64), b64(c.root2_b64));
    const bad = proof.map((h) => h.slice());
    bad[1]![31]! ^= 1;
    throwsCode(() => verifyConsistency(BigInt(c.size1), BigInt(c.size2), bad, b64(c.root1_b64), b64(c.root2_b64)), 'proof.invalid');
  });

  test('add-checkpoint sequence: every request parses (one defect pinned) and gets a correct witness’s status', () => {
    const seq = w.witnessAddCheckpointRequests.sequence;
    assert.equal(seq.length, 6);
    const logKey = parseVerifierKey(w.sigsumStyleLog.derivedVkey);
    const witnessSeed = sha256(utf8.encode('test witness seed'));
    const cosigner = cosignatureNoteSigner('example.com/witness', witnessSeed, () => 1_700_000_000n);
    const cosignerKey = cosignatureNoteVerifier('example.com/witness', ed25519PublicKey(witnessSeed));
    const addCheckpoint = makeWitness([logKey], cosigner);

    // Two places where the vector file's status is not what a correct witness answers:
    // - "unknown log": c2sp.org/tlog-witness says 404; litewitness answered 403 when the vectors
    //   were taken (its later tests expect 404 too).
    // - the "wrong consistency proof" request lost one 'A' in transcription: its second proof line
    //   has 43 characters, which is not base64, so the request is malformed (400, as Go's
    //   tlog.ParseHash and litewitness would say). Upstream the line has 44 characters; restored,
    //   the request is the intended bad proof and gets 422.
    const TRUNCATED = 'KgIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABA=';
    const RESTORED = 'KgIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABA=';
    const statuses: number[] = [];
    let parsed = 0;
    for (const c of seq) {
      let want = c.wantStatus;
      if (c.wantBodyContains === 'unknown log') {
        assert.equal(c.wantStatus, 403);
        want = 404;
      }
      let body = c.body;
      if (body.includes(`\n${TRUNCATED}\n`)) {
        throwsCode(() => parseAddCheckpointRequest(body), 'witness.malformed');
        assert.equal(addCheckpoint(body).status, 400);
        assert.equal(c.wantStatus, 422);
        body = body.replace(`\n${TRUNCATED}\n`, `\n${RESTORED}\n`);
      }
      const req = parseAddCheckpointRequest(body);
      parsed++;
      const got = addCheckpoint(body);
      assert.equal(got.status, want, `${c.wantBodyContains}: got ${got.status} ${got.body}`);
      if (got.status === 200) {
        assert.ok(got.body.includes(c.wantBodyContains));
        const [sig] = parseAddCheckpointResponse(got.body);
        verifyCosignature(parseNote(req.checkpoint).text, sig!, cosignerKey);
        assert.equal(openNote(req.checkpoint + got.body, [cosignerKey]).verified.length, 1);
      }
      statuses.push(got.status);
    }
    assert.equal(parsed, 6);
    assert.deepEqual(statuses, [200, 403, 404, 422, 422, 200]);

    // 409: the witness now holds size 3, so replaying the two accepted requests conflicts, with
    // the known size as a text/x.tlog.size body; a same-size resubmission is accepted again.
    assert.equal(ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE, 'text/x.tlog.size');
    for (const i of [0, 5]) {
      const got = addCheckpoint(seq[i]!.body);
      assert.equal(got.status, 409);
      assert.equal(parseAddCheckpointConflict(got.body), 3n);
    }
    const latest = parseAddCheckpointRequest(seq[5]!.body).checkpoint;
    assert.equal(addCheckpoint(`old 3\n\n${latest}`).status, 200);
    assert.equal(addCheckpoint(`old 4\n\n${latest}`).status, 400);
  });
});

describe('tlog-tiles-tessera checkpoints', { skip }, () => {
  const VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
  const SKEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';

  test('every checkpoint.N opens under the README key and re-signs byte for byte', () => {
    const v = parseVerifierKey(VKEY);
    const k = parseSignerKey(SKEY);
    assert.deepEqual(ed25519PublicKey(k.seed), v.publicKey);
    const signer = ed25519NoteSigner(k.name, k.seed);
    let n = 0;
    for (let size = 0; size <= 15; size++) {
      const file = readFileSync(new URL(`checkpoint.${size}`, TESSERA));
      const { checkpoint, note } = openCheckpoint(file, v);
      assert.equal(checkpoint.origin, 'example.com/log/testdata');
      assert.equal(checkpoint.size, BigInt(size));
      if (size === 0) assert.deepEqual(checkpoint.root, EMPTY_ROOT);
      assert.equal(formatCheckpoint(checkpoint), note.text);
      assert.deepEqual(utf8.encode(signNote(note.text, [signer])), new Uint8Array(file));
      const tampered = new Uint8Array(file);
      tampered[utf8.encode(note.text).length - 3]! ^= 1;
      assert.throws(() => openCheckpoint(tampered, v), (e: unknown) => isEmbassyError(e));
      n++;
    }
    assert.equal(n, 16);
    assert.deepEqual(readFileSync(new URL('checkpoint', TESSERA)), readFileSync(new URL('checkpoint.15', TESSERA)));
  });
});
