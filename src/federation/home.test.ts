// HomeFederation in process: the transport is a fake whose witness end runs the real witness
// (addCheckpoint over a MemoryWitnessState, answering as the HTTP route does) and whose mirror
// ends record notifications and publish receipts. Checked: announce notifies every mirror and
// gets a cosignature, later with a proof from the size the witness knows; a 409 is retried from
// the witness's size; rollbacks and forks are refused by the witness and reported as failed with
// the witness unmoved; collect stores valid receipts only; receive takes receipts from mirrors only.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ed25519PublicKey, ed25519Sign } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { isEmbassyError } from '../errors.ts';
import { bytesEqual, utf8 } from '../format/bytes.ts';
import { cosignatureNoteSigner, formatCosignatureVerifierKey } from '../log/cosignature.ts';
import { formatVerifierKey, type NoteSigner, type VerifierKey } from '../log/note.ts';
import { ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE, formatAddCheckpointConflict, parseAddCheckpointRequest } from '../log/witness.ts';
import { SITE_CARD_FORMAT, signSiteCard, type SiteCard } from '../net/card.ts';
import { createTlsIdentity } from '../net/tls-identity.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { MemoryLogStore } from '../store/memory-log-store.ts';
import { MemoryWitnessState } from '../witness/state.ts';
import { addCheckpoint } from '../witness/witness.ts';
import { entry, testIdentity } from '../../test/support/log-identity.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { HomeFederation, type Logger, type PublishedReceipt } from './home.ts';
import { cosignCheckpoint, openReceipt } from './receipt.ts';
import { RECEIPTS_FILE, ReceiptStore } from './receipt-store.ts';
import type { FederationTransport, TextResponse } from './transport.ts';

const NOW = 1_750_000_000n;
const homeId = testIdentity('den-haag.example/embassy', 1);
const homeVkey = formatVerifierKey(homeId.origin, (homeId.verifier as VerifierKey).publicKey);

interface Peer {
  card: SiteCard;
  cosigner: NoteSigner;
}

/** A real, signed card for a peer, with deterministic keys derived from `label`. */
function makePeer(name: string, role: SiteCard['role'], label = name): Peer {
  const logSeed = sha256(utf8.encode(`${label} log`));
  const cosignSeed = sha256(utf8.encode(`${label} cosign`));
  const origin = `${name}.example/log`;
  const tls = createTlsIdentity(name, new Date());
  const card = signSiteCard(
    {
      format: SITE_CARD_FORMAT,
      name,
      role,
      url: `https://${name}.example:8443`,
      origin,
      logVerifierKey: formatVerifierKey(origin, ed25519PublicKey(logSeed)),
      cosignVerifierKey: formatCosignatureVerifierKey(name, ed25519PublicKey(cosignSeed)),
      tlsCertificate: tls.certPem,
      tlsFingerprint: tls.fingerprint,
      riskTags: [],
    },
    (m) => ed25519Sign(logSeed, m),
  );
  return { card, cosigner: cosignatureNoteSigner(name, cosignSeed, () => NOW) };
}

const groningen = makePeer('groningen', 'mirror');
const luxembourg = makePeer('luxembourg', 'mirror');
const auditor = makePeer('auditor', 'witness');
const utrecht = makePeer('utrecht', 'home');
/** The auditor's name with another key: what a witness answering with the wrong key signs. */
const fakeAuditor = makePeer('auditor', 'witness', 'not the auditor');

interface WitnessRequest {
  witness: string;
  oldSize: bigint;
  proofLines: number;
  status: number;
}

/** The mirrors and witnesses, in process. */
class FakeTransport implements FederationTransport {
  readonly notified: { mirror: string; body: string; contentType: string }[] = [];
  readonly requests: WitnessRequest[] = [];
  readonly gets: string[] = [];
  /** What each mirror answers to /notify: a status, or 'unreachable'. */
  readonly notifyAnswers = new Map<string, number | 'unreachable'>();
  /** What each mirror answers to GET /receipts. */
  readonly published = new Map<string, TextResponse>();
  readonly witnesses = new Map<string, { state: MemoryWitnessState; cosigner: NoteSigner }>();

  logReader(): never {
    throw new Error('the home does not read peer logs');
  }

  objectSource(): never {
    throw new Error('the home does not fetch objects');
  }

