// The BRP Personen façade over the converted mock persons (in memory): the three query types
// answer in the spec's response shapes (validated against the spec) with what the features
// expect; fields filtering; bad requests give the spec's 400 problem with invalidParams.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateRecords } from '../generate/generate.ts';
import { memoryBrpData } from './data.ts';
import { convertMockPersons } from './import.ts';
import { BRP_PROBLEM_CONTENT_TYPE, handlePersonenQuery, matchesText, type BrpAnswer, type BrpData } from './query.ts';
import { BRP_MOCK_FILE, describeErrors, loadBrpSpec, skipUnlessBrp, structuralErrors } from './testing.ts';

const NOW = () => new Date('2026-01-01T12:00:00Z');
type Any = Record<string, any>;

function bsnsOf(a: BrpAnswer): string[] {
  return ((a.body as Any).personen as Any[]).map((p) => p.burgerservicenummer).sort();
}

function assertValid(a: BrpAnswer, schema: string): void {
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const v = loadBrpSpec().schema(schema);
  assert.ok(v(a.body) || structuralErrors(v).length === 0, `${schema}: ${describeErrors(v)}`);
  const shown = ((a.body as Any).personen as Any[]).map((p) => p.burgerservicenummer);
  if (shown.every((b) => b !== undefined)) assert.deepEqual([...a.keys].sort(), [...shown].sort());
  else assert.equal(a.keys.length, shown.length);
}

function assertBadRequest(a: BrpAnswer, params: [code: string, name: string, reason?: string][]): void {
  assert.equal(a.status, 400);
  assert.equal(a.contentType, BRP_PROBLEM_CONTENT_TYPE);
  assert.deepEqual(a.keys, []);
  const b = a.body as Any;
  // The features' wording ("De foutieve parameter(s) zijn: fields[0].") breaks the spec's own
  // detail pattern; everything else must hold.
  if (!skipUnlessBrp) {
    const v = loadBrpSpec().schema('BadRequestFoutbericht');
    v(b);
    assert.deepEqual(structuralErrors(v), []);
  }
  assert.equal(b.type, 'https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1');
  assert.equal(b.title, 'Een of meerdere parameters zijn niet correct.');
  assert.equal(b.status, 400);
  assert.equal(b.code, 'paramsValidation');
  assert.equal(b.instance, '/haalcentraal/api/brp/personen');
  assert.deepEqual(b.invalidParams.map((p: Any) => [p.code, p.name]), params.map(([c, n]) => [c, n]));
  for (const [i, [, , reason]] of params.entries()) if (reason) assert.equal(b.invalidParams[i].reason, reason);
  assert.equal(b.detail, `De foutieve parameter(s) zijn: ${[...new Set(params.map((p) => p[1]))].sort().join(', ')}.`);
}

describe('text matching', () => {
  test('case- and diacritic-insensitive, exact unless a trailing *', () => {
    assert.ok(matchesText('maassen', 'Maassen'));
    assert.ok(matchesText('Kaster', 'Käster'));
    assert.ok(matchesText('Käster', 'Kaster'));
    assert.ok(!matchesText('Maas', 'Maassen'));
    assert.ok(matchesText('gro*', 'Groenlo'));
    assert.ok(matchesText('jan peter', 'Jan Peter'));
  });
});

