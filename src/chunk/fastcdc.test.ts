// Properties of the FastCDC-2020 chunker: agreement with a literal BigInt port of fastcdc-rs
// v2020 `cut` on random data, gears and parameters; cut shape (increasing, sizes in [min, max]
// except the last); determinism; locality of edits; keyed gears; parameter errors.
// The published vectors are in test/vectors/fastcdc.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { GEAR, MASKS, fastcdcChunks, fastcdcCuts, seededGear, type FastcdcOptions } from './fastcdc.ts';

/** fastcdc-rs src/v2020/mod.rs `cut`, transcribed with BigInt and no shortcuts. */
function referenceCut(
  src: Uint8Array,
  minSize: number,
  avgSize: number,
  maxSize: number,
  gear: BigUint64Array,
  level: number,
): [bigint, number] {
  const U = (x: bigint): bigint => BigInt.asUintN(64, x);
  const bits = Math.round(Math.log2(avgSize));
  const maskS = MASKS[bits + level]!;
  const maskL = MASKS[bits - level]!;
  let remaining = src.length;
  if (remaining <= minSize) return [0n, remaining];
  let center = avgSize;
  if (remaining > maxSize) remaining = maxSize;
  else if (remaining < center) center = remaining;
  let index = Math.floor(minSize / 2);
  let hash = 0n;
  for (const [limit, mask] of [
    [Math.floor(center / 2), maskS],
    [Math.floor(remaining / 2), maskL],
  ] as const) {
    while (index < limit) {
      const a = index * 2;
      hash = U((hash << 2n) + U(gear[src[a]!]! << 1n));
      if ((hash & (mask << 1n)) === 0n) return [hash, a];
      hash = U(hash + gear[src[a + 1]!]!);
      if ((hash & mask) === 0n) return [hash, a + 1];
      index++;
    }
  }
  return [hash, remaining];
}

function referenceChunks(data: Uint8Array, o: Required<FastcdcOptions>): [number, number, bigint][] {
  const out: [number, number, bigint][] = [];
  let start = 0;
  while (start < data.length) {
    const [hash, len] = referenceCut(data.subarray(start), o.minSize, o.avgSize, o.maxSize, o.gear, o.normalization);
    out.push([start, len, hash]);
    start += len;
  }
  return out;
}

/** Deterministic test bytes (sfc32), so that large inputs need no fast-check shrinking. */
function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  let a = 0x9e3779b9, b = seed | 0, c = 0x85ebca6b, d = 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    out[i] = t >>> 24;
  }
  return out;
}

const gearArb = fc
  .array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 256, maxLength: 256 })
  .map((xs) => BigUint64Array.from(xs));

/** Small parameters, so that random inputs of a few KiB hold many chunks; odd sizes included. */
const smallOptsArb = fc
  .record({
    minSize: fc.integer({ min: 64, max: 300 }),
    avgExtra: fc.integer({ min: 0, max: 700 }),
    maxExtra: fc.integer({ min: 0, max: 2000 }),
    normalization: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ minSize, avgExtra, maxExtra, normalization }) => {
    const avgSize = Math.max(256, minSize + avgExtra);
    return { minSize, avgSize, maxSize: Math.max(1024, avgSize + maxExtra), normalization };
  });

