// Synthetic registry data: determinism per seed, resumable ranges, key order, canonical JSON,
// valid BSNs and BAG ids, law sizes, change fractions and patterns, and the central promise
// that a snapshot equals the previous day with the day's change file applied.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmbassyError } from '../errors.ts';
import { canonicalJson } from '../format/canonical-json.ts';
import { fastcdcCuts } from '../chunk/fastcdc.ts';
import {
  KINDS,
  KIND_KEYS,
  generateRecord,
  generateRecords,
  mutateRecords,
  recordKey,
  snapshotRecords,
  type ChangeLine,
  type GeneratedRecord,
  type Kind,
  type Pattern,
} from './generate.ts';
import { GEBRUIKSDOELEN } from './addresses.ts';
import { LAW_MAX_BYTES, LAW_MIN_BYTES } from './laws.ts';
import { MUNICIPALITIES, MUNICIPALITY_CODES } from './places.ts';
import { bsnOfSlot, isValidBsn } from './persons.ts';

const SMALL: Record<Kind, number> = { persons: 3000, addresses: 3000, laws: 40 };

function keysOf(kind: Kind, records: Iterable<GeneratedRecord>): string[] {
  return [...records].map((r) => recordKey(kind, r));
}

function assertStrictlyIncreasing(keys: readonly string[], what: string): void {
  for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1]! < keys[i]!, `${what}: ${keys[i - 1]} then ${keys[i]} at ${i}`);
}

function changeKey(kind: Kind, c: ChangeLine): string {
  return c.op === 'delete' ? c.key : recordKey(kind, c.record);
}

/** Applies a change file to a key → canonical-bytes map; deletes must hit existing keys. */
function apply(kind: Kind, before: ReadonlyMap<string, string>, changes: Iterable<ChangeLine>): Map<string, string> {
  const after = new Map(before);
  for (const c of changes) {
    if (c.op === 'delete') assert.ok(after.delete(c.key), `delete of absent key ${c.key}`);
    else after.set(recordKey(kind, c.record), canonicalJson(c.record));
  }
  return after;
}

function asMap(kind: Kind, records: Iterable<GeneratedRecord>): Map<string, string> {
  return new Map([...records].map((r) => [recordKey(kind, r), canonicalJson(r)]));
}

describe('generate determinism', () => {
  for (const kind of KINDS) {
    test(`${kind}: same (count, seed) gives the same bytes; another seed other records`, () => {
      const n = Math.min(200, SMALL[kind]);
      const a = [...generateRecords(kind, n, 7)].map((r) => JSON.stringify(r));
      const b = [...generateRecords(kind, n, 7)].map((r) => JSON.stringify(r));
      const c = [...generateRecords(kind, n, 8)].map((r) => JSON.stringify(r));
      assert.deepEqual(a, b);
      assert.ok(a.filter((x, i) => x === c[i]).length === 0, 'seed 8 repeats records of seed 7');
    });

    test(`${kind}: ranges and single records are the same records (resume, split across workers)`, () => {
      const n = 120;
      const all = [...generateRecords(kind, n, 11)].map((r) => JSON.stringify(r));
      const split = [
        ...generateRecords(kind, n, 11, { end: 37 }),
        ...generateRecords(kind, n, 11, { start: 37, end: 80 }),
        ...generateRecords(kind, n, 11, { start: 80 }),
      ].map((r) => JSON.stringify(r));
      assert.deepEqual(split, all);
      for (const i of [0, 1, 59, n - 1]) assert.equal(JSON.stringify(generateRecord(kind, n, 11, i)), all[i]);
    });

    test(`${kind}: records are canonical JSON (JSON.stringify equals RFC 8785) and keys strictly increase`, () => {
      const records = [...generateRecords(kind, SMALL[kind], 3)];
      for (const r of records) assert.equal(JSON.stringify(r), canonicalJson(r));
      assertStrictlyIncreasing(keysOf(kind, records), kind);
      for (const r of records) assert.equal(typeof r[KIND_KEYS[kind]], 'string');
    });
  }

  test('the same seed gives unrelated datasets for different kinds (kind is mixed into the seed)', () => {
    const hit = (kind: Kind): number[] => {
      const changed = new Set(
        [...mutateRecords(kind, 2000, 5, { fraction: 0.05, pattern: 'scattered' })].map((c) => changeKey(kind, c)),
      );
      return keysOf(kind, generateRecords(kind, 2000, 5)).flatMap((k, i) => (changed.has(k) ? [i] : []));
    };
    const persons = new Set(hit('persons'));
    const both = hit('addresses').filter((i) => persons.has(i)).length;
    assert.ok(both < 20, `${both} indices changed in both kinds`);
  });
});

