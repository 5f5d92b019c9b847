// Fault injection on the pack store over the real filesystem: fail (exception) or kill -9 (real
// child process) at each step of writing packs and of a garbage-collection sweep, then reopen
// from disk and check that every flushed object (and every live object of a sweep) is readable
// and hash-valid, nothing else is corrupt, the store verifies clean, and work continues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isEmbassyError } from '../../src/errors.ts';
import { PackObjectStore, type PackStep } from '../../src/store/pack-store.ts';
import { tempDir } from '../support/tmp.ts';
import { isLiveInPlan, liveIndex, OBJECTS, planObject, TARGET_PACK_SIZE } from './pack-fault-plan.ts';

const WRITE_EVERY = 7;
const WRITE_POINTS: { step: PackStep; occurrence: number }[] = [
  { step: 'pack:temp-written', occurrence: 1 },
  { step: 'pack:temp-written', occurrence: 4 },
  { step: 'pack:renamed', occurrence: 1 },
  { step: 'pack:renamed', occurrence: 5 },
  { step: 'pack:durable', occurrence: 2 },
  { step: 'index:committed', occurrence: 1 },
  { step: 'index:committed', occurrence: 6 },
];
const GC_POINTS: { step: PackStep; occurrence: number }[] = [
  { step: 'pack:temp-written', occurrence: 1 },
  { step: 'pack:renamed', occurrence: 2 },
  { step: 'pack:durable', occurrence: 1 },
  { step: 'gc:packs-durable', occurrence: 1 },
  { step: 'gc:index-committed', occurrence: 1 },
  { step: 'gc:pack-deleted', occurrence: 1 },
  { step: 'gc:pack-deleted', occurrence: 4 },
  { step: 'gc:done', occurrence: 1 },
];

function open(dir: string, fault?: (step: PackStep) => void): Promise<PackObjectStore> {
  return PackObjectStore.open(dir, { targetPackSize: TARGET_PACK_SIZE, ...(fault ? { fault } : {}) });
}

function packCount(dir: string): number {
  return readdirSync(join(dir, 'packs')).reduce((n, sub) => n + readdirSync(join(dir, 'packs', sub)).length, 0);
}

/** Objects 0..n-1 must be there and exact; the others absent or exact (never corrupt). */
async function checkObjects(store: PackObjectStore, mustHave: (i: number) => boolean, label: string): Promise<void> {
  for (let i = 0; i < OBJECTS; i++) {
    const o = planObject(i);
    const got = await store.get(o.id); // re-checks the hash: throws on a corrupt object
    if (mustHave(i)) assert.deepEqual(got, o.bytes, `${label}: object ${i} lost`);
    else if (got !== undefined) assert.deepEqual(got, o.bytes, `${label}: object ${i}`);
  }
  const report = await store.verifyPacks();
  assert.deepEqual(report.findings, [], `${label}: verifyPacks`);
  assert.equal(packCount(store.dir), store.stats().packs, `${label}: pack files = indexed packs`);
}

/** Reopen, check, then finish the work and check again. */
async function reopenAfterWrite(dir: string, flushed: number, label: string): Promise<void> {
  const store = await open(dir);
  try {
    await checkObjects(store, (i) => i < flushed, label);
    for (let i = 0; i < OBJECTS; i++) await store.put(planObject(i).id, planObject(i).bytes);
    await store.flush();
    await checkObjects(store, () => true, `${label}, resumed`);
  } finally {
    await store.close();
  }
}

async function reopenAfterGc(dir: string, label: string): Promise<void> {
  const store = await open(dir);
  try {
    await checkObjects(store, liveIndex, label);
    await store.collectGarbage(isLiveInPlan);
    await checkObjects(store, liveIndex, `${label}, swept again`);
    for (let i = 0; i < OBJECTS; i++) {
      if (!liveIndex(i)) assert.equal(await store.get(planObject(i).id), undefined, `${label}: dead object ${i} survived`);
    }
  } finally {
    await store.close();
  }
}

