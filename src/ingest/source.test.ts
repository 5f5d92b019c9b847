import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import fc from 'fast-check';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { canonicalJson, canonicalJsonBytes, parseJsonStrict } from '../format/canonical-json.ts';
import { JSON_CONTENT_TYPE } from '../tree/types.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { NdjsonReading, readSource, sourceFormatOf, type ReadSourceOptions } from './source.ts';
import { compileKeySpec } from './key.ts';
import { isBlankLine, readLines, stripBom } from './lines.ts';
import { DEFAULT_MAX_RECORD_BYTES, makeSourceRecord, positionError, RAW_TO_CANONICAL_SLACK, type SourceRecord } from './record.ts';

const FIXTURES = new URL('../../test/fixtures/ingest/', import.meta.url).pathname;
const fixture = (name: string): string => join(FIXTURES, name);
const text = new TextDecoder();

async function collect(file: string, options: ReadSourceOptions): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of readSource(file, options)) out.push(r);
  return out;
}

/** Reads the whole file and expects an error with this code whose message names the position. */
async function rejects(file: string, options: ReadSourceOptions, code: ErrorCode, position: string, more?: RegExp): Promise<void> {
  await assert.rejects(collect(file, options), (e: unknown) => {
    assert.ok(isEmbassyError(e), `not an EmbassyError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.startsWith(`${file}${position}`), `message ${JSON.stringify(e.message)} does not start with ${file}${position}`);
    if (more) assert.match(e.message, more);
    return true;
  });
}

const key = ['bsn'];

describe('readSource: malformed JSON line', () => {
  test('NDJSON syntax error names file and line', () => rejects(fixture('malformed.ndjson'), { key }, 'input.malformed', ':3:', /json: /));
  test('duplicate member names are refused (NDJSON)', () =>
    rejects(fixture('duplicate-member.ndjson'), { key }, 'input.malformed', ':1:', /duplicate property name/));
  test('duplicate member names are refused (JSON array)', () =>
    rejects(fixture('duplicate-member.json'), { key }, 'input.malformed', ': element 1:', /duplicate property name "x"/));
  test('a line that is not an object', () => rejects(fixture('not-object.ndjson'), { key }, 'record.invalid', ':2:', /expected a JSON object, got an array/));
  test('a lone surrogate escape', async (t) => {
    const f = join(tempDir(t), 'lone.ndjson');
    writeFileSync(f, '{"bsn":"1"}\n{"bsn":"2","x":"\\ud800"}\n');
    await rejects(f, { key }, 'input.malformed', ':2:', /lone surrogate/);
  });
  test('a number out of range', async (t) => {
    const f = join(tempDir(t), 'big.ndjson');
    writeFileSync(f, '{"bsn":"1","x":1e999}\n');
    await rejects(f, { key }, 'input.malformed', ':1:', /out of range/);
  });
});

describe('readSource: missing key', () => {
  test('NDJSON', () => rejects(fixture('missing-key.ndjson'), { key }, 'record.invalid', ':3:', /missing key field "bsn"/));
  test('JSON array', () => rejects(fixture('missing-key.json'), { key }, 'record.invalid', ': element 2:', /missing key field "bsn"/));
  test('CSV without the key column', () =>
    rejects(fixture('missing-key-column.csv'), { key }, 'record.invalid', ':1:', /missing key field "bsn": no such column/));
  test('a dotted path that ends early', async (t) => {
    const f = join(tempDir(t), 'nested.ndjson');
    writeFileSync(f, '{"a":{"b":{"c":"1"}}}\n{"a":{"b":"x"}}\n');
    await rejects(f, { key: ['a.b.c'] }, 'record.invalid', ':2:', /missing key field "a.b.c"/);
  });
  test('the second part of a composite key', async (t) => {
    const f = join(tempDir(t), 'composite.ndjson');
    writeFileSync(f, '{"p":"2511BT","n":1}\n{"p":"2511BT"}\n');
    await rejects(f, { key: ['p', 'n'] }, 'record.invalid', ':2:', /missing key field "n"/);
  });
});

describe('readSource: null key', () => {
  test('NDJSON', () => rejects(fixture('null-key.ndjson'), { key }, 'record.invalid', ':2:', /key field "bsn" is null/));
});

describe('readSource: empty key', () => {
  test('NDJSON', () => rejects(fixture('empty-key.ndjson'), { key }, 'record.invalid', ':4:', /key field "bsn" is empty/));
  test('CSV', () => rejects(fixture('empty-key.csv'), { key }, 'record.invalid', ':3:', /key field "bsn" is empty/));
});

describe('readSource: unusable key values', () => {
  const cases: [string, RegExp][] = [
    ['{"bsn":true}', /must be a string or an integer, got a boolean/],
    ['{"bsn":1.5}', /got a non-integer number/],
    ['{"bsn":{"x":1}}', /got an object/],
    ['{"bsn":["1"]}', /got an array/],
    ['{"bsn":12345678901234567890}', /beyond 2\^53/],
    [`{"bsn":"${'x'.repeat(1025)}"}`, /over the limit of 1024/],
  ];
  for (const [line, re] of cases) {
    test(line.slice(0, 40), async (t) => {
      const f = join(tempDir(t), 'k.ndjson');
      writeFileSync(f, `{"bsn":"0"}\n${line}\n`);
      await rejects(f, { key }, 'record.invalid', ':2:', re);
    });
  }
  test("'/' inside one part of a composite key", async (t) => {
    const f = join(tempDir(t), 'slash.ndjson');
    writeFileSync(f, '{"a":"x/y","b":"z"}\n');
    await rejects(f, { key: ['a', 'b'] }, 'record.invalid', ':1:', /contains '\/'/);
  });
});

describe('readSource: invalid UTF-8', () => {
  test('NDJSON', () => rejects(fixture('invalid-utf8.ndjson'), { key }, 'input.malformed', ':2:', /invalid UTF-8 at byte 24 of the line/));
  test('CSV (the bad byte is on line 5, after a two-line row)', () =>
    rejects(fixture('invalid-utf8.csv'), { key }, 'input.malformed', ':5:', /invalid UTF-8/));
  test('JSON array', async (t) => {
    const f = join(tempDir(t), 'bad.json');
    writeFileSync(f, Buffer.concat([Buffer.from('[{"bsn":"1"},\n{"bsn":"2","x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]')]));
    await rejects(f, { key }, 'input.malformed', ': element 1:', /invalid UTF-8 on line 2/);
  });
  test('a file that ends inside a character', async (t) => {
    const f = join(tempDir(t), 'cut.csv');
    writeFileSync(f, Buffer.concat([Buffer.from('bsn\n1\n2'), Buffer.from([0xc3])]));
    await rejects(f, { key }, 'input.malformed', ':3:', /ends inside a character/);
  });
  test('invalid UTF-8 in a line that spans read chunks', async (t) => {
    const f = join(tempDir(t), 'long.ndjson');
    const long = Buffer.concat([Buffer.from(`{"bsn":"2","x":"${'a'.repeat(1_500_000)}`), Buffer.from([0xff]), Buffer.from('"}\n')]);
    writeFileSync(f, Buffer.concat([Buffer.from('{"bsn":"1"}\n'), long]));
    await rejects(f, { key }, 'input.malformed', ':2:', /invalid UTF-8 at byte 1500017 of the line/);
  });
});

