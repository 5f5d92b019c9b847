// A mirror's own log (activations, extensions, deactivations, access-journal digests, drill
// reports) is cosigned by the other mirrors of the federation, so that a mirror cannot quietly
// drop or rewrite what it did with the keys: DESIGN.md §6. Two halves, both over the existing
// C2SP tlog-witness protocol:
// - OwnLogCosigning: after the mirror appends to its own log, it asks every peer mirror to cosign
//   the new checkpoint (with a consistency proof from the size that peer last cosigned), checks
//   each cosignature against its own log and keeps the newest per peer in
//   <dir>/own-log-cosignatures.sqlite;
// - PeerMirrorWitnessState: the witness state a mirror answers add-checkpoint with. It trusts the
//   log of every peer whose card says role mirror, under the origin and log key of that card (a
//   log already trusted under another key stays refused: a re-keyed log needs a new origin).
import { join } from 'node:path';
import type { SiteCard } from '../net/card.ts';
import type { NoteVerifier } from '../log/note.ts';
import type { LogReader } from '../store/log-store.ts';
import { isEmbassyError } from '../errors.ts';
import type { WitnessLog, WitnessState, WitnessTreeHead } from '../witness/state.ts';
import { HomeFederation, type Logger, type WitnessOutcome } from './home.ts';
import { ReceiptStore } from './receipt-store.ts';
import type { FederationTransport } from './transport.ts';

export const OWN_LOG_COSIGNATURES_FILE = 'own-log-cosignatures.sqlite';

export interface OwnLogDeps {
  siteDir: string;
  /** This site's name (never asked to cosign its own log). */
  name: string;
  origin: string;
  verifier: NoteVerifier;
  log: LogReader;
  peers: () => SiteCard[];
  transport: FederationTransport;
  logger: Logger;
}

export interface Cosigner {
  site: string;
  size: bigint;
  /** POSIX seconds of the cosignature. */
  cosignedAt: bigint;
  /** The checkpoint note with that peer's cosignature line. */
  note: string;
}

export class OwnLogCosigning {
  private readonly store: ReceiptStore;
  private readonly federation: HomeFederation;
  /** Announcements run one at a time, so that a peer is never asked twice at once. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: OwnLogDeps) {
    this.store = ReceiptStore.open(join(deps.siteDir, OWN_LOG_COSIGNATURES_FILE));
    this.federation = new HomeFederation({
      origin: deps.origin,
      verifier: deps.verifier,
      log: deps.log,
      receipts: this.store,
      peers: () => this.mirrors(),
      transport: deps.transport,
      logger: deps.logger,
    });
  }

  private mirrors(): SiteCard[] {
    return this.deps.peers().filter((p) => p.role === 'mirror' && p.name !== this.deps.name);
  }

  /** Asks every peer mirror to cosign the current checkpoint; never throws for a peer's failure. */
  announce(): Promise<WitnessOutcome[]> {
    const run = async (): Promise<WitnessOutcome[]> => {
      const { checkpoint, note } = await this.federation.current();
      return Promise.all(this.mirrors().map((m) => this.federation.askWitness(m, checkpoint, note)));
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Asks again the peers whose cosignature is behind the current checkpoint (they were down). */
  catchUp(): Promise<WitnessOutcome[]> {
    const run = async (): Promise<WitnessOutcome[]> => {
      const { checkpoint, note } = await this.federation.current();
      const behind = this.mirrors().filter((m) => this.store.get(m.name)?.size !== checkpoint.size);
      return Promise.all(behind.map((m) => this.federation.askWitness(m, checkpoint, note)));
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The peers whose newest cosignature covers a log of at least `size` entries. */
  cosigners(size: bigint): Cosigner[] {
    return this.store
      .all()
      .filter((r) => r.size >= size)
      .map((r) => ({ site: r.site, size: r.size, cosignedAt: r.cosignedAt, note: r.note }));
  }

  async close(): Promise<void> {
    await this.queue;
    this.store.close();
  }
}

/**
 * The witness state of a mirror's node: the inner durable state (witness.sqlite), with every peer
 * mirror's log trusted on first sight, from its card. Logs of other roles are not trusted here.
 */
export class PeerMirrorWitnessState implements WitnessState {
  constructor(
    private readonly inner: WitnessState,
    private readonly peers: () => SiteCard[],
    private readonly selfName: string,
  ) {}

  private async trustFromCards(origin: string): Promise<void> {
    const card = this.peers().find((p) => p.role === 'mirror' && p.name !== this.selfName && p.origin === origin);
    if (card === undefined) return;
    try {
      await this.inner.addLog(origin, card.logVerifierKey);
    } catch (e) {
      // Trusted before under another key: the stored key stays; the request fails its signature check.
      if (!isEmbassyError(e, 'usage')) throw e;
    }
  }

  async get(origin: string): Promise<WitnessLog | undefined> {
    if ((await this.inner.get(origin)) === undefined) await this.trustFromCards(origin);
    return this.inner.get(origin);
  }

  compareAndSet(origin: string, expectedOld: WitnessTreeHead, next: WitnessTreeHead & { checkpoint: string }): Promise<boolean> {
    return this.inner.compareAndSet(origin, expectedOld, next);
  }

  addLog(origin: string, verifierKey: string): Promise<void> {
    return this.inner.addLog(origin, verifierKey);
  }

  list(): Promise<WitnessLog[]> {
    return this.inner.list();
  }
}
