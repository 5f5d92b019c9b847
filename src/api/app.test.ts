// The serving API in-process (inject): every route against a real home (made by the CLI), every
// refusal with its status and code and nothing served, the journal written before each answer,
// and every response checked against the served OpenAPI document.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { EmbassyError } from '../errors.ts';
import { parseVerifierKey } from '../log/note.ts';
import { verifyProofBundle } from '../proof/bundle.ts';
import { Site } from '../site/site.ts';
import type { PackObjectStore } from '../store/pack-store.ts';
import type { DataAccess, ServingActivation } from './access.ts';
import { buildApiApp, type ApiDeps } from './app.ts';
import { openHomeAccess, type HomeAccess } from './home-access.ts';
import { AccessJournal } from './journal.ts';
import { API_VERSION, openApiDocument } from './openapi.ts';
import { TokenStore } from './tokens.ts';
import { PERSONS, POSTCODE_INDEX, V1_TIME, V2_TIME, capturingLogger, makeHome, openApiValidator, type TestHome } from './testing.ts';

const tmp = mkdtempSync(join(tmpdir(), 'embassy-api-'));
let home: TestHome;
let site: Site;
let objects: PackObjectStore;
let homeAccess: HomeAccess;
let tokens: TokenStore;
let journal: AccessJournal;
const journalPath = join(tmp, 'journal.jsonl');
const validate = openApiValidator(openApiDocument());

/** The activation the tests switch: the home's, none, one with a narrower scope, an expired one. */
let activation: ServingActivation | undefined;
const access: DataAccess = {
  current: () => activation,
  dataset: (id) => (activation && activation.datasets.includes(id) ? homeAccess.dataset(id) : undefined),
};

before(async () => {
  home = makeHome(tmp);
  site = await Site.open(home.dir);
  objects = await site.openObjectsReader();
  homeAccess = await openHomeAccess(site, objects);
  tokens = TokenStore.open(join(tmp, 'tokens.sqlite'));
  journal = await AccessJournal.open(journalPath);
});

after(async () => {
  homeAccess.close();
  tokens.close();
  await journal.close();
  await objects.close();
  rmSync(tmp, { recursive: true, force: true });
});

function appWith(over: Partial<ApiDeps> = {}): FastifyInstance {
  return buildApiApp({ access, tokens, journal, site: { name: 'den-haag', role: 'home' }, ...over });
}

function issue(datasets = [PERSONS], ratePerMinute?: number): string {
  return tokens.issue({ client: 'gemeente-test', datasets, ttlSeconds: 3600, ...(ratePerMinute ? { ratePerMinute } : {}) }).token;
}

