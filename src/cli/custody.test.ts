// `embassy custody` end to end with real processes: a home with data, the ceremony (5 custodians,
// threshold 3, passphrases from the environment), reads and verification still working under the
// new KEK, show, check-share (right and wrong passphrase, against the log), rotate (passphrases
// from a directory; the old shares are no longer the logged ones), reshare (same KEK, new split),
// and the refusals: a second init, no terminal for the passphrase prompt, a short passphrase.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { embassy } from '../../test/support/cli.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { EXIT } from './exit-codes.ts';

const DS = 'nl.brp.personen';
const N = 5;
const names = Array.from({ length: N }, (_, i) => `custodian-${i + 1}`);
const passOf = (name: string, round: number) => `round ${round} passphrase of ${name}`;
const envFor = (round: number) => Object.fromEntries(names.map((n) => [`EMB_PASS_${n.toUpperCase().replace(/-/g, '_')}`, passOf(n, round)]));

function ok(args: string[], env?: NodeJS.ProcessEnv) {
  const r = embassy(args, env ? { env } : {});
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

test('custody ceremony, rotation and reshare through the real CLI', (t) => {
  const root = tempDir(t);
  const home = join(root, 'home');
  ok(['init', '--dir', home, '--name', 'den-haag', '--role', 'home']);
  ok(['dataset', 'add', '--dir', home, '--id', DS, '--key', 'bsn']);
  const data = join(root, 'p.ndjson');
  writeFileSync(data, Array.from({ length: 20 }, (_, i) => JSON.stringify({ bsn: `9990000${String(i).padStart(2, '0')}`, naam: `persoon ${i}` })).join('\n') + '\n');
  ok(['ingest', '--dir', home, '--dataset', DS, data, '--source-time', '2026-01-01T00:00:00Z']);
  const kekBefore = readFileSync(join(home, 'keys', 'kek.key'), 'utf8');

  // No passphrase source and no terminal: refused before anything happens.
  const noTty = embassy(['custody', 'init', '--dir', home, '--custodians', '5', '--threshold', '3', '--out', join(root, 'never'), '--kdf-cost', '14'], { input: '' });
  assert.equal(noTty.status, EXIT.USAGE, noTty.stderr);
  assert.match(noTty.stderr, /not a terminal/);
  // A short passphrase is refused, naming the custodian but not the passphrase.
  const short = embassy(['custody', 'init', '--dir', home, '--custodians', '5', '--threshold', '3', '--out', join(root, 'never'), '--passphrase-env', 'EMB_PASS_', '--kdf-cost', '14'], { env: { ...envFor(1), EMB_PASS_CUSTODIAN_4: 'too short' } });
  assert.equal(short.status, EXIT.USAGE);
  assert.match(short.stderr, /custodian-4.*at least 12/);
  assert.doesNotMatch(short.stderr, /too short/);
  assert.ok(!existsSync(join(root, 'never', 'custodian-1.share')));

  // The ceremony.
  const s1 = join(root, 'shares-1');
  const init = ok(['custody', 'init', '--dir', home, '--custodians', '5', '--threshold', '3', '--out', s1, '--passphrase-env', 'EMB_PASS_', '--kdf-cost', '14', '--json'], envFor(1)).json();
  assert.equal(init.epoch, 1);
  assert.equal(init.threshold, 3);
  assert.equal(init.kekChanged, true);
  assert.equal(init.rewrapped, 1);
  assert.deepEqual(init.custodians.map((c: { custodian: string }) => c.custodian), names);
  assert.notEqual(readFileSync(join(home, 'keys', 'kek.key'), 'utf8'), kekBefore, 'the KEK file changed');
  for (const n of names) assert.equal(JSON.parse(readFileSync(join(s1, `${n}.share`), 'utf8')).format, 'data-embassy/kek-share/v1');

  // Everything still reads and verifies under the new KEK.
  const got = ok(['get', '--dir', home, '--dataset', DS, '999000007', '--json']).json();
  assert.equal(JSON.stringify(got).includes('persoon 7'), true);
  assert.equal(ok(['verify', '--dir', home, '--json']).json().ok, true);
  assert.equal(ok(['log', 'verify', '--dir', home, '--json']).json().ok, true);

  const show = ok(['custody', 'show', '--dir', home, '--json']).json();
  assert.equal(show.epoch, 1);
  assert.equal(show.kekFingerprint, init.kekFingerprint);
  assert.equal(show.custodians.length, 5);
  assert.equal(show.kekFile, 'matches');

  // A custodian checks their share: with the right passphrase, against the log; the wrong one is refused.
  const env1 = envFor(1);
  const check = ok(['custody', 'check-share', '--share', join(s1, 'custodian-2.share'), '--passphrase-env', 'EMB_PASS_CUSTODIAN_2', '--dir', home, '--json'], env1).json();
  assert.deepEqual([check.custodian, check.epoch, check.kekFingerprint, check.home], ['custodian-2', 1, init.kekFingerprint, 'data-embassy.example/den-haag']);
  assert.equal(check.share, undefined);
  const wrong = embassy(['custody', 'check-share', '--share', join(s1, 'custodian-2.share'), '--passphrase-env', 'EMB_PASS_CUSTODIAN_3'], { env: env1 });
  assert.equal(wrong.status, EXIT.INTEGRITY);
  assert.match(wrong.stderr, /custodian-2\.share.*custodian-2/);
  assert.doesNotMatch(wrong.stderr + wrong.stdout, /passphrase of/);

  // A second init is refused: rotate is the way.
  const again = embassy(['custody', 'init', '--dir', home, '--custodians', '5', '--threshold', '3', '--out', join(root, 'again'), '--passphrase-env', 'EMB_PASS_', '--kdf-cost', '14'], { env: env1 });
  assert.equal(again.status, EXIT.USAGE);
  assert.match(again.stderr, /rotate/);

  // Rotate, passphrases from a directory; custodians and threshold as before.
  const passDir = join(root, 'pass');
  mkdirSync(passDir);
  for (const n of names) writeFileSync(join(passDir, `${n}.pass`), passOf(n, 2) + '\n');
  const s2 = join(root, 'shares-2');
  const rot = ok(['custody', 'rotate', '--dir', home, '--out', s2, '--passphrase-dir', passDir, '--kdf-cost', '14', '--json']).json();
  assert.equal(rot.epoch, 2);
  assert.equal(rot.kekChanged, true);
  assert.equal(rot.previousKekFingerprint, init.kekFingerprint);
  assert.equal(rot.threshold, 3);
  assert.equal(rot.custodians.length, 5);
  ok(['get', '--dir', home, '--dataset', DS, '999000003']);
  assert.equal(ok(['verify', '--dir', home, '--json']).json().ok, true);
  // The old share still opens with its passphrase, but it is no longer the logged one.
  const old = embassy(['custody', 'check-share', '--share', join(s1, 'custodian-1.share'), '--passphrase-env', 'EMB_PASS_CUSTODIAN_1', '--dir', home, '--json'], { env: env1 });
  assert.equal(old.status, EXIT.INTEGRITY);
  assert.equal(JSON.parse(old.stderr).error.code, 'custody.wrong-share');
  const pf = join(passDir, 'custodian-1.pass');
  ok(['custody', 'check-share', '--share', join(s2, 'custodian-1.share'), '--passphrase-file', pf, '--dir', home]);

  // Reshare: same KEK, three new custodians, two needed.
  const kekAfterRotate = readFileSync(join(home, 'keys', 'kek.key'), 'utf8');
  const s3 = join(root, 'shares-3');
  for (const n of ['ada', 'ben', 'cor']) writeFileSync(join(passDir, `${n}.pass`), `the passphrase of ${n}\n`);
  const re = ok(['custody', 'reshare', '--dir', home, '--names', 'ada,ben,cor', '--threshold', '2', '--out', s3, '--passphrase-dir', passDir, '--kdf-cost', '14', '--json']).json();
  assert.equal(re.epoch, 3);
  assert.equal(re.kekChanged, false);
  assert.equal(re.kekFingerprint, rot.kekFingerprint);
  assert.equal(re.rewrapped, 0);
  assert.equal(readFileSync(join(home, 'keys', 'kek.key'), 'utf8'), kekAfterRotate);
  assert.deepEqual(ok(['custody', 'show', '--dir', home, '--json']).json().custodians.map((c: { name: string }) => c.name), ['ada', 'ben', 'cor']);
  ok(['custody', 'check-share', '--share', join(s3, 'ben.share'), '--passphrase-file', join(passDir, 'ben.pass'), '--dir', home]);
  assert.equal(ok(['log', 'verify', '--dir', home, '--json']).json().ok, true);
});

test('custody show on a home without a ceremony, and ceremonies at a mirror, are refused', (t) => {
  const root = tempDir(t);
  ok(['init', '--dir', join(root, 'h'), '--name', 'den-haag', '--role', 'home']);
  ok(['init', '--dir', join(root, 'm'), '--name', 'groningen', '--role', 'mirror']);
  const none = embassy(['custody', 'show', '--dir', join(root, 'h'), '--json']);
  assert.equal(none.status, EXIT.SITE);
  assert.equal(JSON.parse(none.stderr).error.code, 'custody.none');
  const m = embassy(['custody', 'init', '--dir', join(root, 'm'), '--custodians', '3', '--threshold', '2', '--out', join(root, 's'), '--passphrase-env', 'X_']);
  assert.equal(m.status, EXIT.SITE);
  assert.match(m.stderr, /mirror/);
  const bad = embassy(['custody', 'init', '--dir', join(root, 'h'), '--custodians', '3', '--threshold', '4', '--out', join(root, 's'), '--passphrase-env', 'X_']);
  assert.equal(bad.status, EXIT.USAGE);
  const badName = embassy(['custody', 'init', '--dir', join(root, 'h'), '--custodians', '2', '--names', 'ok,Not-Ok', '--threshold', '2', '--out', join(root, 's'), '--passphrase-env', 'X_']);
  assert.equal(badName.status, EXIT.USAGE);
});
