// Record keys from source objects (DESIGN.md §3: a record's key is a UTF-8 string). A key spec is
// one or more field paths; a composite key joins the values with '/', so no part may contain '/'
// (otherwise ["a/b","c"] and ["a","b/c"] would collide). Values must be strings or safe integers;
// an integer beyond 2^53 has already lost digits in the JSON parser, so it is refused, not rounded.
import { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';
import { MAX_KEY_BYTES } from '../tree/types.ts';

export const COMPOSITE_KEY_SEPARATOR = '/';

export interface KeySpec {
  /** The paths as given, for messages. */
  readonly names: readonly string[];
  /** Each path split into member names (dotted paths for JSON; one column name for CSV). */
  readonly fields: readonly (readonly string[])[];
}

/**
 * Compiles field paths: dotted for JSON sources (`verblijfplaats.verblijfadres.postcode`), or
 * whole column names for CSV (`split: false`), where a '.' is part of the name.
 */
export function compileKeySpec(paths: readonly string[], options: { split?: boolean } = {}): KeySpec {
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new EmbassyError('usage', 'key: expected at least one field path');
  }
  const split = options.split ?? true;
  const fields = paths.map((p) => {
    if (typeof p !== 'string' || p === '') throw new EmbassyError('usage', 'key: field path must be a non-empty string');
    const segments = split ? p.split('.') : [p];
    if (segments.some((s) => s === '')) throw new EmbassyError('usage', `key: field path "${p}" has an empty segment`);
    return segments;
  });
  return { names: [...paths], fields };
}

/** A key, or why the object has none (a message fragment naming the field, never its value). */
export type KeyResult = { ok: true; key: string } | { ok: false; problem: string };

function lookup(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const name of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    if (!Object.hasOwn(cur, name)) return undefined;
    cur = (cur as Record<string, unknown>)[name];
  }
  return cur;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return 'a non-integer number';
  return `a ${typeof v}`;
}

/** The key of a parsed source object under a key spec. */
export function extractKey(obj: Record<string, unknown>, spec: KeySpec): KeyResult {
  const composite = spec.fields.length > 1;
  let key = '';
  for (let i = 0; i < spec.fields.length; i++) {
    const name = spec.names[i]!;
    const v = lookup(obj, spec.fields[i]!);
    let part: string;
    if (typeof v === 'string') {
      if (v === '') return { ok: false, problem: `key field "${name}" is empty` };
      part = v;
    } else if (typeof v === 'number' && Number.isInteger(v)) {
      if (!Number.isSafeInteger(v)) {
        return { ok: false, problem: `key field "${name}" is an integer beyond 2^53, which JSON numbers cannot hold exactly; quote it as a string` };
      }
      part = String(v); // -0 becomes "0"
    } else if (v === undefined) {
      return { ok: false, problem: `missing key field "${name}"` };
    } else if (v === null) {
      return { ok: false, problem: `key field "${name}" is null` };
    } else {
      return { ok: false, problem: `key field "${name}" must be a string or an integer, got ${kindOf(v)}` };
    }
    if (composite && part.includes(COMPOSITE_KEY_SEPARATOR)) {
      return { ok: false, problem: `key field "${name}" contains '/', which separates the parts of a composite key` };
    }
    key = i === 0 ? part : key + COMPOSITE_KEY_SEPARATOR + part;
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return { ok: false, problem: `key is ${bytes} bytes, over the limit of ${MAX_KEY_BYTES}` };
  return { ok: true, key: ownString(key) };
}

/**
 * A copy of s that shares no memory with a larger string. V8 represents a long slice as a view
 * of its parent, so a key sliced out of a 1 MiB decoded block would keep the whole block alive
 * for as long as the sorter buffers the record.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** A key as it appears in messages: bare when plain, else JSON-quoted; long keys shortened. */
export function formatKey(key: string): string {
  const short = key.length > 80 ? `${key.slice(0, 80)}…` : key;
  return /^[\p{L}\p{N}._:\/-]+$/u.test(short) ? short : JSON.stringify(short);
}