describe('readSource: record over the size limit', () => {
  test('canonical JSON over maxRecordBytes', () =>
    rejects(fixture('too-large.ndjson'), { key, maxRecordBytes: 200 }, 'input.too-large', ':2:', /record 2: canonical JSON is 3\d\d bytes, over the limit of 200/));
  test('a line far over the limit is refused before it is parsed', async (t) => {
    const f = join(tempDir(t), 'huge.ndjson');
    writeFileSync(f, `{"bsn":"1"}\n{"bsn":"2","x":"${'a'.repeat(3 << 20)}"}\n`);
    await rejects(f, { key, maxRecordBytes: 1 << 18 }, 'input.too-large', ':2:', /line is longer than/);
  });
  test('CSV row', async (t) => {
    const f = join(tempDir(t), 'big.csv');
    writeFileSync(f, `bsn,x\n1,a\n2,${'b'.repeat(5000)}\n`);
    await rejects(f, { key, maxRecordBytes: 1000 }, 'input.too-large', ':3:');
  });
  test('JSON element', async (t) => {
    const f = join(tempDir(t), 'big.json');
    writeFileSync(f, `[{"bsn":"1"},{"bsn":"2","x":"${'b'.repeat(5000)}"}]`);
    await rejects(f, { key, maxRecordBytes: 1000 }, 'input.too-large', ': element 1:');
  });
});

