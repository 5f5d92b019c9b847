// The generators' randomness and calendar: sfc32 streams are deterministic, independent per
// (seed, stream, day, index) and roughly uniform; weighted tables follow their weights; day
// numbers agree with the proleptic Gregorian calendar of Date.UTC.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { SNAPSHOT_DAY, brpDatum, civilFromDays, daysFromCivil, isoDate, longDate } from './calendar.ts';
import { Rng, WeightedTable, fmix32, hashWords, seedWords, zipfPick } from './prng.ts';

describe('prng', () => {
  test('the same (seed, stream, day, index) gives the same stream; any other coordinate another', () => {
    const take = (r: Rng): number[] => Array.from({ length: 8 }, () => r.u32());
    const s = seedWords(42);
    const a = take(Rng.for(s, 1, 0, 7));
    assert.deepEqual(take(Rng.for(s, 1, 0, 7)), a);
    for (const other of [Rng.for(s, 2, 0, 7), Rng.for(s, 1, 1, 7), Rng.for(s, 1, 0, 8), Rng.for(seedWords(43), 1, 0, 7)]) {
      assert.notDeepEqual(take(other), a);
    }
  });

  test('seeds above 2^32 use their high bits', () => {
    assert.deepEqual(seedWords(2 ** 32 + 5), [5, 1]);
    assert.notDeepEqual(Rng.for(seedWords(5), 1, 0, 0).u32(), Rng.for(seedWords(2 ** 32 + 5), 1, 0, 0).u32());
  });

  test('roughly uniform: 16 buckets of 160 000 draws within 2% of their share', () => {
    const r = Rng.for(seedWords(1), 1, 0, 0);
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 160_000; i++) buckets[r.int(16)]!++;
    for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 200, `bucket ${b}`);
  });

  test('int, range and pick stay in bounds', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const r = Rng.for(seedWords(seed), 1, 0, 0);
        for (let i = 0; i < 50; i++) {
          const k = r.int(n);
          assert.ok(Number.isInteger(k) && k >= 0 && k < n);
          const x = r.range(-3, 3);
          assert.ok(x >= -3 && x <= 3);
        }
      }),
    );
  });

  test('normal() has mean 0 and variance 1 (loosely)', () => {
    const r = Rng.for(seedWords(9), 1, 0, 0);
    let sum = 0;
    let sq = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      sum += x;
      sq += x * x;
    }
    assert.ok(Math.abs(sum / n) < 0.02);
    assert.ok(Math.abs(sq / n - 1) < 0.03);
  });

  test('weighted tables and zipfPick follow their weights', () => {
    const t = new WeightedTable([
      ['a', 1],
      ['b', 3],
      ['c', 0],
    ] as const);
    const r = Rng.for(seedWords(3), 1, 0, 0);
    let b = 0;
    for (let i = 0; i < 40_000; i++) {
      const x = t.pick(r);
      assert.notEqual(x, 'c');
      if (x === 'b') b++;
    }
    assert.ok(Math.abs(b / 40_000 - 0.75) < 0.01, `b ${b}`);
    assert.equal(t.at(0), 'a');
    assert.equal(t.at(0.999999), 'b');
    const z = new Array<number>(4).fill(0);
    for (let i = 0; i < 40_000; i++) z[zipfPick(r, 4, 1)]!++;
    assert.ok(z[0]! > z[1]! && z[1]! > z[2]! && z[2]! > z[3]!);
  });

  test('fmix32 and hashWords are uint32 and spread neighbouring inputs', () => {
    assert.equal(fmix32(0), 0);
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const h = hashWords(1, 2, 3, i);
      assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
      seen.add(h >>> 20);
    }
    // 10 000 random draws into 4096 boxes fill 4096·(1 − e^(−10000/4096)) ≈ 3740 of them.
    assert.ok(seen.size > 3600 && seen.size < 3900, `${seen.size} of 4096 top-12-bit values`);
  });
});

describe('prng rejects a bad seed', () => {
  test('negative, fractional, not a safe integer', () => {
    for (const seed of [-1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => seedWords(seed), (e: unknown) => isEmbassyError(e, 'usage'));
    }
  });
});

describe('calendar', () => {
  test('day numbers agree with Date.UTC both ways (years 1600..2400)', () => {
    fc.assert(
      fc.property(fc.integer({ min: daysFromCivil(1600, 1, 1), max: daysFromCivil(2400, 12, 31) }), (day) => {
        const [y, m, d] = civilFromDays(day);
        assert.equal(Date.UTC(y, m - 1, d) / 86_400_000, day);
        assert.equal(daysFromCivil(y, m, d), day);
        assert.equal(isoDate(day), new Date(day * 86_400_000).toISOString().slice(0, 10));
      }),
      { numRuns: 2000 },
    );
  });

  test('the snapshot day, and the BRP long format in Dutch', () => {
    assert.equal(isoDate(SNAPSHOT_DAY), '2026-01-01');
    assert.equal(longDate(daysFromCivil(1975, 7, 7)), '7 juli 1975');
    assert.deepEqual(brpDatum(daysFromCivil(2000, 2, 29)), { datum: '2000-02-29', langFormaat: '29 februari 2000', type: 'Datum' });
  });
});
