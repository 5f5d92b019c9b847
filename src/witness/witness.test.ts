// addCheckpoint without HTTP: one describe per way a request can be refused, the race between
// check and write forced through a barrier, and a concurrent fork caught by the loser.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../crypto/hash.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { toBase64, utf8 } from '../format/bytes.ts';
import { cosignatureNoteSigner, cosignatureNoteVerifier, verifyCosignature } from '../log/cosignature.ts';
import { formatVerifierKey, parseNote, type VerifierKey } from '../log/note.ts';
import { formatCheckpoint } from '../log/checkpoint.ts';
import { signNote } from '../log/note.ts';
import { MemoryLogStore } from '../store/memory-log-store.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { proveLogConsistency } from '../sitelog/proofs.ts';
import { entry, testIdentity } from '../../test/support/log-identity.ts';
import { MemoryWitnessState, type WitnessLog, type WitnessState, type WitnessTreeHead } from './state.ts';
import { addCheckpoint, type AddCheckpointRefusal, type WitnessFinding } from './witness.ts';

const NOW = 1_234_567n;
const seed = sha256(utf8.encode('witness unit seed'));
const cosigner = cosignatureNoteSigner('w.example/w', seed, () => NOW);
const cosignerKey = cosignatureNoteVerifier('w.example/w', ed25519PublicKey(seed));
const id = testIdentity('unit.example/log', 3);
const vkey = formatVerifierKey(id.origin, (id.verifier as VerifierKey).publicKey);

async function setup() {
  const state = new MemoryWitnessState();
  await state.addLog(id.origin, vkey);
  const store = new MemoryLogStore();
  const writer = await LogWriter.create(store, id);
  return { state, store, writer };
}

const request = (old: bigint, proof: Uint8Array[], note: string) => `old ${old}\n${proof.map((p) => toBase64(p) + '\n').join('')}\n${note}`;

function refusal(out: Awaited<ReturnType<typeof addCheckpoint>>): AddCheckpointRefusal {
  assert.notEqual(out.status, 200);
  return out as AddCheckpointRefusal;
}

describe('addCheckpoint: malformed requests (400)', () => {
  for (const [name, body] of [
    ['empty body', ''],
    ['no blank line', 'old 0\nunit.example/log\n'],
    ['old with a leading zero', 'old 01\n\nunit.example/log\n1\nAAAA\n'],
    ['proof line not base64', 'old 1\nnot-base64\n\nunit.example/log\n'],
    ['invalid utf-8', new Uint8Array([0x6f, 0x6c, 0x64, 0x20, 0x30, 0x0a, 0x0a, 0xff])],
  ] as const) {
    test(name, async () => {
      const { state } = await setup();
      const out = refusal(await addCheckpoint(body, state, cosigner, () => NOW));
      assert.equal(out.status, 400);
      assert.equal(out.reason, 'malformed');
    });
  }

  test('a known origin with a checkpoint body that does not parse', async () => {
    const { state } = await setup();
    const note = signNote(`${id.origin}\nnot a size\nAAAA\n`, [id.signer]);
    const out = refusal(await addCheckpoint(`old 0\n\n${note}`, state, cosigner, () => NOW));
    assert.equal(out.status, 400);
  });
});

describe('addCheckpoint: signature and origin', () => {
  test('unknown origin is 404 and names no origin in the outcome', async () => {
    const { state } = await setup();
    const other = testIdentity('other.example/log', 4);
    const note = signNote(formatCheckpoint({ origin: other.origin, size: 0n, root: sha256(), extensions: [] }), [other.signer]);
    const out = refusal(await addCheckpoint(`old 0\n\n${note}`, state, cosigner, () => NOW));
    assert.deepEqual([out.status, out.reason, out.origin], [404, 'unknown-log', undefined]);
  });

  test('signed by another key under the same name: 403', async () => {
    const { state } = await setup();
    const impostor = testIdentity(id.origin, 5);
    const note = signNote(formatCheckpoint({ origin: id.origin, size: 0n, root: sha256(), extensions: [] }), [impostor.signer]);
    const out = refusal(await addCheckpoint(`old 0\n\n${note}`, state, cosigner, () => NOW));
    assert.deepEqual([out.status, out.reason], [403, 'bad-signature']);
  });
});