describe('readSource: CSV with a ragged row', () => {
  test('names the line and both field counts', () =>
    rejects(fixture('ragged.csv'), { key }, 'input.malformed', ':3:', /row has 2 fields, the header has 3/));
  test('an unclosed quote', async (t) => {
    const f = join(tempDir(t), 'quote.csv');
    writeFileSync(f, 'bsn,x\n1,"abc\n');
    await rejects(f, { key }, 'input.malformed', ':', /csv: quote not closed/);
  });
  test('duplicate column names', async (t) => {
    const f = join(tempDir(t), 'dup.csv');
    writeFileSync(f, 'bsn,x,x\n1,2,3\n');
    await rejects(f, { key }, 'input.malformed', ':1:', /duplicate column name "x"/);
  });
});

describe('readSource: JSON that is not an array', () => {
  test('an object at the top level', () => rejects(fixture('not-array.json'), { key }, 'input.malformed', ': top level:', /expected a JSON array, got an object/));
  test('a scalar at the top level', async (t) => {
    const f = join(tempDir(t), 'scalar.json');
    writeFileSync(f, '"x"');
    await rejects(f, { key }, 'input.malformed', ': top level:', /expected a JSON array/);
  });
  test('an empty file', async (t) => {
    const f = join(tempDir(t), 'empty.json');
    writeFileSync(f, '');
    await rejects(f, { key }, 'input.malformed', ': top level:');
  });
  test('a truncated array', () => rejects(fixture('truncated.json'), { key }, 'input.malformed', ': element 2:', /json: unexpected end of input/));
  test('content after the array', async (t) => {
    const f = join(tempDir(t), 'after.json');
    writeFileSync(f, '[{"bsn":"1"}] x');
    await rejects(f, { key }, 'input.malformed', ': after the array:');
  });
  test('an element that is not an object', async (t) => {
    const f = join(tempDir(t), 'scalars.json');
    writeFileSync(f, '[{"bsn":"1"}, 2]');
    await rejects(f, { key }, 'record.invalid', ': element 1:', /expected a JSON object, got a number/);
  });
});

describe('readSource: files and formats', () => {
  test('a missing file', () => rejects(join(FIXTURES, 'no-such-file.ndjson'), { key }, 'input.malformed', ':', /cannot be read \(ENOENT\)/));
  test('format from the extension', () => {
    assert.equal(sourceFormatOf('a.ndjson'), 'ndjson');
    assert.equal(sourceFormatOf('a.JSONL'), 'ndjson');
    assert.equal(sourceFormatOf('a.csv'), 'csv');
    assert.equal(sourceFormatOf('a.json'), 'json');
    assert.equal(sourceFormatOf('a.txt', 'csv'), 'csv');
    assert.throws(() => sourceFormatOf('a.txt'), (e: unknown) => isEmbassyError(e, 'usage'));
  });
  test('an empty key spec is a usage error', () =>
    assert.rejects(collect(fixture('malformed.ndjson'), { key: [] }), (e: unknown) => isEmbassyError(e, 'usage')));
});

// ---- round trips -------------------------------------------------------------------------------

const field = fc.string({ unit: 'grapheme', maxLength: 12 });
const jsonRecord = fc.record({
  bsn: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), fc.integer()),
  naam: field,
  extra: fc.jsonValue({ maxDepth: 3 }),
});

function expected(objects: Record<string, unknown>[]): { key: string; value: string }[] {
  return objects.map((o) => ({ key: String(o.bsn), value: canonicalJson(o) }));
}

function simplify(rs: SourceRecord[]): { key: string; value: string }[] {
  for (const r of rs) {
    assert.equal(r.record.key, r.key);
    assert.equal(r.record.contentType, JSON_CONTENT_TYPE);
  }
  return rs.map((r) => ({ key: r.key, value: text.decode(r.record.value) }));
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s;
}

