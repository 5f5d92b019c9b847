// The activation of a mirror (DESIGN.md §6, issue 5 item 2), living inside the mirror's
// `embassy serve` process, and the DataAccess (src/api/access.ts) the serving API reads through.
//
//   inactive ──first good share──► collecting ──M-th share──► active ──expiry / deactivate──► inactive
//                                      │ (shares in memory only, wiped after collectTtlMs)
//
// Every share is checked at once against the custody statement in the mirror's verified copy of
// the home's log; a share of another ceremony, epoch or custodian is refused (custody.wrong-share).
// At M shares the KEK is rebuilt in memory, every data key of the datasets in scope unwrapped,
// the KEK and the shares wiped, and dataset views built over the home log copy and the mirror's
// own object store. Every submission, activation, extension, deactivation, access digest and drill
// report is a statement in the mirror's own log (src/format/mirror-statements.ts), which the
// other mirrors cosign. Deactivation wipes every key. A non-drill activation is refused while the
// home still answers: activation is for when the home is gone; drills are the rehearsal.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { retainedVersions, type Catalog } from '../catalog/catalog.ts';
import { checkShare, rebuildKek } from '../custody/kek.ts';
import {
  newActivationId,
  type ActivationStatement,
  type DeactivationReason,
  type DeactivationStatement,
  type DrillStatement,
  type JournalHead,
  type MirrorStatement,
} from '../format/mirror-statements.ts';
import type { CustodyStatement } from '../format/statement-types.ts';
import type { Logger } from '../federation/home.ts';
import { parseVerifierKey } from '../log/note.ts';
import type { SiteCard } from '../net/card.ts';
import { unwrapDatasetKey } from '../seal/datasets.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { LogReader } from '../store/log-store.ts';
import type { DataAccess, DatasetView, ServingActivation } from '../api/access.ts';
import { buildDatasetView, type WipeableDatasetView } from '../api/dataset-view.ts';
import { runDrill, type DrillSample } from './drill.ts';
import { formatDuration } from './duration.ts';
import type { Appended, StatementLog } from './mirror-log.ts';

export const DEFAULT_COLLECT_TTL_MS = 60 * 60_000;
export const DEFAULT_DURATION_MS = 8 * 3_600_000;
export const MAX_DURATION_MS = 72 * 3_600_000;
export const DEFAULT_DIGEST_MS = 10_000;
/** How long a drill waits for the other mirrors to cosign its statement before reporting without. */
export const DRILL_COSIGN_WAIT_MS = 10_000;

/** What a share file's header says (src/custody/share-file.ts ShareMeta; only what is checked here). */
export interface SubmittedShareMeta {
  /** Origin of the home log. */
  home: string;
  homeVerifierKey: string;
  custodian: string;
  epoch: number;
  kekFingerprint: string;
}

/** What the first share of a collection asks for; later shares may repeat it, not change it. */
export interface ActivationRequest {
  /** Home site name; default the home the share file names. */
  home?: string;
  /** Datasets in scope; default every dataset of the home with a retained version. */
  datasets?: string[];
  durationMs?: number;
  drill?: boolean;
  reason?: string;
}

export interface ShareSubmission {
  meta: SubmittedShareMeta;
  share: Uint8Array;
  request?: ActivationRequest;
}

export interface Cosignature {
  site: string;
  size: bigint;
  note: string;
}

export interface ActivationManagerDeps {
  site: { name: string; origin: string };
  /** Peer cards; the homes among them are the ones this mirror follows. */
  peers: () => SiteCard[];
  openHomeCopy: (card: SiteCard) => Promise<{ catalog: Catalog; log: LogReader }>;
  objects: ObjectStore;
  log: StatementLog;
  /** Whether the home answers now (GET its checkpoint, short timeout). */
  homeAnswers: (card: SiteCard) => Promise<boolean>;
  /** The access journal's head; default an empty journal. */
  journalHead?: () => JournalHead;
  /** After each append: ask the other mirrors to cosign (never throws for a peer's failure). */
  announce?: () => Promise<unknown>;
  /** The other mirrors' cosignatures covering at least `size`. */
  cosigners?: (size: bigint) => Cosignature[];
  logger: Logger;
  now?: () => number;
  clock?: () => number;
  random?: (n: number) => Uint8Array;
  collectTtlMs?: number;
  maxDurationMs?: number;
  defaultDurationMs?: number;
  digestMs?: number;
  drillSamples?: number;
  /** Budget of each data key's decrypted-node cache (bytes); default the view's. */
  nodeCacheBytes?: number;
  /** Fill the caches in the background after an activation (default true; drills verify everything anyway). */
  warmCaches?: boolean;
}

