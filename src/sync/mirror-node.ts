// The mirror's daemon: one loop per home it follows (every peer card with role home). A loop
// runs a pass (src/sync/follow.ts) when the home notifies, when the poll interval passes, or —
// after a failed pass — after a backoff; a receipt is sent to the home right away and published
// at GET /receipts (the home also collects from there). The scrub runs on its own interval.
// Passes and scrubs never overlap: they share one queue, because both write the object store.
import type { NoteSigner } from '../log/note.ts';
import { noteTreeSize } from '../federation/receipt.ts';
import type { SiteCard } from '../net/card.ts';
import type { PackObjectStore } from '../store/pack-store.ts';
import type { FederationTransport } from '../federation/transport.ts';
import type { Logger } from '../federation/home.ts';
import { FollowState } from './follow-state.ts';
import { followOnce, type PassOutcome } from './follow.ts';
import type { GraphSyncOptions } from './graph.ts';
import { scrubMirror, type ScrubReport } from './scrub.ts';

export interface MirrorNodeDeps {
  siteDir: string;
  peers: () => SiteCard[];
  transport: FederationTransport;
  objects: PackObjectStore;
  cosigner: NoteSigner;
  logger: Logger;
  /** Poll each home this often even without a notification; default 10 s. */
  pollMs?: number;
  /** Scrub this often; 0 or undefined: only on request. */
  scrubMs?: number;
  /** Longest wait after failed passes; default 30 s. */
  maxBackoffMs?: number;
  graph?: GraphSyncOptions;
  /** Called after every pass (metrics, tests). */
  onPass?: (o: PassOutcome) => void;
}

interface HomeLoop {
  card: SiteCard;
  wake: () => void;
  woken: boolean;
  done: Promise<void>;
}