function journalLines(): any[] {
  return readFileSync(journalPath, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Checks the API-Version header and the body against the OpenAPI document; returns the body. */
function checked(r: LightMyRequestResponse, path: string, method: string): any {
  assert.equal(r.headers['api-version'], API_VERSION);
  const body = r.json();
  validate(path, method, r.statusCode, String(r.headers['content-type']), body);
  return body;
}

const GET = '/api/v1/datasets/{id}/records/get';
const RANGE = '/api/v1/datasets/{id}/records/range';
const LOOKUP = '/api/v1/datasets/{id}/index/lookup';
const BRP = '/haalcentraal/api/brp/personen';
const url = (template: string, id = PERSONS) => template.replace('{id}', id);

function homeActivation(): ServingActivation {
  return homeAccess.current()!;
}

describe('serving at a home', () => {
  let app: FastifyInstance;
  let token: string;
  before(async () => {
    activation = homeActivation();
    app = appWith();
    await app.ready();
    token = issue();
  });
  after(() => app.close());
  const auth = () => ({ authorization: `Bearer ${token}` });

  test('openapi.json: an OpenAPI 3 document naming every route, without a token', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(r.statusCode, 200);
    const doc = checked(r, '/api/v1/openapi.json', 'GET');
    assert.match(doc.openapi, /^3\.0\./);
    for (const p of ['/api/v1/status', '/api/v1/datasets', '/api/v1/datasets/{id}/versions', GET, RANGE, LOOKUP, '/haalcentraal/api/brp/personen']) assert.ok(doc.paths[p], p);
    assert.ok(doc.components.securitySchemes.bearerAuth);
    // Every route the app has is described (path parameters as {id}).
    const routes = app.printRoutes({ commonPrefix: false });
    for (const m of routes.matchAll(/(\/[^\s(]*) \(([A-Z, ]+)\)/g)) {
      const path = m[1]!.replace(/:id/g, '{id}');
      if (!path.startsWith('/api/') && !path.startsWith('/haalcentraal/')) continue;
      for (const method of m[2]!.split(', ').filter((x) => x !== 'HEAD')) assert.ok(doc.paths[path]?.[method.toLowerCase()], `${method} ${path} is not in the OpenAPI document`);
    }
  });

  test('status: site, role and activation; no data, no token needed', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/status' });
    const s = checked(r, '/api/v1/status', 'GET');
    assert.deepEqual(s, { site: 'den-haag', role: 'home', active: true, activation: { id: 'home', drill: false, notAfter: null, datasets: [PERSONS] } });
  });

  test('datasets and versions', async () => {
    const d = checked(await app.inject({ method: 'GET', url: '/api/v1/datasets', headers: auth() }), '/api/v1/datasets', 'GET');
    assert.equal(d.datasets.length, 1);
    assert.equal(d.datasets[0].id, PERSONS);
    assert.equal(d.datasets[0].version, 2);
    assert.equal(d.datasets[0].homeVerifierKey, home.vkey);
    const v = checked(await app.inject({ method: 'GET', url: `/api/v1/datasets/${PERSONS}/versions`, headers: auth() }), '/api/v1/datasets/{id}/versions', 'GET');
    assert.deepEqual(v.versions.map((x: any) => [x.version, x.sourceTime]), [[1, V1_TIME], [2, V2_TIME]]);
    assert.equal(typeof v.versions[0].logIndex, 'number');
  });

  test('records/get: newest, by version, by time, with a proof that verifies offline', async () => {
    const p = home.persons[3]!;
    const before = journalLines().length;
    const r = await app.inject({ method: 'POST', url: url(GET), headers: auth(), payload: { key: p.burgerservicenummer } });
    assert.equal(r.statusCode, 200, r.body);
    const b = checked(r, GET, 'POST');
    assert.equal(b.version, 2);
    assert.equal(b.record.key, p.burgerservicenummer);
    assert.equal(r.headers['cache-control'], 'no-store');

    const v1 = checked(await app.inject({ method: 'POST', url: url(GET), headers: auth(), payload: { key: p.burgerservicenummer, version: 1 } }), GET, 'POST');
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.record.value, p);
    const at = checked(await app.inject({ method: 'POST', url: url(GET), headers: auth(), payload: { key: p.burgerservicenummer, at: '2026-11-28T12:00:00Z' } }), GET, 'POST');
    assert.equal(at.version, 1);

    const pr = checked(await app.inject({ method: 'POST', url: url(GET), headers: auth(), payload: { key: p.burgerservicenummer, proof: true } }), GET, 'POST');
    const verified = verifyProofBundle(pr.proof, parseVerifierKey(home.vkey));
    assert.equal(verified.record.key, p.burgerservicenummer);
    assert.equal(verified.version, 2);
    assert.equal(verified.dataset, PERSONS);

    const lines = journalLines().slice(before);
    assert.equal(lines.length, 4);
    assert.deepEqual(
      { ...lines[0], seq: 0, prev: '', time: '' },
      { seq: 0, prev: '', time: '', client: 'gemeente-test', tokenId: tokens.verify(token)!.tokenId, activation: 'home', drill: false, dataset: PERSONS, op: 'records.get', keys: [p.burgerservicenummer], version: 2, status: 200 },
    );
  });

  test('records/get: 404 for an unknown record, version or dataset; 400 for both version and at', async () => {
    const key = home.persons[0]!.burgerservicenummer;
    const cases: [unknown, number, string][] = [
      [{ key: '999999999' }, 404, 'record.not-found'],
      [{ key, version: 9 }, 404, 'version.unknown'],
      [{ key, at: '2000-01-01T00:00:00Z' }, 404, 'version.unknown'],
      [{ key, version: 1, at: V2_TIME }, 400, ''],
      [{ key, extra: 1 }, 400, ''],
      [{}, 400, ''],
    ];
    for (const [payload, status, code] of cases) {
      const r = await app.inject({ method: 'POST', url: url(GET), headers: auth(), payload: payload as object });
      assert.equal(r.statusCode, status, `${JSON.stringify(payload)}: ${r.body}`);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      const p = checked(r, GET, 'POST');
      if (code) assert.match(p.type, new RegExp(`${code}$`));
    }
    const wide = { authorization: `Bearer ${issue([PERSONS, 'nl.bag.unknown'])}` };
    const r = await app.inject({ method: 'POST', url: url(GET, 'nl.bag.unknown'), headers: wide, payload: { key } });
    assert.equal(r.statusCode, 403); // outside the activation, which names only the persons
    activation = { ...homeActivation(), datasets: [PERSONS, 'nl.bag.unknown'] };
    try {
      const unknown = await app.inject({ method: 'POST', url: url(GET, 'nl.bag.unknown'), headers: wide, payload: { key } });
      assert.equal(unknown.statusCode, 404);
      assert.match(checked(unknown, GET, 'POST').type, /dataset\.unknown$/);
    } finally {
      activation = homeActivation();
    }
  });

  test('records/range: pages through every record of a version with next', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 100; i++) {
      const r = await app.inject({ method: 'POST', url: url(RANGE), headers: auth(), payload: { version: 1, limit: 150, ...(after ? { after } : {}) } });
      const b = checked(r, RANGE, 'POST');
      seen.push(...b.records.map((x: any) => x.key));
      after = b.next;
      if (!after) break;
    }
    assert.deepEqual(seen, home.persons.map((p) => p.burgerservicenummer).sort());
    const bounded = checked(await app.inject({ method: 'POST', url: url(RANGE), headers: auth(), payload: { from: seen[10], to: seen[20] } }), RANGE, 'POST');
    assert.deepEqual(bounded.records.map((x: any) => x.key), seen.slice(10, 20));
    assert.equal(bounded.next, undefined);
    const tooMany = await app.inject({ method: 'POST', url: url(RANGE), headers: auth(), payload: { limit: 1001 } });
    assert.equal(tooMany.statusCode, 400);
  });

  test('index/lookup: records under postcode and house number, with proofs', async () => {
    const p = home.persons[7]!;
    const adres = p.verblijfplaats.verblijfadres;
    const r = await app.inject({ method: 'POST', url: url(LOOKUP), headers: auth(), payload: { fields: POSTCODE_INDEX, values: [adres.postcode, adres.huisnummer], version: 1, proof: true } });
    assert.equal(r.statusCode, 200, r.body);
    const b = checked(r, LOOKUP, 'POST');
    const hit = b.records.find((x: any) => x.key === p.burgerservicenummer);
    assert.ok(hit, 'the person is found under their address');
    for (const x of b.records) {
      assert.equal(x.value.verblijfplaats.verblijfadres.postcode, adres.postcode);
      assert.equal(verifyProofBundle(x.proof, parseVerifierKey(home.vkey)).record.key, x.key);
    }
    const last = journalLines().at(-1);
    assert.equal(last.op, 'index.lookup');
    assert.deepEqual(last.keys, b.records.map((x: any) => x.key));
    const noIndex = await app.inject({ method: 'POST', url: url(LOOKUP), headers: auth(), payload: { fields: ['geslacht.code'], values: ['M'] } });
    assert.equal(noIndex.statusCode, 400);
  });
});