export interface CollectingStatus {
  activation: string;
  home: string;
  custodians: string[];
  have: number;
  need: number;
  expiresAt: string;
  datasets: string[];
  drill: boolean;
  duration: string;
}

export interface ActiveStatus {
  id: string;
  home: string;
  datasets: string[];
  custodians: string[];
  notBefore: string;
  notAfter: string;
  drill: boolean;
  logIndex: string;
  /** The background cache warming after the activation: per dataset, nodes and bytes loaded. */
  cache?: { state: 'warming' | 'warm' | 'stopped'; datasets: { dataset: string; nodes: number; bytes: number }[]; ms?: number };
}

export interface ActivationStatus {
  site: string;
  state: 'inactive' | 'collecting' | 'active';
  collecting?: CollectingStatus;
  active?: ActiveStatus;
  last?: { activation: string; reason: DeactivationReason; at: string };
}

export interface DrillReport {
  site: string;
  home: { name: string; origin: string };
  activation: ActivationStatement;
  activationIndex: string;
  statement: DrillStatement;
  logIndex: string;
  /** The mirror's checkpoint note right after the drill statement. */
  checkpoint: string;
  cosignatures: { site: string; size: string; note: string }[];
  samples: DrillSample[];
}

export interface SubmitResult {
  custodian: string;
  have: number;
  need: number;
  status: ActivationStatus;
  /** Set when this share completed the activation. */
  activated?: ActiveStatus;
  /** Set when this share completed a drill (which is deactivated again by then). */
  drill?: DrillReport;
}

interface Collection {
  id: string;
  card: SiteCard;
  catalog: Catalog;
  log: LogReader;
  custody: CustodyStatement;
  datasets: string[];
  durationMs: number;
  drill: boolean;
  reason: string;
  shares: Map<string, Uint8Array>;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

interface Active {
  statement: ActivationStatement;
  logIndex: bigint;
  card: SiteCard;
  views: Map<string, WipeableDatasetView>;
  notAfter: number;
  timer: NodeJS.Timeout;
  digest: NodeJS.Timeout;
  lastDigestSeq: number;
  cache?: ActiveStatus['cache'];
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class ActivationManager implements DataAccess {
  private collection: Collection | undefined;
  private active: Active | undefined;
  private last: ActivationStatus['last'];
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: ActivationManagerDeps) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- DataAccess ----

  current(): ServingActivation | undefined {
    const a = this.active;
    if (!a || this.now() >= a.notAfter) return undefined;
    return { id: a.statement.id, drill: a.statement.drill, notAfter: a.notAfter, datasets: a.statement.datasets };
  }

  dataset(id: string): DatasetView | undefined {
    if (!this.current()) return undefined;
    return this.active!.views.get(id);
  }

  // ---- lifecycle ----

  /**
   * Closes, with a `restart` deactivation, every activation the own log shows without one: the
   * keys died with the previous process, so a restarted mirror comes back inactive, and its log
   * says so.
   */
  async start(): Promise<string[]> {
    return this.exclusive(async () => {
      const open = new Map<string, ActivationStatement>();
      for (const { statement: s } of await this.deps.log.statements()) {
        if (s.type === 'activation') open.set(s.id, s);
        else if (s.type === 'deactivation') open.delete(s.activation);
      }
      for (const id of open.keys()) {
        await this.append({ type: 'deactivation', activation: id, reason: 'restart', journal: this.journalHead(), at: iso(this.now()) });
        this.deps.logger.warn({ activation: id }, 'activation: closed an activation left open by the previous run (keys are gone after a restart)');
        this.last = { activation: id, reason: 'restart', at: iso(this.now()) };
      }
      return [...open.keys()];
    });
  }

