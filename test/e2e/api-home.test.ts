// The serving API at a real home over real HTTPS: the home made by the CLI, tokens issued with
// `embassy token issue`, the API on 127.0.0.1:0 with the site's own TLS identity (the client
// trusts exactly that certificate), a proof bundle fetched, written to a file and checked by the
// real `embassy proof verify`; a version sealed while serving shows up; a BSN in the URL and a
// token outside its scope are refused with problem+json, and the journal holds every read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { buildApiApp } from '../../src/api/app.ts';
import { openHomeAccess } from '../../src/api/home-access.ts';
import { AccessJournal, JOURNAL_FILE } from '../../src/api/journal.ts';
import { API_VERSION } from '../../src/api/openapi.ts';
import { TOKENS_FILE, TokenStore } from '../../src/api/tokens.ts';
import { makeHome, PERSONS } from '../../src/api/testing.ts';
import { Site } from '../../src/site/site.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function call(port: number, ca: string, method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca, // trust the site's self-signed certificate and nothing else (its SAN holds 127.0.0.1)
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test('a home serves records with proofs over HTTPS; refusals are problems; every read is journaled', async (t) => {
  const tmp = tempDir(t);
  const home = makeHome(tmp, 300);
  const issue = (datasets: string) => {
    const r = embassy(['token', 'issue', '--dir', home.dir, '--client', 'gemeente-utrecht', '--datasets', datasets, '--ttl', '1h', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return r.json().token as string;
  };
  const token = issue(PERSONS);
  const outsider = issue('nl.bwb.wetten');

  const site = await Site.open(home.dir);
  const tls = await site.readTlsIdentity();
  const objects = await site.openObjectsReader();
  const access = await openHomeAccess(site, objects, { pollMs: 60_000 });
  const tokens = TokenStore.open(join(home.dir, TOKENS_FILE));
  const journal = await AccessJournal.open(join(home.dir, JOURNAL_FILE));
  const app = buildApiApp({
    access,
    tokens,
    journal,
    site: { name: site.config.name, role: site.config.role },
    fastify: { https: { key: tls.keyPem, cert: tls.certPem, minVersion: 'TLSv1.3' } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    access.close();
    tokens.close();
    await journal.close();
    await objects.close();
  });
  const port = (app.server.address() as AddressInfo).port;
  const ca = tls.certPem;

  const status = await call(port, ca, 'GET', '/api/v1/status');
  assert.equal(status.status, 200);
  assert.equal(status.headers['api-version'], API_VERSION);
  assert.equal(status.body.activation.id, 'home');
  const doc = await call(port, ca, 'GET', '/api/v1/openapi.json');
  assert.match(doc.body.openapi, /^3\./);

  const person = home.persons[11]!;
  const got = await call(port, ca, 'POST', `/api/v1/datasets/${PERSONS}/records/get`, token, { key: person.burgerservicenummer, proof: true });
  assert.equal(got.status, 200, JSON.stringify(got.body));
  assert.equal(got.body.record.key, person.burgerservicenummer);
  const bundleFile = join(tmp, 'bundle.json');
  writeFileSync(bundleFile, JSON.stringify(got.body.proof));
  const datasets = await call(port, ca, 'GET', '/api/v1/datasets', token);
  const vkey = datasets.body.datasets[0].homeVerifierKey;
  assert.equal(vkey, home.vkey);
  const verified = embassy(['proof', 'verify', '--vkey', vkey, bundleFile, '--json']);
  assert.equal(verified.status, 0, verified.stderr);
  // A tampered bundle does not verify.
  const bad = structuredClone(got.body.proof);
  bad.statement.records += 1;
  writeFileSync(bundleFile, JSON.stringify(bad));
  assert.equal(embassy(['proof', 'verify', '--vkey', vkey, bundleFile]).status, EXIT.INTEGRITY);

  // Refusals, each a problem, with nothing of the record in it.
  const bsnUrl = await call(port, ca, 'GET', `/api/v1/datasets/${PERSONS}/records/${person.burgerservicenummer}`, token);
  assert.equal(bsnUrl.status, 400);
  assert.equal(bsnUrl.headers['content-type'], 'application/problem+json');
  assert.match(bsnUrl.body.detail, /personal identifiers do not belong in URLs/);
  const scoped = await call(port, ca, 'POST', `/api/v1/datasets/${PERSONS}/records/get`, outsider, { key: person.burgerservicenummer });
  assert.equal(scoped.status, 403);
  assert.match(scoped.body.type, /auth\.forbidden$/);
  assert.equal(scoped.body.detail.includes(person.naam.geslachtsnaam), false);
  const anonymous = await call(port, ca, 'POST', `/api/v1/datasets/${PERSONS}/records/get`, undefined, { key: person.burgerservicenummer });
  assert.equal(anonymous.status, 401);
  assert.match(String(anonymous.headers['www-authenticate']), /^Bearer/);

  // A version sealed by `embassy ingest` in another process is served after the catalog reloads.
  const changes = join(tmp, 'day2.ndjson');
  writeFileSync(changes, JSON.stringify({ op: 'delete', key: person.burgerservicenummer }) + '\n');
  const v3 = embassy(['ingest', '--dir', home.dir, '--dataset', PERSONS, changes, '--changes', '--source-time', '2026-11-30T06:00:00Z', '--json']);
  assert.equal(v3.status, 0, v3.stderr);
  await access.refresh();
  const gone = await call(port, ca, 'POST', `/api/v1/datasets/${PERSONS}/records/get`, token, { key: person.burgerservicenummer });
  assert.equal(gone.status, 404);
  const before = await call(port, ca, 'POST', `/api/v1/datasets/${PERSONS}/records/get`, token, { key: person.burgerservicenummer, at: '2026-11-29T12:00:00Z', proof: true });
  assert.equal(before.status, 200);
  assert.equal(before.body.version, 2);

  // The journal: one line per read after authentication (the 401 is not one), in order.
  const lines = readFileSync(join(home.dir, JOURNAL_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.op, l.status, l.keys]),
    [
      ['records.get', 200, [person.burgerservicenummer]],
      ['records.get', 403, [person.burgerservicenummer]],
      ['records.get', 404, [person.burgerservicenummer]],
      ['records.get', 200, [person.burgerservicenummer]],
    ],
  );
  assert.ok(lines.every((l) => l.client === 'gemeente-utrecht' && l.activation === 'home'));
});
