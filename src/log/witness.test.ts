import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { toBase64, utf8 } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { cosignatureNoteSigner, cosignatureNoteVerifier, verifyCosignature } from './cosignature.ts';
import { ed25519NoteSigner, openNote, parseNote, signNote } from './note.ts';
import {
  ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE,
  MAX_CONSISTENCY_PROOF_LINES,
  formatAddCheckpointConflict,
  formatAddCheckpointRequest,
  formatAddCheckpointResponse,
  parseAddCheckpointConflict,
  parseAddCheckpointRequest,
  parseAddCheckpointResponse,
} from './witness.ts';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEmbassyError(e, code), `expected ${code}, got ${String(e)}`);
    return true;
  });
}

// The example bodies of c2sp.org/tlog-witness.
const SPEC_REQUEST =
  'old 20852014\n' +
  'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n' +
  'jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n' +
  '5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n' +
  '/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n' +
  '\n' +
  'example.com/behind-the-sofa\n' +
  '20852163\n' +
  'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n' +
  '\n' +
  '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
  '— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n';
const SPEC_RESPONSE =
  '— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n' +
  '— witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n' +
  '— witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n';

const seed = (n: number) => new Uint8Array(32).fill(n);
const LOG = 'example.com/log';
const body = formatCheckpoint({ origin: LOG, size: 5n, root: sha256(utf8.encode('r')), extensions: [] });
const checkpoint = signNote(body, [ed25519NoteSigner(LOG, seed(1))]);
const hash = (n: number) => new Uint8Array(32).fill(n);
const H = toBase64(hash(7));

