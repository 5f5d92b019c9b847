import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Compressor } from 'zstd-napi';
import { isEmbassyError } from '../errors.ts';
import { concatBytes, fromHex, toHex, utf8 } from '../format/bytes.ts';
import { deterministicSeal } from '../crypto/aead.ts';
import { sha256 } from '../crypto/hash.ts';
import {
  MAX_CONTENT_SIZE,
  minStoredSize,
  type ObjectContents,
  openObject,
  padmeLength,
  parseObjectHeader,
  sealObject,
} from './object.ts';
import { checkSingleFrame } from './codec.ts';

const DEK = Uint8Array.from({ length: 32 }, (_, i) => i);
const OTHER_DEK = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const id = (n: number): Uint8Array => sha256(utf8.encode(`child ${n}`));
const code = (c: string) => (e: unknown): boolean => isEmbassyError(e) && e.code === c;
const textContent = (n: number): Uint8Array =>
  utf8.encode(Array.from({ length: n }, (_, i) => `{"key":"nl.brp/${i}","value":"${i % 13}"}`).join('\n'));

/** A header ‖ DAEAD(payload) object with a hand-made payload, to reach the payload checks. */
function withPayload(payload: Uint8Array, children: Uint8Array[] = []): Uint8Array {
  const header = new Uint8Array(9 + 32 * children.length);
  header.set(utf8.encode('DEO'), 0);
  header[3] = 1;
  header[4] = 1;
  new DataView(header.buffer).setUint32(5, children.length);
  children.forEach((c, i) => header.set(c, 9 + 32 * i));
  return concatBytes(header, deterministicSeal(DEK, payload, header));
}

function payload(codec: number, body: Uint8Array, padTo?: number, lengthField = body.length): Uint8Array {
  const p = new Uint8Array(padTo ?? padmeLength(5 + body.length));
  p[0] = codec;
  new DataView(p.buffer).setUint32(1, lengthField);
  p.set(body, 5);
  return p;
}

describe('padmeLength', () => {
  test('known values', () => {
    const cases: [number, number][] = [
      [0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [8, 8], [9, 10], [11, 12], [17, 18],
      [100, 104], [1000, 1024], [1025, 1088], [16384, 16384], [16385, 17408], [1_000_000, 1_015_808],
    ];
    for (const [n, p] of cases) assert.equal(padmeLength(n), p, `padme(${n})`);
  });

  test('never shrinks, overhead at most 12%, idempotent, monotone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => {
        const p = padmeLength(n);
        assert.ok(p >= n && p <= n * 1.12 + 1, `padme(${n}) = ${p}`);
        assert.equal(padmeLength(p), p);
        assert.ok(padmeLength(n + 1) >= p);
      }),
    );
  });

  test('leaves O(log log n) distinct lengths per power of two', () => {
    const lengths = new Set<number>();
    for (let n = 2 ** 20 + 1; n <= 2 ** 21; n += 97) lengths.add(padmeLength(n));
    assert.ok(lengths.size <= 32, `${lengths.size} distinct lengths`);
  });

  test('refuses negative and fractional lengths', () => {
    assert.throws(() => padmeLength(-1), code('input.malformed'));
    assert.throws(() => padmeLength(1.5), code('input.malformed'));
  });
});

