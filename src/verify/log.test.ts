import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyLog } from './log.ts';
import { MemoryLogStore } from '../store/memory-log-store.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { entry, testIdentity } from '../../test/support/log-identity.ts';

async function logOf(n: number): Promise<MemoryLogStore> {
  const store = new MemoryLogStore();
  await (await LogWriter.create(store, testIdentity())).append(Array.from({ length: n }, (_, i) => entry(i)));
  return store;
}

test('every single flipped byte in every stored file is found', async () => {
  const clean = await logOf(600); // 2 full tiles and partials at levels 0 and 1
  let flips = 0;
  for (const [path, bytes] of clean.objects) {
    const step = Math.max(1, Math.floor(bytes.length / 23));
    for (let off = 0; off < bytes.length; off += step) {
      const store = await logOf(600);
      store.objects.get(path)![off]! ^= 0x04;
      const report = await verifyLog(store, testIdentity().verifier);
      assert.ok(report.findings.length > 0, `flip at ${path}:${off} not found`);
      flips++;
    }
  }
  assert.ok(flips > 100);
});

test('all findings are reported, not just the first', async () => {
  const store = await logOf(600);
  store.objects.delete('tile/0/001');
  store.objects.get('tile/1/000.p/2')![0]! ^= 1;
  store.objects.get('tile/entries/000')![100]! ^= 1;
  const report = await verifyLog(store, testIdentity().verifier);
  const paths = new Set(report.findings.map((f) => f.path));
  assert.ok(paths.has('tile/0/001'), 'missing tile');
  assert.ok(paths.has('tile/1/000.p/2'), 'level-1 tile');
  assert.ok(paths.has('tile/0/000'), 'tile that no longer matches the tampered bundle');
  assert.ok(paths.has('checkpoint'), 'root mismatch');
  assert.equal(report.findings.find((f) => f.path === 'tile/0/001')?.code, 'store.not-found');
});

test('a missing checkpoint or a wrong key is a finding, not an exception', async () => {
  const store = await logOf(3);
  const wrongKey = testIdentity('test.example/log', 9).verifier;
  const r1 = await verifyLog(store, wrongKey);
  assert.equal(r1.findings.length, 1);
  store.objects.delete('checkpoint');
  const r2 = await verifyLog(store, testIdentity().verifier);
  assert.deepEqual(r2.findings.map((f) => f.code), ['store.not-found']);
});

test('checkEntry findings name the entry index', async () => {
  const store = await logOf(5);
  const report = await verifyLog(store, testIdentity().verifier, {
    checkEntry: (_e, i) => (i === 3n ? 'not a statement' : undefined),
  });
  assert.equal(report.findings.length, 1);
  assert.match(report.findings[0]!.message, /entry 3: not a statement/);
});
