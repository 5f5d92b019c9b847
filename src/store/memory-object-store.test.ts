import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryObjectStore } from './memory-object-store.ts';
import { describeObjectStoreConformance, testObject } from './object-store.conformance.ts';

// A "reopen" of the same directory gets the same map: state survives close, as on disk.
const byDir = new Map<string, Map<string, Uint8Array>>();
describeObjectStoreConformance('MemoryObjectStore', async (dir) => {
  let objects = byDir.get(dir);
  if (objects === undefined) byDir.set(dir, (objects = new Map()));
  return new MemoryObjectStore(objects);
});

test('MemoryObjectStore.collectGarbage removes exactly the dead objects', async () => {
  const s = new MemoryObjectStore();
  const objs = Array.from({ length: 10 }, (_, i) => testObject(i));
  for (const o of objs) await s.put(o.id, o.bytes);
  const live = new Set(objs.filter((_, i) => i % 3 !== 0).map((o) => o.id.join()));
  const r = await s.collectGarbage((id) => live.has(id.join()));
  assert.equal(r.objectsRemoved, 4);
  assert.deepEqual(await s.has(objs.map((o) => o.id)), objs.map((_, i) => i % 3 !== 0));
});
