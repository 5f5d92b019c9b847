// Source files → records (DESIGN.md §4 "ingest"): NDJSON, CSV or one JSON array, streamed with
// bounded memory, each record keyed by a key spec and valued by its RFC 8785 canonical JSON.
// Records come out in file order; sortRecords puts them in key order. Every failure is an
// EmbassyError naming the file and line (or element): 'input.malformed', 'record.invalid' or
// 'input.too-large'.
import { EmbassyError } from '../errors.ts';
import { readCsv } from './csv.ts';
import { readJsonArray } from './json-array.ts';
import { readNdjson, type NdjsonReading } from './ndjson.ts';
import { checkMaxRecordBytes, type SourceRecord } from './record.ts';

export { NdjsonReading } from './ndjson.ts';

export type SourceFormat = 'ndjson' | 'csv' | 'json';

export interface ReadSourceOptions {
  /** Default: from the file extension (.ndjson/.jsonl, .csv, .json). */
  format?: SourceFormat;
  /** Field paths whose values make the key; several are joined with '/'. */
  key: string[];
  /** Limit on one record's canonical JSON; default 16 MiB. */
  maxRecordBytes?: number;
  /**
   * NDJSON only: the first reading of a file notes into a fresh NdjsonReading, a later reading
   * with the same object reads again what the first checked (see NdjsonReading).
   */
  reading?: NdjsonReading;
}

const EXTENSIONS: Record<string, SourceFormat> = { ndjson: 'ndjson', jsonl: 'ndjson', csv: 'csv', json: 'json' };

export function sourceFormatOf(file: string, format?: SourceFormat): SourceFormat {
  if (format !== undefined) {
    if (format === 'ndjson' || format === 'csv' || format === 'json') return format;
    throw new EmbassyError('usage', `source format: expected ndjson, csv or json, got ${JSON.stringify(format)}`);
  }
  const ext = /\.([A-Za-z0-9]+)$/.exec(file)?.[1]?.toLowerCase();
  const f = ext === undefined ? undefined : EXTENSIONS[ext];
  if (f === undefined) {
    throw new EmbassyError('usage', `${file}: cannot tell the source format from the file name`, {
      hint: 'name the file .ndjson, .jsonl, .csv or .json, or give the format explicitly',
    });
  }
  return f;
}

/**
 * The records of a source file in file order. Memory stays bounded by one read chunk plus one
 * record, whatever the file size; the file is never read whole. Records are parsed a read chunk
 * (1 MiB) at a time, so an error can surface up to one chunk before the records ahead of it
 * have all been yielded.
 */
export async function* readSource(file: string, options: ReadSourceOptions): AsyncGenerator<SourceRecord> {
  const format = sourceFormatOf(file, options.format);
  const max = checkMaxRecordBytes(options.maxRecordBytes);
  const batches =
    format === 'ndjson' ? readNdjson(file, options.key, max, options.reading) : format === 'csv' ? readCsv(file, options.key, max) : readJsonArray(file, options.key, max);
  for await (const batch of batches) for (const r of batch) yield r;
}
