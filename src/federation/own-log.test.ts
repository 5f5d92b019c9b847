// A mirror's own log cosigned by its peer mirrors: each peer trusts the log from the mirror's card
// (no manual add-log), cosigns consistent growth, and the cosignatures are checked and kept; a
// log signed by another key, or a site that is not a mirror, gets nothing.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519PublicKey, ed25519Sign } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { EmbassyError } from '../errors.ts';
import { utf8 } from '../format/bytes.ts';
import { cosignatureNoteSigner, formatCosignatureVerifierKey } from '../log/cosignature.ts';
import { formatVerifierKey, type NoteSigner, type VerifierKey } from '../log/note.ts';
import { ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE, formatAddCheckpointConflict } from '../log/witness.ts';
import { SITE_CARD_FORMAT, signSiteCard, type SiteCard } from '../net/card.ts';
import { createTlsIdentity } from '../net/tls-identity.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { MemoryLogStore } from '../store/memory-log-store.ts';
import { MemoryWitnessState } from '../witness/state.ts';
import { addCheckpoint } from '../witness/witness.ts';
import { entry, testIdentity } from '../../test/support/log-identity.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { OwnLogCosigning, PeerMirrorWitnessState } from './own-log.ts';
import type { FederationTransport, TextResponse } from './transport.ts';

const NOW = 1_760_000_000n;
const quiet = { info() {}, warn() {} };

function card(name: string, role: SiteCard['role'], origin: string, logPublicKey: Uint8Array, logSeed: Uint8Array): { card: SiteCard; cosigner: NoteSigner } {
  const cosignSeed = sha256(utf8.encode(`${name} cosign`));
  const tls = createTlsIdentity(name, new Date());
  const c = signSiteCard(
    {
      format: SITE_CARD_FORMAT,
      name,
      role,
      url: `https://${name}.example:8443`,
      origin,
      logVerifierKey: formatVerifierKey(origin, logPublicKey),
      cosignVerifierKey: formatCosignatureVerifierKey(name, ed25519PublicKey(cosignSeed)),
      tlsCertificate: tls.certPem,
      tlsFingerprint: tls.fingerprint,
      riskTags: [],
    },
    (m) => ed25519Sign(logSeed, m),
  );
  return { card: c, cosigner: cosignatureNoteSigner(name, cosignSeed, () => NOW) };
}

const luxId = testIdentity('luxembourg.example/embassy', 7);
const luxSeed = new Uint8Array(32).fill(7);
const lux = card('luxembourg', 'mirror', luxId.origin, (luxId.verifier as VerifierKey).publicKey, luxSeed);
const groSeed = sha256(utf8.encode('groningen log'));
const gro = card('groningen', 'mirror', 'groningen.example/embassy', ed25519PublicKey(groSeed), groSeed);
const wilSeed = sha256(utf8.encode('willemstad log'));
const wil = card('willemstad', 'mirror', 'willemstad.example/embassy', ed25519PublicKey(wilSeed), wilSeed);

/** Peer mirrors in process, each with the witness state a node gives them. */
class Peers implements FederationTransport {
  readonly states = new Map<string, MemoryWitnessState>();
  down = new Set<string>();
  constructor(private readonly known: Map<string, { cosigner: NoteSigner; cards: SiteCard[] }>) {
    for (const name of known.keys()) this.states.set(name, new MemoryWitnessState());
  }
  logReader(): never {
    throw new Error('not used');
  }
  objectSource(): never {
    throw new Error('not used');
  }
  async get(): Promise<TextResponse> {
    throw new Error('not used');
  }
  async post(c: SiteCard, path: string, body: string): Promise<TextResponse> {
    assert.equal(path, 'add-checkpoint');
    // As the mTLS client reports an unreachable peer.
    if (this.down.has(c.name)) throw new EmbassyError('store.io', `peer ${c.name}: connect ECONNREFUSED`);
    const peer = this.known.get(c.name)!;
    const state = new PeerMirrorWitnessState(this.states.get(c.name)!, () => peer.cards, c.name);
    const out = await addCheckpoint(body, state, peer.cosigner, () => NOW);
    if (out.status === 200) return { status: 200, body: out.body, contentType: 'text/plain; charset=utf-8' };
    if (out.status === 409) return { status: 409, body: formatAddCheckpointConflict(out.knownSize!), contentType: ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE };
    return { status: out.status, body: JSON.stringify({ status: out.status, detail: out.detail }), contentType: 'application/problem+json' };
  }
}

