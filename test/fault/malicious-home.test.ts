// A malicious home, or a peer that is not who it claims (issue 4): the mirror first follows an
// honest home, then finds at the home's URL — with the home's own TLS identity, so the
// connection is accepted — a server that lies: a copy of the home made before a version and
// then fed other data (a fork, at the same size or longer), an older copy (a rollback), a server
// that alters one object's bytes, and a home whose checkpoint is signed by another log key.
// Each must be refused and reported and nothing stored as valid: the mirror's copy of the log
// and its receipt stay byte for byte, a bad object never enters its store (the good bytes come
// from another mirror). A server with another TLS certificate, and clients without a card or
// with the wrong certificate at the mirror's node, are refused at TLS.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { embassy } from '../support/cli.ts';
import { makeFederation, ok, startNode, type FedSite } from '../support/federation.ts';
import { tempDir } from '../support/tmp.ts';
import { isEmbassyError } from '../../src/errors.ts';
import { toHex } from '../../src/format/bytes.ts';
import { parseSiteCard } from '../../src/net/card.ts';
import { PeerClient, type PeerResponse } from '../../src/net/client.ts';
import { createTlsIdentity } from '../../src/net/tls-identity.ts';
import { MISSING_OBJECT_LENGTH, OBJECT_ID_SIZE } from '../../src/serve/routes-objects.ts';
import { FsLogStore } from '../../src/store/fs-log-store.ts';
import { PackObjectStore } from '../../src/store/pack-store.ts';
import { Site } from '../../src/site/site.ts';
import { embassyAsync, homeGraph, logSize, noteSize, snapshotFiles, storedIds, storeProblems } from './net-support.ts';

const HOME = 'den-haag';
const DS = 'nl.test.personen';
const NODE_ARGS = ['--poll-interval', '1', '--scrub-interval', '0'];

function writeRecords(path: string, n: number, tag: string): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ bsn: String(100_000_000 + i), naam: `Persoon ${i}`, tag }));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function ingest(tmp: string, dir: string, tag: string, n = 2000): void {
  ok(['ingest', '--dir', dir, '--dataset', DS, writeRecords(join(tmp, `${tag}.ndjson`), n, tag)]);
}

