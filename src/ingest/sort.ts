// Key order for source records and changes: the external sort of external-sort.ts with the run
// encoding of one record or change. The run encoding never leaves this process (runs are
// encrypted under a key that dies with the sort), so it is not a versioned format.
//   item = flags:u8 ‖ line:f64be ‖ u32be(len) key ‖ [u32be(len) record key]  (flags & 2)
//                   ‖ [u32be(len) content type ‖ value (rest of item)]      (flags & 1)
import { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';
import { JSON_CONTENT_TYPE, type TreeRecord } from '../tree/types.ts';
import { formatKey } from './key.ts';
import { sortExternal, type RunCodec } from './external-sort.ts';
import { positionError, sourceChangedError, type PositionUnit, type SourceRecord } from './record.ts';

/** One change of a change file: an upsert (with the record) or a delete (without). */
export interface SourceChange {
  key: string;
  record?: TreeRecord;
  /** 1-based line in the change file. */
  line: number;
}

export interface SortOptions {
  /** In-memory buffer before spilling a run; default 256 MiB. */
  memoryBytes?: number;
  /** Where the private run directory is made (runs are encrypted). */
  tmpDir: string;
  /** The source file, for messages. */
  file: string;
  /** How `line` is to be read in messages; default 'element' for .json files, else 'line'. */
  unit?: PositionUnit;
}

export interface SortRecordsOptions extends SortOptions {
  /**
   * The same records again, from the start (the file read a second time). A source that is in
   * key order already is then never spilled: records that do not fit in memory are read again
   * instead of written to and read from encrypted runs.
   */
  replay?: () => AsyncIterable<SourceRecord>;
}

export const DEFAULT_SORT_MEMORY_BYTES = 256 * 1024 * 1024;

const HAS_RECORD = 1;
const OWN_RECORD_KEY = 2;
// Reckoned per item besides its strings and bytes: the item and record objects, the Uint8Array,
// its ArrayBuffer and backing store, the array slot. Measured (Node 20, 160k records of 600 bytes
// held in an array, after GC): 414 bytes per record beyond the value bytes.
const ITEM_OVERHEAD_BYTES = 400;

/** Writes uint32be(UTF-8 length) ‖ UTF-8 of s at p; returns the offset after it. */
function putString(b: Buffer, p: number, s: string): number {
  const n = b.write(s, p + 4, 'utf8');
  b.writeUInt32BE(n, p);
  return p + 4 + n;
}

const JSON_CONTENT_TYPE_BYTES = Buffer.from(JSON_CONTENT_TYPE, 'utf8');

function isJsonContentType(b: Buffer, p: number, n: number): boolean {
  if (n !== JSON_CONTENT_TYPE_BYTES.length) return false;
  for (let i = 0; i < n; i++) if (b[p + i] !== JSON_CONTENT_TYPE_BYTES[i]) return false;
  return true;
}

function getString(b: Buffer, p: number): string {
  return b.toString('utf8', p + 4, p + 4 + b.readUInt32BE(p));
}

export const CHANGE_CODEC: RunCodec<SourceChange> = {
  encodedSize(c) {
    let n = 1 + 8 + 4 + Buffer.byteLength(c.key, 'utf8');
    const r = c.record;
    if (r !== undefined) {
      if (r.key !== c.key) n += 4 + Buffer.byteLength(r.key, 'utf8');
      n += 4 + Buffer.byteLength(r.contentType, 'utf8') + r.value.length;
    }
    return n;
  },
  encode(c, b, o) {
    const r = c.record;
    b[o] = r === undefined ? 0 : r.key === c.key ? HAS_RECORD : HAS_RECORD | OWN_RECORD_KEY;
    b.writeDoubleBE(c.line, o + 1);
    let p = putString(b, o + 9, c.key);
    if (r === undefined) return;
    if (r.key !== c.key) p = putString(b, p, r.key);
    p = putString(b, p, r.contentType);
    b.set(r.value, p);
  },
  decode(b, o, length) {
    const end = o + length;
    const flags = b[o]!;
    const line = b.readDoubleBE(o + 1);
    let p = o + 9;
    const key = getString(b, p);
    p += 4 + b.readUInt32BE(p);
    if ((flags & HAS_RECORD) === 0) return { key, line };
    let recordKey = key;
    if (flags & OWN_RECORD_KEY) {
      recordKey = getString(b, p);
      p += 4 + b.readUInt32BE(p);
    }
    const ctLength = b.readUInt32BE(p);
    // Nearly every record is JSON: compare the bytes rather than decode a string to compare.
    const ct = isJsonContentType(b, p + 4, ctLength) ? JSON_CONTENT_TYPE : b.toString('utf8', p + 4, p + 4 + ctLength);
    p += 4 + ctLength;
    // A copy: the block is wiped when the next one is read.
    const value = new Uint8Array(end - p);
    value.set(b.subarray(p, end));
    return { key, line, record: { key: recordKey, contentType: ct, value } };
  },
  memorySize(c) {
    const r = c.record;
    let n = ITEM_OVERHEAD_BYTES + 2 * c.key.length;
    if (r !== undefined) n += r.value.length + (r.key === c.key ? 0 : 2 * r.key.length);
    return n;
  },
};

// Run blocks hold strings as UTF-8, which cannot carry a lone surrogate; a key with one is not a
// UTF-8 key at all (DESIGN.md §3), so it is refused whether or not the sort spills.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function validator(file: string, unit: PositionUnit): (c: SourceChange) => void {
  return (c) => {
    const r = c.record;
    if (LONE_SURROGATE.test(c.key) || (r !== undefined && ((r.key !== c.key && LONE_SURROGATE.test(r.key)) || LONE_SURROGATE.test(r.contentType)))) {
      throw positionError('record.invalid', file, unit, c.line, 'key or content type is not well-formed Unicode (a lone surrogate)');
    }
  };
}

