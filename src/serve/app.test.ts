// The site node's app, in-process with inject(): peer pinning before any route, log resources
// with their caching headers, the batched object fetch framing, status, health, metrics, and
// errors as application/problem+json.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { initSite, Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { MemoryObjectStore } from '../store/memory-object-store.ts';
import { sha256 } from '../crypto/hash.ts';
import { makeOwnCard, PeerSet } from '../net/peers.ts';
import { buildApp } from './app.ts';
import { CHECKPOINT_CACHE_CONTROL, TILE_CACHE_CONTROL } from './routes-log.ts';
import { MAX_OBJECTS_PER_REQUEST, MISSING_OBJECT_LENGTH } from './routes-objects.ts';

const FP_HEADER = 'x-test-client-fingerprint';

let dir: string;
let app: FastifyInstance;
let homeApp: FastifyInstance;
let peerFingerprint: string;
const objects = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(7)];
const ids = objects.map((o) => sha256(o));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'embassy-app-'));
  await initSite(join(dir, 'mirror'), { name: 'groningen', role: 'mirror' });
  await initSite(join(dir, 'home'), { name: 'den-haag', role: 'home' });
  const site = await Site.open(join(dir, 'mirror'));
  const home = await Site.open(join(dir, 'home'));
  const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
  await writer.append(Array.from({ length: 300 }, (_, i) => new TextEncoder().encode(`entry ${i}`)));
  const store = new MemoryObjectStore();
  for (let i = 0; i < objects.length; i++) await store.put(ids[i]!, objects[i]!);
  const card = await makeOwnCard(home, { url: 'https://127.0.0.1:1' });
  peerFingerprint = card.tlsFingerprint;
  const peers = new PeerSet([card]);
  const clientFingerprint = (r: { headers: Record<string, unknown> }) => r.headers[FP_HEADER] as string | undefined;
  app = buildApp({
    site: { name: site.config.name, role: site.config.role, origin: site.config.origin },
    log: site.logStore(),
    logVerifier: site.logVerifier(),
    objects: Object.assign(store, { stats: () => ({ objects: objects.length }) }),
    peers,
    clientFingerprint,
  });
  homeApp = buildApp({
    site: { name: home.config.name, role: home.config.role, origin: home.config.origin },
    log: home.logStore(),
    logVerifier: home.logVerifier(),
    peers,
    clientFingerprint,
  });
});

