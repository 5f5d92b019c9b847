// The federation report over a realistic federation (The Hague home; Groningen, Luxembourg and
// Willemstad mirrors; an auditor witness): held versions from receipts, RPO with a fixed now,
// the quorum and every placement rule passing and failing, retention, no receipts, no policy,
// and the table. Catalogs are built by applying statements, as loadCatalog does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmbassyError } from '../errors.ts';
import { applyStatement, type Catalog } from '../catalog/catalog.ts';
import { parseHomeStatement, placementStatement, type PlacementInput } from '../format/statement-types.ts';
import type { Statement } from '../format/statement.ts';
import { evaluateFederation, formatDuration, formatFederationReport, type DatasetReport, type SiteFacts } from './evaluate.ts';

const DS = 'nl.brp.personen';
const HOUR = 3600;

const HAGUE: SiteFacts = { name: 'den-haag', role: 'home', location: { lat: 52.0705, lon: 4.3007 }, jurisdiction: 'NL', riskTags: ['nl', 'north-sea-flood'] };
const GRONINGEN: SiteFacts = { name: 'groningen', role: 'mirror', location: { lat: 53.2194, lon: 6.5665 }, jurisdiction: 'NL', riskTags: ['nl', 'north-sea-flood'] };
const LUXEMBOURG: SiteFacts = { name: 'luxembourg', role: 'mirror', location: { lat: 49.6116, lon: 6.1319 }, jurisdiction: 'LU', riskTags: ['eu-central'] };
const WILLEMSTAD: SiteFacts = { name: 'willemstad', role: 'mirror', location: { lat: 12.1224, lon: -68.8824 }, jurisdiction: 'CW', riskTags: ['caribbean'] };
const AUDITOR: SiteFacts = { name: 'auditor', role: 'witness', riskTags: [] };

const NOW = new Date('2026-11-28T05:30:00Z');
const T = BigInt(Math.floor(NOW.getTime() / 1000));

const datasetStatement = (rpoTarget?: number): Statement => ({
  type: 'dataset', dataset: DS, key: ['bsn'], indexes: [],
  tree: { leafTarget: 64, fanout: 32, chunkThreshold: 65536, chunkMin: 16384, chunkAvg: 65536, chunkMax: 262144 },
  ...(rpoTarget !== undefined ? { rpoTarget } : {}),
});
const keyStatement: Statement = { type: 'key', dataset: DS, dek: 1, wrapped: 'AAAA', kekFingerprint: '0'.repeat(32), dekFingerprint: '1'.repeat(32) };
/** Version n, whose source data is from n o'clock on 28 November 2026. */
const version = (n: number): Statement => ({
  type: 'version', dataset: DS, version: n, previous: n === 1 ? null : n - 1, root: n.toString(16).padStart(64, '0'), level: 0,
  commitment: Buffer.alloc(32, n).toString('base64'), records: 10 * n, sourceTime: `2026-11-28T0${n}:00:00Z`, dek: 1, indexes: [],
});
const POLICY: PlacementInput = {
  dataset: DS,
  quorum: { threshold: 2, sites: ['groningen', 'luxembourg', 'willemstad'] },
  minCopies: 2,
  minDistanceKm: 300,
  foreignJurisdiction: true,
  distinctRisk: true,
};

/** Log: 0 dataset, 1 key, 2..6 versions 1..5, then `extra` (placement, retention, ...). */
function catalogOf(extra: Statement[], options: { rpoTarget?: number; versions?: number } = { rpoTarget: HOUR }): Catalog {
  const entries = [datasetStatement(options.rpoTarget), keyStatement, ...Array.from({ length: options.versions ?? 5 }, (_, i) => version(i + 1)), ...extra];
  const catalog: Catalog = {
    checkpoint: { origin: 'data-embassy.example/den-haag', size: BigInt(entries.length), root: new Uint8Array(32), extensions: [] },
    checkpointNote: '',
    datasets: new Map(),
    statements: 0,
  };
  entries.forEach((s, i) => applyStatement(catalog, s, BigInt(i)));
  catalog.statements = entries.length;
  return catalog;
}

