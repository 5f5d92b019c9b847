import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { hkdfSha256 } from '../crypto/hkdf.ts';
import { isEmbassyError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import {
  DEFAULT_CHUNK_AVG,
  DEFAULT_CHUNK_MAX,
  DEFAULT_CHUNK_MIN,
  DEFAULT_CHUNK_THRESHOLD,
  DEFAULT_FANOUT,
  DEFAULT_LEAF_TARGET,
  checkKey,
  compareKeys,
  encodeContentType,
  treeParamsFromKey,
} from './params.ts';
import { MAX_KEY_BYTES } from './types.ts';

function throwsCode(f: () => unknown, code: ErrorCode): void {
  assert.throws(f, (e: unknown) => isEmbassyError(e, code));
}

const dek = new Uint8Array(32).map((_, i) => i);

describe('treeParamsFromKey', () => {
  test('derives treeKey and gear with HKDF-SHA-256 and the documented info strings', () => {
    const p = treeParamsFromKey(dek);
    assert.deepEqual(p.treeKey, hkdfSha256(dek, new Uint8Array(0), utf8.encode('data-embassy/tree/v1/key'), 32));
    const g = hkdfSha256(dek, new Uint8Array(0), utf8.encode('data-embassy/tree/v1/gear'), 2048);
    const view = new DataView(g.buffer, g.byteOffset);
    assert.equal(p.gear.length, 256);
    for (const i of [0, 1, 128, 255]) assert.equal(p.gear[i], view.getBigUint64(8 * i, false));
  });

  test('golden: the derivation does not drift', () => {
    const p = treeParamsFromKey(dek);
    assert.equal(toHex(p.treeKey), GOLDEN_TREE_KEY);
    assert.equal(p.gear[0]!.toString(16), GOLDEN_GEAR_0);
  });

  test('defaults, and overrides for tuning', () => {
    const p = treeParamsFromKey(dek);
    assert.deepEqual(
      [p.leafTarget, p.fanout, p.chunkThreshold, p.chunkMin, p.chunkAvg, p.chunkMax],
      [DEFAULT_LEAF_TARGET, DEFAULT_FANOUT, DEFAULT_CHUNK_THRESHOLD, DEFAULT_CHUNK_MIN, DEFAULT_CHUNK_AVG, DEFAULT_CHUNK_MAX],
    );
    assert.deepEqual([32, 32, 65536, 16384, 65536, 262144], [p.leafTarget, p.fanout, p.chunkThreshold, p.chunkMin, p.chunkAvg, p.chunkMax]);
    const q = treeParamsFromKey(dek, { leafTarget: 8, fanout: 4 });
    assert.equal(q.leafTarget, 8);
    assert.equal(q.fanout, 4);
    assert.deepEqual(q.treeKey, p.treeKey);
  });

  test('different keys give different parameters', () => {
    const a = treeParamsFromKey(dek);
    const b = treeParamsFromKey(new Uint8Array(32).fill(9));
    assert.notDeepEqual(a.treeKey, b.treeKey);
    assert.notDeepEqual(a.gear, b.gear);
  });
});

describe('treeParamsFromKey: impossible parameters', () => {
  test('short data key', () => throwsCode(() => treeParamsFromKey(new Uint8Array(8)), 'crypto.invalid-argument'));
  for (const [name, o] of [
    ['fanout 1 never converges', { fanout: 1 }],
    ['leafTarget 0', { leafTarget: 0 }],
    ['fractional leafTarget', { leafTarget: 2.5 }],
    ['chunkMin below FastCDC minimum', { chunkMin: 32 }],
    ['chunkAvg below chunkMin', { chunkMin: 16384, chunkAvg: 8192 }],
    ['chunkMax below chunkAvg', { chunkMax: 32768 }],
    ['chunkThreshold below chunkMin', { chunkThreshold: 1000 }],
    ['treeKey of the wrong length', { treeKey: new Uint8Array(16) }],
    ['gear of the wrong length', { gear: new BigUint64Array(255) }],
  ] as const) {
    test(name, () => throwsCode(() => treeParamsFromKey(dek, o), 'usage'));
  }
});

describe('compareKeys', () => {
  const utf8Order = (a: string, b: string): number => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

  test('is the order of UTF-8 bytes (= code points), not of UTF-16 code units', () => {
    // U+FFFD (one code unit 0xFFFD) sorts below U+1F600 (surrogates 0xD83D 0xDE00) by code point.
    assert.ok(compareKeys('\uFFFD', '😀') < 0, 'U+FFFD sorts before U+1F600');
    assert.ok('\uFFFD' > '😀', 'JS string order says the opposite');
    assert.ok(compareKeys('\uE000', '\u{10000}') < 0, 'U+E000 sorts before U+10000');
    assert.ok(compareKeys('a', 'ab') < 0, 'a prefix sorts first');
    assert.equal(compareKeys('abc', 'abc'), 0);
    assert.ok(compareKeys('b', 'a') > 0, 'b sorts after a');
  });

  test('agrees with Buffer.compare of UTF-8 on arbitrary strings', () => {
    const alphabet = fc.constantFrom('a', 'b', '\u007f', '\u0080', '\u07ff', '\u0800', '\uD7FF', '\uE000', '\uFFFF', '\u{10000}', '😀', '\u{10FFFF}', '\u0000');
    const str = fc.array(alphabet, { maxLength: 6 }).map((a) => a.join(''));
    fc.assert(
      fc.property(str, str, (a, b) => {
        assert.equal(Math.sign(compareKeys(a, b)), utf8Order(a, b));
      }),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => Math.sign(compareKeys(a, b)) === utf8Order(a, b)));
  });
});

describe('record keys: invalid', () => {
  test('empty', () => throwsCode(() => checkKey(''), 'record.invalid'));
  test('not a string', () => throwsCode(() => checkKey(42 as unknown as string), 'record.invalid'));
  test('lone high surrogate', () => throwsCode(() => checkKey('a\uD800b'), 'record.invalid'));
  test('lone low surrogate', () => throwsCode(() => checkKey('\uDC00'), 'record.invalid'));
  test('over MAX_KEY_BYTES UTF-8 bytes', () => {
    checkKey('x'.repeat(MAX_KEY_BYTES));
    checkKey('é'.repeat(MAX_KEY_BYTES / 2));
    throwsCode(() => checkKey('x'.repeat(MAX_KEY_BYTES + 1)), 'record.invalid');
    throwsCode(() => checkKey('é'.repeat(MAX_KEY_BYTES / 2 + 1)), 'record.invalid');
  });
  test('valid: astral characters, controls, U+0000', () => {
    checkKey('😀');
    checkKey('a\u0000b');
  });
});

describe('content types: invalid', () => {
  test('empty', () => throwsCode(() => encodeContentType(''), 'record.invalid'));
  test('non-ASCII', () => throwsCode(() => encodeContentType('text/é'), 'record.invalid'));
  test('control character', () => throwsCode(() => encodeContentType('text/plain\n'), 'record.invalid'));
  test('over 255 bytes', () => throwsCode(() => encodeContentType(`x/${'y'.repeat(254)}`), 'record.invalid'));
  test('valid with parameters', () => assert.deepEqual(encodeContentType('text/xml; charset=utf-8'), utf8.encode('text/xml; charset=utf-8')));
});

const GOLDEN_TREE_KEY = '1a86ec3a9d0d0c94ca7889eef3148e964a1656fb9a9a05a40df3e9394138e6f8';
const GOLDEN_GEAR_0 = '182b7cb59a41ffcc';