async function setup(t: TestContext, peerCards: Map<string, { cosigner: NoteSigner; cards: SiteCard[] }>, cards: SiteCard[]) {
  const log = new MemoryLogStore();
  const writer = await LogWriter.create(log, luxId);
  const transport = new Peers(peerCards);
  const own = new OwnLogCosigning({ siteDir: tempDir(t), name: 'luxembourg', origin: luxId.origin, verifier: luxId.verifier, log, peers: () => cards, transport, logger: quiet });
  t.after(() => own.close());
  return { log, writer, transport, own };
}

describe('own-log cosigning by peer mirrors', () => {
  test('peer mirrors trust the log from its card and cosign each growth; the cosignatures are kept', async (t) => {
    const peers = new Map([
      ['groningen', { cosigner: gro.cosigner, cards: [lux.card, wil.card] }],
      ['willemstad', { cosigner: wil.cosigner, cards: [lux.card, gro.card] }],
    ]);
    const { writer, own, transport } = await setup(t, peers, [gro.card, wil.card, lux.card]);
    await writer.append([entry(0)]);
    const first = await own.announce();
    assert.deepEqual(first.map((o) => `${o.witness}:${o.status}`).sort(), ['groningen:cosigned', 'willemstad:cosigned']);
    assert.deepEqual(own.cosigners(1n).map((c) => c.site).sort(), ['groningen', 'willemstad']);

    transport.down.add('willemstad');
    await writer.append([entry(1), entry(2)]);
    const second = await own.announce();
    assert.deepEqual(second.map((o) => `${o.witness}:${o.status}`).sort(), ['groningen:cosigned', 'willemstad:failed']);
    assert.deepEqual(own.cosigners(3n).map((c) => c.site), ['groningen']);
    // Back up: the catch-up asks only the peer that is behind, from the size it cosigned.
    transport.down.clear();
    const caught = await own.catchUp();
    assert.deepEqual(caught.map((o) => `${o.witness}:${o.status}`), ['willemstad:cosigned']);
    assert.deepEqual(own.cosigners(3n).map((c) => c.site).sort(), ['groningen', 'willemstad']);
    const head = await transport.states.get('willemstad')!.get(luxId.origin);
    assert.equal(head?.size, 3n);
  });

  test('a peer whose card for this mirror has another log key refuses to cosign', async (t) => {
    const impostorSeed = sha256(utf8.encode('someone else'));
    const wrong = card('luxembourg', 'mirror', luxId.origin, ed25519PublicKey(impostorSeed), impostorSeed);
    const peers = new Map([['groningen', { cosigner: gro.cosigner, cards: [wrong.card] }]]);
    const { writer, own } = await setup(t, peers, [gro.card]);
    await writer.append([entry(0)]);
    const out = await own.announce();
    assert.equal(out[0]!.status, 'failed');
    assert.deepEqual(own.cosigners(1n), []);
  });

  test('a peer trusts logs only of sites it knows as mirrors', async () => {
    const asHome = card('luxembourg', 'home', luxId.origin, (luxId.verifier as VerifierKey).publicKey, luxSeed);
    const inner = new MemoryWitnessState();
    const state = new PeerMirrorWitnessState(inner, () => [asHome.card], 'groningen');
    assert.equal(await state.get(luxId.origin), undefined);
    const trusted = new PeerMirrorWitnessState(inner, () => [lux.card], 'groningen');
    assert.equal((await trusted.get(luxId.origin))?.verifierKey, lux.card.logVerifierKey);
  });
});