describe('readSource: round trips', () => {
  test('NDJSON: values are the canonical JSON of each line, lines numbered, blank lines skipped', async (t) => {
    const dir = tempDir(t);
    await fc.assert(
      fc.asyncProperty(fc.array(jsonRecord, { maxLength: 30 }), fc.boolean(), async (objects, crlf) => {
        const f = join(dir, 'r.ndjson');
        // A blank line after every third record.
        const lines = objects.flatMap((o, i) => [JSON.stringify(o) + (crlf ? '\r' : ''), ...(i % 3 === 2 ? [''] : [])]);
        writeFileSync(f, lines.join('\n'));
        const got = await collect(f, { key });
        assert.deepEqual(simplify(got), expected(objects));
        const wantLines = lines.flatMap((l, i) => (l === '' ? [] : [i + 1]));
        assert.deepEqual(
          got.map((r) => r.line),
          wantLines,
        );
      }),
      { numRuns: 40 },
    );
  });

  test('CSV: every value a string, multi-line fields, BOM', async (t) => {
    const dir = tempDir(t);
    const row = fc.record({ bsn: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), naam: field, 'adres.plaats': field });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 30 }), async (rows) => {
        const f = join(dir, 'r.csv');
        const body = rows.map((r) => [r.bsn, r.naam, r['adres.plaats']].map(csvField).join(',')).join('\n');
        writeFileSync(f, `\ufeffbsn,naam,adres.plaats\n${body}\n`);
        const got = await collect(f, { key });
        assert.deepEqual(simplify(got), expected(rows));
      }),
      { numRuns: 40 },
    );
  });

  test('JSON array: element indices as positions', async (t) => {
    const dir = tempDir(t);
    await fc.assert(
      fc.asyncProperty(fc.array(jsonRecord, { maxLength: 30 }), async (objects) => {
        const f = join(dir, 'r.json');
        writeFileSync(f, JSON.stringify(objects, null, 1));
        const got = await collect(f, { key });
        assert.deepEqual(simplify(got), expected(objects));
        assert.deepEqual(
          got.map((r) => r.line),
          objects.map((_, i) => i),
        );
      }),
      { numRuns: 40 },
    );
  });

  test('the three formats give the same records', async (t) => {
    const dir = tempDir(t);
    const rows = [
      { bsn: '999999990', naam: 'Jansen', plaats: "'s-Gravenhage" },
      { bsn: '100000009', naam: 'Ürün "q"', plaats: 'Zürich, CH' },
    ];
    writeFileSync(join(dir, 'a.ndjson'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(dir, 'a.json'), JSON.stringify(rows));
    writeFileSync(join(dir, 'a.csv'), 'naam,plaats,bsn\nJansen,\'s-Gravenhage,999999990\n"Ürün ""q""","Zürich, CH",100000009\n');
    const a = simplify(await collect(join(dir, 'a.ndjson'), { key }));
    assert.deepEqual(simplify(await collect(join(dir, 'a.json'), { key })), a);
    assert.deepEqual(simplify(await collect(join(dir, 'a.csv'), { key })), a);
  });

  test('dotted and composite keys; integers as decimal strings', async (t) => {
    const f = join(tempDir(t), 'bag.ndjson');
    writeFileSync(
      f,
      [
        { id: 7, adres: { postcode: '2511BT', huisnummer: 12 } },
        { id: -0, adres: { postcode: '1011AB', huisnummer: 1, huisletter: 'a/b' } },
      ]
        .map((o) => JSON.stringify(o))
        .join('\n'),
    );
    const composite = await collect(f, { key: ['adres.postcode', 'adres.huisnummer'] });
    assert.deepEqual(
      composite.map((r) => r.key),
      ['2511BT/12', '1011AB/1'],
    );
    const byId = await collect(f, { key: ['id'] });
    assert.deepEqual(
      byId.map((r) => r.key),
      ['7', '0'],
    );
  });

  test('records larger than a read chunk and a last line without newline', async (t) => {
    const f = join(tempDir(t), 'big.ndjson');
    const objects = [0, 1, 2, 3].map((i) => ({ bsn: String(i), x: 'é'.repeat(300_000 + i * 200_000) }));
    writeFileSync(f, objects.map((o) => JSON.stringify(o)).join('\n'));
    const got = await collect(f, { key });
    assert.equal(got.length, 4);
    for (const [i, r] of got.entries()) assert.deepEqual(r.record.value, canonicalJsonBytes(objects[i]));
  });

  test('the consumer may stop early', async () => {
    for await (const r of readSource(fixture('duplicate-key.ndjson'), { key })) {
      assert.equal(r.key, '7');
      break;
    }
  });
});

