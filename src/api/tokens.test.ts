// TokenStore: issue, verify, expiry, revoke (also from a second process's handle), wrong and
// malformed tokens, and that the file never holds a token in clear.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/support/tmp.ts';
import { isEmbassyError } from '../errors.ts';
import { CACHE_MS, DEFAULT_RATE_PER_MINUTE, TOKENS_FILE, TokenStore, hashToken, parseTtl } from './tokens.ts';

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('TokenStore', () => {
  test('issue returns a token that verifies to its grant; list shows it without secrets', (t) => {
    const dir = tempDir(t);
    const c = clock();
    const store = TokenStore.open(join(dir, TOKENS_FILE), { now: c.now });
    t.after(() => store.close());
    const { token, grant } = store.issue({ client: 'gemeente-utrecht', datasets: ['brp', 'bag', 'brp'], ttlSeconds: 3600 });
    assert.match(token, /^emb_[A-Za-z0-9_-]{43}$/);
    assert.match(grant.tokenId, /^[0-9a-f]{16}$/);
    assert.deepEqual(grant, { tokenId: grant.tokenId, client: 'gemeente-utrecht', datasets: ['bag', 'brp'], notAfter: c.now() + 3_600_000, ratePerMinute: DEFAULT_RATE_PER_MINUTE });
    assert.deepEqual(store.verify(token), grant);
    const [rec] = store.list();
    assert.deepEqual(rec, { ...grant, revoked: false, createdAt: c.now() });
    assert.ok(!JSON.stringify(store.list()).includes(hashToken(token)));
    const second = store.issue({ client: 'rvig', datasets: ['brp'], ttlSeconds: 60, ratePerMinute: 10 });
    assert.notEqual(second.token, token);
    assert.equal(store.verify(second.token)?.ratePerMinute, 10);
    assert.equal(store.list().length, 2);
  });

  test('the token is never stored in clear, only its SHA-256; file mode 0600', (t) => {
    const dir = tempDir(t);
    const path = join(dir, TOKENS_FILE);
    const store = TokenStore.open(path);
    const issued = Array.from({ length: 5 }, (_, i) => store.issue({ client: `c${i}`, datasets: ['brp'], ttlSeconds: 60 }).token);
    store.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const bytes = readdirSync(dir)
      .filter((f) => f.startsWith(TOKENS_FILE))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'))
      .join('');
    let hashes = 0;
    for (const tok of issued) {
      assert.ok(!bytes.includes(tok), 'token in clear');
      assert.ok(!bytes.includes(tok.slice(4)), 'token body in clear');
      assert.ok(!bytes.includes(Buffer.from(tok.slice(4), 'base64url').toString('latin1')), 'token bytes in clear');
      if (bytes.includes(hashToken(tok))) hashes++;
    }
    assert.equal(hashes, issued.length, 'the hashes are what is stored');
    // And a fresh handle still verifies them.
    const again = TokenStore.open(path);
    t.after(() => again.close());
    assert.equal(again.verify(issued[3]!)?.client, 'c3');
  });

  test('expired tokens are refused, also from the cache', (t) => {
    const c = clock();
    const store = TokenStore.open(join(tempDir(t), TOKENS_FILE), { now: c.now });
    t.after(() => store.close());
    const { token } = store.issue({ client: 'x', datasets: ['brp'], ttlSeconds: 10 });
    c.advance(9_999);
    assert.ok(store.verify(token), 'cached now');
    c.advance(1);
    assert.equal(store.verify(token), undefined, 'expired even though cached');
    c.advance(CACHE_MS);
    assert.equal(store.verify(token), undefined);
  });

  test('revoke takes effect at once in the same handle and within CACHE_MS in another', (t) => {
    const path = join(tempDir(t), TOKENS_FILE);
    const c = clock();
    const server = TokenStore.open(path, { now: c.now });
    const cli = TokenStore.open(path, { now: c.now });
    t.after(() => {
      server.close();
      cli.close();
    });
    const a = cli.issue({ client: 'a', datasets: ['brp'], ttlSeconds: 3600 });
    const b = cli.issue({ client: 'b', datasets: ['brp'], ttlSeconds: 3600 });
    assert.ok(server.verify(a.token));
    assert.ok(server.verify(b.token));
    assert.equal(cli.revoke(a.grant.tokenId), true);
    assert.equal(cli.verify(a.token), undefined, 'same handle: at once');
    c.advance(CACHE_MS - 1);
    assert.ok(server.verify(a.token), 'other handle: served from its cache, without SQLite, for less than CACHE_MS');
    c.advance(1);
    assert.equal(server.verify(a.token), undefined, 'other handle: after the cache time');
    assert.ok(server.verify(b.token), 'others unaffected');
    assert.equal(server.revoke(b.grant.tokenId), true);
    assert.equal(server.verify(b.token), undefined);
    assert.equal(cli.revoke('0123456789abcdef'), false, 'unknown id');
    assert.equal(cli.revoke('not an id'), false);
    assert.deepEqual(cli.list().map((r) => r.revoked), [true, true]);
  });

  test('a clock that steps back does not extend the cache', (t) => {
    const path = join(tempDir(t), TOKENS_FILE);
    const c = clock();
    const server = TokenStore.open(path, { now: c.now });
    const cli = TokenStore.open(path, { now: c.now });
    t.after(() => {
      server.close();
      cli.close();
    });
    const a = cli.issue({ client: 'a', datasets: ['brp'], ttlSeconds: 3600 });
    assert.ok(server.verify(a.token));
    cli.revoke(a.grant.tokenId);
    c.advance(-5_000);
    assert.equal(server.verify(a.token), undefined);
  });
});

