// Done-when of issue 5 for activation, end to end with real processes: a home and two mirrors
// (`embassy serve`, mutual TLS, the serving API on HTTPS); a key ceremony at the home; ingest;
// receipts; the home stopped; custodians submit shares one by one with `embassy activate`; a
// client with a token reads a record with a proof that `embassy proof verify` accepts offline;
// `embassy deactivate`; reads refused. Each refusal is checked: wrong passphrase, a share of
// another home's ceremony, M−1 shares, an expired activation, a token outside its scope, a BSN in
// a URL. The activation is in the mirror's log, cosigned by the other mirror; a restarted active
// mirror comes back inactive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CUSTODIAN_PASS_ENV, apiRequest, holdCeremony, logSize, makeFederation, ok, ownLogStatements, receiptSizes, startNode, waitFor, writeSnapshot, type FedSite } from '../support/federation.ts';
import { embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { OWN_LOG_COSIGNATURES_FILE } from '../../src/federation/own-log.ts';
import { readFileSync } from 'node:fs';

const DS = 'nl.test.personen';
const OTHER = 'nl.test.adressen';
function activate(mirror: FedSite, share: string, env: string, extra: string[] = []) {
  return embassy(['activate', '--dir', mirror.dir, '--share', share, '--passphrase-env', env, ...extra], { env: CUSTODIAN_PASS_ENV });
}

test('activation of a mirror while its home is gone: shares one by one, reads with proofs, deactivation, refusals', { timeout: 300_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: 'den-haag', role: 'home' },
    { name: 'groningen', role: 'mirror' },
    { name: 'luxembourg', role: 'mirror' },
  ]);
  const home = fed.get('den-haag')!;
  const lux = fed.get('luxembourg')!;
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  ok(['dataset', 'add', '--dir', home.dir, '--id', OTHER, '--key', 'bsn']);
  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v1.ndjson'), 400, 1)]);
  ok(['ingest', '--dir', home.dir, '--dataset', OTHER, writeSnapshot(join(tmp, 'o1.ndjson'), 50, 1)]);
  const shares = join(tmp, 'shares');
  holdCeremony(home.dir, shares);
  const share = (n: number) => join(shares, `custodian-${n}.share`);

  // Another home's ceremony: its shares open with their passphrase, but are not this home's.
  const elders = join(tmp, 'elders');
  ok(['init', '--dir', elders, '--name', 'elders', '--role', 'home', '--origin', 'elders.example/embassy']);
  const foreign = join(tmp, 'foreign-shares');
  holdCeremony(elders, foreign);

  const flags = ['--poll-interval', '1', '--scrub-interval', '0', '--peer-reload', '1', '--home-probe-timeout', '1'];
  const gro = await startNode(t, fed.get('groningen')!, [...flags, '--api-listen', '127.0.0.1:0']);
  let luxNode = await startNode(t, lux, [...flags, '--api-listen', '127.0.0.1:0']);
  const homeNode = await startNode(t, home, flags);
  assert.ok(luxNode.info.api && luxNode.info.admin, JSON.stringify(luxNode.info));

  const want = logSize(home.dir);
  await waitFor('receipts from both mirrors', 90_000, () => {
    const r = receiptSizes(home.dir);
    return (r.get('groningen') === want && r.get('luxembourg') === want) || undefined;
  });

  // The mirror knows the home's custody from its copy of the home log.
  const atHome = JSON.parse(ok(['custody', 'show', '--dir', home.dir, '--json']).stdout);
  const atMirror = JSON.parse(ok(['custody', 'show', '--dir', lux.dir, '--json']).stdout);
  assert.equal(atMirror.kekFingerprint, atHome.kekFingerprint);
  assert.equal(atMirror.threshold, 2);

  const token = JSON.parse(ok(['token', 'issue', '--dir', lux.dir, '--client', 'gemeente-test', '--datasets', DS, '--json']).stdout).token as string;
  const get = (key: string, proof = false, tok = token, dataset = DS) =>
    apiRequest(lux, luxNode.info.api!, 'POST', `/api/v1/datasets/${dataset}/records/get`, { token: tok, body: { key, ...(proof ? { proof: true } : {}) } });

  // While the home answers, a (non-drill) activation is refused.
  const early = activate(lux, share(1), 'PASS_CUSTODIAN_1');
  assert.equal(early.status, 8, early.stderr);
  assert.match(early.stderr, /still answers/);

  assert.equal(await homeNode.stop(), 0);

  // Refusals before anything is served.
  const wrongPass = activate(lux, share(1), 'PASS_CUSTODIAN_2');
  assert.equal(wrongPass.status, 5, wrongPass.stderr);
  assert.match(wrongPass.stderr, /does not open/);
  const wrongShare = activate(lux, join(foreign, 'custodian-1.share'), 'PASS_CUSTODIAN_1');
  assert.equal(wrongShare.status, 5, wrongShare.stderr);
  assert.match(wrongShare.stderr, /not follow|another|not the one/);

  const before = await get('100000007');
  assert.equal(before.status, 503);
  assert.equal(before.contentType, 'application/problem+json');

  // M−1 shares: still nothing served.
  const first = activate(lux, share(1), 'PASS_CUSTODIAN_1', ['--reason', 'den-haag datacenter unreachable']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^share accepted: custodian-1 \(1 of 2\)/);
  assert.equal((await get('100000007')).status, 503);
  const st = embassy(['activation', 'status', '--dir', lux.dir, '--json']);
  assert.equal(st.json().state, 'collecting');

  const second = activate(lux, share(3), 'PASS_CUSTODIAN_3');
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /^activated: \S+, serving nl\.test\.personen, nl\.test\.adressen until /);

  // A record with its proof; the proof checks offline against the home's key.
  const answer = await get('100000007', true);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  assert.equal(answer.json.record.value.naam, 'Persoon 7');
  const bundle = join(tmp, 'bundle.json');
  writeFileSync(bundle, JSON.stringify(answer.json.proof));
  const vkey = JSON.parse(readFileSync(home.card, 'utf8')).logVerifierKey as string;
  const verified = embassy(['proof', 'verify', '--vkey', vkey, bundle, '--json']);
  assert.equal(verified.status, 0, verified.stderr);
  assert.equal(verified.json().record.key, '100000007');

  // Out of the token's scope, and a BSN in a URL.
  const outside = await get('100000001', false, token, OTHER);
  assert.equal(outside.status, 403);
  assert.equal(outside.contentType, 'application/problem+json');
  const inUrl = await apiRequest(lux, luxNode.info.api!, 'GET', `/api/v1/datasets/${DS}/records/999993653`, { token });
  assert.equal(inUrl.status, 400);
  assert.equal(inUrl.contentType, 'application/problem+json');
  const noToken = await apiRequest(lux, luxNode.info.api!, 'POST', `/api/v1/datasets/${DS}/records/get`, { body: { key: '100000007' } });
  assert.equal(noToken.status, 401);

  // The activation is in the mirror's own log; the other mirror cosigns it.
  const log1 = await ownLogStatements(lux.dir);
  const act = log1.find((e) => e.statement.type === 'activation')!;
  assert.deepEqual(act.statement.custodians, ['custodian-1', 'custodian-3']);
  assert.equal(act.statement.drill, false);
  assert.equal(act.statement.readOnly, true);
  assert.equal(act.statement.reason, 'den-haag datacenter unreachable');
  const refused = log1.filter((e) => e.statement.type === 'activation-share' && !e.statement.accepted).map((e) => e.statement.reason);
  assert.ok(refused.includes('activation.conflict') && refused.includes('custody.wrong-share'), JSON.stringify(refused));
  await waitFor('groningen cosigns the activation', 30_000, () => (receiptSizes(lux.dir, OWN_LOG_COSIGNATURES_FILE).get('groningen') ?? 0n) > act.index || undefined);

  // Deactivation: keys wiped, reads refused.
  const off = embassy(['deactivate', '--dir', lux.dir]);
  assert.equal(off.status, 0, off.stderr);
  assert.match(off.stdout, /^deactivated: /);
  const after = await get('100000007');
  assert.equal(after.status, 503);
  assert.equal(after.contentType, 'application/problem+json');
  const log2 = await ownLogStatements(lux.dir);
  const deact = log2.filter((e) => e.statement.type === 'deactivation').at(-1)!.statement;
  assert.equal(deact.reason, 'operator');
  assert.ok(deact.journal.seq >= 4, 'the journal head counts the reads (and refusals) of the activation');

  // An expired activation serves nothing.
  assert.equal(activate(lux, share(2), 'PASS_CUSTODIAN_2', ['--duration', '3s']).status, 0);
  const short = activate(lux, share(1), 'PASS_CUSTODIAN_1');
  assert.equal(short.status, 0, short.stderr);
  await waitFor('the short activation to expire', 20_000, async () => (await get('100000007')).status === 503 || undefined);
  await waitFor('the expiry statement', 10_000, async () => (await ownLogStatements(lux.dir)).at(-1)?.statement.reason === 'expired' || undefined);

  // A restart of an active mirror comes back inactive, and its log says why.
  assert.equal(activate(lux, share(2), 'PASS_CUSTODIAN_2').status, 0);
  assert.equal(activate(lux, share(3), 'PASS_CUSTODIAN_3').status, 0);
  assert.equal((await get('100000007')).status, 200);
  luxNode.child.kill('SIGKILL');
  await luxNode.exit;
  luxNode = await startNode(t, lux, [...flags, '--api-listen', '127.0.0.1:0']);
  assert.equal((await get('100000007')).status, 503);
  const last = (await ownLogStatements(lux.dir)).at(-1)!.statement;
  assert.equal(last.type, 'deactivation');
  assert.equal(last.reason, 'restart');
  assert.equal(embassy(['activation', 'status', '--dir', lux.dir, '--json']).json().state, 'inactive');

  // Without a node: a clear site error.
  assert.equal(await luxNode.stop(), 0);
  const none = embassy(['activation', 'status', '--dir', lux.dir]);
  assert.equal(none.status, 4, none.stderr);
  assert.match(none.stderr, /not running/);
  assert.equal(await gro.stop(), 0);
  for (const n of [gro, luxNode]) assert.doesNotMatch(n.stderr(), /PRIVATE KEY|passphrase for|emb_/i);
});