  async get(card: SiteCard, path: string): Promise<TextResponse> {
    this.gets.push(`${card.name} ${path}`);
    assert.equal(path, 'receipts');
    return this.published.get(card.name) ?? { status: 404, body: '', contentType: undefined };
  }

  async post(card: SiteCard, path: string, body: string, contentType: string): Promise<TextResponse> {
    if (path === 'notify') {
      this.notified.push({ mirror: card.name, body, contentType });
      const answer = this.notifyAnswers.get(card.name) ?? 200;
      if (answer === 'unreachable') throw new Error(`connect ECONNREFUSED ${card.url}`);
      return { status: answer, body: '', contentType: undefined };
    }
    assert.equal(path, 'add-checkpoint');
    const w = this.witnesses.get(card.name);
    assert.ok(w, `${card.name} is not a witness here`);
    const out = await addCheckpoint(body, w.state, w.cosigner, () => NOW);
    const req = parseAddCheckpointRequest(body);
    this.requests.push({ witness: card.name, oldSize: req.oldSize, proofLines: req.proof.length, status: out.status });
    // As src/serve/witness-routes.ts answers.
    if (out.status === 200) return { status: 200, body: out.body, contentType: 'text/plain; charset=utf-8' };
    if (out.status === 409) return { status: 409, body: formatAddCheckpointConflict(out.knownSize!), contentType: ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE };
    return { status: out.status, body: JSON.stringify({ status: out.status, detail: out.detail }), contentType: 'application/problem+json' };
  }
}

class RecordingLogger implements Logger {
  readonly lines: { level: 'info' | 'warn'; obj: Record<string, unknown>; msg: string }[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg });
  }
}

interface HomeSite {
  log: MemoryLogStore;
  writer: LogWriter;
  receipts: ReceiptStore;
  fed: HomeFederation;
  logger: RecordingLogger;
  growTo(size: number): Promise<string>;
}

/** A home log (optionally with other entries: a fork by the same key) and its federation service. */
async function makeHome(t: TestContext, transport: FakeTransport, peers: SiteCard[], options: { fork?: boolean; log?: MemoryLogStore } = {}): Promise<HomeSite> {
  const log = options.log ?? new MemoryLogStore();
  const writer = options.log ? await LogWriter.open(log, homeId) : await LogWriter.create(log, homeId);
  const receipts = ReceiptStore.open(join(tempDir(t), RECEIPTS_FILE));
  t.after(() => receipts.close());
  const logger = new RecordingLogger();
  const fed = new HomeFederation({ origin: homeId.origin, verifier: homeId.verifier, log, receipts, peers: () => peers, transport, logger });
  const make = (i: number) => (options.fork ? utf8.encode(`fork ${i}`) : entry(i));
  return {
    log,
    writer,
    receipts,
    fed,
    logger,
    async growTo(size) {
      const from = Number(writer.checkpoint.size);
      return (await writer.append(Array.from({ length: size - from }, (_, i) => make(from + i)))).note;
    },
  };
}

async function setup(t: TestContext, peers: SiteCard[] = [groningen.card, luxembourg.card, auditor.card, utrecht.card]) {
  const transport = new FakeTransport();
  const state = new MemoryWitnessState();
  await state.addLog(homeId.origin, homeVkey);
  transport.witnesses.set('auditor', { state, cosigner: auditor.cosigner });
  const home = await makeHome(t, transport, peers);
  return { transport, state, home };
}

function copyLog(log: MemoryLogStore): MemoryLogStore {
  const out = new MemoryLogStore();
  for (const [k, v] of log.objects) out.objects.set(k, v.slice());
  return out;
}

async function witnessHead(state: MemoryWitnessState): Promise<{ size: bigint; root: Uint8Array; checkpoint: string | undefined }> {
  const l = (await state.get(homeId.origin))!;
  return { size: l.size, root: l.root, checkpoint: l.checkpoint };
}