  /** Deactivates (keys wiped) and drops any collection; for shutdown. */
  async stop(): Promise<void> {
    await this.exclusive(async () => {
      this.stopped = true;
      this.dropCollection('the node is stopping');
      if (this.active) await this.endActive('shutdown');
    });
  }

  // ---- status ----

  status(): ActivationStatus {
    const c = this.collection;
    const a = this.active;
    const s: ActivationStatus = { site: this.deps.site.name, state: a ? 'active' : c ? 'collecting' : 'inactive' };
    if (c) {
      s.collecting = {
        activation: c.id, home: c.card.name, custodians: [...c.shares.keys()], have: c.shares.size, need: c.custody.threshold,
        expiresAt: iso(c.expiresAt), datasets: c.datasets, drill: c.drill, duration: formatDuration(c.durationMs),
      };
    }
    if (a) s.active = this.activeStatus(a);
    if (this.last) s.last = this.last;
    return s;
  }

  private activeStatus(a: Active): ActiveStatus {
    const st = a.statement;
    return {
      id: st.id, home: a.card.name, datasets: st.datasets, custodians: st.custodians, notBefore: st.notBefore, notAfter: st.notAfter, drill: st.drill, logIndex: String(a.logIndex),
      ...(a.cache ? { cache: { ...a.cache, datasets: a.cache.datasets.map((d) => ({ ...d })) } } : {}),
    };
  }

  // ---- shares ----

  /** One custodian's share. Refusals are logged (as refused activation-share statements) and thrown. */
  submitShare(sub: ShareSubmission): Promise<SubmitResult> {
    return this.exclusive(() => this.submit(sub));
  }

  /** All shares of a drill at once (`embassy drill`); the last one runs the drill. */
  drill(subs: ShareSubmission[], request: Omit<ActivationRequest, 'drill'> = {}): Promise<SubmitResult> {
    return this.exclusive(async () => {
      if (subs.length === 0) throw new EmbassyError('usage', 'drill: no shares given');
      let r: SubmitResult | undefined;
      for (const s of subs) {
        r = await this.submit({ ...s, request: { ...request, drill: true } });
        if (r.drill) return r;
      }
      const c = this.collection;
      throw new EmbassyError('custody.short', `drill: ${c?.shares.size ?? 0} of ${c?.custody.threshold ?? '?'} shares given; the collection stays open for the others`);
    });
  }

  private async submit(sub: ShareSubmission): Promise<SubmitResult> {
    if (this.stopped) throw new EmbassyError('activation.inactive', 'activation: the node is stopping');
    const { meta } = sub;
    let collectionId: string | null = this.collection?.id ?? null;
    try {
      if (this.active) {
        throw new EmbassyError('activation.conflict', `activation: ${this.active.statement.id} is in force until ${this.active.statement.notAfter}`, {
          hint: 'deactivate it first (`embassy deactivate`), or extend it (`embassy activation extend`)',
        });
      }
      const c = this.collection ?? (await this.openCollection(sub));
      collectionId = c.id;
      this.checkRequest(c, sub.request);
      if (meta.home !== c.card.origin || meta.homeVerifierKey !== c.card.logVerifierKey) {
        throw new EmbassyError('custody.wrong-share', `share: custodian ${meta.custodian}'s share is for home ${meta.home}, the collection under way is for ${c.card.origin}`);
      }
      if (meta.epoch !== c.custody.epoch || meta.kekFingerprint !== c.custody.kekFingerprint) {
        throw new EmbassyError('custody.wrong-share', `share: custodian ${meta.custodian}'s share is from custody epoch ${meta.epoch}; home ${c.card.name}'s log has epoch ${c.custody.epoch}`, {
          hint: 'only the share files of the newest key ceremony count',
        });
      }
      checkShare(c.custody, meta.custodian, sub.share);
      if (c.shares.has(meta.custodian)) {
        throw new EmbassyError('activation.conflict', `share: custodian ${meta.custodian} has already submitted a share to ${c.id}`);
      }
      const isLast = c.shares.size + 1 >= c.custody.threshold;
      if (isLast && !c.drill) await this.refuseIfHomeAnswers(c.card);
      c.shares.set(meta.custodian, new Uint8Array(sub.share));
      await this.append({ type: 'activation-share', activation: c.id, home: c.card.origin, custodian: meta.custodian, accepted: true, at: iso(this.now()) });
      this.deps.logger.info({ activation: c.id, custodian: meta.custodian, have: c.shares.size, need: c.custody.threshold }, 'activation: share accepted');
      const result: SubmitResult = { custodian: meta.custodian, have: c.shares.size, need: c.custody.threshold, status: this.status() };
      if (!isLast) return result;
      const startedAt = (this.deps.clock ?? performance.now.bind(performance))();
      const active = await this.activate(c);
      result.activated = this.activeStatus(active);
      if (c.drill) result.drill = await this.runDrill(active, startedAt);
      result.status = this.status();
      return result;
    } catch (e) {
      if (isEmbassyError(e)) await this.logRefusal(collectionId, meta, e);
      throw e;
    }
  }

