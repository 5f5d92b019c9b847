// The mock's 1,176 test persons convert to the spec's Persoon; dates, addresses, names and
// research flags as the features describe them; malformed input is reported, not dropped.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EmbassyError } from '../errors.ts';
import { parseGbaDatum } from './datum.ts';
import { adresregel1, convertMockPerson } from './convert.ts';
import { convertMockPersons } from './import.ts';
import { BRP_MOCK_FILE, describeErrors, loadBrpSpec, skipUnlessBrp, structuralErrors } from './testing.ts';

/** Test persons whose values are deliberately odd in the upstream mock ('@', '%', '°', names
 * over the length limits, a BAG id with a space): kept as they are, checked structurally only. */
const ODD_PERSONS = new Set(['999990184', '999990299', '999990524', '999990743', '999990913', '999991000', '999991139', '999991449', '999991462', '999992181', '999994128', '999993720', '999993847', '999994402', '999995121']);

describe('gba dates', () => {
  test('full, year-month, year and unknown dates in the spec forms', () => {
    assert.deepEqual(parseGbaDatum('19750707', 'x'), { type: 'Datum', datum: '1975-07-07', langFormaat: '7 juli 1975' });
    assert.deepEqual(parseGbaDatum('20200300', 'x'), { type: 'JaarMaandDatum', jaar: 2020, maand: 3, langFormaat: 'maart 2020' });
    assert.deepEqual(parseGbaDatum('20200000', 'x'), { type: 'JaarDatum', jaar: 2020, langFormaat: '2020' });
    assert.deepEqual(parseGbaDatum('00000000', 'x'), { type: 'DatumOnbekend', onbekend: true, langFormaat: 'onbekend' });
  });
  for (const bad of ['2020', '20201301', '20200230', '20200015', 'abcdefgh']) {
    test(`refuses ${bad}`, () => assert.throws(() => parseGbaDatum(bad, 'p'), (e: unknown) => e instanceof EmbassyError && e.code === 'input.malformed'));
  }
});

describe('adresregel1 (NEN 5825 as in the features)', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ korteStraatnaam: 'Jonkheer van Riemsdijkln', huisnummer: 88 }, 'Jonkheer van Riemsdijkln 88'],
    [{ korteStraatnaam: 'Borgesiusstraat', huisnummer: 103, huisletter: 'c' }, 'Borgesiusstraat 103 c'],
    [{ korteStraatnaam: 'Daniël Stalpertstraat', huisnummer: 35, huisnummertoevoeging: 'III' }, 'Daniël Stalpertstraat 35 III'],
    [{ korteStraatnaam: 'Atatürkstraat', huisnummer: 9, huisnummertoevoeging: '2' }, 'Atatürkstraat 9-2'],
    [{ korteStraatnaam: 'Cronus', huisnummer: 555, huisletter: 'B', huisnummertoevoeging: '73c' }, 'Cronus 555 B73c'],
    [{ korteStraatnaam: 'Graan voor Visch', huisnummer: 15201, aanduidingBijHuisnummer: { code: 'by' } }, 'Graan voor Visch bij 15201'],
    [{ korteStraatnaam: '1e Exloërmond', huisnummer: 3, aanduidingBijHuisnummer: { code: 'to' } }, '1e Exloërmond t/o 3'],
  ];
  for (const [a, want] of cases) test(want, () => assert.equal(adresregel1(a), want));
});

describe('malformed mock persons are reported with position and bsn', () => {
  test('a bad date names the person and the field', () => {
    const { persons, failures } = convertMockPersons([{ burgerservicenummer: '000000012', geboorte: { datum: '19751307' } }, { burgerservicenummer: '000000024' }], 'mock.json');
    assert.equal(persons.length, 1);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.person, 1);
    assert.equal(failures[0]!.burgerservicenummer, '000000012');
    assert.match(failures[0]!.message, /mock\.json person 1 \(burgerservicenummer 000000012\) geboorte\.datum: 19751307 is not a date/);
  });
  test('no bsn, a duplicate bsn, a non-numeric huisnummer, not an array', () => {
    const { failures } = convertMockPersons([{ naam: {} }, { burgerservicenummer: '000000024' }, { burgerservicenummer: '000000024' }, { burgerservicenummer: '000000036', verblijfplaats: { straat: 'X', huisnummer: '12a' } }]);
    assert.deepEqual(failures.map((f) => f.person), [1, 3, 4]);
    assert.throws(() => convertMockPersons({}), (e: unknown) => e instanceof EmbassyError && e.code === 'input.malformed');
  });
});