after(async () => {
  await app.close();
  await homeApp.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(url: string, fingerprint: string | null = peerFingerprint) {
  return app.inject({ method: 'GET', url, headers: fingerprint ? { [FP_HEADER]: fingerprint } : {} });
}

function postObjects(body: Uint8Array, contentType = 'application/octet-stream') {
  return app.inject({ method: 'POST', url: '/objects', payload: Buffer.from(body), headers: { [FP_HEADER]: peerFingerprint, 'content-type': contentType } });
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe('peer pinning', () => {
  for (const [name, fp] of [['no certificate', null], ['unknown certificate', '00'.repeat(32)]] as const) {
    test(`${name}: 403 problem before any route, on every route`, async () => {
      for (const url of ['/log/checkpoint', '/status', '/health', '/metrics', '/nope']) {
        const r = await get(url, fp);
        assert.equal(r.statusCode, 403, url);
        assert.equal(r.headers['content-type'], 'application/problem+json');
        assert.equal(r.json().status, 403);
      }
      const p = await app.inject({ method: 'POST', url: '/objects', payload: Buffer.from(ids[0]!), headers: { 'content-type': 'application/octet-stream', ...(fp ? { [FP_HEADER]: fp } : {}) } });
      assert.equal(p.statusCode, 403);
    });
  }
});

describe('log resources', () => {
  test('checkpoint: text, no-store', async () => {
    const r = await get('/log/checkpoint');
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['cache-control'], CHECKPOINT_CACHE_CONTROL);
    assert.match(r.body, /^data-embassy\.example\/groningen\n300\n/);
  });

  test('tiles and entry bundles, full and partial: octet-stream, immutable', async () => {
    for (const path of ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/000', 'tile/entries/001.p/44']) {
      const r = await get(`/log/${path}`);
      assert.equal(r.statusCode, 200, path);
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.equal(r.headers['cache-control'], TILE_CACHE_CONTROL);
      assert.ok(r.rawPayload.length > 0);
    }
  });

  test('absent or invalid paths are 404 problems, never a file outside the log', async () => {
    for (const path of ['tile/0/002', 'tile/0/01', 'tile/0/001.p/256', 'tile/../site.json', 'tile/0/x000/001', 'tile/entries/%2e%2e/x', 'tile/.tmp/1', '.tmp/1', 'checkpoint/x']) {
      const r = await get(`/log/${path}`);
      assert.equal(r.statusCode, 404, path);
      assert.equal(r.headers['content-type'], 'application/problem+json');
    }
  });
});

describe('POST /objects', () => {
  test('returns frames in request order, missing ones with length 0xFFFFFFFF', async () => {
    const missing = new Uint8Array(32).fill(9);
    const r = await postObjects(concat([ids[2]!, missing, ids[0]!, ids[1]!, ids[0]!]));
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    const b = r.rawPayload;
    const expected: [Uint8Array, Uint8Array | undefined][] = [[ids[2]!, objects[2]], [missing, undefined], [ids[0]!, objects[0]], [ids[1]!, objects[1]], [ids[0]!, objects[0]]];
    let o = 0;
    for (const [id, bytes] of expected) {
      assert.deepEqual(new Uint8Array(b.subarray(o, o + 32)), id);
      const len = b.readUInt32BE(o + 32);
      o += 36;
      if (bytes === undefined) assert.equal(len, MISSING_OBJECT_LENGTH);
      else {
        assert.equal(len, bytes.length);
        assert.deepEqual(new Uint8Array(b.subarray(o, o + len)), bytes);
        o += len;
      }
    }
    assert.equal(o, b.length);
  });

  describe('malformed bodies', () => {
    test('empty or not a multiple of 32 bytes: 400', async () => {
      for (const body of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33)]) {
        const r = await postObjects(body);
        assert.equal(r.statusCode, 400);
        assert.equal(r.headers['content-type'], 'application/problem+json');
        assert.equal(r.json().type, 'https://data-embassy.example/problems/input.malformed');
      }
    });
    test('other content type: 415', async () => {
      const r = await postObjects(ids[0]!, 'application/x-www-form-urlencoded');
      assert.equal(r.statusCode, 415);
      assert.equal(r.headers['content-type'], 'application/problem+json');
    });
    test(`more than ${MAX_OBJECTS_PER_REQUEST} ids: 413`, async () => {
      const r = await postObjects(new Uint8Array((MAX_OBJECTS_PER_REQUEST + 1) * 32));
      assert.equal(r.statusCode, 413);
      assert.equal(r.headers['content-type'], 'application/problem+json');
    });
  });
});

describe('status, health, metrics', () => {
  test('status of a mirror', async () => {
    const r = await get('/status');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { name: 'groningen', role: 'mirror', origin: 'data-embassy.example/groningen', logSize: 300, objects: 3, datasets: [] });
  });

  test('status of a home with an empty log', async () => {
    const r = await homeApp.inject({ method: 'GET', url: '/status', headers: { [FP_HEADER]: peerFingerprint } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().logSize, 0);
    assert.deepEqual(r.json().datasets, []);
  });

  test('health', async () => {
    const r = await get('/health');
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, 'ok');
  });

  test('metrics count requests by route and status, and show log size and objects', async () => {
    await get('/log/tile/0/000');
    await get('/log/tile/0/999');
    const r = await get('/metrics');
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    assert.match(r.body, /embassy_http_requests_total\{route="\/log\/tile\/\*",method="GET",status="200"\} \d+/);
    assert.match(r.body, /embassy_http_requests_total\{route="\/log\/tile\/\*",method="GET",status="404"\} \d+/);
    assert.match(r.body, /embassy_http_requests_total\{route="unmatched",method="GET",status="403"\} \d+|embassy_http_requests_total\{route="\/status",method="GET",status="403"\} \d+/);
    assert.match(r.body, /\nembassy_log_size 300\n/);
    assert.match(r.body, /\nembassy_objects 3\n/);
  });

  test('unknown route and wrong method: 404 problem', async () => {
    for (const [method, url] of [['GET', '/nope'], ['DELETE', '/log/checkpoint']] as const) {
      const r = await app.inject({ method, url, headers: { [FP_HEADER]: peerFingerprint } });
      assert.equal(r.statusCode, 404);
      assert.equal(r.headers['content-type'], 'application/problem+json');
    }
  });
});
