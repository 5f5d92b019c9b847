import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { concatBytes, fromHex, toHex, uint64BE, utf8 } from '../format/bytes.ts';
import {
  aes256GcmOpen,
  aes256GcmSeal,
  createDeterministicAead,
  DAEAD_INFO_ENC,
  DAEAD_INFO_OBJ,
  DAEAD_INFO_SIV,
  DAEAD_OVERHEAD,
  DAEAD_SIV_SIZE,
  deterministicOpen,
  deterministicSeal,
  KEY_FINGERPRINT_SIZE,
  keyFingerprint,
  unwrapKey,
  WRAPPED_KEY_SIZE,
  wrapKey,
} from './aead.ts';
import { hmacSha256, sha256 } from './hash.ts';
import { hkdfSha256 } from './hkdf.ts';

const hex = (s: string): Uint8Array => fromHex(s)!;
const authFailed = (e: unknown): boolean => isEmbassyError(e, 'crypto.auth-failed');
const invalidArgument = (e: unknown): boolean => isEmbassyError(e, 'crypto.invalid-argument');
const EMPTY = new Uint8Array(0);
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const bytes = fc.uint8Array({ maxLength: 300 });

// Computed with an independent implementation of the construction (Python: hmac, and HKDF and
// AESGCM from pyca/cryptography), key = 00 01 … 1f.
const GOLDEN: { plaintext: string; ad: string; sealed: string }[] = [
  {
    plaintext: '',
    ad: '',
    sealed: '6ac7653b7a57a37afd12533aa7ee25ae31eb5735c2e0261c3c99fa701f0b1f99eae161d2d05f6abc401b68e31e3f1f03',
  },
  {
    plaintext: '68656c6c6f2c20656d6261737379', // "hello, embassy"
    ad: '',
    sealed:
      '7b69d592e20729db2670046d82646fb43f107164672cd0aca1d5b3337475a21a004efeb2c21420cb72b3fdda4ada' +
      '38fb5c4b6c3b0d136449a26fc60a5015',
  },
  {
    plaintext: '68656c6c6f2c20656d6261737379',
    ad: '686561646572', // "header"
    sealed:
      '0340fa505b1a818d9f82b592818ef4a2076cf73ba36b9815f2fcefb79753b2986b522b67460a9dd102ca40f788d8' +
      '1fff9e09842b9e2fce78803b11638bcd',
  },
];

describe('deterministicSeal / deterministicOpen: golden vectors', () => {
  for (const [i, g] of GOLDEN.entries()) {
    test(`vector ${i}: seal gives the exact bytes and open gives the plaintext back`, () => {
      assert.equal(toHex(deterministicSeal(KEY, hex(g.plaintext), hex(g.ad))), g.sealed);
      assert.equal(toHex(deterministicOpen(KEY, hex(g.sealed), hex(g.ad))), g.plaintext);
    });
  }

  test('layout is SIV ‖ ciphertext ‖ tag with the SIV of the spec', () => {
    const p = utf8.encode('hello, embassy');
    const ad = utf8.encode('header');
    const sealed = deterministicSeal(KEY, p, ad);
    assert.equal(sealed.length, p.length + DAEAD_OVERHEAD);
    const kSiv = hkdfSha256(KEY, EMPTY, utf8.encode(DAEAD_INFO_SIV), 32);
    const siv = hmacSha256(kSiv, uint64BE(BigInt(ad.length)), ad, p);
    assert.deepEqual(sealed.subarray(0, DAEAD_SIV_SIZE), siv);
    const kEnc = hkdfSha256(KEY, EMPTY, utf8.encode(DAEAD_INFO_ENC), 32);
    const kObj = hkdfSha256(kEnc, siv, utf8.encode(DAEAD_INFO_OBJ), 32);
    assert.deepEqual(aes256GcmOpen(kObj, new Uint8Array(12), sealed.subarray(DAEAD_SIV_SIZE), ad), p);
  });
});