const withReceipt = (s: SiteFacts, size: number, cosignedAt = T): SiteFacts => ({ ...s, receipt: { size: BigInt(size), cosignedAt } });

function evaluate(catalog: Catalog, sites: SiteFacts[], home: SiteFacts = HAGUE): DatasetReport {
  const r = evaluateFederation({ home, sites, catalog, now: NOW });
  assert.equal(r.datasets.length, 1);
  return r.datasets[0]!;
}

const row = (d: DatasetReport, site: string) => d.sites.find((s) => s.site === site)!;
const rule = (d: DatasetReport, name: string) => d.rules.find((r) => r.rule === name);

describe('evaluateFederation', () => {
  test('distances from The Hague: Groningen ≈ 200 km, Luxembourg ≈ 300 km, Willemstad ≈ 7800 km', () => {
    const d = evaluate(catalogOf([]), [GRONINGEN, LUXEMBOURG, WILLEMSTAD]);
    assert.equal(row(d, 'den-haag').distanceKm, 0);
    const km = (n: string) => row(d, n).distanceKm!;
    assert.ok(km('groningen') > 190 && km('groningen') < 210, String(km('groningen')));
    assert.ok(km('luxembourg') > 295 && km('luxembourg') < 310, String(km('luxembourg')));
    assert.ok(km('willemstad') > 7750 && km('willemstad') < 7850, String(km('willemstad')));
    assert.ok(Number.isInteger(km('luxembourg')), 'rounded');
    assert.deepEqual(d.sites.map((s) => [s.site, s.role, s.jurisdiction]), [
      ['den-haag', 'home', 'NL'], ['groningen', 'mirror', 'NL'], ['luxembourg', 'mirror', 'LU'], ['willemstad', 'mirror', 'CW'],
    ], 'home first, then mirrors by name');
    const noLoc = evaluate(catalogOf([]), [{ ...LUXEMBOURG, location: undefined }], { ...HAGUE, location: undefined });
    assert.equal(row(noLoc, 'luxembourg').distanceKm, null);
    assert.equal(row(noLoc, 'den-haag').distanceKm, null);
  });

  test('a healthy federation: every rule, the quorum and the RPO target are met', () => {
    const d = evaluate(catalogOf([placementStatement(POLICY)]), [withReceipt(GRONINGEN, 8), withReceipt(LUXEMBOURG, 8), withReceipt(WILLEMSTAD, 8)]);
    assert.equal(d.newestVersion, 5);
    assert.equal(d.newestSourceTime, '2026-11-28T05:00:00Z');
    assert.equal(d.rpoTarget, HOUR);
    assert.equal(d.placementLogIndex, '7');
    assert.deepEqual(d.quorum, { threshold: 2, sites: ['groningen', 'luxembourg', 'willemstad'], holdingNewest: ['groningen', 'luxembourg', 'willemstad'], notMirrors: [], met: true, durableVersion: 5 });
    assert.deepEqual(d.rules, [
      { rule: 'min-copies', required: '2 complete copies at mirrors', met: true, satisfiedBy: ['groningen', 'luxembourg', 'willemstad'] },
      { rule: 'min-distance', required: 'a copy at least 300 km from den-haag', met: true, satisfiedBy: ['luxembourg', 'willemstad'] },
      { rule: 'foreign-jurisdiction', required: 'a copy outside NL', met: true, satisfiedBy: ['luxembourg', 'willemstad'] },
      { rule: 'distinct-risk', required: 'a copy sharing no risk tag with den-haag (nl, north-sea-flood)', met: true, satisfiedBy: ['luxembourg', 'willemstad'] },
    ]);
    assert.deepEqual(d.rpo, { target: HOUR, targetFrom: 'dataset', counted: ['groningen', 'luxembourg', 'willemstad'], required: 2, meeting: ['groningen', 'luxembourg', 'willemstad'], met: true });
    assert.equal(d.ok, true);
    assert.deepEqual(d.problems, []);
    for (const s of d.sites) {
      assert.deepEqual([s.heldVersion, s.heldSourceTime, s.rpoSeconds, s.meetsTarget, s.versionsBehind, s.holdsNewest], [5, '2026-11-28T05:00:00Z', 1800, true, 0, true], s.site);
    }
    assert.equal(row(d, 'den-haag').receipt, null, 'the home has no receipt');
    assert.deepEqual(row(d, 'luxembourg').receipt, { size: '8', cosignedAt: '2026-11-28T05:30:00.000Z' });
  });

  test('a lagging federation: held versions, RPO and versions behind from receipts; every rule fails', () => {
    // Groningen cosigned the whole log; Luxembourg a checkpoint of size 6 (versions 1–4, at
    // indexes 2–5); Willemstad nothing yet.
    const d = evaluate(catalogOf([placementStatement(POLICY)]), [withReceipt(GRONINGEN, 8), withReceipt(LUXEMBOURG, 6), WILLEMSTAD]);
    const g = row(d, 'groningen');
    const l = row(d, 'luxembourg');
    const w = row(d, 'willemstad');
    assert.deepEqual([g.heldVersion, g.rpoSeconds, g.meetsTarget, g.versionsBehind], [5, 30 * 60, true, 0]);
    assert.deepEqual([l.heldVersion, l.heldSourceTime, l.rpoSeconds, l.meetsTarget, l.versionsBehind, l.holdsNewest], [4, '2026-11-28T04:00:00Z', 90 * 60, false, 1, false]);
    assert.deepEqual([w.heldVersion, w.heldSourceTime, w.rpoSeconds, w.meetsTarget, w.versionsBehind, w.receipt], [null, null, null, false, 5, null]);

    assert.equal(d.quorum!.met, false);
    assert.deepEqual(d.quorum!.holdingNewest, ['groningen']);
    assert.equal(d.quorum!.durableVersion, 4, 'versions 1–4 are held by two quorum sites');
    // Only Groningen holds the newest version: 1 copy, 199 km, NL, same risks.
    assert.deepEqual(d.rules.map((r) => [r.rule, r.met, r.satisfiedBy]), [
      ['min-copies', false, ['groningen']],
      ['min-distance', false, []],
      ['foreign-jurisdiction', false, []],
      ['distinct-risk', false, []],
    ]);
    assert.deepEqual([d.rpo.meeting, d.rpo.met], [['groningen'], false]);
    assert.equal(d.ok, false);
    assert.equal(d.problems.length, 6);
    assert.match(d.problems[0]!, /^quorum: newest v5 held by 1 of 2 required/);
  });

  test('min-distance 300 km is met by Luxembourg, 400 km is not ("farther than Luxembourg")', () => {
    const sites = [withReceipt(GRONINGEN, 8), withReceipt(LUXEMBOURG, 8), WILLEMSTAD];
    assert.equal(rule(evaluate(catalogOf([placementStatement({ ...POLICY, minDistanceKm: 300 })]), sites), 'min-distance')!.met, true);
    const far = evaluate(catalogOf([placementStatement({ ...POLICY, minDistanceKm: 400 })]), sites);
    assert.deepEqual([rule(far, 'min-distance')!.met, rule(far, 'min-distance')!.satisfiedBy], [false, []]);
    const farOk = evaluate(catalogOf([placementStatement({ ...POLICY, minDistanceKm: 400 })]), [...sites.slice(0, 2), withReceipt(WILLEMSTAD, 8)]);
    assert.deepEqual(rule(farOk, 'min-distance')!.satisfiedBy, ['willemstad']);
  });

  test('a mirror without location or jurisdiction cannot satisfy min-distance or foreign-jurisdiction', () => {
    const bare = withReceipt({ ...WILLEMSTAD, location: undefined, jurisdiction: undefined }, 8);
    const d = evaluate(catalogOf([placementStatement(POLICY)]), [withReceipt(GRONINGEN, 8), bare]);
    assert.equal(rule(d, 'min-copies')!.met, true);
    assert.equal(rule(d, 'min-distance')!.met, false);
    assert.equal(rule(d, 'foreign-jurisdiction')!.met, false);
    assert.deepEqual(rule(d, 'distinct-risk')!.satisfiedBy, ['willemstad'], 'its risk tags still count');
    assert.equal(d.ok, false);
    // A home without location or jurisdiction: nothing can be far from it or abroad.
    const nowhere = evaluate(catalogOf([placementStatement(POLICY)]), [withReceipt(LUXEMBOURG, 8), withReceipt(WILLEMSTAD, 8)], { ...HAGUE, location: undefined, jurisdiction: undefined });
    assert.equal(rule(nowhere, 'min-distance')!.met, false);
    assert.match(rule(nowhere, 'min-distance')!.required, /the home has no location/);
    assert.equal(rule(nowhere, 'foreign-jurisdiction')!.met, false);
  });

  test('rules that are not asked for are not listed; min-copies 0 is always met', () => {
    const d = evaluate(catalogOf([placementStatement({ dataset: DS, quorum: { threshold: 1, sites: ['groningen'] }, minCopies: 0 })]), [withReceipt(GRONINGEN, 8)]);
    assert.deepEqual(d.rules.map((r) => [r.rule, r.met]), [['min-copies', true]]);
    assert.equal(d.ok, true);
    const none = evaluate(catalogOf([placementStatement({ dataset: DS, quorum: { threshold: 1, sites: ['groningen'] }, minCopies: 0 })]), [GRONINGEN]);
    assert.equal(rule(none, 'min-copies')!.met, true);
    assert.equal(none.quorum!.met, false);
  });

  test('quorum: the home counts when named; witnesses and unknown sites never hold', () => {
    const policy = placementStatement({ dataset: DS, quorum: { threshold: 2, sites: ['auditor', 'den-haag', 'nowhere'] }, minCopies: 0 });
    const d = evaluate(catalogOf([policy]), [withReceipt(AUDITOR, 8), withReceipt(GRONINGEN, 8)]);
    assert.deepEqual(d.quorum!.holdingNewest, ['den-haag']);
    assert.deepEqual(d.quorum!.notMirrors, ['auditor', 'nowhere']);
    assert.equal(d.quorum!.met, false);
    assert.equal(d.quorum!.durableVersion, null);
    assert.deepEqual(d.sites.map((s) => s.site), ['den-haag', 'groningen'], 'the witness is not a row');
    const met = evaluate(catalogOf([placementStatement({ ...POLICY, quorum: { threshold: 2, sites: ['den-haag', 'luxembourg'] } })]), [withReceipt(LUXEMBOURG, 8)]);
    assert.equal(met.quorum!.met, true);
    assert.equal(met.quorum!.durableVersion, 5);
  });

  test('retention: versions below keepFrom are not counted as held', () => {
    // Log: ..., 7 placement, 8 retention keepFrom 5. Luxembourg's receipt covers versions 1–4 only.
    const catalog = catalogOf([placementStatement(POLICY), { type: 'retention', dataset: DS, keepFrom: 5 }]);
    const d = evaluate(catalog, [withReceipt(GRONINGEN, 9), withReceipt(LUXEMBOURG, 6), withReceipt(WILLEMSTAD, 9)]);
    const l = row(d, 'luxembourg');
    assert.deepEqual([l.heldVersion, l.rpoSeconds, l.meetsTarget, l.versionsBehind], [null, null, false, 5]);
    assert.equal(d.quorum!.durableVersion, 5);
    assert.equal(d.quorum!.met, true);
    // Without the retention statement the same receipt holds version 4.
    assert.equal(row(evaluate(catalogOf([placementStatement(POLICY)]), [withReceipt(LUXEMBOURG, 6)]), 'luxembourg').heldVersion, 4);
  });

  test('no receipts at all: nothing held, nothing durable, RPO unknown and not met', () => {
    const d = evaluate(catalogOf([placementStatement(POLICY)]), [GRONINGEN, LUXEMBOURG, WILLEMSTAD]);
    for (const m of d.sites.slice(1)) assert.deepEqual([m.heldVersion, m.rpoSeconds, m.meetsTarget, m.versionsBehind, m.holdsNewest], [null, null, false, 5, false]);
    assert.deepEqual([d.quorum!.met, d.quorum!.durableVersion, d.quorum!.holdingNewest], [false, null, []]);
    assert.ok(d.rules.every((r) => !r.met));
    assert.equal(d.rpo.met, false);
    assert.equal(d.ok, false);
  });

  test('no policy: no quorum and no rules; the RPO target must be met by one mirror', () => {
    const d = evaluate(catalogOf([]), [withReceipt(GRONINGEN, 6), withReceipt(LUXEMBOURG, 5)]);
    assert.equal(d.quorum, undefined);
    assert.equal('quorum' in d, false, 'absent, not null');
    assert.equal(d.placementLogIndex, null);
    assert.deepEqual(d.rules, []);
    // Groningen holds v4 (source 04:00, 1 h 30 min old), Luxembourg v3: neither meets 1 h.
    assert.deepEqual([d.rpo.counted, d.rpo.required, d.rpo.meeting, d.rpo.met, d.ok], [['groningen', 'luxembourg'], 1, [], false, false]);
    const fresh = evaluate(catalogOf([]), [withReceipt(GRONINGEN, 7), withReceipt(LUXEMBOURG, 5)]);
    assert.deepEqual([fresh.rpo.meeting, fresh.ok], [['groningen'], true]);
    // No target and no policy: nothing to check.
    const bare = evaluate(catalogOf([], { versions: 5 }), []);
    assert.deepEqual([bare.rpoTarget, bare.rpo.met, row(bare, 'den-haag').meetsTarget, bare.ok], [null, null, null, true]);
  });

  test('RPO target: the placement overrides the dataset; computed against the given now', () => {
    const sites = [withReceipt(GRONINGEN, 8), withReceipt(LUXEMBOURG, 6), WILLEMSTAD];
    const d = evaluate(catalogOf([placementStatement({ ...POLICY, rpoTarget: 2 * HOUR })]), sites);
    assert.deepEqual([d.rpoTarget, d.rpo.targetFrom], [2 * HOUR, 'placement']);
    assert.equal(row(d, 'luxembourg').meetsTarget, true, '1 h 30 min within 2 h');
    assert.deepEqual([d.rpo.meeting, d.rpo.met], [['groningen', 'luxembourg'], true]);
    const later = evaluateFederation({ home: HAGUE, sites, catalog: catalogOf([placementStatement(POLICY)]), now: new Date('2026-11-30T05:00:00Z') }).datasets[0]!;
    assert.equal(row(later, 'groningen').rpoSeconds, 2 * 86400);
    assert.equal(row(later, 'den-haag').rpoSeconds, 2 * 86400, 'the home too: its newest version is two days old');
  });

  test('a dataset without versions is ok: nothing to copy yet', () => {
    const d = evaluate(catalogOf([placementStatement(POLICY)], { rpoTarget: HOUR, versions: 0 }), [GRONINGEN]);
    assert.deepEqual([d.newestVersion, d.quorum!.met, d.quorum!.durableVersion, d.rpo.met, d.ok], [null, true, null, null, true]);
    assert.deepEqual([row(d, 'groningen').versionsBehind, row(d, 'groningen').meetsTarget], [0, null]);
  });

  test('witnesses are listed with their receipts, apart from the copies', () => {
    const r = evaluateFederation({ home: HAGUE, sites: [withReceipt(AUDITOR, 6, 1_795_845_600n), { ...AUDITOR, name: 'other-auditor' }, withReceipt(GRONINGEN, 8)], catalog: catalogOf([]), now: NOW });
    assert.deepEqual(r.witnesses, [
      { site: 'auditor', receipt: { size: '6', cosignedAt: '2026-11-28T06:00:00.000Z' }, entriesBehind: '1' },
      { site: 'other-auditor', receipt: null, entriesBehind: null },
    ]);
    assert.deepEqual([r.home, r.homeLogSize, r.now], ['den-haag', '7', '2026-11-28T05:30:00.000Z']);
    // A cosignature time no Date can hold does not crash the report.
    const huge = evaluateFederation({ home: HAGUE, sites: [withReceipt(AUDITOR, 6, 2n ** 64n - 1n)], catalog: catalogOf([]), now: NOW });
    assert.equal(huge.witnesses[0]!.receipt!.cosignedAt, `@${2n ** 64n - 1n}`);
  });

  test('the report is JSON-friendly', () => {
    const r = evaluateFederation({ home: HAGUE, sites: [withReceipt(GRONINGEN, 8), withReceipt(AUDITOR, 8)], catalog: catalogOf([placementStatement(POLICY)]), now: NOW });
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });
});

