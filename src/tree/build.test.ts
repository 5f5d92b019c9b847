import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { commitNode } from './record.ts';
import { buildTree } from './build.ts';
import { checkTree } from './check.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { compareKeys, treeParamsFromKey } from './params.ts';
import { getRecord } from './read.ts';
import { record, syntheticRecord, testParams, xorshift } from './testing.ts';
import type { TreeParams, TreeRecord } from './types.ts';

const params = testParams();

const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '/', 'é', '😀', '\uFFFD'), minLength: 1, maxLength: 8 });
const recordsArb = fc
  .uniqueArray(fc.tuple(keyArb, fc.uint8Array({ maxLength: 20 })), { selector: ([k]) => k, maxLength: 150 })
  .map((rs) => rs.map(([k, v]): TreeRecord => ({ key: k, contentType: 'application/octet-stream', value: v })));

function shuffle<T>(xs: T[], seed: number): T[] {
  const out = xs.slice();
  const rnd = xorshift(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const sorted = (rs: TreeRecord[]): TreeRecord[] => rs.slice().sort((a, b) => compareKeys(a.key, b.key));

describe('buildTree: shape', () => {
  test('no records: the root is an empty leaf with commitment SHA-256("")', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([], params, store);
    assert.deepEqual(root.commitment, commitNode([]));
    assert.equal(root.count, 0);
    assert.equal(root.level, 0);
    assert.deepEqual(await store.getNode(root.id), { kind: 'leaf', entries: [] });
  });

  test('one record: the root is a leaf', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([record('k', '1')], params, store);
    assert.equal(root.level, 0);
    assert.equal(root.count, 1);
    await checkTree(root, params, store);
  });

  test('every built tree satisfies the boundary rule, counts and commitments (checkTree)', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, fc.constantFrom(testParams(), testParams({ leafTarget: 2, fanout: 2 }), testParams({ leafTarget: 1, fanout: 2 })), async (rs, p) => {
        const store = new MemoryTreeStore();
        const root = await buildTree(sorted(rs), p, store);
        const shape = await checkTree(root, p, store);
        assert.equal(shape.records, rs.length);
        assert.equal(root.count, rs.length);
      }),
      { numRuns: 150 },
    );
  });

  test('no node is written that the final tree does not reference', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, async (rs) => {
        const store = new MemoryTreeStore();
        const root = await buildTree(sorted(rs), params, store);
        const shape = await checkTree(root, params, store);
        assert.equal(store.stats.nodePuts, shape.nodesPerLevel.reduce((a, b) => a + b, 0));
      }),
      { numRuns: 100 },
    );
  });
});

describe('buildTree: golden commitments (docs/format-tree.md; a change here is a new format version)', () => {
  const dek = new Uint8Array(32).map((_, i) => i);
  const records = Array.from({ length: 1000 }, (_, i) => syntheticRecord(i, 50));
  const cases: [string, Partial<TreeParams>, number, string][] = [
    ['default shape', {}, 2, 'c351bcbb26470d238800525606d0c9d73723eab50f09546ac28eae38819cb68e'],
    ['leafTarget 4, fanout 3', { leafTarget: 4, fanout: 3 }, 6, '20c54bfa0a6b66a50710879aa387ce0fbe8a5e6a870dea9a91789137867c6b15'],
  ];
  for (const [name, overrides, level, commitment] of cases) {
    test(name, async () => {
      const root = await buildTree(records, treeParamsFromKey(dek, overrides), new MemoryTreeStore());
      assert.deepEqual([root.level, root.count, toHex(root.commitment)], [level, 1000, commitment]);
    });
  }
});

describe('buildTree: history independence', () => {
  test('any arrival order, sorted in memory, gives the same root id and commitment', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, fc.integer(), async (rs, seed) => {
        const a = await buildTree(sorted(rs), params, new MemoryTreeStore());
        const b = await buildTree(sorted(shuffle(rs, seed)), params, new MemoryTreeStore());
        assert.equal(toHex(a.id), toHex(b.id));
        assert.deepEqual(a, b);
      }),
      { numRuns: 100 },
    );
  });

  test('different data keys give different trees for the same records', async () => {
    const rs = Array.from({ length: 200 }, (_, i) => syntheticRecord(i, 50));
    const a = await buildTree(rs, testParams({}, 1), new MemoryTreeStore());
    const b = await buildTree(rs, testParams({}, 2), new MemoryTreeStore());
    assert.notDeepEqual(a.commitment, b.commitment);
  });
});