describe('the mock test persons', { skip: skipUnlessBrp }, () => {
  const raw = skipUnlessBrp ? [] : (JSON.parse(readFileSync(BRP_MOCK_FILE, 'utf8')) as unknown[]);
  const converted = skipUnlessBrp ? { persons: [], failures: [] } : convertMockPersons(raw);
  const byBsn = new Map(converted.persons.map((p) => [p['burgerservicenummer'] as string, p as Record<string, any>]));

  test('all 1,176 convert, none fails', () => {
    assert.equal(raw.length, 1176);
    assert.deepEqual(converted.failures, []);
    assert.equal(converted.persons.length, 1176);
  });

  test('every converted person validates against the spec Persoon schema', () => {
    const v = loadBrpSpec().schema('Persoon');
    const bad: string[] = [];
    for (const p of converted.persons) {
      const bsn = p['burgerservicenummer'] as string;
      if (v(p)) continue;
      if (ODD_PERSONS.has(bsn) && structuralErrors(v).length === 0) continue;
      bad.push(`${bsn}: ${describeErrors(v)}`);
    }
    assert.deepEqual(bad, []);
    // The odd ones do break a string pattern, or the exception list is stale.
    for (const bsn of ODD_PERSONS) assert.equal(v(byBsn.get(bsn)), false, `${bsn} validates fully: drop it from ODD_PERSONS`);
  });

  test('a titled person: dates, names, address, adressering, research flags', () => {
    const p = byBsn.get('000009830')!;
    assert.deepEqual(p['geboorte'].datum, { type: 'Datum', datum: '1975-07-07', langFormaat: '7 juli 1975' });
    assert.equal(p['naam'].voorletters, 'T.R.P.');
    assert.equal(p['naam'].volledigeNaam, 'Theodoor-Christiaan R. Philip graaf van der Ven-Van Roedelrode tot Broekzucht');
    assert.equal(p['verblijfplaats'].type, 'Adres');
    const { inOnderzoek, ...adres } = p['verblijfplaats'].verblijfadres;
    assert.deepEqual(adres, { korteStraatnaam: 'Boulevard 1945', huisnummer: 144, postcode: '7511AG' });
    assert.equal(inOnderzoek.postcode, true);
    assert.equal(inOnderzoek.locatiebeschrijving, undefined, 'no flags for fields an Adres does not have');
    assert.equal(p['adressering'].adresregel1, 'Boulevard 1945 144');
    assert.equal(p['adressering'].adresregel2, '7511 AG  ENSCHEDE');
    assert.equal(p['verblijfplaats'].inOnderzoek.type, true);
    assert.equal(p['verblijfplaats'].inOnderzoek.datumIngangOnderzoek.datum, '1994-09-30');
    assert.equal(p['nationaliteiten'][0].type, 'Nationaliteit');
  });

  test('abroad, unknown and partial dates', () => {
    const abroad = [...byBsn.values()].filter((p) => p['verblijfplaats']?.type === 'VerblijfplaatsBuitenland');
    assert.ok(abroad.length >= 80);
    assert.ok(abroad.every((p) => p['verblijfplaats'].verblijfadres?.land?.code));
    const locatie = [...byBsn.values()].find((p) => p['verblijfplaats']?.type === 'Locatie')!;
    assert.equal(locatie['verblijfplaats'].verblijfadres.locatiebeschrijving, 'woonaak De Kabouter in Ruigoord');
    const types = new Set([...byBsn.values()].flatMap((p) => (p['ouders'] ?? []).map((o: any) => o.datumIngangFamilierechtelijkeBetrekking?.type)));
    assert.ok(types.has('DatumOnbekend') && types.has('Datum'));
  });

  test('a person keeps its values: huisnummer becomes an integer, nothing else changes', () => {
    const r = (raw as any[]).find((x) => x.burgerservicenummer === '999993446');
    const p = convertMockPerson(r, 'x');
    assert.equal(p['verblijfplaats'] && (p['verblijfplaats'] as any).verblijfadres.huisnummer, Number(r.verblijfplaats.huisnummer));
    assert.equal((p['naam'] as any).geslachtsnaam, r.naam.geslachtsnaam);
  });
});
