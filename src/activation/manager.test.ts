// The activation manager in-process, over a real home (ingested, key ceremony held) and a real
// mirror log: shares one by one, refusals, serving through the views, deactivation wiping keys,
// drills, expiry, the collection time limit, extension and recovery after a restart.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEmbassyError } from '../errors.ts';
import { runMain } from '../../test/support/run-main.ts';
import { writeSnapshot } from '../../test/support/federation.ts';
import { Site, initSite } from '../site/site.ts';
import { holdCeremony } from '../custody/ceremony.ts';
import { openShareFile } from '../custody/share-file.ts';
import { loadCatalog, versionRoot } from '../catalog/catalog.ts';
import type { SiteCard } from '../net/card.ts';
import type { PackObjectStore } from '../store/pack-store.ts';
import { getRecord } from '../tree/read.ts';
import { MirrorLog } from './mirror-log.ts';
import { ActivationManager, type ActivationManagerDeps, type ShareSubmission } from './manager.ts';
import { parseDuration } from './duration.ts';

const DS = 'nl.test.personen';
const PASS = 'correct horse battery staple';
const quiet = { info: () => undefined, warn: () => undefined };

let tmp: string;
let home: Site;
let other: Site;
let mirror: Site;
let objects: PackObjectStore;
let card: SiteCard;
let shares: ShareSubmission[];
let foreign: ShareSubmission;

async function ceremony(site: Site, outDir: string, threshold: number): Promise<ShareSubmission[]> {
  const names = ['anna', 'bram', 'carla'];
  await holdCeremony(site, { kind: 'init', names, threshold, passphrases: new Map(names.map((n) => [n, PASS])), outDir, logN: 14 });
  return Promise.all(names.map(async (n) => openShareFile(readFileSync(join(outDir, `${n}.share`), 'utf8'), PASS, n)));
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'embassy-activation-'));
  for (const [name, role] of [['den-haag', 'home'], ['elders', 'home']] as const) {
    const dir = join(tmp, name);
    assert.equal((await runMain(['init', '--dir', dir, '--name', name, '--role', role, '--origin', `${name}.example/embassy`])).code, 0);
    assert.equal((await runMain(['dataset', 'add', '--dir', dir, '--id', DS, '--key', 'bsn'])).code, 0);
    const r = await runMain(['ingest', '--dir', dir, '--dataset', DS, writeSnapshot(join(tmp, `${name}.ndjson`), 500, 1)]);
    assert.equal(r.code, 0, r.stderr);
  }
  home = await Site.open(join(tmp, 'den-haag'));
  other = await Site.open(join(tmp, 'elders'));
  shares = await ceremony(home, join(tmp, 'shares'), 2);
  foreign = (await ceremony(other, join(tmp, 'other-shares'), 2))[0]!;
  await initSite(join(tmp, 'groningen'), { name: 'groningen', role: 'mirror' });
  mirror = await Site.open(join(tmp, 'groningen'));
  objects = await home.openObjects();
  card = { name: 'den-haag', role: 'home', origin: home.config.origin, logVerifierKey: home.config.logVerifierKey, url: 'https://127.0.0.1:9' } as SiteCard;
});

