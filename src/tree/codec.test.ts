import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { concatBytes, fromHex, toHex, utf8 } from '../format/bytes.ts';
import { decodeNode, encodeNode } from './codec.ts';
import { compareKeys } from './params.ts';
import type { ChildEntry, LeafEntry, ObjectId, StoredValue, TreeNode } from './types.ts';

const id = (b: number): ObjectId => new Uint8Array(32).fill(b);
const hex = (s: string): Uint8Array => fromHex(s.replace(/\s+/g, ''))!;

function throwsCode(f: () => unknown, code: ErrorCode): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(isEmbassyError(e), `expected an EmbassyError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

// ---- arbitraries -------------------------------------------------------------------------------

const keyArb = fc
  .string({ unit: fc.constantFrom('a', 'b', 'z', '0', '/', 'é', '\u0000', '\u001f', '\uFFFD', '😀', '\uE000'), minLength: 1, maxLength: 12 })
  .filter((k) => utf8.encode(k).length <= 1024);
const sortedKeys = (max: number): fc.Arbitrary<string[]> =>
  fc.uniqueArray(keyArb, { maxLength: max }).map((ks) => [...ks].sort(compareKeys));
const contentTypeArb = fc.oneof(
  fc.constantFrom('application/json', 'text/xml; charset=utf-8', 'application/x-embassy-index'),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 255 }),
);
const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const valueArb: fc.Arbitrary<StoredValue> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'inline' as const, bytes })),
  fc
    .record({ hash: hashArb, chunks: fc.array(fc.record({ id: hashArb, size: fc.integer({ min: 1, max: 2 ** 40 }) }), { minLength: 1, maxLength: 5 }) })
    .map(({ hash, chunks }) => ({
      kind: 'chunked' as const,
      size: chunks.reduce((s, c) => s + c.size, 0),
      hash,
      chunks: chunks.map((c) => ({ id: c.id, size: c.size })),
    })),
);
const leafArb: fc.Arbitrary<TreeNode> = sortedKeys(20).chain((keys) =>
  fc
    .tuple(...keys.map(() => fc.tuple(contentTypeArb, valueArb)))
    .map((vs): TreeNode => ({ kind: 'leaf', entries: keys.map((key, i): LeafEntry => ({ key, contentType: vs[i]![0], value: vs[i]![1] })) })),
);
const internalArb: fc.Arbitrary<TreeNode> = fc.integer({ min: 1, max: 64 }).chain((level) =>
  sortedKeys(40)
    .filter((ks) => ks.length > 0)
    .chain((keys) =>
      fc
        .tuple(...keys.map(() => fc.tuple(hashArb, hashArb, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))))
        .map((cs): TreeNode => ({
          kind: 'internal',
          level,
          children: keys.map((lastKey, i): ChildEntry => ({ lastKey, id: cs[i]![0], commitment: cs[i]![1], count: cs[i]![2] })),
        })),
    ),
);

// ---- round trip and golden bytes ---------------------------------------------------------------

describe('codec: round trip', () => {
  test('decode(encode(node)) = node for random leaves and internal nodes', () => {
    fc.assert(
      fc.property(fc.oneof(leafArb, internalArb), (node) => {
        const { body, children } = encodeNode(node);
        assert.deepEqual(decodeNode(body, children), node);
        // and the encoding is canonical: re-encoding gives the same bytes
        assert.deepEqual(encodeNode(decodeNode(body, children)).body, body);
      }),
      { numRuns: 500 },
    );
  });

  test('children: an internal node lists child ids, a leaf its chunk ids in entry order', () => {
    const leaf: TreeNode = {
      kind: 'leaf',
      entries: [
        { key: 'a', contentType: 'x/y', value: { kind: 'chunked', size: 3, hash: id(9), chunks: [{ id: id(1), size: 1 }, { id: id(2), size: 2 }] } },
        { key: 'b', contentType: 'x/y', value: { kind: 'inline', bytes: new Uint8Array([1]) } },
        { key: 'c', contentType: 'x/y', value: { kind: 'chunked', size: 1, hash: id(9), chunks: [{ id: id(3), size: 1 }] } },
      ],
    };
    assert.deepEqual(encodeNode(leaf).children, [id(1), id(2), id(3)]);
  });
});

describe('codec: golden bytes (docs/format-tree.md §T.5)', () => {
  const cases: [string, TreeNode, string, ObjectId[]][] = [
    [
      'leaf with one inline JSON record',
      { kind: 'leaf', entries: [{ key: 'a', contentType: 'application/json', value: { kind: 'inline', bytes: utf8.encode('{}') } }] },
      '01 00 01 01 61 10 6170706c69636174696f6e2f6a736f6e 00 02 7b7d',
      [],
    ],
    [
      'leaf with one chunked value',
      {
        kind: 'leaf',
        entries: [
          { key: 'c', contentType: 'text/xml', value: { kind: 'chunked', size: 70000, hash: id(0xaa), chunks: [{ id: id(1), size: 40000 }, { id: id(2), size: 30000 }] } },
        ],
      },
      `01 00 01 01 63 08 746578742f786d6c 01 f0a204 ${'aa'.repeat(32)} 02 c0b802 b0ea01`,
      [id(1), id(2)],
    ],
    [
      'internal node',
      { kind: 'internal', level: 1, children: [{ lastKey: 'b', id: id(5), commitment: id(0xcc), count: 300 }] },
      `01 01 01 01 01 62 ${'cc'.repeat(32)} ac02`,
      [id(5)],
    ],
    ['empty leaf', { kind: 'leaf', entries: [] }, '01 00 00', []],
  ];
  for (const [name, node, bodyHex, children] of cases) {
    test(name, () => {
      const enc = encodeNode(node);
      assert.equal(toHex(enc.body), bodyHex.replace(/\s+/g, ''));
      assert.deepEqual(enc.children, children);
      assert.deepEqual(decodeNode(hex(bodyHex), children), node);
    });
  }
});

// ---- malformed bodies, one describe per kind -----------------------------------------------------

const LEAF_A = '01 00 01 01 61 03 782f79 00 01 07'; // key "a", type "x/y", inline 07
const INTERNAL_B = `01 01 01 01 01 62 ${'cc'.repeat(32)} 05`;

describe('codec: truncated bodies', () => {
  test('every proper prefix of a valid body is refused', () => {
    for (const [bodyHex, children] of [
      [LEAF_A, []],
      [INTERNAL_B, [id(1)]],
    ] as const) {
      const body = hex(bodyHex);
      for (let n = 0; n < body.length; n++) throwsCode(() => decodeNode(body.subarray(0, n), [...children]), 'object.malformed');
    }
  });
});

describe('codec: unknown format version', () => {
  test('format 0 and 2', () => {
    throwsCode(() => decodeNode(hex('00 00 00'), []), 'object.malformed');
    throwsCode(() => decodeNode(hex('02 00 00'), []), 'object.malformed');
  });
});

describe('codec: unknown node kind', () => {
  test('kind 2', () => throwsCode(() => decodeNode(hex('01 02 00'), []), 'object.malformed'));
});

describe('codec: bad varints', () => {
  test('non-minimal encoding of a count', () => throwsCode(() => decodeNode(hex('01 00 80 00'), []), 'object.malformed'));
  test('non-minimal encoding of a length', () => throwsCode(() => decodeNode(hex('01 00 01 81 00 61 03 782f79 00 01 07'), []), 'object.malformed'));
  test('longer than 8 bytes', () => throwsCode(() => decodeNode(hex('01 00 ffffffffffffffff01'), []), 'object.malformed'));
  test('above 2^53 - 1', () => throwsCode(() => decodeNode(hex('01 00 ffffffffffffff7f'), []), 'object.malformed'));
  test('a count that cannot fit the body', () => throwsCode(() => decodeNode(hex('01 00 e807'), []), 'object.malformed'));
});

describe('codec: trailing bytes', () => {
  test('after a leaf', () => throwsCode(() => decodeNode(hex(`${LEAF_A} 00`), []), 'object.malformed'));
  test('after an internal node', () => throwsCode(() => decodeNode(hex(`${INTERNAL_B} 00`), [id(1)]), 'object.malformed'));
});

describe('codec: bad keys', () => {
  test('invalid UTF-8', () => throwsCode(() => decodeNode(hex('01 00 01 01 ff 03 782f79 00 01 07'), []), 'object.malformed'));
  test('UTF-8 encoded surrogate', () => throwsCode(() => decodeNode(hex('01 00 01 03 eda080 03 782f79 00 01 07'), []), 'object.malformed'));
  test('empty key', () => throwsCode(() => decodeNode(hex('01 00 01 00 03 782f79 00 01 07'), []), 'tree.corrupt'));
  test('longer than MAX_KEY_BYTES', () => {
    const body = concatBytes(hex('01 00 01 81 08'), new Uint8Array(1025).fill(0x61), hex('03 782f79 00 01 07'));
    throwsCode(() => decodeNode(body, []), 'object.malformed');
  });
});

describe('codec: keys out of order', () => {
  test('leaf keys equal', () => throwsCode(() => decodeNode(hex('01 00 02 01 61 03 782f79 00 00 01 61 03 782f79 00 00'), []), 'tree.corrupt'));
  test('leaf keys decreasing', () => throwsCode(() => decodeNode(hex('01 00 02 01 62 03 782f79 00 00 01 61 03 782f79 00 00'), []), 'tree.corrupt'));
  test('internal keys decreasing', () => {
    const body = hex(`01 01 01 02 01 62 ${'cc'.repeat(32)} 01 01 61 ${'cc'.repeat(32)} 01`);
    throwsCode(() => decodeNode(body, [id(1), id(2)]), 'tree.corrupt');
  });
});

describe('codec: bad content types', () => {
  test('control character', () => throwsCode(() => decodeNode(hex('01 00 01 01 61 03 780a79 00 01 07'), []), 'object.malformed'));
  test('non-ASCII byte', () => throwsCode(() => decodeNode(hex('01 00 01 01 61 03 78c379 00 01 07'), []), 'object.malformed'));
  test('empty', () => throwsCode(() => decodeNode(hex('01 00 01 01 61 00 00 01 07'), []), 'object.malformed'));
});

describe('codec: bad values', () => {
  test('unknown value kind', () => throwsCode(() => decodeNode(hex('01 00 01 01 61 03 782f79 02 01 07'), []), 'object.malformed'));
  test('chunked value without chunks', () => throwsCode(() => decodeNode(hex(`01 00 01 01 61 03 782f79 01 05 ${'aa'.repeat(32)} 00`), []), 'tree.corrupt'));
  test('chunk sizes that do not add up', () => throwsCode(() => decodeNode(hex(`01 00 01 01 61 03 782f79 01 05 ${'aa'.repeat(32)} 02 02 02`), [id(1), id(2)]), 'tree.corrupt'));
  test('empty chunk', () => throwsCode(() => decodeNode(hex(`01 00 01 01 61 03 782f79 01 05 ${'aa'.repeat(32)} 02 05 00`), [id(1), id(2)]), 'tree.corrupt'));
});

describe('codec: child id list does not match the body', () => {
  test('internal node with too few ids', () => throwsCode(() => decodeNode(hex(INTERNAL_B), []), 'object.malformed'));
  test('internal node with too many ids', () => throwsCode(() => decodeNode(hex(INTERNAL_B), [id(1), id(2)]), 'object.malformed'));
  test('leaf without chunks but with ids', () => throwsCode(() => decodeNode(hex(LEAF_A), [id(1)]), 'object.malformed'));
  test('id of the wrong length', () => throwsCode(() => decodeNode(hex(INTERNAL_B), [new Uint8Array(31)]), 'object.malformed'));
  test('chunked value with a missing chunk id', () => throwsCode(() => decodeNode(hex(`01 00 01 01 61 03 782f79 01 05 ${'aa'.repeat(32)} 02 02 03`), [id(1)]), 'object.malformed'));
});

describe('codec: impossible internal nodes', () => {
  test('level 0', () => throwsCode(() => decodeNode(hex(`01 01 00 01 01 62 ${'cc'.repeat(32)} 05`), [id(1)]), 'tree.corrupt'));
  test('level above 64', () => throwsCode(() => decodeNode(hex(`01 01 41 01 01 62 ${'cc'.repeat(32)} 05`), [id(1)]), 'tree.corrupt'));
  test('no children', () => throwsCode(() => decodeNode(hex('01 01 01 00'), []), 'tree.corrupt'));
  test('an empty subtree', () => throwsCode(() => decodeNode(hex(`01 01 01 01 01 62 ${'cc'.repeat(32)} 00`), [id(1)]), 'tree.corrupt'));
});

describe('codec: encodeNode refuses nodes decodeNode would refuse', () => {
  test('unsorted leaf', () => {
    const e = (key: string): LeafEntry => ({ key, contentType: 'x/y', value: { kind: 'inline', bytes: new Uint8Array(0) } });
    throwsCode(() => encodeNode({ kind: 'leaf', entries: [e('b'), e('a')] }), 'tree.corrupt');
  });
  test('internal node at level 0 or without children', () => {
    throwsCode(() => encodeNode({ kind: 'internal', level: 0, children: [{ lastKey: 'a', id: id(1), commitment: id(2), count: 1 }] }), 'tree.corrupt');
    throwsCode(() => encodeNode({ kind: 'internal', level: 1, children: [] }), 'tree.corrupt');
  });
  test('chunked value whose sizes do not add up', () => {
    const value: StoredValue = { kind: 'chunked', size: 10, hash: id(1), chunks: [{ id: id(2), size: 3 }] };
    throwsCode(() => encodeNode({ kind: 'leaf', entries: [{ key: 'a', contentType: 'x/y', value }] }), 'tree.corrupt');
  });
  test('bad key', () => {
    const value: StoredValue = { kind: 'inline', bytes: new Uint8Array(0) };
    throwsCode(() => encodeNode({ kind: 'leaf', entries: [{ key: '', contentType: 'x/y', value }] }), 'record.invalid');
  });
});
