// Cache warming: a view loads the nodes of its newest version (records, then indexes) into its
// decrypted-node cache, breadth first, until the budget is full, and stops once wiped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Site } from '../site/site.ts';
import type { PackObjectStore } from '../store/pack-store.ts';
import type { WipeableDatasetView } from './dataset-view.ts';
import { openHomeAccess } from './home-access.ts';
import { PERSONS, makeHome } from './testing.ts';

const tmp = mkdtempSync(join(tmpdir(), 'embassy-warm-'));
let site: Site;
let objects: PackObjectStore;

before(async () => {
  makeHome(tmp, 600);
  site = await Site.open(join(tmp, 'home'));
  objects = await site.openObjectsReader();
});

after(async () => {
  await objects.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('warm() fills the cache with the newest version, within the budget, and stops when wiped', async () => {
  const big = await openHomeAccess(site, objects);
  try {
    const view = big.dataset(PERSONS) as WipeableDatasetView;
    const all = await view.warm();
    assert.ok(all.nodes > 10, `warmed ${all.nodes} nodes`);
    assert.ok(all.bytes > 0);
  } finally {
    big.close();
  }
  const small = await openHomeAccess(site, objects, { nodeCacheBytes: 4096 });
  try {
    const view = small.dataset(PERSONS) as WipeableDatasetView;
    const some = await view.warm();
    assert.ok(some.nodes >= 1 && some.nodes < 10, `a 4 KiB budget stops early (${some.nodes} nodes)`);
    view.wipe();
    assert.deepEqual(await view.warm(), { nodes: 0, bytes: 0 }, 'a wiped view loads nothing');
  } finally {
    small.close();
  }
});
