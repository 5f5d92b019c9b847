import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { concatBytes, toHex, utf8 } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { encodePack, MAX_PACK_OBJECT_SIZE, packSize, scanPack, type PackObject } from './pack-format.ts';

const obj = (s: string): PackObject => {
  const bytes = utf8.encode(s);
  return { id: sha256(bytes), bytes };
};
const objects = fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }).map((bs) => bs.map((bytes) => ({ id: sha256(bytes), bytes })));

describe('encodePack / scanPack', () => {
  test('round trip: entries point at the object bytes, in order', () => {
    fc.assert(
      fc.property(objects, (objs) => {
        const { bytes, entries } = encodePack(objs);
        assert.equal(bytes.length, packSize(objs.map((o) => o.bytes.length)));
        const scan = scanPack(bytes);
        assert.equal(scan.complete, true);
        assert.equal(scan.problem, undefined);
        assert.deepEqual(scan.entries, entries);
        scan.entries.forEach((e, i) => {
          assert.deepEqual(e.id, objs[i]!.id);
          assert.deepEqual(bytes.subarray(e.offset, e.offset + e.length), objs[i]!.bytes);
        });
      }),
    );
  });

  test('golden: the version 1 layout does not drift', () => {
    const { bytes } = encodePack([obj('a'), obj('bc')]);
    assert.equal(
      toHex(bytes),
      '44455041434b3031' + // "DEPACK01"
        toHex(sha256(utf8.encode('a'))) + '00000001' + '61' +
        toHex(sha256(utf8.encode('bc'))) + '00000002' + '6263' +
        '44455041434b4958' + '00000002', // "DEPACKIX", count
    );
    assert.equal(toHex(encodePack([]).bytes), '44455041434b303144455041434b495800000000');
  });

  test('an empty pack is complete', () => {
    assert.deepEqual(scanPack(encodePack([]).bytes), { entries: [], complete: true, problem: undefined });
  });

  test('refuses ids that are not 32 bytes', () => {
    assert.throws(() => encodePack([{ id: new Uint8Array(31), bytes: new Uint8Array(1) }]), (e) => isEmbassyError(e, 'input.malformed'));
  });
});

describe('scanPack: truncated packs', () => {
  test('every proper prefix of a pack is incomplete, with the whole entries before the cut', () => {
    fc.assert(
      fc.property(objects, fc.nat(), (objs, cut) => {
        const { bytes, entries } = encodePack(objs);
        const n = cut % bytes.length;
        const scan = scanPack(bytes.subarray(0, n));
        assert.equal(scan.complete, false);
        assert.ok(scan.problem);
        assert.deepEqual(scan.entries, entries.filter((e) => e.offset + e.length <= n));
      }),
    );
  });
  test('the trailer alone is missing', () => {
    const { bytes } = encodePack([obj('x')]);
    const scan = scanPack(bytes.subarray(0, bytes.length - 12));
    assert.equal(scan.complete, false);
    assert.equal(scan.entries.length, 1);
  });
});

describe('scanPack: malformed packs', () => {
  const good = encodePack([obj('one'), obj('two')]).bytes;
  const cases: [string, Uint8Array][] = [
    ['empty file', new Uint8Array(0)],
    ['bad magic', concatBytes(utf8.encode('DEPACK02'), good.subarray(8))],
    ['trailer count too high', (() => { const b = good.slice(); b[b.length - 1] = 3; return b; })()],
    ['trailer count too low', (() => { const b = good.slice(); b[b.length - 1] = 1; return b; })()],
    ['junk after the trailer', concatBytes(good, new Uint8Array(1))],
    ['two trailers', concatBytes(good, good.subarray(good.length - 12))],
    ['entry length past the end', (() => { const b = good.slice(); new DataView(b.buffer).setUint32(8 + 32, 1000); return b; })()],
    ['entry length over the object limit', (() => { const b = good.slice(); new DataView(b.buffer).setUint32(8 + 32, MAX_PACK_OBJECT_SIZE + 1); return b; })()],
  ];
  for (const [name, bytes] of cases) {
    test(name, () => {
      const scan = scanPack(bytes);
      assert.equal(scan.complete, false);
      assert.equal(typeof scan.problem, 'string');
    });
  }
  test('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (b, magic) => {
        const scan = scanPack(magic ? concatBytes(utf8.encode('DEPACK01'), b) : b);
        assert.equal(typeof scan.complete, 'boolean');
      }),
    );
  });
});
