import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../format/bytes.ts';
import { hmacSha256, sha256, SHA256_SIZE } from './hash.ts';

const hex = (s: string): Uint8Array => fromHex(s)!;
const repeat = (byte: number, n: number): Uint8Array => new Uint8Array(n).fill(byte);

describe('sha256: FIPS 180-2 known answers', () => {
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['"abc"', utf8.encode('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      '448-bit message',
      utf8.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    ['one million "a"', repeat(0x61, 1_000_000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ];
  for (const [name, msg, want] of cases) {
    test(name, () => assert.equal(toHex(sha256(msg)), want));
  }

  test('hashing several parts equals hashing their concatenation', () => {
    const whole = utf8.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    assert.deepEqual(sha256(whole.subarray(0, 3), whole.subarray(3, 40), whole.subarray(40)), sha256(whole));
    assert.equal(sha256().length, SHA256_SIZE);
  });
});

describe('hmacSha256: RFC 4231 test cases', () => {
  const cases: [string, Uint8Array, Uint8Array, string][] = [
    [
      '1',
      repeat(0x0b, 20),
      utf8.encode('Hi There'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      '2 (key shorter than the output)',
      utf8.encode('Jefe'),
      utf8.encode('what do ya want for nothing?'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    ['3', repeat(0xaa, 20), repeat(0xdd, 50), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    [
      '4',
      hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
      repeat(0xcd, 50),
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    ],
    [
      '6 (key larger than the block size)',
      repeat(0xaa, 131),
      utf8.encode('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      '7 (key and data larger than the block size)',
      repeat(0xaa, 131),
      utf8.encode(
        'This is a test using a larger than block-size key and a larger than block-size data. ' +
          'The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ];
  for (const [name, key, data, want] of cases) {
    test(`test case ${name}`, () => assert.equal(toHex(hmacSha256(key, data)), want));
  }

  test('test case 5 (output truncated to 128 bits)', () => {
    const mac = hmacSha256(repeat(0x0c, 20), utf8.encode('Test With Truncation'));
    assert.equal(toHex(mac.subarray(0, 16)), 'a3b6167473100ee06e0c796c2955552b');
  });

  test('several parts equal their concatenation', () => {
    const key = utf8.encode('Jefe');
    assert.deepEqual(
      hmacSha256(key, utf8.encode('what do ya '), utf8.encode('want for nothing?')),
      hmacSha256(key, utf8.encode('what do ya want for nothing?')),
    );
  });
});
