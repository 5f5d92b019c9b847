// Seeded pseudo-random numbers for the synthetic data generators: sfc32 (Doty-Humphrey's Small
// Fast Chaotic generator, 128-bit state, PractRand-clean), seeded per record from (seed, stream,
// day, index) through a murmur3 finaliser, so that any record can be made alone, in any order,
// by any worker. Deterministic across platforms (32-bit integer arithmetic only). Not for keys.
import { EmbassyError } from '../errors.ts';

/** A generator seed: a non-negative safe integer (the CLI's --seed). */
export type Seed = number;

/** murmur3's fmix32: a bijection on uint32 with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of five uint32 words (murmur3 x86_32 body over 20 bytes, then its finaliser). */
export function hashWords(a: number, b: number, c: number, d: number, e = 0): number {
  let h = 0x9747b28c;
  h = round(h, a);
  h = round(h, b);
  h = round(h, c);
  h = round(h, d);
  h = round(h, e);
  return fmix32(h ^ 20);
}

function round(h: number, w: number): number {
  let k = Math.imul(w | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Low and high 32 bits of a seed, after validating it. */
export function seedWords(seed: Seed): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new EmbassyError('usage', `generate: expected a seed in 0..${Number.MAX_SAFE_INTEGER}, got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / 0x1_0000_0000) >>> 0];
}

/** Uniform float in [0, 1) from a uint32 hash. */
export function unit(h: number): number {
  return h / 0x1_0000_0000;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    // The authors' recommended warm-up, so that nearby seeds give unrelated streams.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The stream for one record: (seed, stream id, day, index) → independent generator. */
  static for(seed: readonly [number, number], stream: number, day: number, index: number): Rng {
    const [lo, hi] = seed;
    return new Rng(
      hashWords(lo, hi, stream, day, index),
      hashWords(hi, lo, index, stream, day ^ 0x5bd1e995),
      hashWords(index, day, lo, hi, stream ^ 0x27d4eb2f),
      1,
    );
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of precision (plenty for synthetic data). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n), n <= 2^32 (multiply-shift; bias below 2^-32·n, irrelevant here). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi], inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }
}

/** An index in [0, n) with weight 1/(k+1)^s: small n only (a linear scan). */
export function zipfPick(rng: Rng, n: number, s: number): number {
  let total = 0;
  for (let k = 0; k < n; k++) total += 1 / Math.pow(k + 1, s);
  let x = rng.float() * total;
  for (let k = 0; k < n; k++) {
    x -= 1 / Math.pow(k + 1, s);
    if (x < 0) return k;
  }
  return n - 1;
}

/** Picks items with given relative weights in O(log n): cumulative table and binary search. */
export class WeightedTable<T> {
  readonly items: readonly T[];
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(entries: readonly (readonly [T, number])[]) {
    this.items = entries.map(([t]) => t);
    this.cumulative = new Float64Array(entries.length);
    let sum = 0;
    entries.forEach(([, w], i) => {
      sum += w;
      this.cumulative[i] = sum;
    });
    this.total = sum;
  }

  /** The item at position u ∈ [0, 1) of the cumulative weight. */
  at(u: number): T {
    const x = u * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }

  pick(rng: Rng): T {
    return this.at(rng.float());
  }
}