function unitOf(options: SortOptions): PositionUnit {
  return options.unit ?? (/\.json$/i.test(options.file) ? 'element' : 'line');
}

function memoryOf(options: { memoryBytes?: number }): number {
  return options.memoryBytes ?? DEFAULT_SORT_MEMORY_BYTES;
}

function checkTmpDir(tmpDir: unknown): void {
  if (typeof tmpDir !== 'string' || tmpDir === '') throw new EmbassyError('usage', 'sort: tmpDir must be a directory path');
}

/**
 * Source records in key order (UTF-8 byte order of keys). Two records with one key are
 * 'tree.duplicate-key', naming the key and both lines. Memory is bounded by about memoryBytes;
 * beyond that, runs spill to tmpDir, encrypted, and are deleted when the iteration ends.
 */
export function sortRecords(source: AsyncIterable<SourceRecord>, options: SortRecordsOptions): AsyncGenerator<SourceRecord> {
  checkTmpDir(options.tmpDir);
  const unit = unitOf(options);
  return sortExternal<SourceRecord>(source, {
    codec: CHANGE_CODEC as RunCodec<SourceRecord>,
    memoryBytes: memoryOf(options),
    tmpDir: options.tmpDir,
    validate: validator(options.file, unit),
    duplicate: (a, b) =>
      positionError('tree.duplicate-key', options.file, unit, b.line, `duplicate key ${formatKey(b.key)} (also on ${unit} ${a.line})`),
    ...(options.replay ? { replay: options.replay, changed: () => sourceChangedError(options.file) } : {}),
  });
}

/** Changes in key order; two changes for one key are 'tree.duplicate-key', naming both lines. */
export function sortChanges(source: AsyncIterable<SourceChange>, options: SortOptions): AsyncGenerator<SourceChange> {
  checkTmpDir(options.tmpDir);
  const unit = unitOf(options);
  return sortExternal<SourceChange>(source, {
    codec: CHANGE_CODEC,
    memoryBytes: memoryOf(options),
    tmpDir: options.tmpDir,
    validate: validator(options.file, unit),
    duplicate: (a, b) =>
      positionError('tree.duplicate-key', options.file, unit, b.line, `two changes for key ${formatKey(b.key)} (also on ${unit} ${a.line})`),
  });
}
