import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmbassyError } from '../errors.ts';
import { buildTree } from './build.ts';
import { checkTree } from './check.ts';
import { encodeNode } from './codec.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { syntheticRecord, testParams } from './testing.ts';

const params = testParams();
const records = Array.from({ length: 400 }, (_, i) => syntheticRecord(i, 30));
const corrupt = (e: unknown): boolean => isEmbassyError(e, 'tree.corrupt');

describe('checkTree', () => {
  test('a built tree passes and its shape is reported', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree(records, params, store);
    const shape = await checkTree(root, params, store);
    assert.equal(shape.records, 400);
    assert.equal(shape.nodesPerLevel.length, root.level + 1);
    assert.equal(shape.nodesPerLevel[root.level], 1);
  });
});

describe('checkTree: trees that buildTree would not give', () => {
  test('boundaries of another data key', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree(records, testParams({}, 7), store);
    await assert.rejects(checkTree(root, params, store), corrupt);
  });

  test('a child entry with a wrong record count', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree(records, params, store);
    const node = await store.getNode(root.id);
    if (node.kind !== 'internal') return assert.fail('expected an internal root');
    const children = node.children.map((c, i) => (i === 1 ? { ...c, count: c.count + 1 } : c));
    const enc = encodeNode({ ...node, children });
    store.tamperNode(root.id, enc.body, enc.children);
    await assert.rejects(checkTree(root, params, store), corrupt);
  });

  test('a root whose commitment does not match', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree(records, params, store);
    const commitment = root.commitment.slice();
    commitment[0]! ^= 1;
    await assert.rejects(checkTree({ ...root, commitment }, params, store), corrupt);
  });

  test('a last key that is not the one the child holds', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree(records, params, store);
    const node = await store.getNode(root.id);
    if (node.kind !== 'internal') return assert.fail('expected an internal root');
    const children = node.children.map((c, i) => (i === 0 ? { ...c, lastKey: `${c.lastKey}0` } : c));
    const enc = encodeNode({ ...node, children });
    store.tamperNode(root.id, enc.body, enc.children);
    await assert.rejects(checkTree(root, params, store), corrupt);
  });
});
