import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { buildTree } from './build.ts';
import { INDEX_CONTENT_TYPE, indexEntryKey, indexRecord, lookupIndex, parseIndexEntryKey } from './index-tree.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { compareKeys } from './params.ts';
import { collect, testParams } from './testing.ts';
import { applyChanges } from './update.ts';

const params = testParams();

describe('index entry keys', () => {
  test('values joined by U+001F, then U+0000, then the primary key', () => {
    assert.equal(indexEntryKey(['Jansen', '1970-01-01'], 'bsn/123'), 'Jansen\u001f1970-01-01\u0000bsn/123');
    assert.deepEqual(parseIndexEntryKey('Jansen\u001f1970-01-01\u0000bsn/123'), { values: ['Jansen', '1970-01-01'], primaryKey: 'bsn/123' });
    const r = indexRecord(['x'], 'p');
    assert.deepEqual(r, { key: 'x\u0000p', contentType: INDEX_CONTENT_TYPE, value: new Uint8Array(0) });
    assert.equal(INDEX_CONTENT_TYPE, 'application/x-embassy-index');
  });

  test('a primary key may contain the separators', () => {
    const k = indexEntryKey(['v'], 'a\u0000b\u001fc');
    assert.deepEqual(parseIndexEntryKey(k), { values: ['v'], primaryKey: 'a\u0000b\u001fc' });
  });
});

describe('index entry keys: invalid values', () => {
  for (const [name, values, pk] of [
    ['value with U+0000', ['a\u0000'], 'p'],
    ['value with U+001F', ['a\u001fb'], 'p'],
    ['no values', [], 'p'],
    ['empty primary key', ['a'], ''],
    ['too long together', ['x'.repeat(1000)], 'y'.repeat(100)],
  ] as const) {
    test(name, () => assert.throws(() => indexEntryKey([...values], pk), (e: unknown) => isEmbassyError(e, 'record.invalid')));
  }
});

describe('lookupIndex', () => {
  test('finds exactly the primary keys of a value tuple, against a naive filter', async () => {
    const word = fc.constantFrom('a', 'ab', 'b', 'a b', 'é', '😀', '');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.tuple(word, word), fc.constantFrom('p1', 'p2', 'p3', 'q')), { selector: ([v, p]) => `${v.join('|')}#${p}`, maxLength: 60 }),
        fc.tuple(word, word),
        async (entries, probe) => {
          const store = new MemoryTreeStore();
          const records = entries.map(([v, p]) => indexRecord(v, p)).sort((a, b) => compareKeys(a.key, b.key));
          const root = await buildTree(records, params, store);
          const want = entries
            .filter(([v]) => v[0] === probe[0] && v[1] === probe[1])
            .map(([, p]) => p)
            .sort(compareKeys);
          assert.deepEqual(await collect(lookupIndex(root, probe, store)), want);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a value that is a prefix of another does not match it', async () => {
    const store = new MemoryTreeStore();
    const records = [indexRecord(['Jan'], 'p1'), indexRecord(['Jan'], 'p2'), indexRecord(['Jansen'], 'p3'), indexRecord(['Jan', 'x'], 'p4')].sort((a, b) =>
      compareKeys(a.key, b.key),
    );
    const root = await buildTree(records, params, store);
    assert.deepEqual(await collect(lookupIndex(root, ['Jan'], store)), ['p1', 'p2']);
    assert.deepEqual(await collect(lookupIndex(root, ['Jan'], store, 1)), ['p1']);
    assert.deepEqual(await collect(lookupIndex(root, ['Jan', 'x'], store)), ['p4']);
    assert.deepEqual(await collect(lookupIndex(root, ['Ja'], store)), []);
  });

  test('index trees are updated with applyChanges like any tree', async () => {
    const store = new MemoryTreeStore();
    const root = await buildTree([indexRecord(['a'], 'p1'), indexRecord(['b'], 'p2')], params, store);
    const r = await applyChanges(root, [{ key: indexEntryKey(['a'], 'p1') }, { key: indexEntryKey(['a'], 'p3'), record: indexRecord(['a'], 'p3') }], params, store);
    assert.deepEqual(await collect(lookupIndex(r.root, ['a'], store)), ['p3']);
  });
});
