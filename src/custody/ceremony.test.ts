// The key ceremony at a home, in process: init rewraps every data key under a new KEK and writes
// share files that rebuild it; rotate makes old shares useless; reshare keeps the KEK. And crash
// recovery of the KEK file: a ceremony stopped after its log append leaves kek.key.next, which the
// next KEK read puts in place; one stopped before the append leaves it too, and the next read
// under no contention deletes it and keeps the old KEK, which still opens everything.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from '../../test/support/tmp.ts';
import { runMain } from '../../test/support/run-main.ts';
import { EmbassyError, type ErrorCode } from '../errors.ts';
import { loadCatalog } from '../catalog/catalog.ts';
import { keyFingerprint } from '../crypto/aead.ts';
import { toHex } from '../format/bytes.ts';
import { unwrapDatasetKey } from '../seal/datasets.ts';
import { Site } from '../site/site.ts';
import { holdCeremony, type CeremonyKind, type CeremonyStep } from './ceremony.ts';
import { rebuildKek } from './kek.ts';
import { openShareFile } from './share-file.ts';

const NAMES = ['anna', 'bram', 'cees'];
const pass = (name: string) => `passphrase of ${name}!`;
const PASSES = new Map(NAMES.map((n) => [n, pass(n)]));

function isCode(code: ErrorCode) {
  return (e: unknown) => e instanceof EmbassyError && e.code === code;
}

