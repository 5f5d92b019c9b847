// RFC known answers: Ed25519 (RFC 8032 §7.1), sign and verify; HKDF-SHA-256 (RFC 5869 A.1-A.3),
// Extract and Expand checked separately against a tiny reference Expand, then the combined call.
// Data and provenance: shared/vectors/rfc/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../src/crypto/ed25519.ts';
import { hmacSha256 } from '../../src/crypto/hash.ts';
import { hkdfSha256 } from '../../src/crypto/hkdf.ts';
import { concatBytes, fromHex, toHex } from '../../src/format/bytes.ts';

const VECTORS = fileURLToPath(new URL('../../../shared/vectors/rfc/', import.meta.url));
const skip = existsSync(VECTORS) ? false : `shared vectors absent at ${VECTORS}`;

interface Ed25519Case {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
interface HkdfCase {
  name: string;
  hash: string;
  ikm: string;
  salt: string;
  info: string;
  L: number;
  prk: string;
  okm: string;
}
interface RfcVectors {
  rfc8032_section_7_1_ed25519: { tests: Ed25519Case[] };
  rfc5869_appendix_a_hkdf_sha256: { tests: HkdfCase[] };
}

function load(): RfcVectors {
  return JSON.parse(readFileSync(`${VECTORS}rfc-vectors.json`, 'utf8')) as RfcVectors;
}
const hex = (s: string): Uint8Array => {
  const v = fromHex(s);
  assert.ok(v, 'not lowercase hex');
  return v;
};

test('RFC 8032 §7.1 Ed25519: public key, exact signature, verify, and every flipped bit refused', { skip }, () => {
  const cases = load().rfc8032_section_7_1_ed25519.tests;
  assert.deepEqual(
    cases.map((c) => c.name),
    ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'],
  );
  for (const c of cases) {
    const seed = hex(c.secretKey);
    const pub = hex(c.publicKey);
    const msg = hex(c.message);
    const sig = hex(c.signature);
    assert.equal(toHex(ed25519PublicKey(seed)), c.publicKey, c.name);
    assert.equal(toHex(ed25519Sign(seed, msg)), c.signature, c.name);
    assert.ok(ed25519Verify(pub, msg, sig), c.name);
    for (let bit = 0; bit < sig.length * 8; bit++) {
      const bad = sig.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(ed25519Verify(pub, msg, bad), false, `${c.name}: signature bit ${bit}`);
    }
    if (msg.length > 0) {
      const bad = msg.slice();
      bad[0]! ^= 1;
      assert.equal(ed25519Verify(pub, bad, sig), false, `${c.name}: message bit 0`);
    }
    assert.equal(ed25519Verify(pub, concatBytes(msg, new Uint8Array(1)), sig), false, `${c.name}: extended`);
  }
  assert.equal(hex(cases[3]!.message).length, 1023);
});

// RFC 5869 §2.3, written out so Expand is checked on its own and not only through node's HKDF.
function referenceExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  let t: Uint8Array = new Uint8Array(0);
  let okm: Uint8Array = new Uint8Array(0);
  for (let i = 1; okm.length < length; i++) {
    t = hmacSha256(prk, t, info, Uint8Array.of(i));
    okm = concatBytes(okm, t);
  }
  return okm.subarray(0, length);
}

test('RFC 5869 A.1-A.3 HKDF-SHA-256: Extract, Expand, and the combined call', { skip }, () => {
  const cases = load().rfc5869_appendix_a_hkdf_sha256.tests;
  assert.deepEqual(
    cases.map((c) => c.name),
    ['A.1', 'A.2', 'A.3'],
  );
  for (const c of cases) {
    assert.equal(c.hash, 'SHA-256');
    const ikm = hex(c.ikm);
    const salt = hex(c.salt);
    const info = hex(c.info);
    // Extract = HMAC(salt, IKM), an empty salt meaning HashLen zero bytes.
    const prk = hmacSha256(salt.length === 0 ? new Uint8Array(32) : salt, ikm);
    assert.equal(toHex(prk), c.prk, `${c.name}: PRK`);
    assert.equal(toHex(referenceExpand(prk, info, c.L)), c.okm, `${c.name}: Expand`);
    assert.equal(toHex(hkdfSha256(ikm, salt, info, c.L)), c.okm, `${c.name}: HKDF`);
  }
});
