// The NDJSON fast path (DESIGN.md §5 "Records"): many sources — our own generator among them —
// write each record as RFC 8785 canonical JSON already, and then the record's value is the line's
// bytes as they are. scanCanonicalLine checks that in one pass over the UTF-8 bytes —
// no decoding, no objects, no re-serialising — and picks out the key fields on the way.
// It answers only "certainly canonical, and here is the key": anything else (whitespace, unsorted
// or escaped member names, a number not in shortest form, a missing or unusual key, invalid
// UTF-8, an error of any kind) is `undefined`, and the caller takes the strict parser's path,
// which gives the same record or the precise error. So accepting is what must be exact:
//   scanCanonicalLine(b) = key  ⇒  canonicalJson(parseJsonStrict(utf8(b))) is b, with that key.
import { Buffer } from 'node:buffer';
import { JSON_MAX_DEPTH } from '../format/canonical-json.ts';
import { MAX_KEY_BYTES } from '../tree/types.ts';
import { COMPOSITE_KEY_SEPARATOR, type KeySpec } from './key.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const ONE = 0x31;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const CR = 0x0d;
const SLASH = 0x2f;

// What a byte inside a string is: written as is, the end, an escape, or the lead of a UTF-8
// sequence of that many continuation bytes; anything else (controls, stray continuation bytes,
// 0xc0, 0xc1, 0xf5..0xff) cannot be in canonical UTF-8 JSON.
const PLAIN = 1;
const END = 2;
const ESCAPE = 3;
const LEAD2 = 4;
const LEAD3 = 5;
const LEAD4 = 6;
const STRING_BYTE = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) STRING_BYTE[c] = PLAIN;
STRING_BYTE[QUOTE] = END;
STRING_BYTE[BACKSLASH] = ESCAPE;
for (let c = 0xc2; c <= 0xdf; c++) STRING_BYTE[c] = LEAD2;
for (let c = 0xe0; c <= 0xef; c++) STRING_BYTE[c] = LEAD3;
for (let c = 0xf0; c <= 0xf4; c++) STRING_BYTE[c] = LEAD4;

/** String flags: it has an escape; it has a code point at or above U+E000 (lead byte >= 0xee). */
const HAS_ESCAPE = 1;
const HAS_HIGH = 2;

/** Key paths at most this many: candidates are tracked as bits of an int. */
const MAX_PATHS = 30;

/** A key spec compiled for the scanner. */
export interface CanonicalKeyPlan {
  /** segments[p][d]: UTF-8 of member name d of path p, as canonical JSON writes it between quotes. */
  readonly segments: readonly (readonly Uint8Array[])[];
  readonly all: number;
  readonly composite: boolean;
}

/** Undefined when the spec is beyond the scanner (too many paths); the caller then never calls it. */
export function planCanonicalKeys(spec: KeySpec): CanonicalKeyPlan | undefined {
  if (spec.fields.length > MAX_PATHS) return undefined;
  const segments = spec.fields.map((path) => path.map((name) => Buffer.from(JSON.stringify(name).slice(1, -1), 'utf8')));
  return { segments, all: (1 << segments.length) - 1, composite: segments.length > 1 };
}

// Scanner state: one line at a time, never re-entered, so module variables save passing them.
let b: Uint8Array = new Uint8Array(0);
let p = 0;
/** End of the line: nothing at or after it is read. */
let limit = 0;
let plan: CanonicalKeyPlan;
const capStart = new Int32Array(MAX_PATHS);
const capEnd = new Int32Array(MAX_PATHS);

/**
 * The key of the record on bytes [start, end) of `bytes` if that line is exactly the canonical
 * JSON of an object with a usable key (see the module comment), else undefined. A '\r' ending the
 * line is allowed: `valueEnd` is then end − 1. Strings are never scanned past `end`; other tokens
 * may peek at the byte there (a '\n', or past the array), but a line is accepted only if the
 * value ends exactly at `end`, so what follows it cannot change the answer.
 */
