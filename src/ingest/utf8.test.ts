import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Utf8Checker } from './utf8.ts';

/** Offset of the first byte after which no valid UTF-8 can continue, or -1 if the prefix property holds throughout. */
function referenceOffset(bytes: Uint8Array): number {
  for (let n = 1; n <= bytes.length; n++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
    } catch {
      return n - 1;
    }
  }
  return -1;
}

function referenceComplete(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

// Valid text with some bytes overwritten, so that problems sit next to real sequences.
const damaged = fc
  .tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
  .map(([s, edits]) => {
    const b = new TextEncoder().encode(s.replaceAll(/[\ud800-\udfff]/g, 'x') + '\n' + s);
    for (const [i, v] of edits) if (b.length > 0) b[i % b.length] = v;
    return b;
  });

function check(bytes: Uint8Array, cuts: number[]): { offset: number; line: number } | 'ok' | 'truncated' {
  const c = new Utf8Checker();
  const points = [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const end of [...points, bytes.length]) {
    const p = c.push(bytes.subarray(start, end));
    if (p) {
      assert.equal(p.offset, start + p.index);
      return { offset: p.offset, line: p.line };
    }
    start = end;
  }
  return c.end() ? 'truncated' : 'ok';
}

describe('Utf8Checker', () => {
  test('agrees with the fatal TextDecoder on any bytes, however they are chunked', () => {
    fc.assert(
      fc.property(fc.oneof(damaged, fc.uint8Array({ maxLength: 24 })), fc.array(fc.nat(), { maxLength: 4 }), (bytes, cuts) => {
        const got = check(bytes, cuts);
        const offset = referenceOffset(bytes);
        if (offset >= 0) {
          assert.ok(typeof got === 'object', `expected a problem at ${offset}`);
          assert.equal(got.offset, offset);
          assert.equal(got.line, 1 + bytes.subarray(0, offset).filter((b) => b === 0x0a).length);
        } else {
          assert.equal(got, referenceComplete(bytes) ? 'ok' : 'truncated');
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('the edges of Table 3-7', () => {
    const ok = [[0x7f], [0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf]];
    const bad = [[0x80], [0xc1, 0xbf], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5], [0xff]];
    for (const b of ok) assert.equal(check(new Uint8Array(b), []), 'ok', `${b}`);
    for (const b of bad) assert.equal(typeof check(new Uint8Array(b), []), 'object', `${b}`);
    assert.equal(check(new Uint8Array([0x61, 0xe2, 0x82]), []), 'truncated');
  });
});
