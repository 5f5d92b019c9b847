import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { toHex } from './bytes.ts';
import { canonicalJson, canonicalJsonBytes, JSON_MAX_DEPTH, parseJsonStrict } from './canonical-json.ts';

const jsonInvalid = (e: unknown): boolean => isEmbassyError(e, 'json.invalid');

function nested(depth: number, open = '[', close = ']'): string {
  return open.repeat(depth) + close.repeat(depth);
}
function nestedValue(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

// JSON values as canonicalJson accepts them: no -0 (written as 0, so it cannot come back as -0),
// strings of any code points (fast-check's 'binary' unit never yields a lone surrogate), plain
// objects only.
const jsonString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary-ascii' }));
const jsonNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, Number.MAX_VALUE, 1e21, 1e-7, 0.1, 123.456),
);
const { json: jsonArbitrary } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    jsonNumber,
    jsonString,
    fc.array(tie('json'), { maxLength: 5 }),
    fc.dictionary(jsonString, tie('json'), { maxKeys: 5, noNullPrototype: true }),
  ),
}));

describe('canonicalJson: RFC 8785 examples', () => {
  test('§3.2.2 primitive serialisation', () => {
    const input =
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
      '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}';
    assert.equal(
      canonicalJson(parseJsonStrict(input)),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('§3.2.3 property sorting by UTF-16 code units', () => {
    const input =
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh",' +
      '"1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",' +
      '"\\u00f6":"Latin Small Letter O With Diaeresis"}';
    assert.equal(
      canonicalJson(parseJsonStrict(input)),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  test('Appendix B number serialisation', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    const view = new DataView(new ArrayBuffer(8));
    for (const [bits, want] of cases) {
      view.setBigUint64(0, BigInt(`0x${bits}`));
      const x = view.getFloat64(0);
      assert.equal(canonicalJson(x), want, bits);
      assert.equal(Object.is(parseJsonStrict(want), x === 0 ? 0 : x), true, `parse ${want}`);
    }
  });
});

describe('canonicalJson: strings', () => {
  test('exactly the required escapes, lowercase \\u00xx for other controls', () => {
    const controls = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join('');
    assert.equal(
      canonicalJson(controls),
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f' +
        '\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c' +
        '\\u001d\\u001e\\u001f"',
    );
    assert.equal(canonicalJson('"\\/\u007f\u2028\u2029é😀'), '"\\"\\\\/\u007f\u2028\u2029é😀"');
  });

  test('canonicalJsonBytes is UTF-8 of the text', () => {
    assert.equal(toHex(canonicalJsonBytes({ '€': '😀' })), '7b22e282ac223a22f09f9880227d');
  });
});

describe('canonicalJson: values', () => {
  test('-0 is written as 0 and other primitives as JSON', () => {
    assert.equal(canonicalJson(-0), '0');
    assert.equal(canonicalJson([null, true, false, 1, -1.5, 'x']), '[null,true,false,1,-1.5,"x"]');
  });

  test('null-prototype objects and shared (acyclic) sub-values are fine', () => {
    const shared = { b: 1 };
    const o = Object.assign(Object.create(null) as object, { z: shared, a: shared });
    assert.equal(canonicalJson(o), '{"a":{"b":1},"z":{"b":1}}');
  });

  test('an own "__proto__" member is an ordinary member', () => {
    const v = parseJsonStrict('{"__proto__":{"x":1},"a":2}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(canonicalJson(v), '{"__proto__":{"x":1},"a":2}');
  });

  test(`nesting of ${JSON_MAX_DEPTH} is allowed`, () => {
    assert.equal(canonicalJson(nestedValue(JSON_MAX_DEPTH)).length > 0, true);
  });
});

describe('canonicalJson: non-finite numbers', () => {
  for (const x of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    test(String(x), () => assert.throws(() => canonicalJson({ a: [1, 2, 3, x] }), jsonInvalid));
  }
});

describe('canonicalJson: values that are not JSON', () => {
  const cases: [string, unknown][] = [
    ['undefined', undefined],
    ['undefined member', { a: undefined }],
    ['array hole', [1, , 3]],
    ['function', () => 1],
    ['bigint', 1n],
    ['symbol', Symbol('s')],
  ];
  for (const [name, v] of cases) {
    test(name, () => assert.throws(() => canonicalJson({ x: [v] }), jsonInvalid));
  }
});

describe('canonicalJson: non-plain objects', () => {
  class Point {
    x = 1;
  }
  class MyArray extends Array<number> {}
  const cases: [string, unknown][] = [
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['Set', new Set()],
    ['Uint8Array', new Uint8Array(2)],
    ['RegExp', /x/],
    ['class instance', new Point()],
    ['boxed number', Object(1)],
    ['boxed string', Object('s')],
    ['Array subclass', MyArray.from([1])],
  ];
  for (const [name, v] of cases) {
    test(name, () => assert.throws(() => canonicalJson({ x: v }), jsonInvalid));
  }
});

describe('canonicalJson: cycles', () => {
  test('object and array cycles', () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    assert.throws(() => canonicalJson(o), jsonInvalid);
    const a: unknown[] = [];
    a.push({ back: a });
    assert.throws(() => canonicalJson(a), jsonInvalid);
  });
});

describe('canonicalJson: lone surrogates', () => {
  for (const s of ['\ud800', 'a\udc00', '\udc00\ud800', 'x\ud83d']) {
    test(`in a value: ${JSON.stringify(s)}`, () => assert.throws(() => canonicalJson([s]), jsonInvalid));
    test(`in a property name: ${JSON.stringify(s)}`, () => assert.throws(() => canonicalJson({ [s]: 1 }), jsonInvalid));
  }
});

describe('canonicalJson: nesting too deep', () => {
  test(`${JSON_MAX_DEPTH + 1} levels`, () => {
    assert.throws(() => canonicalJson(nestedValue(JSON_MAX_DEPTH + 1)), jsonInvalid);
  });
});

test('canonicalJson: an error names the path of the offending value', () => {
  assert.throws(() => canonicalJson({ a: [1, 2, 3, Number.NaN] }), { message: /\$\.a\[3\]/ });
  assert.throws(() => canonicalJson({ 'odd key': { b: undefined } }), { message: /\$\["odd key"\]\.b/ });
});

describe('canonicalJson / parseJsonStrict: properties', () => {
  test('parseJsonStrict(canonicalJson(v)) deep-equals v', () => {
    fc.assert(
      fc.property(jsonArbitrary, (v) => {
        assert.deepStrictEqual(parseJsonStrict(canonicalJson(v)), v);
      }),
      { numRuns: 500 },
    );
  });

  test('canonicalJson is idempotent through JSON.parse', () => {
    fc.assert(
      fc.property(jsonArbitrary, (v) => {
        const c = canonicalJson(v);
        assert.equal(canonicalJson(JSON.parse(c)), c);
      }),
      { numRuns: 500 },
    );
  });

  test('the order in which members were added does not matter', () => {
    fc.assert(
      fc.property(fc.dictionary(jsonString, jsonArbitrary, { noNullPrototype: true }), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        assert.equal(canonicalJson(reversed), canonicalJson(o));
      }),
      { numRuns: 200 },
    );
  });

  test('parseJsonStrict agrees with JSON.parse on any JSON text without duplicates', () => {
    fc.assert(
      fc.property(fc.json({ stringUnit: 'binary' }), (text) => {
        assert.deepStrictEqual(parseJsonStrict(text), JSON.parse(text));
        const spaced = ` \n\t${text}\r `;
        assert.deepStrictEqual(parseJsonStrict(spaced), JSON.parse(spaced));
      }),
      { numRuns: 500 },
    );
  });

  test('number literals parse to exactly the double JSON.parse gives', () => {
    const digits = (max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: max });
    const exponent = fc.tuple(fc.constantFrom('e', 'E+', 'e-'), digits(3));
    const literal = fc
      .tuple(fc.boolean(), digits(20), fc.option(digits(25)), fc.option(exponent))
      .map(([neg, int, frac, exp]) => {
        const i = int.replace(/^0+(?=\d)/, '');
        return `${neg ? '-' : ''}${i}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`;
      })
      .filter((s) => Number.isFinite(JSON.parse(s)));
    fc.assert(
      fc.property(literal, (s) => assert.ok(Object.is(parseJsonStrict(s), JSON.parse(s)), s)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(jsonNumber, (x) => assert.ok(Object.is(parseJsonStrict(String(x)), x))),
      { numRuns: 1000 },
    );
  });
});

describe('parseJsonStrict: accepted edge cases', () => {
  test('surrogate pairs escaped, raw, or split across an escape', () => {
    assert.equal(parseJsonStrict('"\\ud83d\\ude00"'), '😀');
    assert.equal(parseJsonStrict('"😀"'), '😀');
    assert.equal(parseJsonStrict('"\\ud83d\ude00"'), '😀');
  });

  test('"-0", inherited names as members, the same name in different objects', () => {
    assert.ok(Object.is(parseJsonStrict('-0'), -0));
    assert.deepEqual(parseJsonStrict('{"toString":1,"constructor":2,"hasOwnProperty":3}'), {
      toString: 1,
      constructor: 2,
      hasOwnProperty: 3,
    });
    assert.deepEqual(parseJsonStrict('[{"a":1},{"a":2,"b":{"a":3}}]'), [{ a: 1 }, { a: 2, b: { a: 3 } }]);
  });

  test(`${JSON_MAX_DEPTH} levels of nesting`, () => {
    assert.doesNotThrow(() => parseJsonStrict(nested(JSON_MAX_DEPTH)));
    assert.doesNotThrow(() => parseJsonStrict('{"a":'.repeat(JSON_MAX_DEPTH) + '1' + '}'.repeat(JSON_MAX_DEPTH)));
  });
});

function rejects(texts: readonly string[]): void {
  for (const text of texts) {
    test(JSON.stringify(text).slice(0, 60), () => {
      assert.throws(() => parseJsonStrict(text), jsonInvalid);
    });
  }
}

describe('parseJsonStrict: grammar errors (JSON.parse also refuses these)', () => {
  const texts = [
    '', ' ', '[1,]', '{"a":1,}', '[,1]', '01', '-01', '+1', '.5', '1.', '1.e5', '1e', '1e+', '-', '0x10',
    'NaN', 'Infinity', '-Infinity', 'tru', 'nul', 'True', 'undefined', "'a'", '{a:1}', '{"a" 1}', '{"a":}',
    '{"a":1 "b":2}', '[1 2]', '[', ']', '{', '"abc', '"\\x"', '"\\u12"', '"\\u12g4"', '"\\', '"\t"', '"\n"',
    '"\u0000"', '\ufeff1', '1 2', '[1] x', '// c\n1', '/* c */1', '[1]\u00a0', '\u00a01',
  ];
  test('JSON.parse agrees that every case is invalid', () => {
    for (const t of texts) assert.throws(() => JSON.parse(t), SyntaxError, JSON.stringify(t));
  });
  rejects(texts);
});

describe('parseJsonStrict: duplicate property names', () => {
  rejects([
    '{"a":1,"a":2}',
    '{"a":1,"b":2,"a":1}',
    '{"a":1,"\\u0061":2}',
    '{"x":{"a":[],"a":null}}',
    '{"__proto__":1,"__proto__":2}',
    '{"toString":1,"toString":2}',
    '{"":1,"":2}',
  ]);
});

describe('parseJsonStrict: lone surrogates', () => {
  rejects(['"\\ud800"', '"\\udc00"', '"\\ude00\\ud83d"', '"a\\ud83d"', '"\\ud83dx"', '"\ud800"', '"\udc00a"',
    '"\\ud83d\\u0041"', '{"\\ud800":1}', '"\ud83d\\n"']);
});

describe('parseJsonStrict: nesting too deep', () => {
  rejects([
    nested(JSON_MAX_DEPTH + 1),
    '{"a":'.repeat(JSON_MAX_DEPTH + 1) + '1' + '}'.repeat(JSON_MAX_DEPTH + 1),
    nested(100_000),
  ]);
});

describe('parseJsonStrict: numbers out of double range', () => {
  rejects(['1e400', '-1e400', '[1.7976931348623159e308]']);
});

describe('parseJsonStrict: input that is not a string', () => {
  test('a number or a Buffer', () => {
    assert.throws(() => parseJsonStrict(1 as unknown as string), jsonInvalid);
    assert.throws(() => parseJsonStrict(Buffer.from('1') as unknown as string), jsonInvalid);
  });
});
