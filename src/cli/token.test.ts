// `embassy token issue|list|revoke` as an operator runs them: real processes (test/support/cli.ts)
// against a real site, checked with the TokenStore a server would open.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../../test/support/tmp.ts';
import { embassy } from '../../test/support/cli.ts';
import { TOKENS_FILE, TokenStore, hashToken } from '../api/tokens.ts';
import { EXIT } from './exit-codes.ts';

describe('embassy token (real processes)', () => {
  test('issue prints the token once; the server-side store verifies it; list never shows it; revoke refuses it', (t) => {
    const dir = join(tempDir(t), 'lux');
    const init = embassy(['init', '--dir', dir, '--name', 'luxembourg', '--role', 'mirror']);
    assert.equal(init.status, EXIT.OK, init.stderr);

    const issued = embassy(['token', 'issue', '--dir', dir, '--client', 'gemeente-utrecht', '--datasets', 'brp,bag', '--ttl', '12h', '--rate', '600', '--json']);
    assert.equal(issued.status, EXIT.OK, issued.stderr);
    assert.match(issued.stderr, /shown only once/);
    const out = issued.json();
    assert.deepEqual(Object.keys(out).sort(), ['client', 'datasets', 'notAfter', 'token', 'tokenId']);
    assert.match(out.token, /^emb_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(out.datasets, ['bag', 'brp']);
    assert.ok(Math.abs(out.notAfter - (Date.now() + 12 * 3600_000)) < 600_000);

    const text = embassy(['token', 'issue', '--dir', dir, '--client', 'rvig', '--datasets', 'brp']);
    assert.equal(text.status, EXIT.OK, text.stderr);
    const textToken = text.stdout.split('\n')[0]!;
    assert.match(textToken, /^emb_/);
    assert.match(text.stdout, /for rvig: datasets brp, until .*6000 requests\/minute/);

    const store = TokenStore.open(join(dir, TOKENS_FILE));
    t.after(() => store.close());
    assert.deepEqual(store.verify(out.token), { tokenId: out.tokenId, client: 'gemeente-utrecht', datasets: ['bag', 'brp'], notAfter: out.notAfter, ratePerMinute: 600 });
    assert.equal(store.verify(textToken)?.client, 'rvig');

    const list = embassy(['token', 'list', '--dir', dir, '--json']);
    assert.equal(list.status, EXIT.OK, list.stderr);
    const rows = list.json();
    assert.deepEqual(rows.map((r: { client: string }) => r.client).sort(), ['gemeente-utrecht', 'rvig']);
    assert.deepEqual(rows.map((r: { revoked: boolean }) => r.revoked), [false, false]);
    const listText = embassy(['token', 'list', '--dir', dir]);
    for (const s of [list.stdout, listText.stdout]) {
      for (const tok of [out.token, textToken]) {
        assert.ok(!s.includes(tok.slice(4)) && !s.includes(hashToken(tok)), 'no token or hash listed');
      }
    }
    assert.match(listText.stdout, new RegExp(`${out.tokenId}  gemeente-utrecht  bag,brp  until `));

    const rev = embassy(['token', 'revoke', '--dir', dir, '--id', out.tokenId]);
    assert.equal(rev.status, EXIT.OK, rev.stderr);
    const fresh = TokenStore.open(join(dir, TOKENS_FILE));
    t.after(() => fresh.close());
    assert.equal(fresh.verify(out.token), undefined);
    assert.ok(fresh.verify(textToken));
    assert.match(embassy(['token', 'list', '--dir', dir]).stdout, new RegExp(`${out.tokenId} .* REVOKED`));

    const unknown = embassy(['token', 'revoke', '--dir', dir, '--id', '0000000000000000', '--json']);
    assert.equal(unknown.status, EXIT.USAGE);
    assert.equal(JSON.parse(unknown.stderr).error.code, 'usage');
  });

  test('bad arguments and a missing site are refused', (t) => {
    const root = tempDir(t);
    const dir = join(root, 'lux');
    assert.equal(embassy(['init', '--dir', dir, '--name', 'luxembourg', '--role', 'mirror']).status, EXIT.OK);
    const cases: [string[], number][] = [
      [['--client', 'x', '--datasets', 'brp', '--ttl', '1w'], EXIT.USAGE],
      [['--client', 'x', '--datasets', 'brp', '--rate', '0'], EXIT.USAGE],
      [['--client', 'x', '--datasets', 'BRP'], EXIT.USAGE],
      [['--client', 'x', '--datasets', ','], EXIT.USAGE],
      [['--client', 'x'], EXIT.USAGE],
    ];
    for (const [args, code] of cases) {
      const r = embassy(['token', 'issue', '--dir', dir, ...args]);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(!/emb_/.test(r.stdout));
    }
    assert.deepEqual(embassy(['token', 'list', '--dir', dir, '--json']).json(), []);
    assert.equal(embassy(['token', 'list', '--dir', join(root, 'none')]).status, EXIT.SITE);
  });
});