export function scanCanonicalLine(
  bytes: Uint8Array,
  start: number,
  end: number,
  keys: CanonicalKeyPlan,
  maxValueBytes: number,
): { key: string; valueEnd: number } | undefined {
  if (bytes[start] !== LBRACE) return undefined;
  b = bytes;
  p = start;
  limit = end;
  plan = keys;
  capStart.fill(-1);
  try {
    if (!object(1, keys.all)) return undefined;
    let valueEnd = p;
    if (p !== end) {
      if (p === end - 1 && bytes[p] === CR) valueEnd = p;
      else return undefined;
    }
    if (valueEnd - start > maxValueBytes) return undefined;
    const key = keyOf();
    return key === undefined ? undefined : { key, valueEnd };
  } finally {
    b = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

function value(depth: number, candidates: number): boolean {
  const c = b[p];
  if (c === QUOTE) return string() >= 0;
  if (c === LBRACE) return object(depth + 1, candidates);
  if (c === LBRACKET) return array(depth + 1);
  if (c === 0x74) return literal(0x74, 0x72, 0x75, 0x65, 4); // true
  if (c === 0x66) return b[p + 4] === 0x65 && literal(0x66, 0x61, 0x6c, 0x73, 5); // false
  if (c === 0x6e) return literal(0x6e, 0x75, 0x6c, 0x6c, 4); // null
  return number();
}

function literal(c0: number, c1: number, c2: number, c3: number, length: number): boolean {
  if (b[p] !== c0 || b[p + 1] !== c1 || b[p + 2] !== c2 || b[p + 3] !== c3) return false;
  p += length;
  return true;
}

function object(depth: number, candidates: number): boolean {
  if (depth > JSON_MAX_DEPTH) return false;
  p++;
  if (b[p] === RBRACE) {
    p++;
    return true;
  }
  let prevStart = -1;
  let prevEnd = -1;
  let prevPlain = true;
  for (;;) {
    if (b[p] !== QUOTE) return false;
    const keyStart = p + 1;
    const flags = string();
    if (flags < 0) return false;
    const keyEnd = p - 1;
    // Members in UTF-16 code unit order (RFC 8785 §3.2.3), strictly: equal names are duplicates.
    // Without escapes and without code points from U+E000 up, that is the order of the bytes.
    if (prevStart >= 0 && (flags !== 0 || !prevPlain || !bytesBefore(prevStart, prevEnd, keyStart, keyEnd))) return false;
    prevStart = keyStart;
    prevEnd = keyEnd;
    prevPlain = flags === 0;
    if (b[p] !== COLON) return false;
    p++;
    let inner = 0;
    let captured = 0;
    if (candidates !== 0) {
      const level = depth - 1;
      for (let i = 0, bits = candidates; bits !== 0; i++, bits >>>= 1) {
        if ((bits & 1) === 0) continue;
        const path = plan.segments[i]!;
        if (!sameBytes(path[level]!, keyStart, keyEnd)) continue;
        if (path.length === depth) captured |= 1 << i;
        else inner |= 1 << i;
      }
    }
    const valueStart = p;
    if (!value(depth, inner)) return false;
    for (let i = 0; captured !== 0; i++, captured >>>= 1) {
      if ((captured & 1) === 0) continue;
      capStart[i] = valueStart;
      capEnd[i] = p;
    }
    const c = b[p++];
    if (c === COMMA) continue;
    return c === RBRACE;
  }
}

function array(depth: number): boolean {
  if (depth > JSON_MAX_DEPTH) return false;
  p++;
  if (b[p] === RBRACKET) {
    p++;
    return true;
  }
  for (;;) {
    // Key paths do not go through arrays (a key field inside an array is "missing").
    if (!value(depth, 0)) return false;
    const c = b[p++];
    if (c === COMMA) continue;
    return c === RBRACKET;
  }
}

/** Bytes [as, ae) sort strictly before [bs, be). */
function bytesBefore(as: number, ae: number, bs: number, be: number): boolean {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const x = b[as + i]!;
    const y = b[bs + i]!;
    if (x !== y) return x < y;
  }
  return ae - as < be - bs;
}

function sameBytes(want: Uint8Array, s: number, e: number): boolean {
  if (want.length !== e - s) return false;
  for (let i = 0; i < want.length; i++) if (want[i] !== b[s + i]) return false;
  return true;
}

function isLowerHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66);
}

function continuation(c: number): boolean {
  return c >= 0x80 && c <= 0xbf;
}

/**
 * At an opening quote: moves past the closing quote and returns the string's flags, or −1 when
 * it is not a string as canonical JSON writes it. Canonical escapes are exactly JSON.stringify's:
 * \" \\ \b \f \n \r \t, and \u00xx (lowercase) for the other code points below U+0020.
 */
