// End to end: the real mock test persons through the real CLI (brp import, init, dataset add
// with BRP_INDEXES, ingest), then the BRP façade answering from the sealed, encrypted dataset
// (record tree + index trees read through the object store), checked against the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { embassy } from '../support/cli.ts';
import { apiRequest, startNode, type FedSite } from '../support/federation.ts';
import { tempDir } from '../support/tmp.ts';
import { indexRoot, versionOf, versionRoot } from '../../src/catalog/catalog.ts';
import { openDataset } from '../../src/cli/open-dataset.ts';
import { Site } from '../../src/site/site.ts';
import { sealedBrpData } from '../../src/brp/data.ts';
import { BRP_INDEXES, brpDatasetAddArgs } from '../../src/brp/dataset.ts';
import { BRP_DATASET, handlePersonenQuery } from '../../src/brp/query.ts';
import { BRP_MOCK_FILE, describeErrors, loadBrpSpec, skipUnlessBrp, structuralErrors } from '../../src/brp/testing.ts';

type Any = Record<string, any>;

test('brp: import, declare, ingest, answer from the sealed dataset', { skip: skipUnlessBrp }, async (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 'home');
  const ndjson = join(tmp, 'persons.ndjson');
  const imp = embassy(['brp', 'import', '--in', BRP_MOCK_FILE, '--out', ndjson, '--json']);
  assert.equal(imp.status, 0, imp.stderr);
  assert.equal(imp.json().persons, 1176);
  const init = embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home', '--json']);
  assert.equal(init.status, 0, init.stderr);
  const add = embassy([...brpDatasetAddArgs(dir), '--json']);
  assert.equal(add.status, 0, add.stderr);
  assert.deepEqual(add.json().indexes, BRP_INDEXES);
  const ing = embassy(['ingest', '--dir', dir, '--dataset', BRP_DATASET, ndjson, '--source-time', '2026-11-28T06:00:00Z', '--json']);
  assert.equal(ing.status, 0, ing.stderr);
  assert.equal(ing.json().records, 1176);

  const site = await Site.open(dir);
  const ds = await openDataset(site, BRP_DATASET);
  t.after(() => ds.close());
  const v = versionOf(ds.dataset);
  const data = sealedBrpData({ root: versionRoot(v), indexRoot: (f) => indexRoot(v, f), store: ds.store });
  const now = () => new Date('2026-01-01T00:00:00Z');
  const spec = loadBrpSpec();
  const check = (a: { status: number; body: unknown }, schema: string) => {
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const validate = spec.schema(schema);
    assert.ok(validate(a.body) || structuralErrors(validate).length === 0, describeErrors(validate));
    return ((a.body as Any).personen as Any[]).map((p) => p.burgerservicenummer).sort();
  };

  const r = await handlePersonenQuery({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830', '999993446'], fields: ['burgerservicenummer', 'naam.voornamen', 'geboorte', 'verblijfplaats'] }, data, { now });
  assert.deepEqual(check(r, 'RaadpleegMetBurgerservicenummerResponse'), ['000009830', '999993446']);
  assert.deepEqual(r.keys, ['000009830', '999993446']);
  const p = ((r.body as Any).personen as Any[])[0]!;
  assert.deepEqual(Object.keys(p.naam), ['voornamen']);
  assert.equal(p.verblijfplaats.verblijfadres.huisnummer, 144);

  const pc = await handlePersonenQuery({ type: 'ZoekMetPostcodeEnHuisnummer', postcode: '2741 ex', huisnummer: 64, fields: ['burgerservicenummer'] }, data, { now });
  assert.deepEqual(check(pc, 'ZoekMetPostcodeEnHuisnummerResponse'), ['999971189', '999971219']);

  const naam = await handlePersonenQuery({ type: 'ZoekMetGeslachtsnaamEnGeboortedatum', geslachtsnaam: 'GOEDE', geboortedatum: '1987-04-01', voornamen: 'erika', fields: ['burgerservicenummer', 'naam'] }, data, { now });
  assert.deepEqual(check(naam, 'ZoekMetGeslachtsnaamEnGeboortedatumResponse'), ['000009891', '999991176']);

  const none = await handlePersonenQuery({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000000000'], fields: ['burgerservicenummer'] }, data, { now });
  assert.deepEqual(check(none, 'RaadpleegMetBurgerservicenummerResponse'), []);
  assert.deepEqual(none.keys, []);
});

test('brp over HTTPS: the home node answers POST /haalcentraal/api/brp/personen for the real test persons in the spec\'s shapes, journaled', { skip: skipUnlessBrp, timeout: 180_000 }, async (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 'home');
  const ndjson = join(tmp, 'persons.ndjson');
  assert.equal(embassy(['brp', 'import', '--in', BRP_MOCK_FILE, '--out', ndjson]).status, 0);
  assert.equal(embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home']).status, 0);
  assert.equal(embassy(brpDatasetAddArgs(dir)).status, 0);
  assert.equal(embassy(['ingest', '--dir', dir, '--dataset', BRP_DATASET, ndjson]).status, 0);
  const token = embassy(['token', 'issue', '--dir', dir, '--client', 'gemeente-test', '--datasets', BRP_DATASET, '--json']).json().token as string;
  const site = { name: 'den-haag', role: 'home', dir, port: 0, card: '' } as FedSite;
  const node = await startNode(t, site, ['--api-listen', '127.0.0.1:0']);
  const spec = loadBrpSpec();
  const ask = async (body: unknown, schema: string): Promise<Any[]> => {
    const r = await apiRequest(site, node.info.api!, 'POST', '/haalcentraal/api/brp/personen', { token, body });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.match(r.contentType, /^application\/json/);
    const validate = spec.schema(schema);
    assert.ok(validate(r.json) || structuralErrors(validate).length === 0, describeErrors(validate));
    return r.json.personen as Any[];
  };
  const one = await ask({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830'], fields: ['naam.geslachtsnaam', 'verblijfplaats.verblijfadres.postcode'] }, 'RaadpleegMetBurgerservicenummerResponse');
  assert.equal(one.length, 1);
  assert.equal(one[0]!.naam.geslachtsnaam, 'Ven-Van Roedelrode tot Broekzucht');
  assert.equal(one[0]!.verblijfplaats.verblijfadres.postcode, '7511AG');
  const pc = await ask({ type: 'ZoekMetPostcodeEnHuisnummer', postcode: '2741EX', huisnummer: 64, fields: ['burgerservicenummer'] }, 'ZoekMetPostcodeEnHuisnummerResponse');
  assert.deepEqual(pc.map((p) => p.burgerservicenummer).sort(), ['999971189', '999971219']);
  const nm = await ask({ type: 'ZoekMetGeslachtsnaamEnGeboortedatum', geslachtsnaam: 'goede', geboortedatum: '1987-04-01', fields: ['burgerservicenummer'] }, 'ZoekMetGeslachtsnaamEnGeboortedatumResponse');
  assert.ok(nm.some((p) => p.burgerservicenummer === '000009891'), JSON.stringify(nm));
  // A bad request is the spec's problem shape; a BSN in the URL is refused before routing.
  const bad = await apiRequest(site, node.info.api!, 'POST', '/haalcentraal/api/brp/personen', { token, body: { type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['000009830'], fields: ['bestaatNiet'] } });
  assert.equal(bad.status, 400);
  assert.match(bad.contentType, /^application\/problem\+json/);
  assert.ok(Array.isArray(bad.json.invalidParams), JSON.stringify(bad.json));
  const inUrl = await apiRequest(site, node.info.api!, 'GET', '/haalcentraal/api/brp/personen/000009830', { token });
  assert.equal(inUrl.status, 400);
  // Each disclosure is in the journal with the BSNs it disclosed.
  assert.equal(await node.stop(), 0);
  const shown = embassy(['journal', 'show', '--dir', dir, '--json']);
  assert.equal(shown.status, 0, shown.stderr);
  const entries = shown.json() as Any[];
  assert.ok(entries.some((e) => e.op === 'brp.personen' && e.keys.includes('000009830') && e.client === 'gemeente-test'), JSON.stringify(entries));
  assert.doesNotMatch(node.stderr(), /000009830/);
});
