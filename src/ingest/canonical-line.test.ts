import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { canonicalJson, JSON_MAX_DEPTH, parseJsonStrict } from '../format/canonical-json.ts';
import { utf8Strict } from '../format/bytes.ts';
import { findCanonicalKey, planCanonicalKeys, scanCanonicalLine } from './canonical-line.ts';
import { compileKeySpec, extractKey } from './key.ts';

const BIG = 1 << 24;

/** The scanner's answer for a whole string or byte array as one line. */
function scan(line: string | Uint8Array, key: string[] = ['k'], max = BIG): { key: string; valueEnd: number } | undefined {
  const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  return scanCanonicalLine(bytes, 0, bytes.length, planCanonicalKeys(compileKeySpec(key))!, max);
}

/** What the strict path makes of the line: its canonical bytes and key, or undefined. */
function strict(bytes: Uint8Array, key: string[]): { canonical: string; key: string | undefined } | undefined {
  let value: unknown;
  try {
    value = parseJsonStrict(utf8Strict.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const k = extractKey(value as Record<string, unknown>, compileKeySpec(key));
  return { canonical: canonicalJson(value), key: k.ok ? k.key : undefined };
}

/** Accepting must mean: the line is exactly its canonical JSON, and the key is the strict path's. */
function checkSound(bytes: Uint8Array, key: string[]): void {
  const got = scanCanonicalLine(bytes, 0, bytes.length, planCanonicalKeys(compileKeySpec(key))!, BIG);
  if (got === undefined) return;
  const want = strict(bytes, key);
  assert.ok(want !== undefined, `accepted a line the strict parser refuses: ${Buffer.from(bytes).toString('latin1')}`);
  const value = bytes.subarray(0, got.valueEnd);
  assert.equal(Buffer.from(value).toString('utf8'), want.canonical);
  assert.ok(Buffer.from(value).equals(Buffer.from(want.canonical, 'utf8')));
  assert.equal(got.key, want.key);
}

// JSON values biased towards what canonicalisation is picky about.
const trickyString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('', '/', '\\', '"', '\u0000', '\u001f', '\u007f', '\b\f\n\r\t', '\u2028', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}', 'é', 'k', 'kk', 'K'),
);
const trickyNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e21, 1e-7, 123456789012345, 1234567890123456, 2 ** 53, 2 ** 53 + 2, -1, 0.1, 5e-324, 1.7976931348623157e308),
);
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    trickyString,
    trickyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(trickyString, tie('value'), { maxKeys: 5 }),
  ),
}));
/** Every member name in a value, at any depth. */
function namesOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(namesOf);
  if (typeof v === 'object' && v !== null) return Object.entries(v).flatMap(([k, x]) => [k, ...namesOf(x)]);
  return [];
}
const record = fc.record({ k: fc.oneof(trickyString, trickyNumber), rest: fc.dictionary(trickyString, jsonValue, { maxKeys: 6 }) }).map(({ k, rest }) => ({ ...rest, k }));

