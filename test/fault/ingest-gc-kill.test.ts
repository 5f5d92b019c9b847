// kill -9 of real `embassy ingest` and `embassy gc` processes at many points (fractions of a
// measured uninterrupted run, with small packs so that many pack writes and index commits are
// in flight), then restart: the site verifies with keys and blind, holds the old or the new
// version (never a half-written one), and the interrupted work completes when run again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EMBASSY_BIN, embassy } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';

const DS = 'nl.test.personen';
const FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75];

function record(i: number, v = 0): string {
  return JSON.stringify({ bsn: String(200_000_000 + i * 3), naam: `Naam ${i} ${v}`, adres: { postcode: `${1000 + (i % 900)}XY`, huisnummer: i % 200 }, pad: 'p'.repeat(i % 64) });
}

function logSize(dir: string): number {
  return Number(readFileSync(join(dir, 'log', 'checkpoint'), 'utf8').split('\n')[1]);
}

function runKilled(args: string[], afterMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EMBASSY_BIN, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal);
    });
  });
}

function assertVerifies(dir: string, label: string): void {
  for (const mode of [[], ['--blind']]) {
    const v = embassy(['verify', '--dir', dir, '--json', ...mode]);
    assert.equal(v.status, 0, `${label} ${mode.join('')}: ${v.stdout}${v.stderr}`);
  }
}

function setup(t: import('node:test').TestContext) {
  const tmp = tempDir(t);
  const dir = join(tmp, 'home');
  assert.equal(embassy(['init', '--dir', dir, '--name', 'home', '--role', 'home']).status, 0);
  const cfg = JSON.parse(readFileSync(join(dir, 'site.json'), 'utf8'));
  writeFileSync(join(dir, 'site.json'), JSON.stringify({ ...cfg, packSize: 64 * 1024 }, null, 2));
  assert.equal(embassy(['dataset', 'add', '--dir', dir, '--id', DS, '--key', 'bsn', '--index', 'adres.postcode']).status, 0);
  const file = join(tmp, 'snap.ndjson');
  writeFileSync(file, Array.from({ length: 15_000 }, (_, i) => record(i)).join('\n') + '\n');
  return { tmp, dir, file };
}

test('kill -9 during ingest at many points: restart verifies and the ingest completes', async (t) => {
  const { tmp, dir, file } = setup(t);
  const pristine = join(tmp, 'pristine');
  cpSync(dir, pristine, { recursive: true });

  const t0 = performance.now();
  const full = embassy(['ingest', '--dir', dir, '--dataset', DS, file, '--json']);
  const duration = performance.now() - t0;
  assert.equal(full.status, 0, full.stderr);
  const want = full.json();

  let killed = 0;
  for (const f of FRACTIONS) {
    rmSync(dir, { recursive: true, force: true });
    cpSync(pristine, dir, { recursive: true });
    const before = logSize(dir);
    const signal = await runKilled(['ingest', '--dir', dir, '--dataset', DS, file], duration * f);
    if (signal === 'SIGKILL') killed++;
    const after = logSize(dir);
    assert.ok(after === before || after === before + 1, `after kill at ${f}: log size ${after}`);
    assertVerifies(dir, `after kill at ${f}`);
    const again = embassy(['ingest', '--dir', dir, '--dataset', DS, file, '--json']);
    assert.equal(again.status, 0, again.stderr);
    // Same content, same tree: history independence survives a crash and its leftovers.
    assert.equal(again.json().root, want.root);
    assertVerifies(dir, `after re-ingest (kill at ${f})`);
  }
  assert.ok(killed >= 3, `only ${killed} of ${FRACTIONS.length} runs were killed mid-way (the machine may be very loaded)`);
});

test('kill -9 during gc at many points: no retained object is lost and gc completes', async (t) => {
  const { tmp, dir, file } = setup(t);
  assert.equal(embassy(['ingest', '--dir', dir, '--dataset', DS, file]).status, 0);
  for (let v = 1; v <= 3; v++) {
    const changes = join(tmp, `c${v}.ndjson`);
    writeFileSync(changes, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ op: 'upsert', record: JSON.parse(record(i * 7 + v, v)) })).join('\n') + '\n');
    assert.equal(embassy(['ingest', '--dir', dir, '--dataset', DS, changes, '--changes']).status, 0);
  }
  const pristine = join(tmp, 'pristine');
  cpSync(dir, pristine, { recursive: true });
  const newest = embassy(['get', '--dir', dir, '--dataset', DS, String(200_000_000 + 3 * 7 * 5 + 9), '--json']);

  const t0 = performance.now();
  const full = embassy(['gc', '--dir', dir, '--keep-last', '1', '--json']);
  const duration = performance.now() - t0;
  assert.equal(full.status, 0, full.stderr);
  assert.ok(full.json().objectsRemoved > 0);

  for (const f of FRACTIONS) {
    rmSync(dir, { recursive: true, force: true });
    cpSync(pristine, dir, { recursive: true });
    await runKilled(['gc', '--dir', dir, '--keep-last', '1'], duration * f);
    assertVerifies(dir, `after gc killed at ${f}`);
    const again = embassy(['gc', '--dir', dir, '--keep-last', '1', '--json']);
    assert.equal(again.status, 0, again.stderr);
    assertVerifies(dir, `after gc re-run (killed at ${f})`);
    const r = embassy(['get', '--dir', dir, '--dataset', DS, String(200_000_000 + 3 * 7 * 5 + 9), '--json']);
    assert.equal(r.stdout, newest.stdout);
    // The retired versions are gone from the catalog's point of view.
    assert.notEqual(embassy(['get', '--dir', dir, '--dataset', DS, '200000000', '--version', '1']).status, 0);
  }
});
