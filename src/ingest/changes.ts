// Change files: NDJSON, one change per line, applied to the previous version of a dataset.
//   {"op":"upsert","record":{...}}   the record's key comes from the dataset's key spec
//   {"op":"delete","key":"..."}      the key as stored (composite keys joined with '/')
// Changes come out in key order (the external sort of sortChanges); two changes for one key in
// one file are an error naming both lines, since their order would otherwise decide the result.
import { tmpdir } from 'node:os';
import { Buffer } from 'node:buffer';
import { parseJsonStrict } from '../format/canonical-json.ts';
import { MAX_KEY_BYTES } from '../tree/types.ts';
import { compileKeySpec, ownString, type KeySpec } from './key.ts';
import { isBlankLine, readLines, stripBom } from './lines.ts';
import { checkMaxRecordBytes, isPlainObject, makeSourceRecord, positionError, RAW_TO_CANONICAL_SLACK } from './record.ts';
import { sortChanges, type SourceChange } from './sort.ts';

export type { SourceChange } from './sort.ts';

export interface ReadChangesOptions {
  /** The dataset's key spec, for the keys of upserted records. */
  key: string[];
  /** Limit on one upserted record's canonical JSON; default 16 MiB. */
  maxRecordBytes?: number;
  /** Where the sort may spill encrypted runs; default the system's temporary directory. */
  tmpDir?: string;
  /** Sort buffer before spilling; default 256 MiB. */
  memoryBytes?: number;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function short(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function parseChange(value: unknown, spec: KeySpec, file: string, line: number, maxRecordBytes: number): SourceChange {
  const malformed = (m: string) => positionError('input.malformed', file, 'line', line, `change: ${m}`);
  const invalid = (m: string) => positionError('record.invalid', file, 'line', line, `change: ${m}`);
  if (!isPlainObject(value)) throw malformed(`expected a JSON object, got ${describe(value)}`);
  const op = value.op;
  if (op !== 'upsert' && op !== 'delete') {
    throw malformed(`${op === undefined ? 'missing op' : typeof op === 'string' ? `unknown op ${short(op)}` : `op is ${describe(op)}`}; expected "upsert" or "delete"`);
  }
  const allowed = op === 'upsert' ? 'record' : 'key';
  for (const name of Object.keys(value)) {
    if (name !== 'op' && name !== allowed) throw malformed(`unexpected member ${short(name)} in a ${op}`);
  }
  if (op === 'upsert') {
    if (!Object.hasOwn(value, 'record')) throw malformed('upsert without a record');
    const r = makeSourceRecord(value.record, spec, { file, unit: 'line', line }, maxRecordBytes);
    return { key: r.key, record: r.record, line };
  }
  let key = value.key;
  if (key === undefined) throw malformed('delete without a key');
  if (typeof key === 'number' && Number.isSafeInteger(key)) key = String(key);
  if (typeof key !== 'string') throw invalid(`delete key must be a string, got ${describe(key)}`);
  if (key === '') throw invalid('delete key is empty');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) throw invalid(`delete key is ${bytes} bytes, over the limit of ${MAX_KEY_BYTES}`);
  return { key: ownString(key), line };
}

/** The changes of a change file in file order, validated. */
export async function* readChangesInFileOrder(file: string, options: Pick<ReadChangesOptions, 'key' | 'maxRecordBytes'>): AsyncGenerator<SourceChange> {
  const spec = compileKeySpec(options.key);
  const max = checkMaxRecordBytes(options.maxRecordBytes);
  for await (const lines of readLines(file, { maxLineBytes: max * RAW_TO_CANONICAL_SLACK })) {
    const batch: SourceChange[] = [];
    for (const { text, line } of lines) {
      if (isBlankLine(text)) continue;
      let value: unknown;
      try {
        value = parseJsonStrict(stripBom(text, line));
      } catch (e) {
        throw positionError('input.malformed', file, 'line', line, (e as Error).message, e);
      }
      batch.push(parseChange(value, spec, file, line, max));
    }
    for (const c of batch) yield c;
  }
}

/** The changes of a change file in key order; see sortChanges for memory and errors. */
export function readChanges(file: string, options: ReadChangesOptions): AsyncGenerator<SourceChange> {
  return sortChanges(readChangesInFileOrder(file, options), {
    tmpDir: options.tmpDir ?? tmpdir(),
    file,
    unit: 'line',
    ...(options.memoryBytes !== undefined ? { memoryBytes: options.memoryBytes } : {}),
  });
}
