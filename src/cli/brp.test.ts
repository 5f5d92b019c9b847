// `embassy brp import`: converts the mock persons to NDJSON; refuses (writing nothing) when a
// person cannot be converted unless --skip-invalid, which lists the skipped ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMain } from '../../test/support/run-main.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { EXIT } from './exit-codes.ts';
import { BRP_MOCK_FILE, skipUnlessBrp } from '../brp/testing.ts';

test('brp import converts every mock person', { skip: skipUnlessBrp }, async (t) => {
  const out = join(tempDir(t), 'persons.ndjson');
  const r = await runMain(['brp', 'import', '--in', BRP_MOCK_FILE, '--out', out, '--json']);
  assert.equal(r.code, EXIT.OK, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.persons, 1176);
  assert.deepEqual(summary.skipped, []);
  assert.deepEqual(summary.datasetAdd.slice(0, 6), ['dataset', 'add', '--dir', '<dir>', '--id', 'nl.brp.personen']);
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 1176);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.burgerservicenummer, '000009830');
  assert.equal(first.verblijfplaats.verblijfadres.huisnummer, 144);
});

test('brp import refuses a file with an unconvertible person and writes nothing', async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'mock.json');
  const out = join(dir, 'persons.ndjson');
  writeFileSync(input, JSON.stringify([{ burgerservicenummer: '000000012', geboorte: { datum: '19751307' } }, { burgerservicenummer: '000000024' }]));
  const r = await runMain(['brp', 'import', '--in', input, '--out', out, '--json']);
  assert.equal(r.code, EXIT.INPUT);
  const err = JSON.parse(r.stderr).error;
  assert.equal(err.code, 'input.malformed');
  assert.match(err.message, /1 of 2 persons cannot be converted: .*person 1 \(burgerservicenummer 000000012\)/);
  assert.equal(existsSync(out), false);

  const skip = await runMain(['brp', 'import', '--in', input, '--out', out, '--skip-invalid', '--json']);
  assert.equal(skip.code, EXIT.OK, skip.stderr);
  assert.equal(JSON.parse(skip.stdout).skipped[0].burgerservicenummer, '000000012');
  assert.match(skip.stderr, /skipped .*000000012/);
  assert.equal(readFileSync(out, 'utf8').trimEnd().split('\n').length, 1);
});

test('brp import: a missing or non-JSON input is an input error', async (t) => {
  const dir = tempDir(t);
  assert.equal((await runMain(['brp', 'import', '--in', join(dir, 'none.json'), '--out', join(dir, 'o')])).code, EXIT.INPUT);
  writeFileSync(join(dir, 'bad.json'), '{not json');
  assert.equal((await runMain(['brp', 'import', '--in', join(dir, 'bad.json'), '--out', join(dir, 'o')])).code, EXIT.INPUT);
  writeFileSync(join(dir, 'obj.json'), '{}');
  assert.equal((await runMain(['brp', 'import', '--in', join(dir, 'obj.json'), '--out', join(dir, 'o')])).code, EXIT.INPUT);
});