describe('TokenStore: wrong and malformed tokens', () => {
  test('unknown, altered and badly shaped tokens are undefined, never an exception', (t) => {
    const store = TokenStore.open(join(tempDir(t), TOKENS_FILE));
    t.after(() => store.close());
    const { token } = store.issue({ client: 'x', datasets: ['brp'], ttlSeconds: 60 });
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    const other = 'emb_' + Buffer.alloc(32, 7).toString('base64url');
    for (const bad of [flipped, other, '', 'emb_', token.slice(4), token + 'A', token.slice(0, -1), ` ${token}`, token.toUpperCase(), 'Bearer ' + token, 'emb_' + '!'.repeat(43), 'emb_' + 'A'.repeat(42) + 'B']) {
      assert.equal(store.verify(bad), undefined, JSON.stringify(bad));
    }
    assert.equal(store.verify(undefined as unknown as string), undefined);
    assert.ok(store.verify(token));
  });
});

describe('TokenStore: bad issue arguments', () => {
  test('each is a usage error', (t) => {
    const store = TokenStore.open(join(tempDir(t), TOKENS_FILE));
    t.after(() => store.close());
    const bad = [
      { client: '', datasets: ['brp'], ttlSeconds: 60 },
      { client: ' x', datasets: ['brp'], ttlSeconds: 60 },
      { client: 'x\n', datasets: ['brp'], ttlSeconds: 60 },
      { client: 'x'.repeat(129), datasets: ['brp'], ttlSeconds: 60 },
      { client: 'x', datasets: [], ttlSeconds: 60 },
      { client: 'x', datasets: ['BRP'], ttlSeconds: 60 },
      { client: 'x', datasets: ['a,b'], ttlSeconds: 60 },
      { client: 'x', datasets: ['brp'], ttlSeconds: 0 },
      { client: 'x', datasets: ['brp'], ttlSeconds: 1.5 },
      { client: 'x', datasets: ['brp'], ttlSeconds: 60, ratePerMinute: 0 },
      { client: 'x', datasets: ['brp'], ttlSeconds: 60, ratePerMinute: -1 },
    ];
    for (const o of bad) assert.throws(() => store.issue(o), (e) => isEmbassyError(e, 'usage'), JSON.stringify(o));
    assert.equal(store.list().length, 0);
  });

  test('parseTtl', () => {
    assert.equal(parseTtl('30d'), 30 * 86400);
    assert.equal(parseTtl('12h'), 43200);
    assert.equal(parseTtl('45m'), 2700);
    assert.equal(parseTtl('3600s'), 3600);
    assert.equal(parseTtl('90'), 90);
    for (const bad of ['', '0', '0d', '-1h', '1.5h', '1w', 'h', '1 d', '12hh']) assert.throws(() => parseTtl(bad), (e) => isEmbassyError(e, 'usage'), bad);
  });

  test('a file that is not a token store is store.io', (t) => {
    const dir = tempDir(t);
    const path = join(dir, TOKENS_FILE);
    writeFileSync(path, 'this is not sqlite, it is plain text that is long enough to be a header of a database file..............');
    assert.throws(() => TokenStore.open(path), (e) => isEmbassyError(e, 'store.io'));
  });
});