after(async () => {
  await objects?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function manager(over: Partial<ActivationManagerDeps> & { homeUp?: () => boolean } = {}): { m: ActivationManager; log: MirrorLog } {
  return { m: new ActivationManager(deps(over)), log: logOf() };
}

// One writer per log, as in a node: every manager of these tests shares it.
let shared: MirrorLog | undefined;
function logOf(): MirrorLog {
  shared ??= new MirrorLog(mirror.logStore(), identity!);
  return shared;
}
let identity: Awaited<ReturnType<Site['logIdentity']>> | undefined;

function deps(over: Partial<ActivationManagerDeps> & { homeUp?: () => boolean }): ActivationManagerDeps {
  const { homeUp, ...rest } = over;
  return {
    site: { name: 'groningen', origin: mirror.config.origin },
    peers: () => [card],
    openHomeCopy: async () => ({ catalog: await loadCatalog(home.logStore(), home.logVerifier()), log: home.logStore() }),
    objects,
    log: logOf(),
    homeAnswers: async () => homeUp?.() ?? false,
    journalHead: () => ({ seq: 0, head: '' }),
    logger: quiet,
    ...rest,
  };
}

async function statements(): Promise<string[]> {
  return (await logOf().statements()).map(({ statement: s }) => (s.type === 'activation-share' ? `share:${s.custodian}:${s.accepted ? 'ok' : s.reason}` : s.type === 'deactivation' ? `deactivation:${s.reason}` : s.type));
}

async function firstRecordKey(m: ActivationManager): Promise<string | undefined> {
  const view = m.dataset(DS)!;
  const v = view.versions[view.versions.length - 1]!;
  const r = await getRecord(versionRoot(v), '100000007', view.treeFor(v).store);
  return r ? JSON.parse(new TextDecoder().decode(r.value)).naam : undefined;
}

describe('activation manager', () => {
  before(async () => {
    identity = await mirror.logIdentity();
  });

  test('a non-drill activation is refused while the home answers, and the refusal is logged', async () => {
    const before = (await statements()).length;
    const { m } = manager({ homeUp: () => true });
    await assert.rejects(m.submitShare(shares[0]!), (e) => isEmbassyError(e, 'activation.conflict'));
    assert.equal(m.status().state, 'inactive');
    assert.deepEqual((await statements()).slice(before), ['share:anna:activation.conflict']);
  });

  test('shares one by one: refusals, activation at M, serving, deactivation wipes the keys', async () => {
    const before = (await statements()).length;
    const { m } = manager();
    const r1 = await m.submitShare({ ...shares[0]!, request: { reason: 'flood at the home' } });
    assert.equal(r1.have, 1);
    assert.equal(r1.need, 2);
    assert.equal(r1.status.state, 'collecting');
    assert.equal(m.current(), undefined, 'nothing is served with M−1 shares');
    assert.equal(m.dataset(DS), undefined);

    await assert.rejects(m.submitShare(foreign), (e) => isEmbassyError(e, 'custody.wrong-share'));
    await assert.rejects(m.submitShare(shares[0]!), (e) => isEmbassyError(e, 'activation.conflict'), 'a custodian counts once');
    const forged = { ...shares[1]!, share: new Uint8Array(shares[1]!.share).map((b, i) => (i === 0 ? b ^ 1 : b)) };
    await assert.rejects(m.submitShare(forged), (e) => isEmbassyError(e, 'custody.wrong-share'));
    await assert.rejects(m.submitShare({ ...shares[1]!, request: { drill: true } }), (e) => isEmbassyError(e, 'activation.conflict'));
    assert.equal(m.status().collecting?.have, 1);

    const r2 = await m.submitShare(shares[1]!);
    assert.equal(r2.status.state, 'active');
    assert.deepEqual(r2.activated?.datasets, [DS]);
    const current = m.current()!;
    assert.equal(current.drill, false);
    assert.equal(await firstRecordKey(m), 'Persoon 7');
    await assert.rejects(m.submitShare(shares[2]!), (e) => isEmbassyError(e, 'activation.conflict'), 'no second activation while one is in force');

    const view = m.dataset(DS)!;
    const v = view.versions[0]!;
    const store = view.treeFor(v).store;
    const d = await m.deactivate('operator');
    assert.equal(d.deactivated?.reason, 'operator');
    assert.equal(m.current(), undefined);
    assert.equal(m.dataset(DS), undefined);
    assert.throws(() => view.treeFor(v), (e) => isEmbassyError(e, 'activation.inactive'), 'the view holds no key any more');
    await assert.rejects(getRecord(versionRoot(v), '100000008', store), (e) => isEmbassyError(e, 'activation.inactive'));
    assert.equal(m.status().last?.reason, 'operator');

    assert.deepEqual((await statements()).slice(before), [
      'share:anna:ok', 'share:anna:custody.wrong-share', 'share:anna:activation.conflict', 'share:bram:custody.wrong-share',
      'share:bram:activation.conflict', 'share:bram:ok', 'activation', 'share:carla:activation.conflict', 'deactivation:operator',
    ]);
    await assert.rejects(m.deactivate(), (e) => isEmbassyError(e, 'activation.inactive'));
  });

  test('a drill with the home up: verified answers, full verification, statement, deactivation', async () => {
    const { m } = manager({ homeUp: () => true });
    const r = await m.drill([shares[2]!, shares[0]!]);
    const report = r.drill!;
    assert.ok(report, 'the M-th share ran the drill');
    assert.equal(report.statement.ok, true, JSON.stringify(report.statement));
    assert.equal(report.statement.datasets[0]!.records, 500);
    assert.equal(report.statement.datasets[0]!.commitmentOk, true);
    assert.ok(report.statement.datasets[0]!.objects > 0);
    assert.equal(report.statement.samples, 3);
    assert.ok(report.samples.every((s) => s.verified));
    assert.ok(report.statement.rto.fullVerificationMs >= report.statement.rto.firstVerifiedAnswerMs);
    assert.equal(report.activation.drill, true);
    assert.match(report.checkpoint, /^groningen|data-embassy\.example\/groningen/);
    assert.equal(m.status().state, 'inactive');
    assert.equal(m.status().last?.reason, 'drill-complete');
    const tail = (await statements()).slice(-5);
    assert.deepEqual(tail, ['share:carla:ok', 'share:anna:ok', 'activation', 'drill', 'deactivation:drill-complete']);
  });

  test('an activation expires; a collection is wiped after its time limit', async () => {
    const { m } = manager({ collectTtlMs: 150 });
    await m.submitShare({ ...shares[0]!, request: { durationMs: parseDuration('300ms') } });
    await m.submitShare(shares[1]!);
    assert.ok(m.current());
    await waitUntil(() => m.status().last?.reason === 'expired');
    assert.equal(m.current(), undefined);
    assert.deepEqual((await statements()).slice(-1), ['deactivation:expired']);

    await m.submitShare(shares[0]!);
    assert.equal(m.status().state, 'collecting');
    await waitUntil(() => m.status().state === 'inactive');
    assert.equal(m.status().collecting, undefined);
  });

  test('an extension needs M shares; a restart closes what was left open', async () => {
    const { m } = manager();
    await m.submitShare(shares[0]!);
    await m.submitShare(shares[1]!);
    await assert.rejects(m.extend([shares[2]!], parseDuration('2h')), (e) => isEmbassyError(e, 'custody.short'));
    await assert.rejects(m.extend([foreign, shares[2]!], parseDuration('2h')), (e) => isEmbassyError(e, 'custody.wrong-share'));
    const ext = await m.extend([shares[2]!, shares[1]!], parseDuration('2h'));
    assert.ok(Date.parse(ext.notAfter) > Date.now() + 3_600_000);
    assert.deepEqual((await statements()).slice(-1), ['activation-extension']);

    // The process dies with the activation in force: the next one starts inactive and says so.
    const { m: next } = manager();
    const closed = await next.start();
    assert.deepEqual(closed, [m.current()!.id]);
    assert.equal(next.status().state, 'inactive');
    assert.deepEqual((await statements()).slice(-1), ['deactivation:restart']);
    assert.deepEqual(await manager().m.start(), [], 'nothing left open');
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(check(), 'condition not reached within 5 s');
}
