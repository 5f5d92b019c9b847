// End to end: the real mock test persons through the real CLI (brp import, init, dataset add
// with BRP_INDEXES, ingest), then the BRP façade answering from the sealed, encrypted dataset
// (record tree + index trees read through the object store), checked against the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { embassy } from '../support/cli.ts';
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