describe('sealObject / openObject', () => {
  const contents = fc.record({
    kind: fc.constantFrom<'node' | 'chunk'>('node', 'chunk'),
    children: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 5 }),
    content: fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.nat({ max: 200 }).map(textContent)),
  }).map((o): ObjectContents => (o.kind === 'chunk' ? { ...o, children: [] } : o));

  test('round trip, id is SHA-256 of the bytes, header readable without the key', () => {
    fc.assert(
      fc.property(contents, (o) => {
        const { id: oid, bytes } = sealObject(DEK, o);
        assert.deepEqual(oid, sha256(bytes));
        assert.deepEqual(openObject(DEK, bytes, oid), { kind: o.kind, children: o.children, content: o.content });
        const h = parseObjectHeader(bytes);
        assert.equal(h.kind, o.kind);
        assert.deepEqual(h.children, o.children);
        assert.equal(h.headerLength, 9 + 32 * o.children.length);
      }),
      { numRuns: 200 },
    );
  });

  test('deterministic: same inputs, same bytes and id; any input change, another id', () => {
    fc.assert(
      fc.property(contents, fc.integer({ min: 1, max: 9 }), (o, level) => {
        const a = sealObject(DEK, o, { level });
        const b = sealObject(DEK, { kind: o.kind, children: o.children.map((c) => c.slice()), content: o.content.slice() }, { level });
        assert.deepEqual(a, b);
        assert.notDeepEqual(sealObject(OTHER_DEK, o, { level }).id, a.id);
        if (o.kind === 'node') {
          assert.notDeepEqual(sealObject(DEK, { ...o, children: [...o.children, id(1)] }, { level }).id, a.id);
        }
        assert.notDeepEqual(sealObject(DEK, { ...o, content: concatBytes(o.content, new Uint8Array([0])) }, { level }).id, a.id);
      }),
      { numRuns: 100 },
    );
  });

  test('golden: the version 1 encoding does not drift', () => {
    // Fixed by this implementation (zstd-napi 0.0.13, zstd level 3) when the format was frozen; a
    // change here is a new format version or a zstd upgrade that changes ids, never an edit.
    const node = sealObject(DEK, { kind: 'node', children: [id(1), id(2)], content: textContent(40) });
    const chunk = sealObject(DEK, { kind: 'chunk', children: [], content: utf8.encode('law text, article 1') });
    assert.equal(toHex(node.id), GOLDEN_NODE_ID);
    assert.equal(node.bytes.length, GOLDEN_NODE_LENGTH);
    assert.equal(toHex(chunk.bytes), GOLDEN_CHUNK_BYTES);
    assert.equal(toHex(chunk.id), GOLDEN_CHUNK_ID);
    // And the other direction: the frozen bytes still open.
    const opened = openObject(DEK, fromHex(GOLDEN_CHUNK_BYTES)!, fromHex(GOLDEN_CHUNK_ID));
    assert.deepEqual(opened, { kind: 'chunk', children: [], content: utf8.encode('law text, article 1') });
    assert.deepEqual(openObject(DEK, node.bytes).content, textContent(40));
  });

  test('compresses when that helps, stores raw when it does not, pads to Padmé', () => {
    const text = textContent(400);
    const small = sealObject(DEK, { kind: 'node', children: [], content: text });
    assert.ok(small.bytes.length < text.length / 3, `${small.bytes.length} bytes for ${text.length}`);
    const noise = Uint8Array.from({ length: 4000 }, (_, i) => sha256(new Uint8Array([i & 255, i >> 8]))[0]!);
    const raw = sealObject(DEK, { kind: 'chunk', children: [], content: noise });
    assert.equal(raw.bytes.length, minStoredSize(0) - 5 + padmeLength(5 + noise.length));
    assert.deepEqual(openObject(DEK, raw.bytes).content, noise);
    const empty = sealObject(DEK, { kind: 'node', children: [id(3)], content: new Uint8Array(0) });
    assert.equal(empty.bytes.length, minStoredSize(1));
    assert.deepEqual(openObject(DEK, empty.bytes).content, new Uint8Array(0));
  });

  test('a dictionary shrinks small objects and is needed to open them', () => {
    const dictionary = textContent(300);
    const small = utf8.encode('{"key":"nl.brp/7","value":"7"}\n{"key":"nl.brp/8","value":"8"}\n{"key":"nl.brp/9","value":"9"}');
    const plain = sealObject(DEK, { kind: 'node', children: [], content: small });
    const withDict = sealObject(DEK, { kind: 'node', children: [], content: small }, { dictionary });
    assert.ok(withDict.bytes.length < plain.bytes.length, `${withDict.bytes.length} vs ${plain.bytes.length}`);
    assert.deepEqual(openObject(DEK, withDict.bytes, withDict.id, { dictionary }).content, small);
    assert.throws(() => openObject(DEK, withDict.bytes), code('object.malformed'));
    assert.throws(() => openObject(DEK, withDict.bytes, undefined, { dictionary: textContent(299) }), code('object.malformed'));
  });

  test('large content up to the limit', () => {
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
    const o = sealObject(DEK, { kind: 'chunk', children: [], content: big });
    assert.deepEqual(openObject(DEK, o.bytes, o.id).content, big);
  });
});