function readReceipt(mirror: FedSite): string | undefined {
  const path = join(mirror.dir, 'follow', HOME, 'receipt');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

interface FollowStateJson {
  divergences: { kind: string; held: string; presented: string; at: string }[];
  lastPass?: { status: string; error?: string };
}

function followState(mirror: FedSite): FollowStateJson {
  return JSON.parse(readFileSync(join(mirror.dir, 'follow', HOME, 'state.json'), 'utf8')) as FollowStateJson;
}

/** What a refused pass must not change: the copy of the home log, the receipt and its history. */
function followSnapshot(mirror: FedSite): Map<string, string> {
  return snapshotFiles(join(mirror.dir, 'follow', HOME), (rel) => rel === 'state.json');
}

/** One `embassy sync --json` pass of the mirror (no server in this process needs the event loop). */
function syncPass(mirror: FedSite): { status: number | null; pass: any } {
  const r = embassy(['sync', '--dir', mirror.dir, '--json']);
  assert.ok(r.stdout !== '', `sync printed nothing: ${r.stderr}`);
  return { status: r.status, pass: r.json().passes[0] };
}

/** Serves `dir` (a copy of the home, or an impostor) as the home's node, at the home's port. */
function serveAsHome(t: TestContext, home: FedSite, dir: string): ReturnType<typeof startNode> {
  return startNode(t, { ...home, dir }, NODE_ARGS);
}

test('a forked or rolled-back home log is refused and recorded with both notes; the copy of the log and the receipt stay as they were', { timeout: 900_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: HOME, role: 'home' },
    { name: 'groningen', role: 'mirror' },
  ]);
  const home = fed.get(HOME)!;
  const mirror = fed.get('groningen')!;
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  ingest(tmp, home.dir, 'v1');
  let node = await startNode(t, home, NODE_ARGS);
  assert.equal(syncPass(mirror).pass.status, 'receipted');
  assert.equal(await node.stop(), 0);
  const s1 = logSize(home.dir);

  // Copies of the home, with its keys, made before version 2: one is fed other data for the
  // same number of versions (a fork at the same size), one for more (a longer fork), one is
  // left as it is (a rollback once the home moves on).
  const forkSame = join(tmp, 'fork-same');
  const forkLonger = join(tmp, 'fork-longer');
  const rollback = join(tmp, 'rollback');
  for (const d of [forkSame, forkLonger, rollback]) cpSync(home.dir, d, { recursive: true });
  ingest(tmp, home.dir, 'v2-honest');
  ingest(tmp, forkSame, 'v2-fork');
  ingest(tmp, forkLonger, 'v2-fork');
  ingest(tmp, forkLonger, 'v3-fork');
  const s2 = logSize(home.dir);
  assert.equal(logSize(forkSame), s2);
  assert.ok(logSize(forkLonger) > s2);
  assert.ok(logSize(rollback) === s1 && s1 < s2);

  // The mirror follows the honest home to version 2.
  node = await startNode(t, home, NODE_ARGS);
  const honest = syncPass(mirror);
  assert.equal(honest.status, 0);
  assert.equal(honest.pass.status, 'receipted');
  assert.equal(honest.pass.size, String(s2));
  assert.equal(await node.stop(), 0);
  const heldNote = readFileSync(join(home.dir, 'log', 'checkpoint'), 'utf8');
  const receipt = readReceipt(mirror)!;
  assert.equal(noteSize(receipt), s2);
  const before = followSnapshot(mirror);

  // Each liar in turn at the home's address, with the home's TLS identity and log key.
  for (const [dir, kind] of [[forkSame, 'fork'], [forkLonger, 'entries-mismatch'], [rollback, 'rollback']] as const) {
    node = await serveAsHome(t, home, dir);
    const r = syncPass(mirror);
    assert.equal(r.status, 5, `${kind}: sync exits 5 (refused): ${JSON.stringify(r.pass)}`);
    assert.equal(r.pass.status, 'refused');
    assert.equal(r.pass.divergence?.kind, kind);
    assert.equal(r.pass.error.code, 'log.inconsistent');
    assert.equal(await node.stop(), 0);

    // Recorded with both signed notes: what the mirror held, and what it was shown.
    const presented = readFileSync(join(dir, 'log', 'checkpoint'), 'utf8');
    const d = followState(mirror).divergences.find((x) => x.presented === presented);
    assert.ok(d, `${kind}: state.json records the divergence`);
    assert.equal(d.kind, kind);
    assert.equal(d.held, heldNote);
    // Nothing written: the copy of the log, the receipt and its history, byte for byte.
    assert.deepEqual(followSnapshot(mirror), before, `${kind}: the mirror's copy and receipt are unchanged`);
  }
  assert.deepEqual(followState(mirror).divergences.map((d) => d.kind), ['fork', 'entries-mismatch', 'rollback']);

  // The operator sees it: status fails and names each divergence.
  const status = embassy(['status', '--dir', mirror.dir]);
  assert.equal(status.status, 1, status.stdout + status.stderr);
  assert.match(status.stdout, /FAIL/);
  for (const kind of ['fork', 'entries-mismatch', 'rollback']) assert.match(status.stdout, new RegExp(`FAIL +${kind} seen`));

  // The honest home again: the mirror's copy agrees with it; the receipt is the same one.
  node = await startNode(t, home, NODE_ARGS);
  const again = syncPass(mirror);
  assert.equal(again.status, 0);
  assert.equal(again.pass.status, 'up-to-date');
  assert.equal(readReceipt(mirror), receipt);
  assert.equal(await node.stop(), 0);
});

/**
 * An HTTPS server with the home's own key and certificate (so the mirror's pinning accepts it)
 * that serves the honest home's log, and POST /objects in the frame format of
 * src/serve/routes-objects.ts with the bytes of one object altered (same length, last byte
 * flipped). Everything else: 404.
 */
