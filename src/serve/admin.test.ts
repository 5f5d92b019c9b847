// The admin socket: its routes in-process against a recording manager, and the real socket (mode
// 0600, stale file replaced, removed at close) with the CLI's client, errors mapped both ways.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbassyError, isEmbassyError } from '../errors.ts';
import type { ActivationManager, ShareSubmission } from '../activation/manager.ts';
import { adminRequest, buildAdminApp, listenAdmin, parseWireRequest, toWireShare } from './admin.ts';

const meta = { home: 'den-haag.example/embassy', homeVerifierKey: 'den-haag.example/embassy+01234567+AQ', custodian: 'anna', epoch: 1, kekFingerprint: '00'.repeat(16) };

function fakeManager(calls: unknown[]) {
  return {
    status: () => ({ site: 'groningen', state: 'inactive' as const }),
    submitShare: async (s: ShareSubmission) => {
      calls.push(s);
      if (s.meta.custodian === 'mallory') throw new EmbassyError('custody.wrong-share', 'share: mallory is not a custodian');
      return { custodian: s.meta.custodian, have: 1, need: 2, status: { site: 'groningen', state: 'collecting' as const } };
    },
    drill: async (subs: ShareSubmission[], req: unknown) => {
      calls.push({ drill: subs.length, req });
      return { custodian: 'x', have: 2, need: 2, status: { site: 'groningen', state: 'inactive' as const } };
    },
    deactivate: async (reason: string) => {
      calls.push({ deactivate: reason });
      throw new EmbassyError('activation.inactive', 'activation: nothing to deactivate on groningen');
    },
    extend: async () => {
      throw new EmbassyError('custody.short', 'custody epoch 1: 1 of 2 shares needed');
    },
  } as unknown as ActivationManager;
}

describe('admin socket', () => {
  test('routes: shares with the request, drill, problems for refusals and bad bodies', async () => {
    const calls: unknown[] = [];
    const app = buildAdminApp(fakeManager(calls));
    const share = toWireShare({ meta, share: new Uint8Array(33).fill(7) });
    const ok = await app.inject({ method: 'POST', url: '/shares', payload: { ...share, request: { duration: '3s', datasets: ['nl.a'], reason: 'flood' } } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().have, 1);
    const sub = calls[0] as ShareSubmission;
    assert.deepEqual(sub.request, { durationMs: 3000, datasets: ['nl.a'], reason: 'flood' });
    assert.deepEqual([...sub.share], new Array(33).fill(7));

    const refused = await app.inject({ method: 'POST', url: '/shares', payload: { ...share, meta: { ...meta, custodian: 'mallory' } } });
    assert.equal(refused.statusCode, 422);
    assert.equal(refused.headers['content-type'], 'application/problem+json');
    assert.match(refused.json().type, /custody\.wrong-share$/);

    for (const payload of [{ meta }, { ...share, share: 'not base64!' }, { ...share, request: { duration: 'soon' } }, { ...share, meta: { ...meta, epoch: 'one' } }]) {
      const r = await app.inject({ method: 'POST', url: '/shares', payload });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
    }

    const drill = await app.inject({ method: 'POST', url: '/drill', payload: { shares: [share, share], request: { drill: false, reason: 'q1' } } });
    assert.equal(drill.statusCode, 200, drill.body);
    assert.deepEqual(calls.at(-1), { drill: 2, req: { reason: 'q1' } });

    assert.equal((await app.inject({ method: 'POST', url: '/deactivate', payload: { reason: 'restart' } })).statusCode, 400, 'restart is the node’s own reason');
    assert.equal((await app.inject({ method: 'POST', url: '/deactivate', payload: {} })).statusCode, 503);
    assert.equal((await app.inject({ method: 'GET', url: '/status' })).json().state, 'inactive');
    await app.close();
  });

  test('requests: durations parsed, junk refused', () => {
    assert.deepEqual(parseWireRequest(undefined), {});
    assert.deepEqual(parseWireRequest({ duration: '1h30m', drill: true }), { durationMs: 5_400_000, drill: true });
    assert.throws(() => parseWireRequest({ reason: 'two\nlines' }), (e) => isEmbassyError(e, 'input.malformed'));
    assert.throws(() => parseWireRequest({ datasets: [] }), (e) => isEmbassyError(e, 'input.malformed'));
    assert.throws(() => parseWireRequest({ duration: '0s' }), (e) => isEmbassyError(e, 'usage'));
  });

  test('the socket: 0600, a stale one replaced, removed at close; the client maps problems to codes', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'embassy-admin-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'admin.sock');
    await assert.rejects(adminRequest(path, 'GET', '/status'), (e) => isEmbassyError(e, 'site.missing') && /no node is running/.test(e.message));

    // A stale socket left by a node that died.
    spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(existsSync(path));

    const close = await listenAdmin(buildAdminApp(fakeManager([])), path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(await adminRequest(path, 'GET', '/status'), { site: 'groningen', state: 'inactive' });
    await assert.rejects(adminRequest(path, 'POST', '/extend', { shares: [toWireShare({ meta, share: new Uint8Array(33) })], duration: '1h' }), (e) => isEmbassyError(e, 'custody.short'));
    await assert.rejects(adminRequest(path, 'POST', '/deactivate', {}), (e) => isEmbassyError(e, 'activation.inactive'));
    await close();
    assert.equal(existsSync(path), false);
  });
});
