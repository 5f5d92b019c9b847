// What each kind of synthetic dataset (persons, addresses, laws) provides to the generator:
// a compact state per record, made from (seed, index) alone, changed by one day's event,
// rendered to the JSON record. Records are produced in key order, so keys must increase with
// the index, and births placed after base record `after` must sort between it and the next.

export interface ModelContext<L = unknown> {
  /** The seed as two uint32 words (see seedWords). */
  seed: readonly [number, number];
  /** Records in the day-0 dataset. */
  count: number;
  /** Per-count layout (e.g. which municipality each index falls in); made once by prepare(). */
  layout: L;
}

/** Where a day's clustered changes fall: base indices [start, start + length). */
export interface Cluster {
  start: number;
  length: number;
}

export interface Birth<S> {
  /** The base index after which this record sorts (count − 1: after all base records). */
  after: number;
  state: S;
}

export interface KindModel<S, L = unknown> {
  /** The record field that is the dataset key. */
  readonly keyField: string;
  /** Largest count the key scheme has room for. */
  readonly maxCount: number;
  /** Largest number of births per day the key scheme has room for. */
  readonly maxBirthsPerDay: number;
  /** Largest day number the key scheme has room for. */
  readonly maxDay: number;
  /** Share of a day's changes that are new records (births, new buildings, new laws). */
  readonly birthShare: number;
  prepare(count: number): L;
  /** Base record i of the day-0 dataset. */
  base(ctx: ModelContext<L>, i: number): S;
  /** True when a record takes no further events (a deceased person, a withdrawn object). */
  isFinal(s: S): boolean;
  /** The record after base record i's event on `day` (never mutates s); null: deleted. */
  change(ctx: ModelContext<L>, s: S, day: number, i: number): S | null;
  /** Birth k of `day`; for a clustered day, births fall near the cluster where that is meaningful. */
  birth(ctx: ModelContext<L>, day: number, k: number, cluster: Cluster | undefined): Birth<S>;
  key(s: S): string;
  /** The JSON record, with its object keys in RFC 8785 order (so JSON.stringify is canonical). */
  render(s: S): Record<string, unknown>;
}

/** Random streams, one per purpose, so that adding a draw in one place changes nothing elsewhere. */
export const STREAM = {
  base: 1,
  event: 2,
  hit: 3,
  cluster: 4,
  birth: 5,
  key: 6,
  article: 7,
} as const;
