// The federation status report: for each dataset of a home log, which version each site holds
// (from its newest receipt), the measured RPO (DESIGN.md §5: now − source time of the newest
// version covered by the site's newest receipt), the durability quorum and the placement rules of
// the dataset's placement statement. Pure: the caller gathers the facts (cards, receipts, the
// catalog) and passes `now`; nothing here reads a file or a clock.
//
// What "held" means: a mirror whose newest receipt cosigns home checkpoint size N holds every
// retained version whose version statement has log index < N; the version it is reported to
// hold is the newest of those, and none when that one is below the dataset's keepFrom (retired
// versions do not count). The home holds its newest retained version. Witnesses hold no data:
// they never count as copies nor as quorum members; they are listed with their receipts only.
//
// When a dataset is ok (each failed check is also one line of DatasetReport.problems):
//   - quorum (placement only): at least `threshold` of the quorum sites hold the newest version;
//   - every placement rule is met; rules look at complete copies of the NEWEST version at mirrors;
//   - RPO (when a target exists: placement.rpoTarget, else dataset.rpoTarget): at least
//     `threshold` of the quorum sites meet the target; without a placement statement, at least
//     one mirror must meet it. Without a target the RPO check is skipped (met: null).
//   - a dataset without any retained version is ok: there is nothing to copy yet.
// Quorum sites that are unknown (no card) or witnesses can hold nothing; they are reported.
import type { Catalog, DatasetInfo, VersionInfo } from '../catalog/catalog.ts';
import type { PlacementStatement } from '../format/statement-types.ts';
import { haversineKm } from '../net/geo.ts';

export interface SiteFacts {
  name: string;
  role: 'home' | 'mirror' | 'witness';
  location?: { lat: number; lon: number };
  jurisdiction?: string;
  riskTags: string[];
  /** The newest receipt this site gave for the home log: the cosigned checkpoint size and the cosignature timestamp (POSIX s). Undefined: none yet. */
  receipt?: { size: bigint; cosignedAt: bigint };
}

export interface FederationInput {
  /** The home itself (its receipt is ignored: it holds everything in its log). */
  home: SiteFacts;
  /** Mirrors and witnesses known to the home. Sites of another role are ignored. */
  sites: SiteFacts[];
  /** The home's catalog (src/catalog/catalog.ts). */
  catalog: Catalog;
  now: Date;
}

/** A receipt in JSON form: the cosigned size as a decimal string, the time as ISO 8601. */
export interface ReceiptReport {
  size: string;
  cosignedAt: string;
}

export interface SiteRow {
  site: string;
  role: 'home' | 'mirror';
  /** Great-circle distance from the home, rounded to whole km; null when either has no location. */
  distanceKm: number | null;
  jurisdiction: string | null;
  /** The site's newest receipt; always null for the home. */
  receipt: ReceiptReport | null;
  /** The newest retained version the site holds, or null. */
  heldVersion: number | null;
  heldSourceTime: string | null;
  /** now − heldSourceTime, in whole seconds (negative if the source time is in the future); null when nothing is held. */
  rpoSeconds: number | null;
  /** null when the dataset has no RPO target or no version; false when nothing is held. */
  meetsTarget: boolean | null;
  /** newest − held; the newest version number when nothing is held. */
  versionsBehind: number;
  holdsNewest: boolean;
}

export interface QuorumReport {
  threshold: number;
  sites: string[];
  /** The quorum sites that hold the newest version. */
  holdingNewest: string[];
  /** Quorum sites this home has no card for, or that are witnesses: they can hold nothing. */
  notMirrors: string[];
  met: boolean;
  /** The newest version held by at least `threshold` quorum sites, or null. */
  durableVersion: number | null;
}

export type RuleName = 'min-copies' | 'min-distance' | 'foreign-jurisdiction' | 'distinct-risk';

export interface RuleReport {
  rule: RuleName;
  required: string;
  met: boolean;
  /** The mirrors with a complete copy of the newest version that satisfy the rule ("a copy" in `required`). */
  satisfiedBy: string[];
}

export interface RpoReport {
  target: number | null;
  targetFrom: 'placement' | 'dataset' | null;
  /** The sites whose RPO counts: the quorum sites, or every mirror when there is no placement. */
  counted: string[];
  required: number;
  meeting: string[];
  met: boolean | null;
}

