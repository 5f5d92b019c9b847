import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { fromBase64, toBase64, toHex } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { MAX_CHECKPOINT_SIZE, formatCheckpoint, openCheckpoint, parseCheckpoint, type Checkpoint } from './checkpoint.ts';
import { ed25519NoteSigner, ed25519NoteVerifier, signNote } from './note.ts';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEmbassyError(e, code), `expected ${code}, got ${String(e)}`);
    return true;
  });
}

const ORIGIN = 'example.com/log';
const seed = (n: number) => new Uint8Array(32).fill(n);
const logSigner = ed25519NoteSigner(ORIGIN, seed(1));
const logVerifier = ed25519NoteVerifier(ORIGIN, ed25519PublicKey(seed(1)));
const mirror = ed25519NoteSigner('example.com/mirror', seed(2));
const mirrorVerifier = ed25519NoteVerifier('example.com/mirror', ed25519PublicKey(seed(2)));
const ROOT = sha256(new TextEncoder().encode('root'));
const R64 = toBase64(ROOT);
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Same bytes, different text: set an unused low bit of the last character before the "=". */
function nonCanonical(b64: string): string {
  const out = b64.slice(0, -2) + B64[B64.indexOf(b64[b64.length - 2]!) ^ 1] + '=';
  assert.deepEqual(Buffer.from(out, 'base64'), Buffer.from(b64, 'base64'));
  assert.equal(fromBase64(out), undefined);
  return out;
}
const cp: Checkpoint = { origin: ORIGIN, size: 42n, root: ROOT, extensions: [] };

describe('format and parse', () => {
  test('three lines, each ending in a newline', () => {
    assert.equal(formatCheckpoint(cp), `${ORIGIN}\n42\n${R64}\n`);
    assert.deepEqual(parseCheckpoint(formatCheckpoint(cp)), cp);
  });

  test('extension lines round trip', () => {
    const c = { ...cp, extensions: ['ext one', '+two'] };
    assert.equal(formatCheckpoint(c), `${ORIGIN}\n42\n${R64}\next one\n+two\n`);
    assert.deepEqual(parseCheckpoint(formatCheckpoint(c)), c);
  });

  test('size bounds: 0 and 2^63 − 1', () => {
    for (const size of [0n, 1n, MAX_CHECKPOINT_SIZE]) assert.equal(parseCheckpoint(formatCheckpoint({ ...cp, size })).size, size);
  });

  test('origin may contain spaces and plus (only a recommendation)', () => {
    assert.equal(parseCheckpoint(`go.sum database tree\n1\n${R64}\n`).origin, 'go.sum database tree');
  });

  test('property: parse ∘ format is the identity', () => {
    const line = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => !/[\u0000-\u001f]/.test(s));
    fc.assert(
      fc.property(
        line,
        fc.bigInt({ min: 0n, max: MAX_CHECKPOINT_SIZE }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (origin, size, root, extensions) => {
          const c = { origin, size, root, extensions };
          assert.deepEqual(parseCheckpoint(formatCheckpoint(c)), c);
        },
      ),
    );
  });
});

describe('malformed checkpoints: line structure', () => {
  const cases: Record<string, string> = {
    'no final newline': `${ORIGIN}\n42\n${R64}`,
    'two lines': `${ORIGIN}\n42\n`,
    empty: '',
    'empty origin': `\n42\n${R64}\n`,
    'empty extension line': `${ORIGIN}\n42\n${R64}\n\n`,
    'empty extension line between others': `${ORIGIN}\n42\n${R64}\na\n\nb\n`,
    'control character in origin': `exa\tmple\n42\n${R64}\n`,
    'carriage return': `${ORIGIN}\r\n42\n${R64}\n`,
  };
  for (const [why, text] of Object.entries(cases)) test(why, () => throwsCode(() => parseCheckpoint(text), 'checkpoint.malformed'));
});

describe('malformed checkpoints: size', () => {
  for (const size of ['', '-1', '+1', '01', '00', ' 1', '1 ', '1e3', '0x10', '１', '9223372036854775808', '18446744073709551615', '99999999999999999999']) {
    test(JSON.stringify(size), () => throwsCode(() => parseCheckpoint(`${ORIGIN}\n${size}\n${R64}\n`), 'checkpoint.malformed'));
  }
  test('formatting refuses out-of-range sizes', () => {
    throwsCode(() => formatCheckpoint({ ...cp, size: -1n }), 'checkpoint.malformed');
    throwsCode(() => formatCheckpoint({ ...cp, size: MAX_CHECKPOINT_SIZE + 1n }), 'checkpoint.malformed');
  });
});

describe('malformed checkpoints: root hash', () => {
  const cases: Record<string, string> = {
    '31 bytes': toBase64(ROOT.subarray(1)),
    '33 bytes': toBase64(Uint8Array.of(...ROOT, 0)),
    'no padding': R64.replace('=', ''),
    'url-safe alphabet': toBase64(new Uint8Array(32).fill(0xfb)).replace(/\+/g, '-').replace(/\//g, '_'),
    'non-canonical trailing bits': nonCanonical(R64),
    hex: toHex(ROOT),
    empty: '',
  };
  for (const [why, root] of Object.entries(cases)) {
    test(why, () => throwsCode(() => parseCheckpoint(`${ORIGIN}\n42\n${root}\n`), 'checkpoint.malformed'));
  }
  test('formatting refuses a root of the wrong length', () => {
    throwsCode(() => formatCheckpoint({ ...cp, root: ROOT.subarray(1) }), 'checkpoint.malformed');
  });
  test('formatting refuses a newline in origin or extension', () => {
    throwsCode(() => formatCheckpoint({ ...cp, origin: 'a\nb' }), 'checkpoint.malformed');
    throwsCode(() => formatCheckpoint({ ...cp, extensions: [''] }), 'checkpoint.malformed');
  });
});

describe('openCheckpoint', () => {
  const body = formatCheckpoint(cp);

  test('verifies the log signature and parses the body; extra signatures are reported', () => {
    const { checkpoint, note } = openCheckpoint(signNote(body, [logSigner, mirror]), logVerifier, [mirrorVerifier]);
    assert.deepEqual(checkpoint, cp);
    assert.deepEqual(note.verified.map((s) => s.name), [ORIGIN, 'example.com/mirror']);
  });

  test("a mirror's signature alone is not enough", () => {
    throwsCode(() => openCheckpoint(signNote(body, [mirror]), logVerifier, [mirrorVerifier]), 'note.unverified');
    throwsCode(() => openCheckpoint(signNote(body, [mirror]), logVerifier), 'note.unverified');
  });

  test('a bad log signature', () => {
    const note = signNote(body, [logSigner]).replace('\n42\n', '\n43\n');
    throwsCode(() => openCheckpoint(note, logVerifier), 'note.bad-signature');
  });

  test('origin must be the log key name, or the origin given', () => {
    const other = { ...cp, origin: 'example.com/other' };
    const note = signNote(formatCheckpoint(other), [logSigner]);
    throwsCode(() => openCheckpoint(note, logVerifier), 'checkpoint.origin-mismatch');
    assert.equal(openCheckpoint(note, logVerifier, [], { origin: 'example.com/other' }).checkpoint.origin, 'example.com/other');
    throwsCode(() => openCheckpoint(signNote(body, [logSigner]), logVerifier, [], { origin: 'example.com/other' }), 'checkpoint.origin-mismatch');
  });

  test('a signed note whose text is not a checkpoint', () => {
    throwsCode(() => openCheckpoint(signNote('hello\n', [logSigner]), logVerifier), 'checkpoint.malformed');
  });
});
