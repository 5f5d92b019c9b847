import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LogWriter, MAX_ENTRY_SIZE } from './writer.ts';
import { MemoryLogStore } from '../store/memory-log-store.ts';
import { hashLeaf, rootOfLeafHashes } from '../log/merkle.ts';
import { verifyLog } from '../verify/log.ts';
import { isEmbassyError } from '../errors.ts';
import { entry, testIdentity } from '../../test/support/log-identity.ts';

test('batches of any sizes give the same log as one big append, and verify', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }), async (batches) => {
      const id = testIdentity();
      const a = new MemoryLogStore();
      let w = await LogWriter.create(a, id);
      let n = 0;
      for (const size of batches) {
        w = await LogWriter.open(a, id); // reopen between batches
        await w.append(Array.from({ length: size }, () => entry(n++)));
      }
      const b = new MemoryLogStore();
      await (await LogWriter.create(b, id)).append(Array.from({ length: n }, (_, i) => entry(i)));
      assert.deepEqual(await a.get('checkpoint'), await b.get('checkpoint'));
      const leaves = Array.from({ length: n }, (_, i) => hashLeaf(entry(i)));
      assert.deepEqual(w.checkpoint.root, rootOfLeafHashes(leaves));
      const report = await verifyLog(a, id.verifier);
      assert.deepEqual(report.findings, []);
      assert.equal(report.entriesChecked, BigInt(n));
    }),
    { numRuns: 25 },
  );
});

test('a log past 65,536 entries has level-2 tiles and verifies', async () => {
  const id = testIdentity();
  const store = new MemoryLogStore();
  const w = await LogWriter.create(store, id);
  const n = 65_536 + 300;
  for (let i = 0; i < n; i += 10_000) {
    await w.append(Array.from({ length: Math.min(10_000, n - i) }, (_, j) => entry(i + j)));
  }
  assert.ok(store.objects.has('tile/2/000.p/1'));
  assert.ok(store.objects.has('tile/1/000'));
  assert.ok(store.objects.has('tile/1/001.p/1'));
  assert.ok(store.objects.has('tile/0/257.p/44'));
  const report = await verifyLog(store, id.verifier);
  assert.deepEqual(report.findings, []);
  assert.equal(report.size, BigInt(n));
});

test('an oversized entry is refused and nothing is written', async () => {
  const id = testIdentity();
  const store = new MemoryLogStore();
  const w = await LogWriter.create(store, id);
  const before = new Map(store.objects);
  await assert.rejects(
    w.append([entry(0), new Uint8Array(MAX_ENTRY_SIZE + 1)]),
    (e) => isEmbassyError(e, 'input.too-large'),
  );
  assert.deepEqual(store.objects, before);
  await w.append([new Uint8Array(MAX_ENTRY_SIZE)]); // the largest entry fits
});

test('open refuses a checkpoint signed by another key', async () => {
  const store = new MemoryLogStore();
  await LogWriter.create(store, testIdentity('test.example/log', 1));
  await assert.rejects(LogWriter.open(store, testIdentity('test.example/log', 2)), (e) => isEmbassyError(e));
});

test('open detects a right-edge tile that does not match the checkpoint', async () => {
  const id = testIdentity();
  const store = new MemoryLogStore();
  await (await LogWriter.create(store, id)).append([entry(0), entry(1), entry(2)]);
  const tile = store.objects.get('tile/0/000.p/3')!;
  tile[5]! ^= 1;
  await assert.rejects(LogWriter.open(store, id), (e) => isEmbassyError(e, 'log.corrupt'));
});
