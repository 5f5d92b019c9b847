// End to end with real processes and sockets on 127.0.0.1: a home and a mirror exchange site
// cards through the CLI, the home seals a small dataset and runs `embassy serve`; the mirror
// verifies the whole home log over mutual TLS with HttpLogReader + verifyLog and fetches objects
// in a batch. Unknown certificates, a known name with the wrong certificate, and a server whose
// certificate is not the pinned one are refused; SIGTERM stops the server with exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embassy, EMBASSY_BIN } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { Site } from '../../src/site/site.ts';
import { loadPeers } from '../../src/net/peers.ts';
import { PeerClient } from '../../src/net/client.ts';
import { createTlsIdentity } from '../../src/net/tls-identity.ts';
import { verifyLog } from '../../src/verify/log.ts';
import { loadCatalog } from '../../src/catalog/catalog.ts';
import { parseVerifierKey } from '../../src/log/note.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { isEmbassyError } from '../../src/errors.ts';
import type { SiteCard } from '../../src/net/card.ts';

function ok(args: string[]): ReturnType<typeof embassy> {
  const r = embassy(args);
  assert.equal(r.status, 0, `embassy ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Starts `embassy serve` and resolves with its URL once it printed the bound address. */
function serve(dir: string): Promise<{ child: ChildProcess; url: string; stderr: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [EMBASSY_BIN, 'serve', '--dir', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const line = out.split('\n')[0]!;
      if (out.includes('\n')) resolve({ child, url: JSON.parse(line).listening, stderr: () => err, exit });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${err}`)));
  });
}