describe('buildTree: input out of order', () => {
  test('unsorted input names the key and its position', async () => {
    const rs = [record('a', '1'), record('c', '2'), record('b', '3')];
    await assert.rejects(buildTree(rs, params, new MemoryTreeStore()), (e: unknown) => {
      assert.equal(isEmbassyError(e) ? e.code : String(e), 'tree.unsorted');
      assert.match((e as Error).message, /record 2 has key "b"/);
      return true;
    });
  });

  test('UTF-16 order is not UTF-8 order: U+FFFD before an emoji is sorted, the reverse is not', async () => {
    await buildTree([record('\uFFFD', '1'), record('😀', '2')], params, new MemoryTreeStore());
    await assert.rejects(buildTree([record('😀', '1'), record('\uFFFD', '2')], params, new MemoryTreeStore()), (e: unknown) => isEmbassyError(e, 'tree.unsorted'));
  });
});

describe('buildTree: duplicate keys', () => {
  test('names the key and its position', async () => {
    await assert.rejects(buildTree([record('a', '1'), record('b', '2'), record('b', '3')], params, new MemoryTreeStore()), (e: unknown) => {
      assert.equal(isEmbassyError(e) ? e.code : String(e), 'tree.duplicate-key');
      assert.match((e as Error).message, /record 2 repeats key "b"/);
      return true;
    });
  });
});

describe('buildTree: invalid records', () => {
  const cases: [string, unknown][] = [
    ['empty key', { key: '', contentType: 'x/y', value: new Uint8Array(0) }],
    ['lone surrogate in key', { key: '\uD800', contentType: 'x/y', value: new Uint8Array(0) }],
    ['key over 1024 bytes', { key: 'k'.repeat(1025), contentType: 'x/y', value: new Uint8Array(0) }],
    ['bad content type', { key: 'k', contentType: 'x/\n', value: new Uint8Array(0) }],
    ['value not bytes', { key: 'k', contentType: 'x/y', value: 'text' }],
    ['not an object', null],
  ];
  for (const [name, r] of cases) {
    test(name, async () => {
      await assert.rejects(buildTree([r as TreeRecord], params, new MemoryTreeStore()), (e: unknown) => isEmbassyError(e, 'record.invalid'));
    });
  }
});

describe('buildTree: streaming', () => {
  test('writes nodes while the input is still arriving (memory is bounded by the open nodes)', async () => {
    const store = new MemoryTreeStore();
    let putsSeenMidway = 0;
    async function* source(): AsyncGenerator<TreeRecord> {
      for (let i = 0; i < 5000; i++) {
        if (i === 4000) putsSeenMidway = store.stats.nodePuts;
        yield syntheticRecord(i, 40);
      }
    }
    const root = await buildTree(source(), params, store);
    assert.equal(root.count, 5000);
    // With leafTarget 4 about 1000 leaves are complete by record 4000.
    assert.ok(putsSeenMidway > 500, `only ${putsSeenMidway} nodes written by record 4000`);
  });

  test('a record buffer reused by the caller after it was handed over does not change the tree', async () => {
    const buf = utf8.encode('aaaa');
    const store = new MemoryTreeStore();
    function* source(): Generator<TreeRecord> {
      for (const k of ['a', 'b', 'c']) {
        yield { key: k, contentType: 'x/y', value: buf };
        buf.fill(0x7a);
      }
    }
    const root = await buildTree(source(), params, store);
    await checkTree(root, params, store);
    assert.deepEqual((await getRecord(root, 'a', store))!.value, utf8.encode('aaaa'));
  });
});

describe('buildTree: 10^5 records in memory', () => {
  test('builds, and every record reads back', async () => {
    const store = new MemoryTreeStore();
    const p = testParams({ leafTarget: 32, fanout: 32 });
    const n = 100_000;
    function* source(): Generator<TreeRecord> {
      for (let i = 0; i < n; i++) yield syntheticRecord(i, 100);
    }
    const root = await buildTree(source(), p, store);
    assert.equal(root.count, n);
    assert.ok(root.level >= 2 && root.level <= 5, `level ${root.level}`);
    for (const i of [0, 1, 31_337, n - 1]) assert.deepEqual(await getRecord(root, syntheticRecord(i, 100).key, store), syntheticRecord(i, 100));
    assert.equal(await getRecord(root, 'nl.example/zzz', store), undefined);
  });
});