  private async logRefusal(activation: string | null, meta: SubmittedShareMeta, e: EmbassyError): Promise<void> {
    // Only refusals of a share that names a plausible custodian and home become statements; a
    // request that does not even parse is refused without a log entry.
    if (typeof meta?.custodian !== 'string' || typeof meta?.home !== 'string') return;
    try {
      await this.append({ type: 'activation-share', activation, home: meta.home, custodian: meta.custodian, accepted: false, reason: e.code, at: iso(this.now()) });
    } catch (err) {
      this.deps.logger.warn({ error: (err as Error).message }, 'activation: cannot log a refused share');
    }
    this.deps.logger.warn({ activation, custodian: meta.custodian, code: e.code }, 'activation: share refused');
  }

  private homeCard(sub: ShareSubmission): SiteCard {
    const homes = this.deps.peers().filter((p) => p.role === 'home');
    const name = sub.request?.home;
    const card = name !== undefined ? homes.find((h) => h.name === name) : homes.find((h) => h.origin === sub.meta.home);
    if (!card) {
      if (name !== undefined) {
        throw new EmbassyError('usage', `activation: this mirror follows no home named ${JSON.stringify(name)}`, { hint: `it follows ${homes.map((h) => h.name).join(', ') || 'no home'}` });
      }
      throw new EmbassyError('custody.wrong-share', `share: custodian ${sub.meta.custodian}'s share is for home ${sub.meta.home}, which this mirror does not follow`);
    }
    return card;
  }

  private async openCollection(sub: ShareSubmission): Promise<Collection> {
    const card = this.homeCard(sub);
    const req = sub.request ?? {};
    const drill = req.drill === true;
    if (!drill) await this.refuseIfHomeAnswers(card);
    const { catalog, log } = await this.deps.openHomeCopy(card);
    const custody = catalog.custody?.statement;
    if (!custody) {
      throw new EmbassyError('custody.none', `activation: home ${card.name}'s log holds no custody statement`, { hint: 'hold a key ceremony at the home (`embassy custody init`) while it is up' });
    }
    const available = [...catalog.datasets.values()].filter((d) => retainedVersions(d).length > 0).map((d) => d.statement.dataset);
    const datasets = req.datasets ?? available;
    if (datasets.length === 0) throw new EmbassyError('dataset.unknown', `activation: home ${card.name} has no dataset with a version to serve`);
    for (const d of datasets) {
      if (!available.includes(d)) {
        throw new EmbassyError('dataset.unknown', `activation: home ${card.name} has no dataset ${d} with a version this mirror holds`, { hint: `it has ${available.join(', ') || 'none'}` });
      }
    }
    const max = this.deps.maxDurationMs ?? MAX_DURATION_MS;
    const durationMs = req.durationMs ?? this.deps.defaultDurationMs ?? DEFAULT_DURATION_MS;
    if (!(durationMs > 0 && durationMs <= max)) {
      throw new EmbassyError('usage', `activation: duration ${formatDuration(durationMs)} is over the most this mirror allows, ${formatDuration(max)}`);
    }
    const random = this.deps.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
    const ttl = this.deps.collectTtlMs ?? DEFAULT_COLLECT_TTL_MS;
    const id = newActivationId(this.now(), random(2));
    const c: Collection = {
      id, card, catalog, log, custody, datasets: [...new Set(datasets)], durationMs, drill,
      reason: req.reason ?? (drill ? 'drill' : 'activation by custodians'),
      shares: new Map(), expiresAt: this.now() + ttl,
      timer: setTimeout(() => {
        void this.exclusive(async () => {
          if (this.collection === c) this.dropCollection(`no quorum within ${formatDuration(ttl)}`);
        });
      }, ttl),
    };
    c.timer.unref?.();
    this.collection = c;
    this.deps.logger.info({ activation: id, home: card.name, datasets: c.datasets, drill, need: custody.threshold }, 'activation: collecting shares');
    return c;
  }

