// `embassy policy set|show` in process (main() with captured output): the placement statement it
// appends, the newest one in force, the warnings about quorum sites without a card, and every
// refusal (bad options, undeclared dataset, a mirror site) leaving the log as it was. Also
// `statement add` refusing the reserved type.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/support/tmp.ts';
import { runMain } from '../../test/support/run-main.ts';
import { loadCatalog } from '../catalog/catalog.ts';
import { Site } from '../site/site.ts';
import { EXIT } from './exit-codes.ts';
import type { TestContext } from 'node:test';

const DS = 'nl.brp.personen';

async function ok(args: string[]): Promise<string> {
  const r = await runMain(args);
  assert.equal(r.code, EXIT.OK, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A home den-haag with one declared dataset, and a mirror groningen whose card the home knows. */
async function federation(t: TestContext): Promise<{ home: string; mirror: string }> {
  const root = tempDir(t);
  const home = join(root, 'home');
  const mirror = join(root, 'mirror');
  await ok(['init', '--dir', home, '--name', 'den-haag', '--role', 'home', '--json']);
  await ok(['init', '--dir', mirror, '--name', 'groningen', '--role', 'mirror', '--json']);
  await ok(['dataset', 'add', '--dir', home, '--id', DS, '--key', 'bsn', '--rpo-target', '3600', '--json']);
  const card = join(root, 'groningen.card');
  await ok(['site', 'card', '--dir', mirror, '--url', 'https://groningen.example:8443', '--lat', '53.2194', '--lon', '6.5665', '--jurisdiction', 'NL', '--out', card]);
  await ok(['site', 'add', '--dir', home, card]);
  return { home, mirror };
}

async function logSize(dir: string): Promise<bigint> {
  const site = await Site.open(dir);
  return (await loadCatalog(site.logStore(), site.logVerifier())).checkpoint.size;
}

const SET = ['--dataset', DS, '--quorum', '2', '--of', 'groningen,luxembourg,willemstad', '--min-copies', '2'];

describe('embassy policy', () => {
  test('set appends one placement statement; show prints the newest per dataset', async (t) => {
    const { home } = await federation(t);
    const before = await logSize(home);
    const r = await runMain(['policy', 'set', '--dir', home, ...SET, '--min-distance-km', '300', '--foreign-jurisdiction', '--distinct-risk', '--rpo-target', '900', '--json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const out = JSON.parse(r.stdout);
    const expected = {
      type: 'placement', dataset: DS, quorum: { threshold: 2, sites: ['groningen', 'luxembourg', 'willemstad'] },
      minCopies: 2, minDistanceKm: 300, foreignJurisdiction: true, distinctRisk: true, rpoTarget: 900,
    };
    assert.deepEqual(out.placement, expected);
    assert.equal(out.logIndex, Number(before));
    assert.equal(out.logSize, Number(before) + 1);
    // Groningen's card is known; the other two are warned about, once each, on stderr only.
    assert.doesNotMatch(r.stderr, /groningen/);
    assert.match(r.stderr, /warning: quorum site luxembourg has no peer card on den-haag/);
    assert.match(r.stderr, /warning: quorum site willemstad has no peer card/);

    // The statement is in the log, read back through the catalog.
    const site = await Site.open(home);
    const catalog = await loadCatalog(site.logStore(), site.logVerifier());
    assert.deepEqual(catalog.datasets.get(DS)!.placement, { statement: expected, logIndex: before });

    // A second set replaces it: optional members that are not asked for are absent.
    const again = await runMain(['policy', 'set', '--dir', home, '--dataset', DS, '--quorum', '1', '--of', 'groningen,den-haag', '--min-copies', '0']);
    assert.equal(again.code, EXIT.OK, again.stderr);
    assert.equal(again.stderr, '', 'the home itself needs no card');
    assert.match(again.stdout, /^placement of nl\.brp\.personen set at log index \d+: quorum 1 of groningen, den-haag; 0 copies at mirrors\n$/);
    const shown = JSON.parse(await ok(['policy', 'show', '--dir', home, '--json']));
    assert.deepEqual(shown, [{
      dataset: DS,
      placement: { type: 'placement', dataset: DS, quorum: { threshold: 1, sites: ['groningen', 'den-haag'] }, minCopies: 0 },
      logIndex: Number(before) + 1,
      datasetRpoTarget: 3600,
    }]);
  });

  test('show says "no policy" for a dataset without one; text shows the rules', async (t) => {
    const { home } = await federation(t);
    await ok(['dataset', 'add', '--dir', home, '--id', 'nl.bwb', '--key', 'id']);
    await ok(['policy', 'set', '--dir', home, ...SET, '--min-distance-km', '300.5', '--foreign-jurisdiction', '--rpo-target', '7500']);
    const text = await ok(['policy', 'show', '--dir', home]);
    assert.match(text, /^nl\.brp\.personen\s+quorum 2 of groningen, luxembourg, willemstad; 2 copies at mirrors; a copy at least 300\.5 km away; a copy in a foreign jurisdiction; rpo target 2 h 5 min \(log index \d+\)$/m);
    assert.match(text, /^nl\.bwb\s+no policy$/m);
  });

  test('a witness named in the quorum is warned about: it never holds a copy', async (t) => {
    const { home } = await federation(t);
    const root = join(home, '..');
    await ok(['init', '--dir', join(root, 'w'), '--name', 'auditor', '--role', 'witness']);
    await ok(['site', 'card', '--dir', join(root, 'w'), '--url', 'https://auditor.example', '--out', join(root, 'auditor.card')]);
    await ok(['site', 'add', '--dir', home, join(root, 'auditor.card')]);
    const r = await runMain(['policy', 'set', '--dir', home, '--dataset', DS, '--quorum', '1', '--of', 'groningen,auditor', '--min-copies', '1']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stderr, /warning: quorum site auditor is a witness; it holds no copies/);
  });

  test('refusals leave the log as it was', async (t) => {
    const { home, mirror } = await federation(t);
    const size = await logSize(home);
    const refused = async (args: string[], exit: number, code: string): Promise<void> => {
      const r = await runMain([...args, '--json']);
      assert.equal(r.code, exit, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(JSON.parse(r.stderr).error.code, code, args.join(' '));
    };
    const set = (...more: string[]): string[] => ['policy', 'set', '--dir', home, '--dataset', DS, ...more];
    await refused(set('--quorum', '4', '--of', 'groningen,luxembourg,willemstad', '--min-copies', '2'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '0', '--of', 'groningen', '--min-copies', '0'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', 'two', '--of', 'groningen', '--min-copies', '0'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '1', '--of', 'groningen,groningen', '--min-copies', '0'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '1', '--of', 'Groningen', '--min-copies', '0'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '1', '--of', ',', '--min-copies', '0'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '1', '--of', 'groningen', '--min-copies=-1'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '1', '--of', 'groningen', '--min-copies', '1', '--min-distance-km', '0'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '1', '--of', 'groningen', '--min-copies', '1', '--min-distance-km', '25000'), EXIT.USAGE, 'usage');
    await refused(set('--quorum', '1', '--of', 'groningen', '--min-copies', '1', '--rpo-target', '0'), EXIT.USAGE, 'usage');
    await refused(['policy', 'set', '--dir', home, '--dataset', 'nl.bag.panden', '--quorum', '1', '--of', 'groningen', '--min-copies', '1'], EXIT.SITE, 'dataset.unknown');
    await refused(['policy', 'set', '--dir', mirror, '--dataset', DS, '--quorum', '1', '--of', 'groningen', '--min-copies', '1'], EXIT.SITE, 'site.config');
    await refused(['policy', 'set', '--dir', join(home, 'none'), '--dataset', DS, '--quorum', '1', '--of', 'groningen', '--min-copies', '1'], EXIT.SITE, 'site.missing');
    assert.equal((await runMain(['policy', 'set', '--dir', home, '--dataset', DS, '--quorum', '1', '--of', 'groningen'])).code, EXIT.USAGE, 'missing --min-copies');
    assert.equal(await logSize(home), size);
  });

  test('statement add refuses the reserved type placement', async (t) => {
    const { home } = await federation(t);
    const size = await logSize(home);
    const file = join(home, '..', 'placement.ndjson');
    writeFileSync(file, JSON.stringify({ type: 'placement', dataset: DS, quorum: { threshold: 1, sites: ['groningen'] }, minCopies: 0 }) + '\n');
    const r = await runMain(['statement', 'add', '--dir', home, file, '--json']);
    assert.equal(r.code, EXIT.INPUT);
    const err = JSON.parse(r.stderr).error;
    assert.equal(err.code, 'input.malformed');
    assert.match(err.message, /reserved.*policy set/);
    assert.equal(await logSize(home), size);
  });
});