describe('add-checkpoint request', () => {
  test('the spec example parses and re-formats byte for byte', () => {
    const req = parseAddCheckpointRequest(SPEC_REQUEST);
    assert.equal(req.oldSize, 20852014n);
    assert.equal(req.proof.length, 4);
    assert.ok(req.checkpoint.startsWith('example.com/behind-the-sofa\n20852163\n'));
    assert.equal(parseNote(req.checkpoint).signatures.length, 2);
    assert.equal(formatAddCheckpointRequest(req), SPEC_REQUEST);
    assert.deepEqual(parseAddCheckpointRequest(utf8.encode(SPEC_REQUEST)), req);
  });

  test('old 0 has no proof lines, the blank line follows at once', () => {
    const text = formatAddCheckpointRequest({ oldSize: 0n, proof: [], checkpoint });
    assert.equal(text, 'old 0\n\n' + checkpoint);
    assert.deepEqual(parseAddCheckpointRequest(text), { oldSize: 0n, proof: [], checkpoint });
  });

  test('63 proof lines are the maximum', () => {
    const proof = Array.from({ length: MAX_CONSISTENCY_PROOF_LINES }, (_, i) => hash(i));
    const req = { oldSize: 1n, proof, checkpoint };
    assert.deepEqual(parseAddCheckpointRequest(formatAddCheckpointRequest(req)), req);
  });

  test('property: round trip', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 63 }),
        (oldSize, proof) => {
          const req = { oldSize, proof, checkpoint };
          assert.deepEqual(parseAddCheckpointRequest(formatAddCheckpointRequest(req)), req);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('malformed add-checkpoint requests: old size line', () => {
  const cases: Record<string, string> = {
    'no blank line': `old 1\n${H}\n`,
    'no old line': `\n${checkpoint}`,
    'capitalised': `Old 1\n\n${checkpoint}`,
    'two spaces': `old  1\n\n${checkpoint}`,
    'leading zero': `old 01\n\n${checkpoint}`,
    negative: `old -1\n\n${checkpoint}`,
    plus: `old +1\n\n${checkpoint}`,
    'trailing space': `old 1 \n\n${checkpoint}`,
    '2^63': `old 9223372036854775808\n\n${checkpoint}`,
    'crlf line ends': `old 1\r\n${H}\r\n\r\n${checkpoint}`,
  };
  for (const [why, req] of Object.entries(cases)) test(why, () => throwsCode(() => parseAddCheckpointRequest(req), 'witness.malformed'));
});

describe('malformed add-checkpoint requests: proof lines', () => {
  const cases: Record<string, string> = {
    'not base64': `old 1\n!!!!\n\n${checkpoint}`,
    '31-byte hash': `old 1\n${toBase64(hash(1).subarray(1))}\n\n${checkpoint}`,
    '33-byte hash': `old 1\n${toBase64(Uint8Array.of(...hash(1), 1))}\n\n${checkpoint}`,
    'missing padding': `old 1\n${H.replace('=', '')}\n\n${checkpoint}`,
    'url-safe alphabet': `old 1\n${toBase64(hash(0xfb)).replace(/\//g, '_')}\n\n${checkpoint}`,
    '64 lines': `old 1\n${`${H}\n`.repeat(64)}\n${checkpoint}`,
  };
  for (const [why, req] of Object.entries(cases)) test(why, () => throwsCode(() => parseAddCheckpointRequest(req), 'witness.malformed'));
  test('formatting refuses 64 lines, wrong hash sizes, and a proof from size 0', () => {
    throwsCode(() => formatAddCheckpointRequest({ oldSize: 1n, proof: Array.from({ length: 64 }, () => hash(1)), checkpoint }), 'witness.malformed');
    throwsCode(() => formatAddCheckpointRequest({ oldSize: 1n, proof: [hash(1).subarray(1)], checkpoint }), 'witness.malformed');
    throwsCode(() => formatAddCheckpointRequest({ oldSize: 0n, proof: [hash(1)], checkpoint }), 'witness.malformed');
    throwsCode(() => formatAddCheckpointRequest({ oldSize: -1n, proof: [], checkpoint }), 'witness.malformed');
  });
});

describe('malformed add-checkpoint requests: checkpoint and encoding', () => {
  test('missing checkpoint', () => throwsCode(() => parseAddCheckpointRequest('old 0\n\n'), 'witness.malformed'));
  test('invalid utf-8', () => throwsCode(() => parseAddCheckpointRequest(Uint8Array.of(...utf8.encode('old 0\n\n'), 0xff)), 'witness.malformed'));
  test('lone surrogate', () => throwsCode(() => parseAddCheckpointRequest(`old 0\n\n\ud800${checkpoint}`), 'witness.malformed'));
  test('not a string or bytes', () => throwsCode(() => parseAddCheckpointRequest(7 as unknown as string), 'witness.malformed'));
});

describe('add-checkpoint response', () => {
  test('the spec example parses and re-formats byte for byte', () => {
    const sigs = parseAddCheckpointResponse(SPEC_RESPONSE);
    assert.deepEqual(sigs.map((s) => s.name), ['witness.example/w1', 'witness.example/w1', 'witness.example/w2']);
    assert.equal(formatAddCheckpointResponse(sigs), SPEC_RESPONSE);
  });

  test('a real cosignature: response appended to the checkpoint opens with the witness key', () => {
    const w = cosignatureNoteSigner('example.com/witness', seed(3), () => 1_700_000_000n);
    const wv = cosignatureNoteVerifier('example.com/witness', ed25519PublicKey(seed(3)));
    const [cosig] = parseNote(signNote(body, [w])).signatures;
    const response = formatAddCheckpointResponse([cosig!]);
    const parsed = parseAddCheckpointResponse(utf8.encode(response));
    assert.equal(verifyCosignature(body, parsed[0]!, wv).timestamp, 1_700_000_000n);
    assert.equal(openNote(checkpoint + response, [wv]).verified[0]!.name, 'example.com/witness');
  });
});

describe('malformed add-checkpoint responses', () => {
  const line = SPEC_RESPONSE.split('\n')[0]!;
  const cases: Record<string, string> = {
    empty: '',
    'no final newline': line,
    'blank line': `${line}\n\n`,
    'not a signature line': `${line}\nhello\n`,
    'hyphen instead of em dash': `${line.replace('—', '-')}\n`,
    'bad base64': '— witness.example/w1 !!!!\n',
    'control character': `${line.replace('w1', 'w\u00011')}\n`,
    '101 lines': `${line}\n`.repeat(101),
  };
  for (const [why, res] of Object.entries(cases)) test(why, () => throwsCode(() => parseAddCheckpointResponse(res), 'witness.malformed'));
  test('formatting refuses an empty list', () => throwsCode(() => formatAddCheckpointResponse([]), 'witness.malformed'));
});

describe('409 conflict body', () => {
  test('decimal size and newline, as text/x.tlog.size', () => {
    assert.equal(ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE, 'text/x.tlog.size');
    assert.equal(formatAddCheckpointConflict(3n), '3\n');
    assert.equal(parseAddCheckpointConflict('3\n'), 3n);
    assert.equal(parseAddCheckpointConflict(utf8.encode('0\n')), 0n);
  });
  for (const bad of ['', '3', '03\n', '-1\n', '3\n\n', ' 3\n', '9223372036854775808\n']) {
    test(`malformed ${JSON.stringify(bad)}`, () => throwsCode(() => parseAddCheckpointConflict(bad), 'witness.malformed'));
  }
  test('formatting refuses a negative size', () => throwsCode(() => formatAddCheckpointConflict(-1n), 'witness.malformed'));
});
