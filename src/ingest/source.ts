// Source files → records (DESIGN.md §4 "ingest"): NDJSON, CSV or one JSON array, streamed with
// bounded memory, each record keyed by a key spec and valued by its RFC 8785 canonical JSON.
// Records come out in file order; sortRecords puts them in key order. Every failure is an
// EmbassyError naming the file and line (or element): 'input.malformed', 'record.invalid' or
// 'input.too-large'.
import { EmbassyError } from '../errors.ts';
import { parseJsonStrict } from '../format/canonical-json.ts';
import { JSON_CONTENT_TYPE } from '../tree/types.ts';
import { readCsv } from './csv.ts';
import { readJsonArray } from './json-array.ts';
import { compileKeySpec, type KeySpec } from './key.ts';
import { planCanonicalKeys, scanCanonicalLine } from './canonical-line.ts';
import { decodeLineBlock, isBlankLine, readLineBlocks, stripBom, type TextLine } from './lines.ts';
import { checkMaxRecordBytes, makeSourceRecord, positionError, RAW_TO_CANONICAL_SLACK, type SourceRecord } from './record.ts';

export type SourceFormat = 'ndjson' | 'csv' | 'json';

export interface ReadSourceOptions {
  /** Default: from the file extension (.ndjson/.jsonl, .csv, .json). */
  format?: SourceFormat;
  /** Field paths whose values make the key; several are joined with '/'. */
  key: string[];
  /** Limit on one record's canonical JSON; default 16 MiB. */
  maxRecordBytes?: number;
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

/** Parses one decoded line the strict way: the record, or the precise error. */
function parseNdjsonLine(text: string, line: number, file: string, spec: KeySpec, maxRecordBytes: number): SourceRecord | undefined {
  if (isBlankLine(text)) return undefined;
  let value: unknown;
  try {
    value = parseJsonStrict(stripBom(text, line));
  } catch (e) {
    throw positionError('input.malformed', file, 'line', line, (e as Error).message, e);
  }
  return makeSourceRecord(value, spec, { file, unit: 'line', line }, maxRecordBytes);
}

async function* readNdjson(file: string, keyPaths: readonly string[], maxRecordBytes: number): AsyncGenerator<SourceRecord[]> {
  const spec = compileKeySpec(keyPaths);
  const plan = planCanonicalKeys(spec);
  const maxLineBytes = maxRecordBytes * RAW_TO_CANONICAL_SLACK;
  for await (const block of readLineBlocks(file, { maxLineBytes })) {
    const batch: SourceRecord[] = [];
    // Lines that are already canonical JSON become records as they are (canonical-line.ts).
    // The first line that is not has the whole block checked by decodeLineBlock before it is
    // parsed, so errors come in the same order as if every line had been decoded and parsed.
    // (decodeLineBlock throws when the block ends in a partial line that is already too long.)
    let checked: TextLine[] | undefined = block.tooLongAfter === undefined ? undefined : decodeLineBlock(file, block, maxLineBytes);
    const take = (bytes: Uint8Array, start: number, end: number, index: number): void => {
      if (plan !== undefined) {
        const fast = scanCanonicalLine(bytes, start, end, plan, maxRecordBytes);
        if (fast !== undefined) {
          // A view, not a copy: read chunks are never reused, and the tree copies what it keeps.
          const value = new Uint8Array(bytes.buffer, bytes.byteOffset + start, fast.valueEnd - start);
          const record = { key: fast.key, contentType: JSON_CONTENT_TYPE, value };
          batch.push({ key: fast.key, record, line: block.firstLine + index });
          return;
        }
      }
      checked ??= decodeLineBlock(file, block, maxLineBytes);
      const r = parseNdjsonLine(checked[index]!.text, block.firstLine + index, file, spec, maxRecordBytes);
      if (r !== undefined) batch.push(r);
    };
    take(block.head, 0, block.head.length, 0);
    let s = 0;
    for (let i = 0; i < block.lines; i++) {
      const e = block.ends[i]!;
      take(block.middle, s, e, i + 1);
      s = e + 1;
    }
    yield batch;
  }
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
    format === 'ndjson' ? readNdjson(file, options.key, max) : format === 'csv' ? readCsv(file, options.key, max) : readJsonArray(file, options.key, max);
  for await (const batch of batches) for (const r of batch) yield r;
}
