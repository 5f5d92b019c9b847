// `embassy dataset rotate-key` in real processes: a new data key is logged; the next version is
// sealed under it from a snapshot (a change file across the key change is refused, naming both
// keys); every version stays readable and provable under its own key; verify passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embassy } from '../../test/support/cli.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { EXIT } from './exit-codes.ts';

function ok(args: string[]) {
  const r = embassy(args);
  assert.equal(r.status, EXIT.OK, `embassy ${args.join(' ')}: ${r.stderr}`);
  return r;
}

test('dataset rotate-key: new key logged, next version from a snapshot, old versions readable', async (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 'home');
  const vkey = ok(['init', '--dir', dir, '--name', 'den-haag', '--role', 'home', '--json']).json().logVerifierKey as string;
  ok(['dataset', 'add', '--dir', dir, '--id', 'nl.test', '--key', 'id']);
  const snap = (n: number, tag: string) => {
    const f = join(tmp, `${tag}.ndjson`);
    writeFileSync(f, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `k${String(i).padStart(4, '0')}`, tag })).join('\n') + '\n');
    return f;
  };
  ok(['ingest', '--dir', dir, '--dataset', 'nl.test', snap(200, 'one')]);
  const rot = ok(['dataset', 'rotate-key', '--dir', dir, '--dataset', 'nl.test', '--json']).json();
  assert.equal(rot.dek, 2);

  const changes = join(tmp, 'changes.ndjson');
  writeFileSync(changes, JSON.stringify({ op: 'upsert', record: { id: 'k0001', tag: 'changed' } }) + '\n');
  const refused = embassy(['ingest', '--dir', dir, '--dataset', 'nl.test', '--changes', changes]);
  assert.equal(refused.status, EXIT.USAGE, refused.stderr);
  assert.match(refused.stderr, /sealed under data key 1, the current key is 2/);

  const v2 = ok(['ingest', '--dir', dir, '--dataset', 'nl.test', snap(200, 'two'), '--json']).json();
  assert.equal(v2.version, 2);
  // Counted across the key change by reading the old version with its own key.
  assert.deepEqual([v2.added, v2.updated, v2.deleted], [0, 200, 0]);
  ok(['ingest', '--dir', dir, '--dataset', 'nl.test', '--changes', changes]);
  assert.equal(ok(['get', '--dir', dir, '--dataset', 'nl.test', 'k0001', '--version', '1', '--json']).json().value.tag, 'one');
  assert.equal(ok(['get', '--dir', dir, '--dataset', 'nl.test', 'k0001', '--json']).json().value.tag, 'changed');
  const bundle = join(tmp, 'proof.json');
  writeFileSync(bundle, ok(['get', '--dir', dir, '--dataset', 'nl.test', 'k0001', '--version', '1', '--proof']).stdout);
  ok(['proof', 'verify', '--vkey', vkey, bundle]);
  const keys = ok(['log', 'show', '--dir', dir, '--type', 'key', '--json']).json() as { statement: { dek: number } }[];
  assert.deepEqual(keys.map((k) => k.statement.dek), [1, 2]);
  ok(['verify', '--dir', dir]);

  const mirror = join(tmp, 'mirror');
  ok(['init', '--dir', mirror, '--name', 'lux', '--role', 'mirror']);
  const wrong = embassy(['dataset', 'rotate-key', '--dir', mirror, '--dataset', 'nl.test']);
  assert.equal(wrong.status, EXIT.SITE, wrong.stderr);
});
