// Fault test of the issue "a mirror's host flips, truncates or deletes stored bytes: the scrub
// finds it, the mirror re-fetches from a peer that has it, and it gives no receipt while the data
// is incomplete". Real processes: a home and two mirrors made with the CLI; mirror A (the victim)
// writes small packs so that damage hits a few packs among many. With A's node down its host
// flips a byte in one pack, truncates another and deletes a third. Then: `embassy scrub` finds
// and repairs (quarantine), and withholds receipts; a new home checkpoint A can see but not
// complete (a stand-in on the home's port serves the home's real log and objects except the lost
// ones, and mirror B is down) gets no receipt; with B's node up, one `embassy sync` fetches
// exactly the lost objects from B, and A receipts the newest checkpoint with a whole store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFederation, ok, startNode, writeSnapshot, type FedSite } from '../support/federation.ts';
import { embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { loadCatalog } from '../../src/catalog/catalog.ts';
import { openReceipt } from '../../src/federation/receipt.ts';
import { toHex } from '../../src/format/bytes.ts';
import { parseVerifierKey } from '../../src/log/note.ts';
import { parseSiteCard, type SiteCard } from '../../src/net/card.ts';
import { PeerClient } from '../../src/net/client.ts';
import { FsLogStore } from '../../src/store/fs-log-store.ts';
import { PACK_ENTRY_HEADER_SIZE, PACK_HEADER_SIZE, scanPack } from '../../src/store/pack-format.ts';
import { retainedRoots } from '../../src/sync/follow.ts';
import { embassyAsync, HomeStandIn, objectsServed, packFiles, storedIds } from './scrub-support.ts';

const DS = 'nl.test.personen';
const RECORDS = 6000;
/** Small enough for ~17 packs from one version of RECORDS records (~66 KB of objects). */
const PACK_SIZE = 4096;

function homeSize(dir: string): bigint {
  return BigInt(readFileSync(join(dir, 'log', 'checkpoint'), 'utf8').split('\n')[1]!);
}

function setPackSize(dir: string, bytes: number): void {
  const path = join(dir, 'site.json');
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), packSize: bytes }, null, 2) + '\n');
}

function followFile(site: FedSite, file: string): string {
  return readFileSync(join(site.dir, 'follow', 'home', file), 'utf8');
}

function followState(site: FedSite): { needsFullWalk: boolean; damage?: string } {
  return JSON.parse(followFile(site, 'state.json'));
}

function card(site: FedSite): SiteCard {
  return parseSiteCard(readFileSync(site.card));
}

/** The mirror's one pass for the home, from `embassy sync --json` (not blocking: the stand-in
 *  home answers from this process). */
async function syncPass(site: FedSite): Promise<{ exit: number | null; pass: any }> {
  const r = await embassyAsync(['sync', '--dir', site.dir, '--json']);
  assert.ok(r.status === 0 || r.status === 5 || r.status === 6, `sync ${site.name}: exit ${r.status}\n${r.stderr}`);
  const passes = r.json().passes;
  assert.equal(passes.length, 1);
  return { exit: r.status, pass: passes[0] };
}

async function metricsOf(client: PeerClient, peer: SiteCard): Promise<string> {
  const res = await client.request(peer, 'GET', 'metrics');
  assert.equal(res.status, 200);
  return new TextDecoder().decode(res.body);
}

