// Deterministic synthetic registry data for demos and benchmarks: persons (BRP), addresses (BAG)
// and laws (BWB), as streams of JSON records in key order, and their day-by-day changes. Record
// i of a day-0 dataset depends only on (kind, count, seed, i); day d's changes only on those and
// d; so any range can be made alone, by any worker, in constant memory.
import { EmbassyError } from '../errors.ts';
import { addressesModel } from './addresses.ts';
import { lawsModel } from './laws.ts';
import type { Cluster, KindModel, ModelContext } from './model.ts';
import { STREAM } from './model.ts';
import { personsModel } from './persons.ts';
import { hashWords, seedWords, type Seed } from './prng.ts';

export const KINDS = ['persons', 'addresses', 'laws'] as const;
export type Kind = (typeof KINDS)[number];

/** The record field that is each kind's dataset key (a string). */
export const KIND_KEYS: Readonly<Record<Kind, string>> = Object.freeze({
  persons: 'burgerservicenummer',
  addresses: 'identificatie',
  laws: 'bwbId',
});

export type GeneratedRecord = Record<string, unknown>;

/** One line of a change file (keys in canonical order). */
export type ChangeLine = { op: 'upsert'; record: GeneratedRecord } | { key: string; op: 'delete' };

export const PATTERNS = ['scattered', 'clustered'] as const;
export type Pattern = (typeof PATTERNS)[number];

export interface MutateOptions {
  /** Share of the dataset changed per day (upserts + deletes + new records), 0..1. */
  fraction: number;
  /** scattered: uniformly over the key space; clustered: one contiguous key range per day. */
  pattern: Pattern;
  /** The day whose changes (or snapshot) to produce, 1 = the day after the generated dataset. */
  day?: number;
}

/** A half-open range of record indices of the day-0 dataset. */
export interface IndexRange {
  start?: number;
  end?: number;
}

// The models' state types differ; the engine only passes states back to the model that made them.
type AnyModel = KindModel<unknown, unknown>;
const MODELS: Record<Kind, AnyModel> = {
  persons: personsModel as AnyModel,
  addresses: addressesModel as AnyModel,
  laws: lawsModel as AnyModel,
};

function usage(message: string): EmbassyError {
  return new EmbassyError('usage', `generate: ${message}`);
}

function modelOf(kind: string): AnyModel {
  if (!(KINDS as readonly string[]).includes(kind)) throw usage(`unknown kind ${JSON.stringify(kind)} (expected ${KINDS.join(', ')})`);
  return MODELS[kind as Kind];
}

function context(kind: string, count: number, seed: Seed): { model: AnyModel; ctx: ModelContext } {
  const model = modelOf(kind);
  if (!Number.isSafeInteger(count) || count < 0 || count > model.maxCount) {
    throw usage(`expected a count in 0..${model.maxCount} for ${kind}, got ${count}`);
  }
  // The kind is mixed into the seed: persons and addresses made with one seed are unrelated.
  const [lo, hi] = seedWords(seed);
  const k = KINDS.indexOf(kind as Kind);
  return { model, ctx: { seed: [hashWords(lo, hi, k, 0x6b696e64, 1), hashWords(hi, lo, k, 0x6b696e64, 2)], count, layout: model.prepare(count) } };
}

/** The key of a generated record of `kind`. */
export function recordKey(kind: Kind, record: GeneratedRecord): string {
  return record[KIND_KEYS[kind]] as string;
}

/** Record i of the day-0 dataset, alone. */
export function generateRecord(kind: Kind, count: number, seed: Seed, i: number): GeneratedRecord {
  const { model, ctx } = context(kind, count, seed);
  if (!Number.isSafeInteger(i) || i < 0 || i >= count) throw usage(`expected an index in 0..${count - 1}, got ${i}`);
  return model.render(model.base(ctx, i));
}

/**
 * The day-0 dataset (or the index range of it), in key order, one record at a time. Arguments
 * are checked at the call (EmbassyError 'usage'), not at the first iteration.
 */
export function generateRecords(kind: Kind, count: number, seed: Seed, range: IndexRange = {}): Generator<GeneratedRecord> {
  const { model, ctx } = context(kind, count, seed);
  const start = range.start ?? 0;
  const end = range.end ?? count;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > count || start > end) {
    throw usage(`expected a range within 0..${count}, got ${start}..${end}`);
  }
  return (function* () {
    for (let i = start; i < end; i++) yield model.render(model.base(ctx, i));
  })();
}

// ---- days ----------------------------------------------------------------------------------------

/** Which base records a day's events hit, and how many records are born that day. */
class DayPlan {
  readonly cluster: Cluster | undefined;
  private readonly threshold: number;

  constructor(
    private readonly ctx: ModelContext,
    readonly day: number,
    eventFraction: number,
    pattern: Pattern,
    readonly births: number,
  ) {
    if (pattern === 'clustered') {
      const length = Math.round(ctx.count * eventFraction);
      const room = ctx.count - length + 1;
      const start = room > 0 ? hashWords(ctx.seed[0], ctx.seed[1], STREAM.cluster, day, 0) % room : 0;
      this.cluster = { start, length };
      this.threshold = 0;
    } else {
      this.cluster = undefined;
      this.threshold = Math.floor(eventFraction * 0x1_0000_0000);
    }
  }

  hit(i: number): boolean {
    const c = this.cluster;
    if (c !== undefined) return i >= c.start && i < c.start + c.length;
    return hashWords(this.ctx.seed[0], this.ctx.seed[1], STREAM.hit, this.day, i) < this.threshold;
  }
}

