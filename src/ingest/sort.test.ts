import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { compareKeys } from '../tree/params.ts';
import { JSON_CONTENT_TYPE } from '../tree/types.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { sortChanges, sortRecords, type SourceChange } from './sort.ts';
import type { SourceRecord } from './record.ts';
import { readSource } from './source.ts';

function rec(key: string, line: number, value: string | Uint8Array = `{"k":${JSON.stringify(key)}}`, contentType = JSON_CONTENT_TYPE): SourceRecord {
  return { key, line, record: { key, contentType, value: typeof value === 'string' ? Buffer.from(value) : value } };
}

async function* from<T>(items: T[], failAfter?: number): AsyncGenerator<T> {
  let n = 0;
  for (const x of items) {
    if (failAfter !== undefined && n++ === failAfter) throw new EmbassyError('input.malformed', 'source: broken on purpose');
    yield x;
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Every file below dir, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

function entriesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

function inMemory(rs: SourceRecord[]): SourceRecord[] {
  return [...rs].sort((a, b) => compareKeys(a.key, b.key));
}

function plain(rs: SourceRecord[]): unknown[] {
  return rs.map((r) => ({ key: r.key, line: r.line, rkey: r.record.key, ct: r.record.contentType, value: Buffer.from(r.record.value).toString('hex') }));
}

// Keys that tell UTF-8 order from UTF-16 order: BMP characters above the surrogates, astral ones.
const keyChar = fc.constantFrom('a', 'b', 'z', '0', '/', 'é', '\u00ff', '\ud7ff', '\ue000', '\uffff', '\ud800\udc00', '\udbff\udfff', '😀');
const sortKey = fc.array(keyChar, { minLength: 1, maxLength: 5 }).map((cs) => cs.join(''));
const records = fc
  .uniqueArray(fc.tuple(sortKey, fc.uint8Array({ maxLength: 300 }), fc.constantFrom(JSON_CONTENT_TYPE, 'application/xml', 'text/plain; charset=utf-8')), {
    selector: ([k]) => k,
    maxLength: 120,
  })
  .map((items) => items.map(([k, v, ct], i) => rec(k, i + 1, v, ct)));

describe('sortRecords', () => {
  test('equals an in-memory sort by compareKeys, spilling or not', async (t) => {
    const tmp = tempDir(t);
    await fc.assert(
      fc.asyncProperty(records, fc.constantFrom(1, 200, 2000, 1 << 30), async (rs, memoryBytes) => {
        const got = await collect(sortRecords(from(rs), { tmpDir: tmp, file: 'x.ndjson', memoryBytes }));
        assert.deepEqual(plain(got), plain(inMemory(rs)));
        assert.deepEqual(entriesUnder(tmp), []);
      }),
      { numRuns: 150 },
    );
  });

  test('orders by code point, not by UTF-16 code unit', async (t) => {
    const keys = ['\uffff', '😀', '\ue000', 'z'];
    const got = await collect(sortRecords(from(keys.map((k, i) => rec(k, i))), { tmpDir: tempDir(t), file: 'x.ndjson' }));
    assert.deepEqual(
      got.map((r) => r.key),
      ['z', '\ue000', '\uffff', '😀'],
    );
  });

  test('many runs, merged in several passes, with records larger than a run block', async (t) => {
    const tmp = tempDir(t);
    const rs = Array.from({ length: 3000 }, (_, i) => rec(`k${(i * 7919) % 3000}`, i + 1, i % 500 === 0 ? Buffer.alloc(10_000, i & 0xff) : `{"i":${i}}`));
    const got = await collect(sortRecords(from(rs), { tmpDir: tmp, file: 'x.ndjson', memoryBytes: 20_000 }));
    assert.deepEqual(plain(got), plain(inMemory(rs)));
    assert.deepEqual(entriesUnder(tmp), []);
  });

  test('if everything fits in memory, nothing is written', async (t) => {
    const tmp = tempDir(t);
    const it = sortRecords(from([rec('b', 1), rec('a', 2)]), { tmpDir: tmp, file: 'x.ndjson' });
    assert.equal((await it.next()).value?.key, 'a');
    assert.deepEqual(entriesUnder(tmp), []);
    await it.return(undefined);
  });
});

describe('sortRecords: duplicate keys', () => {
  const cases: [string, number][] = [
    ['in memory', 1 << 20],
    ['spilled', 100],
  ];
  for (const [name, memoryBytes] of cases) {
    test(`${name}: 'tree.duplicate-key' naming the key and both lines; no file left`, async (t) => {
      const tmp = tempDir(t);
      const rs = [rec('7', 1), rec('3', 2), rec('5', 3), rec('1', 4), ...Array.from({ length: 40 }, (_, i) => rec(`x${i}`, 5 + i)), rec('3', 45)];
      await assert.rejects(collect(sortRecords(from(rs), { tmpDir: tmp, file: 'persons.ndjson', memoryBytes })), (e: unknown) => {
        assert.ok(isEmbassyError(e, 'tree.duplicate-key'));
        assert.equal(e.message, 'persons.ndjson:45: duplicate key 3 (also on line 2)');
        return true;
      });
      assert.deepEqual(entriesUnder(tmp), []);
    });
  }

  test('any duplicate is found, with its two lines', async (t) => {
    const tmp = tempDir(t);
    await fc.assert(
      fc.asyncProperty(fc.array(sortKey, { minLength: 2, maxLength: 60 }), fc.constantFrom(50, 1 << 20), async (keys, memoryBytes) => {
        fc.pre(new Set(keys).size < keys.length);
        const rs = keys.map((k, i) => rec(k, i + 1));
        // The first duplicate in key order, and its first two lines.
        const dup = [...new Set(keys)].filter((k) => keys.indexOf(k) !== keys.lastIndexOf(k)).sort(compareKeys)[0]!;
        const lines = rs.filter((r) => r.key === dup).map((r) => r.line);
        await assert.rejects(collect(sortRecords(from(rs), { tmpDir: tmp, file: 'f.ndjson', memoryBytes })), (e: unknown) => {
          assert.ok(isEmbassyError(e, 'tree.duplicate-key'));
          assert.ok(e.message.startsWith(`f.ndjson:${lines[1]}: duplicate key `), e.message);
          assert.ok(e.message.endsWith(`(also on line ${lines[0]})`), e.message);
          return true;
        });
        assert.deepEqual(entriesUnder(tmp), []);
      }),
      { numRuns: 100 },
    );
  });

  test('a source file end to end: readSource then sortRecords', async (t) => {
    const file = new URL('../../test/fixtures/ingest/duplicate-key.ndjson', import.meta.url).pathname;
    for (const memoryBytes of [1, 1 << 20]) {
      const tmp = tempDir(t);
      await assert.rejects(collect(sortRecords(readSource(file, { key: ['bsn'] }), { tmpDir: tmp, file, memoryBytes })), (e: unknown) => {
        assert.ok(isEmbassyError(e, 'tree.duplicate-key'));
        assert.equal(e.message, `${file}:5: duplicate key 3 (also on line 2)`);
        return true;
      });
      assert.deepEqual(entriesUnder(tmp), []);
    }
  });

  test('elements of a JSON array are named as elements', async (t) => {
    await assert.rejects(collect(sortRecords(from([rec('a', 0), rec('a', 3)]), { tmpDir: tempDir(t), file: 'p.json' })), (e: unknown) => {
      assert.ok(isEmbassyError(e, 'tree.duplicate-key'));
      assert.equal(e.message, 'p.json: element 3: duplicate key a (also on element 0)');
      return true;
    });
  });
});

describe('sortRecords: keys that are not UTF-8', () => {
  test('a key with a lone surrogate is refused, spilling or not', async (t) => {
    for (const memoryBytes of [1, 1 << 20]) {
      await assert.rejects(collect(sortRecords(from([rec('a', 1), rec('b\ud800', 2)]), { tmpDir: tempDir(t), file: 'f.ndjson', memoryBytes })), (e: unknown) => {
        assert.ok(isEmbassyError(e, 'record.invalid'));
        assert.ok(e.message.startsWith('f.ndjson:2: '), e.message);
        return true;
      });
    }
  });
});

describe('sortRecords: run files', () => {
  const MARKER = 'Jansen-4f9a1c';
  const many = (): SourceRecord[] =>
    Array.from({ length: 500 }, (_, i) => rec(`${MARKER}-${String(i).padStart(4, '0')}`, i + 1, `{"naam":"${MARKER}","i":${i}}`));

  test('hold no plaintext while the sort is suspended mid-way', async (t) => {
    const tmp = tempDir(t);
    const it = sortRecords(from(many()), { tmpDir: tmp, file: 'x.ndjson', memoryBytes: 4000 });
    const first = await it.next();
    assert.equal(first.value?.key, `${MARKER}-0000`);
    const files = filesUnder(tmp);
    assert.ok(files.length > 0, 'expected spilled runs');
    for (const f of files) {
      const bytes = readFileSync(f);
      assert.equal(bytes.indexOf(MARKER), -1, `${f} holds a record in the clear`);
      assert.equal(bytes.indexOf('naam'), -1, `${f} holds a record in the clear`);
      assert.equal(statSync(f).mode & 0o077, 0, `${f} is readable by others`);
    }
    await it.return(undefined);
    assert.deepEqual(entriesUnder(tmp), []);
  });

  test('are removed when the consumer stops early (break)', async (t) => {
    const tmp = tempDir(t);
    let n = 0;
    for await (const r of sortRecords(from(many()), { tmpDir: tmp, file: 'x.ndjson', memoryBytes: 4000 })) {
      assert.ok(r.key);
      if (++n === 10) {
        assert.ok(filesUnder(tmp).length > 0);
        break;
      }
    }
    assert.deepEqual(entriesUnder(tmp), []);
  });

  test('are removed when the source fails after spilling', async (t) => {
    const tmp = tempDir(t);
    await assert.rejects(collect(sortRecords(from(many(), 400), { tmpDir: tmp, file: 'x.ndjson', memoryBytes: 4000 })), (e: unknown) =>
      isEmbassyError(e, 'input.malformed'),
    );
    assert.deepEqual(entriesUnder(tmp), []);
  });

  test('are removed after success', async (t) => {
    const tmp = tempDir(t);
    assert.equal((await collect(sortRecords(from(many()), { tmpDir: tmp, file: 'x.ndjson', memoryBytes: 4000 }))).length, 500);
    assert.deepEqual(entriesUnder(tmp), []);
  });

  test('a run altered on disk mid-sort fails authentication', async (t) => {
    const tmp = tempDir(t);
    // Values of 3 KB: one per 5000-byte block, so each run has blocks not yet read.
    const big = many().map((r) => rec(r.key, r.line, Buffer.alloc(3000, 0x61)));
    const it = sortRecords(from(big), { tmpDir: tmp, file: 'x.ndjson', memoryBytes: 40_000 });
    await it.next();
    for (const f of filesUnder(tmp)) {
      const d = readFileSync(f);
      d[d.length - 1]! ^= 1; // the tag of each run's last block, not yet read
      writeFileSync(f, d);
    }
    await assert.rejects(collect(it), (e: unknown) => isEmbassyError(e, 'crypto.auth-failed'));
    assert.deepEqual(entriesUnder(tmp), []);
  });

  test('a temporary directory that does not exist is a store.io error', async (t) => {
    const tmp = join(tempDir(t), 'missing');
    await assert.rejects(collect(sortRecords(from(many()), { tmpDir: tmp, file: 'x.ndjson', memoryBytes: 4000 })), (e: unknown) =>
      isEmbassyError(e, 'store.io'),
    );
  });
});

describe('sortChanges', () => {
  test('upserts and deletes in key order, spilling or not', async (t) => {
    const tmp = tempDir(t);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(sortKey, { maxLength: 80 }), fc.constantFrom(100, 1 << 20), async (keys, memoryBytes) => {
        const changes: SourceChange[] = keys.map((k, i) => (i % 3 === 0 ? { key: k, line: i + 1 } : { key: k, line: i + 1, record: rec(k, i + 1).record }));
        const got = await collect(sortChanges(from(changes), { tmpDir: tmp, file: 'c.ndjson', memoryBytes }));
        const want = [...changes].sort((a, b) => compareKeys(a.key, b.key));
        assert.deepEqual(
          got.map((c) => ({ ...c, record: c.record && { ...c.record, value: Buffer.from(c.record.value) } })),
          want.map((c) => ({ ...c, record: c.record && { ...c.record, value: Buffer.from(c.record.value) } })),
        );
        assert.deepEqual(entriesUnder(tmp), []);
      }),
      { numRuns: 60 },
    );
  });

  test('two changes for one key name both lines', async (t) => {
    const changes: SourceChange[] = [{ key: 'a', line: 1 }, { key: 'b', line: 2, record: rec('b', 2).record }, { key: 'a', line: 3, record: rec('a', 3).record }];
    await assert.rejects(collect(sortChanges(from(changes), { tmpDir: tempDir(t), file: 'c.ndjson', memoryBytes: 10 })), (e: unknown) => {
      assert.ok(isEmbassyError(e, 'tree.duplicate-key'));
      assert.equal(e.message, 'c.ndjson:3: two changes for key a (also on line 1)');
      return true;
    });
  });
});