async function baseStore(dir: string): Promise<void> {
  const store = await open(dir);
  for (let i = 0; i < OBJECTS; i++) await store.put(planObject(i).id, planObject(i).bytes);
  await store.close();
}

function runChild(args: string[]): { signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', new URL('./pack-child.ts', import.meta.url).pathname, ...args], {
    encoding: 'utf8',
  });
  return { signal: child.signal, stdout: child.stdout, stderr: child.stderr };
}

for (const p of WRITE_POINTS) {
  const label = `write: ${p.step} #${p.occurrence}`;

  test(`fail (exception) at ${label}, reopen, check, resume`, async (t) => {
    const dir = join(tempDir(t), 'objects');
    let seen = 0;
    let flushed = 0;
    const store = await open(dir, (step) => {
      if (step === p.step && ++seen === p.occurrence) throw new Error(`injected fault at ${label}`);
    });
    await assert.rejects(
      (async () => {
        for (let i = 0; i < OBJECTS; i++) {
          await store.put(planObject(i).id, planObject(i).bytes);
          if ((i + 1) % WRITE_EVERY === 0) {
            await store.flush();
            flushed = i + 1;
          }
        }
      })(),
      /injected fault/,
    );
    // The store refuses to go on after a failed write: it must be reopened.
    await assert.rejects(store.flush(), (e) => isEmbassyError(e, 'store.io'));
    await assert.rejects(store.put(planObject(0).id, planObject(0).bytes), (e) => isEmbassyError(e, 'store.io'));
    await store.close();
    await reopenAfterWrite(dir, flushed, label);
  });

  test(`kill -9 at ${label}, reopen, check, resume`, async (t) => {
    const dir = join(tempDir(t), 'objects');
    const child = runChild([dir, 'write', p.step, String(p.occurrence), String(OBJECTS), String(WRITE_EVERY)]);
    assert.equal(child.signal, 'SIGKILL', `child was not killed at ${label}: ${child.stderr}`);
    const flushed = Math.max(0, ...[...child.stdout.matchAll(/flushed (\d+)/g)].map((m) => Number(m[1])));
    await reopenAfterWrite(dir, flushed, label);
  });
}

for (const p of GC_POINTS) {
  const label = `gc: ${p.step} #${p.occurrence}`;

  test(`fail (exception) at ${label}, reopen, check, sweep again`, async (t) => {
    const dir = join(tempDir(t), 'objects');
    await baseStore(dir);
    let seen = 0;
    const store = await open(dir, (step) => {
      if (step === p.step && ++seen === p.occurrence) throw new Error(`injected fault at ${label}`);
    });
    await assert.rejects(store.collectGarbage(isLiveInPlan), /injected fault/);
    // Even in the failed process, every live object is still readable.
    for (let i = 0; i < OBJECTS; i++) {
      if (liveIndex(i)) assert.deepEqual(await store.get(planObject(i).id), planObject(i).bytes);
    }
    await store.close();
    await reopenAfterGc(dir, label);
  });

  test(`kill -9 at ${label}, reopen, check, sweep again`, async (t) => {
    const dir = join(tempDir(t), 'objects');
    await baseStore(dir);
    const child = runChild([dir, 'gc', p.step, String(p.occurrence)]);
    assert.equal(child.signal, 'SIGKILL', `child was not killed at ${label}: ${child.stderr}`);
    await reopenAfterGc(dir, label);
  });
}

test('kill -9 after a sweep wrote its packs, then the same sweep again: the rewritten packs get the same names', async (t) => {
  const dir = join(tempDir(t), 'objects');
  await baseStore(dir);
  const child = runChild([dir, 'gc', 'gc:packs-durable', '1']);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const store = await open(dir);
  try {
    // The new packs were durable but not indexed: open indexes them (as duplicates).
    assert.ok(store.recovery.packsIndexed.length > 0);
    const r = await store.collectGarbage(isLiveInPlan);
    assert.ok(r.packsWritten > 0);
    await checkObjects(store, liveIndex, 'same-name sweep');
  } finally {
    await store.close();
  }
});
