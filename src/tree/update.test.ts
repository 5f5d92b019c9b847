import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { toHex } from '../format/bytes.ts';
import { buildTree } from './build.ts';
import { checkTree } from './check.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { compareKeys } from './params.ts';
import { keyRank } from './record.ts';
import { getRecord } from './read.ts';
import { record, sortedRecords, syntheticRecord, testParams } from './testing.ts';
import type { TreeParams, TreeRecord, TreeRoot } from './types.ts';
import { applyChanges } from './update.ts';
import type { TreeChange } from './update.ts';

const SHAPES: [string, TreeParams][] = [
  ['leafTarget 4, fanout 3', testParams()],
  ['leafTarget 2, fanout 2 (deep trees)', testParams({ leafTarget: 2, fanout: 2 })],
  ['leafTarget 1, fanout 2 (every key ends a leaf)', testParams({ leafTarget: 1, fanout: 2 })],
  ['leafTarget 32, fanout 32 (defaults)', testParams({ leafTarget: 32, fanout: 32 })],
];

type Model = Map<string, TreeRecord>;

function modelOf(rs: TreeRecord[]): Model {
  return new Map(rs.map((r) => [r.key, r]));
}

function applyToModel(model: Model, changes: TreeChange[]): Model {
  const m = new Map(model);
  for (const c of changes) {
    if (c.record) m.set(c.key, c.record);
    else m.delete(c.key);
  }
  return m;
}

function sortChanges(cs: Map<string, TreeChange>): TreeChange[] {
  return [...cs.values()].sort((a, b) => compareKeys(a.key, b.key));
}

/** Applies changes and checks the result against a full rebuild of the resulting record set. */
async function applyAndCompare(
  root: TreeRoot,
  changes: TreeChange[],
  model: Model,
  params: TreeParams,
  store: MemoryTreeStore,
): Promise<{ root: TreeRoot; model: Model }> {
  const next = applyToModel(model, changes);
  const got = await applyChanges(root, changes, params, store);
  const want = await buildTree(sortedRecords(next), params, new MemoryTreeStore());
  assert.equal(toHex(got.root.id), toHex(want.id), 'root id differs from a rebuild');
  assert.deepEqual(got.root, want);
  await checkTree(got.root, params, store);
  // counters
  let upserted = 0;
  let deleted = 0;
  let missing = 0;
  let unchanged = 0;
  for (const c of changes) {
    const old = model.get(c.key);
    if (!c.record) {
      if (old) deleted++;
      else missing++;
    } else if (old && old.contentType === c.record.contentType && toHex(old.value) === toHex(c.record.value)) unchanged++;
    else upserted++;
  }
  assert.deepEqual(
    { upserted: got.upserted, deleted: got.deleted, missingDeletes: got.missingDeletes, unchanged: got.unchanged },
    { upserted, deleted, missingDeletes: missing, unchanged },
  );
  return { root: got.root, model: next };
}

// Keys from a small space so that changes hit existing keys, boundaries and gaps alike.
const keyArb = fc.integer({ min: 0, max: 400 }).map((i) => `k${String(i).padStart(3, '0')}`);
const valueArb = fc.constantFrom('a', 'b', 'c', '{"x":1}').map((s) => s);
const recordsArb = fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => k, maxLength: 250 }).map((rs) => rs.map(([k, v]) => record(k, v)));
const changesArb = fc
  .array(fc.tuple(keyArb, fc.option(valueArb, { nil: undefined })), { maxLength: 60 })
  .map((cs) => sortChanges(new Map(cs.map(([k, v]) => [k, v === undefined ? { key: k } : { key: k, record: record(k, v) }]))));

