// Done-when of the replication issue, end to end: a home, two mirrors and a witness run as
// separate `embassy serve` processes on 127.0.0.1 with mutual TLS. The home ingests; the mirrors
// follow (notified, and polling), fetch and verify every object without keys, and return
// receipts; the witness cosigns after checking consistency. The test ends with a quorum of
// receipts for the newest version, each verified as a C2SP cosignature under its mirror's key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFederation, ok, startNode, waitFor, writeSnapshot } from '../support/federation.ts';
import { embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { parseSiteCard } from '../../src/net/card.ts';
import { openNote, parseNote, parseVerifierKey } from '../../src/log/note.ts';
import { cosignatureNoteVerifier, verifyCosignature } from '../../src/log/cosignature.ts';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import { ReceiptStore, RECEIPTS_FILE } from '../../src/federation/receipt-store.ts';

const DS = 'nl.test.personen';

function homeSize(dir: string): bigint {
  return BigInt(readFileSync(join(dir, 'log', 'checkpoint'), 'utf8').split('\n')[1]!);
}

function receiptsAt(dir: string): Map<string, { size: bigint; kind: string; note: string }> {
  const store = ReceiptStore.open(join(dir, RECEIPTS_FILE));
  try {
    return new Map(store.all().map((r) => [r.site, r]));
  } finally {
    store.close();
  }
}

test('home, two mirrors and a witness as processes: receipts for the newest version reach quorum', { timeout: 180_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: 'den-haag', role: 'home', lat: 52.0705, lon: 4.3007, jurisdiction: 'NL', risk: ['nl', 'north-sea-flood'] },
    { name: 'groningen', role: 'mirror', lat: 53.2194, lon: 6.5665, jurisdiction: 'NL', risk: ['nl', 'north-sea-flood'] },
    { name: 'luxembourg', role: 'mirror', lat: 49.6116, lon: 6.1319, jurisdiction: 'LU', risk: ['eu-central'] },
    { name: 'auditor', role: 'witness', lat: 50.8503, lon: 4.3517, jurisdiction: 'BE' },
  ]);
  const home = fed.get('den-haag')!;
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn', '--rpo-target', '3600']);
  ok(['policy', 'set', '--dir', home.dir, '--dataset', DS, '--quorum', '2', '--of', 'groningen,luxembourg', '--min-copies', '2', '--min-distance-km', '250', '--foreign-jurisdiction', '--distinct-risk']);
  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v1.ndjson'), 3000, 1)]);

  const nodes = [];
  for (const name of ['auditor', 'groningen', 'luxembourg', 'den-haag']) {
    nodes.push(await startNode(t, fed.get(name)!, ['--poll-interval', '1', '--scrub-interval', '0', '--peer-reload', '1']));
  }

  // Every mirror and the witness reach the home's size.
  const want1 = homeSize(home.dir);
  await waitFor('receipts for version 1', 60_000, () => {
    const r = receiptsAt(home.dir);
    return ['groningen', 'luxembourg', 'auditor'].every((s) => r.get(s)?.size === want1) || undefined;
  });

  // A second version while everything runs: the home notifies; receipts follow.
  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v2.ndjson'), 3000, 2)]);
  const want2 = homeSize(home.dir);
  assert.ok(want2 > want1);
  const receipts = await waitFor('receipts for version 2', 60_000, () => {
    const r = receiptsAt(home.dir);
    return ['groningen', 'luxembourg', 'auditor'].every((s) => r.get(s)?.size === want2) ? r : undefined;
  });

  // Each receipt verifies as a C2SP tlog-cosignature/v1 under the mirror's key from its card,
  // over the home checkpoint signed by the home's log key.
  const homeCard = parseSiteCard(readFileSync(home.card));
  const homeKey = parseVerifierKey(homeCard.logVerifierKey);
  for (const name of ['groningen', 'luxembourg', 'auditor']) {
    const card = parseSiteCard(readFileSync(fed.get(name)!.card));
    const vk = parseVerifierKey(card.cosignVerifierKey);
    const cosigner = cosignatureNoteVerifier(vk.name, vk.publicKey);
    const note = receipts.get(name)!.note;
    const opened = openNote(note, [homeKey, cosigner]);
    assert.equal(opened.verified.length, 2, `${name}: both signatures verify`);
    const sig = opened.verified.find((s) => s.name === vk.name)!;
    const { timestamp } = verifyCosignature(opened.text, sig, cosigner);
    assert.ok(timestamp > 0n);
    assert.equal(parseCheckpoint(parseNote(note).text).size, want2);
    // A receipt by one mirror does not verify under another's key.
    const other = parseSiteCard(readFileSync(fed.get(name === 'groningen' ? 'luxembourg' : 'groningen')!.card));
    const ovk = parseVerifierKey(other.cosignVerifierKey);
    assert.throws(() => verifyCosignature(opened.text, sig, cosignatureNoteVerifier(ovk.name, ovk.publicKey)));
  }

  // The home's status: the newest version is durable by quorum, every placement rule holds.
  const status = embassy(['status', '--dir', home.dir, '--json']);
  assert.equal(status.status, 0, status.stdout + status.stderr);
  const report = status.json();
  const ds = report.datasets.find((d: { dataset: string }) => d.dataset === DS);
  assert.equal(ds.newestVersion, 2);
  assert.equal(ds.quorum.met, true);
  assert.deepEqual([...ds.quorum.holdingNewest].sort(), ['groningen', 'luxembourg']);
  assert.equal(ds.quorum.durableVersion, 2);
  assert.ok(ds.rules.every((r: { met: boolean }) => r.met), JSON.stringify(ds.rules));
  const text = embassy(['status', '--dir', home.dir]).stdout;
  assert.match(text, /groningen/);
  assert.match(text, /luxembourg/);

  // Each mirror's own status agrees, and its objects are ciphertext it cannot read: no key file.
  for (const name of ['groningen', 'luxembourg']) {
    const m = embassy(['status', '--dir', fed.get(name)!.dir, '--json']);
    assert.equal(m.status, 0, m.stdout + m.stderr);
    assert.equal(m.json().homes[0].receiptSize, String(want2));
    assert.equal(embassy(['get', '--dir', fed.get(name)!.dir, '--dataset', DS, '100000001']).status !== 0, true);
  }

  for (const n of nodes.reverse()) assert.equal(await n.stop(), 0);
  for (const n of nodes) assert.doesNotMatch(n.stderr(), /PRIVATE KEY|kek/i);
});
