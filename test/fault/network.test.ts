// A bad network between a home and its mirror (issue 4): the home's node sits behind a FaultProxy
// on loopback (the mirror's card for the home names the proxy), which delays, resets, stalls,
// refuses and cuts the mutual-TLS traffic as a network can, without reading it. After every
// fault the mirror must resume and end with a receipt for the home's newest checkpoint, and
// while faults are on, every receipt it writes must cover a graph its store holds whole —
// checked by a ReceiptAudit that opens the mirror's store read-only beside the running node.
// Cuts after a byte budget run as repeated `embassy sync` passes, to see what each pass kept.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeFederation, ok, startNode, waitFor, type FedSite } from '../support/federation.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { tempDir } from '../support/tmp.ts';
import { parseSiteCard } from '../../src/net/card.ts';
import { PeerClient } from '../../src/net/client.ts';
import { parseVerifierKey } from '../../src/log/note.ts';
import { openReceipt } from '../../src/federation/receipt.ts';
import { RECEIPTS_FILE, ReceiptStore } from '../../src/federation/receipt-store.ts';
import { Site } from '../../src/site/site.ts';
import { embassyAsync, homeGraph, logSize, noteSize, ReceiptAudit, storedIds, storeProblems } from './net-support.ts';

const HOME = 'den-haag';
const MIRROR = 'groningen';
const DS = 'nl.test.personen';

/** A snapshot of `n` records whose every record carries `tag`: a new version changes every leaf. */
function writeRecords(path: string, n: number, tag: string): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ bsn: String(100_000_000 + i), naam: `Persoon ${i}`, tag }));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function readReceipt(mirror: FedSite): string | undefined {
  const path = join(mirror.dir, 'follow', HOME, 'receipt');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

interface LastPass {
  at: string;
  status: string;
  error?: string;
}

function followState(mirror: FedSite): { lastPass?: LastPass } {
  const path = join(mirror.dir, 'follow', HOME, 'state.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { lastPass?: LastPass }) : {};
}

function receiptSize(mirror: FedSite): bigint {
  const r = readReceipt(mirror);
  return r === undefined ? -1n : noteSize(r);
}

/** A home behind a fault proxy and one mirror; the home's dataset declared. */
async function federation(t: TestContext): Promise<{ tmp: string; proxy: FaultProxy; home: FedSite; mirror: FedSite }> {
  const tmp = tempDir(t);
  const homePort = await freePort();
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: homePort });
  t.after(() => proxy.close());
  const fed = await makeFederation(tmp, [
    { name: HOME, role: 'home', port: homePort, cardUrl: () => proxy.url },
    { name: MIRROR, role: 'mirror' },
  ]);
  const home = fed.get(HOME)!;
  const mirror = fed.get(MIRROR)!;
  assert.equal(parseSiteCard(readFileSync(home.card)).url, proxy.url, 'the mirror reaches the home only through the proxy');
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  return { tmp, proxy, home, mirror };
}