/**
 * NDJSON the way readSource read it before the canonical fast path: decode every line of a chunk,
 * parse it strictly, canonicalise. The fast path must give the same records and the same errors.
 */
async function* strictNdjson(file: string, keyPaths: string[], maxRecordBytes = DEFAULT_MAX_RECORD_BYTES): AsyncGenerator<SourceRecord> {
  const spec = compileKeySpec(keyPaths);
  for await (const lines of readLines(file, { maxLineBytes: maxRecordBytes * RAW_TO_CANONICAL_SLACK })) {
    const batch: SourceRecord[] = [];
    for (const { text, line } of lines) {
      if (isBlankLine(text)) continue;
      let value: unknown;
      try {
        value = parseJsonStrict(stripBom(text, line));
      } catch (e) {
        throw positionError('input.malformed', file, 'line', line, (e as Error).message, e);
      }
      batch.push(makeSourceRecord(value, spec, { file, unit: 'line', line }, maxRecordBytes));
    }
    yield* batch;
  }
}

/** Records (key, line, value) until the end or an error, and the error's code and message. */
async function outcome(records: AsyncIterable<SourceRecord>): Promise<{ records: string[]; error?: string }> {
  const out: string[] = [];
  try {
    for await (const r of records) out.push(`${r.key} ${r.line} ${r.record.contentType} ${Buffer.from(r.record.value).toString('hex')}`);
  } catch (e) {
    return { records: out, error: isEmbassyError(e) ? `${e.code} ${e.message}` : `not coded: ${String(e)}` };
  }
  return { records: out };
}

describe('readSource: NDJSON lines that are canonical already', () => {
  // Lines of every kind the fast path has to tell apart: canonical records, the same records
  // written otherwise, blank lines, broken JSON, invalid UTF-8, records without a usable key.
  const canonicalLine = jsonRecord.map((o) => Buffer.from(canonicalJson(o), 'utf8'));
  const text = (s: string): Buffer => Buffer.from(s, 'utf8');
  const lineOf = fc.oneof(
    { weight: 6, arbitrary: canonicalLine },
    { weight: 1, arbitrary: jsonRecord.map((o) => text(JSON.stringify(o, null, 1).replaceAll('\n', ' '))) },
    { weight: 1, arbitrary: canonicalLine.map((l) => Buffer.concat([l, text('\r')])) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', ' ', '\t\r', '{"bsn":"1",}', '{"bsn":"1"', '[1]', '{"x":1}', '{"bsn":null}', '{"bsn":"1","bsn":"2"}', '{"bsn":"-0","n":-0}', '{"bsn":"\\ud800"}', '\ufeff{"bsn":"1"}')
        .map(text),
    },
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), Buffer.from([0xed, 0xa0, 0x80])) },
  );
  const file = fc.array(lineOf, { maxLength: 40 }).map((lines) => Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [text('\n'), l]))));

  test('gives exactly the records and errors of the strict path', async (t) => {
    const dir = tempDir(t);
    await fc.assert(
      fc.asyncProperty(file, fc.boolean(), async (body, newlineAtEnd) => {
        const f = join(dir, 'r.ndjson');
        writeFileSync(f, newlineAtEnd ? Buffer.concat([body, text('\n')]) : body);
        assert.deepEqual(await outcome(readSource(f, { key })), await outcome(strictNdjson(f, key)));
      }),
      { numRuns: 300 },
    );
  });

  test('across read chunks, with an error late in a chunk after a line the fast path cannot take', async (t) => {
    const dir = tempDir(t);
    const line = (i: number): string => canonicalJson({ bsn: String(100000 + i), pad: 'x'.repeat(300 + (i % 97)) });
    const lines = Array.from({ length: 9000 }, (_, i) => line(i));
    const cases: [string, string[]][] = [
      ['all canonical', lines],
      ['some written otherwise', lines.map((l, i) => (i % 50 === 7 ? ` ${l}` : l))],
      ['a syntax error, then invalid UTF-8 in the same chunk', lines.map((l, i) => (i === 4000 ? '{"bsn":' : i === 4100 ? '{"bsn":"\xff"}' : l))],
      ['a missing key, then a line too long for the smaller limit', lines.map((l, i) => (i === 5000 ? '{"x":1}' : i === 5001 ? `{"bsn":"${'y'.repeat(3000)}"}` : l))],
      ['a duplicate member name', lines.map((l, i) => (i === 8999 ? '{"bsn":"1","bsn":"1"}' : l))],
    ];
    for (const [name, ls] of cases) {
      const f = join(dir, 'big.ndjson');
      writeFileSync(f, Buffer.from(ls.join('\n'), 'latin1'));
      assert.deepEqual(await outcome(readSource(f, { key })), await outcome(strictNdjson(f, key)), name);
      const small = { key, maxRecordBytes: 700 };
      assert.deepEqual(await outcome(readSource(f, small)), await outcome(strictNdjson(f, key, 700)), `${name}, small limit`);
    }
  });
});