export class MirrorNode {
  private readonly loops = new Map<string, HomeLoop>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private recoveryNoted = false;
  private scrubTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: MirrorNodeDeps) {}

  homes(): SiteCard[] {
    return this.deps.peers().filter((p) => p.role === 'home');
  }

  start(): void {
    this.refresh();
    // New home cards can arrive while the node runs (`embassy site add` + reload of peers).
    this.refreshTimer = setInterval(() => this.refresh(), this.deps.pollMs ?? 10_000);
    if (this.deps.scrubMs) {
      this.scrubTimer = setInterval(() => {
        this.scrub().catch((e: unknown) => this.deps.logger.warn({ error: (e as Error).message }, 'scrub failed'));
      }, this.deps.scrubMs);
    }
  }

  private refresh(): void {
    for (const card of this.homes()) {
      const loop = this.loops.get(card.name);
      if (loop === undefined || loop.card.tlsFingerprint !== card.tlsFingerprint || loop.card.url !== card.url) this.startLoop(card);
    }
  }

  /** A home said it has a new checkpoint. */
  notify(home: string): boolean {
    const loop = this.loops.get(home);
    if (loop === undefined) return false;
    loop.woken = true;
    loop.wake();
    return true;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private startLoop(card: SiteCard): void {
    const loop: HomeLoop = { card, wake: () => undefined, woken: true, done: Promise.resolve() };
    this.loops.set(card.name, loop);
    loop.done = (async () => {
      let failures = 0;
      while (!this.stopped && this.loops.get(card.name) === loop) {
        if (!loop.woken) {
          const wait = failures === 0 ? (this.deps.pollMs ?? 10_000) : Math.min(this.deps.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(failures, 10));
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, wait);
            loop.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          if (this.stopped) break;
        }
        loop.woken = false;
        let o: PassOutcome;
        try {
          o = await this.passFor(card);
        } catch (e) {
          this.deps.logger.warn({ home: card.name, error: (e as Error).message }, 'mirror pass failed');
          failures++;
          continue;
        }
        failures = o.status === 'incomplete' || o.status === 'refused' ? failures + 1 : 0;
      }
    })();
  }

  /**
   * When the store was opened, recovery may have found pack files gone or damaged (never a crash
   * of ours: packs are durable before they are indexed), or rebuilt the index: objects may have
   * vanished under stored parents, so every home needs a full pass before its next receipt.
   */
  private async noteRecovery(): Promise<void> {
    if (this.recoveryNoted) return;
    this.recoveryNoted = true;
    // Notes from whichever process opened the store and found the damage (this one or an earlier one).
    const what = await this.deps.objects.damageNotes();
    if (what.length === 0) return;
    this.deps.logger.warn({ found: what.slice(0, 5), count: what.length }, 'store damage found when it was opened; receipts withheld until a full pass');
    for (const card of this.homes()) {
      const state = await FollowState.open(this.deps.siteDir, card.name);
      await state.update((s) => ({ ...s, needsFullWalk: true, damage: `found when the store was opened: ${what.slice(0, 5).join('; ')}` }));
    }
    // Every home is marked (durably): the notes have done their job.
    await this.deps.objects.clearDamageNotes();
  }

  /** One pass for one home, queued behind any other pass or scrub; sends a new receipt to the home. */
  async passFor(card: SiteCard): Promise<PassOutcome> {
    await this.exclusive(() => this.noteRecovery());
    const state = await FollowState.open(this.deps.siteDir, card.name);
    const sources = [card, ...this.deps.peers().filter((p) => p.role === 'mirror')].map((c) => this.deps.transport.objectSource(c));
    const o = await this.exclusive(() =>
      followOnce({
        home: { name: card.name, origin: card.origin, logVerifierKey: card.logVerifierKey },
        remoteLog: this.deps.transport.logReader(card),
        sources,
        objects: this.deps.objects,
        state,
        cosigner: this.deps.cosigner,
        ...(this.deps.graph ? { graph: this.deps.graph } : {}),
      }),
    );
    const fields = { home: card.name, status: o.status, size: o.size, fetched: o.graph?.fetched ?? 0, fetchedBytes: o.graph?.fetchedBytes ?? 0, ...(o.error ? { error: `${o.error.code}: ${o.error.message}` } : {}) };
    if (o.status === 'refused') this.deps.logger.warn({ ...fields, divergence: o.divergence?.kind }, 'mirror pass refused the home log');
    else if (o.status === 'incomplete') this.deps.logger.warn(fields, 'mirror pass incomplete');
    else this.deps.logger.info(fields, o.status === 'receipted' ? 'receipt made' : 'up to date');
    if (o.status === 'receipted' && o.receipt) await this.sendReceipt(card, o.receipt);
    this.deps.onPass?.(o);
    return o;
  }

  private async sendReceipt(card: SiteCard, receipt: string): Promise<void> {
    try {
      const res = await this.deps.transport.post(card, 'receipts', receipt, 'text/plain');
      if (res.status !== 200) this.deps.logger.warn({ home: card.name, status: res.status, body: res.body.slice(0, 300) }, 'home did not accept the receipt');
    } catch (e) {
      this.deps.logger.warn({ home: card.name, error: (e as Error).message }, 'cannot send receipt to home (it collects it later)');
    }
  }

  /** Scrub now, queued behind any pass; homes with damage get a full pass right after. */
  async scrub(): Promise<ScrubReport> {
    await this.exclusive(() => this.noteRecovery());
    const homes = await Promise.all(this.homes().map(async (card) => ({ home: { name: card.name, origin: card.origin, logVerifierKey: card.logVerifierKey }, state: await FollowState.open(this.deps.siteDir, card.name) })));
    const report = await this.exclusive(() => scrubMirror(this.deps.objects, homes));
    if (report.damaged) {
      this.deps.logger.warn({ findings: report.findings.length, lost: report.repair?.objectsLost.length ?? 0, homes: report.homes.filter((h) => h.needsFullWalk).map((h) => h.home) }, 'scrub found damage; receipts withheld until repaired');
      for (const h of report.homes) if (h.needsFullWalk) this.notify(h.home);
    } else {
      this.deps.logger.info({ packs: report.packs, objects: report.objects }, 'scrub clean');
    }
    return report;
  }

  /** GET /receipts: the newest receipt per followed home, and which homes are under repair. */
  async published(siteName: string): Promise<unknown> {
    const receipts = [];
    const damaged: string[] = [];
    for (const card of this.homes()) {
      const state = await FollowState.open(this.deps.siteDir, card.name);
      const note = await state.readReceipt();
      if ((await state.read()).needsFullWalk) damaged.push(card.name);
      if (note === undefined) continue;
      receipts.push({ home: card.name, origin: card.origin, size: String(noteTreeSize(note)), note });
    }
    return { site: siteName, role: 'mirror', receipts, damaged };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    clearInterval(this.scrubTimer);
    for (const l of this.loops.values()) l.wake();
    await Promise.all([...this.loops.values()].map((l) => l.done));
    await this.queue.catch(() => undefined);
  }
}

/** A site with small packs flushes as often: parents are stored sooner, a kill loses less. */
export function graphOptions(site: { config: { packSize?: number } }): { graph?: GraphSyncOptions } {
  const packSize = site.config.packSize;
  return packSize !== undefined && packSize < 8 * 1024 * 1024 ? { graph: { flushBytes: packSize } } : {};
}

export function describeOutcome(o: PassOutcome): string {
  const g = o.graph ? `, fetched ${o.graph.fetched} objects (${o.graph.fetchedBytes} bytes)` : '';
  return `${o.home}: ${o.status} at size ${o.size}${g}${o.error ? ` — ${o.error.code}: ${o.error.message}` : ''}`;
}
