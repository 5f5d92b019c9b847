// Done-when of issue 5 for drills, end to end with real processes: with the home up, `embassy
// drill` on a mirror rebuilds the KEK from custodians' shares, verifies sample answers with proofs
// and every node of the newest versions, logs a signed drill statement (cosigned by the other
// mirror), deactivates, and writes a readable HTML report with the RTO figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CUSTODIAN_PASS_ENV, holdCeremony, logSize, makeFederation, ok, ownLogStatements, receiptSizes, startNode, waitFor, writeSnapshot } from '../support/federation.ts';
import { embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';

const DS = 'nl.test.personen';

test('a drill on a mirror with the home up: verified answers, full verification, signed statement, HTML report', { timeout: 240_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: 'den-haag', role: 'home' },
    { name: 'groningen', role: 'mirror' },
    { name: 'luxembourg', role: 'mirror' },
  ]);
  const home = fed.get('den-haag')!;
  const gro = fed.get('groningen')!;
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v1.ndjson'), 1500, 1)]);
  const shares = join(tmp, 'shares');
  holdCeremony(home.dir, shares);

  const flags = ['--poll-interval', '1', '--scrub-interval', '0', '--peer-reload', '1'];
  const nodes = [await startNode(t, gro, flags), await startNode(t, fed.get('luxembourg')!, flags), await startNode(t, home, flags)];
  const want = logSize(home.dir);
  await waitFor('groningen holds everything', 90_000, () => receiptSizes(home.dir).get('groningen') === want || undefined);

  // One custodian short: the drill does not run.
  const short = embassy(['drill', '--dir', gro.dir, '--share', join(shares, 'custodian-2.share'), '--passphrase-env', 'PASS_'], { env: CUSTODIAN_PASS_ENV });
  assert.equal(short.status, 5, short.stderr);
  assert.equal(embassy(['deactivate', '--dir', gro.dir]).status, 0, 'the open collection is dropped');

  const report = join(tmp, 'drill.html');
  const r = embassy(['drill', '--dir', gro.dir, '--share', join(shares, 'custodian-2.share'), '--share', join(shares, 'custodian-3.share'), '--passphrase-env', 'PASS_', '--report', report, '--json'], { env: CUSTODIAN_PASS_ENV });
  assert.equal(r.status, 0, r.stderr);
  const out = r.json();
  assert.equal(out.statement.ok, true, JSON.stringify(out.statement));
  assert.equal(out.statement.datasets[0].dataset, DS);
  assert.equal(out.statement.datasets[0].records, 1500);
  assert.equal(out.statement.datasets[0].commitmentOk, true);
  assert.ok(out.statement.datasets[0].objects > 1);
  assert.ok(out.statement.samples >= 1);
  assert.ok(Number.isInteger(out.statement.rto.firstVerifiedAnswerMs));
  assert.ok(out.statement.rto.fullVerificationMs >= out.statement.rto.firstVerifiedAnswerMs);
  assert.equal(out.activation.drill, true);
  assert.deepEqual(out.activation.custodians, ['custodian-2', 'custodian-3']);
  assert.equal(out.report, report);

  // The log: activation, drill, deactivation (drill-complete), in that order.
  const log = await ownLogStatements(gro.dir);
  const types = log.map((e) => e.statement.type === 'deactivation' ? `deactivation:${e.statement.reason}` : e.statement.type);
  assert.deepEqual(types.slice(-3), ['activation', 'drill', 'deactivation:drill-complete']);
  const drill = log.find((e) => e.statement.type === 'drill')!;
  assert.equal(String(drill.index), out.logIndex);
  assert.deepEqual(drill.statement, out.statement);
  assert.equal(embassy(['activation', 'status', '--dir', gro.dir, '--json']).json().state, 'inactive');

  // The HTML report: self-contained, with the figures and the evidence.
  assert.ok(existsSync(report));
  const html = readFileSync(report, 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /Passed/);
  assert.match(html, new RegExp(`${out.statement.rto.firstVerifiedAnswerMs} ms|\\d+\\.\\d\\d s`));
  assert.match(html, /nl\.test\.personen/);
  assert.match(html, /custodian-2, custodian-3/);
  assert.ok(html.includes(out.checkpoint.split('\n')[0]), 'the checkpoint note is in the report');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!data-embassy\.example)/);
  if (out.cosignatures.length > 0) assert.equal(out.cosignatures[0].site, 'luxembourg');

  // Without --report: <dir>/drills/<id>.html, and the text summary.
  const again = embassy(['drill', '--dir', gro.dir, '--share', join(shares, 'custodian-1.share'), '--share', join(shares, 'custodian-3.share'), '--passphrase-env', 'PASS_'], { env: CUSTODIAN_PASS_ENV });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^drill \S+ at groningen for home den-haag: passed/);
  assert.match(again.stdout, /first verified answer \d+ ms, full verification \d+ ms/);
  const id = /^drill (\S+)/.exec(again.stdout)![1]!;
  assert.ok(existsSync(join(gro.dir, 'drills', `${id}.html`)));

  for (const n of nodes) assert.equal(await n.stop(), 0);
});