describe('deterministicSeal / deterministicOpen: properties', () => {
  test('round trip for random key, plaintext and associated data', () => {
    fc.assert(
      fc.property(key32, bytes, bytes, (k, p, ad) => {
        const sealed = deterministicSeal(k, p, ad);
        assert.equal(sealed.length, p.length + DAEAD_OVERHEAD);
        assert.deepEqual(deterministicOpen(k, sealed, ad), p);
      }),
      { numRuns: 300 },
    );
  });

  test('deterministic: the same input gives the same bytes, a different input different bytes', () => {
    fc.assert(
      fc.property(key32, bytes, bytes, bytes, (k, p, q, ad) => {
        const a = deterministicSeal(k, p, ad);
        assert.deepEqual(deterministicSeal(k.slice(), p.slice(), ad.slice()), a);
        const b = deterministicSeal(k, q, ad);
        assert.equal(toHex(a) === toHex(b), toHex(p) === toHex(q));
      }),
      { numRuns: 200 },
    );
  });

  test('the length prefix separates (A = "a", P = "bc") from (A = "ab", P = "c")', () => {
    const x = deterministicSeal(KEY, utf8.encode('bc'), utf8.encode('a'));
    const y = deterministicSeal(KEY, utf8.encode('c'), utf8.encode('ab'));
    assert.notDeepEqual(x.subarray(0, DAEAD_SIV_SIZE), y.subarray(0, DAEAD_SIV_SIZE));
  });

  test('does not modify its inputs', () => {
    const p = utf8.encode('plaintext');
    const ad = utf8.encode('ad');
    const sealed = deterministicSeal(KEY, p, ad);
    const copy = sealed.slice();
    deterministicOpen(KEY, sealed, ad);
    assert.deepEqual(sealed, copy);
    assert.deepEqual(p, utf8.encode('plaintext'));
  });
});

describe('createDeterministicAead: one context per key', () => {
  test('gives the golden bytes, and the bytes of the spec for random inputs (K_obj as hkdfSha256)', () => {
    const aead = createDeterministicAead(KEY);
    for (const g of GOLDEN) {
      assert.equal(toHex(aead.seal(hex(g.plaintext), hex(g.ad))), g.sealed);
      assert.equal(toHex(aead.open(hex(g.sealed), hex(g.ad))), g.plaintext);
    }
    fc.assert(
      fc.property(key32, bytes, bytes, (k, p, ad) => {
        const sealed = createDeterministicAead(k).seal(p, ad);
        const kSiv = hkdfSha256(k, EMPTY, utf8.encode(DAEAD_INFO_SIV), 32);
        const siv = hmacSha256(kSiv, uint64BE(BigInt(ad.length)), ad, p);
        const kEnc = hkdfSha256(k, EMPTY, utf8.encode(DAEAD_INFO_ENC), 32);
        const kObj = hkdfSha256(kEnc, siv, utf8.encode(DAEAD_INFO_OBJ), 32);
        assert.deepEqual(sealed, concatBytes(siv, aes256GcmSeal(kObj, new Uint8Array(12), p, ad)));
      }),
      { numRuns: 200 },
    );
  });

  test('keeps working after the caller wipes its key, and refuses to work after wipe()', () => {
    const k = KEY.slice();
    const aead = createDeterministicAead(k);
    k.fill(0);
    const g = GOLDEN[2]!;
    assert.equal(toHex(aead.seal(hex(g.plaintext), hex(g.ad))), g.sealed);
    aead.wipe();
    assert.throws(() => aead.seal(EMPTY, EMPTY), invalidArgument);
    assert.throws(() => aead.open(hex(g.sealed), hex(g.ad)), invalidArgument);
  });

  test('a context and the one-shot functions open each other', () => {
    fc.assert(
      fc.property(key32, bytes, bytes, (k, p, ad) => {
        const aead = createDeterministicAead(k);
        assert.deepEqual(aead.open(deterministicSeal(k, p, ad), ad), p);
        assert.deepEqual(deterministicOpen(k, aead.seal(p, ad), ad), p);
      }),
      { numRuns: 100 },
    );
  });
});