describe('sortRecords: a source that can be read again', () => {
  // Sorted, sorted but for one late record, sorted with a duplicate key, or shuffled.
  const shapes = fc.constantFrom('sorted', 'late', 'duplicate', 'shuffled');
  const input = fc.tuple(records, shapes, fc.nat()).map(([rs, shape, seed]) => {
    let items = inMemory(rs);
    if (shape === 'late' && items.length > 2) items = [...items.slice(1, -1), items[0]!, items[items.length - 1]!];
    if (shape === 'duplicate' && items.length > 2) items = [...items.slice(0, 2), { ...items[1]! }, ...items.slice(2)];
    if (shape === 'shuffled') items = items.map((r, i) => ({ r, o: (i * 7919 + seed) % 1009 })).sort((a, b) => a.o - b.o).map((x) => x.r);
    return items.map((r, i) => ({ ...r, line: i + 1 }));
  });

  test('gives the records and errors it gives without, and reads the source again only when it dropped some', async (t) => {
    const tmp = tempDir(t);
    await fc.assert(
      fc.asyncProperty(input, fc.constantFrom(1, 200, 2000, 1 << 30), async (rs, memoryBytes) => {
        const outcome = async (replay: boolean): Promise<{ records: unknown[]; error?: string; replays: number; spilled: boolean }> => {
          let replays = 0;
          let spilled = false;
          const out: SourceRecord[] = [];
          const options = { tmpDir: tmp, file: 'x.ndjson', memoryBytes, ...(replay ? { replay: () => (replays++, from(rs)) } : {}) };
          try {
            for await (const r of sortRecords(from(rs), options)) {
              spilled ||= entriesUnder(tmp).length > 0;
              out.push(r);
            }
          } catch (e) {
            return { records: plain(out), error: isEmbassyError(e) ? `${e.code} ${e.message}` : String(e), replays, spilled };
          }
          return { records: plain(out), replays, spilled };
        };
        const without = await outcome(false);
        const withReplay = await outcome(true);
        assert.deepEqual({ ...withReplay, replays: 0, spilled: false }, { ...without, replays: 0, spilled: false });
        assert.ok(withReplay.replays <= 1);
        const inOrder = rs.every((r, i) => i === 0 || compareKeys(rs[i - 1]!.key, r.key) <= 0);
        // In order, nothing is spilled; a dropped start is read again once.
        if (inOrder) assert.equal(withReplay.spilled, false);
        if (memoryBytes === 1 << 30) assert.equal(withReplay.replays, 0);
        assert.deepEqual(entriesUnder(tmp), []);
      }),
      { numRuns: 300 },
    );
  });

  test('a second reading that differs from the first is refused', async (t) => {
    const rs = Array.from({ length: 50 }, (_, i) => rec(`k${String(i).padStart(3, '0')}`, i + 1));
    for (const other of [rs.slice(0, 10), rs.map((r, i) => (i === 5 ? rs[7]! : r))]) {
      const sorted = sortRecords(from(rs), { tmpDir: tempDir(t), file: 'x.ndjson', memoryBytes: 2000, replay: () => from(other) });
      await assert.rejects(collect(sorted), (e: unknown) => {
        assert.ok(isEmbassyError(e, 'input.malformed'));
        assert.equal(e.message, 'x.ndjson: changed while it was being read');
        return true;
      });
    }
  });
});