describe('formatFederationReport', () => {
  test('durations are short and human', () => {
    assert.deepEqual([4, 180, 7500, 7200, 3 * 86400, 3 * 86400 + 4 * HOUR + 59, -4].map(formatDuration), ['4 s', '3 min', '2 h 5 min', '2 h', '3 d', '3 d 4 h', '-4 s']);
  });

  test('one block per dataset, one row per site, ✓/✗ with ok/FAIL, within 100 columns', () => {
    const r = evaluateFederation({
      home: HAGUE,
      sites: [withReceipt(GRONINGEN, 8), withReceipt(LUXEMBOURG, 6), WILLEMSTAD, withReceipt(AUDITOR, 8)],
      catalog: catalogOf([placementStatement(POLICY)]),
      now: NOW,
    });
    const text = formatFederationReport(r);
    assert.match(text, /^federation of den-haag at 2026-11-28T05:30:00.000Z, home log size 8: ✗ FAIL \(0 of 1 datasets ok\)$/m);
    assert.match(text, /^nl\.brp\.personen: newest v5 \(source 2026-11-28T05:00:00Z\), RPO target 1 h \(dataset\): ✗ FAIL$/m);
    assert.match(text, /^ {2}site\s+role\s+km\s+version\s+source time\s+RPO\s+target\s+ok$/m);
    assert.match(text, /^ {2}den-haag\s+home\s+0\s+v5\s+2026-11-28T05:00:00Z\s+30 min\s+1 h\s+✓ ok$/m);
    assert.match(text, /^ {2}groningen\s+mirror\s+199\s+v5\s+2026-11-28T05:00:00Z\s+30 min\s+1 h\s+✓ ok$/m);
    assert.match(text, /^ {2}luxembourg\s+mirror\s+302\s+v4 \(-1\)\s+2026-11-28T04:00:00Z\s+1 h 30 min\s+1 h\s+✗ FAIL$/m);
    assert.match(text, /^ {2}willemstad\s+mirror\s+7801\s+none\s+-\s+-\s+1 h\s+✗ FAIL$/m);
    assert.match(text, /^ {2}✗ FAIL {2}quorum 2 of groningen, luxembourg, willemstad: newest held by groningen; durable v4$/m);
    assert.match(text, /^ {2}✗ FAIL {2}min-copies: 2 complete copies at mirrors; satisfied by groningen$/m);
    assert.match(text, /^ {2}✗ FAIL {2}min-distance: a copy at least 300 km from den-haag; satisfied by none$/m);
    assert.match(text, /^ {2}✗ FAIL {2}rpo: target 1 h met by groningen; 2 of the quorum sites required$/m);
    assert.match(text, /^ {2}auditor\s+cosigned size 8 at 2026-11-28T05:30:00.000Z \(0 entries behind\)$/m);
    for (const line of text.split('\n')) assert.ok([...line].length <= 100, `over 100 columns: ${line}`);

    const healthy = formatFederationReport(evaluateFederation({
      home: HAGUE, sites: [withReceipt(GRONINGEN, 8), withReceipt(LUXEMBOURG, 8), withReceipt(WILLEMSTAD, 8)], catalog: catalogOf([placementStatement(POLICY)]), now: NOW,
    }));
    assert.ok(!healthy.includes('FAIL') && !healthy.includes('✗'), healthy);
    assert.match(healthy, /^ {2}✓ ok {4}min-distance: .*; satisfied by luxembourg, willemstad$/m);
    assert.match(healthy, /^ {2}none$/m, 'no witnesses');
  });

  test('a dataset without a placement statement reads "no policy"', () => {
    const text = formatFederationReport(evaluateFederation({ home: HAGUE, sites: [withReceipt(GRONINGEN, 7)], catalog: catalogOf([]), now: NOW }));
    assert.match(text, /^ {2}no policy /m);
    assert.doesNotMatch(text, /quorum \d/);
    assert.match(text, /^ {2}✓ ok {4}rpo: target 1 h met by groningen; 1 of the mirrors required$/m);
  });
});