export interface DatasetReport {
  dataset: string;
  newestVersion: number | null;
  newestSourceTime: string | null;
  rpoTarget: number | null;
  /** Log index of the placement statement in force, or null: no policy. */
  placementLogIndex: string | null;
  /** Home first, then mirrors by name. */
  sites: SiteRow[];
  /** Absent without a placement statement ("no policy"). */
  quorum?: QuorumReport;
  rules: RuleReport[];
  rpo: RpoReport;
  ok: boolean;
  /** One line per failed check, empty when ok. */
  problems: string[];
}

export interface WitnessRow {
  site: string;
  receipt: ReceiptReport | null;
  /** Home log size − cosigned size (decimal string), or null without a receipt. */
  entriesBehind: string | null;
}

export interface FederationReport {
  home: string;
  homeLogSize: string;
  now: string;
  datasets: DatasetReport[];
  witnesses: WitnessRow[];
  /** Every dataset ok. */
  ok: boolean;
}

export function evaluateFederation(input: FederationInput): FederationReport {
  const { home, catalog, now } = input;
  const mirrors = new Map<string, SiteFacts>();
  const witnesses = new Map<string, SiteFacts>();
  for (const s of input.sites) {
    if (s.name === home.name) continue;
    if (s.role === 'mirror') mirrors.set(s.name, s);
    else if (s.role === 'witness') witnesses.set(s.name, s);
  }
  const mirrorNames = [...mirrors.keys()].sort();
  const datasets = [...catalog.datasets.values()]
    .sort((a, b) => (a.statement.dataset < b.statement.dataset ? -1 : a.statement.dataset > b.statement.dataset ? 1 : 0))
    .map((ds) => evaluateDataset(ds, home, mirrorNames.map((n) => mirrors.get(n)!), now));
  const homeSize = catalog.checkpoint.size;
  return {
    home: home.name,
    homeLogSize: homeSize.toString(),
    now: now.toISOString(),
    datasets,
    witnesses: [...witnesses.keys()].sort().map((name) => {
      const r = witnesses.get(name)!.receipt;
      return { site: name, receipt: r ? receiptReport(r) : null, entriesBehind: r ? (homeSize > r.size ? homeSize - r.size : 0n).toString() : null };
    }),
    ok: datasets.every((d) => d.ok),
  };
}

/** The newest retained version among those whose statement lies below log size `size`. */
function heldVersion(ds: DatasetInfo, size: bigint | undefined): VersionInfo | undefined {
  for (let i = ds.versions.length - 1; i >= 0; i--) {
    const v = ds.versions[i]!;
    if (size === undefined || v.logIndex < size) return v.statement.version >= ds.keepFrom ? v : undefined;
  }
  return undefined;
}

