import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { embassy } from '../../test/support/cli.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { openDataset, tmpDirOf } from '../cli/open-dataset.ts';
import { Site } from '../site/site.ts';
import { sealSnapshot, type SealResult } from './ingest.ts';
import { ObjectTreeStore } from './tree-store.ts';

const DS = 'nl.test.personen';

function person(i: number): Record<string, unknown> {
  return {
    bsn: String(100_000_000 + i * 7),
    naam: { geslachtsnaam: `Jansen${i % 97}`, voornamen: `Piet ${i}` },
    postcode: `${1000 + (i % 900)}AB`,
    huisnummer: (i % 150) + 1,
    // Some values over the chunk threshold, stored as chunk objects.
    notities: i % 1000 === 3 ? 'lang verhaal '.repeat(9000 + i) : 'x'.repeat(i % 40),
  };
}

/** Every file under dir, as relative path → bytes (hex), to compare two stores byte for byte. */
function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p).toString('hex'));
    }
  };
  walk(dir);
  return out;
}

async function seal(dir: string, file: string, workers: boolean): Promise<{ result: SealResult; workerObjects: number }> {
  const site = await Site.open(dir);
  const ds = await openDataset(site, DS);
  const tmpDir = tmpDirOf(site);
  mkdirSync(tmpDir, { recursive: true });
  let workerObjects = 0;
  const stop = ds.store.stopSealWorker.bind(ds.store);
  ds.store.stopSealWorker = async () => (workerObjects += await stop());
  try {
    const session = { dataset: ds.dataset, dekNumber: ds.dekNumber, params: ds.params, objects: ds.objects, store: ds.store, tmpDir, memoryBytes: 1 << 20 };
    const result = await sealSnapshot(session, file, { sourceTime: '2026-11-28T06:00:00Z', workers });
    return { result, workerObjects };
  } finally {
    await ds.close();
  }
}

test('sealing with a seal worker gives the same version, objects and packs as without', async (t) => {
  const tmp = tempDir(t);
  const template = join(tmp, 'template');
  assert.equal(embassy(['init', '--dir', template, '--name', 'den-haag', '--role', 'home', '--json']).status, 0);
  const add = embassy(['dataset', 'add', '--dir', template, '--id', DS, '--key', 'bsn', '--index', 'postcode,huisnummer', '--json']);
  assert.equal(add.status, 0, add.stderr);
  const file = join(tmp, 'v1.ndjson');
  // Shuffled, so that the (small) sort memory spills runs; some lines not canonical.
  const rows = Array.from({ length: 6000 }, (_, i) => person((i * 4099) % 6000));
  writeFileSync(file, rows.map((r, i) => (i % 10 === 0 ? JSON.stringify(r, null, 1).replaceAll('\n', '') : JSON.stringify(r))).join('\n'));

  const outcomes = [];
  for (const [name, workers] of [['without', false], ['with', true], ['with, again', true]] as const) {
    const dir = join(tmp, name);
    cpSync(template, dir, { recursive: true });
    const { result, workerObjects } = await seal(dir, file, workers);
    if (workers) assert.ok(workerObjects > 10, `the worker sealed ${workerObjects} objects`);
    else assert.equal(workerObjects, 0);
    outcomes.push({ result, objects: filesOf(join(dir, 'objects')) });
  }
  const [a, b, c] = outcomes;
  assert.equal(a!.result.statement.records, 6000);
  assert.ok(a!.result.stats.newObjects > 100);
  for (const o of [b!, c!]) {
    assert.deepEqual(o.result, a!.result);
    assert.deepEqual([...o.objects.keys()], [...a!.objects.keys()]);
    assert.ok([...o.objects].every(([path, bytes]) => a!.objects.get(path) === bytes), 'pack files differ');
  }
});

test('a store whose seal worker cannot help seals the leaves itself', async (t) => {
  // Not started, or stopped: prepareLeaf does nothing and putNode seals as before.
  const tmp = tempDir(t);
  const dir = join(tmp, 'home');
  assert.equal(embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home', '--json']).status, 0);
  assert.equal(embassy(['dataset', 'add', '--dir', dir, '--id', DS, '--key', 'bsn', '--json']).status, 0);
  const site = await Site.open(dir);
  const ds = await openDataset(site, DS);
  try {
    assert.ok(ds.store instanceof ObjectTreeStore);
    ds.store.startSealWorker();
    assert.equal(typeof (await ds.store.stopSealWorker()), 'number');
    const entries = [{ key: 'a', contentType: 'application/json', value: { kind: 'inline' as const, bytes: new Uint8Array([0x7b, 0x7d]) } }];
    ds.store.prepareLeaf(entries);
    const id = await ds.store.putNode({ kind: 'leaf', entries });
    await ds.store.flush();
    assert.deepEqual(await ds.store.getNode(id), { kind: 'leaf', entries });
  } finally {
    await ds.close();
  }
});