test('a mirror node behind delay, random resets, a partition and refusals resumes each time, and every receipt covers a whole graph', { timeout: 900_000 }, async (t) => {
  const { tmp, proxy, home, mirror } = await federation(t);
  await startNode(t, home, ['--poll-interval', '1', '--scrub-interval', '0']);
  const mirrorNode = await startNode(t, mirror, ['--poll-interval', '1', '--scrub-interval', '0', '--peer-timeout', '8']);
  const audit = ReceiptAudit.start(mirror.dir, home.dir, HOME);

  // A notification "from the home", sent by the test with the home's own TLS identity straight
  // to the mirror: it cuts a failed pass's backoff short once a fault is lifted.
  const homeClient = new PeerClient(await (await Site.open(home.dir)).readTlsIdentity());
  t.after(() => homeClient.close());
  const mirrorCard = parseSiteCard(readFileSync(mirror.card));
  const wake = async (): Promise<void> => {
    const note = new TextEncoder().encode(readFileSync(join(home.dir, 'log', 'checkpoint'), 'utf8'));
    const res = await homeClient.request(mirrorCard, 'POST', 'notify', note, 1 << 20, 'text/plain');
    assert.equal(res.status, 202);
  };
  const ingest = async (tag: string): Promise<bigint> => {
    const r = await embassyAsync(['ingest', '--dir', home.dir, '--dataset', DS, writeRecords(join(tmp, `${tag}.ndjson`), 6000, tag)]);
    assert.equal(r.status, 0, r.stderr);
    return logSize(home.dir);
  };
  const receiptFor = (size: bigint, what: string, ms = 120_000): Promise<string> =>
    waitFor(`${what}: a receipt for size ${size}`, ms, () => {
      const r = readReceipt(mirror);
      return r !== undefined && noteSize(r) === size ? r : undefined;
    });
  const sizes: bigint[] = [];

  // 1. Latency: 50 ms on every chunk both ways; the pass is slower and completes.
  proxy.setPlan({ delayMs: 50 });
  let before = proxy.stats();
  sizes.push(await ingest('delay'));
  await receiptFor(sizes.at(-1)!, 'delay');
  assert.ok(proxy.stats().bytesDown > before.bytesDown, 'the receipted pass went through the delaying proxy');
  t.diagnostic(`delay: ${JSON.stringify(proxy.stats())}`);

  // 2. Random resets (seeded), drawn per forwarded chunk: passes fail part-way and keep their
  // whole subgraphs. How many chunks a pass makes depends on the kernel and the load, so rounds
  // of new data go on, each with a higher probability, until a pass has failed (the node logs
  // each); a receipt may come while resets go on, and if none comes within a while they are lifted.
  const failedPasses = (): number => mirrorNode.stderr().split('\n').filter((l) => l.includes('"msg":"mirror pass incomplete"')).length;
  const failedBefore = failedPasses();
  let underResets: string | undefined;
  for (const [round, resetProbability] of [0.01, 0.03, 0.1, 0.2, 0.3].entries()) {
    proxy.setPlan({ resetProbability, seed: 42 + round });
    sizes.push(await ingest(`resets-${resetProbability}`));
    underResets = await receiptFor(sizes.at(-1)!, 'resets', 60_000).catch(() => undefined);
    if (underResets === undefined || failedPasses() > failedBefore) break;
  }
  assert.ok(failedPasses() > failedBefore, `a pass failed from a reset: ${JSON.stringify(proxy.stats())}\n${mirrorNode.stderr().split('\n').filter((l) => /"level":[45]0/.test(l)).join('\n')}`);
  t.diagnostic(`resets: ${failedPasses() - failedBefore} failed passes, receipt ${underResets === undefined ? 'after they were lifted' : 'while they went on'}; ${JSON.stringify(proxy.stats())}`);
  proxy.setPlan({});
  if (underResets === undefined) await wake();
  await receiptFor(sizes.at(-1)!, 'after resets');

  // 3. A silent partition (held, never closed) that heals: what was held is delivered, the
  // pass that hung goes on. No other route to the home exists, so no receipt can come before.
  proxy.setPlan({ stall: true });
  sizes.push(await ingest('stall'));
  await new Promise((r) => setTimeout(r, 3000)); // the home notifies within 200 ms; the pass hangs
  assert.ok(receiptSize(mirror) < sizes.at(-1)!, 'no receipt while the home is unreachable');
  proxy.setPlan({});
  await receiptFor(sizes.at(-1)!, 'stall healed');

  // 3b. A partition that outlasts the client's socket timeout (--peer-timeout 8 here): the hung
  // request is given up, the pass is incomplete, and once the network heals the node's next
  // pass completes. The node must never wait on a dead connection for ever.
  proxy.setPlan({ stall: true });
  sizes.push(await ingest('long-partition'));
  const timedOut = await waitFor('the hung pass to time out', 120_000, () => {
    const last = followState(mirror).lastPass;
    return last?.status === 'incomplete' && /timed out/.test(last.error ?? '') ? last : undefined;
  });
  assert.ok(receiptSize(mirror) < sizes.at(-1)!, 'no receipt while the home is unreachable');
  proxy.setPlan({});
  await receiptFor(sizes.at(-1)!, 'long partition healed');
  t.diagnostic(`long partition: ${timedOut.error}`);

  // 4. A partition that ends with the connections broken (a NAT or firewall dropped them): the
  // hung pass fails, and the node's own retry (backoff, then poll) completes without help.
  proxy.setPlan({ stall: true });
  sizes.push(await ingest('partition'));
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(receiptSize(mirror) < sizes.at(-1)!, 'no receipt while the home is unreachable');
  before = proxy.stats();
  proxy.cutAll();
  proxy.setPlan({});
  assert.ok(proxy.stats().cuts > before.cuts, 'open connections were cut');
  await receiptFor(sizes.at(-1)!, 'partition ended by cuts');
  t.diagnostic(`partitions: ${JSON.stringify(proxy.stats())}`);

  // 5. Refused connections (RST at once), then the home is reachable again.
  proxy.setPlan({ refuse: true });
  proxy.cutAll(); // idle keep-alive connections would otherwise bypass the refusal
  before = proxy.stats();
  sizes.push(await ingest('refuse'));
  await waitFor('the mirror tried and was refused twice', 60_000, () => proxy.stats().resets >= before.resets + 2);
  assert.ok(receiptSize(mirror) < sizes.at(-1)!, 'no receipt while every connection is refused');
  proxy.setPlan({});
  await wake();
  const last = await receiptFor(sizes.at(-1)!, 'refusals lifted');

  // The home holds the mirror's receipt for its newest checkpoint (sent, or collected).
  const newest = logSize(home.dir);
  assert.equal(sizes.at(-1), newest);
  await waitFor('the home has the receipt for its newest checkpoint', 60_000, () => {
    const store = ReceiptStore.open(join(home.dir, RECEIPTS_FILE));
    try {
      return store.get(MIRROR)?.size === newest;
    } finally {
      store.close();
    }
  });
  const homeCard = parseSiteCard(readFileSync(home.card));
  const opened = openReceipt(last, homeCard.origin, parseVerifierKey(homeCard.logVerifierKey), mirrorCard.cosignVerifierKey);
  assert.equal(opened.checkpoint.size, newest);

  // Every receipt seen while faults were on covered a graph the store held whole.
  const report = await audit.stop();
  assert.deepEqual(report.violations, []);
  for (const s of sizes) assert.ok(report.checked.includes(s), `the audit saw the receipt for size ${s}: ${report.checked.join(', ')}`);

  assert.equal(await mirrorNode.stop(), 0);
  assert.deepEqual(await storeProblems(mirror.dir), []);
  const scrub = await embassyAsync(['scrub', '--dir', mirror.dir, '--json']);
  assert.equal(scrub.status, 0, scrub.stdout + scrub.stderr);
  const graph = await homeGraph(home.dir);
  assert.deepEqual([...(await storedIds(mirror.dir))].sort(), [...graph.keys()].sort());
});