describe('HomeFederation.announce', () => {
  test('notifies every mirror with the checkpoint and gets the witness cosignature', async (t) => {
    const { transport, state, home } = await setup(t);
    const note = await home.growTo(10);
    const outcomes = await home.fed.announce();
    assert.deepEqual(outcomes, [{ witness: 'auditor', status: 'cosigned', size: '10' }]);
    assert.deepEqual(transport.notified, [
      { mirror: 'groningen', body: note, contentType: 'text/plain' },
      { mirror: 'luxembourg', body: note, contentType: 'text/plain' },
    ]);
    assert.deepEqual(transport.requests, [{ witness: 'auditor', oldSize: 0n, proofLines: 0, status: 200 }]);
    assert.equal((await witnessHead(state)).size, 10n);
    const stored = home.receipts.get('auditor')!;
    assert.equal(stored.kind, 'witness');
    assert.equal(stored.size, 10n);
    assert.equal(stored.cosignedAt, NOW);
    // The stored note is the checkpoint with the witness's cosignature, checkable by anyone.
    assert.equal(openReceipt(stored.note, homeId.origin, homeId.verifier, auditor.card.cosignVerifierKey).checkpoint.size, 10n);
    assert.equal(stored.note, cosignCheckpoint(note, auditor.cosigner));
    // Mirrors make their own receipts; the home made none for them.
    assert.equal(home.receipts.get('groningen'), undefined);
  });

  test('after more appends the witness gets a proof from the size it cosigned', async (t) => {
    const { transport, state, home } = await setup(t);
    await home.growTo(10);
    await home.fed.announce();
    for (const size of [300, 70_000]) {
      await home.growTo(size);
      assert.deepEqual(await home.fed.announce(), [{ witness: 'auditor', status: 'cosigned', size: String(size) }]);
    }
    assert.deepEqual(transport.requests.map((r) => [r.oldSize, r.status]), [[0n, 200], [10n, 200], [300n, 200]]);
    assert.ok(transport.requests.slice(1).every((r) => r.proofLines > 0), 'a non-empty consistency proof each time');
    const head = await witnessHead(state);
    assert.equal(head.size, 70_000n);
    assert.ok(bytesEqual(head.root, home.writer.checkpoint.root));
    assert.deepEqual(home.receipts.history('auditor').map((h) => h.size), [10n, 300n, 70_000n]);
    // Announcing the same checkpoint again: an empty proof between equal sizes, cosigned again.
    assert.deepEqual(await home.fed.announce(), [{ witness: 'auditor', status: 'cosigned', size: '70000' }]);
    assert.deepEqual(transport.requests.at(-1), { witness: 'auditor', oldSize: 70_000n, proofLines: 0, status: 200 });
    assert.equal(home.receipts.history('auditor').length, 3);
  });

  test('a witness that already knows a larger size (409) is asked again from that size', async (t) => {
    const { transport, state, home } = await setup(t);
    await home.growTo(10);
    await home.fed.announce();
    const receipt10 = home.receipts.get('auditor')!;
    // The witness cosigns 20 but the home never stores that answer (it crashed, the reply was lost).
    await home.growTo(20);
    const lost = await home.fed.askWitness(auditor.card, home.writer.checkpoint, home.writer.note);
    assert.equal(lost.status, 'cosigned');
    // Undo what the home learnt, keeping the witness at 20: a fresh receipts store.
    const forgetful = await makeHome(t, transport, [auditor.card], { log: home.log });
    assert.equal((await witnessHead(state)).size, 20n);
    await forgetful.growTo(30);
    const before = transport.requests.length;
    assert.deepEqual(await forgetful.fed.announce(), [{ witness: 'auditor', status: 'cosigned', size: '30' }]);
    assert.deepEqual(transport.requests.slice(before).map((r) => [r.oldSize, r.status]), [[0n, 409], [20n, 200]]);
    assert.equal((await witnessHead(state)).size, 30n);
    assert.equal(forgetful.receipts.get('auditor')!.size, 30n);

    // The same from a stale, non-zero size in the store: the home at 10 after the witness went to 30.
    await forgetful.growTo(40);
    const stale = await makeHome(t, transport, [auditor.card], { log: forgetful.log });
    stale.receipts.put(receipt10);
    const mark = transport.requests.length;
    assert.deepEqual(await stale.fed.announce(), [{ witness: 'auditor', status: 'cosigned', size: '40' }]);
    assert.deepEqual(transport.requests.slice(mark).map((r) => [r.oldSize, r.status]), [[10n, 409], [30n, 200]]);
  });

  test('a rolled-back home (the witness knows more than it has) is reported, the witness unmoved', async (t) => {
    const { transport, state, home } = await setup(t);
    await home.growTo(30);
    const at30 = copyLog(home.log);
    await home.growTo(40);
    await home.fed.announce();
    const head = await witnessHead(state);
    const rolledBack = await makeHome(t, transport, [auditor.card], { log: at30 });
    const [outcome] = await rolledBack.fed.announce();
    assert.equal(outcome!.status, 'failed');
    assert.equal(outcome!.size, '30');
    assert.match(outcome!.error!, /^log\.inconsistent: /);
    assert.deepEqual(await witnessHead(state), head);
    assert.equal(rolledBack.receipts.get('auditor'), undefined);
    assert.ok(rolledBack.logger.lines.some((l) => l.level === 'warn' && l.obj.witness === 'auditor' && l.obj.code === 'log.inconsistent'));
  });

  describe('a fork by the same key is refused by the witness and reported as failed', () => {
    // [fork size, the code the home reports]; the witness has cosigned the real log at 30.
    const cases: [number, string][] = [
      [20, 'log.inconsistent'], // smaller: the witness knows a larger size
      [30, 'log.inconsistent'], // same size, other root: the witness answers 409 even from its own size
      [50, 'proof.invalid'], // larger: no consistency proof from the witness's tree exists
    ];
    for (const [size, code] of cases) {
      test(`fork of size ${size}: ${code}`, async (t) => {
        const { transport, state, home } = await setup(t);
        await home.growTo(30);
        await home.fed.announce();
        const head = await witnessHead(state);
        const fork = await makeHome(t, transport, [auditor.card], { fork: true });
        await fork.growTo(size);
        const [outcome] = await fork.fed.announce();
        assert.equal(outcome!.status, 'failed');
        assert.equal(outcome!.error!.split(':')[0], code);
        assert.deepEqual(await witnessHead(state), head, 'the witness did not move');
        assert.equal(fork.receipts.get('auditor'), undefined);
        assert.ok(transport.requests.every((r) => r.status !== 200 || r.oldSize === 0n), 'only the real log was cosigned');
      });
    }
  });

  test('a witness answering with another key, or not knowing the log, is failed; nothing stored', async (t) => {
    const { transport, home } = await setup(t, [auditor.card]);
    await home.growTo(5);
    const real = transport.witnesses.get('auditor')!;
    transport.witnesses.set('auditor', { state: real.state, cosigner: fakeAuditor.cosigner });
    const [wrongKey] = await home.fed.announce();
    assert.equal(wrongKey!.status, 'failed');
    assert.match(wrongKey!.error!, /^cosignature\.invalid: /);
    assert.equal(home.receipts.get('auditor'), undefined);

    transport.witnesses.set('auditor', { state: new MemoryWitnessState(), cosigner: auditor.cosigner });
    const [unknown] = await home.fed.announce();
    assert.equal(unknown!.status, 'failed');
    assert.match(unknown!.error!, /^site\.config: /);
    assert.equal(home.receipts.get('auditor'), undefined);
  });

  test('mirrors that refuse or cannot be reached do not stop the announcement', async (t) => {
    const { transport, home } = await setup(t);
    await home.growTo(3);
    transport.notifyAnswers.set('groningen', 503);
    transport.notifyAnswers.set('luxembourg', 'unreachable');
    assert.deepEqual(await home.fed.announce(), [{ witness: 'auditor', status: 'cosigned', size: '3' }]);
    assert.deepEqual(transport.notified.map((n) => n.mirror), ['groningen', 'luxembourg']);
    const warned = home.logger.lines.filter((l) => l.level === 'warn').map((l) => l.obj.mirror);
    assert.deepEqual(warned.sort(), ['groningen', 'luxembourg']);
  });

  test('with no peers there is nothing to do', async (t) => {
    const { transport, home } = await setup(t, []);
    await home.growTo(1);
    assert.deepEqual(await home.fed.announce(), []);
    assert.equal(transport.notified.length + transport.requests.length, 0);
  });
});

