import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesEqual } from '../format/bytes.ts';
import { buildTree } from './build.ts';
import { diffTrees } from './diff.ts';
import type { TreeDifference } from './diff.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { compareKeys } from './params.ts';
import { collect, record, sortedRecords, syntheticRecord, testParams } from './testing.ts';
import type { TreeRecord } from './types.ts';
import { applyChanges } from './update.ts';

const keyArb = fc.integer({ min: 0, max: 150 }).map((i) => `k${String(i).padStart(3, '0')}`);
const modelArb = fc
  .uniqueArray(fc.tuple(keyArb, fc.constantFrom('a', 'b', 'c')), { selector: ([k]) => k, maxLength: 120 })
  .map((rs) => new Map(rs.map(([k, v]): [string, TreeRecord] => [k, record(k, v, v === 'c' ? 'text/plain' : 'application/json')])));

function naiveDiff(a: Map<string, TreeRecord>, b: Map<string, TreeRecord>): TreeDifference[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort(compareKeys);
  const out: TreeDifference[] = [];
  for (const key of keys) {
    const x = a.get(key);
    const y = b.get(key);
    if (x && y && x.contentType === y.contentType && bytesEqual(x.value, y.value)) continue;
    out.push({ key, ...(x ? { before: x } : {}), ...(y ? { after: y } : {}) });
  }
  return out;
}

describe('diffTrees', () => {
  for (const [name, params] of [
    ['leafTarget 4, fanout 3', testParams()],
    ['leafTarget 1, fanout 2', testParams({ leafTarget: 1, fanout: 2 })],
  ] as const) {
    test(`agrees with a naive diff of two maps, ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(modelArb, modelArb, async (a, b) => {
          const store = new MemoryTreeStore();
          const ra = await buildTree(sortedRecords(a), params, store);
          const rb = await buildTree(sortedRecords(b), params, store);
          assert.deepEqual(await collect(diffTrees(ra, rb, store)), naiveDiff(a, b));
        }),
        { numRuns: 80 },
      );
    });
  }

  test('agrees with a naive diff for versions that share most subtrees', async () => {
    const params = testParams();
    await fc.assert(
      fc.asyncProperty(modelArb, fc.array(fc.tuple(keyArb, fc.option(fc.constantFrom('a', 'x'), { nil: undefined })), { maxLength: 10 }), async (a, cs) => {
        const store = new MemoryTreeStore();
        const ra = await buildTree(sortedRecords(a), params, store);
        const changes = [...new Map(cs.map(([k, v]) => [k, v === undefined ? { key: k } : { key: k, record: record(k, v) }])).values()].sort((x, y) =>
          compareKeys(x.key, y.key),
        );
        const b = new Map(a);
        for (const c of changes) c.record ? b.set(c.key, c.record) : b.delete(c.key);
        const rb = (await applyChanges(ra, changes, params, store)).root;
        assert.deepEqual(await collect(diffTrees(ra, rb, store)), naiveDiff(a, b));
        assert.deepEqual(await collect(diffTrees(rb, ra, store)), naiveDiff(b, a));
      }),
      { numRuns: 80 },
    );
  });

  test('equal trees: nothing, and only the roots compared', async () => {
    const store = new MemoryTreeStore();
    const rs = Array.from({ length: 1000 }, (_, i) => syntheticRecord(i, 30));
    const a = await buildTree(rs, testParams(), store);
    store.resetStats();
    assert.deepEqual(await collect(diffTrees(a, a, store)), []);
    assert.equal(store.stats.nodeGets, 0);
  });

  test('one change in a large tree: equal subtrees are skipped', async () => {
    const params = testParams({ leafTarget: 32, fanout: 32 });
    const store = new MemoryTreeStore();
    const rs = Array.from({ length: 20_000 }, (_, i) => syntheticRecord(i, 30));
    const a = await buildTree(rs, params, store);
    const changed = syntheticRecord(12_345, 30, 1);
    const b = (await applyChanges(a, [{ key: changed.key, record: changed }], params, store)).root;
    store.resetStats();
    const d = await collect(diffTrees(a, b, store));
    assert.deepEqual(d, [{ key: changed.key, before: syntheticRecord(12_345, 30), after: changed }]);
    assert.ok(store.stats.nodeGets <= 2 * (a.level + 1), `${store.stats.nodeGets} node reads`);
  });

  test('from and to the empty tree', async () => {
    const store = new MemoryTreeStore();
    const params = testParams();
    const rs = [record('a', '1'), record('b', '2')];
    const empty = await buildTree([], params, store);
    const full = await buildTree(rs, params, store);
    assert.deepEqual(await collect(diffTrees(empty, full, store)), rs.map((r) => ({ key: r.key, after: r })));
    assert.deepEqual(await collect(diffTrees(full, empty, store)), rs.map((r) => ({ key: r.key, before: r })));
  });
});