function dayPlans(kind: Kind, model: AnyModel, ctx: ModelContext, opts: MutateOptions): DayPlan[] {
  const { fraction, pattern } = opts;
  const day = opts.day ?? 1;
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) throw usage(`expected a fraction in 0..1, got ${fraction}`);
  if (!(PATTERNS as readonly string[]).includes(pattern)) {
    throw usage(`expected a pattern ${PATTERNS.join(' or ')}, got ${JSON.stringify(pattern)}`);
  }
  if (!Number.isSafeInteger(day) || day < 1 || day > model.maxDay) throw usage(`expected a day in 1..${model.maxDay} for ${kind}, got ${day}`);
  const births = Math.round(ctx.count * fraction * model.birthShare);
  if (births > model.maxBirthsPerDay) {
    throw usage(`${births} new records per day exceed the key space of ${kind} (at most ${model.maxBirthsPerDay}): lower the count or the fraction`);
  }
  const eventFraction = fraction * (1 - model.birthShare);
  // Index 0 unused: plans[d] is day d.
  const plans: DayPlan[] = [];
  for (let d = 0; d <= day; d++) plans.push(new DayPlan(ctx, d, eventFraction, pattern, births));
  return plans;
}

/** Base record i as of the end of `day` (after that day's events), or null once deleted. */
function stateAt(model: AnyModel, ctx: ModelContext, plans: readonly DayPlan[], i: number, day: number): unknown {
  let s: unknown = model.base(ctx, i);
  for (let d = 1; d <= day; d++) {
    if (!plans[d]!.hit(i)) continue;
    if (model.isFinal(s)) break;
    s = model.change(ctx, s, d, i);
    if (s === null) return null;
  }
  return s;
}

interface BirthRef {
  after: number;
  key: string;
  day: number;
  k: number;
}

/** Births of days [from, to], in output order: by position, then day, then number. */
function birthRefs(model: AnyModel, ctx: ModelContext, plans: readonly DayPlan[], from: number, to: number): BirthRef[] {
  const refs: BirthRef[] = [];
  for (let d = from; d <= to; d++) {
    const plan = plans[d]!;
    for (let k = 0; k < plan.births; k++) {
      const { after, state } = model.birth(ctx, d, k, plan.cluster);
      refs.push({ after, key: model.key(state), day: d, k });
    }
  }
  // Births at one position (after one base record) sort by key among themselves.
  return refs.sort((a, b) => a.after - b.after || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Yields, in order, the births placed at or before base index `upTo` that are still due. */
class BirthQueue<T> {
  private next = 0;

  constructor(
    private readonly refs: readonly BirthRef[],
    private readonly make: (ref: BirthRef) => T,
  ) {}

  /** Cheap test first, so that the common case (no birth here) allocates nothing. */
  due(upTo: number): boolean {
    return this.next < this.refs.length && this.refs[this.next]!.after <= upTo;
  }

  *take(upTo: number): Generator<T> {
    while (this.due(upTo)) yield this.make(this.refs[this.next++]!);
  }
}

/**
 * The changes of `day` (against the state at the end of day − 1; day 1 against the generated
 * dataset), in key order: upserts of changed and new records, deletes of removed ones. Days
 * 1..day all use the same fraction and pattern.
 */
export function mutateRecords(kind: Kind, count: number, seed: Seed, opts: MutateOptions): Generator<ChangeLine> {
  const { model, ctx } = context(kind, count, seed);
  return changes(model, ctx, dayPlans(kind, model, ctx, opts));
}

function* changes(model: AnyModel, ctx: ModelContext, plans: readonly DayPlan[]): Generator<ChangeLine> {
  const day = plans.length - 1;
  const plan = plans[day]!;
  const births = new BirthQueue<ChangeLine>(birthRefs(model, ctx, plans, day, day), (r) => ({
    op: 'upsert',
    record: model.render(model.birth(ctx, r.day, r.k, plans[r.day]!.cluster).state),
  }));
  yield* births.take(-1);
  for (let i = 0; i < ctx.count; i++) {
    if (plan.hit(i)) {
      const before = stateAt(model, ctx, plans, i, day - 1);
      if (before !== null && !model.isFinal(before)) {
        const after = model.change(ctx, before, day, i);
        yield after === null ? { key: model.key(before), op: 'delete' } : { op: 'upsert', record: model.render(after) };
      }
    }
    if (births.due(i)) yield* births.take(i);
  }
}

/**
 * The whole dataset as of the end of `day`, in key order: equal, record for record, to the
 * generated dataset with the change files of days 1..day applied in turn.
 */
export function snapshotRecords(kind: Kind, count: number, seed: Seed, opts: MutateOptions): Generator<GeneratedRecord> {
  const { model, ctx } = context(kind, count, seed);
  return snapshot(model, ctx, dayPlans(kind, model, ctx, opts));
}

function* snapshot(model: AnyModel, ctx: ModelContext, plans: readonly DayPlan[]): Generator<GeneratedRecord> {
  const day = plans.length - 1;
  const births = new BirthQueue<GeneratedRecord>(birthRefs(model, ctx, plans, 1, day), (r) =>
    model.render(model.birth(ctx, r.day, r.k, plans[r.day]!.cluster).state),
  );
  yield* births.take(-1);
  for (let i = 0; i < ctx.count; i++) {
    const s = stateAt(model, ctx, plans, i, day);
    if (s !== null) yield model.render(s);
    if (births.due(i)) yield* births.take(i);
  }
}