describe('sealObject: bad arguments', () => {
  test('unknown kind, short child id, chunk with children', () => {
    assert.throws(() => sealObject(DEK, { kind: 'leaf' as 'node', children: [], content: new Uint8Array(1) }), code('input.malformed'));
    assert.throws(() => sealObject(DEK, { kind: 'node', children: [new Uint8Array(31)], content: new Uint8Array(1) }), code('input.malformed'));
    assert.throws(() => sealObject(DEK, { kind: 'chunk', children: [id(1)], content: new Uint8Array(1) }), code('input.malformed'));
  });
  test('content over 64 MiB', () => {
    assert.throws(() => sealObject(DEK, { kind: 'chunk', children: [], content: new Uint8Array(MAX_CONTENT_SIZE + 1) }), code('input.too-large'));
  });
  test('key of the wrong length', () => {
    assert.throws(() => sealObject(new Uint8Array(16), { kind: 'chunk', children: [], content: new Uint8Array(1) }), code('crypto.invalid-argument'));
  });
  test('zstd level out of range', () => {
    assert.throws(() => sealObject(DEK, { kind: 'chunk', children: [], content: new Uint8Array(1) }, { level: 99 }), code('input.malformed'));
  });
});

describe('openObject: id mismatch', () => {
  test('bytes under another id', () => {
    const o = sealObject(DEK, { kind: 'node', children: [], content: textContent(3) });
    assert.throws(() => openObject(DEK, o.bytes, id(9)), code('object.id-mismatch'));
    assert.throws(() => openObject(DEK, o.bytes, o.id.subarray(0, 31)), code('object.id-mismatch'));
  });
});

describe('openObject: wrong key or tampered bytes', () => {
  const o = sealObject(DEK, { kind: 'node', children: [id(1), id(2)], content: textContent(20) });
  test('wrong key', () => {
    assert.throws(() => openObject(OTHER_DEK, o.bytes), code('crypto.auth-failed'));
  });
  test('any flipped byte after the fixed header fails authentication', () => {
    for (let i = 9; i < o.bytes.length; i++) {
      const b = o.bytes.slice();
      b[i]! ^= 0x01;
      assert.throws(() => openObject(DEK, b), code('crypto.auth-failed'), `byte ${i}`);
    }
  });
  test('kind changed (header is associated data)', () => {
    const n = sealObject(DEK, { kind: 'node', children: [], content: textContent(2) });
    const b = n.bytes.slice();
    b[4] = 2;
    assert.throws(() => openObject(DEK, b), code('crypto.auth-failed'));
  });
  test('truncated ciphertext', () => {
    assert.throws(() => openObject(DEK, o.bytes.subarray(0, o.bytes.length - 1)), code('crypto.auth-failed'));
  });
});

describe('parseObjectHeader: malformed header', () => {
  const good = sealObject(DEK, { kind: 'node', children: [id(1)], content: textContent(2) }).bytes;
  const edit = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    f(b);
    return b;
  };
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['shorter than the smallest object', good.subarray(0, minStoredSize(0) - 1)],
    ['bad magic', edit((b) => (b[0] = 0x45))],
    ['format version 2', edit((b) => (b[3] = 2))],
    ['format version 0', edit((b) => (b[3] = 0))],
    ['kind 0', edit((b) => (b[4] = 0))],
    ['kind 3', edit((b) => (b[4] = 3))],
    ['chunk with children', edit((b) => (b[4] = 2))],
    ['child count past the end', edit((b) => new DataView(b.buffer).setUint32(5, 5))],
    ['child count 2^32 - 1', edit((b) => new DataView(b.buffer).setUint32(5, 0xffffffff))],
  ];
  for (const [name, bytes] of cases) {
    test(name, () => {
      assert.throws(() => parseObjectHeader(bytes), code('object.malformed'));
      assert.throws(() => openObject(DEK, bytes), code('object.malformed'));
    });
  }
  test('random bytes only ever give object.malformed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (b, prefix) => {
        const bytes = prefix ? concatBytes(utf8.encode('DEO\x01'), b) : b;
        try {
          parseObjectHeader(bytes);
        } catch (e) {
          assert.ok(code('object.malformed')(e), String(e));
        }
        try {
          openObject(DEK, bytes);
        } catch (e) {
          assert.ok(code('object.malformed')(e) || code('crypto.auth-failed')(e), String(e));
        }
      }),
    );
  });
});