  private checkRequest(c: Collection, req: ActivationRequest | undefined): void {
    if (!req) return;
    const clash = (what: string): never => {
      throw new EmbassyError('activation.conflict', `activation: this share asks for another ${what} than the collection ${c.id} under way`, {
        hint: 'submit it without those options, or cancel the collection with `embassy deactivate`',
      });
    };
    if (req.home !== undefined && req.home !== c.card.name) clash('home');
    if (req.drill !== undefined && req.drill !== c.drill) clash('kind (drill or not)');
    if (req.datasets !== undefined && [...new Set(req.datasets)].sort().join(',') !== [...c.datasets].sort().join(',')) clash('set of datasets');
    if (req.durationMs !== undefined && req.durationMs !== c.durationMs) clash('duration');
  }

  private async refuseIfHomeAnswers(card: SiteCard): Promise<void> {
    if (await this.deps.homeAnswers(card).catch(() => false)) {
      throw new EmbassyError('activation.conflict', `activation: home ${card.name} still answers at ${card.url}; a mirror is activated only when its home is gone`, {
        hint: 'to rehearse, run a drill (`embassy drill`)',
      });
    }
  }

  /** Wipes the shares of the collection under way and forgets it; says why in the node's log, if given. */
  private dropCollection(why?: string): void {
    const c = this.collection;
    if (!c) return;
    clearTimeout(c.timer);
    for (const s of c.shares.values()) s.fill(0);
    c.shares.clear();
    this.collection = undefined;
    if (why !== undefined) this.deps.logger.warn({ activation: c.id, why }, 'activation: collection dropped, shares wiped');
  }

  private async activate(c: Collection): Promise<Active> {
    const shares = [...c.shares].map(([custodian, share]) => ({ custodian, share }));
    const views = new Map<string, WipeableDatasetView>();
    let kek: Uint8Array | undefined;
    try {
      kek = await rebuildKek(c.custody, shares);
      for (const id of c.datasets) {
        const ds = c.catalog.datasets.get(id)!;
        const deks = new Map<number, Uint8Array>();
        try {
          for (const n of new Set(retainedVersions(ds).map((v) => v.statement.dek))) deks.set(n, unwrapDatasetKey(ds, n, kek));
          views.set(id, buildDatasetView({
            homeOrigin: c.card.origin, homeVerifierKey: c.card.logVerifierKey, catalog: c.catalog, dataset: ds, log: c.log, objects: this.deps.objects, deks,
            ...(this.deps.nodeCacheBytes !== undefined ? { nodeCacheBytes: this.deps.nodeCacheBytes } : {}),
          }));
        } finally {
          for (const d of deks.values()) d.fill(0); // the view holds its own copies
        }
      }
    } catch (e) {
      for (const v of views.values()) v.wipe();
      throw e;
    } finally {
      kek?.fill(0);
      // The shares have done their job (or cannot): none stays in memory.
      this.dropCollection();
    }
    const now = this.now();
    const notAfter = now + c.durationMs;
    const statement: ActivationStatement = {
      type: 'activation', id: c.id, home: c.card.origin, kekFingerprint: c.custody.kekFingerprint, custodyEpoch: c.custody.epoch,
      custodians: shares.map((s) => s.custodian), datasets: c.datasets, notBefore: iso(now), notAfter: iso(notAfter), drill: c.drill, readOnly: true, reason: c.reason,
    };
    let appended: Appended;
    try {
      appended = await this.append(statement);
    } catch (e) {
      // Nothing is served without its statement in the log.
      for (const v of views.values()) v.wipe();
      throw e;
    }
    const a: Active = {
      statement, logIndex: appended.index, card: c.card, views, notAfter,
      timer: this.expiryTimer(notAfter),
      digest: setInterval(() => void this.exclusive(() => this.writeDigest()).catch((e: Error) => this.deps.logger.warn({ error: e.message }, 'activation: access digest failed')), this.deps.digestMs ?? DEFAULT_DIGEST_MS),
      lastDigestSeq: this.journalHead().seq,
    };
    a.digest.unref?.();
    this.active = a;
    if (!c.drill && this.deps.warmCaches !== false) this.warm(a);
    this.deps.logger.info({ activation: c.id, home: c.card.name, datasets: c.datasets, notAfter: statement.notAfter, drill: c.drill, custodians: statement.custodians }, 'activation: in force');
    return a;
  }