describe('deterministicOpen: tampered bytes', () => {
  test('flipping any single bit of a random sealed message is detected', () => {
    fc.assert(
      fc.property(key32, bytes, bytes, fc.nat(), fc.integer({ min: 0, max: 7 }), (k, p, ad, at, bit) => {
        const sealed = deterministicSeal(k, p, ad);
        sealed[at % sealed.length]! ^= 1 << bit;
        assert.throws(() => deterministicOpen(k, sealed, ad), authFailed);
      }),
      { numRuns: 300 },
    );
  });

  test('every bit of one short message, exhaustively', () => {
    const ad = utf8.encode('hdr');
    const sealed = deterministicSeal(KEY, utf8.encode('abcde'), ad);
    for (let i = 0; i < sealed.length * 8; i++) {
      const t = sealed.slice();
      t[i >> 3]! ^= 1 << (i & 7);
      assert.throws(() => deterministicOpen(KEY, t, ad), authFailed, `bit ${i}`);
    }
  });
});

describe('deterministicOpen: truncated or extended input', () => {
  test('shorter than the overhead, empty, cut short, or with bytes appended', () => {
    const sealed = deterministicSeal(KEY, utf8.encode('abcde'), EMPTY);
    for (const bad of [EMPTY, new Uint8Array(DAEAD_OVERHEAD - 1), sealed.subarray(0, sealed.length - 1),
      sealed.subarray(1), concatBytes(sealed, new Uint8Array(1))]) {
      assert.throws(() => deterministicOpen(KEY, bad, EMPTY), authFailed);
    }
    assert.throws(() => deterministicOpen(KEY, new Uint8Array(DAEAD_OVERHEAD), EMPTY), authFailed);
  });
});

describe('deterministicOpen: wrong key', () => {
  test('any other key fails', () => {
    fc.assert(
      fc.property(key32, key32, bytes, bytes, (k, other, p, ad) => {
        fc.pre(toHex(k) !== toHex(other));
        assert.throws(() => deterministicOpen(other, deterministicSeal(k, p, ad), ad), authFailed);
      }),
      { numRuns: 200 },
    );
  });
});

describe('deterministicOpen: wrong associated data', () => {
  test('any other associated data fails, including empty versus absent bytes', () => {
    fc.assert(
      fc.property(key32, bytes, bytes, bytes, (k, p, ad, other) => {
        fc.pre(toHex(ad) !== toHex(other));
        assert.throws(() => deterministicOpen(k, deterministicSeal(k, p, ad), other), authFailed);
      }),
      { numRuns: 200 },
    );
  });
});

describe('deterministicOpen: forged SIV', () => {
  test('a valid GCM ciphertext under a key derived from a SIV that is not the HMAC fails', () => {
    // What a DEK holder could build by hand: GCM authenticates, only the SIV recheck refuses it.
    const p = utf8.encode('forged');
    const ad = utf8.encode('hdr');
    const siv = new Uint8Array(DAEAD_SIV_SIZE).fill(0x5a);
    const kEnc = hkdfSha256(KEY, EMPTY, utf8.encode(DAEAD_INFO_ENC), 32);
    const kObj = hkdfSha256(kEnc, siv, utf8.encode(DAEAD_INFO_OBJ), 32);
    const forged = concatBytes(siv, aes256GcmSeal(kObj, new Uint8Array(12), p, ad));
    assert.deepEqual(aes256GcmOpen(kObj, new Uint8Array(12), forged.subarray(DAEAD_SIV_SIZE), ad), p);
    assert.throws(() => deterministicOpen(KEY, forged, ad), authFailed);
  });
});

