// Canonical JSON per RFC 8785 (JCS): the one byte encoding of a JSON value that we hash and sign.
// Also a strict parser for untrusted JSON text: RFC 8259 grammar plus the I-JSON rules of RFC 7493
// that canonicalisation depends on (no duplicate property names, no lone surrogates, numbers that
// fit a double). Both sides cap nesting at JSON_MAX_DEPTH, so whatever canonicalJson writes,
// parseJsonStrict reads back, and neither can be driven into a stack overflow.
import { EmbassyError } from '../errors.ts';
import { utf8 } from './bytes.ts';

/** Containers nested deeper than this are refused by both directions. */
export const JSON_MAX_DEPTH = 128;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Strings without these code units are written between quotes unchanged.
const NEEDS_CARE = /[\u0000-\u001f"\\\ud800-\udfff]/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_PATH_KEY = 40;

function invalid(message: string): EmbassyError {
  return new EmbassyError('json.invalid', `json: ${message}`);
}

// ---- canonicalJson -----------------------------------------------------------------------------

// Only ever built when throwing: the hot path keeps a bare stack of keys and indices.
function formatPath(path: readonly (string | number)[]): string {
  let s = '$';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (IDENTIFIER.test(p)) s += `.${p}`;
    else s += `[${JSON.stringify(p.length > MAX_PATH_KEY ? `${p.slice(0, MAX_PATH_KEY)}…` : p)}]`;
  }
  return s;
}

class Canonicalizer {
  out = '';
  private readonly path: (string | number)[] = [];
  // Containers on the current path; a shared (but acyclic) sub-value is fine and is written twice.
  private readonly open: object[] = [];

  private fail(what: string): never {
    throw invalid(`${what} at ${formatPath(this.path)}`);
  }

  private string(s: string, what: string): void {
    if (!NEEDS_CARE.test(s)) {
      this.out += `"${s}"`;
      return;
    }
    if (LONE_SURROGATE.test(s)) this.fail(`lone surrogate in ${what}`);
    // ECMAScript's JSON.stringify of a well-formed string is exactly RFC 8785 §3.2.2.2: the
    // two-character escapes for \b \t \n \f \r " \, \u00xx in lowercase for other controls,
    // everything else (including / and U+2028) as is.
    this.out += JSON.stringify(s);
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.string(v, 'string');
        return;
      case 'number':
        if (!Number.isFinite(v)) this.fail('non-finite number');
        // Number::toString is the RFC's number format; it already writes -0 as "0".
        this.out += String(v);
        return;
      case 'boolean':
        this.out += v ? 'true' : 'false';
        return;
      case 'object':
        if (v === null) {
          this.out += 'null';
          return;
        }
        this.container(v);
        return;
      default:
        // undefined, function, bigint, symbol: JSON.stringify would drop or throw; we refuse.
        this.fail(`unsupported ${typeof v}`);
    }
  }

  private container(v: object): void {
    if (this.open.includes(v)) this.fail('cycle');
    if (this.open.length >= JSON_MAX_DEPTH) this.fail(`nesting deeper than ${JSON_MAX_DEPTH}`);
    const proto: unknown = Object.getPrototypeOf(v);
    if (Array.isArray(v) && proto === Array.prototype) {
      this.open.push(v);
      this.out += '[';
      const n = v.length;
      for (let i = 0; i < n; i++) {
        if (i > 0) this.out += ',';
        this.path.push(i);
        this.value(v[i]);
        this.path.pop();
      }
      this.out += ']';
    } else if (proto === Object.prototype || proto === null) {
      this.open.push(v);
      this.out += '{';
      const rec = v as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks for.
      const keys = Object.keys(rec).sort();
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (i > 0) this.out += ',';
        this.path.push(k);
        this.string(k, 'property name');
        this.out += ':';
        this.value(rec[k]);
        this.path.pop();
      }
      this.out += '}';
    } else {
      const name = (proto as { constructor?: { name?: unknown } } | null)?.constructor?.name;
      this.fail(`non-plain object${typeof name === 'string' && name !== '' ? ` (${name})` : ''}`);
    }
    this.open.pop();
  }
}