function string(): number {
  const buf = b;
  const n = limit;
  let i = p + 1;
  let flags = 0;
  for (;;) {
    // Most bytes are printable ASCII: run through them first.
    while (i < n && STRING_BYTE[buf[i]!] === PLAIN) i++;
    if (i >= n) return -1;
    const c = buf[i]!;
    const kind = STRING_BYTE[c]!;
    if (kind === END) {
      p = i + 1;
      return flags;
    }
    if (kind === ESCAPE) {
      const e = buf[i + 1];
      flags |= HAS_ESCAPE;
      if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
        continue;
      }
      if (e !== 0x75 || buf[i + 2] !== ZERO || buf[i + 3] !== ZERO || i + 6 > n) return -1;
      const h = buf[i + 4]!;
      const l = buf[i + 5]!;
      if ((h !== ZERO && h !== ONE) || !isLowerHex(l)) return -1;
      const code = (h - ZERO) * 16 + (l <= NINE ? l - ZERO : l - 0x61 + 10);
      // These have two-character escapes, which canonical JSON uses instead.
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
      i += 6;
      continue;
    }
    if (kind === LEAD2) {
      if (i + 2 > n || !continuation(buf[i + 1]!)) return -1;
      i += 2;
      continue;
    }
    if (kind === LEAD3) {
      // Unicode 15 Table 3-7: no overlongs after 0xe0, no surrogates after 0xed.
      if (i + 3 > n) return -1;
      const c1 = buf[i + 1]!;
      if (!continuation(c1) || !continuation(buf[i + 2]!)) return -1;
      if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return -1;
      if (c >= 0xee) flags |= HAS_HIGH;
      i += 3;
      continue;
    }
    if (kind === LEAD4) {
      // No overlongs after 0xf0, nothing above U+10FFFF after 0xf4.
      if (i + 4 > n) return -1;
      const c1 = buf[i + 1]!;
      if (!continuation(c1) || !continuation(buf[i + 2]!) || !continuation(buf[i + 3]!)) return -1;
      if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return -1;
      flags |= HAS_HIGH;
      i += 4;
      continue;
    }
    // A control character, or a byte that cannot start a UTF-8 sequence.
    return -1;
  }
}

/**
 * A number token that is exactly how ECMAScript's Number::toString (RFC 8785 §3.2.2.3) writes
 * the double it parses to. Short integers without a leading zero or "-0" are that by sight; for
 * the others, the text is compared with its own round trip (Number() gives the same double as
 * the strict parser).
 */
function number(): boolean {
  const start = p;
  let i = p;
  const negative = b[i] === MINUS;
  if (negative) i++;
  let c = b[i];
  if (c === ZERO) {
    c = b[++i];
  } else if (c !== undefined && c >= ONE && c <= NINE) {
    do c = b[++i];
    while (c !== undefined && c >= ZERO && c <= NINE);
  } else {
    return false;
  }
  let plainInteger = true;
  if (c === DOT) {
    plainInteger = false;
    c = b[++i];
    if (c === undefined || c < ZERO || c > NINE) return false;
    do c = b[++i];
    while (c !== undefined && c >= ZERO && c <= NINE);
  }
  if (c === LOWER_E || c === UPPER_E) {
    plainInteger = false;
    c = b[++i];
    if (c === 0x2b || c === MINUS) c = b[++i];
    if (c === undefined || c < ZERO || c > NINE) return false;
    do c = b[++i];
    while (c !== undefined && c >= ZERO && c <= NINE);
  }
  p = i;
  const digits = i - start - (negative ? 1 : 0);
  // A leading zero is only ever "0" itself (the grammar stops there); "-0" is written "0".
  if (plainInteger && digits <= 15 && !(negative && b[start + 1] === ZERO)) return true;
  let text = '';
  for (let k = start; k < i; k++) text += String.fromCharCode(b[k]!);
  return String(Number(text)) === text;
}

/** The string of bytes [s, e) of the line: most keys are short ASCII, built without a Buffer. */
function asciiOrUtf8(s: number, e: number): string {
  const buf = b;
  if (e - s <= 24) {
    let out = '';
    for (let k = s; k < e; k++) {
      const c = buf[k]!;
      if (c >= 0x80) return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
      out += String.fromCharCode(c);
    }
    return out;
  }
  return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
}

/**
 * The key from the captured fields, or undefined when a field is missing or is anything but a
 * non-empty string without escapes or a safe integer, when a composite part holds '/', or when
 * the key is too long: the strict path then names the problem.
 */
function keyOf(): string | undefined {
  const n = plan.segments.length;
  let key = '';
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const s = capStart[i]!;
    if (s < 0) return undefined;
    const e = capEnd[i]!;
    let part: string;
    if (b[s] === QUOTE) {
      if (e - s === 2) return undefined;
      for (let k = s + 1; k < e - 1; k++) if (b[k] === BACKSLASH || (plan.composite && b[k] === SLASH)) return undefined;
      part = asciiOrUtf8(s + 1, e - 1);
    } else {
      for (let k = s; k < e; k++) {
        const c = b[k]!;
        if (!(c >= ZERO && c <= NINE) && !(k === s && c === MINUS)) return undefined;
      }
      part = '';
      for (let k = s; k < e; k++) part += String.fromCharCode(b[k]!);
      if (!Number.isSafeInteger(Number(part))) return undefined;
    }
    bytes += (i > 0 ? 1 : 0) + (b[s] === QUOTE ? e - s - 2 : e - s);
    key = i === 0 ? part : key + COMPOSITE_KEY_SEPARATOR + part;
  }
  return bytes > MAX_KEY_BYTES ? undefined : key;
}