describe('aead: bad key or nonce length', () => {
  for (const n of [0, 16, 31, 33, 64]) {
    test(`${n}-byte key`, () => {
      const k = new Uint8Array(n);
      assert.throws(() => deterministicSeal(k, EMPTY, EMPTY), invalidArgument);
      assert.throws(() => deterministicOpen(k, new Uint8Array(64), EMPTY), invalidArgument);
      assert.throws(() => wrapKey(k, KEY, EMPTY), invalidArgument);
      assert.throws(() => unwrapKey(k, new Uint8Array(WRAPPED_KEY_SIZE), EMPTY), invalidArgument);
      assert.throws(() => keyFingerprint(k), invalidArgument);
      assert.throws(() => aes256GcmSeal(k, new Uint8Array(12), EMPTY, EMPTY), invalidArgument);
    });
  }
  test('nonce other than 12 bytes', () => {
    assert.throws(() => aes256GcmSeal(KEY, new Uint8Array(16), EMPTY, EMPTY), invalidArgument);
    assert.throws(() => aes256GcmOpen(KEY, new Uint8Array(8), new Uint8Array(16), EMPTY), invalidArgument);
  });
});

describe('wrapKey / unwrapKey', () => {
  const kek = new Uint8Array(32).fill(0x42);
  const dek = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);
  const context = utf8.encode('dataset:bag/key:1');

  test('golden vector (independent implementation) and round trip', () => {
    const wrapped = wrapKey(kek, dek, context);
    assert.equal(wrapped.length, WRAPPED_KEY_SIZE);
    assert.equal(
      toHex(wrapped),
      '4bae28f8543440a51c25cc1dd8e8c7c8e06b894a20319bc5f0b71b006266e8ebfbf7d46abb3d10e7b2154ae8058e8436' +
        '46a83cc07a4177024158bae4169b748aa2fcbfd77b3493bb510cb1ab3b4662a3',
    );
    assert.deepEqual(unwrapKey(kek, wrapped, context), dek);
    assert.deepEqual(wrapKey(kek, dek, context), wrapped);
  });

  test('wrong context, wrong KEK, tampering or a wrong length fail', () => {
    const wrapped = wrapKey(kek, dek, context);
    assert.throws(() => unwrapKey(kek, wrapped, utf8.encode('dataset:bag/key:2')), authFailed);
    assert.throws(() => unwrapKey(new Uint8Array(32), wrapped, context), authFailed);
    const t = wrapped.slice();
    t[40]! ^= 0x80;
    assert.throws(() => unwrapKey(kek, t, context), authFailed);
    assert.throws(() => unwrapKey(kek, wrapped.subarray(1), context), authFailed);
  });

  test('a wrapped key does not open as a plain object with the bare context (domain separation)', () => {
    assert.throws(() => deterministicOpen(kek, wrapKey(kek, dek, context), context), authFailed);
  });

  test('a data key other than 32 bytes is refused', () => {
    assert.throws(() => wrapKey(kek, new Uint8Array(16), context), invalidArgument);
  });
});

describe('keyFingerprint', () => {
  test('golden vector (independent implementation), size, and not a plain hash of the key', () => {
    const fp = keyFingerprint(KEY);
    assert.equal(fp.length, KEY_FINGERPRINT_SIZE);
    assert.equal(fp.buffer.byteLength, KEY_FINGERPRINT_SIZE);
    assert.equal(toHex(fp), '32208cc4b13b4ec1f83ed008ff6337f5');
    assert.notDeepEqual(fp, sha256(KEY).subarray(0, KEY_FINGERPRINT_SIZE));
  });

  test('distinct keys have distinct fingerprints', () => {
    fc.assert(
      fc.property(key32, key32, (a, b) => {
        fc.pre(toHex(a) !== toHex(b));
        assert.notDeepEqual(keyFingerprint(a), keyFingerprint(b));
      }),
    );
  });
});