/**
 * The RFC 8785 canonical form of a JSON value made of null, booleans, finite numbers, strings,
 * arrays and plain objects. Anything else (undefined, NaN, bigint, Date, Map, class instances,
 * cycles, lone surrogates, too deep) is 'json.invalid' with the path of the offending value.
 * Symbol-keyed and non-enumerable properties are ignored, as by JSON.stringify.
 */
export function canonicalJson(value: unknown): string {
  const c = new Canonicalizer();
  c.value(value);
  return c.out;
}

/** canonicalJson as UTF-8; lone surrogates were refused, so the encoding is lossless. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8.encode(canonicalJson(value));
}

// ---- parseJsonStrict ---------------------------------------------------------------------------

// Code units the parser looks at.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const ONE = 0x31;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LOWER_E = 0x65;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

// Recursive descent over UTF-16 code units. Recursion is bounded by JSON_MAX_DEPTH, far below
// V8's stack. Offsets in messages are code-unit offsets into the text, never the text itself.
class StrictParser {
  pos = 0;
  private depth = 0;
  constructor(private readonly text: string) {}

  fail(what: string, at = this.pos): never {
    if (at >= this.text.length) throw invalid(`unexpected end of input at offset ${at}`);
    throw invalid(`${what} at offset ${at}`);
  }

  skipWhitespace(): void {
    const t = this.text;
    let i = this.pos;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === SPACE || c === LF || c === CR || c === TAB) i++;
      else break;
    }
    this.pos = i;
  }

  value(): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case LBRACE:
        return this.object();
      case LBRACKET:
        return this.array();
      case QUOTE:
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
        return this.fail('unexpected character');
    }
  }

  private literal<T>(word: string, v: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('unexpected character');
    this.pos += word.length;
    return v;
  }

  private enter(): void {
    if (++this.depth > JSON_MAX_DEPTH) this.fail(`nesting deeper than ${JSON_MAX_DEPTH}`);
    this.pos++;
    this.skipWhitespace();
  }

  private object(): Record<string, unknown> {
    this.enter();
    const t = this.text;
    const obj: Record<string, unknown> = {};
    if (t.charCodeAt(this.pos) === RBRACE) {
      this.pos++;
      this.depth--;
      return obj;
    }
    for (;;) {
      const keyAt = this.pos;
      if (t.charCodeAt(keyAt) !== QUOTE) this.fail('expected property name');
      const key = this.string();
      // RFC 7493 §2.3: a duplicate name is an error, never "last one wins" (which different
      // parsers resolve differently, so two verifiers could see two different records).
      if (Object.hasOwn(obj, key)) this.fail('duplicate property name', keyAt);
      this.skipWhitespace();
      if (t.charCodeAt(this.pos) !== COLON) this.fail("expected ':'");
      this.pos++;
      this.skipWhitespace();
      const v = this.value();
      // Plain assignment of "__proto__" would replace the prototype instead of adding a member.
      if (key === '__proto__') {
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
      } else {
        obj[key] = v;
      }
      this.skipWhitespace();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === COMMA) {
        this.skipWhitespace();
        continue;
      }
      if (c === RBRACE) break;
      this.fail("expected ',' or '}'", this.pos - 1);
    }
    this.depth--;
    return obj;
  }

  private array(): unknown[] {
    this.enter();
    const t = this.text;
    const arr: unknown[] = [];
    if (t.charCodeAt(this.pos) === RBRACKET) {
      this.pos++;
      this.depth--;
      return arr;
    }
    for (;;) {
      arr.push(this.value());
      this.skipWhitespace();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === COMMA) {
        this.skipWhitespace();
        continue;
      }
      if (c === RBRACKET) break;
      this.fail("expected ',' or ']'", this.pos - 1);
    }
    this.depth--;
    return arr;
  }

  private string(): string {
    const t = this.text;
    const start = this.pos + 1;
    let i = start;
    // Fast path: no escapes, so the value is a slice of the input.
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return t.slice(start, i);
      }
      if (c === BACKSLASH) return this.escapedString(start, i);
      if (c < SPACE || c !== c) this.fail('unescaped control character in string', i); // c !== c: NaN, end
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = t.charCodeAt(i + 1);
        if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) this.fail('lone surrogate in string', i);
        i++;
      }
      i++;
    }
  }

  private escapedString(start: number, firstEscape: number): string {
    const t = this.text;
    let out = t.slice(start, firstEscape);
    let i = firstEscape;
    let chunk = i;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) break;
      if (c < SPACE || c !== c) this.fail('unescaped control character in string', i);
      if (c !== BACKSLASH) {
        i++;
        continue;
      }
      out += t.slice(chunk, i);
      const e = t.charCodeAt(i + 1);
      switch (e) {
        case 0x22:
        case 0x5c:
        case 0x2f:
          out += String.fromCharCode(e);
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const h0 = hexDigit(t.charCodeAt(i + 2));
          const h1 = hexDigit(t.charCodeAt(i + 3));
          const h2 = hexDigit(t.charCodeAt(i + 4));
          const h3 = hexDigit(t.charCodeAt(i + 5));
          if ((h0 | h1 | h2 | h3) < 0) this.fail('invalid \\u escape', i);
          out += String.fromCharCode((h0 << 12) | (h1 << 8) | (h2 << 4) | h3);
          i += 4;
          break;
        }
        default:
          this.fail('invalid escape', i);
      }
      i += 2;
      chunk = i;
    }
    out += t.slice(chunk, i);
    this.pos = i + 1;
    // Pairs may be split across an escape and a raw code unit, so check the decoded value whole.
    if (LONE_SURROGATE.test(out)) this.fail('lone surrogate in string', start - 1);
    return out;
  }

  private number(): number {
    const t = this.text;
    const start = this.pos;
    let i = start;
    const negative = t.charCodeAt(i) === MINUS;
    if (negative) i++;
    let c = t.charCodeAt(i);
    // Decimal digits of integer and fraction part as one integer, and how many were after the dot.
    let mantissa = 0;
    let digits = 0;
    let fractionDigits = 0;
    if (c === ZERO) {
      c = t.charCodeAt(++i);
    } else if (c >= ONE && c <= NINE) {
      do {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
        c = t.charCodeAt(++i);
      } while (c >= ZERO && c <= NINE);
    } else {
      this.fail('invalid number', i);
    }
    if (c === DOT) {
      c = t.charCodeAt(++i);
      if (!(c >= ZERO && c <= NINE)) this.fail('invalid number', i);
      do {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
        fractionDigits++;
        c = t.charCodeAt(++i);
      } while (c >= ZERO && c <= NINE);
    }
    let exponent = false;
    if (c === LOWER_E || c === UPPER_E) {
      exponent = true;
      c = t.charCodeAt(++i);
      if (c === PLUS || c === MINUS) c = t.charCodeAt(++i);
      if (!(c >= ZERO && c <= NINE)) this.fail('invalid number', i);
      do c = t.charCodeAt(++i);
      while (c >= ZERO && c <= NINE);
    }
    this.pos = i;
    // Clinger's fast path: with at most 15 digits the mantissa is an exact double, as is 10^k for
    // k <= 22, so one IEEE division is the correctly rounded value — the same double Number() gives.
    if (!exponent && digits <= 15) {
      const v = fractionDigits === 0 ? mantissa : mantissa / POW10[fractionDigits]!;
      return negative ? -v : v;
    }
    const n = Number(t.slice(start, i));
    if (!Number.isFinite(n)) this.fail('number out of range', start);
    return n;
  }
}

/**
 * Parses untrusted JSON text (RFC 8259) with the I-JSON restrictions above and a nesting limit.
 * Every failure is 'json.invalid' with a code-unit offset. The result is made of plain objects,
 * arrays and primitives, so canonicalJson accepts it. "-0" parses to -0, as with JSON.parse;
 * integers beyond 2^53 are rounded like JSON.parse does (RFC 7493 §2.2 only says SHOULD NOT).
 */
export function parseJsonStrict(text: string): unknown {
  if (typeof text !== 'string') throw invalid(`expected a string, got ${typeof text}`);
  const p = new StrictParser(text);
  try {
    p.skipWhitespace();
    const v = p.value();
    p.skipWhitespace();
    if (p.pos !== text.length) p.fail('unexpected character after the value');
    return v;
  } catch (e) {
    if (e instanceof EmbassyError) throw e;
    // Only resource exhaustion (a string longer than V8 allows) can get here.
    throw new EmbassyError('json.invalid', 'json: input could not be parsed', { cause: e });
  }
}
