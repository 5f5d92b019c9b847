// End to end through the real CLI: init, statement add, log verify, and the error paths
// (bad lines with their line numbers, nothing appended; tampering found; exit codes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';

function ndjson(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ type: 'test.note', n: from + i, text: 'é'.repeat(i % 50) })).join('\n') + '\n';
}

test('init creates a site with owner-only keys and prints origin and verifier key', (t) => {
  const dir = join(tempDir(t), 'site');
  const r = embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = r.json();
  assert.equal(out.origin, 'data-embassy.example/den-haag');
  assert.match(out.logVerifierKey, /^data-embassy\.example\/den-haag\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
  assert.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700);
  for (const f of readdirSync(join(dir, 'keys'))) assert.equal(statSync(join(dir, 'keys', f)).mode & 0o777, 0o600, f);
  assert.ok(!r.stdout.includes('PRIVATE'), 'no private key on stdout');
  assert.equal(embassy(['log', 'verify', '--dir', dir]).status, 0);

  const again = embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home']);
  assert.equal(again.status, EXIT.SITE);
  assert.match(again.stderr, /exists/);
  assert.equal(embassy(['init', '--dir', join(dir, 'x'), '--name', 'Bad Name', '--role', 'home']).status, EXIT.USAGE);
  assert.equal(embassy(['init', '--dir', join(dir, 'y'), '--name', 'ok', '--role', 'king']).status, EXIT.USAGE);
});

test('statement add appends all lines, and log verify passes', (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 'site');
  assert.equal(embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home']).status, 0);
  let total = 0;
  for (const count of [1, 255, 300, 57]) {
    const file = join(tmp, `s${total}.ndjson`);
    writeFileSync(file, ndjson(total, count));
    const r = embassy(['statement', 'add', '--dir', dir, file, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json().firstIndex, total);
    total += count;
    assert.equal(r.json().size, total);
  }
  const v = embassy(['log', 'verify', '--dir', dir, '--json']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(v.json().ok, true);
  assert.equal(v.json().size, total);
});

const BAD_LINES: [string, string, RegExp][] = [
  ['not json', '{"type":"a"', /:3: /],
  ['no type', '{"n":1}', /:3: .*type/],
  ['type not a string', '{"type":5}', /:3: .*type/],
  ['an array', '[1,2]', /:3: .*object/],
  ['duplicate key', '{"type":"a","type":"b"}', /:3: /],
  ['too large', JSON.stringify({ type: 'a', text: 'x'.repeat(70_000) }), /:3: .*65535/],
  ['a reserved type', JSON.stringify({ type: 'version', dataset: 'x' }), /:3: .*reserved/],
];

for (const [what, line, message] of BAD_LINES) {
  test(`statement add refuses a file with a bad line (${what}), naming the line, and appends nothing`, (t) => {
    const tmp = tempDir(t);
    const dir = join(tmp, 'site');
    embassy(['init', '--dir', dir, '--name', 'home', '--role', 'home']);
    const file = join(tmp, 'bad.ndjson');
    writeFileSync(file, ndjson(0, 2) + line + '\n' + ndjson(2, 2));
    const before = readFileSync(join(dir, 'log', 'checkpoint'));
    const r = embassy(['statement', 'add', '--dir', dir, file]);
    assert.equal(r.status, EXIT.INPUT, r.stderr);
    assert.match(r.stderr, message);
    assert.ok(r.stderr.includes('bad.ndjson'), 'names the file');
    assert.deepEqual(readFileSync(join(dir, 'log', 'checkpoint')), before, 'checkpoint unchanged');
  });
}

test('statement add refuses invalid UTF-8 with its line number', (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 'site');
  embassy(['init', '--dir', dir, '--name', 'home', '--role', 'home']);
  const file = join(tmp, 'bad.ndjson');
  writeFileSync(file, Buffer.concat([Buffer.from(ndjson(0, 1)), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a])]));
  const r = embassy(['statement', 'add', '--dir', dir, file]);
  assert.equal(r.status, EXIT.INPUT);
  assert.match(r.stderr, /bad\.ndjson:2: not valid UTF-8/);
});

