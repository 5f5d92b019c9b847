// End to end through the real CLI (issue 3): declare a dataset, seal versions from snapshots and
// change files, read and prove records, verify with and without keys; history independence;
// every bad-input case (file, line, key; no version committed); any flipped pack byte found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';

const DS = 'nl.test.personen';

function person(i: number, variant = 0): Record<string, unknown> {
  return {
    bsn: String(100_000_000 + i * 7),
    naam: { geslachtsnaam: `Jansen${i % 97}`, voornamen: variant ? `Changed ${variant}` : `Piet ${i}` },
    postcode: `${1000 + (i % 900)}AB`,
    huisnummer: (i % 150) + 1,
    notities: 'x'.repeat(i % 40),
  };
}

function ndjson(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

function home(t: import('node:test').TestContext, n = 3000): { dir: string; tmp: string; vkey: string; file: string } {
  const tmp = tempDir(t);
  const dir = join(tmp, 'home');
  const init = embassy(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home', '--json']);
  assert.equal(init.status, 0, init.stderr);
  const add = embassy(['dataset', 'add', '--dir', dir, '--id', DS, '--key', 'bsn', '--index', 'postcode,huisnummer', '--json']);
  assert.equal(add.status, 0, add.stderr);
  const file = join(tmp, 'v1.ndjson');
  writeFileSync(file, ndjson(Array.from({ length: n }, (_, i) => person(i))));
  return { dir, tmp, vkey: init.json().logVerifierKey, file };
}

function ingest(dir: string, file: string, ...extra: string[]) {
  return embassy(['ingest', '--dir', dir, '--dataset', DS, file, '--source-time', '2026-11-28T06:00:00Z', '--json', ...extra]);
}

function logSize(dir: string): number {
  return Number(readFileSync(join(dir, 'log', 'checkpoint'), 'utf8').split('\n')[1]);
}

test('seal, change, get, prove offline, verify with keys and blind', (t) => {
  const { dir, tmp, vkey, file } = home(t);
  const v1 = ingest(dir, file);
  assert.equal(v1.status, 0, v1.stderr);
  const s1 = v1.json();
  assert.equal(s1.version, 1);
  assert.equal(s1.records, 3000);
  assert.ok(s1.newObjects > 0 && s1.newBytes > 0);
  for (const f of ['root', 'commitment']) assert.equal(typeof s1[f], 'string');

  const changes = join(tmp, 'c.ndjson');
  writeFileSync(changes, ndjson([
    { op: 'upsert', record: person(5, 1) },
    { op: 'upsert', record: person(100_000, 0) },
    { op: 'delete', key: person(6).bsn },
  ]));
  const v2 = ingest(dir, changes, '--changes');
  assert.equal(v2.status, 0, v2.stderr);
  const s2 = v2.json();
  assert.deepEqual([s2.version, s2.records, s2.added, s2.updated, s2.deleted], [2, 3000, 1, 1, 1]);
  assert.ok(s2.newObjects < s1.newObjects / 10, `a 3-record change wrote ${s2.newObjects} objects`);

  const got = embassy(['get', '--dir', dir, '--dataset', DS, person(5).bsn as string, '--json']);
  assert.equal(got.status, 0, got.stderr);
  assert.equal(got.json().value.naam.voornamen, 'Changed 1');
  const old = embassy(['get', '--dir', dir, '--dataset', DS, person(6).bsn as string, '--version', '1', '--json']);
  assert.equal(old.status, 0);
  assert.equal(embassy(['get', '--dir', dir, '--dataset', DS, person(6).bsn as string]).status, EXIT.NOT_FOUND);

  const proof = embassy(['get', '--dir', dir, '--dataset', DS, person(5).bsn as string, '--proof']);
  assert.equal(proof.status, 0, proof.stderr);
  const bundleFile = join(tmp, 'proof.json');
  writeFileSync(bundleFile, proof.stdout);
  const ok = embassy(['proof', 'verify', '--vkey', vkey, bundleFile, '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.json().version, 2);
  assert.equal(ok.json().record.value.naam.voornamen, 'Changed 1');
  // A bundle reveals the record and hashes only: no other record's key or value.
  assert.ok(!proof.stdout.includes(person(4).bsn as string) && !proof.stdout.includes('Piet'));

  for (const [what, mutate] of [
    ['record value', (b: any) => { b.record.value = Buffer.from('{"bsn":"1"}').toString('base64'); }],
    ['record key', (b: any) => { b.record.key = '100000014'; }],
    ['salt', (b: any) => { b.record.salt = Buffer.alloc(24, 1).toString('base64'); }],
    ['statement commitment', (b: any) => { b.statement.commitment = b.statement.commitment.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A')); }],
    ['statement records', (b: any) => { b.statement.records += 1; }],
    ['log index', (b: any) => { b.logIndex += 1; }],
    ['checkpoint', (b: any) => { b.checkpoint = b.checkpoint.replace('\n4\n', '\n5\n'); }],
  ] as const) {
    const b = JSON.parse(proof.stdout);
    mutate(b);
    writeFileSync(bundleFile, JSON.stringify(b));
    const r = embassy(['proof', 'verify', '--vkey', vkey, bundleFile]);
    assert.notEqual(r.status, 0, `tampered ${what} accepted`);
  }
  writeFileSync(bundleFile, proof.stdout);
  const otherKey = embassy(['init', '--dir', join(tmp, 'other'), '--name', 'other', '--role', 'home', '--json']).json().logVerifierKey;
  assert.equal(embassy(['proof', 'verify', '--vkey', otherKey, bundleFile]).status, EXIT.INTEGRITY);

  for (const mode of [[], ['--blind']]) {
    const v = embassy(['verify', '--dir', dir, '--json', ...mode]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.equal(v.json().ok, true);
    assert.equal(v.json().versions.versions, 2);
  }
});

test('history independence: a shuffled snapshot and a reverted change set give the same root', (t) => {
  const { dir, tmp, file } = home(t, 2000);
  const s1 = ingest(dir, file).json();
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  for (let i = lines.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  const shuffled = join(tmp, 'shuffled.ndjson');
  writeFileSync(shuffled, lines.join('\n') + '\n');
  const s2 = ingest(dir, shuffled).json();
  assert.equal(s2.root, s1.root);
  assert.equal(s2.commitment, s1.commitment);
  assert.equal(s2.newObjects, 0);

  const forward = join(tmp, 'fwd.ndjson');
  const back = join(tmp, 'back.ndjson');
  const touched = [3, 500, 501, 502, 1999];
  writeFileSync(forward, ndjson([...touched.map((i) => ({ op: 'upsert', record: person(i, 7) })), { op: 'upsert', record: person(5000) }, { op: 'delete', key: person(0).bsn }]));
  writeFileSync(back, ndjson([...touched.map((i) => ({ op: 'upsert', record: person(i) })), { op: 'delete', key: person(5000).bsn }, { op: 'upsert', record: person(0) }]));
  const s3 = ingest(dir, forward, '--changes').json();
  assert.notEqual(s3.root, s1.root);
  const s4 = ingest(dir, back, '--changes').json();
  assert.equal(s4.root, s1.root);
  assert.equal(s4.commitment, s1.commitment);
  assert.deepEqual(s4.indexes, s1.indexes);
});

const BAD: [string, (f: string) => string, string, RegExp][] = [
  ['malformed line', () => '{"bsn":"1", nope}\n', 'ndjson', /:2: /],
  ['missing key', () => '{"naam":"x"}\n', 'ndjson', /:2: .*bsn/],
  ['duplicate key', () => JSON.stringify(person(1)) + '\n', 'ndjson', /duplicate key 100000007/],
  ['invalid UTF-8', () => '\u0000', 'bytes', /:2: .*UTF-8/],
  ['record over the size limit', () => JSON.stringify({ bsn: '5', big: 'x'.repeat(17 * 1024 * 1024) }) + '\n', 'ndjson', /:2: /],
];

for (const [what, line, kind, message] of BAD) {
  test(`bad input (${what}) names file and line, exits 3 and commits no version`, (t) => {
    const { dir, tmp } = home(t, 0);
    const file = join(tmp, 'bad.ndjson');
    const head = JSON.stringify(person(1)) + '\n';
    if (kind === 'bytes') writeFileSync(file, Buffer.concat([Buffer.from(head), Buffer.from([0x7b, 0x22, 0x62, 0xff, 0x22, 0x3a, 0x31, 0x7d, 0x0a])]));
    else writeFileSync(file, head + line(file) + JSON.stringify(person(2)) + '\n');
    const before = logSize(dir);
    const r = ingest(dir, file);
    assert.equal(r.status, EXIT.INPUT, r.stderr);
    assert.ok(r.stderr.includes('bad.ndjson'), `message names the file: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(logSize(dir), before, 'no version committed');
    const list = embassy(['dataset', 'list', '--dir', dir, '--json']).json();
    assert.equal(list[0].versions, 0);
    assert.equal(embassy(['verify', '--dir', dir]).status, 0);
  });
}

test('flipping any byte of any stored pack is found by verify --blind', (t) => {
  const { dir, file } = home(t, 1500);
  assert.equal(ingest(dir, file).status, 0);
  const packs: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.pack')) packs.push(p);
    }
  };
  walk(join(dir, 'objects'));
  assert.ok(packs.length >= 1);
  let flips = 0;
  for (const pack of packs) {
    const original = readFileSync(pack);
    // Every region: magic, the first entry's id and length, object bytes, the trailer, the end.
    const offsets = [0, 7, 8, 39, 40, 43, 44, 100, Math.floor(original.length / 2), original.length - 13, original.length - 5, original.length - 1];
    for (const off of offsets) {
      const bytes = Buffer.from(original);
      bytes[off]! ^= 0x10;
      writeFileSync(pack, bytes);
      const r = embassy(['verify', '--dir', dir, '--blind', '--json']);
      assert.equal(r.status, EXIT.FINDINGS, `flip at ${pack}:${off} not found: ${r.stdout}${r.stderr}`);
      flips++;
    }
    writeFileSync(pack, original);
  }
  assert.equal(embassy(['verify', '--dir', dir, '--blind']).status, 0);
  assert.ok(flips >= 12);
});
