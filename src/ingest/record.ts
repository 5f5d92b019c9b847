// From one parsed source object to a record (DESIGN.md §5 "Records"): the key from the key spec,
// the value as the RFC 8785 canonical JSON of the whole object. Also the one way ingest names a
// position in an error ("persons.ndjson:1234: ..." or "persons.json: element 7: ..."), so every
// message from every format reads the same.
import { EmbassyError, type ErrorCode } from '../errors.ts';
import { canonicalJsonBytes } from '../format/canonical-json.ts';
import { JSON_CONTENT_TYPE, type TreeRecord } from '../tree/types.ts';
import { extractKey, formatKey, type KeySpec } from './key.ts';

/** One record of a source file, with where it came from (for messages about duplicates). */
export interface SourceRecord {
  key: string;
  record: TreeRecord;
  /** 1-based line of the record (its last line for a multi-line CSV row); element index for JSON arrays. */
  line: number;
}

/** Default limit on one record's canonical JSON. */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;
/**
 * Raw text is allowed to be this many times larger than the record limit before it is refused
 * unparsed (whitespace and escapes make source text longer than canonical JSON); it bounds the
 * memory one line or element can take.
 */
export const RAW_TO_CANONICAL_SLACK = 4;

/** How positions are counted: lines of a text file, or elements (0-based) of a JSON array. */
export type PositionUnit = 'line' | 'element';

export function formatPosition(file: string, unit: PositionUnit, n: number): string {
  return unit === 'line' ? `${file}:${n}` : `${file}: element ${n}`;
}

export function positionError(code: ErrorCode, file: string, unit: PositionUnit, n: number, message: string, cause?: unknown): EmbassyError {
  return new EmbassyError(code, `${formatPosition(file, unit, n)}: ${message}`, cause === undefined ? undefined : { cause });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Where a record came from, for its error messages. */
export interface RecordOrigin {
  file: string;
  unit: PositionUnit;
  line: number;
}

/**
 * Makes the record of one parsed source value. 'record.invalid' when it is not an object or has
 * no usable key, 'input.too-large' when its canonical JSON is over maxRecordBytes.
 */
export function makeSourceRecord(value: unknown, spec: KeySpec, origin: RecordOrigin, maxRecordBytes: number): SourceRecord {
  const { file, unit, line } = origin;
  if (!isPlainObject(value)) {
    throw positionError('record.invalid', file, unit, line, `expected a JSON object, got ${describe(value)}`);
  }
  const k = extractKey(value, spec);
  if (!k.ok) throw positionError('record.invalid', file, unit, line, k.problem);
  let bytes: Uint8Array;
  try {
    bytes = canonicalJsonBytes(value);
  } catch (e) {
    // Only JSON array elements can get here: stream-json decodes a \ud800 escape into a lone
    // surrogate, which RFC 8785 cannot represent.
    const why = e instanceof EmbassyError ? e.message : 'not representable as canonical JSON';
    throw positionError('input.malformed', file, unit, line, `record ${formatKey(k.key)}: ${why}`, e);
  }
  if (bytes.length > maxRecordBytes) {
    throw positionError(
      'input.too-large',
      file,
      unit,
      line,
      `record ${formatKey(k.key)}: canonical JSON is ${bytes.length} bytes, over the limit of ${maxRecordBytes}`,
    );
  }
  return { key: k.key, record: { key: k.key, contentType: JSON_CONTENT_TYPE, value: bytes }, line };
}

export function checkMaxRecordBytes(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_RECORD_BYTES;
  if (!Number.isSafeInteger(n) || n < 1) throw new EmbassyError('usage', `maxRecordBytes: expected a positive integer, got ${n}`);
  return n;
}

/** A source file that cannot be opened or read at all. */
export function readError(file: string, e: unknown): EmbassyError {
  const code = (e as { code?: unknown } | null)?.code;
  return new EmbassyError('input.malformed', `${file}: cannot be read${typeof code === 'string' ? ` (${code})` : ''}`, { cause: e });
}

/** A source file that was not the same when it was read a second time. */
export function sourceChangedError(file: string): EmbassyError {
  return new EmbassyError('input.malformed', `${file}: changed while it was being read`, {
    hint: 'seal a file that nothing writes to meanwhile (a copy, or a finished export)',
  });
}