test('cuts after a byte budget: passes under it keep what they stored and give no receipt until the graph is whole; no object is fetched twice', { timeout: 900_000 }, async (t) => {
  const { tmp, proxy, home, mirror } = await federation(t);
  const ing = await embassyAsync(['ingest', '--dir', home.dir, '--dataset', DS, writeRecords(join(tmp, 'v1.ndjson'), 20_000, 'v1')]);
  assert.equal(ing.status, 0, ing.stderr);
  await startNode(t, home, ['--poll-interval', '1', '--scrub-interval', '0']);
  const want = logSize(home.dir);
  const graph = await homeGraph(home.dir);
  const total = [...graph.values()].reduce((n, o) => n + o.size, 0);

  // Each connection is cut once `budget` bytes went down it. A pass has at most one request
  // per 512 objects in flight (src/sync/graph.ts: batches of 512, up to 4 at once), so it holds
  // at most that many connections at a time: if their budgets together are below the whole
  // transfer, the first pass must be cut, and more than one pass is needed.
  const BATCH = 512;
  const budget = Math.floor(total / 2.5);
  assert.ok(Math.ceil(graph.size / BATCH) * budget < total, `${graph.size} objects (${total} bytes) need more than one pass under a budget of ${budget}`);
  proxy.setPlan({ cutAfterBytes: budget });
  const audit = ReceiptAudit.start(mirror.dir, home.dir, HOME);

  // Passes under the budget, until one completes — or two in a row make no progress: a batch
  // whose response is larger than the budget can never arrive whole (see the report).
  let held = new Set<string>();
  let incomplete = 0;
  let stuck = 0;
  let final: { status: string; size: string; graph: { fetched: number } } | undefined;
  for (let pass = 1; pass <= 8 && final === undefined && stuck < 2; pass++) {
    const r = await embassyAsync(['sync', '--dir', mirror.dir, '--json']);
    const [p] = r.json().passes;
    if (r.status === 0) {
      final = p;
      break;
    }
    assert.equal(r.status, 6, `pass ${pass} under the budget: ${r.stdout}${r.stderr}`);
    assert.equal(p.status, 'incomplete');
    assert.equal(p.error.code, 'sync.incomplete');
    assert.equal(readReceipt(mirror), undefined, `pass ${pass}: no receipt`);
    incomplete++;
    // What a pass stored stays stored, is part of the home's graph, and is whole below.
    const now = await storedIds(mirror.dir);
    for (const hex of held) assert.ok(now.has(hex), `pass ${pass} lost object ${hex}`);
    for (const hex of now) assert.ok(graph.has(hex), `pass ${pass} stored ${hex}, which is not in the home's graph`);
    assert.deepEqual(await storeProblems(mirror.dir), [], `pass ${pass}: the store is whole below every object`);
    stuck = now.size === held.size ? stuck + 1 : 0;
    held = now;
    t.diagnostic(`pass ${pass}: ${held.size} of ${graph.size} objects (${total} bytes) stored under a budget of ${budget}; ${JSON.stringify(proxy.stats())}`);
  }
  assert.ok(incomplete >= 1, 'the budget forced more than one pass');
  assert.ok(proxy.stats().cuts >= incomplete, `connections were cut: ${JSON.stringify(proxy.stats())}`);
  assert.ok(held.size > 0 && held.size < graph.size, `the passes under the budget kept what they had completed: ${held.size}`);

  // Lifted if need be: the pass that completes fetches exactly what the store did not hold.
  t.diagnostic(final ? `completed under the budget after ${incomplete} incomplete passes` : `no progress under the budget after ${incomplete} passes: lifted`);
  if (final === undefined) {
    proxy.setPlan({});
    const r = await embassyAsync(['sync', '--dir', mirror.dir, '--json']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    final = r.json().passes[0];
  }
  assert.equal(final!.status, 'receipted');
  assert.equal(final!.size, String(want));
  assert.equal(final!.graph.fetched, graph.size - held.size, 'the pass fetched only what earlier passes had not stored');
  assert.equal(noteSize(readReceipt(mirror)!), want);

  const report = await audit.stop();
  assert.deepEqual(report.violations, []);
  assert.deepEqual(report.checked, [want, want]); // the receipts.jsonl line and the receipt file
  const scrub = await embassyAsync(['scrub', '--dir', mirror.dir, '--json']);
  assert.equal(scrub.status, 0, scrub.stdout + scrub.stderr);
  assert.deepEqual([...(await storedIds(mirror.dir))].sort(), [...graph.keys()].sort());
});
