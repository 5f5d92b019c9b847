// The RPO arithmetic of bench/sync.ts: which receipt covers which version, and the percentiles.
// Not under src/ or test/, so `npm test` does not pick it up: node --import tsx --test bench/rpo.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, summarizeLags, versionLags } from './rpo.ts';

test('a version is covered by the first receipt in time whose size exceeds its log index', () => {
  const versions = [
    { version: 2, logIndex: 5n, sourceTimeMs: 1000 },
    { version: 3, logIndex: 6n, sourceTimeMs: 4000 },
    { version: 4, logIndex: 7n, sourceTimeMs: 7000 },
  ];
  // Out of time order on purpose; size 6 covers index 5 only; size 8 covers 6 and 7.
  const receipts = [
    { size: 8n, atMs: 9500 },
    { size: 5n, atMs: 1500 },
    { size: 6n, atMs: 2500 },
    { size: 9n, atMs: 12000 },
  ];
  const lags = versionLags(versions, receipts);
  assert.deepEqual(
    lags.map((l) => [l.version, l.receiptAtMs, l.lagMs]),
    [
      [2, 2500, 1500],
      [3, 9500, 5500],
      [4, 9500, 2500],
    ],
  );
});

test('a version no receipt covers has no lag and fails the target', () => {
  const lags = versionLags([{ version: 2, logIndex: 5n, sourceTimeMs: 0 }, { version: 3, logIndex: 9n, sourceTimeMs: 0 }], [{ size: 6n, atMs: 100 }]);
  assert.equal(lags[1]!.lagMs, null);
  const s = summarizeLags(lags, 5000);
  assert.equal(s.versions, 2);
  assert.equal(s.covered, 1);
  assert.equal(s.p99Ms, 100);
  assert.equal(s.p99UnderTarget, false);
});

test('nearest-rank percentiles', () => {
  const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
  assert.equal(percentile(v, 50), 50);
  assert.equal(percentile(v, 99), 99);
  assert.equal(percentile(v, 100), 100);
  assert.equal(percentile(v.slice(0, 60), 99), 100); // 60 values: p99 is the maximum
  assert.equal(percentile([], 50), null);
  assert.throws(() => percentile([1], 101), RangeError);
  const s = summarizeLags(versionLags([{ version: 2, logIndex: 1n, sourceTimeMs: 0 }], [{ size: 2n, atMs: 4999 }]), 5000);
  assert.equal(s.p99UnderTarget, true);
});
