// requestCosignature against scripted witness answers: a good cosignature is accepted; one by
// another key, over another checkpoint, or tampered is 'cosignature.invalid'; every other status
// maps to its coded error, and 409 returns the witness's known size.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { utf8 } from '../format/bytes.ts';
import { formatCheckpoint } from '../log/checkpoint.ts';
import { cosignatureNoteSigner, cosignatureNoteVerifier } from '../log/cosignature.ts';
import { parseNote, signNote } from '../log/note.ts';
import { parseAddCheckpointRequest } from '../log/witness.ts';
import { testIdentity } from '../../test/support/log-identity.ts';
import { requestCosignature, type WitnessHttpResponse, type WitnessPost } from './client.ts';

const log = testIdentity('client.example/log', 11);
const checkpointNote = (size: bigint, tag: string) =>
  signNote(formatCheckpoint({ origin: log.origin, size, root: sha256(utf8.encode(tag)), extensions: [] }), [log.signer]);
const mine = cosignatureNoteSigner('w.example/w', sha256(utf8.encode('w')), () => 42n);
const mineKey = cosignatureNoteVerifier('w.example/w', ed25519PublicKey(sha256(utf8.encode('w'))));
const other = cosignatureNoteSigner('w.example/w', sha256(utf8.encode('other')), () => 42n); // same name, other key

/** The cosignature lines `signers` put on `note`'s body. */
const cosign = (note: string, ...signers: (typeof mine)[]) => signNote(parseNote(note).text, signers).split('\n\n').slice(-1)[0]!;
const answer = (status: number, body: string, contentType = 'text/plain'): WitnessPost => async () => ({ status, body, contentType });

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isEmbassyError(e, code), `expected ${code}, got ${String(e)}`);
    return true;
  });
}

describe('requestCosignature: accepted answers', () => {
  test('a cosignature by the witness key over this checkpoint; the request is well-formed', async () => {
    const note = checkpointNote(5n, 'a');
    let sent = '';
    const post: WitnessPost = async (body): Promise<WitnessHttpResponse> => {
      sent = body;
      return { status: 200, body: cosign(note, mine), contentType: 'text/plain' };
    };
    const proof = [sha256(utf8.encode('p1')), sha256(utf8.encode('p2'))];
    const a = await requestCosignature(post, 3n, proof, note, mineKey);
    assert.equal(a.kind, 'cosigned');
    if (a.kind !== 'cosigned') return;
    assert.equal(a.timestamp, 42n);
    assert.ok(a.line.startsWith('— w.example/w ') && a.line.endsWith('\n'));
    const req = parseAddCheckpointRequest(sent);
    assert.deepEqual([req.oldSize, req.proof, req.checkpoint], [3n, proof, note]);
  });

  test('cosignatures by unknown keys beside ours are ignored', async () => {
    const note = checkpointNote(5n, 'a');
    const stranger = cosignatureNoteSigner('x.example/x', sha256(utf8.encode('x')), () => 1n);
    const a = await requestCosignature(answer(200, cosign(note, stranger, mine)), 3n, [], note, mineKey);
    assert.equal(a.kind, 'cosigned');
  });

  test('409 returns the known size', async () => {
    const a = await requestCosignature(answer(409, '17\n', 'text/x.tlog.size'), 3n, [], checkpointNote(5n, 'a'), mineKey);
    assert.deepEqual(a, { kind: 'conflict', knownSize: 17n });
  });
});

describe('requestCosignature: rejected 200 answers (cosignature.invalid)', () => {
  const note = checkpointNote(5n, 'a');
  test('by another key under the same name', async () => {
    await rejectsWith(requestCosignature(answer(200, cosign(note, other)), 3n, [], note, mineKey), 'cosignature.invalid');
  });
  test('by the right key over another checkpoint', async () => {
    const elsewhere = checkpointNote(5n, 'b');
    await rejectsWith(requestCosignature(answer(200, cosign(elsewhere, mine)), 3n, [], note, mineKey), 'cosignature.invalid');
  });
  test('with one signature byte flipped', async () => {
    const line = cosign(note, mine);
    const b = Buffer.from(line.trimEnd().split(' ').pop()!, 'base64');
    b[b.length - 1]! ^= 1;
    const tampered = line.slice(0, line.lastIndexOf(' ') + 1) + b.toString('base64') + '\n';
    await rejectsWith(requestCosignature(answer(200, tampered), 3n, [], note, mineKey), 'cosignature.invalid');
  });
});

describe('requestCosignature: other answers', () => {
  const note = checkpointNote(5n, 'a');
  for (const [status, body, code] of [
    [200, 'not a signature line\n', 'witness.malformed'],
    [200, '', 'witness.malformed'],
    [409, 'seventeen\n', 'witness.malformed'],
    [400, 'bad', 'witness.malformed'],
    [403, 'no', 'note.unverified'],
    [404, 'unknown log', 'site.config'],
    [422, 'bad proof', 'proof.invalid'],
    [500, 'oops', 'store.io'],
    [413, '', 'store.io'],
  ] as const) {
    test(`${status} ${JSON.stringify(body)} → ${code}`, async () => {
      await rejectsWith(requestCosignature(answer(status, body), 3n, [], note, mineKey), code);
    });
  }

  test('a transport failure propagates as thrown by the transport', async () => {
    const boom = new Error('connection reset');
    await assert.rejects(requestCosignature(async () => Promise.reject(boom), 3n, [], note, mineKey), (e) => e === boom);
  });

  test('a request that cannot be formed is refused before sending', async () => {
    let called = false;
    const post: WitnessPost = async () => ((called = true), { status: 200, body: '', contentType: undefined });
    await rejectsWith(requestCosignature(post, 0n, [sha256()], note, mineKey), 'witness.malformed');
    assert.equal(called, false);
  });
});