function evaluateDataset(ds: DatasetInfo, home: SiteFacts, mirrors: SiteFacts[], now: Date): DatasetReport {
  const placement: PlacementStatement | undefined = ds.placement?.statement;
  const newest = heldVersion(ds, undefined);
  const newestNumber = newest?.statement.version ?? null;
  const target = placement?.rpoTarget ?? ds.statement.rpoTarget ?? null;
  const targetFrom = placement?.rpoTarget !== undefined ? 'placement' : ds.statement.rpoTarget !== undefined ? 'dataset' : null;

  const row = (s: SiteFacts, isHome: boolean): SiteRow => {
    const held = isHome ? newest : s.receipt ? heldVersion(ds, s.receipt.size) : undefined;
    const heldNumber = held?.statement.version ?? null;
    const rpoSeconds = held ? Math.floor((now.getTime() - Date.parse(held.statement.sourceTime)) / 1000) : null;
    return {
      site: s.name,
      role: isHome ? 'home' : 'mirror',
      distanceKm: isHome ? (home.location ? 0 : null) : home.location && s.location ? Math.round(haversineKm(home.location, s.location)) : null,
      jurisdiction: s.jurisdiction ?? null,
      receipt: !isHome && s.receipt ? receiptReport(s.receipt) : null,
      heldVersion: heldNumber,
      heldSourceTime: held?.statement.sourceTime ?? null,
      rpoSeconds,
      meetsTarget: target === null || newestNumber === null ? null : rpoSeconds !== null && rpoSeconds <= target,
      versionsBehind: (newestNumber ?? 0) - (heldNumber ?? 0),
      holdsNewest: newestNumber !== null && heldNumber === newestNumber,
    };
  };
  const rows = [row(home, true), ...mirrors.map((m) => row(m, false))];
  const rowOf = new Map(rows.map((r) => [r.site, r]));
  const empty = newestNumber === null;
  const problems: string[] = [];

  let quorum: QuorumReport | undefined;
  const rules: RuleReport[] = [];
  if (placement) {
    const q = placement.quorum;
    const holdingNewest = q.sites.filter((n) => rowOf.get(n)?.holdsNewest);
    const held = q.sites.map((n) => rowOf.get(n)?.heldVersion ?? null).filter((v): v is number => v !== null).sort((a, b) => b - a);
    quorum = {
      threshold: q.threshold,
      sites: [...q.sites],
      holdingNewest,
      notMirrors: q.sites.filter((n) => !rowOf.has(n)),
      met: empty || holdingNewest.length >= q.threshold,
      durableVersion: held[q.threshold - 1] ?? null,
    };
    if (!quorum.met) problems.push(`quorum: newest v${newestNumber} held by ${holdingNewest.length} of ${q.threshold} required`);

    // Complete copies of the newest version at mirrors: what every placement rule looks at.
    const copies = mirrors.filter((m) => rowOf.get(m.name)!.holdsNewest);
    const rule = (name: RuleName, required: string, ok: (m: SiteFacts) => boolean, need = 1): void => {
      const satisfiedBy = copies.filter(ok).map((m) => m.name);
      const met = empty || satisfiedBy.length >= need;
      rules.push({ rule: name, required, met, satisfiedBy });
      if (!met) problems.push(`${name}: ${required}; satisfied by ${satisfiedBy.length ? satisfiedBy.join(', ') : 'none'}`);
    };
    rule('min-copies', `${placement.minCopies} complete ${placement.minCopies === 1 ? 'copy' : 'copies'} at mirrors`, () => true, placement.minCopies);
    if (placement.minDistanceKm !== undefined) {
      const min = placement.minDistanceKm;
      const homeLoc = home.location;
      rule('min-distance', `a copy at least ${min} km from ${home.name}${homeLoc ? '' : ' (the home has no location)'}`,
        (m) => homeLoc !== undefined && m.location !== undefined && haversineKm(homeLoc, m.location) >= min);
    }
    if (placement.foreignJurisdiction) {
      const j = home.jurisdiction;
      rule('foreign-jurisdiction', `a copy outside ${j ?? `${home.name} (the home has no jurisdiction)`}`,
        (m) => j !== undefined && m.jurisdiction !== undefined && m.jurisdiction !== j);
    }
    if (placement.distinctRisk) {
      const tags = new Set(home.riskTags);
      rule('distinct-risk', `a copy sharing no risk tag with ${home.name}${tags.size ? ` (${[...tags].sort().join(', ')})` : ''}`,
        (m) => !m.riskTags.some((t) => tags.has(t)));
    }
  }

  const counted = placement ? [...placement.quorum.sites] : mirrors.map((m) => m.name);
  const required = placement ? placement.quorum.threshold : 1;
  const meeting = counted.filter((n) => rowOf.get(n)?.meetsTarget === true);
  const rpoMet = target === null || empty ? null : meeting.length >= required;
  if (rpoMet === false) {
    problems.push(`rpo: target ${formatDuration(target!)} met by ${meeting.length} of ${required} required (${placement ? 'quorum sites' : 'mirrors'})`);
  }

  return {
    dataset: ds.statement.dataset,
    newestVersion: newestNumber,
    newestSourceTime: newest?.statement.sourceTime ?? null,
    rpoTarget: target,
    placementLogIndex: ds.placement ? ds.placement.logIndex.toString() : null,
    sites: rows,
    ...(quorum ? { quorum } : {}),
    rules,
    rpo: { target, targetFrom, counted, required, meeting, met: rpoMet },
    ok: problems.length === 0,
    problems,
  };
}

function receiptReport(r: { size: bigint; cosignedAt: bigint }): ReceiptReport {
  return { size: r.size.toString(), cosignedAt: isoFromPosix(r.cosignedAt) };
}

/** ISO 8601 of a POSIX time in seconds; a time JavaScript cannot represent stays a number ("@s"). */
function isoFromPosix(seconds: bigint): string {
  // Date covers ±8.64e15 ms; a cosignature timestamp is a uint64 chosen by the signer.
  if (seconds > 8_640_000_000_000n || seconds < -8_640_000_000_000n) return `@${seconds}`;
  return new Date(Number(seconds) * 1000).toISOString();
}

/** A duration for people: "4 s", "3 min", "2 h 5 min", "3 d", "3 d 4 h" (rounded down). */
export function formatDuration(seconds: number): string {
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  return h ? `${d} d ${h} h` : `${d} d`;
}