describe('placement statements in the catalog', () => {
  test('the newest placement per dataset is in force, with its log index', () => {
    const catalog = catalogOf([placementStatement(POLICY), placementStatement({ ...POLICY, minCopies: 1, distinctRisk: false })]);
    const p = catalog.datasets.get(DS)!.placement!;
    assert.equal(p.logIndex, 8n);
    assert.equal(p.statement.minCopies, 1);
    assert.equal('distinctRisk' in p.statement, false, 'false flags are left out of the statement');
  });

  test('a placement for an undeclared dataset is log.corrupt', () => {
    assert.throws(() => catalogOf([placementStatement({ ...POLICY, dataset: 'nl.bag.panden' })]), (e) => isEmbassyError(e, 'log.corrupt') && /undeclared dataset nl\.bag\.panden/.test(e.message));
  });
});

describe('malformed placement statements', () => {
  const good = placementStatement(POLICY) as Statement;
  const cases: [string, Record<string, unknown>][] = [
    ['no quorum', { quorum: undefined }],
    ['quorum not an object', { quorum: [2, ['groningen']] }],
    ['empty quorum sites', { quorum: { threshold: 1, sites: [] } }],
    ['threshold 0', { quorum: { threshold: 0, sites: ['groningen'] } }],
    ['threshold above the number of sites', { quorum: { threshold: 3, sites: ['groningen', 'luxembourg'] } }],
    ['threshold not an integer', { quorum: { threshold: 1.5, sites: ['groningen', 'luxembourg'] } }],
    ['a site twice', { quorum: { threshold: 1, sites: ['groningen', 'groningen'] } }],
    ['a bad site name', { quorum: { threshold: 1, sites: ['Groningen'] } }],
    ['a site name that is not a string', { quorum: { threshold: 1, sites: [7] } }],
    ['minCopies negative', { minCopies: -1 }],
    ['minCopies missing', { minCopies: undefined }],
    ['minDistanceKm 0', { minDistanceKm: 0 }],
    ['minDistanceKm beyond the antipode', { minDistanceKm: 30000 }],
    ['minDistanceKm a string', { minDistanceKm: '300' }],
    ['foreignJurisdiction not a boolean', { foreignJurisdiction: 'yes' }],
    ['distinctRisk not a boolean', { distinctRisk: 1 }],
    ['rpoTarget 0', { rpoTarget: 0 }],
    ['bad dataset id', { dataset: 'NL BRP' }],
  ];
  for (const [name, change] of cases) {
    test(name, () => {
      const s = { ...good, ...change } as Statement;
      for (const [k, v] of Object.entries(change)) if (v === undefined) delete (s as Record<string, unknown>)[k];
      assert.throws(() => parseHomeStatement(s), (e) => isEmbassyError(e, 'input.malformed') && /^placement statement: /.test(e.message));
      assert.throws(() => catalogOf([s]), (e) => isEmbassyError(e, 'log.corrupt') && /^log entry 7: placement statement/.test(e.message));
    });
  }
  test('the good one parses, and the builder checks what it builds', () => {
    assert.equal(parseHomeStatement(good)?.type, 'placement');
    assert.throws(() => placementStatement({ ...POLICY, minCopies: -2 }), (e) => isEmbassyError(e, 'input.malformed'));
  });
});