describe('scanCanonicalLine: canonical lines are taken as they are', () => {
  test('the canonical JSON of a random object is accepted, with the strict path key, whenever that key is plain', () => {
    fc.assert(
      fc.property(record, (obj) => {
        const text = canonicalJson(obj);
        const bytes = Buffer.from(text, 'utf8');
        checkSound(bytes, ['k']);
        const got = scan(bytes);
        const k = obj.k;
        const plainKey = (typeof k === 'string' && k !== '' && !/["\\\u0000-\u001f]/.test(k)) || Number.isSafeInteger(k);
        const plainNames = namesOf(obj).every((n) => !/["\\\u0000-\u001f\ue000-\uffff\ud800-\udfff]/.test(n));
        if (plainKey && plainNames) {
          assert.ok(got !== undefined, `refused ${text}`);
          assert.equal(got.valueEnd, bytes.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('typical records', () => {
    for (const line of [
      '{"k":"1"}',
      '{"a":[],"b":{},"c":[{}],"k":"x"}',
      '{"k":42,"n":-1.5,"x":1e+21,"y":1e-7,"z":0}',
      '{"k":"a","s":"tab\\there \\"q\\" back\\\\slash \\u0000 \\u001f é \u2028 \u{1f600} /"}',
      '{"":1,"a":true,"b":false,"c":null,"k":"v"}',
    ]) {
      assert.ok(scan(line), line);
      checkSound(Buffer.from(line), ['k']);
    }
    assert.equal(scan('{"k":"1"}\r')?.valueEnd, 9);
  });

  test('nesting up to the limit', () => {
    const nest = (d: number): string => `{"k":"1","x":${'['.repeat(d - 1)}${']'.repeat(d - 1)}}`;
    assert.ok(scan(nest(JSON_MAX_DEPTH)));
    assert.equal(scan(nest(JSON_MAX_DEPTH + 1)), undefined);
  });
});

describe('scanCanonicalLine: anything else goes to the strict path', () => {
  const refused = (why: string, lines: string[], key = ['k']): void => {
    test(why, () => {
      for (const line of lines) {
        assert.equal(scan(line, key), undefined, line);
        checkSound(Buffer.from(line, 'utf8'), key);
      }
    });
  };
  refused('whitespace', ['{"k": "1"}', ' {"k":"1"}', '{"k":"1"} ', '{"k":"1"}\r\r', '{"k":"1"}\n']);
  refused('members out of order or repeated', ['{"k":"1","a":1}', '{"a":1,"a":2,"k":"1"}', '{"k":"1","x":{"b":1,"a":2}}']);
  refused('escapes canonical JSON does not use', ['{"k":"\\/"}', '{"k":"1","s":"\\u000a"}', '{"k":"1","s":"\\u001F"}', '{"k":"1","s":"\\u0041"}', '{"k":"1","s":"\\ud83d\\ude00"}']);
  refused('numbers not in shortest form', ['{"k":"1","n":-0}', '{"k":"1","n":1.0}', '{"k":"1","n":1E21}', '{"k":"1","n":1e21}', '{"k":"1","n":01}', '{"k":"1","n":1.50}', '{"k":"1","n":12345678901234567890}']);
  refused('not JSON', ['', '{', '{"k":"1"', '{"k":"1",}', '{"k":1,"n":1.}', '{"k":1,"n":.5}', '{"k":"1","t":tru}', '{"k":"1","t":nul}', '[1]', '"k"', '{"k":"1"}x', '{"k":"1","n":Infinity}', '{"k":"1","n":1e999}']);
  refused('unusable keys', ['{"a":1}', '{"k":""}', '{"k":null}', '{"k":1.5}', '{"k":9007199254740992}', '{"k":[]}', '{"k":{}}', '{"k":"a\\"b"}', '{"k":true}']);
  refused('a key field below an array', ['{"a":[{"b":"1"}]}'], ['a.b']);
  refused('member names whose byte order might not be UTF-16 order', ['{"\u{10000}":1,"\ue000":2,"k":"1"}', '{"\ue000":1,"\u{10000}":2,"k":"1"}', '{"a\\n":1,"k":"1"}']);

  test('invalid or non-shortest UTF-8, lone surrogates, a byte order mark', () => {
    const bad = [
      [0xc0, 0x80],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x80, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0x80],
      [0xc3],
      [0xe2, 0x82],
    ];
    for (const b of bad) {
      const line = Buffer.concat([Buffer.from('{"k":"1","s":"'), Buffer.from(b), Buffer.from('"}')]);
      assert.equal(scan(line), undefined, Buffer.from(b).toString('hex'));
    }
    assert.equal(scan(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"k":"1"}')])), undefined);
  });

  test('a record over the size limit', () => {
    assert.ok(scan('{"k":"1"}', ['k'], 9));
    assert.equal(scan('{"k":"1"}', ['k'], 8), undefined);
  });

  test('never reads outside the line', () => {
    const bytes = Buffer.from('xx{"k":"1"}{"k":"2"}');
    const plan = planCanonicalKeys(compileKeySpec(['k']))!;
    assert.equal(scanCanonicalLine(bytes, 2, 11, plan, BIG)?.key, '1');
    assert.equal(scanCanonicalLine(bytes, 2, 10, plan, BIG), undefined);
    assert.equal(scanCanonicalLine(bytes, 2, 12, plan, BIG), undefined);
    assert.equal(scanCanonicalLine(Buffer.from('{"k":"1","s":"ab'), 0, 16, plan, BIG), undefined);
  });
});

describe('scanCanonicalLine: keys', () => {
  test('dotted and composite keys, integers as decimal strings', () => {
    const line = '{"a":{"b":{"c":"x"},"d":7},"e":"y/z","k":-12}';
    assert.equal(scan(line, ['a.b.c'])?.key, 'x');
    assert.equal(scan(line, ['a.d', 'k'])?.key, '7/-12');
    assert.equal(scan(line, ['k', 'a.b.c', 'a.d'])?.key, '-12/x/7');
    assert.equal(scan(line, ['e'])?.key, 'y/z');
    // '/' inside one part of a composite key is an error the strict path reports.
    assert.equal(scan(line, ['e', 'k']), undefined);
    assert.equal(scan(line, ['a.b']), undefined);
    assert.equal(scan(line, ['a.x']), undefined);
  });

  test('names that need escaping in a key path match their canonical form', () => {
    assert.equal(scan('{"a\\"b":"1"}', ['a"b'])?.key, '1');
    assert.equal(scan('{"a\\u0001":"1"}', ['a\u0001'])?.key, '1');
    assert.equal(scan('{"é":"1"}', ['é'])?.key, '1');
  });

  test('a key over the length limit', () => {
    assert.equal(scan(`{"k":"${'x'.repeat(1024)}"}`)?.key.length, 1024);
    assert.equal(scan(`{"k":"${'x'.repeat(1025)}"}`), undefined);
  });
});

describe('scanCanonicalLine: never accepts what the strict path would change or refuse', () => {
  // Mutations of canonical lines: the scanner may refuse them, but whatever it accepts must be
  // canonical already.
  const mutated = fc
    .tuple(record, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('insert', 'replace', 'delete')), { maxLength: 3 }))
    .map(([obj, edits]) => {
      const bytes = [...Buffer.from(canonicalJson(obj), 'utf8')];
      for (const [at, b, op] of edits) {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (op === 'insert') bytes.splice(i, 0, b);
        else if (op === 'replace') bytes[i] = b;
        else bytes.splice(i, 1);
      }
      return Uint8Array.from(bytes);
    });

  test('random byte edits of canonical lines', () => {
    fc.assert(
      fc.property(mutated, (bytes) => checkSound(bytes, ['k'])),
      { numRuns: 5000 },
    );
  });

  test('random JSON text, formatted by JSON.stringify with and without indentation', () => {
    fc.assert(
      fc.property(record, fc.constantFrom(undefined, 1), (obj, indent) => {
        checkSound(Buffer.from(JSON.stringify(obj, null, indent), 'utf8'), ['k']);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('findCanonicalKey: a line accepted before', () => {
  const paths = fc.constantFrom(['k'], ['k', 'a.b'], ['a.b', 'k'], ['a', 'a.b'], ['z.y.x', 'k']);
  const nested = fc
    .tuple(record, fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), fc.oneof(fc.string({ maxLength: 4 }), fc.integer()))
    .map(([obj, ab, zyx]) => {
      const a = (obj as Record<string, unknown>).a;
      return { ...obj, a: { ...(typeof a === 'object' && a !== null && !Array.isArray(a) ? a : {}), b: ab }, z: { y: { x: zyx } } };
    });

  test('gives the key and value end that scanCanonicalLine gave', () => {
    fc.assert(
      fc.property(nested, paths, fc.boolean(), (obj, key, cr) => {
        const bytes = Buffer.from(canonicalJson(obj) + (cr ? '\r' : ''), 'utf8');
        const plan = planCanonicalKeys(compileKeySpec(key))!;
        const full = scanCanonicalLine(bytes, 0, bytes.length, plan, BIG);
        if (full === undefined) return;
        assert.deepEqual(findCanonicalKey(bytes, 0, bytes.length, plan), full);
      }),
      { numRuns: 10000 },
    );
  });
});

describe('findCanonicalKey: bytes that are not what it expects', () => {
  test('ends, within the line, for any bytes', () => {
    const plan = planCanonicalKeys(compileKeySpec(['k', 'a.b']))!;
    const bytesOf = fc.oneof(
      fc.uint8Array({ maxLength: 60 }),
      fc.tuple(record, fc.nat(), fc.nat()).map(([o, cutAt, x]) => {
        const t = Buffer.from(canonicalJson({ ...o, a: { b: x } }), 'utf8');
        return t.subarray(0, cutAt % (t.length + 1));
      }),
    );
    fc.assert(
      fc.property(bytesOf, (bytes) => {
        // Followed by bytes that would let a runaway scan continue: it must not look at them.
        const padded = Buffer.concat([bytes, Buffer.from('"}:{"k":"x"}')]);
        const got = findCanonicalKey(padded, 0, bytes.length, plan);
        if (got !== undefined) assert.ok(got.valueEnd <= bytes.length);
      }),
      { numRuns: 3000 },
    );
  });
});