test('host damage on a mirror: scrub finds and quarantines it, no receipt while incomplete, lost objects re-fetched from a peer', { timeout: 600_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: 'home', role: 'home' },
    { name: 'mirror-a', role: 'mirror' },
    { name: 'mirror-b', role: 'mirror' },
  ]);
  const home = fed.get('home')!;
  const a = fed.get('mirror-a')!;
  const b = fed.get('mirror-b')!;
  setPackSize(a.dir, PACK_SIZE);
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v1.ndjson'), RECORDS, 1)]);
  const size1 = homeSize(home.dir);

  // Both mirrors follow the home and receipt version 1.
  const homeNode = await startNode(t, home, ['--poll-interval', '60']);
  for (const m of [a, b]) {
    const { exit, pass } = await syncPass(m);
    assert.equal(exit, 0, JSON.stringify(pass));
    assert.equal(pass.status, 'receipted');
    assert.equal(pass.size, String(size1));
  }
  assert.equal(await homeNode.stop(), 0);
  const held = await storedIds(join(a.dir, 'objects'));
  assert.deepEqual(held, await storedIds(join(home.dir, 'objects')), 'A holds exactly the home objects');
  // Packs of several objects, so that each damaged one also holds good objects to salvage.
  const packs = packFiles(a.dir).filter((p) => scanPack(readFileSync(p.path)).entries.length >= 3);
  assert.ok(packs.length >= 6, `A wrote many packs (${packFiles(a.dir).length}, ${packs.length} of 3 objects or more)`);
  const receiptsBefore = followFile(a, 'receipts.jsonl');
  const receiptBefore = followFile(a, 'receipt');
  assert.equal(receiptsBefore.trim().split('\n').length, 1);

  // The host damages A's store: one byte flipped inside the first object of a pack, a pack cut
  // in half, a pack deleted.
  const [flipped, cut, deleted] = [packs[0]!, packs[2]!, packs[4]!];
  const flipBytes = readFileSync(flipped.path);
  const flippedObject = toHex(flipBytes.subarray(PACK_HEADER_SIZE, PACK_HEADER_SIZE + 32));
  flipBytes[PACK_HEADER_SIZE + PACK_ENTRY_HEADER_SIZE + 5]! ^= 0x01;
  writeFileSync(flipped.path, flipBytes);
  const cutBytes = readFileSync(cut.path).subarray(0, Math.floor(statSync(cut.path).size / 2));
  writeFileSync(cut.path, cutBytes);
  const deletedObjects = scanPack(readFileSync(deleted.path)).entries.map((e) => toHex(e.id));
  assert.ok(deletedObjects.length > 0);
  rmSync(deleted.path);

  // The scrub finds the damage, repairs the store and withholds receipts.
  const scrub = embassy(['scrub', '--dir', a.dir, '--json']);
  assert.equal(scrub.status, 1, scrub.stdout + scrub.stderr);
  const report = scrub.json();
  assert.equal(report.damaged, true);
  const kinds = (pack: string): string[] => report.findings.filter((f: { pack: string }) => f.pack === pack).map((f: { kind: string }) => f.kind);
  assert.ok(kinds(flipped.hex).includes('pack-hash-mismatch'), JSON.stringify(report.findings));
  assert.ok(
    report.findings.some((f: { kind: string; pack: string; object?: string }) => f.kind === 'object-hash-mismatch' && f.pack === flipped.hex && f.object === flippedObject),
    'the flipped object is named',
  );
  assert.ok(kinds(cut.hex).includes('pack-incomplete'), JSON.stringify(report.findings));
  assert.deepEqual([...report.repair.packsQuarantined].sort(), [flipped.hex, cut.hex].sort());
  const after = await storedIds(join(a.dir, 'objects'));
  const lost = new Set([...held].filter((id) => !after.has(id)));
  assert.ok([...after].every((id) => held.has(id)), 'the repair adds no object');
  assert.ok(lost.has(flippedObject), 'the flipped object is gone from the store');
  for (const id of deletedObjects) assert.ok(lost.has(id), `object ${id} of the deleted pack is gone from the store`);
  assert.ok(report.repair.objectsLost.length > 1, 'the cut pack lost objects too');
  for (const id of report.repair.objectsLost) assert.ok(lost.has(id), `reported lost ${id} is absent`);
  assert.equal(report.repair.objectsSalvaged > 0, true, 'good objects of the damaged packs were kept');
  assert.equal(report.homes.length, 1);
  const [h] = report.homes;
  assert.equal(h.home, 'home');
  assert.equal(h.needsFullWalk, true);
  assert.equal(h.versions, 1);
  assert.ok(h.missing > 0 && h.missing <= lost.size, `missing ${h.missing} of ${lost.size} lost`);
  assert.equal(followState(a).needsFullWalk, true);
  assert.match(followState(a).damage ?? '', /objects of retained versions missing/);

  // The damaged files are kept under quarantine/, byte for byte, and are out of packs/.
  const quarantine = join(a.dir, 'objects', 'quarantine');
  assert.deepEqual(readdirSync(quarantine).sort(), [`${flipped.hex}.pack`, `${cut.hex}.pack`].sort());
  assert.deepEqual(readFileSync(join(quarantine, `${flipped.hex}.pack`)), flipBytes);
  assert.deepEqual(readFileSync(join(quarantine, `${cut.hex}.pack`)), cutBytes);
  const live = new Set(packFiles(a.dir).map((p) => p.hex));
  assert.ok(!live.has(flipped.hex) && !live.has(cut.hex) && !live.has(deleted.hex));

  // A's status shows the receipts withheld.
  const text = embassy(['status', '--dir', a.dir]);
  assert.equal(text.status, 1, text.stdout + text.stderr);
  assert.match(text.stdout, /FAIL\s+receipts withheld/);

  // Nobody reachable: the pass is incomplete, nothing is receipted.
  {
    const { exit, pass } = await syncPass(a);
    assert.equal(exit, 6);
    assert.equal(pass.status, 'incomplete');
    assert.equal(followFile(a, 'receipts.jsonl'), receiptsBefore);
  }

  // A new version at the home (its CLI works without its node). The stand-in on the home's port
  // serves the home's real log and every object but the lost ones; B is down. A copies the new
  // checkpoint and fetches the new objects, but its old data stays incomplete: no receipt.
  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v2.ndjson'), RECORDS, 2)]);
  const size2 = homeSize(home.dir);
  assert.ok(size2 > size1);
  const standIn = await HomeStandIn.start({ dir: home.dir, port: home.port, withhold: lost });
  t.after(() => standIn.close());
  {
    const { exit, pass } = await syncPass(a);
    assert.equal(exit, 6, JSON.stringify(pass));
    assert.equal(pass.status, 'incomplete');
    assert.equal(pass.size, String(size2), 'A saw the new checkpoint');
    assert.equal(pass.graph.complete, false);
    assert.ok(pass.graph.fetched > 0, 'the new objects came from the home');
    assert.ok(pass.graph.missing.length > 0);
    for (const id of pass.graph.missing) assert.ok(lost.has(id), `missing ${id} is a lost object`);
    assert.ok(pass.graph.failures.some((f: { source: string }) => f.source === 'mirror-b'), 'B was asked and could not answer');
    assert.ok(standIn.withheld > 0);
  }
  assert.equal(followFile(a, 'receipts.jsonl'), receiptsBefore, 'no receipt line');
  assert.equal(followFile(a, 'receipt'), receiptBefore, 'the receipt is the old one');
  assert.deepEqual(standIn.receipts, [], 'no receipt sent to the home');
  assert.equal(followState(a).needsFullWalk, true);
  assert.equal(homeSize(join(a.dir, 'follow', 'home')), size2, "A's copy of the home log is at the new size");
  const status = embassy(['status', '--dir', a.dir, '--json']);
  assert.equal(status.status, 1, status.stdout + status.stderr);
  const sh = status.json().homes[0];
  assert.equal(sh.receiptsWithheld, true);
  assert.equal(sh.logSizeSeen, String(size2));
  assert.equal(sh.receiptSize, String(size1));

  // B's node comes up: A's next pass fetches exactly the lost objects from B (the home, asked
  // first, still lacks them), completes the full walk and receipts the newest checkpoint.
  const bNode = await startNode(t, b, ['--poll-interval', '60', '--scrub-interval', '0']);
  const client = new PeerClient({ keyPem: readFileSync(join(a.dir, 'keys', 'tls.key'), 'utf8'), certPem: readFileSync(join(a.dir, 'tls.crt'), 'utf8') });
  t.after(() => client.close());
  const servedBefore = objectsServed(await metricsOf(client, card(b)));
  {
    const { exit, pass } = await syncPass(a);
    assert.equal(exit, 0, JSON.stringify(pass));
    assert.equal(pass.status, 'receipted');
    assert.equal(pass.size, String(size2));
    assert.equal(pass.graph.complete, true);
    assert.deepEqual(pass.graph.missing, []);
  }
  const servedByB = objectsServed(await metricsOf(client, card(b))) - servedBefore;
  assert.equal(servedByB, lost.size, 'B served exactly the lost objects');
  assert.deepEqual(await storedIds(join(a.dir, 'objects')), await storedIds(join(home.dir, 'objects')), 'A holds every object of both versions again');
  assert.equal(followState(a).needsFullWalk, false);

  // The receipt: one new line, for the home's newest checkpoint, cosigned by A, sent to the home.
  const lines = followFile(a, 'receipts.jsonl').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[1]!).size, String(size2));
  const homeCard = card(home);
  const open = (note: string) => openReceipt(note, homeCard.origin, parseVerifierKey(homeCard.logVerifierKey), card(a).cosignVerifierKey);
  assert.equal(open(followFile(a, 'receipt')).checkpoint.size, size2);
  const sent = standIn.receipts.filter((r) => {
    try {
      return open(r).checkpoint.size === size2;
    } catch {
      return false; // B's receipt
    }
  });
  assert.equal(sent.length, 1);

  // The store scrubs clean now, and the status is ok.
  const clean = embassy(['scrub', '--dir', a.dir, '--json']);
  assert.equal(clean.status, 0, clean.stdout + clean.stderr);
  const cr = clean.json();
  assert.equal(cr.damaged, false);
  assert.deepEqual(cr.findings, []);
  assert.deepEqual(cr.homes, [{ home: 'home', versions: 2, missing: 0, needsFullWalk: false }]);
  const okStatus = embassy(['status', '--dir', a.dir, '--json']);
  assert.equal(okStatus.status, 0, okStatus.stdout);
  assert.equal(okStatus.json().homes[0].receiptSize, String(size2));

  assert.equal(await bNode.stop(), 0);
});

