// The activation commands without a node: what they refuse before anything is sent, and the
// drill report's HTML (escaped, self-contained). The commands against a running node are in
// test/e2e/activation.test.ts and test/e2e/drill.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMain } from '../../test/support/run-main.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { EXIT } from './exit-codes.ts';
import { renderDrillReport } from '../activation/report-html.ts';
import type { DrillReport } from '../activation/manager.ts';

describe('embassy activate, deactivate, activation status, drill', () => {
  test('refused before anything is sent: not a mirror, no node running, bad duration', async (t) => {
    const tmp = tempDir(t);
    const home = join(tmp, 'home');
    const mirror = join(tmp, 'mirror');
    assert.equal((await runMain(['init', '--dir', home, '--name', 'home', '--role', 'home'])).code, 0);
    assert.equal((await runMain(['init', '--dir', mirror, '--name', 'mirror', '--role', 'mirror'])).code, 0);
    const share = join(tmp, 'x.share');
    writeFileSync(share, '{}');

    const onHome = await runMain(['activate', '--dir', home, '--share', share, '--passphrase-env', 'NOPE']);
    assert.equal(onHome.code, EXIT.SITE);
    assert.match(onHome.stderr, /only a mirror is activated/);

    for (const args of [['activate', '--share', share], ['deactivate'], ['activation', 'status'], ['drill', '--share', share]]) {
      const r = await runMain([...args, '--dir', mirror]);
      assert.equal(r.code, EXIT.SITE, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /is not running/);
      assert.match(r.stderr, /hint: start it with `embassy serve/);
    }
  });

  test('the drill report escapes what it shows and loads nothing', () => {
    const statement = {
      type: 'drill' as const, activation: 'a-1', home: 'den-haag.example/embassy', samples: 1, ok: false, at: '2026-03-01T10:00:00.000Z',
      datasets: [{ dataset: 'nl.x', version: 2, records: 10, commitmentOk: false, objects: 3, samplesOk: 0, error: 'tree.corrupt' }],
      rto: { firstVerifiedAnswerMs: 12, fullVerificationMs: 2345 },
    };
    const report: DrillReport = {
      site: 'groningen', home: { name: 'den-haag', origin: 'den-haag.example/embassy' }, activationIndex: '4', logIndex: '6',
      activation: { type: 'activation', id: 'a-1', home: 'den-haag.example/embassy', kekFingerprint: 'ab'.repeat(16), custodyEpoch: 1, custodians: ['anna', 'bram'], datasets: ['nl.x'], notBefore: '2026-03-01T10:00:00.000Z', notAfter: '2026-03-01T18:00:00.000Z', drill: true, readOnly: true, reason: '<script>alert(1)</script>' },
      statement, checkpoint: 'data-embassy.example/groningen\n7\nAAAA\n\n— groningen xyz\n', cosignatures: [], samples: [{ dataset: 'nl.x', version: 2, key: 'k<1>', verified: false }],
    };
    const html = renderDrillReport(report, '2026-03-01T10:00:05.000Z');
    assert.doesNotMatch(html, /<script>/);
    assert.match(html, /&lt;script&gt;/);
    assert.match(html, /k&lt;1&gt;/);
    assert.match(html, /FAILED/);
    assert.match(html, /MISMATCH/);
    assert.match(html, /2\.35 s/);
    assert.match(html, /No other mirror had cosigned/);
    assert.doesNotMatch(html, /<link|src=/);
  });
});