describe('fastcdc agrees with the upstream algorithm', () => {
  test('cuts and hashes equal a BigInt port of fastcdc-rs v2020 cut (random data, params, gears)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 6000 }),
        smallOptsArb,
        fc.option(gearArb, { nil: undefined }),
        (data, o, gear) => {
          const opts = { ...o, gear: gear ?? GEAR };
          const want = referenceChunks(data, opts);
          assert.deepEqual(
            fastcdcChunks(data, opts).map((k) => [k.offset, k.length, k.hash]),
            want,
          );
          assert.deepEqual(
            fastcdcCuts(data, opts),
            want.map(([s, l]) => s + l),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test('on low-entropy data (runs of few byte values), where masks hit often', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 200 })), { maxLength: 80 }),
        smallOptsArb,
        (runs, o) => {
          const data = Uint8Array.from(runs.flatMap(([v, n]) => Array<number>(n).fill(v)));
          const opts = { ...o, gear: GEAR };
          assert.deepEqual(
            fastcdcChunks(data, opts).map((k) => [k.offset, k.length, k.hash]),
            referenceChunks(data, opts),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  test('production-sized parameters on 1 MiB agree with the reference', () => {
    const data = pseudoRandomBytes(7, 1 << 20);
    for (const normalization of [0, 1, 2, 3]) {
      const opts = { minSize: 16384, avgSize: 65536, maxSize: 262144, normalization, gear: seededGear(0x5eedn) };
      assert.deepEqual(
        fastcdcChunks(data, opts).map((k) => [k.offset, k.length, k.hash]),
        referenceChunks(data, opts),
      );
    }
  });
});

describe('fastcdc limb arithmetic', () => {
  test('every mask, shifted for the even byte, lies in the 50 bits the hot loop keeps exactly', () => {
    for (const m of MASKS) assert.ok(m << 1n < 1n << 50n, `mask 0x${m.toString(16)}`);
  });
});

describe('fastcdc cut shape', () => {
  test('empty input gives no chunks; input of at most minSize bytes is one chunk', () => {
    const opts = { minSize: 4096, avgSize: 16384, maxSize: 65536 };
    assert.deepEqual(fastcdcCuts(new Uint8Array(0), opts), []);
    assert.deepEqual(fastcdcCuts(new Uint8Array(1), opts), [1]);
    assert.deepEqual(fastcdcCuts(new Uint8Array(4096), opts), [4096]);
    assert.deepEqual(fastcdcChunks(new Uint8Array(4096), opts), [{ offset: 0, length: 4096, hash: 0n }]);
  });

  test('cuts strictly increase, end at data.length, and every chunk but the last is in [min, max]', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 200_000 }), smallOptsArb, (seed, length, o) => {
        const data = pseudoRandomBytes(seed, length);
        const cuts = fastcdcCuts(data, o);
        if (length === 0) return assert.deepEqual(cuts, []);
        assert.equal(cuts.at(-1), length);
        // For odd minSize the first possible cut is minSize − 1 (upstream hashes whole byte pairs).
        const min = o.minSize - (o.minSize % 2);
        let prev = 0;
        cuts.forEach((c, i) => {
          assert.ok(c > prev, `cut ${i} not increasing`);
          const size = c - prev;
          assert.ok(size <= o.maxSize, `chunk ${i}: ${size} > max ${o.maxSize}`);
          if (i < cuts.length - 1) assert.ok(size >= min, `chunk ${i}: ${size} < min ${min}`);
          prev = c;
        });
      }),
      { numRuns: 60 },
    );
  });

  test('data with no cut point (all zeros) is cut at exactly maxSize', () => {
    const cuts = fastcdcCuts(new Uint8Array(10240), { minSize: 64, avgSize: 256, maxSize: 1024 });
    assert.deepEqual(
      cuts,
      Array.from({ length: 10 }, (_, i) => (i + 1) * 1024),
    );
  });

  test('normalization narrows the spread of chunk sizes around avgSize', () => {
    const data = pseudoRandomBytes(11, 8 << 20);
    const spread = (normalization: number): number => {
      const cuts = fastcdcCuts(data, { minSize: 2048, avgSize: 16384, maxSize: 131072, normalization });
      const sizes = cuts.map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]!)).slice(0, -1);
      const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
      return Math.sqrt(sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / sizes.length) / mean;
    };
    const s = [0, 1, 2, 3].map(spread);
    for (let i = 1; i < s.length; i++) assert.ok(s[i]! < s[i - 1]!, `level ${i} spread ${s[i]} not below level ${i - 1} ${s[i - 1]}`);
  });
});

describe('fastcdc determinism', () => {
  test('same bytes, same cuts: in any view (Buffer, offset subarray) and across calls', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 15 }), (seed, length, pad) => {
        const data = pseudoRandomBytes(seed, length);
        const opts = { minSize: 256, avgSize: 1024, maxSize: 8192 };
        const cuts = fastcdcCuts(data, opts);
        assert.deepEqual(fastcdcCuts(data, opts), cuts);
        const shifted = new Uint8Array(length + pad);
        shifted.set(data, pad);
        assert.deepEqual(fastcdcCuts(shifted.subarray(pad), opts), cuts);
        assert.deepEqual(fastcdcCuts(Buffer.from(data), opts), cuts);
      }),
      { numRuns: 40 },
    );
  });

  test('a gear table changed in place after use is noticed (no stale cached limbs)', () => {
    const data = pseudoRandomBytes(3, 200_000);
    const opts = { minSize: 256, avgSize: 1024, maxSize: 8192 };
    const gear = seededGear(1n);
    const before = fastcdcCuts(data, { ...opts, gear });
    gear.set(seededGear(2n));
    assert.deepEqual(fastcdcCuts(data, { ...opts, gear }), fastcdcCuts(data, { ...opts, gear: seededGear(2n) }));
    assert.notDeepEqual(fastcdcCuts(data, { ...opts, gear }), before);
  });
});