test('log verify reports tampering with exit 1, and a missing site with exit 4', (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 'site');
  embassy(['init', '--dir', dir, '--name', 'home', '--role', 'home']);
  writeFileSync(join(tmp, 's.ndjson'), ndjson(0, 20));
  assert.equal(embassy(['statement', 'add', '--dir', dir, join(tmp, 's.ndjson')]).status, 0);
  const bundle = join(dir, 'log', 'tile', 'entries', '000.p', '20');
  const bytes = readFileSync(bundle);
  bytes[10]! ^= 0x20;
  writeFileSync(bundle, bytes);
  const r = embassy(['log', 'verify', '--dir', dir, '--json']);
  assert.equal(r.status, EXIT.FINDINGS);
  assert.equal(r.json().ok, false);
  assert.ok(r.json().findings.length >= 1);
  assert.equal(embassy(['log', 'verify', '--dir', join(tmp, 'nowhere')]).status, EXIT.SITE);
});

test('--help lists the exit codes', () => {
  const r = embassy(['--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Exit codes:/);
});

test('the demo tells the whole story: seal, ceremony, receipts, changes, the home goes dark, activation, BRP lookup with proof, deactivation, drill', { timeout: 300_000 }, () => {
  const r = embassy(['demo', '--persons', '3000']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /persons v1: 3000 records/);
  assert.match(r.stdout, /shares: anna\.share, bram\.share, chantal\.share, daan\.share, eva\.share/);
  // The federation: a receipt from Willemstad and the home's status with every check met.
  assert.match(r.stdout, /The receipt from Willemstad/);
  assert.match(r.stdout, /— willemstad [A-Za-z0-9+/=]{90,}/);
  assert.match(r.stdout, /federation of den-haag .*✓ ok \(2 of 2 datasets ok\)/);
  assert.match(r.stdout, /tallinn .*\(0 entries behind\)/);
  assert.match(r.stdout, /all three mirrors have receipted the home log at size \d+ \(version 2 included\)/);
  assert.match(r.stdout, /den-haag: stopped/);
  // Three custodians, one by one; the third activates.
  assert.match(r.stdout, /share accepted: anna \(1 of 3\)/);
  assert.match(r.stdout, /share accepted: bram \(2 of 3\)/);
  assert.match(r.stdout, /activated: \S+, serving nl\.brp\.personen, nl\.bwb\.wetten until /);
  // The client: BRP API, a proof that verifies offline, a forgery and a BSN in a URL refused, the journal.
  assert.match(r.stdout, /→ 200 RaadpleegMetBurgerservicenummer: .+, born \d+ \w+ \d{4}/);
  assert.match(r.stdout, /verified: .* is in nl\.brp\.personen version 2 /);
  assert.match(r.stdout, /forged copy .* is refused \(exit 5\)/);
  assert.match(r.stdout, /a BSN in a URL is refused: 400 /);
  assert.match(r.stdout, /#1 gemeente-utrecht brp\.personen keys=\d{9} under activation /);
  // Deactivated: nothing served.
  assert.match(r.stdout, /deactivated: .*keys wiped/);
  assert.match(r.stdout, /GET \/api\/v1\/datasets → 503 /);
  // The drill report.
  assert.match(r.stdout, /drill \S+ at willemstad for home den-haag: passed/);
  assert.match(r.stdout, /first verified answer \d+ ms, full verification \d+ ms after the last share/);
  assert.match(r.stdout, /nl\.brp\.personen v2: 3\d{3} records, commitment ok/);
  assert.match(r.stdout, /activation-share → activation-share → activation-share → activation → .*deactivation/);
  assert.match(r.stdout, /cosigned by the other mirrors: (groningen|willemstad) \(size \d+\)/);
  assert.doesNotMatch(r.stdout, /FAIL/);
});
