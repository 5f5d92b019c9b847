// CSV sources (RFC 4180 as csv-parse reads it): the first row names the columns, every value is a
// string, a record is the object column → value. Streaming: csv-parse's push parser is fed one
// read chunk at a time after the chunk passed strict UTF-8 validation (csv-parse itself would
// decode invalid bytes to U+FFFD). Key paths are whole column names here; '.' is not special.
import { createReadStream } from 'node:fs';
import type { Buffer } from 'node:buffer';
import { Parser } from 'csv-parse';
import { EmbassyError } from '../errors.ts';
import { compileKeySpec } from './key.ts';
import { makeSourceRecord, positionError, RAW_TO_CANONICAL_SLACK, readError, type SourceRecord } from './record.ts';
import { READ_CHUNK_BYTES } from './lines.ts';
import { Utf8Checker } from './utf8.ts';

interface CsvInfo {
  lines: number;
}
interface CsvRow {
  record: string[];
  info: CsvInfo;
}
// The push API under csv-parse's stream (the one its sync parse uses): parse(buf, end, push, close)
// returns an error instead of emitting it, and pushes synchronously, so records and errors come
// out in file order with no stream buffering between them.
interface CsvPushApi {
  parse(buf: Buffer | undefined, end: boolean, push: (row: CsvRow) => void, close: () => void): unknown;
}
interface CsvErrorLike {
  code?: unknown;
  lines?: unknown;
  message?: unknown;
  record?: unknown;
}

function csvError(file: string, e: unknown, header: readonly string[] | undefined, maxRowBytes: number): EmbassyError {
  if (e instanceof EmbassyError) return e;
  const err = (e ?? {}) as CsvErrorLike;
  const line = typeof err.lines === 'number' ? err.lines : 0;
  const code = typeof err.code === 'string' ? err.code : '';
  switch (code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
    case 'CSV_RECORD_INCONSISTENT_COLUMNS': {
      const got = Array.isArray(err.record) ? err.record.length : '?';
      return positionError('input.malformed', file, 'line', line, `row has ${got} fields, the header has ${header?.length ?? '?'}`, e);
    }
    case 'CSV_MAX_RECORD_SIZE':
      return positionError('input.too-large', file, 'line', line, `row is longer than ${maxRowBytes} bytes`, e);
    default: {
      // csv-parse messages start with a title ("Invalid Closing Quote: got "x" at line 3 ...");
      // the title alone carries no field contents.
      const msg = typeof err.message === 'string' ? err.message : '';
      const title = msg.includes(':') ? msg.slice(0, msg.indexOf(':')).toLowerCase() : 'does not parse';
      return positionError('input.malformed', file, 'line', line, `csv: ${title}${code ? ` (${code})` : ''}`, e);
    }
  }
}

function checkHeader(file: string, line: number, header: readonly string[], keyNames: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw positionError('input.malformed', file, 'line', line, `duplicate column name ${JSON.stringify(name)}`);
    seen.add(name);
  }
  for (const k of keyNames) {
    if (!seen.has(k)) {
      throw positionError('record.invalid', file, 'line', line, `missing key field "${k}": no such column in the header`);
    }
  }
}

function rowObject(header: readonly string[], values: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!;
    // A plain assignment of "__proto__" would set the prototype instead of adding a member.
    if (name === '__proto__') Object.defineProperty(o, name, { value: values[i]!, enumerable: true, writable: true, configurable: true });
    else o[name] = values[i]!;
  }
  return o;
}

/** Records of a CSV file, in batches of one read chunk. */
export async function* readCsv(file: string, keyPaths: readonly string[], maxRecordBytes: number): AsyncGenerator<SourceRecord[]> {
  const spec = compileKeySpec(keyPaths, { split: false });
  const maxRowBytes = maxRecordBytes * RAW_TO_CANONICAL_SLACK;
  const parser = new Parser({ info: true, bom: true, skip_empty_lines: true, max_record_size: maxRowBytes });
  const api = (parser as unknown as { api: CsvPushApi }).api;
  const utf8 = new Utf8Checker();
  let header: string[] | undefined;
  let batch: SourceRecord[] = [];

  const push = (row: CsvRow): void => {
    if (header === undefined) {
      checkHeader(file, row.info.lines, row.record, spec.names);
      header = row.record;
      return;
    }
    const origin = { file, unit: 'line' as const, line: row.info.lines };
    batch.push(makeSourceRecord(rowObject(header, row.record), spec, origin, maxRecordBytes));
  };
  const feed = (buf: Buffer | undefined, end: boolean): void => {
    const err = api.parse(buf, end, push, () => {});
    if (err !== undefined) throw csvError(file, err, header, maxRowBytes);
  };

  const stream = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const bad = utf8.push(chunk);
      if (bad) {
        // Records wholly before the bad byte are checked first, so errors come in file order.
        feed(chunk.subarray(0, bad.index), false);
        throw positionError('input.malformed', file, 'line', bad.line, `invalid UTF-8 at byte offset ${bad.offset}`);
      }
      feed(chunk, false);
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    const bad = utf8.end();
    if (bad) throw positionError('input.malformed', file, 'line', bad.line, 'invalid UTF-8: the file ends inside a character');
    feed(undefined, true);
    if (batch.length > 0) yield batch;
  } catch (e) {
    if (e instanceof EmbassyError) throw e;
    throw readError(file, e);
  } finally {
    stream.destroy();
  }
}