// A pack file deleted by the host is dropped from the index when the store opens (open()'s
// crash recovery, src/store/pack-store.ts recover()). The mirror must not then trust the held
// objects above the lost ones: the node marks every home for a full walk (MirrorNode
// noteRecovery), so the next pass fetches them again before any receipt.
test('a pack deleted by the host is not trusted by the next pass', { timeout: 300_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: 'home', role: 'home' },
    { name: 'mirror-a', role: 'mirror' },
  ]);
  const home = fed.get('home')!;
  const a = fed.get('mirror-a')!;
  setPackSize(a.dir, PACK_SIZE);
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v1.ndjson'), RECORDS, 1)]);
  const homeNode = await startNode(t, home, ['--poll-interval', '60']);
  assert.equal((await syncPass(a)).pass.status, 'receipted');

  // Every pack is deleted but those holding a root of version 1: the roots stay, all below is gone.
  const catalog = await loadCatalog(new FsLogStore(join(a.dir, 'follow', 'home', 'log')), parseVerifierKey(card(home).logVerifierKey));
  const roots = new Set(retainedRoots(catalog).map(toHex));
  let removed = 0;
  for (const p of packFiles(a.dir)) {
    if (scanPack(readFileSync(p.path)).entries.some((e) => roots.has(toHex(e.id)))) continue;
    rmSync(p.path);
    removed++;
  }
  assert.ok(removed > 0);

  ok(['ingest', '--dir', home.dir, '--dataset', DS, writeSnapshot(join(tmp, 'v2.ndjson'), RECORDS, 2)]);
  const { pass } = await syncPass(a);
  assert.equal(await homeNode.stop(), 0);
  // A receipt means every retained version is whole in A's store.
  if (pass.status === 'receipted' || pass.status === 'up-to-date') {
    const scrub = embassy(['scrub', '--dir', a.dir, '--json']);
    assert.equal(scrub.status, 0, `A receipted size ${pass.size} but its store is not whole: ${JSON.stringify(scrub.json().homes)}`);
  }
});
