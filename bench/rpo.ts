// The recovery point of each version at a mirror: the time from the version's source time (what
// the home's data represented, signed into its version statement) to the first receipt that
// covers it, i.e. the first receipt for a home checkpoint whose size exceeds the statement's log
// index. Pure: the caller reads the catalog and the receipt files and passes plain figures.

export interface VersionPoint {
  version: number;
  /** Log index of the version statement. */
  logIndex: bigint;
  /** The statement's sourceTime, ms since the epoch. */
  sourceTimeMs: number;
}

export interface ReceiptPoint {
  /** Home checkpoint size the receipt cosigns. */
  size: bigint;
  /** When it was durable (mirror) or received (home), ms since the epoch. */
  atMs: number;
}

export interface VersionLag extends VersionPoint {
  /** The first covering receipt's time; null when no receipt covers the version. */
  receiptAtMs: number | null;
  /** receiptAtMs − sourceTimeMs; null when not covered. */
  lagMs: number | null;
}

/** For each version, the first receipt in time order whose checkpoint size exceeds its log index. */
export function versionLags(versions: readonly VersionPoint[], receipts: readonly ReceiptPoint[]): VersionLag[] {
  const inTime = [...receipts].sort((a, b) => a.atMs - b.atMs);
  return versions.map((v) => {
    const r = inTime.find((x) => x.size > v.logIndex);
    return { ...v, receiptAtMs: r ? r.atMs : null, lagMs: r ? r.atMs - v.sourceTimeMs : null };
  });
}

/** Nearest-rank percentile (p in 0..100) of values; null for none. With n < 100, p99 is the maximum. */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: expected p in 0..100, got ${p}`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface LagSummary {
  /** Versions considered. */
  versions: number;
  /** Versions with a covering receipt. */
  covered: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  meanMs: number | null;
  /** p99 below the target, null when no version is covered. Uncovered versions count as a miss. */
  p99UnderTarget: boolean | null;
}

export function summarizeLags(lags: readonly VersionLag[], targetMs: number): LagSummary {
  const ms = lags.flatMap((l) => (l.lagMs === null ? [] : [l.lagMs]));
  const p99 = percentile(ms, 99);
  return {
    versions: lags.length,
    covered: ms.length,
    p50Ms: percentile(ms, 50),
    p99Ms: p99,
    maxMs: ms.length ? Math.max(...ms) : null,
    meanMs: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : null,
    p99UnderTarget: p99 === null ? null : p99 < targetMs && ms.length === lags.length,
  };
}
