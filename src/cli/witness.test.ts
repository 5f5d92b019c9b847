// `embassy witness add-log` and `list`, in process (through main() with captured output), and a
// witness site wired as `serve` wires it: its cosigner key, its SQLite state and the plugin,
// cosigning a home site's own log through requestCosignature.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Fastify from 'fastify';
import { tempDir } from '../../test/support/tmp.ts';
import { runMain } from '../../test/support/run-main.ts';
import { entry } from '../../test/support/log-identity.ts';
import { initSite, Site } from '../site/site.ts';
import { openNote, parseVerifierKey } from '../log/note.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { proveLogConsistency } from '../sitelog/proofs.ts';
import { witnessRoutes } from '../serve/witness-routes.ts';
import { SqliteWitnessState, WITNESS_STATE_FILE } from '../witness/sqlite-state.ts';
import { requestCosignature, type WitnessPost } from '../witness/client.ts';
import { EXIT } from './exit-codes.ts';

const run = runMain;

describe('embassy witness (in process)', () => {
  test('add-log trusts a log once, refuses re-keying and non-log keys; list shows it', async (t) => {
    const root = tempDir(t);
    const w = join(root, 'w');
    await initSite(w, { name: 'auditor', role: 'witness' });
    const home = await initSite(join(root, 'home'), { name: 'den-haag', role: 'home' });
    const other = await initSite(join(root, 'other'), { name: 'other', role: 'home', origin: home.origin });

    const r = await run(['witness', 'add-log', '--dir', w, '--vkey', home.logVerifierKey, '--json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { origin: home.origin, verifierKey: home.logVerifierKey, size: 0, root: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', cosigned: false });
    assert.equal((await run(['witness', 'add-log', '--dir', w, '--vkey', home.logVerifierKey])).code, EXIT.OK, 'idempotent');

    const rekey = await run(['witness', 'add-log', '--dir', w, '--vkey', other.logVerifierKey]);
    assert.equal(rekey.code, EXIT.USAGE);
    assert.match(rekey.stderr, /already trusted under another key/);
    const cosignKey = await run(['witness', 'add-log', '--dir', w, '--vkey', home.cosignVerifierKey, '--json']);
    assert.equal(cosignKey.code, EXIT.INPUT);
    assert.equal(JSON.parse(cosignKey.stderr).error.code, 'key.malformed');
    assert.equal((await run(['witness', 'add-log', '--dir', w, '--vkey', 'not+a+key'])).code, EXIT.INPUT);
    assert.equal((await run(['witness', 'add-log', '--dir', w, '--vkey', home.logVerifierKey, '--origin', ''])).code, EXIT.USAGE);
    assert.equal((await run(['witness', 'add-log', '--dir', join(root, 'none'), '--vkey', home.logVerifierKey])).code, EXIT.SITE);
    assert.equal((await run(['witness', 'add-log', '--dir', w])).code, EXIT.USAGE, 'missing --vkey');

    // A log whose origin is not its key name (as sum.golang.org's).
    const named = await run(['witness', 'add-log', '--dir', w, '--vkey', other.logVerifierKey, '--origin', 'go.sum database tree']);
    assert.equal(named.code, EXIT.OK, named.stderr);

    const l = await run(['witness', 'list', '--dir', w, '--json']);
    assert.equal(l.code, EXIT.OK, l.stderr);
    const out = JSON.parse(l.stdout);
    assert.equal(out.witness.name, 'auditor');
    assert.equal(parseVerifierKey(out.witness.verifierKey).type, 0x04);
    assert.deepEqual(out.logs.map((x: { origin: string }) => x.origin), [home.origin, 'go.sum database tree'].sort());
    const text = await run(['witness', 'list', '--dir', w]);
    assert.match(text.stdout, new RegExp(`${home.origin.replace(/[./]/g, '\\$&')}  size 0`));
    assert.ok(!text.stdout.includes('PRIVATE') && !l.stdout.includes('PRIVATE'));
  });

  test('a witness site cosigns a home site’s log; list shows the cosigned size', async (t) => {
    const root = tempDir(t);
    const wDir = join(root, 'w');
    const wConfig = await initSite(wDir, { name: 'auditor', role: 'witness' });
    const homeConfig = await initSite(join(root, 'home'), { name: 'den-haag', role: 'home' });
    assert.equal((await run(['witness', 'add-log', '--dir', wDir, '--vkey', homeConfig.logVerifierKey])).code, EXIT.OK);

    // The witness node, wired as `embassy serve` will wire it.
    const wSite = await Site.open(wDir);
    const now = () => 1_750_000_000n;
    const state = SqliteWitnessState.open(join(wSite.dir, WITNESS_STATE_FILE));
    t.after(() => state.close());
    const app = Fastify({ logger: false });
    await app.register(witnessRoutes, { state, cosigner: await wSite.cosigner(now), now });
    t.after(() => app.close());
    const post: WitnessPost = async (body) => {
      const res = await app.inject({ method: 'POST', url: '/add-checkpoint', payload: body, headers: { 'content-type': 'text/plain' } });
      return { status: res.statusCode, body: res.body, contentType: res.headers['content-type'] as string | undefined };
    };

    const home = await Site.open(join(root, 'home'));
    const store = home.logStore();
    const writer = await LogWriter.open(store, await home.logIdentity());
    const witnessKey = parseVerifierKey(wConfig.cosignVerifierKey);
    let known = 0n;
    for (const n of [2, 3]) {
      const c = await writer.append(Array.from({ length: n }, (_, i) => entry(Number(known) + i)));
      const proof = known === 0n ? [] : await proveLogConsistency(store, known, c.checkpoint.size);
      const a = await requestCosignature(post, known, proof, c.note, witnessKey);
      assert.equal(a.kind, 'cosigned');
      if (a.kind === 'cosigned') assert.equal(openNote(c.note + a.line, [home.logVerifier(), witnessKey]).verified.length, 2);
      known = c.checkpoint.size;
    }
    const l = JSON.parse((await run(['witness', 'list', '--dir', wDir, '--json'])).stdout);
    assert.deepEqual(l.logs.map((x: { size: number; cosigned: boolean }) => [x.size, x.cosigned]), [[5, true]]);
  });
});