test('a mirror verifies the home log and fetches objects over mutual TLS; strangers are refused', async (t) => {
  const tmp = tempDir(t);
  const home = join(tmp, 'den-haag');
  const mirror = join(tmp, 'groningen');
  const impostor = join(tmp, 'impostor'); // a second site that calls itself groningen
  ok(['init', '--dir', home, '--name', 'den-haag', '--role', 'home', '--origin', 'den-haag.example/embassy']);
  ok(['init', '--dir', mirror, '--name', 'groningen', '--role', 'mirror']);
  ok(['init', '--dir', impostor, '--name', 'groningen', '--role', 'mirror']);

  // The home seals a small dataset.
  const DS = 'nl.test.personen';
  ok(['dataset', 'add', '--dir', home, '--id', DS, '--key', 'bsn']);
  const file = join(tmp, 'v1.ndjson');
  writeFileSync(file, Array.from({ length: 500 }, (_, i) => JSON.stringify({ bsn: String(100_000_000 + i), naam: `Persoon ${i}` })).join('\n') + '\n');
  ok(['ingest', '--dir', home, '--dataset', DS, file, '--source-time', '2026-11-28T06:00:00Z']);

  // Exchange cards both ways through the CLI.
  ok(['site', 'card', '--dir', home, '--url', 'https://127.0.0.1:8443', '--lat', '52.0705', '--lon', '4.3007', '--jurisdiction', 'NL', '--risk', 'flood,grid-nl', '--out', join(tmp, 'home.card')]);
  const mirrorCardText = ok(['site', 'card', '--dir', mirror, '--url', 'https://127.0.0.1:8444', '--lat', '53.2194', '--lon', '6.5665', '--jurisdiction', 'NL']).stdout;
  writeFileSync(join(tmp, 'mirror.card'), mirrorCardText);
  assert.equal(ok(['site', 'add', '--dir', mirror, join(tmp, 'home.card'), '--json']).json().result, 'added');
  assert.equal(ok(['site', 'add', '--dir', home, join(tmp, 'mirror.card'), '--json']).json().result, 'added');
  // The impostor's card names groningen too: the home refuses it without --replace.
  writeFileSync(join(tmp, 'impostor.card'), ok(['site', 'card', '--dir', impostor, '--url', 'https://127.0.0.1:8445']).stdout);
  assert.equal(embassy(['site', 'add', '--dir', home, join(tmp, 'impostor.card')]).status, 4);

  // Object ids to fetch, read before the server runs.
  const homeSite = await Site.open(home);
  const store = await homeSite.openObjects();
  const ids: Uint8Array[] = [];
  for await (const id of store.ids()) if (ids.length < 50) ids.push(id);
  const expected = await Promise.all(ids.map((id) => store.get(id)));
  await store.close();
  assert.ok(ids.length > 1);

  const server = await serve(home);
  t.after(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);

  const mirrorSite = await Site.open(mirror);
  const stored = (await loadPeers(mirrorSite)).byName('den-haag')!;
  const homeCard: SiteCard = { ...stored, url: server.url }; // the test binds port 0
  const client = new PeerClient(await mirrorSite.readTlsIdentity());
  t.after(() => client.close());

  // The whole home log, verified over HTTPS against the key in the card.
  const checkpoint = new TextDecoder().decode(await client.getLogResource(homeCard, 'checkpoint'));
  assert.match(checkpoint, /^den-haag\.example\/embassy\n/);
  const verifier = parseVerifierKey(homeCard.logVerifierKey);
  const report = await verifyLog(client.logReader(homeCard), verifier);
  assert.deepEqual(report.findings, []);
  const localSize = BigInt(readFileSync(join(home, 'log', 'checkpoint'), 'utf8').split('\n')[1]!);
  assert.equal(report.size, localSize);
  assert.ok(localSize >= 2n);
  const catalog = await loadCatalog(client.logReader(homeCard), verifier);
  assert.equal(catalog.datasets.get(DS)?.versions.length, 1);

  // Objects in one batch, each checked against its id.
  const missing = new Uint8Array(32).fill(0xee);
  const fetched = await client.fetchObjects(homeCard, [...ids, missing]);
  assert.equal(fetched.length, ids.length + 1);
  for (let i = 0; i < ids.length; i++) {
    assert.deepEqual(sha256(fetched[i]!), ids[i]);
    assert.deepEqual(fetched[i], expected[i]);
  }
  assert.equal(fetched[ids.length], undefined);

  const status = await client.request(homeCard, 'GET', 'status');
  assert.equal(status.status, 200);
  const s = JSON.parse(new TextDecoder().decode(status.body));
  assert.equal(s.name, 'den-haag');
  assert.equal(s.datasets[0].newest.records, 500);

  // A stranger's certificate, and a known name with the wrong certificate: refused.
  const stranger = new PeerClient(createTlsIdentity('stranger', new Date()));
  const impostorClient = new PeerClient(await (await Site.open(impostor)).readTlsIdentity());
  t.after(() => {
    stranger.close();
    impostorClient.close();
  });
  for (const c of [stranger, impostorClient]) {
    await assert.rejects(c.getLogResource(homeCard, 'checkpoint'), (e) => isEmbassyError(e, 'store.io'));
  }

  // The client pins the server: a card whose certificate is another site's is refused.
  const luxCert = await (await Site.open(impostor)).readTlsIdentity();
  const wrongPin: SiteCard = { ...homeCard, tlsCertificate: luxCert.certPem, tlsFingerprint: luxCert.fingerprint };
  await assert.rejects(client.getLogResource(wrongPin, 'checkpoint'), (e) => isEmbassyError(e, 'crypto.auth-failed'));
  const samePemWrongFingerprint: SiteCard = { ...homeCard, tlsFingerprint: '00'.repeat(32) };
  await assert.rejects(client.getLogResource(samePemWrongFingerprint, 'checkpoint'), (e) => isEmbassyError(e, 'crypto.auth-failed'));

  // SIGTERM: clean exit 0; refusals were logged at info.
  client.close();
  server.child.kill('SIGTERM');
  assert.equal(await server.exit, 0);
  assert.match(server.stderr(), /refused at tls: client certificate is not pinned/);
  assert.doesNotMatch(server.stderr(), /PRIVATE KEY/);
});