describe('the BRP Personen façade', () => {
  test('RaadpleegMetBurgerservicenummer and ZoekMetPostcodeEnHuisnummer: answered in the BRP shape and journaled', async () => {
    activation = homeActivation();
    const app = appWith();
    const headers = { authorization: `Bearer ${issue()}` };
    const p = home.persons[5]!;
    const r = await app.inject({ method: 'POST', url: BRP, headers, payload: { type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: [p.burgerservicenummer], fields: ['naam.geslachtsnaam', 'burgerservicenummer'] } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['api-version'], API_VERSION);
    const b = r.json();
    assert.equal(b.type, 'RaadpleegMetBurgerservicenummer');
    assert.equal(b.personen.length, 1);
    assert.equal(b.personen[0].burgerservicenummer, p.burgerservicenummer);
    let last = journalLines().at(-1);
    assert.deepEqual([last.op, last.dataset, last.keys, last.status, last.version], ['brp.personen', PERSONS, [p.burgerservicenummer], 200, 2]);

    const adres = home.persons[9]!.verblijfplaats.verblijfadres;
    const z = await app.inject({ method: 'POST', url: BRP, headers, payload: { type: 'ZoekMetPostcodeEnHuisnummer', postcode: adres.postcode, huisnummer: adres.huisnummer, fields: ['burgerservicenummer'] } });
    assert.equal(z.statusCode, 200, z.body);
    const found = z.json().personen.map((x: any) => x.burgerservicenummer);
    assert.ok(found.length >= 1);
    last = journalLines().at(-1);
    assert.deepEqual(last.keys, found);

    // Refused before the façade reads anything: a token without the BRP dataset.
    const other = await app.inject({ method: 'POST', url: BRP, headers: { authorization: `Bearer ${issue(['nl.bwb.wetten'])}` }, payload: { type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: [p.burgerservicenummer], fields: ['naam'] } });
    assert.equal(other.statusCode, 403);
    assert.equal(other.headers['content-type'], 'application/problem+json');
    last = journalLines().at(-1);
    assert.deepEqual([last.op, last.keys, last.status], ['brp.personen', [p.burgerservicenummer], 403]);
    await app.close();
  });
});

describe('refusals: nothing served, each with its problem', () => {
  test('no token, a malformed or unknown token: 401 with WWW-Authenticate, not journaled', async () => {
    activation = homeActivation();
    const app = appWith();
    const before = journalLines().length;
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer emb_nottherealthing' }]) {
      const r = await app.inject({ method: 'POST', url: url(GET), headers, payload: { key: home.persons[0]!.burgerservicenummer } });
      assert.equal(r.statusCode, 401);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      const p = checked(r, GET, 'POST');
      assert.match(p.type, /auth\.unauthorized$/);
      assert.doesNotMatch(r.body, /burgerservicenummer|verblijfplaats/);
    }
    assert.equal(journalLines().length, before);
    await app.close();
  });

  test('a dataset outside the token: 403, journaled with the key asked for', async () => {
    activation = homeActivation();
    const app = appWith();
    const other = issue(['nl.bag.verblijfsobjecten']);
    const key = home.persons[1]!.burgerservicenummer;
    const r = await app.inject({ method: 'POST', url: url(GET), headers: { authorization: `Bearer ${other}` }, payload: { key } });
    assert.equal(r.statusCode, 403);
    assert.match(checked(r, GET, 'POST').type, /auth\.forbidden$/);
    assert.doesNotMatch(r.body, /verblijfplaats/);
    const last = journalLines().at(-1);
    assert.deepEqual([last.status, last.op, last.keys, last.activation], [403, 'records.get', [key], 'home']);
    const v = await app.inject({ method: 'GET', url: `/api/v1/datasets/${PERSONS}/versions`, headers: { authorization: `Bearer ${other}` } });
    assert.equal(v.statusCode, 403);
    const d = checked(await app.inject({ method: 'GET', url: '/api/v1/datasets', headers: { authorization: `Bearer ${other}` } }), '/api/v1/datasets', 'GET');
    assert.deepEqual(d.datasets, []);
    await app.close();
  });

  test('no activation: 503 activation.inactive; an expired one: 503; outside the activation: 403', async () => {
    const token = issue();
    const headers = { authorization: `Bearer ${token}` };
    const payload = { key: home.persons[2]!.burgerservicenummer };
    const now = Date.now();
    const cases: [ServingActivation | undefined, number, string][] = [
      [undefined, 503, 'activation.inactive'],
      [{ id: 'act-1', drill: true, notAfter: now - 1000, datasets: [PERSONS] }, 503, 'activation.expired'],
      [{ id: 'act-2', drill: false, notAfter: now + 60_000, datasets: ['nl.bwb.wetten'] }, 403, 'auth.forbidden'],
    ];
    for (const [a, status, code] of cases) {
      activation = a;
      const app = appWith();
      const r = await app.inject({ method: 'POST', url: url(GET), headers, payload });
      assert.equal(r.statusCode, status, r.body);
      assert.match(checked(r, GET, 'POST').type, new RegExp(`${code.replace('.', '\\.')}$`));
      assert.doesNotMatch(r.body, /verblijfplaats/);
      const s = checked(await app.inject({ method: 'GET', url: '/api/v1/status' }), '/api/v1/status', 'GET');
      assert.equal(s.active, a !== undefined && a.notAfter! > now);
      const last = journalLines().at(-1);
      assert.equal(last.status, status);
      assert.equal(last.activation, a ? a.id : 'none');
      await app.close();
    }
    // A drill activation in force serves, and the journal says it was a drill.
    activation = { id: 'drill-1', drill: true, notAfter: now + 60_000, datasets: [PERSONS] };
    const app = appWith();
    const r = await app.inject({ method: 'POST', url: url(GET), headers, payload });
    assert.equal(r.statusCode, 200);
    assert.deepEqual([journalLines().at(-1).activation, journalLines().at(-1).drill], ['drill-1', true]);
    await app.close();
  });

  test('over the rate of the token: 429 rate.limited, journaled', async () => {
    activation = homeActivation();
    const app = appWith();
    const token = issue([PERSONS], 3);
    const payload = { key: home.persons[0]!.burgerservicenummer };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await app.inject({ method: 'POST', url: url(GET), headers: { authorization: `Bearer ${token}` }, payload });
      statuses.push(r.statusCode);
      if (r.statusCode === 429) {
        assert.match(checked(r, GET, 'POST').type, /rate\.limited$/);
        assert.doesNotMatch(r.body, /verblijfplaats/);
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(journalLines().at(-1).status, 429);
    // Another token has its own budget.
    const r = await app.inject({ method: 'POST', url: url(GET), headers: { authorization: `Bearer ${issue()}` }, payload });
    assert.equal(r.statusCode, 200);
    await app.close();
  });

  test('a BSN in the path or the query: 400 before anything else, and neither it nor the token is logged', async () => {
    activation = homeActivation();
    const { logger, text } = capturingLogger();
    const app = appWith({ fastify: { loggerInstance: logger } });
    const token = issue();
    const bsn = home.persons[4]!.burgerservicenummer as string;
    const before = journalLines().length;
    for (const u of [`/api/v1/datasets/${PERSONS}/records/${bsn}`, `/api/v1/datasets?bsn=${bsn}`, `/haalcentraal/api/brp/personen/${bsn}`, `/api/v1/status?q=%3${bsn[0]}${bsn.slice(1)}`]) {
      const r = await app.inject({ method: 'GET', url: u, headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.statusCode, 400, u);
      assert.equal(r.headers['api-version'], API_VERSION);
      const p = r.json();
      assert.match(p.type, /input\.malformed$/);
      assert.match(p.detail, /personal identifiers do not belong in URLs; send them in a POST body/);
    }
    // A served read logs its route pattern, not its body or token.
    await app.inject({ method: 'POST', url: url(GET), headers: { authorization: `Bearer ${token}` }, payload: { key: bsn } });
    assert.equal(journalLines().length, before + 1);
    const logged = text();
    assert.ok(logged.length > 0, 'something was logged');
    assert.ok(!logged.includes(bsn), 'the BSN is not in the log');
    assert.ok(!logged.includes(token), 'the token is not in the log');
    // Digit runs that are no BSN (a 16-digit BAG id, a version number) pass.
    const ok = await app.inject({ method: 'GET', url: '/api/v1/status?x=0400010100413895' });
    assert.equal(ok.statusCode, 200);
    await app.close();
  });

  test('a journal that cannot record: the read is not served', async () => {
    activation = homeActivation();
    const broken = { append: async () => Promise.reject(new EmbassyError('store.io', 'journal: disk full')) };
    const app = appWith({ journal: broken });
    const r = await app.inject({ method: 'POST', url: url(GET), headers: { authorization: `Bearer ${issue()}` }, payload: { key: home.persons[0]!.burgerservicenummer } });
    assert.equal(r.statusCode, 503);
    assert.doesNotMatch(r.body, /verblijfplaats/);
    await app.close();
  });

  test('an unknown route: 404 problem with API-Version', async () => {
    const app = appWith();
    const r = await app.inject({ method: 'GET', url: '/api/v1/nothing' });
    assert.equal(r.statusCode, 404);
    assert.equal(r.headers['content-type'], 'application/problem+json');
    assert.equal(r.headers['api-version'], API_VERSION);
    await app.close();
  });
});

describe('custodians elsewhere: POST /api/v1/activation/shares', () => {
  test('a share file with its passphrase reaches the manager; a wrong passphrase, a drill or a flood is refused', async () => {
    const { publicShareRoutes } = await import('../serve/admin.ts');
    const { sealShareFile } = await import('../custody/share-file.ts');
    const { splitSecret } = await import('../crypto/shamir.ts');
    const [share] = await splitSecret(new Uint8Array(32).fill(9), 3, 2);
    const meta = { home: 'den-haag.example/embassy', homeVerifierKey: 'den-haag.example/embassy+01234567+AQ', custodian: 'anna', x: share![32]!, epoch: 1, threshold: 2, custodians: 3, kekFingerprint: '00'.repeat(16) };
    const file = await sealShareFile(meta, share!, 'anna has a long passphrase', { logN: 14 });
    const got: { custodian: string; share: number[] }[] = [];
    const manager = {
      submitShare: async (s: { meta: { custodian: string }; share: Uint8Array }) => {
        got.push({ custodian: s.meta.custodian, share: [...s.share] });
        return { custodian: s.meta.custodian, have: 1, need: 2, status: { site: 'luxembourg', state: 'collecting' as const } };
      },
    };
    const app = appWith({ register: publicShareRoutes(manager as never) });
    const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/v1/activation/shares', payload: payload as object });

    const ok = await post({ share: file, passphrase: 'anna has a long passphrase' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { custodian: 'anna', have: 1, need: 2, state: 'collecting' });
    assert.deepEqual(got, [{ custodian: 'anna', share: [...share!] }]);

    const wrong = await post({ share: file, passphrase: 'not the passphrase of anna' });
    assert.equal(wrong.statusCode, 422);
    assert.equal(wrong.headers['content-type'], 'application/problem+json');
    assert.match(wrong.json().type, /custody\.passphrase$/);
    assert.doesNotMatch(wrong.body, /not the passphrase/);
    const drill = await post({ share: file, passphrase: 'anna has a long passphrase', request: { drill: true } });
    assert.equal(drill.statusCode, 409);
    assert.equal(got.length, 1, 'nothing but the good share reached the manager');

    let limited = 0;
    for (let i = 0; i < 12 && limited === 0; i++) if ((await post({ share: file, passphrase: 'x' })).statusCode === 429) limited++;
    assert.equal(limited, 1, 'the share route is rate limited per address');
    await app.close();
  });
});