describe('HomeFederation.collect', () => {
  const publish = (transport: FakeTransport, mirror: string, receipts: PublishedReceipt[]): void => {
    transport.published.set(mirror, { status: 200, body: JSON.stringify({ site: mirror, role: 'mirror', receipts, damaged: [] }), contentType: 'application/json' });
  };
  const published = (note: string, origin = homeId.origin): PublishedReceipt => ({ home: 'den-haag', origin, size: note.split('\n')[1]!, note });

  test('stores the valid receipts mirrors publish and ignores invalid ones', async (t) => {
    const { transport, home } = await setup(t);
    await home.growTo(10);
    const note10 = home.writer.note;
    const note = await home.growTo(310);
    const fork = await makeHome(t, transport, [], { fork: true });
    const forkNote = await fork.growTo(200);
    // Groningen also follows another home: only the receipt for this origin is taken.
    publish(transport, 'groningen', [published(cosignCheckpoint(note10, groningen.cosigner), utrecht.card.origin), published(cosignCheckpoint(note, groningen.cosigner))]);
    publish(transport, 'luxembourg', [published(cosignCheckpoint(forkNote, luxembourg.cosigner))]);

    const results = await home.fed.collect();
    assert.deepEqual(results.map((r) => [r.mirror, r.stored]), [['groningen', true], ['luxembourg', false]]);
    assert.equal(results[0]!.error, undefined);
    assert.match(results[1]!.error!, /not in this log|different tree|beyond/);
    assert.deepEqual(home.receipts.all().map((r) => [r.site, r.kind, r.size]), [['groningen', 'mirror', 310n]]);
    // Only mirrors are asked.
    assert.deepEqual(transport.gets, ['groningen receipts', 'luxembourg receipts']);

    // The same receipt again is not newer; a receipt cosigned by another key is refused.
    publish(transport, 'luxembourg', [published(cosignCheckpoint(note, groningen.cosigner))]);
    const again = await home.fed.collect();
    assert.deepEqual(again.map((r) => [r.mirror, r.stored]), [['groningen', false], ['luxembourg', false]]);
    assert.equal(again[0]!.error, undefined);
    assert.match(again[1]!.error!, /cosignature/);
    // An older receipt does not replace the newer one.
    publish(transport, 'groningen', [published(cosignCheckpoint(note10, groningen.cosigner))]);
    assert.equal((await home.fed.collect())[0]!.stored, false);
    assert.equal(home.receipts.get('groningen')!.size, 310n);
    assert.deepEqual(home.receipts.all().map((r) => r.site), ['groningen']);
  });

  test('a mirror with no receipt for this home, a failed request, or a garbled answer stores nothing', async (t) => {
    const { transport, home } = await setup(t, [groningen.card, luxembourg.card, makePeer('zwolle', 'mirror').card]);
    await home.growTo(4);
    publish(transport, 'groningen', [published(cosignCheckpoint(home.writer.note, groningen.cosigner), 'other.example/log')]);
    transport.published.set('luxembourg', { status: 500, body: 'oops', contentType: 'text/plain' });
    transport.published.set('zwolle', { status: 200, body: '{not json', contentType: 'application/json' });
    const results = await home.fed.collect();
    assert.deepEqual(results.map((r) => [r.mirror, r.stored, r.error !== undefined]), [
      ['groningen', false, false],
      ['luxembourg', false, true],
      ['zwolle', false, true],
    ]);
    assert.deepEqual(home.receipts.all(), []);
  });
});

