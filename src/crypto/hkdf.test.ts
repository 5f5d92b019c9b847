import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { fromHex, toHex } from '../format/bytes.ts';
import { HKDF_MAX_INFO_SIZE, HKDF_SHA256_MAX_LENGTH, hkdfSha256 } from './hkdf.ts';

const hex = (s: string): Uint8Array => fromHex(s)!;
const invalidArgument = (e: unknown): boolean => isEmbassyError(e, 'crypto.invalid-argument');
const EMPTY = new Uint8Array(0);

describe('hkdfSha256: RFC 5869 known answers', () => {
  test('A.1 basic', () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    const okm = hkdfSha256(ikm, hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
    assert.equal(
      toHex(okm),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  test('A.3 empty salt and info', () => {
    const okm = hkdfSha256(new Uint8Array(22).fill(0x0b), EMPTY, EMPTY, 42);
    assert.equal(
      toHex(okm),
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });
});

describe('hkdfSha256: properties', () => {
  test('an empty salt is the same as HashLen zero bytes (RFC 5869 §2.2)', () => {
    const ikm = new Uint8Array(32).fill(9);
    assert.deepEqual(hkdfSha256(ikm, EMPTY, EMPTY, 32), hkdfSha256(ikm, new Uint8Array(32), EMPTY, 32));
  });

  test('a shorter output is a prefix of a longer one, and info separates outputs', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 200 }),
        (ikm, salt, info, n) => {
          const long = hkdfSha256(ikm, salt, info, 200);
          assert.deepEqual(hkdfSha256(ikm, salt, info, n), long.subarray(0, n));
          const otherInfo = Uint8Array.from([...info, 0]);
          assert.notDeepEqual(hkdfSha256(ikm, salt, otherInfo, 32), long.subarray(0, 32));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('zero and maximum lengths are allowed', () => {
    assert.equal(hkdfSha256(EMPTY, EMPTY, EMPTY, 0).length, 0);
    assert.equal(hkdfSha256(EMPTY, EMPTY, EMPTY, HKDF_SHA256_MAX_LENGTH).length, 8160);
  });
});

describe('hkdfSha256: bad output length', () => {
  for (const n of [HKDF_SHA256_MAX_LENGTH + 1, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`length ${n}`, () => assert.throws(() => hkdfSha256(EMPTY, EMPTY, EMPTY, n), invalidArgument));
  }
});

describe('hkdfSha256: oversized info', () => {
  test(`info over ${HKDF_MAX_INFO_SIZE} bytes`, () => {
    assert.equal(hkdfSha256(EMPTY, EMPTY, new Uint8Array(HKDF_MAX_INFO_SIZE), 32).length, 32);
    assert.throws(() => hkdfSha256(EMPTY, EMPTY, new Uint8Array(HKDF_MAX_INFO_SIZE + 1), 32), invalidArgument);
  });
});
