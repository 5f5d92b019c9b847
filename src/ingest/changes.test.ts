import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { readChanges, readChangesInFileOrder, type ReadChangesOptions } from './changes.ts';
import type { SourceChange } from './sort.ts';

const FIXTURES = new URL('../../test/fixtures/ingest/', import.meta.url).pathname;
const fixture = (name: string): string => join(FIXTURES, name);
const key = ['bsn'];

async function collect(it: AsyncIterable<SourceChange>): Promise<{ key: string; line: number; value?: string }[]> {
  const out: { key: string; line: number; value?: string }[] = [];
  for await (const c of it) out.push(c.record ? { key: c.key, line: c.line, value: new TextDecoder().decode(c.record.value) } : { key: c.key, line: c.line });
  return out;
}

async function rejects(file: string, options: Omit<ReadChangesOptions, 'key'>, code: ErrorCode, position: string, more?: RegExp): Promise<void> {
  await assert.rejects(collect(readChanges(file, { key, ...options })), (e: unknown) => {
    assert.ok(isEmbassyError(e), `not an EmbassyError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.startsWith(`${file}${position}`), `message ${JSON.stringify(e.message)} does not start with ${file}${position}`);
    if (more) assert.match(e.message, more);
    return true;
  });
}

function write(t: TestContext, lines: string[]): { file: string; dir: string } {
  const dir = tempDir(t);
  const file = join(dir, 'changes.ndjson');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, dir };
}

describe('readChanges', () => {
  test('upserts and deletes in key order; the record is canonical JSON; no file left', async (t) => {
    const { file, dir } = write(t, [
      '{"op":"upsert","record":{"naam":"Jansen","bsn":"300"}}',
      '',
      '{"key":"100","op":"delete"}',
      '{"op":"upsert","record":{"bsn":200,"naam":"de Vries"}}',
      '{"op":"delete","key":42}',
    ]);
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    assert.deepEqual(await collect(readChanges(file, { key, tmpDir: tmp, memoryBytes: 1 })), [
      { key: '100', line: 3 },
      { key: '200', line: 4, value: '{"bsn":200,"naam":"de Vries"}' },
      { key: '300', line: 1, value: '{"bsn":"300","naam":"Jansen"}' },
      { key: '42', line: 5 },
    ]);
    assert.deepEqual(readdirSync(tmp), []);
  });

  test('file order without sorting', async () => {
    assert.deepEqual(
      (await collect(readChangesInFileOrder(fixture('duplicate.changes.ndjson'), { key }))).map((c) => c.line),
      [1, 2, 3],
    );
  });
});

describe('readChanges: bad op', () => {
  test('an unknown op', () => rejects(fixture('bad-op.changes.ndjson'), {}, 'input.malformed', ':3:', /unknown op "replace"; expected "upsert" or "delete"/));
  const cases: [string, RegExp][] = [
    ['{"record":{"bsn":"1"}}', /missing op/],
    ['{"op":1,"key":"1"}', /op is a number/],
    ['["upsert",{"bsn":"1"}]', /expected a JSON object, got an array/],
    ['{"op":"upsert"}', /upsert without a record/],
    ['{"op":"delete"}', /delete without a key/],
  ];
  for (const [line, re] of cases) {
    test(line, async (t) => {
      const { file } = write(t, ['{"op":"delete","key":"0"}', line]);
      await rejects(file, {}, 'input.malformed', ':2:', re);
    });
  }
});

describe('readChanges: unexpected members', () => {
  test('a record on a delete', () => rejects(fixture('unknown-member.changes.ndjson'), {}, 'input.malformed', ':2:', /unexpected member "record" in a delete/));
  test('a key on an upsert', async (t) => {
    const { file } = write(t, ['{"op":"upsert","key":"1","record":{"bsn":"1"}}']);
    await rejects(file, {}, 'input.malformed', ':1:', /unexpected member "key" in a upsert/);
  });
});

describe('readChanges: bad keys', () => {
  test('an empty delete key', () => rejects(fixture('empty-delete-key.changes.ndjson'), {}, 'record.invalid', ':2:', /delete key is empty/));
  test('a delete key that is not a string', async (t) => {
    const { file } = write(t, ['{"op":"delete","key":null}']);
    await rejects(file, {}, 'record.invalid', ':1:', /delete key must be a string, got null/);
  });
  test('a delete key over 1024 bytes', async (t) => {
    const { file } = write(t, [`{"op":"delete","key":"${'é'.repeat(513)}"}`]);
    await rejects(file, {}, 'record.invalid', ':1:', /1026 bytes, over the limit of 1024/);
  });
  test('an upserted record without its key field', async (t) => {
    const { file } = write(t, ['{"op":"upsert","record":{"naam":"x"}}']);
    await rejects(file, {}, 'record.invalid', ':1:', /missing key field "bsn"/);
  });
  test('an upserted record that is not an object', async (t) => {
    const { file } = write(t, ['{"op":"upsert","record":"x"}']);
    await rejects(file, {}, 'record.invalid', ':1:', /expected a JSON object, got a string/);
  });
});

describe('readChanges: malformed lines', () => {
  test('a syntax error', async (t) => {
    const { file } = write(t, ['{"op":"delete","key":"1"}', '{"op":"delete",']);
    await rejects(file, {}, 'input.malformed', ':2:', /json: /);
  });
  test('invalid UTF-8', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'c.ndjson');
    writeFileSync(file, Buffer.concat([Buffer.from('{"op":"delete","key":"1"}\n{"op":"delete","key":"'), Buffer.from([0xfe]), Buffer.from('"}\n')]));
    await rejects(file, {}, 'input.malformed', ':2:', /invalid UTF-8/);
  });
  test('an upsert over the size limit', async (t) => {
    const { file } = write(t, [`{"op":"upsert","record":{"bsn":"1","x":"${'y'.repeat(150)}"}}`]);
    await rejects(file, { maxRecordBytes: 100 }, 'input.too-large', ':1:', /record 1: canonical JSON is \d+ bytes/);
  });
});

describe('readChanges: two changes for one key', () => {
  test('names both lines, in memory and spilled', async (t) => {
    for (const memoryBytes of [1, 1 << 20]) {
      await rejects(fixture('duplicate.changes.ndjson'), { memoryBytes, tmpDir: tempDir(t) }, 'tree.duplicate-key', ':3:', /two changes for key 4 \(also on line 2\)/);
    }
  });
});