  /** Fills the views' caches in the background, one dataset after another; ends quietly at deactivation. */
  private warm(a: Active): void {
    const started = performance.now();
    const cache: NonNullable<ActiveStatus['cache']> = { state: 'warming', datasets: [] };
    a.cache = cache;
    void (async () => {
      for (const [id, v] of a.views) {
        if (this.active !== a) {
          cache.state = 'stopped';
          return;
        }
        const r = await v.warm();
        cache.datasets.push({ dataset: id, nodes: r.nodes, bytes: r.bytes });
        this.deps.logger.info({ activation: a.statement.id, dataset: id, nodes: r.nodes, cacheBytes: r.bytes, ms: Math.round(performance.now() - started) }, 'activation: cache warmed');
      }
      cache.state = this.active === a ? 'warm' : 'stopped';
      cache.ms = Math.round(performance.now() - started);
    })().catch((e: Error) => {
      cache.state = 'stopped';
      this.deps.logger.warn({ activation: a.statement.id, error: e.message }, 'activation: cache warming stopped');
    });
  }

  private expiryTimer(notAfter: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      void this.exclusive(async () => {
        if (this.active && this.active.notAfter === notAfter) await this.endActive('expired');
      }).catch((e: Error) => this.deps.logger.warn({ error: e.message }, 'activation: expiry failed'));
    }, Math.min(Math.max(0, notAfter - this.now()), 2 ** 31 - 1));
    t.unref?.();
    return t;
  }

  private async writeDigest(): Promise<void> {
    const a = this.active;
    if (!a) return;
    const head = this.journalHead();
    if (head.seq === a.lastDigestSeq) return;
    await this.append({ type: 'access-digest', activation: a.statement.id, seq: head.seq, head: head.head, at: iso(this.now()) });
    a.lastDigestSeq = head.seq;
  }

  private async runDrill(a: Active, startedAt: number): Promise<DrillReport> {
    const clock = this.deps.clock ?? performance.now.bind(performance);
    const run = await runDrill({
      views: [...a.views.values()], homeVerifier: parseVerifierKey(a.card.logVerifierKey), clock, startedAt, ...(this.deps.drillSamples !== undefined ? { samples: this.deps.drillSamples } : {}),
    });
    const statement: DrillStatement = {
      type: 'drill', activation: a.statement.id, home: a.card.origin, datasets: run.datasets, rto: run.rto, samples: run.samples.length, ok: run.ok, at: iso(this.now()),
    };
    const appended = await this.append(statement, false);
    this.deps.logger.info({ activation: a.statement.id, ok: run.ok, rto: run.rto }, 'drill: report logged');
    await this.endActive('drill-complete');
    // The report shows the other mirrors' cosignatures of the drill statement when they come in time.
    let cosignatures: Cosignature[] = [];
    if (this.deps.announce) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.deps.announce().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, DRILL_COSIGN_WAIT_MS)))]);
      clearTimeout(timer);
      cosignatures = this.deps.cosigners?.(appended.size) ?? [];
    }
    return {
      site: this.deps.site.name, home: { name: a.card.name, origin: a.card.origin }, activation: a.statement, activationIndex: String(a.logIndex),
      statement, logIndex: String(appended.index), checkpoint: appended.note,
      cosignatures: cosignatures.map((c) => ({ site: c.site, size: String(c.size), note: c.note })), samples: run.samples,
    };
  }

  // ---- deactivation and extension ----

  /** Ends the activation in force (keys wiped, statement logged), or drops a collection under way. */
  deactivate(reason: DeactivationReason = 'operator'): Promise<{ deactivated?: DeactivationStatement; collectionDropped?: string }> {
    return this.exclusive(async () => {
      if (this.active) return { deactivated: await this.endActive(reason) };
      const c = this.collection;
      if (c) {
        this.dropCollection('cancelled by the operator');
        return { collectionDropped: c.id };
      }
      throw new EmbassyError('activation.inactive', `activation: nothing to deactivate on ${this.deps.site.name}`);
    });
  }

  private async endActive(reason: DeactivationReason): Promise<DeactivationStatement> {
    const a = this.active!;
    // Stop serving first, then wipe: no read starts after this line.
    this.active = undefined;
    clearTimeout(a.timer);
    clearInterval(a.digest);
    for (const v of a.views.values()) v.wipe();
    a.views.clear();
    const statement: DeactivationStatement = { type: 'deactivation', activation: a.statement.id, reason, journal: this.journalHead(), at: iso(this.now()) };
    this.deps.logger.info({ activation: a.statement.id, reason }, 'activation: ended, keys wiped');
    await this.append(statement);
    this.last = { activation: a.statement.id, reason, at: statement.at };
    return statement;
  }

  /**
   * Extends the activation in force to `durationMs` from now. Custodians authorise it as they
   * authorised the activation: M shares that rebuild the logged KEK (wiped at once).
   */
  extend(subs: ShareSubmission[], durationMs: number): Promise<ActiveStatus> {
    return this.exclusive(async () => {
      const a = this.active;
      if (!a || this.now() >= a.notAfter) throw new EmbassyError('activation.inactive', `activation: nothing in force on ${this.deps.site.name} to extend`);
      if (a.statement.drill) throw new EmbassyError('activation.conflict', 'activation: a drill is not extended');
      const max = this.deps.maxDurationMs ?? MAX_DURATION_MS;
      if (!(durationMs > 0 && durationMs <= max)) throw new EmbassyError('usage', `activation: extension ${formatDuration(durationMs)} is over the most this mirror allows, ${formatDuration(max)}`);
      const { catalog } = await this.deps.openHomeCopy(a.card);
      const custody = catalog.custody?.statement;
      if (!custody || custody.kekFingerprint !== a.statement.kekFingerprint) {
        throw new EmbassyError('custody.mismatch', `activation: home ${a.card.name}'s custody changed since ${a.statement.id} began`);
      }
      for (const s of subs) {
        if (s.meta.home !== a.card.origin || s.meta.epoch !== custody.epoch) {
          throw new EmbassyError('custody.wrong-share', `share: custodian ${s.meta.custodian}'s share is not of home ${a.card.name}'s custody epoch ${custody.epoch}`);
        }
      }
      const kek = await rebuildKek(custody, subs.map((s) => ({ custodian: s.meta.custodian, share: s.share })));
      kek.fill(0);
      const notAfter = this.now() + durationMs;
      const custodians = subs.map((s) => s.meta.custodian);
      await this.append({ type: 'activation-extension', activation: a.statement.id, notAfter: iso(notAfter), custodians, at: iso(this.now()) });
      clearTimeout(a.timer);
      a.notAfter = notAfter;
      a.statement = { ...a.statement, notAfter: iso(notAfter) };
      a.timer = this.expiryTimer(notAfter);
      this.deps.logger.info({ activation: a.statement.id, notAfter: iso(notAfter), custodians }, 'activation: extended');
      return this.activeStatus(a);
    });
  }

  // ---- log ----

  private journalHead(): JournalHead {
    return this.deps.journalHead?.() ?? { seq: 0, head: '' };
  }

  private async append(s: MirrorStatement, announce = true): Promise<Appended> {
    const a = await this.deps.log.append(s);
    if (announce && this.deps.announce) {
      this.deps.announce().catch((e: Error) => this.deps.logger.warn({ error: e.message }, 'own log: cannot ask the other mirrors to cosign'));
    }
    return a;
  }
}
