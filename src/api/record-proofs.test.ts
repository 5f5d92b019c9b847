// The memoized prover gives exactly proveRecord's proofs, on first use and from its memo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { utf8 } from '../format/bytes.ts';
import { buildTree } from '../tree/build.ts';
import { MemoryTreeStore } from '../tree/memory-store.ts';
import { treeParamsFromKey } from '../tree/params.ts';
import { proveRecord, recordProofToJson } from '../tree/proof.ts';
import { proveRecordJson, proveRecordMemoized } from './record-proofs.ts';

test('proofs equal proveRecord for every key, twice (cold and memoized); absent keys have none', async () => {
  const params = treeParamsFromKey(new Uint8Array(randomBytes(32)), { leafTarget: 8, fanout: 4 });
  const store = new MemoryTreeStore();
  const records = Array.from({ length: 700 }, (_, i) => ({ key: `k${String(i * 3).padStart(6, '0')}`, contentType: 'application/json', value: utf8.encode(JSON.stringify({ i })) }));
  const root = await buildTree(records, params, store);
  assert.ok(root.level >= 2, 'a tree of several levels');
  for (let pass = 0; pass < 2; pass++) {
    for (const r of records) {
      const a = await proveRecordMemoized(root, r.key, params, store);
      const b = await proveRecord(root, r.key, params, store);
      assert.deepEqual(recordProofToJson(a!), recordProofToJson(b!));
      const j = await proveRecordJson(root, r.key, params, store);
      assert.deepEqual(JSON.parse(j!.json), recordProofToJson(b!), 'the JSON fast path is the same proof');
    }
  }
  assert.equal(await proveRecordMemoized(root, 'k000001', params, store), undefined);
  assert.equal(await proveRecordMemoized(root, 'zzz', params, store), undefined);
  assert.equal(await proveRecordJson(root, 'k000001', params, store), undefined);
});

test('a node whose hashes do not make the commitment above it gives no proof (tree.corrupt)', async () => {
  const params = treeParamsFromKey(new Uint8Array(randomBytes(32)), { leafTarget: 8, fanout: 4 });
  const store = new MemoryTreeStore();
  const records = Array.from({ length: 200 }, (_, i) => ({ key: `k${String(i).padStart(4, '0')}`, contentType: 'application/json', value: utf8.encode(JSON.stringify({ i })) }));
  const root = await buildTree(records, params, store);
  // A version statement naming another commitment (or a node swapped under it): refused, also once memoized.
  assert.ok(await proveRecordMemoized(root, 'k0007', params, store));
  const wrong = { ...root, commitment: new Uint8Array(32).fill(7) };
  await assert.rejects(proveRecordMemoized(wrong, 'k0007', params, store), (e: unknown) => (e as { code?: string }).code === 'tree.corrupt');
});
