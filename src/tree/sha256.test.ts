import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hmacSha256, sha256 } from '../crypto/hash.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { HmacSha256, SMALL_MESSAGE_LIMIT, sha256Fast } from './sha256.ts';

describe('sha256Fast', () => {
  test('FIPS 180-2 known answers', () => {
    assert.equal(toHex(sha256Fast(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(toHex(sha256Fast(utf8.encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(
      toHex(sha256Fast(utf8.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  test('equals node:crypto for every length around the block and limit edges', () => {
    for (let n = 0; n <= SMALL_MESSAGE_LIMIT + 70; n++) {
      const m = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff);
      assert.deepEqual(sha256Fast(m), sha256(m), `length ${n}`);
    }
  });

  test('equals node:crypto on random messages', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (m) => assert.deepEqual(sha256Fast(m), sha256(m))), { numRuns: 1000 });
  });

  test('returns a fresh array each time', () => {
    const a = sha256Fast(utf8.encode('a'));
    const b = sha256Fast(utf8.encode('b'));
    assert.notDeepEqual(a, b);
    assert.deepEqual(a, sha256(utf8.encode('a')));
  });
});

describe('HmacSha256', () => {
  test('RFC 4231 test case 2', () => {
    const mac = new HmacSha256(utf8.encode('Jefe')).mac(utf8.encode('what do ya want for nothing?'));
    assert.equal(toHex(mac), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  test('equals node:crypto HMAC for random keys (short, block-sized, long) and messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), fc.uint8Array({ maxLength: 1100 }), (key, msg) => {
        assert.deepEqual(new HmacSha256(key).mac(msg), hmacSha256(key, msg));
      }),
      { numRuns: 500 },
    );
  });

  test('one instance, many messages', () => {
    const key = new Uint8Array(32).fill(5);
    const h = new HmacSha256(key);
    for (let n = 0; n < 200; n++) {
      const m = new Uint8Array(n).fill(n);
      assert.deepEqual(h.mac(m), hmacSha256(key, m));
    }
  });
});