describe('readSource: reading an NDJSON file a second time (NdjsonReading)', () => {
  const lineOf = fc.oneof(
    { weight: 8, arbitrary: jsonRecord.map((o) => canonicalJson(o)) },
    { weight: 1, arbitrary: jsonRecord.map((o) => JSON.stringify(o, null, 1).replaceAll('\n', ' ')) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '{"bsn":"1","x":1.0}') },
  );

  test('gives the records of the first reading, whole or cut short', async (t) => {
    const dir = tempDir(t);
    await fc.assert(
      fc.asyncProperty(fc.array(lineOf, { maxLength: 1200 }), fc.option(fc.nat({ max: 1300 })), async (lines, stopAt) => {
        const f = join(dir, 'r.ndjson');
        writeFileSync(f, lines.join('\n'));
        const reading = new NdjsonReading();
        // A first reading that ends, or that a consumer leaves after some records.
        const first = (await outcome(cut(readSource(f, { key, reading }), stopAt ?? undefined))).records;
        assert.deepEqual(await outcome(readSource(f, { key, reading })), await outcome(strictNdjson(f, key)));
        assert.deepEqual(first, (await outcome(strictNdjson(f, key))).records.slice(0, first.length));
      }),
      { numRuns: 60 },
    );
  });

  test('a file changed between the readings is refused before a record of the changed lines is given', async (t) => {
    const dir = tempDir(t);
    const lines = Array.from({ length: 2000 }, (_, i) => canonicalJson({ bsn: String(100000 + i), naam: `Naam ${i}` }));
    for (const change of [1000, 1999, 0]) {
      const f = join(dir, 'r.ndjson');
      writeFileSync(f, lines.join('\n'));
      const reading = new NdjsonReading();
      await outcome(readSource(f, { key, reading }));
      // Same length, one value changed: only the CRC of its group tells.
      writeFileSync(f, lines.map((l, i) => (i === change ? l.replace('Naam', 'Neem') : l)).join('\n'));
      const got = await outcome(readSource(f, { key, reading }));
      assert.equal(got.error, `input.malformed ${f}: changed while it was being read`);
      assert.ok(got.records.length <= change - (change % 256), `${got.records.length} records given before line ${change + 1}`);
      // Shorter.
      writeFileSync(f, lines.slice(0, 1500).join('\n'));
      const reading2 = new NdjsonReading();
      writeFileSync(f, lines.join('\n'));
      await outcome(readSource(f, { key, reading: reading2 }));
      writeFileSync(f, lines.slice(0, 1500).join('\n'));
      assert.equal((await outcome(readSource(f, { key, reading: reading2 }))).error, `input.malformed ${f}: changed while it was being read`);
    }
  });
});

/** The first n items (all if n is undefined); the rest is left unread. */
async function* cut<T>(it: AsyncIterable<T>, n: number | undefined): AsyncGenerator<T> {
  if (n === 0) return;
  let i = 0;
  for await (const x of it) {
    yield x;
    if (++i === n) return;
  }
}