describe('bad requests', () => {
  const data: BrpData = memoryBrpData([]);
  const q = (body: unknown) => handlePersonenQuery(body, data, { now: NOW });
  const raadpleeg = { type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830'], fields: ['burgerservicenummer'] };
  test('no body, no type, unknown type', async () => {
    assertBadRequest(await q(null), [['required', 'type', 'Parameter is verplicht.']]);
    assertBadRequest(await q({ fields: ['naam'] }), [['required', 'type']]);
    assertBadRequest(await q({ type: 'ZoekMetIets', fields: ['naam'] }), [['value', 'type', 'Waarde is geen geldig zoek type.']]);
  });
  test('unknown parameter, missing fields, empty or oversize fields', async () => {
    assertBadRequest(await q({ ...raadpleeg, bestaatNiet: 'x' }), [['unknownParam', 'bestaatNiet', 'Parameter is niet verwacht.']]);
    const { fields: _f, ...noFields } = raadpleeg;
    assertBadRequest(await q(noFields), [['required', 'fields']]);
    assertBadRequest(await q({ ...raadpleeg, fields: [] }), [['minItems', 'fields', 'Array bevat minder dan 1 items.']]);
    assertBadRequest(await q({ ...raadpleeg, fields: Array(131).fill('naam') }), [['maxItems', 'fields', 'Array bevat meer dan 130 items.']]);
    assertBadRequest(await q({ ...raadpleeg, fields: 'naam' }), [['array', 'fields', 'Parameter is geen array.']]);
  });
  test('fields: not existing, automatic, gezag sub-fields, bad characters', async () => {
    assertBadRequest(await q({ ...raadpleeg, fields: ['naam', 'nietBestaand'] }), [['fields', 'fields[1]', 'Parameter bevat een niet bestaande veldnaam.']]);
    assertBadRequest(await q({ ...raadpleeg, fields: ['rni'] }), [['fields', 'fields[0]', 'Parameter bevat een niet toegestane veldnaam.']]);
    assertBadRequest(await q({ ...raadpleeg, fields: ['naam.inOnderzoek'] }), [['fields', 'fields[0]', 'Parameter bevat een niet toegestane veldnaam.']]);
    assertBadRequest(await q({ ...raadpleeg, fields: ['gezag.type'] }), [['fields', 'fields[0]', 'Parameter bevat een niet toegestane veldnaam.']]);
    assertBadRequest(await q({ ...raadpleeg, fields: ['naam/voornamen'] }), [['pattern', 'fields[0]', 'Waarde voldoet niet aan patroon ^[a-zA-Z0-9\\._]{1,200}$.']]);
    assertBadRequest(await q({ ...raadpleeg, fields: ['naam.voornamen.x'] }), [['fields', 'fields[0]']]);
  });
  test('burgerservicenummer: pattern, array, more than 20', async () => {
    assertBadRequest(await q({ ...raadpleeg, burgerservicenummer: ['12345678'] }), [['pattern', 'burgerservicenummer[0]', 'Waarde voldoet niet aan patroon ^[0-9]{9}$.']]);
    assertBadRequest(await q({ ...raadpleeg, burgerservicenummer: '000009830' }), [['array', 'burgerservicenummer']]);
    assertBadRequest(await q({ ...raadpleeg, burgerservicenummer: Array(21).fill('000009830') }), [['maxItems', 'burgerservicenummer']]);
    assertBadRequest(await q({ ...raadpleeg, gemeenteVanInschrijving: '518' }), [['pattern', 'gemeenteVanInschrijving', 'Waarde voldoet niet aan patroon ^[0-9]{4}$.']]);
  });
  test('postcode search: required, huisnummer not a number, bad postcode, letter, boolean', async () => {
    const base = { type: 'ZoekMetPostcodeEnHuisnummer', fields: ['burgerservicenummer'] };
    assertBadRequest(await q(base), [['required', 'postcode'], ['required', 'huisnummer']]);
    assertBadRequest(await q({ ...base, postcode: '2741EX', huisnummer: '64' }), [['integer', 'huisnummer', 'Waarde is geen geldig getal.']]);
    assertBadRequest(await q({ ...base, postcode: '0741EX', huisnummer: 64 }), [['pattern', 'postcode', 'Waarde voldoet niet aan patroon ^[1-9]{1}[0-9]{3}[ ]?[A-Za-z]{2}$.']]);
    assertBadRequest(await q({ ...base, postcode: '2741EX', huisnummer: 64, huisletter: 'AB' }), [['pattern', 'huisletter']]);
    assertBadRequest(await q({ ...base, postcode: '2741EX', huisnummer: 64, inclusiefOverledenPersonen: 'true' }), [['boolean', 'inclusiefOverledenPersonen', 'Waarde is geen boolean.']]);
    assertBadRequest(await q({ ...base, postcode: '2741EX', huisnummer: 64, voornamen: 'Jan' }), [['unknownParam', 'voornamen']]);
  });
  test('name search: required, date, pattern, wildcard needs 3 letters; restricted fields', async () => {
    const base = { type: 'ZoekMetGeslachtsnaamEnGeboortedatum', fields: ['burgerservicenummer'] };
    assertBadRequest(await q(base), [['required', 'geslachtsnaam'], ['required', 'geboortedatum']]);
    assertBadRequest(await q({ ...base, geslachtsnaam: 'Maassen', geboortedatum: '1983-02-30' }), [['date', 'geboortedatum', 'Waarde is geen geldige datum.']]);
    assertBadRequest(await q({ ...base, geslachtsnaam: 'Ma*', geboortedatum: '1983-05-26' }), [['pattern', 'geslachtsnaam']]);
    assertBadRequest(await q({ ...base, geslachtsnaam: 'Maassen', geboortedatum: '1983-05-26', geslacht: 'X' }), [['pattern', 'geslacht']]);
    assertBadRequest(await q({ ...base, fields: ['gezag'], geslachtsnaam: 'Maassen', geboortedatum: '1983-05-26' }), [['fields', 'fields[0]', 'Parameter bevat een niet bestaande veldnaam.']]);
    assertBadRequest(await q({ ...base, fields: ['verblijfplaats'], geslachtsnaam: 'Maassen', geboortedatum: '1983-05-26' }), [['fields', 'fields[0]']]);
  });
});

describe('queries on the mock test persons', { skip: skipUnlessBrp }, () => {
  const persons = skipUnlessBrp ? [] : convertMockPersons(JSON.parse(readFileSync(BRP_MOCK_FILE, 'utf8'))).persons;
  const data = memoryBrpData(persons.map((p) => ({ key: p['burgerservicenummer'] as string, value: p })));
  const q = (body: Any) => handlePersonenQuery(body, data, { now: NOW });

  test('RaadpleegMetBurgerservicenummer: only the asked field', async () => {
    const a = await q({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830'], fields: ['burgerservicenummer'] });
    assertValid(a, 'RaadpleegMetBurgerservicenummerResponse');
    assert.deepEqual(a.body, { type: 'RaadpleegMetBurgerservicenummer', personen: [{ burgerservicenummer: '000009830' }] });
    assert.deepEqual(a.keys, ['000009830']);
  });

  test('RaadpleegMetBurgerservicenummer: several persons, whole objects, dates and tables atomic, leeftijd', async () => {
    const a = await q({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830', '000009842', '999971190', '999999999'], fields: ['naam', 'geboorte.datum.langFormaat', 'geslacht.code', 'verblijfplaats.verblijfadres.postcode', 'leeftijd', 'nationaliteiten', 'ouders', 'partners', 'kinderen'] });
    assertValid(a, 'RaadpleegMetBurgerservicenummerResponse');
    assert.ok(((a.body as Any).personen as Any[]).every((p) => p.burgerservicenummer === undefined), 'burgerservicenummer was not asked');
    assert.deepEqual(a.keys, ['000009830', '000009842', '999971190'], 'the deceased is found; the unknown is not');
    const [p] = (a.body as Any).personen as [Any];
    assert.deepEqual(p.geboorte, { datum: { type: 'Datum', datum: '1975-07-07', langFormaat: '7 juli 1975' } });
    assert.deepEqual(p.geslacht, { code: 'M', omschrijving: 'man' });
    assert.equal(p.leeftijd, 50);
    assert.equal(p.naam.volledigeNaam, 'Theodoor-Christiaan R. Philip graaf van der Ven-Van Roedelrode tot Broekzucht');
    assert.equal(p.verblijfplaats.type, 'Adres', 'the discriminator goes with any asked field');
    assert.deepEqual(Object.keys(p.verblijfplaats.verblijfadres).sort(), ['inOnderzoek', 'postcode']);
    assert.deepEqual(Object.keys(p.verblijfplaats.verblijfadres.inOnderzoek).sort(), ['datumIngangOnderzoek', 'postcode'], 'only the flags of delivered fields');
    assert.equal(p.aNummer, undefined);
    const dead = ((a.body as Any).personen as Any[])[2]!;
    assert.equal(dead.leeftijd, undefined, 'no age for the deceased');
    assert.equal(dead.opschortingBijhouding.reden.code, 'O', 'opschortingBijhouding is delivered without being asked');
  });

  test('RaadpleegMetBurgerservicenummer: gemeenteVanInschrijving filter', async () => {
    const a = await q({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830', '000009842'], fields: ['burgerservicenummer'], gemeenteVanInschrijving: '0153' });
    assertValid(a, 'RaadpleegMetBurgerservicenummerResponse');
    assert.deepEqual(bsnsOf(a), ['000009830']);
  });

  test('verblijfplaatsBinnenland delivers Dutch addresses only', async () => {
    const abroad = persons.find((p) => (p['verblijfplaats'] as Any)?.type === 'VerblijfplaatsBuitenland')!;
    const a = await q({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830', abroad['burgerservicenummer']], fields: ['burgerservicenummer', 'verblijfplaatsBinnenland', 'adresseringBinnenland.adresregel1'] });
    assertValid(a, 'RaadpleegMetBurgerservicenummerResponse');
    const [nl, away] = (a.body as Any).personen as [Any, Any];
    assert.equal(nl.verblijfplaats.type, 'Adres');
    assert.equal(nl.adressering.adresregel1, 'Boulevard 1945 144');
    assert.equal(away.verblijfplaats, undefined);
    assert.equal(away.adressering, undefined);
  });

  test('ZoekMetPostcodeEnHuisnummer: postcode with space and lowercase; deceased only on request', async () => {
    const body = { type: 'ZoekMetPostcodeEnHuisnummer', postcode: '2741 ex', huisnummer: 64, fields: ['burgerservicenummer', 'naam.volledigeNaam', 'adressering.adresregel1', 'geboorte'] };
    const a = await q(body);
    assertValid(a, 'ZoekMetPostcodeEnHuisnummerResponse');
    assert.deepEqual(bsnsOf(a), ['999971189', '999971219']);
    const all = await q({ ...body, inclusiefOverledenPersonen: true });
    assertValid(all, 'ZoekMetPostcodeEnHuisnummerResponse');
    assert.deepEqual(bsnsOf(all), ['999971189', '999971190', '999971219']);
    for (const p of (a.body as Any).personen as Any[]) assert.equal(p.adressering.adresregel1, 'Noordkade 64 D');
  });

  test('ZoekMetPostcodeEnHuisnummer: huisletter narrows, case-insensitive; too many results', async () => {
    const a = await q({ type: 'ZoekMetPostcodeEnHuisnummer', postcode: '3089KG', huisnummer: 20, huisletter: 'c', fields: ['burgerservicenummer'] });
    assertValid(a, 'ZoekMetPostcodeEnHuisnummerResponse');
    assert.deepEqual(bsnsOf(a), ['999993446']);
    const many = await q({ type: 'ZoekMetPostcodeEnHuisnummer', postcode: '2272BV', huisnummer: 54, fields: ['burgerservicenummer'] });
    assert.equal(many.status, 400);
    assert.equal((many.body as Any).code, 'tooManyResults');
    assert.equal((many.body as Any).detail, 'Meer dan maximum van 10 zoekresultaten gevonden. Verfijn de zoekopdracht.');
    assert.deepEqual(many.keys, []);
  });

  test('ZoekMetGeslachtsnaamEnGeboortedatum: case, voornamen, geslacht, voorvoegsel, wildcard, diacritics', async () => {
    const base = { type: 'ZoekMetGeslachtsnaamEnGeboortedatum', geboortedatum: '1987-04-01', fields: ['burgerservicenummer', 'naam', 'geboorte.datum', 'geslacht', 'leeftijd'] };
    const four = ['000009891', '999991176', '999995601', '999995662'];
    for (const geslachtsnaam of ['Goede', 'goede', 'GOEDE']) {
      const a = await q({ ...base, geslachtsnaam });
      assertValid(a, 'ZoekMetGeslachtsnaamEnGeboortedatumResponse');
      assert.deepEqual(bsnsOf(a), four);
    }
    assert.deepEqual(bsnsOf(await q({ ...base, geslachtsnaam: 'goede', voornamen: 'ERIKA' })), ['000009891', '999991176']);
    assert.deepEqual(bsnsOf(await q({ ...base, geslachtsnaam: 'goede', geslacht: 'm' })), ['999995662']);
    assert.deepEqual(bsnsOf(await q({ ...base, geslachtsnaam: 'goede', voorvoegsel: 'DE' })), four);
    assert.deepEqual(bsnsOf(await q({ ...base, geslachtsnaam: 'goe' })), [], 'no partial match without *');
    const wild = bsnsOf(await q({ ...base, geslachtsnaam: 'GOE*' }));
    for (const b of four) assert.ok(wild.includes(b));
    const v = await q({ ...base, geboortedatum: '1935-09-15', geslachtsnaam: 'Velazquez' });
    assertValid(v, 'ZoekMetGeslachtsnaamEnGeboortedatumResponse');
    assert.deepEqual(bsnsOf(v), ['000009908']);
    const p = ((v.body as Any).personen as Any[])[0]!;
    assert.equal(p.naam.aanduidingNaamgebruik, undefined, 'PersoonBeperkt naam has no aanduidingNaamgebruik');
    const many = await q({ ...base, geboortedatum: '1919-12-19', geslachtsnaam: 'Digid*' });
    assert.equal((many.body as Any).code, 'tooManyResults');
  });
});

describe('generated persons (src/generate) through the same façade', () => {
  const records = [...generateRecords('persons', 300, 11)] as Any[];
  const data = memoryBrpData(records.map((r) => ({ key: r.burgerservicenummer, value: r })));
  const q = (body: Any) => handlePersonenQuery(body, data, { now: NOW });

  test('validate against Persoon', { skip: skipUnlessBrp }, () => {
    const v = loadBrpSpec().schema('Persoon');
    for (const r of records) assert.ok(v(r), `${r.burgerservicenummer}: ${describeErrors(v)}`);
  });

  test('found by bsn and by postcode and huisnummer', async () => {
    const r = records[17]!;
    const a = await q({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: [r.burgerservicenummer], fields: ['burgerservicenummer', 'naam', 'verblijfplaats', 'adressering', 'leeftijd'] });
    assert.equal(a.status, 200);
    if (!skipUnlessBrp) assertValid(a, 'RaadpleegMetBurgerservicenummerResponse');
    const p = ((a.body as Any).personen as Any[])[0]!;
    assert.equal(p.burgerservicenummer, r.burgerservicenummer);
    assert.ok(p.naam.volledigeNaam, 'volledigeNaam is derived for generated persons');
    assert.match(p.adressering.adresregel2, /^[1-9][0-9]{3} [A-Z]{2} {2}\S/);
    const adres = r.verblijfplaats.verblijfadres;
    const b = await q({ type: 'ZoekMetPostcodeEnHuisnummer', postcode: `${adres.postcode.slice(0, 4)} ${adres.postcode.slice(4).toLowerCase()}`, huisnummer: adres.huisnummer, fields: ['burgerservicenummer'], inclusiefOverledenPersonen: true });
    assert.equal(b.status, 200);
    if (!skipUnlessBrp) assertValid(b, 'ZoekMetPostcodeEnHuisnummerResponse');
    assert.ok(bsnsOf(b).includes(r.burgerservicenummer));
  });
});
