import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { buildTree } from './build.ts';
import { encodeNode } from './codec.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { compareKeys } from './params.ts';
import { getRecord, iterateLeafEntries, scanRange } from './read.ts';
import { collect, record, sortedRecords, testParams } from './testing.ts';
import type { TreeRecord } from './types.ts';

const params = testParams({ leafTarget: 2, fanout: 3 });
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '😀', '\uFFFD'), minLength: 1, maxLength: 5 });
const recordsArb = fc
  .uniqueArray(fc.tuple(keyArb, fc.uint8Array({ maxLength: 8 })), { selector: ([k]) => k, maxLength: 120 })
  .map((rs) => new Map(rs.map(([k, v]): [string, TreeRecord] => [k, { key: k, contentType: 'application/octet-stream', value: v }])));

describe('getRecord and scanRange agree with a sorted map', () => {
  test('getRecord for present and absent keys', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, fc.array(keyArb, { maxLength: 20 }), async (model, probes) => {
        const store = new MemoryTreeStore();
        const root = await buildTree(sortedRecords(model), params, store);
        for (const k of [...model.keys(), ...probes]) assert.deepEqual(await getRecord(root, k, store), model.get(k));
      }),
      { numRuns: 60 },
    );
  });

  test('scanRange with from, to and limit', async () => {
    const opt = fc.option(keyArb, { nil: undefined });
    await fc.assert(
      fc.asyncProperty(recordsArb, opt, opt, fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }), async (model, from, to, limit) => {
        const store = new MemoryTreeStore();
        const root = await buildTree(sortedRecords(model), params, store);
        let want = sortedRecords(model).filter(
          (r) => (from === undefined || compareKeys(r.key, from) >= 0) && (to === undefined || compareKeys(r.key, to) < 0),
        );
        if (limit !== undefined) want = want.slice(0, limit);
        const options = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }), ...(limit === undefined ? {} : { limit }) };
        assert.deepEqual(await collect(scanRange(root, options, store)), want);
      }),
      { numRuns: 150 },
    );
  });

  test('a narrow scan loads only the nodes on its path', async () => {
    const store = new MemoryTreeStore();
    const rs = Array.from({ length: 2000 }, (_, i) => record(`k${String(i).padStart(5, '0')}`, `${i}`));
    const root = await buildTree(rs, params, store);
    store.resetStats();
    const got = await collect(scanRange(root, { from: 'k01000', to: 'k01003' }, store));
    assert.deepEqual(got.map((r) => r.key), ['k01000', 'k01001', 'k01002']);
    assert.ok(store.stats.nodeGets <= 2 * (root.level + 1), `${store.stats.nodeGets} node reads`);
  });

  test('the empty tree', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([], params, store);
    assert.equal(await getRecord(root, 'a', store), undefined);
    assert.deepEqual(await collect(scanRange(root, {}, store)), []);
  });
});

describe('reads: invalid arguments', () => {
  test('invalid key', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([record('a', '1')], params, store);
    await assert.rejects(getRecord(root, '', store), (e: unknown) => isEmbassyError(e, 'record.invalid'));
    await assert.rejects(collect(scanRange(root, { from: '\uD800' }, store)), (e: unknown) => isEmbassyError(e, 'record.invalid'));
  });
});

describe('reads: a store that serves the wrong node', () => {
  test('a leaf where an internal node should be', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree(Array.from({ length: 100 }, (_, i) => record(`k${String(i).padStart(3, '0')}`, 'v')), params, store);
    assert.ok(root.level > 0, 'root.level > 0');
    const { body, children } = encodeNode({ kind: 'leaf', entries: [] });
    store.tamperNode(root.id, body, children);
    await assert.rejects(getRecord(root, 'k001', store), (e: unknown) => isEmbassyError(e, 'tree.corrupt'));
    await assert.rejects(collect(iterateLeafEntries(root, {}, store)), (e: unknown) => isEmbassyError(e, 'tree.corrupt'));
  });

  test('an internal node of the wrong level', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree(Array.from({ length: 100 }, (_, i) => record(`k${String(i).padStart(3, '0')}`, 'v')), params, store);
    const node = await store.getNode(root.id);
    assert.equal(node.kind, 'internal');
    if (node.kind !== 'internal') return;
    const { body, children } = encodeNode({ ...node, level: node.level + 1 });
    store.tamperNode(root.id, body, children);
    await assert.rejects(getRecord(root, 'k001', store), (e: unknown) => isEmbassyError(e, 'tree.corrupt'));
  });
});