describe('addCheckpoint: consistency', () => {
  test('a proof from size 0 must be empty (422); size 0 with a non-empty root is 422', async () => {
    const { state, writer } = await setup();
    const c = await writer.append([entry(0)]);
    assert.equal(refusal(await addCheckpoint(request(0n, [sha256()], c.note), state, cosigner, () => NOW)).status, 422);
    const bad0 = signNote(formatCheckpoint({ origin: id.origin, size: 0n, root: sha256(utf8.encode('x')), extensions: [] }), [id.signer]);
    assert.equal(refusal(await addCheckpoint(`old 0\n\n${bad0}`, state, cosigner, () => NOW)).status, 422);
  });

  test('equal sizes with a non-empty proof: 422', async () => {
    const { state, writer } = await setup();
    const c = await writer.append([entry(0), entry(1)]);
    assert.equal((await addCheckpoint(`old 0\n\n${c.note}`, state, cosigner, () => NOW)).status, 200);
    assert.equal(refusal(await addCheckpoint(request(2n, [sha256()], c.note), state, cosigner, () => NOW)).status, 422);
  });

  test('a wrong proof: 422 with origin and sizes for the log line, and no finding', async () => {
    const { state, store, writer } = await setup();
    const a = await writer.append([entry(0), entry(1), entry(2)]);
    assert.equal((await addCheckpoint(`old 0\n\n${a.note}`, state, cosigner, () => NOW)).status, 200);
    const b = await writer.append([entry(3), entry(4)]);
    const proof = await proveLogConsistency(store, 3n, 5n);
    proof[0]![0]! ^= 1;
    const out = refusal(await addCheckpoint(request(3n, proof, b.note), state, cosigner, () => NOW));
    assert.deepEqual([out.status, out.reason, out.origin, out.oldSize, out.size, out.finding], [422, 'bad-proof', id.origin, 3n, 5n, undefined]);
  });

  test('a good request: one cosignature over the checkpoint body, timestamped by the signer clock', async () => {
    const { state, writer } = await setup();
    const c = await writer.append([entry(0)]);
    const out = await addCheckpoint(`old 0\n\n${c.note}`, state, cosigner, () => NOW);
    assert.equal(out.status, 200);
    if (out.status !== 200) return;
    assert.equal(out.cosignatures.length, 1);
    assert.equal(verifyCosignature(parseNote(c.note).text, out.cosignatures[0]!, cosignerKey).timestamp, NOW);
  });
});

/** A state whose get() waits until `n` callers have read: both then act on the same old head. */
function barrierState(inner: WitnessState, n: number): WitnessState {
  let waiting: (() => void)[] = [];
  return {
    async get(origin) {
      const v = await inner.get(origin);
      if (waiting.length + 1 < n) await new Promise<void>((r) => waiting.push(r));
      else {
        waiting.forEach((r) => r());
        waiting = [];
        n = 0; // only the first n reads are held
      }
      return v;
    },
    compareAndSet: (o, e: WitnessTreeHead, x) => inner.compareAndSet(o, e, x),
    addLog: (o, k) => inner.addLog(o, k),
    list: () => inner.list(),
  };
}

describe('addCheckpoint: concurrency', () => {
  test('two requests that both pass the checks from the same head: exactly one is cosigned, the other loses with 409', async () => {
    const { state, store, writer } = await setup();
    const a = await writer.append([entry(0)]);
    assert.equal((await addCheckpoint(`old 0\n\n${a.note}`, state, cosigner, () => NOW)).status, 200);
    const b = await writer.append([entry(1), entry(2)]);
    const body = request(1n, await proveLogConsistency(store, 1n, 3n), b.note);
    const racy = barrierState(state, 2);
    const outs = await Promise.all([addCheckpoint(body, racy, cosigner, () => NOW), addCheckpoint(body, racy, cosigner, () => NOW)]);
    assert.deepEqual(outs.map((o) => o.status).sort(), [200, 409]);
    const lost = refusal(outs.find((o) => o.status === 409)!);
    assert.equal(lost.reason, 'lost-race');
    assert.equal(lost.knownSize, 3n);
    assert.equal(lost.finding, undefined, 'the same checkpoint twice is no conflict');
  });

  test('two different trees of the same size raced from the same head: one cosigned, the other caught as a fork', async () => {
    const { state } = await setup();
    const s1 = new MemoryLogStore();
    const s2 = new MemoryLogStore();
    const w1 = await LogWriter.create(s1, id);
    const w2 = await LogWriter.create(s2, id);
    const base = await w1.append([entry(0)]);
    await w2.append([entry(0)]);
    assert.equal((await addCheckpoint(`old 0\n\n${base.note}`, state, cosigner, () => NOW)).status, 200);
    const x = await w1.append([entry(1), entry(2)]);
    const y = await w2.append([entry(1), entry(77)]);
    const racy = barrierState(state, 2);
    const findings: WitnessFinding[] = [];
    const outs = await Promise.all([
      addCheckpoint(request(1n, await proveLogConsistency(s1, 1n, 3n), x.note), racy, cosigner, () => NOW, { onConflict: (f) => findings.push(f) }),
      addCheckpoint(request(1n, await proveLogConsistency(s2, 1n, 3n), y.note), racy, cosigner, () => NOW, { onConflict: (f) => findings.push(f) }),
    ]);
    assert.deepEqual(outs.map((o) => o.status).sort(), [200, 409]);
    const [won, lostNote] = outs[0]!.status === 200 ? [x, y] : [y, x];
    const lost = refusal(outs.find((o) => o.status === 409)!);
    assert.equal(lost.reason, 'lost-race');
    assert.equal(lost.finding?.kind, 'fork');
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.cosigned.checkpoint, won.note);
    assert.equal(findings[0]!.presented.checkpoint, lostNote.note);
    const s: WitnessLog | undefined = await state.get(id.origin);
    assert.deepEqual(s?.root, won.checkpoint.root);
  });
});
