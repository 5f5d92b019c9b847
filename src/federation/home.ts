// The home's side of a federation: after each new checkpoint it asks its witnesses to cosign
// (C2SP tlog-witness, with a consistency proof from the size each last cosigned) and tells its
// mirrors there is something new (POST /notify, a hint: mirrors also poll); it accepts receipts
// that mirrors send (POST /receipts) and, as a backstop, collects the newest receipt each mirror
// publishes (GET /receipts). Every receipt and cosignature is checked against the home's own log
// before it is stored (acceptReceipt).
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { openCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import { parseVerifierKey, type NoteVerifier } from '../log/note.ts';
import type { SiteCard } from '../net/card.ts';
import { proveLogConsistency } from '../sitelog/proofs.ts';
import { CHECKPOINT_PATH, type LogReader } from '../store/log-store.ts';
import { requestCosignature } from '../witness/client.ts';
import { acceptReceipt, type ReceiptStore, type StoredReceipt } from './receipt-store.ts';
import type { FederationTransport } from './transport.ts';

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface HomeFederationDeps {
  origin: string;
  verifier: NoteVerifier;
  log: LogReader;
  receipts: ReceiptStore;
  /** The peers known now (cards can be added while the node runs). */
  peers: () => SiteCard[];
  transport: FederationTransport;
  logger: Logger;
}

export interface WitnessOutcome {
  witness: string;
  status: 'cosigned' | 'failed';
  size: string;
  error?: string;
}

/** One mirror's answer in GET /receipts. */
export interface PublishedReceipt {
  home: string;
  origin: string;
  size: string;
  note: string;
}

export class HomeFederation {
  constructor(private readonly deps: HomeFederationDeps) {}

  async current(): Promise<{ checkpoint: Checkpoint; note: string }> {
    const raw = await this.deps.log.get(CHECKPOINT_PATH);
    if (raw === undefined) throw new EmbassyError('log.corrupt', 'log: no checkpoint');
    const note = new TextDecoder().decode(raw);
    return { checkpoint: openCheckpoint(note, this.deps.verifier, [], { origin: this.deps.origin }).checkpoint, note };
  }

  private view(current: Checkpoint) {
    return { origin: this.deps.origin, verifier: this.deps.verifier, log: this.deps.log, current };
  }

  /** After a new checkpoint: witnesses cosign, mirrors hear of it. Never throws for a peer's failure. */
  async announce(): Promise<WitnessOutcome[]> {
    const { checkpoint, note } = await this.current();
    const peers = this.deps.peers();
    const mirrors = peers.filter((p) => p.role === 'mirror');
    await Promise.all(
      mirrors.map((m) =>
        this.deps.transport.post(m, 'notify', note, 'text/plain').then(
          (r) => {
            if (r.status >= 300) this.deps.logger.warn({ mirror: m.name, status: r.status }, 'notify: mirror refused');
          },
          (e: unknown) => this.deps.logger.warn({ mirror: m.name, error: (e as Error).message }, 'notify: mirror unreachable'),
        ),
      ),
    );
    return Promise.all(peers.filter((p) => p.role === 'witness').map((w) => this.askWitness(w, checkpoint, note)));
  }

  /** Asks one witness to cosign; a 409 (it knows another size) is retried once from that size. */
  async askWitness(card: SiteCard, checkpoint: Checkpoint, note: string): Promise<WitnessOutcome> {
    const post = async (body: string) => this.deps.transport.post(card, 'add-checkpoint', body, 'text/plain');
    const verifier = parseVerifierKey(card.cosignVerifierKey);
    let oldSize = this.deps.receipts.get(card.name)?.size ?? 0n;
    if (oldSize > checkpoint.size) oldSize = 0n;
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const proof = oldSize > 0n && oldSize < checkpoint.size ? await proveLogConsistency(this.deps.log, oldSize, checkpoint.size) : [];
        const answer = await requestCosignature(post, oldSize, proof, note, verifier);
        if (answer.kind === 'cosigned') {
          const text = (note.endsWith('\n') ? note : note + '\n') + answer.line;
          await acceptReceipt(this.deps.receipts, this.view(checkpoint), { name: card.name, kind: 'witness', cosignVerifierKey: card.cosignVerifierKey }, text);
          return { witness: card.name, status: 'cosigned', size: String(checkpoint.size) };
        }
        if (answer.knownSize > checkpoint.size) {
          throw new EmbassyError('log.inconsistent', `witness ${card.name} has cosigned size ${answer.knownSize}, beyond this log's ${checkpoint.size}`, {
            hint: 'this log was rolled back, or another log with the same key exists: investigate before anything else',
          });
        }
        if (answer.knownSize === oldSize && oldSize === checkpoint.size) {
          // Asked from its own size with this log's tree of that size, and still a conflict: the
          // witness holds another tree of the same size, signed by this log's key. A split view.
          throw new EmbassyError('log.inconsistent', `witness ${card.name} holds another tree of size ${oldSize} signed by this log's key (fork)`, {
            hint: 'another log with this key exists, or this one was rewritten: investigate before anything else',
          });
        }
        oldSize = answer.knownSize;
      }
      throw new EmbassyError('store.io', `witness ${card.name}: still a conflict after retrying from its known size`);
    } catch (e) {
      if (!isEmbassyError(e)) throw e;
      this.deps.logger.warn({ witness: card.name, code: e.code, error: e.message }, 'witness: no cosignature');
      return { witness: card.name, status: 'failed', size: String(checkpoint.size), error: `${e.code}: ${e.message}` };
    }
  }

  /** Asks again every witness whose cosignature is behind the current checkpoint (it was down, or refused). */
  async catchUpWitnesses(): Promise<WitnessOutcome[]> {
    const { checkpoint, note } = await this.current();
    const behind = this.deps.peers().filter((p) => p.role === 'witness' && this.deps.receipts.get(p.name)?.size !== checkpoint.size);
    return Promise.all(behind.map((w) => this.askWitness(w, checkpoint, note)));
  }

  /** A receipt a mirror sent (POST /receipts). */
  async receive(card: SiteCard, text: string): Promise<{ stored: boolean; receipt: StoredReceipt }> {
    if (card.role !== 'mirror') throw new EmbassyError('site.config', `receipts: ${card.name} is a ${card.role}, not a mirror`);
    const { checkpoint } = await this.current();
    return acceptReceipt(this.deps.receipts, this.view(checkpoint), { name: card.name, kind: 'mirror', cosignVerifierKey: card.cosignVerifierKey }, text);
  }

  /** Asks every mirror for the receipt it publishes for this home, and stores the valid ones. */
  async collect(): Promise<{ mirror: string; stored: boolean; error?: string }[]> {
    const { checkpoint } = await this.current();
    const mirrors = this.deps.peers().filter((p) => p.role === 'mirror');
    return Promise.all(
      mirrors.map(async (m) => {
        try {
          const res = await this.deps.transport.get(m, 'receipts');
          if (res.status !== 200) throw new EmbassyError('store.io', `GET /receipts answered ${res.status}`);
          const body = JSON.parse(res.body) as { receipts?: PublishedReceipt[] };
          const mine = (body.receipts ?? []).find((r) => r.origin === this.deps.origin);
          if (mine === undefined) return { mirror: m.name, stored: false };
          const r = await acceptReceipt(this.deps.receipts, this.view(checkpoint), { name: m.name, kind: 'mirror', cosignVerifierKey: m.cosignVerifierKey }, mine.note);
          return { mirror: m.name, stored: r.stored };
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          return { mirror: m.name, stored: false, error: message };
        }
      }),
    );
  }
}