async function startLyingHome(home: FedSite, alter: string): Promise<{ servedBad: () => number; close: () => Promise<void> }> {
  const log = new FsLogStore(join(home.dir, 'log'));
  const objects = await PackObjectStore.openReader(join(home.dir, 'objects'));
  let servedBad = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://home.invalid');
    if (req.method === 'GET' && url.pathname.startsWith('/log/')) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await log.get(url.pathname.slice('/log/'.length));
      } catch {
        bytes = undefined; // not a log resource path
      }
      if (bytes === undefined) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
    }
    if (req.method === 'POST' && url.pathname === '/objects') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let at = 0; at + OBJECT_ID_SIZE <= body.length; at += OBJECT_ID_SIZE) {
        const id = new Uint8Array(body.subarray(at, at + OBJECT_ID_SIZE));
        let bytes = await objects.get(id);
        if (bytes !== undefined && toHex(id) === alter) {
          bytes = bytes.slice();
          bytes[bytes.length - 1]! ^= 0x01;
          servedBad++;
        }
        const header = Buffer.alloc(OBJECT_ID_SIZE + 4);
        header.set(id, 0);
        header.writeUInt32BE(bytes === undefined ? MISSING_OBJECT_LENGTH : bytes.length, OBJECT_ID_SIZE);
        res.write(header);
        if (bytes !== undefined) res.write(bytes);
      }
      return void res.end();
    }
    res.writeHead(404).end();
  };
  const server: Server = createServer(
    {
      key: readFileSync(join(home.dir, 'keys', 'tls.key')),
      cert: readFileSync(join(home.dir, 'tls.crt')),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    },
    (req, res) => {
      handle(req, res).catch(() => res.destroy());
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(home.port, '127.0.0.1', () => resolve());
  });
  return {
    servedBad: () => servedBad,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await objects.close();
    },
  };
}

test('a home that serves an object whose bytes do not match its id: the bytes are never stored; the good ones come from another mirror', { timeout: 900_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: HOME, role: 'home' },
    { name: 'groningen', role: 'mirror' },
    { name: 'luxembourg', role: 'mirror' },
  ]);
  const home = fed.get(HOME)!;
  const honestMirror = fed.get('groningen')!;
  const mirror = fed.get('luxembourg')!;
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  ingest(tmp, home.dir, 'v1', 6000);
  const homeNode = await startNode(t, home, NODE_ARGS);
  assert.equal(syncPass(honestMirror).pass.status, 'receipted');
  assert.equal(await homeNode.stop(), 0);

  // The liar alters one leaf (a chunk: no children) of the version's graph.
  const graph = await homeGraph(home.dir);
  const bad = [...graph.values()].find((o) => o.children.length === 0)!;
  const liar = await startLyingHome(home, bad.hex);
  t.after(() => liar.close());

  // Only the liar is reachable (groningen's node is down): the pass is incomplete, reports the
  // mismatch, gives no receipt, and the store holds no bad bytes and not the object.
  let r = await embassyAsync(['sync', '--dir', mirror.dir, '--json']);
  assert.equal(r.status, 6, r.stdout + r.stderr);
  let pass = r.json().passes[0];
  assert.equal(pass.status, 'incomplete');
  assert.equal(pass.error.code, 'sync.incomplete');
  const mismatch = (p: { graph: { failures: { source: string; error: string }[] } }): boolean =>
    p.graph.failures.some((f) => f.source === HOME && f.error.startsWith('object.id-mismatch:') && f.error.includes(bad.hex));
  assert.ok(mismatch(pass), `the mismatch is reported: ${JSON.stringify(pass.graph.failures)}`);
  assert.ok(liar.servedBad() > 0, 'the altered object was served');
  assert.equal(readReceipt(mirror), undefined);
  assert.ok(!(await storedIds(mirror.dir)).has(bad.hex));
  assert.deepEqual(await storeProblems(mirror.dir), []);

  // With a second, honest source up, the batch the liar spoiled comes from groningen.
  await startNode(t, honestMirror, NODE_ARGS);
  const servedBefore = liar.servedBad();
  r = await embassyAsync(['sync', '--dir', mirror.dir, '--json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  pass = r.json().passes[0];
  assert.equal(pass.status, 'receipted');
  assert.ok(liar.servedBad() > servedBefore, 'the liar was asked again and lied again');
  assert.ok(mismatch(pass), 'the mismatch is reported again');
  assert.equal(noteSize(readReceipt(mirror)!), logSize(home.dir));
  assert.deepEqual([...(await storedIds(mirror.dir))].sort(), [...graph.keys()].sort());
  assert.deepEqual(await storeProblems(mirror.dir), []); // every stored object hashes to its id
  const scrub = await embassyAsync(['scrub', '--dir', mirror.dir, '--json']);
  assert.equal(scrub.status, 0, scrub.stdout + scrub.stderr);
});

/** A request a peer must refuse: dropped at TLS (an I/O error here) or answered 403. */
async function assertRefused(what: string, p: Promise<PeerResponse | unknown>): Promise<void> {
  try {
    const res = (await p) as PeerResponse;
    assert.equal(res.status, 403, `${what}: answered ${res.status}`);
  } catch (e) {
    assert.ok(isEmbassyError(e, 'store.io'), `${what}: ${(e as Error).message}`);
  }
}

