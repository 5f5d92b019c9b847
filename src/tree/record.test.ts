import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hmacSha256, sha256 } from '../crypto/hash.ts';
import { concatBytes, toHex, uint64BE, utf8 } from '../format/bytes.ts';
import { hashLeaf, rootOfLeafHashes } from '../log/merkle.ts';
import { treeParamsFromKey } from './params.ts';
import {
  boundaryRank,
  childEntryBytes,
  childEntryHash,
  hashLeaf32,
  keyPrf,
  merkleRoot,
  recordHash,
  recordSalt,
  sha256Once,
} from './record.ts';

const params = treeParamsFromKey(new Uint8Array(32).map((_, i) => i));

function uint32BE(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** docs/format-tree.md §T.2, literally, with bigint. */
function referenceRank(u: bigint, leafTarget: number, fanout: number): number {
  let r = 0;
  for (let level = 0; ; level++) {
    const t = (1n << 64n) / (BigInt(leafTarget) * BigInt(fanout) ** BigInt(level));
    if (t === 0n || u >= t) return r;
    r++;
  }
}

describe('keyPrf, boundaryRank, recordSalt', () => {
  test('keyPrf is HMAC-SHA-256(treeKey, UTF-8 key)', () => {
    for (const key of ['a', 'nl.brp/123456789', '😀', 'a\u0000b']) {
      assert.deepEqual(keyPrf(params, key), hmacSha256(params.treeKey, utf8.encode(key)));
    }
  });

  test('recordSalt is bytes 8..31 of the PRF', () => {
    const prf = keyPrf(params, 'k');
    assert.deepEqual(recordSalt(prf), prf.slice(8, 32));
    assert.equal(recordSalt(prf).length, 24);
  });

  test('boundaryRank follows the threshold rule for random PRF values and shapes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 2, max: 100 }),
        fc.integer({ min: 0, max: 24 }),
        (prf, leafTarget, fanout, zeros) => {
          // Leading zero bytes make high ranks likely enough to be tested.
          prf.fill(0, 0, Math.min(zeros, 8));
          const p = { ...params, leafTarget, fanout };
          const u = new DataView(prf.buffer).getBigUint64(0, false);
          assert.equal(boundaryRank(p, prf), referenceRank(u, leafTarget, fanout));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('edges: u = 0 ends every level a threshold exists for; u = 2^64 - 1 ends nothing', () => {
    const p = { ...params, leafTarget: 32, fanout: 32 };
    const zero = new Uint8Array(32);
    // 32 · 32^ℓ ≤ 2^64 for ℓ ≤ 11 (2^5 · 2^55 = 2^60; 2^65 > 2^64 at ℓ = 12).
    assert.equal(boundaryRank(p, zero), 12);
    assert.equal(boundaryRank(p, new Uint8Array(32).fill(0xff)), 0);
    // leafTarget 1: every key ends a leaf.
    assert.equal(boundaryRank({ ...params, leafTarget: 1, fanout: 2 }, new Uint8Array(32).fill(0xff)), 1);
  });

  test('just below and at a threshold', () => {
    const p = { ...params, leafTarget: 32, fanout: 32 };
    const t0 = (1n << 64n) / 32n; // 2^59
    const at = new Uint8Array(32);
    new DataView(at.buffer).setBigUint64(0, t0, false);
    const below = new Uint8Array(32);
    new DataView(below.buffer).setBigUint64(0, t0 - 1n, false);
    assert.equal(boundaryRank(p, at), 0);
    assert.equal(boundaryRank(p, below), 1);
  });
});

describe('record hash', () => {
  test('is SHA-256 over the documented encoding', () => {
    const salt = new Uint8Array(24).fill(7);
    const r = { key: 'nl.brp/é', contentType: 'application/json', value: utf8.encode('{"a":1}') };
    const kb = utf8.encode(r.key);
    const ct = utf8.encode(r.contentType);
    const want = sha256(
      concatBytes(utf8.encode('data-embassy/record/v1\n'), salt, uint32BE(kb.length), kb, uint32BE(ct.length), ct, sha256(r.value)),
    );
    assert.deepEqual(recordHash(salt, r), want);
  });

  test('golden: a record hash does not drift', () => {
    const salt = recordSalt(keyPrf(params, 'nl.brp/000000001'));
    const h = recordHash(salt, { key: 'nl.brp/000000001', contentType: 'application/json', value: utf8.encode('{"naam":"Jansen"}') });
    assert.equal(toHex(h), GOLDEN_RECORD_HASH);
  });

  test('every field changes the hash', () => {
    const salt = new Uint8Array(24);
    const base = { key: 'k', contentType: 'text/plain', value: utf8.encode('v') };
    const h = toHex(recordHash(salt, base));
    const variants = [
      recordHash(new Uint8Array(24).fill(1), base),
      recordHash(salt, { ...base, key: 'k2' }),
      recordHash(salt, { ...base, contentType: 'text/xml' }),
      recordHash(salt, { ...base, value: utf8.encode('w') }),
    ].map(toHex);
    assert.equal(new Set([h, ...variants]).size, 5);
  });
});

describe('commitments', () => {
  test('merkleRoot is RFC 6962 MTH (log/merkle rootOfLeafHashes) for 0..70 leaves', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => sha256(uint32BE(i)));
    for (let n = 0; n <= 70; n++) assert.deepEqual(merkleRoot(leaves.slice(0, n)), rootOfLeafHashes(leaves.slice(0, n)));
  });

  test('hashLeaf32 is RFC 6962 hashLeaf; sha256Once is SHA-256', () => {
    const x = sha256(utf8.encode('x'));
    assert.deepEqual(hashLeaf32(x), hashLeaf(x));
    assert.deepEqual(sha256Once(utf8.encode('abc')), sha256(utf8.encode('abc')));
    assert.equal(hashLeaf32(x) instanceof Uint8Array, true);
  });

  test('child entry hash: hashLeaf(prefix ‖ uint8 level ‖ commitment ‖ uint64be count)', () => {
    const c = sha256(utf8.encode('c'));
    for (const [level, count] of [
      [0, 1],
      [3, 123456],
      [63, 2 ** 40 + 5],
    ] as const) {
      const entry = concatBytes(utf8.encode('data-embassy/tree/v1/child\n'), new Uint8Array([level]), c, uint64BE(BigInt(count)));
      assert.deepEqual(childEntryBytes(level, c, count), entry);
      assert.deepEqual(childEntryHash(level, c, count), hashLeaf(entry));
    }
  });
});

const GOLDEN_RECORD_HASH = 'f03b8d977eefd7802a517be61697f2f13eb2b0ebd88dd07d661b02b632ac1e4d';

test('wipeTreeParams zeroes the tree key and drops the derived HMAC state', async () => {
  const { treeParamsFromKey } = await import('./params.ts');
  const { keyPrf, wipeTreeParams } = await import('./record.ts');
  const p = treeParamsFromKey(new Uint8Array(32).fill(5));
  const before = keyPrf(p, 'k');
  wipeTreeParams(p);
  assert.ok(p.treeKey.every((b) => b === 0), 'tree key zeroed');
  // The cache entry is gone: a PRF now derives from the zeroed key, not the old one.
  assert.notDeepEqual(keyPrf(p, 'k'), before, 'no HMAC state of the old key survives');
});