/**
 * scanCanonicalLine's answer for a line it has accepted before — the same bytes, known to be
 * canonical — without checking it again: walks only as far as the key fields. For the second
 * reading of a file whose first reading was checked in full (NdjsonReading in ndjson.ts, which
 * also makes sure the bytes are the same). Never reads outside the line nor loops on bytes that
 * are not what it expects: it answers undefined, and the caller takes the strict path.
 */
export function findCanonicalKey(bytes: Uint8Array, start: number, end: number, keys: CanonicalKeyPlan): { key: string; valueEnd: number } | undefined {
  if (end <= start || end > bytes.length || bytes[start] !== LBRACE) return undefined;
  b = bytes;
  p = start;
  limit = end;
  plan = keys;
  capStart.fill(-1);
  try {
    if (!findIn(1, keys.all, true)) return undefined;
    const key = keyOf();
    return key === undefined ? undefined : { key, valueEnd: bytes[end - 1] === CR ? end - 1 : end };
  } finally {
    b = EMPTY;
  }
}

/**
 * In the object at p: captures the key fields below it, and answers whether all were there. With
 * stopEarly it returns as soon as they are (p then inside the object); else p ends after it.
 */
function findIn(depth: number, candidates: number, stopEarly: boolean): boolean {
  if (depth > JSON_MAX_DEPTH) return false;
  const buf = b;
  let wanted = candidates;
  p++; // '{'
  if (p < limit && buf[p] === RBRACE) {
    p++;
    return wanted === 0;
  }
  for (;;) {
    if (p >= limit || buf[p] !== QUOTE) return false;
    const keyStart = p + 1;
    if (!skipString()) return false;
    const keyEnd = p - 1;
    if (p >= limit || buf[p] !== COLON) return false;
    p++;
    let inner = 0;
    let captured = 0;
    for (let i = 0, bits = wanted; bits !== 0; i++, bits >>>= 1) {
      if ((bits & 1) === 0) continue;
      const path = plan.segments[i]!;
      if (!sameBytes(path[depth - 1]!, keyStart, keyEnd)) continue;
      if (path.length === depth) captured |= 1 << i;
      else inner |= 1 << i;
    }
    const valueStart = p;
    if (inner !== 0) {
      // A path through a value that is not an object does not exist.
      if (p >= limit || buf[p] !== LBRACE || !findIn(depth + 1, inner, false)) return false;
      wanted &= ~inner;
    } else if (!skipValue()) {
      return false;
    }
    for (let i = 0; captured !== 0; i++, captured >>>= 1) {
      if ((captured & 1) === 0) continue;
      capStart[i] = valueStart;
      capEnd[i] = p;
      wanted &= ~(1 << i);
    }
    if (wanted === 0 && stopEarly) return true;
    if (p >= limit) return false;
    const c = buf[p++];
    if (c === RBRACE) return wanted === 0;
    if (c !== COMMA) return false;
  }
}

/** At an opening quote: moves past the closing quote; false if there is none in the line. */
function skipString(): boolean {
  const buf = b;
  const n = limit;
  let i = p + 1;
  while (i < n) {
    const c = buf[i]!;
    if (c === QUOTE) {
      p = i + 1;
      return true;
    }
    i += c === BACKSLASH ? 2 : 1;
  }
  return false;
}

/** At a value: moves past it; false if it does not end in the line. */
function skipValue(): boolean {
  const buf = b;
  const n = limit;
  if (p >= n) return false;
  const c = buf[p]!;
  if (c === QUOTE) return skipString();
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    while (p < n) {
      const d = buf[p]!;
      if (d === QUOTE) {
        if (!skipString()) return false;
        continue;
      }
      p++;
      if (d === LBRACE || d === LBRACKET) depth++;
      else if ((d === RBRACE || d === RBRACKET) && --depth === 0) return true;
    }
    return false;
  }
  // A number or a literal: up to the next ',' or closing bracket.
  while (p < n) {
    const d = buf[p]!;
    if (d === COMMA || d === RBRACE || d === RBRACKET) return true;
    p++;
  }
  return false;
}