describe('HomeFederation.receive', () => {
  test('takes a mirror receipt, refuses a witness or home card and a receipt for a fork', async (t) => {
    const { transport, home } = await setup(t);
    const note = await home.growTo(12);
    const r = await home.fed.receive(groningen.card, cosignCheckpoint(note, groningen.cosigner));
    assert.equal(r.stored, true);
    assert.equal(r.receipt.kind, 'mirror');
    assert.equal(r.receipt.size, 12n);

    for (const card of [auditor.card, utrecht.card]) {
      const text = cosignCheckpoint(note, card === auditor.card ? auditor.cosigner : utrecht.cosigner);
      await assert.rejects(home.fed.receive(card, text), (e) => isEmbassyError(e, 'site.config'));
      assert.equal(home.receipts.get(card.name), undefined);
    }

    const fork = await makeHome(t, transport, [], { fork: true });
    await assert.rejects(home.fed.receive(luxembourg.card, cosignCheckpoint(await fork.growTo(12), luxembourg.cosigner)), (e) => isEmbassyError(e, 'log.inconsistent'));
    await assert.rejects(home.fed.receive(luxembourg.card, cosignCheckpoint(note, groningen.cosigner)), (e) => isEmbassyError(e, 'cosignature.invalid'));
    assert.equal(home.receipts.get('luxembourg'), undefined);
  });
});