describe('applyChanges: equals a full rebuild', () => {
  for (const [name, params] of SHAPES) {
    test(`random record sets and change sets, ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(recordsArb, changesArb, async (rs, changes) => {
          const store = new MemoryTreeStore();
          const model = modelOf(rs);
          const v1 = await buildTree(sortedRecords(model), params, store);
          await applyAndCompare(v1, changes, model, params, store);
        }),
        { numRuns: 120 },
      );
    });
  }

  test('a chain of change sets, each applied to the previous result', async () => {
    const params = testParams({ leafTarget: 2, fanout: 2 });
    await fc.assert(
      fc.asyncProperty(recordsArb, fc.array(changesArb, { minLength: 1, maxLength: 6 }), async (rs, sets) => {
        const store = new MemoryTreeStore();
        let model = modelOf(rs);
        let root = await buildTree(sortedRecords(model), params, store);
        for (const changes of sets) ({ root, model } = await applyAndCompare(root, changes, model, params, store));
      }),
      { numRuns: 60 },
    );
  });

  test('many changes relative to the tree (dense change sets, deletes of most keys)', async () => {
    const params = testParams({ leafTarget: 2, fanout: 2 });
    const dense = fc
      .array(fc.tuple(keyArb, fc.option(valueArb, { nil: undefined })), { minLength: 100, maxLength: 400 })
      .map((cs) => sortChanges(new Map(cs.map(([k, v]) => [k, v === undefined ? { key: k } : { key: k, record: record(k, v) }]))));
    await fc.assert(
      fc.asyncProperty(recordsArb, dense, async (rs, changes) => {
        const store = new MemoryTreeStore();
        const model = modelOf(rs);
        await applyAndCompare(await buildTree(sortedRecords(model), params, store), changes, model, params, store);
      }),
      { numRuns: 40 },
    );
  });
});

describe('applyChanges: history independence', () => {
  test('v1, random changes, then the changes reverted: the same id and commitment as v1', async () => {
    const params = testParams({ leafTarget: 2, fanout: 3 });
    await fc.assert(
      fc.asyncProperty(recordsArb, changesArb, async (rs, changes) => {
        const store = new MemoryTreeStore();
        const model = modelOf(rs);
        const v1 = await buildTree(sortedRecords(model), params, store);
        const v2 = await applyChanges(v1, changes, params, store);
        const revert = changes.map((c): TreeChange => {
          const old = model.get(c.key);
          return old ? { key: c.key, record: old } : { key: c.key };
        });
        const v3 = await applyChanges(v2.root, revert, params, store);
        assert.deepEqual(v3.root, v1);
      }),
      { numRuns: 150 },
    );
  });
});

describe('applyChanges: edge cases', () => {
  const params = testParams();
  const base = Array.from({ length: 300 }, (_, i) => record(`k${String(i * 2).padStart(4, '0')}`, `v${i}`));
  const keys = base.map((r) => r.key);
  const first = keys[0]!;
  const last = keys[keys.length - 1]!;

  async function setup(rs: TreeRecord[] = base): Promise<{ store: MemoryTreeStore; root: TreeRoot; model: Model }> {
    const store = new MemoryTreeStore();
    return { store, root: await buildTree(rs, params, store), model: modelOf(rs) };
  }
  const upsert = (k: string, v = 'new'): TreeChange => ({ key: k, record: record(k, v) });
  const del = (k: string): TreeChange => ({ key: k });

  const cases: [string, () => TreeChange[]][] = [
    ['update the very first key', () => [upsert(first)]],
    ['delete the very first key', () => [del(first)]],
    ['update the very last key', () => [upsert(last)]],
    ['delete the very last key', () => [del(last)]],
    ['delete the last two keys', () => [del(keys[keys.length - 2]!), del(last)]],
    ['insert before the first key', () => [upsert('a')]],
    ['insert after the last key', () => [upsert('z1'), upsert('z2'), upsert('z3')]],
    ['insert many after the last key', () => Array.from({ length: 200 }, (_, i) => upsert(`z${String(i).padStart(4, '0')}`))],
    ['delete the first and the last key', () => [del(first), del(last)]],
    ['a change set spanning many leaves', () => keys.filter((_, i) => i % 7 === 3).map((k) => upsert(k))],
    ['every key deleted but one in the middle', () => keys.filter((_, i) => i !== 150).map(del)],
    ['every key deleted but the last', () => keys.slice(0, -1).map(del)],
    ['every key deleted but the first', () => keys.slice(1).map(del)],
    ['a contiguous run of 100 deletes', () => keys.slice(100, 200).map(del)],
    ['interleaved inserts between every key', () => keys.map((k) => upsert(`${k}m`))],
    ['deletes of keys that are not there', () => [del('k0001'), del('k0003'), del('zzz')]],
    ['identical upserts', () => [{ key: keys[10]!, record: base[10]! }, { key: keys[11]!, record: base[11]! }]],
  ];
  for (const [name, changes] of cases) {
    test(name, async () => {
      const { store, root, model } = await setup();
      await applyAndCompare(root, changes(), model, params, store);
    });
  }

  test('deleting everything gives the empty tree', async () => {
    const { store, root, model } = await setup();
    const r = await applyAndCompare(root, keys.map(del), model, params, store);
    assert.equal(r.root.count, 0);
    assert.deepEqual(r.root, await buildTree([], params, new MemoryTreeStore()));
  });

  test('inserting into the empty tree', async () => {
    const { store, root, model } = await setup([]);
    await applyAndCompare(root, base.map((r) => upsert(r.key, 'x')), model, params, store);
  });

  test('deleting a key of high rank merges nodes on several levels; the root level shrinks', async () => {
    const { store, root, model } = await setup();
    // The highest-ranked key other than the last one decides the root level.
    const ranked = keys.slice(0, -1).map((k) => ({ k, r: keyRank(params, k) })).sort((a, b) => b.r - a.r);
    assert.equal(ranked[0]!.r, root.level);
    const toDelete = ranked.filter((x) => x.r === root.level).map((x) => x.k);
    const r = await applyAndCompare(root, toDelete.map(del), model, params, store);
    assert.ok(r.root.level < root.level, 'r.root.level < root.level');
  });

  test('inserting a key of high rank splits nodes on several levels; the root level grows', async () => {
    const { store, root, model } = await setup();
    let candidate: string | undefined;
    for (let i = 0; candidate === undefined; i++) {
      const k = `k0100x${i}`;
      if (keyRank(params, k) > root.level + 1) candidate = k;
    }
    const r = await applyAndCompare(root, [upsert(candidate)], model, params, store);
    assert.ok(r.root.level > root.level, 'r.root.level > root.level');
  });

  test('growing from one record to many and shrinking back', async () => {
    const { store, root, model } = await setup([base[0]!]);
    const grown = await applyAndCompare(root, base.slice(1).map((r) => upsert(r.key, 'g')), model, params, store);
    assert.ok(grown.root.level >= 2, 'grown.root.level >= 2');
    const shrunk = await applyAndCompare(grown.root, keys.slice(1).map(del), grown.model, params, store);
    assert.equal(shrunk.root.level, 0);
  });

  test('no changes: the same root, nothing read or written', async () => {
    const { store, root } = await setup();
    store.resetStats();
    const r = await applyChanges(root, [], params, store);
    assert.deepEqual(r.root, root);
    assert.deepEqual(store.stats, MemoryTreeStore.zeroStats());
  });

  test('changes as an async iterable', async () => {
    const { store, root, model } = await setup();
    async function* changes(): AsyncGenerator<TreeChange> {
      yield upsert(keys[5]!);
      yield del(keys[9]!);
    }
    const r = await applyChanges(root, changes(), params, store);
    const want = await buildTree(sortedRecords(applyToModel(model, [upsert(keys[5]!), del(keys[9]!)])), params, new MemoryTreeStore());
    assert.deepEqual(r.root, want);
  });
});

describe('applyChanges: changes out of order', () => {
  const params = testParams();
  test('unsorted', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([record('a', '1')], params, store);
    await assert.rejects(applyChanges(root, [{ key: 'c' }, { key: 'b' }], params, store), (e: unknown) => {
      assert.equal(isEmbassyError(e) ? e.code : String(e), 'tree.unsorted');
      assert.match((e as Error).message, /change 1 has key "b"/);
      return true;
    });
  });
  test('unsorted in code point order though sorted in UTF-16 order', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([], params, store);
    await assert.rejects(applyChanges(root, [{ key: '😀' }, { key: '\uFFFD' }], params, store), (e: unknown) => isEmbassyError(e, 'tree.unsorted'));
  });
});

describe('applyChanges: duplicate keys', () => {
  test('the same key twice', async () => {
    const params = testParams();
    const store = new MemoryTreeStore();
    const root = await buildTree([record('a', '1')], params, store);
    await assert.rejects(applyChanges(root, [{ key: 'b' }, { key: 'b', record: record('b', '2') }], params, store), (e: unknown) => isEmbassyError(e, 'tree.duplicate-key'));
  });
});

describe('applyChanges: invalid changes', () => {
  const params = testParams();
  for (const [name, change] of [
    ['record of another key', { key: 'a', record: record('b', '1') }],
    ['invalid key', { key: '' }],
    ['invalid record', { key: 'a', record: { key: 'a', contentType: '', value: new Uint8Array(0) } }],
  ] as const) {
    test(name, async () => {
      const store = new MemoryTreeStore();
      const root = await buildTree([record('a', '1')], params, store);
      await assert.rejects(applyChanges(root, [change as TreeChange], params, store), (e: unknown) => isEmbassyError(e, 'record.invalid'));
    });
  }
});

describe('applyChanges: cost follows the changes, not the dataset', () => {
  const params = testParams({ leafTarget: 32, fanout: 32 });
  const n = 100_000;
  let store: MemoryTreeStore;
  let root: TreeRoot;

  test('setup: 10^5 records', async () => {
    store = new MemoryTreeStore();
    function* source(): Generator<TreeRecord> {
      for (let i = 0; i < n; i++) yield syntheticRecord(i, 60);
    }
    root = await buildTree(source(), params, store);
    assert.ok(root.level >= 2, 'root.level >= 2');
  });

  test('changing 1 record writes exactly depth + 1 nodes and reads no more', async () => {
    for (const i of [0, 4242, 77_777, n - 1]) {
      store.resetStats();
      const r = await applyChanges(root, [{ key: syntheticRecord(i).key, record: syntheticRecord(i, 60, 1) }], params, store);
      assert.equal(r.root.level, root.level);
      assert.equal(store.stats.nodePuts, root.level + 1, `record ${i}`);
      assert.ok(store.stats.nodeGets <= root.level + 1, `record ${i}: ${store.stats.nodeGets} reads`);
      assert.deepEqual(await getRecord(r.root, syntheticRecord(i).key, store), syntheticRecord(i, 60, 1));
    }
  });

  test('changing k scattered records writes at most k · (depth + 1) nodes', async () => {
    const k = 50;
    const changes = Array.from({ length: k }, (_, j) => {
      const i = j * 1999 + 7;
      return { key: syntheticRecord(i).key, record: syntheticRecord(i, 60, 2) };
    });
    store.resetStats();
    const r = await applyChanges(root, changes, params, store);
    assert.equal(r.upserted, k);
    assert.ok(store.stats.nodePuts <= k * (root.level + 1), `${store.stats.nodePuts} puts`);
    assert.ok(store.stats.nodeGets <= k * (root.level + 1) + 2 * root.level, `${store.stats.nodeGets} reads`);
  });

  test('deleting and inserting a record stays local too', async () => {
    store.resetStats();
    const key = syntheticRecord(5000).key;
    const r1 = await applyChanges(root, [{ key }], params, store);
    const r2 = await applyChanges(r1.root, [{ key, record: syntheticRecord(5000, 60) }], params, store);
    assert.deepEqual(r2.root, root);
    // a delete can merge two leaves (and their parents): a few nodes per level at most
    assert.ok(store.stats.nodePuts <= 4 * (root.level + 1), `${store.stats.nodePuts} puts`);
  });
});
