// Record-tree parameters derived from a dataset key (DESIGN.md §5, docs/format-tree.md §T.1), the
// key order every tree uses (UTF-8 byte order = Unicode code point order) and key validation.
// The tree key and gear table come from HKDF over the DEK, so node boundaries and chunk
// boundaries tell a host without the key nothing about the records.
import { EmbassyError } from '../errors.ts';
import { utf8 } from '../format/bytes.ts';
import { hkdfSha256 } from '../crypto/hkdf.ts';
import { FASTCDC_LIMITS } from '../chunk/fastcdc.ts';
import { MAX_KEY_BYTES } from './types.ts';
import type { TreeParams } from './types.ts';

export const TREE_KEY_INFO = 'data-embassy/tree/v1/key';
export const TREE_GEAR_INFO = 'data-embassy/tree/v1/gear';

export const DEFAULT_LEAF_TARGET = 32;
export const DEFAULT_FANOUT = 32;
export const DEFAULT_CHUNK_THRESHOLD = 65536;
export const DEFAULT_CHUNK_MIN = 16384;
export const DEFAULT_CHUNK_AVG = 65536;
export const DEFAULT_CHUNK_MAX = 262144;

/** Content types are printable ASCII (media types with parameters), 1..255 bytes. */
export const MAX_CONTENT_TYPE_BYTES = 255;
const CONTENT_TYPE_RE = /^[\x20-\x7e]{1,255}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Derives a dataset's tree parameters from its data key. `overrides` tunes the shape (benchmarks,
 * tests); the keyed parts (treeKey, gear) may be overridden only by tests.
 */
export function treeParamsFromKey(dek: Uint8Array, overrides?: Partial<TreeParams>): TreeParams {
  if (!(dek instanceof Uint8Array) || dek.length < 16) {
    throw new EmbassyError('crypto.invalid-argument', `tree params: expected a data key of at least 16 bytes, got ${dek?.length}`);
  }
  const empty = new Uint8Array(0);
  const treeKey = hkdfSha256(dek, empty, utf8.encode(TREE_KEY_INFO), 32);
  const gearBytes = hkdfSha256(dek, empty, utf8.encode(TREE_GEAR_INFO), 2048);
  const view = new DataView(gearBytes.buffer, gearBytes.byteOffset, gearBytes.byteLength);
  const gear = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) gear[i] = view.getBigUint64(i * 8, false);
  const params: TreeParams = {
    treeKey,
    leafTarget: DEFAULT_LEAF_TARGET,
    fanout: DEFAULT_FANOUT,
    chunkThreshold: DEFAULT_CHUNK_THRESHOLD,
    chunkMin: DEFAULT_CHUNK_MIN,
    chunkAvg: DEFAULT_CHUNK_AVG,
    chunkMax: DEFAULT_CHUNK_MAX,
    gear,
    ...overrides,
  };
  checkTreeParams(params);
  return params;
}

/** Throws 'usage' for parameters no tree can be built with. */
export function checkTreeParams(p: TreeParams): void {
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new EmbassyError('usage', `tree params: expected ${name} to be an integer in ${min}..${max}, got ${v}`);
    }
  };
  if (!(p.treeKey instanceof Uint8Array) || p.treeKey.length !== 32) {
    throw new EmbassyError('usage', 'tree params: expected a 32-byte tree key');
  }
  if (!(p.gear instanceof BigUint64Array) || p.gear.length !== 256) {
    throw new EmbassyError('usage', 'tree params: expected a gear table of 256 uint64 values');
  }
  int('leafTarget', p.leafTarget, 1);
  // A fanout of 1 would never converge to a single root.
  int('fanout', p.fanout, 2);
  // FastCDC's own limits (FASTCDC_LIMITS), and min ≤ avg ≤ max; values at or below the
  // threshold stay inline, so a chunked value always spans more than one minimum chunk.
  const [minLo, minHi] = FASTCDC_LIMITS.minSize;
  const [avgLo, avgHi] = FASTCDC_LIMITS.avgSize;
  const [maxLo, maxHi] = FASTCDC_LIMITS.maxSize;
  int('chunkMin', p.chunkMin, minLo, minHi);
  int('chunkAvg', p.chunkAvg, Math.max(avgLo, p.chunkMin), avgHi);
  int('chunkMax', p.chunkMax, Math.max(maxLo, p.chunkAvg), maxHi);
  int('chunkThreshold', p.chunkThreshold, p.chunkMin);
}

/**
 * Order of keys: by their UTF-8 bytes, which is Unicode code point order. JavaScript's `<`
 * compares UTF-16 code units and disagrees for astral characters against U+E000..U+FFFF.
 * Returns a negative number, 0 or a positive number.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x < 0xd800 && y < 0xd800) return x - y;
      return codeUnitRank(x) - codeUnitRank(y);
    }
  }
  return a.length - b.length;
}

// Surrogates (astral code points) sort above U+E000..U+FFFF in code point order.
function codeUnitRank(c: number): number {
  if (c >= 0xe000) return c - 0x800;
  if (c >= 0xd800) return c + 0x2000;
  return c;
}

/** Quotes a key for an error message, shortened so a message stays one readable line. */
export function quoteKey(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

/**
 * Checks a record key and returns its UTF-8 bytes: non-empty, no lone surrogates, at most
 * MAX_KEY_BYTES bytes. Throws 'record.invalid'.
 */
export function encodeKey(key: string): Uint8Array {
  if (typeof key !== 'string' || key.length === 0) {
    throw new EmbassyError('record.invalid', 'record key: expected a non-empty string');
  }
  const ascii = asciiBytes(key);
  if (ascii !== undefined) {
    if (ascii.length > MAX_KEY_BYTES) throw new EmbassyError('record.invalid', `record key ${quoteKey(key)}: expected at most ${MAX_KEY_BYTES} UTF-8 bytes, got ${ascii.length}`);
    return ascii;
  }
  if (LONE_SURROGATE.test(key)) throw new EmbassyError('record.invalid', `record key ${quoteKey(key)}: lone surrogate`);
  const bytes = utf8.encode(key);
  if (bytes.length > MAX_KEY_BYTES) {
    throw new EmbassyError('record.invalid', `record key ${quoteKey(key)}: expected at most ${MAX_KEY_BYTES} UTF-8 bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** The bytes of an all-ASCII string (which are its UTF-8), or undefined: cheaper than TextEncoder for short keys. */
function asciiBytes(s: string): Uint8Array | undefined {
  const n = s.length;
  if (n > 128) return undefined;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return undefined;
    out[i] = c;
  }
  return out;
}

export function checkKey(key: string): void {
  encodeKey(key);
}

const contentTypeCache = new Map<string, Uint8Array>();

/** Checks a content type (printable ASCII, 1..255 bytes) and returns its bytes. Throws 'record.invalid'. */
export function encodeContentType(contentType: string, key?: string): Uint8Array {
  const cached = contentTypeCache.get(contentType);
  if (cached !== undefined) return cached;
  if (typeof contentType !== 'string' || !CONTENT_TYPE_RE.test(contentType)) {
    const where = key === undefined ? '' : ` of ${quoteKey(key)}`;
    throw new EmbassyError('record.invalid', `record content type${where}: expected 1..${MAX_CONTENT_TYPE_BYTES} printable ASCII characters`);
  }
  const bytes = utf8.encode(contentType);
  if (contentTypeCache.size < 256) contentTypeCache.set(contentType, bytes);
  return bytes;
}
