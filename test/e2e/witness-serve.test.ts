// A witness site served by `embassy serve` over pinned mutual TLS (real processes, sockets on
// 127.0.0.1): a home asks it to cosign its checkpoints; the witness cosigns a consistent growth,
// answers 409 for a stale old size, and refuses a checkpoint signed by an unknown log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBASSY_BIN, embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { PeerClient } from '../../src/net/client.ts';
import { loadPeers } from '../../src/net/peers.ts';
import { Site } from '../../src/site/site.ts';
import { formatAddCheckpointRequest } from '../../src/log/witness.ts';
import { parseVerifierKey } from '../../src/log/note.ts';
import { parseAddCheckpointResponse } from '../../src/log/witness.ts';
import { verifyCosignature } from '../../src/log/cosignature.ts';
import { proveLogConsistency } from '../../src/sitelog/proofs.ts';

function ok(args: string[]) {
  const r = embassy(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

test('a witness served over mTLS cosigns a growing home log and refuses stale and unknown checkpoints', async (t) => {
  const tmp = tempDir(t);
  const home = join(tmp, 'home');
  const witness = join(tmp, 'witness');
  const homeInit = ok(['init', '--dir', home, '--name', 'den-haag', '--role', 'home', '--origin', 'den-haag.example/embassy', '--json']).json();
  const witnessInit = ok(['init', '--dir', witness, '--name', 'auditor', '--role', 'witness', '--json']).json();
  ok(['witness', 'add-log', '--dir', witness, '--vkey', homeInit.logVerifierKey]);
  writeFileSync(join(tmp, 'home.card'), ok(['site', 'card', '--dir', home, '--url', 'https://127.0.0.1:1']).stdout);
  writeFileSync(join(tmp, 'witness.card'), ok(['site', 'card', '--dir', witness, '--url', 'https://127.0.0.1:1']).stdout);
  ok(['site', 'add', '--dir', witness, join(tmp, 'home.card')]);
  ok(['site', 'add', '--dir', home, join(tmp, 'witness.card')]);

  const child = spawn(process.execPath, [EMBASSY_BIN, 'serve', '--dir', witness, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!).listening);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  const homeSite = await Site.open(home);
  const card = { ...(await loadPeers(homeSite)).byName('auditor')!, url };
  const client = new PeerClient(await homeSite.readTlsIdentity());
  t.after(() => client.close());
  const witnessVerifier = parseVerifierKey(witnessInit.cosignVerifierKey);
  const post = (body: string) => client.request(card, 'POST', 'add-checkpoint', new TextEncoder().encode(body));

  // Grow the home log in two steps; the witness must cosign each, given consistency proofs.
  let oldSize = 0n;
  for (const n of [3, 300]) {
    writeFileSync(join(tmp, 's.ndjson'), Array.from({ length: n }, (_, i) => JSON.stringify({ type: 'test.note', i })).join('\n') + '\n');
    ok(['statement', 'add', '--dir', home, join(tmp, 's.ndjson')]);
    const note = readFileSync(join(home, 'log', 'checkpoint'), 'utf8');
    const size = BigInt(note.split('\n')[1]!);
    const proof = oldSize === 0n ? [] : await proveLogConsistency(homeSite.logStore(), oldSize, size);
    const res = await post(formatAddCheckpointRequest({ oldSize, proof, checkpoint: note }));
    assert.equal(res.status, 200, new TextDecoder().decode(res.body));
    const sigs = parseAddCheckpointResponse(res.body);
    const body = note.slice(0, note.indexOf('\n\n') + 1);
    const { timestamp } = verifyCosignature(body, sigs[0]!, witnessVerifier);
    assert.ok(timestamp > 0n);
    oldSize = size;
  }

  // A stale old size: 409 with the witness's known size.
  const note = readFileSync(join(home, 'log', 'checkpoint'), 'utf8');
  const stale = await post(formatAddCheckpointRequest({ oldSize: 3n, proof: [], checkpoint: note }));
  assert.equal(stale.status, 409);
  assert.equal(new TextDecoder().decode(stale.body).trim(), String(oldSize));

  // A log the witness was never told about: refused.
  const other = join(tmp, 'other');
  ok(['init', '--dir', other, '--name', 'other', '--role', 'home']);
  const otherNote = readFileSync(join(other, 'log', 'checkpoint'), 'utf8');
  const unknown = await post(formatAddCheckpointRequest({ oldSize: 0n, proof: [], checkpoint: otherNote }));
  assert.equal(unknown.status, 404);

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
});
