// Test support for the serving API: a real home made by the real CLI (generated persons, two
// versions with different source times, an index on postcode and house number), a response
// validator built from the served OpenAPI document, and a logger that keeps every line.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import pino from 'pino';
import { embassy } from '../../test/support/cli.ts';

export const PERSONS = 'nl.brp.personen';
export const POSTCODE_INDEX = ['verblijfplaats.verblijfadres.postcode', 'verblijfplaats.verblijfadres.huisnummer'];
export const V1_TIME = '2026-11-28T06:00:00Z';
export const V2_TIME = '2026-11-29T06:00:00Z';

export interface TestHome {
  dir: string;
  vkey: string;
  /** The day-0 persons, parsed. */
  persons: Record<string, any>[];
}

function ok(r: ReturnType<typeof embassy>): ReturnType<typeof embassy> {
  assert.equal(r.status, 0, r.stderr);
  return r;
}

/** A home with `count` generated persons in version 1 and a 5 % change in version 2. */
export function makeHome(tmp: string, count = 400): TestHome {
  const dir = join(tmp, 'home');
  const vkey = ok(embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home', '--json'])).json().logVerifierKey as string;
  ok(embassy(['dataset', 'add', '--dir', dir, '--id', PERSONS, '--key', 'burgerservicenummer', '--index', POSTCODE_INDEX.join(','), '--index', 'geboorte.datum.datum', '--json']));
  const day0 = join(tmp, 'persons-0.ndjson');
  const day1 = join(tmp, 'persons-1.ndjson');
  ok(embassy(['generate', '--kind', 'persons', '--count', String(count), '--seed', '1', '--out', day0]));
  ok(embassy(['generate', '--kind', 'persons', '--count', String(count), '--seed', '1', '--mutate', '--fraction', '0.05', '--day', '1', '--out', day1]));
  ok(embassy(['ingest', '--dir', dir, '--dataset', PERSONS, day0, '--source-time', V1_TIME, '--json']));
  ok(embassy(['ingest', '--dir', dir, '--dataset', PERSONS, day1, '--changes', '--source-time', V2_TIME, '--json']));
  const persons = readFileSync(day0, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return { dir, vkey, persons };
}

/** Validates responses against the OpenAPI document: by path template, method and status. */
export function openApiValidator(doc: any): (path: string, method: string, status: number, contentType: string, body: unknown) => void {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: its default export is the function under ESM interop.
  const addFormats = addFormatsModule as unknown as (a: Ajv) => void;
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi');
  return (path, method, status, contentType, body) => {
    const op = doc.paths[path]?.[method.toLowerCase()];
    assert.ok(op, `openapi: no operation ${method} ${path}`);
    let res = op.responses[String(status)];
    assert.ok(res, `openapi: ${method} ${path} does not declare status ${status}`);
    if (res.$ref) res = doc.components.responses[res.$ref.split('/').pop()];
    const media = contentType.split(';')[0]!.trim();
    const content = res.content?.[media];
    assert.ok(content, `openapi: ${method} ${path} ${status} does not declare ${media}`);
    const schema = content.schema.$ref ? { $ref: `openapi${content.schema.$ref}` } : content.schema;
    const validate = ajv.compile(schema);
    assert.ok(validate(body), `openapi: ${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`);
  };
}

/** A pino logger at trace level whose every line is kept in `lines`. */
export function capturingLogger(): { logger: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => chunks.join('') };
}

export function writeJson(path: string, v: unknown): void {
  writeFileSync(path, JSON.stringify(v));
}
