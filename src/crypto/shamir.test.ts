import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { toHex } from '../format/bytes.ts';
import { keyFingerprint } from './aead.ts';
import { combineShares, splitSecret } from './shamir.ts';

const shamirInvalid = (e: unknown): boolean => isEmbassyError(e, 'shamir.invalid');
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

describe('splitSecret / combineShares: round trips', () => {
  test('random secrets, share counts and thresholds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 2, max: 8 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n }))),
        async (secret, [n, t]) => {
          const shares = await splitSecret(secret, n, t);
          assert.equal(shares.length, n);
          for (const s of shares) assert.equal(s.length, secret.length + 1);
          const xs = shares.map((s) => s[s.length - 1]!);
          assert.equal(new Set(xs).size, n);
          assert.ok(!xs.includes(0));
          assert.deepEqual(await combineShares(shares.slice(n - t)), secret);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('every 3-subset of a 3-of-5 split, in any order, and all 5 together, give the secret', async () => {
    const shares = await splitSecret(SECRET, 5, 3);
    for (const set of subsets(shares, 3)) {
      assert.deepEqual(await combineShares(set), SECRET);
      assert.deepEqual(await combineShares(set.slice().reverse()), SECRET);
    }
    assert.deepEqual(await combineShares(shares), SECRET);
  });

  test('255 shares is the maximum and works', async () => {
    const shares = await splitSecret(SECRET.subarray(0, 4), 255, 2);
    assert.deepEqual(await combineShares([shares[0]!, shares[254]!]), SECRET.subarray(0, 4));
  });

  test('too few shares give other bytes without an error; the fingerprint is what catches it', async () => {
    const shares = await splitSecret(SECRET, 5, 3);
    const wrong = await combineShares(shares.slice(0, 2));
    assert.notEqual(toHex(wrong), toHex(SECRET));
    assert.notDeepEqual(keyFingerprint(wrong), keyFingerprint(SECRET));
  });

  test('Buffers are accepted and the caller\'s arrays are left alone', async () => {
    const shares = await splitSecret(Buffer.from(SECRET), 3, 2);
    const buffers = shares.map((s) => Buffer.from(s));
    const before = buffers.map((b) => toHex(b));
    assert.deepEqual(await combineShares(buffers.slice(1)), SECRET);
    assert.deepEqual(buffers.map((b) => toHex(b)), before);
  });
});

describe('splitSecret: invalid parameters', () => {
  const cases: [string, Uint8Array, number, number][] = [
    ['empty secret', new Uint8Array(0), 3, 2],
    ['threshold 1', SECRET, 3, 1],
    ['threshold 0', SECRET, 3, 0],
    ['fractional threshold', SECRET, 3, 2.5],
    ['NaN threshold', SECRET, 3, Number.NaN],
    ['threshold above share count', SECRET, 3, 4],
    ['256 shares', SECRET, 256, 2],
    ['fractional share count', SECRET, 3.5, 2],
  ];
  for (const [name, secret, n, t] of cases) {
    test(name, async () => assert.rejects(splitSecret(secret, n, t), shamirInvalid));
  }
});

describe('combineShares: malformed share sets', () => {
  test('fewer than two shares', async () => {
    const shares = await splitSecret(SECRET, 3, 2);
    await assert.rejects(combineShares([]), shamirInvalid);
    await assert.rejects(combineShares(shares.slice(0, 1)), shamirInvalid);
  });

  test('more than 255 shares', async () => {
    const many = Array.from({ length: 256 }, (_, i) => Uint8Array.of(1, i));
    await assert.rejects(combineShares(many), shamirInvalid);
  });

  test('shares of unequal length', async () => {
    const shares = await splitSecret(SECRET, 3, 2);
    await assert.rejects(combineShares([shares[0]!, shares[1]!.subarray(1)]), shamirInvalid);
  });

  test('shares too short to hold a byte of secret', async () => {
    await assert.rejects(combineShares([Uint8Array.of(1), Uint8Array.of(2)]), shamirInvalid);
  });

  test('repeated x-coordinate', async () => {
    const shares = await splitSecret(SECRET, 3, 2);
    await assert.rejects(combineShares([shares[0]!, shares[0]!]), shamirInvalid);
    const clash = shares[1]!.slice();
    clash[clash.length - 1] = shares[0]![shares[0]!.length - 1]!;
    await assert.rejects(combineShares([shares[0]!, clash]), shamirInvalid);
  });

  test('x-coordinate zero', async () => {
    const shares = await splitSecret(SECRET, 3, 2);
    const zero = shares[1]!.slice();
    zero[zero.length - 1] = 0;
    await assert.rejects(combineShares([shares[0]!, zero]), shamirInvalid);
  });
});