const OK = '✓ ok';
const FAIL = '✗ FAIL';
const mark = (ok: boolean): string => (ok ? OK : FAIL);
/** ISO time to the second, as the table shows it (the JSON keeps the full value). */
const shortTime = (iso: string): string => iso.replace(/\.\d+Z$/, 'Z');
const list = (names: string[]): string => (names.length ? names.join(', ') : 'none');
const WIDTH = 100;

/** A check line "  ✓ ok    head tail"; the tail goes on its own indented line when the whole is too wide. */
function check(ok: boolean, head: string, tail: string): string[] {
  const line = `  ${mark(ok).padEnd(6)}  ${head} ${tail}`;
  return [...line].length <= WIDTH ? [line] : [`  ${mark(ok).padEnd(6)}  ${head}`, `${' '.repeat(12)}${tail}`];
}

/**
 * The report as a table for people, one block per dataset and one row per site, within 100
 * columns for site names up to 16 characters. Every check shows ✓/✗ and the words ok/FAIL, so
 * `grep FAIL` finds what is wrong.
 */
export function formatFederationReport(r: FederationReport): string {
  const okCount = r.datasets.filter((d) => d.ok).length;
  const out: string[] = [
    `federation of ${r.home} at ${r.now}, home log size ${r.homeLogSize}: ${mark(r.ok)} (${okCount} of ${r.datasets.length} datasets ok)`,
  ];
  if (r.datasets.length === 0) out.push('', 'no datasets');
  const names = r.datasets.flatMap((d) => d.sites.map((s) => s.site));
  const w = Math.max(4, ...names.map((n) => n.length), ...r.witnesses.map((x) => x.site.length));
  const cols = (site: string, role: string, km: string, version: string, time: string, rpo: string, target: string, ok: string): string =>
    `  ${site.padEnd(w)}  ${role.padEnd(6)}  ${km.padStart(5)}  ${version.padEnd(9)}  ${time.padEnd(20)}  ${rpo.padEnd(10)}  ${target.padEnd(10)}  ${ok}`.trimEnd();
  for (const d of r.datasets) {
    const target = d.rpoTarget === null ? '-' : formatDuration(d.rpoTarget);
    out.push('');
    out.push(`${d.dataset}: ${d.newestVersion === null ? 'no versions yet' : `newest v${d.newestVersion} (source ${d.newestSourceTime})`}` +
      `, RPO target ${d.rpoTarget === null ? 'none' : `${target} (${d.rpo.targetFrom})`}: ${mark(d.ok)}`);
    out.push(cols('site', 'role', 'km', 'version', 'source time', 'RPO', 'target', 'ok'));
    for (const s of d.sites) {
      const version = s.heldVersion === null ? 'none' : s.versionsBehind > 0 ? `v${s.heldVersion} (-${s.versionsBehind})` : `v${s.heldVersion}`;
      out.push(cols(s.site, s.role, s.distanceKm === null ? '-' : String(s.distanceKm), version, s.heldSourceTime === null ? '-' : shortTime(s.heldSourceTime),
        s.rpoSeconds === null ? '-' : formatDuration(s.rpoSeconds), target, s.meetsTarget === null ? '-' : mark(s.meetsTarget)));
    }
    if (!d.quorum) {
      out.push('  no policy (no placement statement): quorum and placement rules not checked');
    } else {
      const q = d.quorum;
      const unknown = q.notMirrors.length ? `; not mirrors here: ${q.notMirrors.join(', ')}` : '';
      out.push(...check(q.met, `quorum ${q.threshold} of ${q.sites.join(', ')}:`,
        `newest held by ${list(q.holdingNewest)}; durable ${q.durableVersion === null ? 'none' : `v${q.durableVersion}`}${unknown}`));
      for (const rule of d.rules) out.push(...check(rule.met, `${rule.rule}: ${rule.required};`, `satisfied by ${list(rule.satisfiedBy)}`));
    }
    if (d.rpo.met !== null) {
      out.push(...check(d.rpo.met, `rpo: target ${target} met by ${list(d.rpo.meeting)};`, `${d.rpo.required} of ${d.quorum ? 'the quorum sites' : 'the mirrors'} required`));
    }
  }
  out.push('', 'witnesses (attest log consistency, hold no copies)');
  if (r.witnesses.length === 0) out.push('  none');
  for (const x of r.witnesses) {
    out.push(x.receipt
      ? `  ${x.site.padEnd(w)}  cosigned size ${x.receipt.size} at ${x.receipt.cosignedAt} (${x.entriesBehind} ${x.entriesBehind === '1' ? 'entry' : 'entries'} behind)`
      : `  ${x.site.padEnd(w)}  no receipt yet`);
  }
  return out.join('\n') + '\n';
}
