// The read-only decrypting tree store and the dataset view: reads through the cache, a byte
// bound on the cache, writes refused, and wipe() leaving nothing that can decrypt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isEmbassyError } from '../errors.ts';
import { ObjectTreeStore } from '../seal/tree-store.ts';
import { buildTree } from '../tree/build.ts';
import { getRecord } from '../tree/read.ts';
import { treeParamsFromKey } from '../tree/params.ts';
import { utf8 } from '../format/bytes.ts';
import { toHex } from '../format/bytes.ts';
import type { ObjectId } from '../tree/types.ts';
import { ReadTreeStore } from './dataset-view.ts';

class MemoryObjects {
  readonly map = new Map<string, Uint8Array>();
  gets = 0;
  async has(ids: readonly ObjectId[]) {
    return ids.map((id) => this.map.has(toHex(id)));
  }
  async get(id: ObjectId) {
    this.gets++;
    return this.map.get(toHex(id));
  }
  async put(id: ObjectId, bytes: Uint8Array) {
    this.map.set(toHex(id), bytes);
  }
  async flush() {}
  async *ids() {}
  async close() {}
}

async function sealedTree(n: number) {
  const dek = new Uint8Array(randomBytes(32));
  const objects = new MemoryObjects();
  const writer = new ObjectTreeStore(objects, dek);
  const params = treeParamsFromKey(dek, { leafTarget: 8, fanout: 8 });
  const records = Array.from({ length: n }, (_, i) => ({ key: `k${String(i).padStart(5, '0')}`, contentType: 'application/json', value: utf8.encode(JSON.stringify({ i })) }));
  const root = await buildTree(records, params, writer);
  await writer.flush();
  writer.wipe();
  return { dek, objects, root, records };
}

test('reads every record through the cache; a small budget bounds it; a second pass hits it', async () => {
  const { dek, objects, root, records } = await sealedTree(500);
  const big = new ReadTreeStore(objects, dek);
  for (const r of records) assert.deepEqual((await getRecord(root, r.key, big))?.value, r.value);
  const after = objects.gets;
  for (const r of records) await getRecord(root, r.key, big);
  assert.equal(objects.gets, after, 'a second pass reads nothing from the store');
  const small = new ReadTreeStore(objects, dek, 8 * 1024);
  for (const r of records) assert.deepEqual((await getRecord(root, r.key, small))?.value, r.value);
  assert.ok(small.stats.bytes <= 8 * 1024 || small.stats.nodes === 1, `cache holds ${small.stats.bytes} bytes`);
  await assert.rejects(small.putNode(), (e) => isEmbassyError(e, 'usage'));
});

test('wipe(): the cache is empty and nothing more can be decrypted', async () => {
  const { dek, objects, root, records } = await sealedTree(50);
  const store = new ReadTreeStore(objects, dek);
  await getRecord(root, records[0]!.key, store);
  store.wipe();
  assert.equal(store.stats.nodes, 0);
  await assert.rejects(getRecord(root, records[1]!.key, store), (e) => isEmbassyError(e, 'activation.inactive'));
});