describe('fastcdc locality', () => {
  // Chunk boundaries depend only on the bytes from the chunk's start up to the trigger byte, so an
  // edit leaves every chunk that ends before it untouched, and after it the cuts fall back in step
  // with the old ones within a few chunks (then the rest is shared, shifted by the size change).
  test('an edit in the middle changes only nearby chunks', () => {
    const opts = { minSize: 2048, avgSize: 8192, maxSize: 65536, normalization: 2 };
    fc.assert(
      fc.property(
        fc.integer(),
        fc.double({ min: 0.05, max: 0.95, noNaN: true }),
        fc.uint8Array({ minLength: 0, maxLength: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (seed, where, insert, deleteCount) => {
          const old = pseudoRandomBytes(seed, 400_000);
          const at = Math.floor(where * old.length);
          const edited = new Uint8Array(old.length - deleteCount + insert.length);
          edited.set(old.subarray(0, at));
          edited.set(insert, at);
          edited.set(old.subarray(at + deleteCount), at + insert.length);
          const delta = insert.length - deleteCount;

          const a = fastcdcCuts(old, opts);
          const b = fastcdcCuts(edited, opts);
          // Before the edit: identical, exactly.
          const prefix = a.filter((c) => c < at);
          assert.deepEqual(b.slice(0, prefix.length), prefix);
          // After it: the old cuts, shifted, once back in step.
          const aStarts = new Set([0, ...a].map((c) => c + delta));
          const bStarts = [0, ...b];
          const firstShared = bStarts.findIndex((s, i) => i > prefix.length && s > at + insert.length && aStarts.has(s));
          assert.ok(firstShared > 0, 'cuts never fall back in step');
          const changed = firstShared - prefix.length;
          assert.ok(changed <= 4, `${changed} chunks changed by one small edit`);
          const rest = b.slice(firstShared - 1);
          assert.deepEqual(
            rest,
            a.slice(a.length - rest.length).map((c) => c + delta),
          );
        },
      ),
      { numRuns: 40, seed: 20260101 },
    );
  });
});

describe('fastcdc keyed gear', () => {
  test('seededGear(0) is GEAR; other tables give other, equally valid, cuts', () => {
    assert.deepEqual(seededGear(0n), GEAR);
    const data = pseudoRandomBytes(5, 1 << 20);
    const opts = { minSize: 4096, avgSize: 16384, maxSize: 65536, normalization: 2 };
    const plain = fastcdcCuts(data, opts);
    const keyed = fastcdcCuts(data, { ...opts, gear: seededGear(0xdeadbeefcafebaben) });
    assert.notDeepEqual(keyed, plain);
    const common = keyed.filter((c) => plain.includes(c)).length;
    assert.ok(common < keyed.length / 4, `${common} of ${keyed.length} cuts shared with the public gear`);
    const avg = data.length / keyed.length;
    assert.ok(avg > 16384 * 0.75 && avg < 16384 * 1.5, `average chunk ${avg}`);
  });
});

function assertInvalid(opts: FastcdcOptions): void {
  assert.throws(
    () => fastcdcCuts(new Uint8Array(10), opts),
    (e: unknown) => isEmbassyError(e, 'crypto.invalid-argument') && e.message.startsWith('fastcdc: '),
  );
}

const ok = { minSize: 4096, avgSize: 16384, maxSize: 65536 };

describe('fastcdc rejects minSize out of range', () => {
  test('below 64, above 1 MiB, not an integer', () => {
    for (const minSize of [63, 0, -1, 1_048_577, 100.5, Number.NaN]) assertInvalid({ ...ok, minSize });
  });
});

describe('fastcdc rejects avgSize out of range', () => {
  test('below 256, above 4 MiB, not an integer', () => {
    for (const avgSize of [255, 4_194_305, 1000.1]) assertInvalid({ ...ok, minSize: 64, avgSize, maxSize: 16_777_216 });
  });
});

describe('fastcdc rejects maxSize out of range', () => {
  test('below 1024, above 16 MiB', () => {
    for (const maxSize of [1023, 16_777_217, Number.POSITIVE_INFINITY]) assertInvalid({ minSize: 64, avgSize: 256, maxSize });
  });
});

describe('fastcdc rejects sizes out of order', () => {
  test('minSize > avgSize, avgSize > maxSize', () => {
    assertInvalid({ minSize: 20000, avgSize: 16384, maxSize: 65536 });
    assertInvalid({ minSize: 4096, avgSize: 65536, maxSize: 32768 });
  });
});

describe('fastcdc rejects a bad normalization level', () => {
  test('outside 0..3 or fractional', () => {
    for (const normalization of [-1, 4, 1.5]) assertInvalid({ ...ok, normalization });
  });
});

describe('fastcdc rejects a bad gear table', () => {
  test('wrong length or type', () => {
    assertInvalid({ ...ok, gear: new BigUint64Array(255) });
    assertInvalid({ ...ok, gear: new BigUint64Array(257) });
    assertInvalid({ ...ok, gear: new Uint32Array(512) as unknown as BigUint64Array });
  });
});
