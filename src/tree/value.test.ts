import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmbassyError } from '../errors.ts';
import { buildTree } from './build.ts';
import { checkTree } from './check.ts';
import { diffTrees } from './diff.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { getRecord, iterateLeafEntries } from './read.ts';
import { collect, record, testParams, xorshift } from './testing.ts';
import type { TreeRecord } from './types.ts';
import { applyChanges } from './update.ts';

// Small chunks keep the test fast; the rule is the same as with the 64 KiB defaults.
const params = testParams({ chunkThreshold: 4096, chunkMin: 1024, chunkAvg: 4096, chunkMax: 16384 });

function noise(n: number, seed: number): Uint8Array {
  const rnd = xorshift(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

const big = (key: string, value: Uint8Array): TreeRecord => ({ key, contentType: 'application/xml', value });

describe('chunked values', () => {
  test('a value at the threshold stays inline, one byte more is chunked', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([big('a', noise(4096, 1)), big('b', noise(4097, 2))], params, store);
    const entries = await collect(iterateLeafEntries(root, {}, store));
    assert.deepEqual(entries.map((e) => e.value.kind), ['inline', 'chunked']);
    await checkTree(root, params, store, { values: true });
  });

  test('large values round-trip through chunks', async () => {
    const store = new MemoryTreeStore();
    const rs = [record('a', 'small'), big('b', noise(200_000, 3)), big('c', noise(50_000, 4)), record('d', 'small')];
    const root = await buildTree(rs, params, store);
    assert.ok(store.stats.chunkPuts > 20, `${store.stats.chunkPuts} chunks`);
    for (const r of rs) assert.deepEqual(await getRecord(root, r.key, store), r);
  });

  test('a large value changed in a few places shares most chunks with the old one', async () => {
    const store = new MemoryTreeStore();
    const v1 = noise(400_000, 5);
    const root1 = await buildTree([big('law', v1)], params, store);
    const chunks1 = store.stats.chunkPuts;
    const v2 = v1.slice();
    v2[100_000]! ^= 1;
    v2[300_000]! ^= 1;
    store.resetStats();
    const r = await applyChanges(root1, [{ key: 'law', record: big('law', v2) }], params, store);
    assert.ok(store.stats.chunkPuts <= 6, `${store.stats.chunkPuts} new chunks of ${chunks1}`);
    assert.deepEqual(await getRecord(r.root, 'law', store), big('law', v2));
    // and an insertion shifts bytes without changing later chunks
    const v3 = new Uint8Array(v1.length + 10);
    v3.set(v1.subarray(0, 200_000));
    v3.set(v1.subarray(200_000), 200_010);
    store.resetStats();
    await buildTree([big('law', v3)], params, store);
    assert.ok(store.stats.chunkPuts <= 3, `${store.stats.chunkPuts} new chunks after an insertion`);
  });

  test('upserting the identical large value reuses its chunks without re-chunking', async () => {
    const store = new MemoryTreeStore();
    const v = noise(100_000, 6);
    const root = await buildTree([big('x', v)], params, store);
    store.resetStats();
    const r = await applyChanges(root, [{ key: 'x', record: big('x', v.slice()) }], params, store);
    assert.equal(r.unchanged, 1);
    assert.deepEqual(r.root, root);
    assert.equal(store.stats.chunkPuts, 0);
  });

  test('diff reports a changed large value with both versions', async () => {
    const store = new MemoryTreeStore();
    const v1 = noise(30_000, 7);
    const v2 = v1.slice();
    v2[0]! ^= 0xff;
    const a = await buildTree([big('x', v1)], params, store);
    const b = await buildTree([big('x', v2)], params, store);
    assert.deepEqual(await collect(diffTrees(a, b, store)), [{ key: 'x', before: big('x', v1), after: big('x', v2) }]);
  });
});

describe('chunked values: damaged chunks', () => {
  test('a chunk with other bytes of the same size', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([big('x', noise(20_000, 8))], params, store);
    const [e] = await collect(iterateLeafEntries(root, {}, store));
    assert.equal(e!.value.kind, 'chunked');
    if (e!.value.kind !== 'chunked') return;
    const c = e!.value.chunks[1]!;
    store.tamperChunk(c.id, new Uint8Array(c.size));
    await assert.rejects(getRecord(root, 'x', store), (err: unknown) => isEmbassyError(err, 'tree.corrupt'));
  });

  test('a chunk of the wrong size', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([big('x', noise(20_000, 9))], params, store);
    const [e] = await collect(iterateLeafEntries(root, {}, store));
    if (e!.value.kind !== 'chunked') return assert.fail('expected a chunked value');
    store.tamperChunk(e!.value.chunks[0]!.id, new Uint8Array(10));
    await assert.rejects(getRecord(root, 'x', store), (err: unknown) => isEmbassyError(err, 'tree.corrupt'));
  });
});