describe('openObject: malformed payload (authentic, but not a valid payload)', () => {
  const frame = (content: Uint8Array, params: object = {}): Uint8Array => {
    const c = new Compressor();
    c.setParameters({ compressionLevel: 3, checksumFlag: true, ...params });
    return new Uint8Array(c.compress(content));
  };
  const text = textContent(50);
  const z = frame(text);
  const cases: [string, Uint8Array][] = [
    ['shorter than the prefix', new Uint8Array(4)],
    ['unknown codec', payload(2, text)],
    ['content length past the end', payload(0, text, undefined, text.length + 1000)],
    ['content length over 64 MiB', payload(0, text, undefined, MAX_CONTENT_SIZE + 1)],
    ['padding too short', payload(0, utf8.encode('abcdefgh'), 13)],
    ['padding too long', payload(0, text, padmeLength(5 + text.length) + 1)],
    ['padding not zero', (() => { const p = payload(0, utf8.encode('abcd')); p[p.length - 1] = 1; return p; })()],
    ['zstd: garbage', payload(1, utf8.encode('not a zstd frame at all'))],
    ['zstd: two frames', payload(1, concatBytes(z, z))],
    ['zstd: trailing bytes', payload(1, concatBytes(z, new Uint8Array(3)))],
    ['zstd: truncated', payload(1, z.subarray(0, z.length - 2))],
    ['zstd: no declared content size', payload(1, frame(text, { contentSizeFlag: false }))],
    ['zstd: no content checksum', payload(1, frame(text, { checksumFlag: false }))],
    ['zstd: skippable frame', payload(1, Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]))],
    ['zstd: corrupt block', payload(1, (() => { const b = z.slice(); b[b.length >> 1]! ^= 0xff; return b; })())],
    ['zstd: checksum mismatch', payload(1, (() => { const b = z.slice(); b[b.length - 1]! ^= 0x01; return b; })())],
  ];
  // 'padding not zero' needs a payload that has padding at all.
  assert.ok(padmeLength(9) > 9);
  for (const [name, p] of cases) {
    test(name, () => {
      assert.throws(() => openObject(DEK, withPayload(p)), code('object.malformed'));
    });
  }
  test('zstd frame declaring more than the limit is refused before decompressing', () => {
    // Frame header: magic, FHD = FCS 8 bytes + single segment + checksum, FCS = 2^40, one empty
    // raw last block, checksum.
    const f = concatBytes(
      Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xe4]),
      Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0]),
      Uint8Array.from([0x01, 0, 0]),
      Uint8Array.from([0, 0, 0, 0]),
    );
    assert.throws(() => checkSingleFrame(f, MAX_CONTENT_SIZE), /declares 1099511627776 bytes/);
    assert.throws(() => checkSingleFrame(f, MAX_CONTENT_SIZE), code('object.malformed'));
    assert.throws(() => openObject(DEK, withPayload(payload(1, f))), code('object.malformed'));
  });
  test('a well-formed hand-made payload opens (the cases above fail for their stated reason)', () => {
    assert.deepEqual(openObject(DEK, withPayload(payload(1, z))).content, text);
    assert.deepEqual(openObject(DEK, withPayload(payload(0, text))).content, text);
  });
});

// The zstd-compressed node is pinned by this implementation (zstd-napi 0.0.13, level 3).
const GOLDEN_NODE_ID = 'f24c7f54c7b3affb507d1858abe0c8a145ccfd1e9b6914871fbe18013cee8f73';
const GOLDEN_NODE_LENGTH = 345;
// The raw chunk was computed independently (Python: hmac, hashlib, and HKDF and AESGCM from
// pyca/cryptography) from the format description in docs/format-objects.md.
const GOLDEN_CHUNK_BYTES =
  '44454f010200000000767322e27904a913b50b2817ee4af76d366745001a9d8051022d04c918c9a118738c8adf1a00d47dc50b52eb69c33419521050b8e43fe26c856fd778158e693ba60fad84ad917ada';
const GOLDEN_CHUNK_ID = 'bbef2a0608c202fa9ccc1f7b8bd65f8b87348479286515ac632d5929645fdc1d';