async function ok(args: string[]): Promise<string> {
  const r = await runMain(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A home with two datasets, one of them with a version. */
async function home(t: TestContext): Promise<{ root: string; dir: string }> {
  const root = tempDir(t);
  const dir = join(root, 'home');
  await ok(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home']);
  await ok(['dataset', 'add', '--dir', dir, '--id', 'nl.a', '--key', 'id']);
  await ok(['dataset', 'add', '--dir', dir, '--id', 'nl.b', '--key', 'id']);
  const file = join(root, 'a.ndjson');
  writeFileSync(file, [1, 2, 3].map((i) => JSON.stringify({ id: `k${i}`, v: i })).join('\n') + '\n');
  await ok(['ingest', '--dir', dir, '--dataset', 'nl.a', file, '--source-time', '2026-01-01T00:00:00Z']);
  return { root, dir };
}

async function kekFp(site: Site): Promise<string> {
  const kek = await site.readKek();
  try {
    return toHex(keyFingerprint(kek));
  } finally {
    kek.fill(0);
  }
}

function run(site: Site, kind: CeremonyKind, outDir: string, afterStep?: (s: CeremonyStep) => void) {
  return holdCeremony(site, { kind, names: NAMES, threshold: 2, passphrases: PASSES, outDir, logN: 14, ...(afterStep ? { afterStep } : {}) });
}

async function openAll(outDir: string): Promise<{ custodian: string; share: Uint8Array }[]> {
  return Promise.all(NAMES.map(async (n) => {
    const { meta, share } = await openShareFile(readFileSync(join(outDir, `${n}.share`), 'utf8'), pass(n), n);
    return { custodian: meta.custodian, share };
  }));
}

describe('key ceremony', () => {
  test('init, rotate, reshare: data keys follow the KEK, shares rebuild it, old shares are refused', async (t) => {
    const { root, dir } = await home(t);
    const site = await Site.open(dir);
    const before = await kekFp(site);

    const init = await run(site, 'init', join(root, 's1'));
    assert.equal(init.custody.epoch, 1);
    assert.equal(init.rewrapped, 2);
    assert.equal(init.previousKekFingerprint, before);
    assert.notEqual(init.custody.kekFingerprint, before);
    assert.equal(await kekFp(site), init.custody.kekFingerprint);
    assert.ok(!existsSync(join(dir, 'keys', 'kek.key.next')));
    for (const f of readdirSync(join(root, 's1'))) assert.equal(statSync(join(root, 's1', f)).mode & 0o777, 0o600);
    let catalog = await loadCatalog(site.logStore(), site.logVerifier());
    assert.deepEqual(catalog.custody?.statement, init.custody);
    const s1 = await openAll(join(root, 's1'));
    const kek1 = await rebuildKek(catalog.custody!.statement, s1.slice(0, 2));
    assert.equal(toHex(keyFingerprint(kek1)), init.custody.kekFingerprint);
    for (const ds of catalog.datasets.values()) assert.equal(unwrapDatasetKey(ds, 1, kek1).length, 32);
    assert.equal((await runMain(['get', '--dir', dir, '--dataset', 'nl.a', 'k2', '--json'])).code, 0);

    await assert.rejects(run(site, 'init', join(root, 'again')), isCode('usage'));

    const rot = await run(site, 'rotate', join(root, 's2'));
    assert.equal(rot.custody.epoch, 2);
    assert.notEqual(rot.custody.kekFingerprint, init.custody.kekFingerprint);
    catalog = await loadCatalog(site.logStore(), site.logVerifier());
    // Old shares are not the ones the new statement records.
    await assert.rejects(rebuildKek(catalog.custody!.statement, s1), isCode('custody.wrong-share'));
    const kek2 = await rebuildKek(catalog.custody!.statement, (await openAll(join(root, 's2'))).slice(1));
    for (const ds of catalog.datasets.values()) unwrapDatasetKey(ds, 1, kek2);
    assert.throws(() => unwrapDatasetKey(catalog.datasets.get('nl.a')!, 1, kek1), isCode('crypto.auth-failed'));

    const re = await run(site, 'reshare', join(root, 's3'));
    assert.equal(re.custody.epoch, 3);
    assert.equal(re.rewrapped, 0);
    assert.equal(re.custody.kekFingerprint, rot.custody.kekFingerprint);
    catalog = await loadCatalog(site.logStore(), site.logVerifier());
    assert.deepEqual(await rebuildKek(catalog.custody!.statement, (await openAll(join(root, 's3'))).slice(0, 2)), kek2);
    // The epoch-2 shares rebuild the same KEK but are not the recorded ones: refused all the same.
    await assert.rejects(rebuildKek(catalog.custody!.statement, await openAll(join(root, 's2'))), isCode('custody.wrong-share'));
    assert.equal((await runMain(['verify', '--dir', dir])).code, 0);
  });

  test('refusals: existing share files, no custody for rotate, a mirror site', async (t) => {
    const { root, dir } = await home(t);
    const site = await Site.open(dir);
    await assert.rejects(run(site, 'rotate', join(root, 'x')), isCode('custody.none'));
    writeFileSync(join(root, 'bram.share'), 'keep me');
    await assert.rejects(run(site, 'init', root), isCode('site.exists'));
    assert.equal(readFileSync(join(root, 'bram.share'), 'utf8'), 'keep me');
    const mirror = join(root, 'mirror');
    await ok(['init', '--dir', mirror, '--name', 'groningen', '--role', 'mirror']);
    await assert.rejects(run(await Site.open(mirror), 'init', join(root, 'y')), isCode('site.config'));
  });

  test('crash after the log append: the next KEK read puts kek.key.next in place', async (t) => {
    const { root, dir } = await home(t);
    const site = await Site.open(dir);
    const before = await kekFp(site);
    const crash = new Error('crash after append');
    await assert.rejects(run(site, 'init', join(root, 's'), (step) => { if (step === 'appended') throw crash; }), (e) => e === crash);
    assert.ok(existsSync(join(dir, 'keys', 'kek.key.next')));
    // kek.key itself is still the old key …
    const fresh = await Site.open(dir);
    const catalog = await loadCatalog(fresh.logStore(), fresh.logVerifier());
    assert.notEqual(catalog.custody!.statement.kekFingerprint, before);
    // … until the first read, which sees the log naming the staged key.
    assert.equal(await kekFp(fresh), catalog.custody!.statement.kekFingerprint);
    assert.ok(!existsSync(join(dir, 'keys', 'kek.key.next')));
    assert.equal(statSync(join(dir, 'keys', 'kek.key')).mode & 0o777, 0o600);
    assert.equal((await runMain(['get', '--dir', dir, '--dataset', 'nl.a', 'k1'])).code, 0);
  });

  test('crash before the log append: the staged key is deleted and the old KEK stays in force', async (t) => {
    const { root, dir } = await home(t);
    const site = await Site.open(dir);
    const before = await kekFp(site);
    const crash = new Error('crash before append');
    await assert.rejects(run(site, 'init', join(root, 's'), (step) => { if (step === 'kek-staged') throw crash; }), (e) => e === crash);
    assert.ok(existsSync(join(dir, 'keys', 'kek.key.next')));
    const fresh = await Site.open(dir);
    assert.equal((await loadCatalog(fresh.logStore(), fresh.logVerifier())).custody, undefined);
    assert.equal(await kekFp(fresh), before);
    assert.ok(!existsSync(join(dir, 'keys', 'kek.key.next')));
    // The ceremony can simply be held again.
    const again = await run(fresh, 'init', join(root, 's-again'));
    assert.equal(again.custody.epoch, 1);
    assert.equal(await kekFp(fresh), again.custody.kekFingerprint);
  });

  test('a staged key not yet in the log is left alone while another process holds the lock', async (t) => {
    const { root, dir } = await home(t);
    const site = await Site.open(dir);
    const before = await kekFp(site);
    await assert.rejects(run(site, 'init', join(root, 's'), (step) => { if (step === 'kek-staged') throw new Error('stop'); }));
    // Another writer (here: a lock file naming this live process) may be the ceremony itself.
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname() }));
    try {
      assert.equal(await kekFp(await Site.open(dir)), before);
      assert.ok(existsSync(join(dir, 'keys', 'kek.key.next')), 'not deleted under another holder\'s lock');
    } finally {
      (await import('node:fs')).rmSync(join(dir, 'lock'));
    }
    assert.equal(await kekFp(await Site.open(dir)), before);
    assert.ok(!existsSync(join(dir, 'keys', 'kek.key.next')));
  });
});