test("a home with another TLS certificate or another log key is refused without a receipt; peers without a card are refused at the mirror's node", { timeout: 900_000 }, async (t) => {
  const tmp = tempDir(t);
  const fed = await makeFederation(tmp, [
    { name: HOME, role: 'home' },
    { name: 'groningen', role: 'mirror' },
  ]);
  const home = fed.get(HOME)!;
  const mirror = fed.get('groningen')!;
  ok(['dataset', 'add', '--dir', home.dir, '--id', DS, '--key', 'bsn']);
  ingest(tmp, home.dir, 'v1');
  let node = await startNode(t, home, NODE_ARGS);
  assert.equal(syncPass(mirror).pass.status, 'receipted');
  assert.equal(await node.stop(), 0);
  const receipt = readReceipt(mirror)!;
  const before = followSnapshot(mirror);

  // An impostor: a home of the same name and origin with its own keys, further along.
  const impostor = join(tmp, 'impostor');
  ok(['init', '--dir', impostor, '--name', HOME, '--role', 'home', '--origin', parseSiteCard(readFileSync(home.card)).origin]);
  ok(['site', 'add', '--dir', impostor, mirror.card]);
  ok(['dataset', 'add', '--dir', impostor, '--id', DS, '--key', 'bsn']);
  ingest(tmp, impostor, 'v1-impostor');
  ingest(tmp, impostor, 'v2-impostor');
  assert.ok(logSize(impostor) > logSize(home.dir));

  // (1) Its own TLS certificate: not the one the card pins; the mirror refuses to talk to it.
  node = await serveAsHome(t, home, impostor);
  let r = syncPass(mirror);
  assert.equal(r.status, 5, JSON.stringify(r.pass));
  assert.equal(r.pass.status, 'refused');
  assert.equal(r.pass.error.code, 'crypto.auth-failed');
  assert.equal(await node.stop(), 0);
  assert.deepEqual(followSnapshot(mirror), before);

  // (2) The home's TLS identity (stolen), but checkpoints signed by another log key: refused.
  for (const f of [join('keys', 'tls.key'), 'tls.crt']) cpSync(join(home.dir, f), join(impostor, f));
  node = await serveAsHome(t, home, impostor);
  r = syncPass(mirror);
  assert.equal(r.status, 5, JSON.stringify(r.pass));
  assert.equal(r.pass.status, 'refused');
  assert.equal(r.pass.error.code, 'note.unverified');
  assert.equal(await node.stop(), 0);
  assert.deepEqual(followSnapshot(mirror), before);
  assert.equal(readReceipt(mirror), receipt);
  assert.match(followState(mirror).lastPass?.error ?? '', /^note\.unverified/);

  // (3) The mirror's node refuses clients whose certificate no card pins: a stranger, and one
  // that calls itself the home with another certificate. The real home gets through.
  node = await startNode(t, home, NODE_ARGS);
  const mirrorNode = await startNode(t, mirror, NODE_ARGS);
  const mirrorCard = parseSiteCard(readFileSync(mirror.card));
  const note = new TextEncoder().encode(readFileSync(join(home.dir, 'log', 'checkpoint'), 'utf8'));
  const someId = new Uint8Array(32);
  const clients = [
    new PeerClient(createTlsIdentity('stranger', new Date())),
    new PeerClient(createTlsIdentity(HOME, new Date())),
  ];
  const real = new PeerClient(await (await Site.open(home.dir)).readTlsIdentity());
  t.after(() => {
    for (const c of [...clients, real]) c.close();
  });
  for (const [i, c] of clients.entries()) {
    await assertRefused(`client ${i}: POST /notify`, c.request(mirrorCard, 'POST', 'notify', note, 1 << 20, 'text/plain'));
    await assertRefused(`client ${i}: POST /receipts`, c.request(mirrorCard, 'POST', 'receipts', new TextEncoder().encode(receipt), 1 << 20, 'text/plain'));
    await assertRefused(`client ${i}: POST /objects`, c.fetchObjects(mirrorCard, [someId]));
    await assertRefused(`client ${i}: GET /receipts`, c.request(mirrorCard, 'GET', 'receipts'));
  }
  assert.equal((await real.request(mirrorCard, 'POST', 'notify', note, 1 << 20, 'text/plain')).status, 202);
  assert.deepEqual(await real.fetchObjects(mirrorCard, [someId]), [undefined]);
  assert.equal(await mirrorNode.stop(), 0);
  assert.equal(await node.stop(), 0);
  assert.match(mirrorNode.stderr(), /refused at tls: client certificate is not pinned/);
});