describe('generate persons', () => {
  const records = [...generateRecords('persons', 20_000, 42)];

  test('every burgerservicenummer passes the 11-proef (base records and births)', () => {
    for (const r of records) assert.ok(isValidBsn(r.burgerservicenummer as string), `invalid BSN ${r.burgerservicenummer}`);
    const born = [...mutateRecords('persons', 20_000, 42, { fraction: 0.05, pattern: 'scattered', day: 2 })].filter(
      (c) => c.op === 'upsert' && !records.some((r) => r.burgerservicenummer === c.record.burgerservicenummer),
    );
    assert.ok(born.length > 50, `only ${born.length} births`);
    for (const c of born) assert.ok(c.op === 'upsert' && isValidBsn(c.record.burgerservicenummer as string));
  });

  test('bsnOfSlot is valid and strictly increasing over slots; isValidBsn rejects near misses', () => {
    let prev = '';
    for (let slot = 9_000_000; slot < 9_020_000; slot++) {
      const bsn = bsnOfSlot(slot);
      assert.ok(isValidBsn(bsn), bsn);
      assert.ok(bsn > prev);
      prev = bsn;
    }
    assert.ok(isValidBsn('999993653'));
    assert.ok(!isValidBsn('999993654'));
    assert.ok(!isValidBsn('000000000'));
    assert.ok(!isValidBsn('12345678'));
  });

  test('shape of the BRP API Persoon: names, dates, address, municipality', () => {
    for (const r of records) {
      const naam = r.naam as Record<string, string>;
      assert.match(naam.voornamen!, /^[a-zA-Z0-9À-ž .\-']{1,200}$/);
      assert.match(naam.geslachtsnaam!, /^[a-zA-Z0-9À-ž .\-']{1,200}$/);
      assert.equal(naam.voorletters, naam.voornamen!.split(' ').map((n) => (n.startsWith('IJ') ? 'IJ.' : `${n[0]!.toUpperCase()}.`)).join(''));
      if (naam.voorvoegsel !== undefined) assert.match(naam.voorvoegsel, /^[a-zA-Z ']{1,10}$/);
      const geboorte = r.geboorte as { datum: { datum: string; type: string } };
      assert.equal(geboorte.datum.type, 'Datum');
      const age = 2026 - Number(geboorte.datum.datum.slice(0, 4));
      assert.ok(age >= 0 && age <= 101, `age ${age}`);
      const vbp = r.verblijfplaats as { type: string; verblijfadres: Record<string, unknown>; adresseerbaarObjectIdentificatie: string };
      assert.equal(vbp.type, 'Adres');
      const adres = vbp.verblijfadres;
      assert.match(adres.postcode as string, /^[1-9][0-9]{3}[A-Z]{2}$/);
      assert.ok(Number.isInteger(adres.huisnummer) && (adres.huisnummer as number) >= 1 && (adres.huisnummer as number) <= 99999);
      assert.ok((adres.korteStraatnaam as string).length <= 24);
      const gemeente = r.gemeenteVanInschrijving as { code: string; omschrijving: string };
      const m = MUNICIPALITIES.find((x) => x.code === gemeente.code)!;
      assert.ok(m, `unknown municipality ${gemeente.code}`);
      assert.equal(adres.woonplaats, m.name);
      const pc4 = Number((adres.postcode as string).slice(0, 4));
      assert.ok(pc4 >= m.pc4[0] && pc4 <= m.pc4[1], `postcode ${adres.postcode} outside ${m.name}`);
      assert.ok(vbp.adresseerbaarObjectIdentificatie.startsWith(`${m.code}01`));
      assert.ok((r.nationaliteiten as unknown[]).length >= 1);
    }
  });

  test('realistic spread: sexes, ages, surnames, sizes', () => {
    const sexes = new Map<string, number>();
    const surnames = new Map<string, number>();
    const ages: number[] = [];
    const sizes: number[] = [];
    for (const r of records) {
      const sex = (r.geslacht as { code: string }).code;
      sexes.set(sex, (sexes.get(sex) ?? 0) + 1);
      const n = r.naam as { geslachtsnaam: string; voorvoegsel?: string };
      const full = `${n.voorvoegsel ? `${n.voorvoegsel} ` : ''}${n.geslachtsnaam}`;
      surnames.set(full, (surnames.get(full) ?? 0) + 1);
      ages.push(2026 - Number((r.geboorte as { datum: { datum: string } }).datum.datum.slice(0, 4)));
      sizes.push(canonicalJson(r).length);
    }
    const men = (sexes.get('M') ?? 0) / records.length;
    assert.ok(men > 0.47 && men < 0.53, `men ${men}`);
    // The most common Dutch surname is about 0.5–1.5% of everyone; hundreds of names in use.
    const deJong = (surnames.get('de Jong') ?? 0) / records.length;
    assert.ok(deJong > 0.004 && deJong < 0.02, `de Jong ${deJong}`);
    assert.ok(surnames.size > 300, `${surnames.size} surnames`);
    ages.sort((a, b) => a - b);
    const median = ages[ages.length >> 1]!;
    assert.ok(median >= 35 && median <= 48, `median age ${median}`);
    sizes.sort((a, b) => a - b);
    assert.ok(sizes[0]! >= 400 && sizes.at(-1)! <= 1200, `sizes ${sizes[0]}..${sizes.at(-1)}`);
  });
});

describe('generate addresses', () => {
  const records = [...generateRecords('addresses', 20_000, 42)];

  test('identificatie: gemeentecode of a real municipality, type 01, 10-digit serial', () => {
    for (const r of records) {
      const id = r.identificatie as string;
      assert.match(id, /^[0-9]{4}01[0-9]{10}$/);
      assert.ok(MUNICIPALITY_CODES.has(id.slice(0, 4)), `unknown gemeentecode in ${id}`);
      assert.match(r.nummeraanduidingIdentificatie as string, new RegExp(`^${id.slice(0, 4)}20[0-9]{10}$`));
      assert.match(r.openbareRuimteIdentificatie as string, new RegExp(`^${id.slice(0, 4)}30[0-9]{10}$`));
    }
    const municipalities = new Set(records.map((r) => (r.identificatie as string).slice(0, 4)));
    assert.ok(municipalities.size >= MUNICIPALITIES.length - 2, `${municipalities.size} municipalities`);
  });

  test('fields within the BAG domain; address consistent with the municipality; point in the Netherlands', () => {
    const seen = new Set<string>();
    for (const r of records) {
      const m = MUNICIPALITIES.find((x) => x.code === (r.identificatie as string).slice(0, 4))!;
      assert.equal(r.woonplaatsNaam, m.name);
      const pc4 = Number((r.postcode as string).slice(0, 4));
      assert.ok(pc4 >= m.pc4[0] && pc4 <= m.pc4[1]);
      for (const d of r.gebruiksdoelen as string[]) assert.ok((GEBRUIKSDOELEN as readonly string[]).includes(d), d);
      assert.ok(Number.isInteger(r.oppervlakte) && (r.oppervlakte as number) >= 1 && (r.oppervlakte as number) <= 999_999);
      assert.match(r.status as string, /^(Verblijfsobject (gevormd|in gebruik|in gebruik \(niet ingemeten\)|buiten gebruik|ingetrokken)|Verbouwing verblijfsobject)$/);
      const [x, y] = (r.geometrie as { punt: { coordinates: number[]; type: string } }).punt.coordinates;
      assert.ok(x! > 0 && x! < 300_000 && y! > 289_000 && y! < 630_000, `point ${x},${y}`);
      // Postcode + huisnummer + additions is an address's natural key: unique here.
      const address = `${r.postcode} ${r.huisnummer}${r.huisletter ?? ''}-${r.huisnummertoevoeging ?? ''}`;
      assert.ok(!seen.has(address), `duplicate address ${address}`);
      seen.add(address);
    }
  });
});

describe('generate laws', () => {
  const laws = [...generateRecords('laws', 150, 42)];
  const size = (r: GeneratedRecord): number => Buffer.byteLength(r.tekst as string);

  test('bwbId, citeertitel, versie, and a text of 5–500 KiB, log-normally spread', () => {
    for (const r of laws) {
      assert.match(r.bwbId as string, /^BWBR[0-9]{7}$/);
      assert.match(r.versie as string, /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
      assert.ok(size(r) >= LAW_MIN_BYTES && size(r) <= LAW_MAX_BYTES, `${r.bwbId}: ${size(r)} bytes`);
      const text = r.tekst as string;
      assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<toestand bwb-id="'));
      assert.equal(text.split('<artikel ').length, text.split('</artikel>').length);
      assert.ok(text.includes(`<citeertitel status="officieel">${r.citeertitel as string}</citeertitel>`));
    }
    const sizes = laws.map(size).sort((a, b) => a - b);
    const median = sizes[sizes.length >> 1]!;
    assert.ok(median > 20 * 1024 && median < 80 * 1024, `median ${median}`);
    assert.ok(sizes.at(-1)! > 150 * 1024, `largest ${sizes.at(-1)}`);
  });

  test('sizes stay within bounds through a month of amendments', () => {
    for (const r of snapshotRecords('laws', 150, 42, { fraction: 0.3, pattern: 'scattered', day: 30 })) {
      assert.ok(size(r) >= LAW_MIN_BYTES && size(r) <= LAW_MAX_BYTES, `${r.bwbId}: ${size(r)} bytes`);
    }
  });

  test('a new version differs in a few articles: FastCDC chunks of the two versions are mostly shared', () => {
    // Chunks of 4 KiB on average (REAPI-style normalization 2) over the laws of 64 KiB and more.
    const opts = { minSize: 1024, avgSize: 4096, maxSize: 32768, normalization: 2 };
    const chunks = (s: string): Set<string> => {
      const b = Buffer.from(s);
      let start = 0;
      return new Set(fastcdcCuts(b, opts).map((end) => b.subarray(start, (start = end)).toString('latin1')));
    };
    const before = new Map(laws.map((r) => [r.bwbId as string, r.tekst as string]));
    const shares: number[] = [];
    for (const c of mutateRecords('laws', 150, 42, { fraction: 0.5, pattern: 'scattered' })) {
      if (c.op !== 'upsert') continue;
      const old = before.get(c.record.bwbId as string);
      const now = c.record.tekst as string;
      if (old === undefined || old.length < 64 * 1024) continue;
      const a = chunks(old);
      const shared = [...chunks(now)].filter((x) => a.has(x)).reduce((n, x) => n + x.length, 0);
      shares.push(shared / now.length);
    }
    shares.sort((x, y) => x - y);
    assert.ok(shares.length >= 10, `only ${shares.length} large amended laws`);
    const median = shares[shares.length >> 1]!;
    assert.ok(median > 0.75, `median share ${median.toFixed(2)} of ${shares.map((x) => x.toFixed(2)).join(' ')}`);
  });
});

describe('generate changes', () => {
  test('the fraction of changed records is about as asked (scattered and clustered)', () => {
    for (const pattern of ['scattered', 'clustered'] as const) {
      for (const kind of ['persons', 'addresses'] as const) {
        const n = 20_000;
        const lines = [...mutateRecords(kind, n, 9, { fraction: 0.01, pattern })].length;
        assert.ok(lines > n * 0.008 && lines < n * 0.012, `${kind} ${pattern}: ${lines} lines`);
      }
    }
  });

  test('clustered: the changed existing records form one contiguous key range', () => {
    for (const kind of ['persons', 'addresses'] as const) {
      const keys = keysOf(kind, generateRecords(kind, 5000, 4));
      const index = new Map(keys.map((k, i) => [k, i]));
      for (const day of [1, 2, 3]) {
        const hit = [...mutateRecords(kind, 5000, 4, { fraction: 0.02, pattern: 'clustered', day })]
          .map((c) => index.get(changeKey(kind, c)))
          .filter((i): i is number => i !== undefined);
        assert.ok(hit.length > 50);
        const span = Math.max(...hit) - Math.min(...hit) + 1;
        assert.ok(span <= Math.round(5000 * 0.02), `${kind} day ${day}: ${hit.length} changes over ${span} records`);
      }
    }
  });

  test('mostly updates, some deletes, some new records; every line in key order', () => {
    for (const kind of KINDS) {
      const n = kind === 'laws' ? 200 : 5000;
      const base = new Set(keysOf(kind, generateRecords(kind, n, 2)));
      const lines = [...mutateRecords(kind, n, 2, { fraction: 0.2, pattern: 'scattered' })];
      assertStrictlyIncreasing(lines.map((c) => changeKey(kind, c)), `${kind} changes`);
      const deletes = lines.filter((c) => c.op === 'delete').length;
      const updates = lines.filter((c) => c.op === 'upsert' && base.has(recordKey(kind, c.record))).length;
      const births = lines.length - deletes - updates;
      assert.ok(updates > deletes && deletes > 0, `${kind}: ${updates} updates, ${deletes} deletes`);
      assert.ok(births > 0, `${kind}: no new records`);
      for (const c of lines) if (c.op === 'delete') assert.ok(base.has(c.key));
    }
  });

  for (const kind of KINDS) {
    for (const pattern of ['scattered', 'clustered'] as const satisfies readonly Pattern[]) {
      test(`${kind}, ${pattern}: snapshot of day d == snapshot of day d−1 + change file of day d`, () => {
        const n = kind === 'laws' ? 60 : 1500;
        const opts = { fraction: kind === 'laws' ? 0.2 : 0.05, pattern };
        let previous = asMap(kind, generateRecords(kind, n, 13));
        for (const day of [1, 2, 3]) {
          const applied = apply(kind, previous, mutateRecords(kind, n, 13, { ...opts, day }));
          const snapshot = [...snapshotRecords(kind, n, 13, { ...opts, day })];
          assertStrictlyIncreasing(keysOf(kind, snapshot), `${kind} snapshot day ${day}`);
          const expected = asMap(kind, snapshot);
          assert.equal(applied.size, expected.size, `day ${day}: record count`);
          for (const [k, v] of expected) assert.equal(applied.get(k), v, `day ${day}: record ${k}`);
          previous = expected;
        }
      });
    }
  }

  test('fraction 0 changes nothing; the snapshot is then the generated dataset', () => {
    assert.deepEqual([...mutateRecords('persons', 500, 1, { fraction: 0, pattern: 'scattered' })], []);
    assert.deepEqual(
      [...snapshotRecords('addresses', 500, 1, { fraction: 0, pattern: 'clustered', day: 4 })],
      [...generateRecords('addresses', 500, 1)],
    );
  });
});

function assertUsage(f: () => unknown): void {
  assert.throws(f, (e: unknown) => isEmbassyError(e, 'usage') && e.message.startsWith('generate: '));
}

describe('generate rejects an unknown kind', () => {
  test('not persons, addresses or laws', () => {
    assertUsage(() => generateRecords('people' as Kind, 1, 1));
    assertUsage(() => mutateRecords('' as Kind, 1, 1, { fraction: 0.1, pattern: 'scattered' }));
  });
});

describe('generate rejects a bad count or range', () => {
  test('negative, fractional, beyond the key space; ranges outside 0..count', () => {
    assertUsage(() => generateRecords('persons', -1, 1));
    assertUsage(() => generateRecords('persons', 1.5, 1));
    assertUsage(() => generateRecords('laws', 10_000_000, 1));
    assertUsage(() => generateRecords('persons', 10, 1, { start: 5, end: 11 }));
    assertUsage(() => generateRecords('persons', 10, 1, { start: 6, end: 5 }));
    assertUsage(() => generateRecord('persons', 10, 1, 10));
  });
});

describe('generate rejects a bad seed', () => {
  test('negative, fractional, unsafe', () => {
    for (const seed of [-1, 0.5, 2 ** 53]) assertUsage(() => generateRecords('persons', 1, seed));
  });
});

describe('generate rejects bad mutation options', () => {
  test('fraction outside 0..1, unknown pattern, day outside 1..max, too many births per day', () => {
    for (const fraction of [-0.1, 1.1, Number.NaN]) assertUsage(() => mutateRecords('persons', 10, 1, { fraction, pattern: 'scattered' }));
    assertUsage(() => mutateRecords('persons', 10, 1, { fraction: 0.1, pattern: 'random' as Pattern }));
    for (const day of [0, -1, 1.5, 100_000]) assertUsage(() => snapshotRecords('persons', 10, 1, { fraction: 0.1, pattern: 'scattered', day }));
    assertUsage(() => mutateRecords('laws', 400_000, 1, { fraction: 0.5, pattern: 'scattered' }));
  });
});
