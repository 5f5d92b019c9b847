// getMany: the batch read that serves peers. Same answers as get() one by one, in request order,
// with absent and damaged objects as undefined (damage reported, never thrown), staged objects
// included, and a reader in another "process" (openReader) seeing what the writer committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { isEmbassyError } from '../errors.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { PackObjectStore } from './pack-store.ts';

function object(i: number, size: number): { id: Uint8Array; bytes: Uint8Array } {
  const bytes = new Uint8Array(size).map((_, k) => (i * 31 + k * 7) & 0xff);
  bytes[0] = i & 0xff;
  bytes[1] = (i >> 8) & 0xff;
  return { id: sha256(bytes), bytes };
}

function packs(dir: string): string[] {
  return readdirSync(join(dir, 'packs')).flatMap((sub) => readdirSync(join(dir, 'packs', sub)).map((f) => join(dir, 'packs', sub, f))).sort();
}

test('getMany answers like get, in request order, with absent, staged and damaged objects', async (t) => {
  const dir = tempDir(t);
  const store = await PackObjectStore.open(dir, { targetPackSize: 40 * 1024 });
  t.after(() => store.close());
  const objs = Array.from({ length: 120 }, (_, i) => object(i, 500 + ((i * 977) % 3000)));
  for (const o of objs) await store.put(o.id, o.bytes);
  await store.flush();
  const staged = object(999, 1234);
  await store.put(staged.id, staged.bytes); // not flushed
  const absent = sha256(new Uint8Array([1, 2, 3]));

  // Shuffled request with duplicates, an absent id and a staged one.
  const order = [...objs.keys()].sort((a, b) => ((a * 7919) % 120) - ((b * 7919) % 120));
  const ids = [...order.map((i) => objs[i]!.id), absent, staged.id, objs[5]!.id];
  const got = await store.getMany(ids);
  assert.equal(got.length, ids.length);
  order.forEach((i, k) => assert.deepEqual(got[k], objs[i]!.bytes));
  assert.equal(got[order.length], undefined);
  assert.deepEqual(got[order.length + 1], staged.bytes);
  assert.deepEqual(got[order.length + 2], objs[5]!.bytes);

  // Damage on disk: a flipped byte in one object, and a truncated pack.
  await store.flush();
  const files = packs(dir);
  assert.ok(files.length >= 3);
  const victim = objs[10]!;
  const withVictim = files.find((f) => Buffer.from(readFileSync(f)).includes(Buffer.from(victim.bytes)))!;
  const raw = readFileSync(withVictim);
  const at = Buffer.from(raw).indexOf(Buffer.from(victim.bytes)) + 100;
  raw[at] = raw[at]! ^ 0xff;
  writeFileSync(withVictim, raw);
  const other = files.find((f) => f !== withVictim)!;
  const otherBytes = readFileSync(other);
  truncateSync(other, Math.floor(otherBytes.length / 2));

  const damaged: string[] = [];
  const again = await store.getMany(objs.map((o) => o.id), (id, e) => {
    assert.ok(isEmbassyError(e));
    damaged.push(toHex(id));
  });
  assert.ok(damaged.includes(toHex(victim.id)), 'the flipped object is reported');
  assert.equal(again[10], undefined);
  // Every answer is either exact or undefined-and-reported; intact objects of the truncated pack are served.
  let served = 0;
  objs.forEach((o, i) => {
    if (again[i] === undefined) assert.ok(damaged.includes(toHex(o.id)), `object ${i} is undefined but not reported`);
    else {
      assert.deepEqual(again[i], o.bytes);
      served++;
    }
  });
  assert.ok(served > objs.length / 2);
  assert.ok(damaged.length >= 2, 'objects past the truncation are reported too');
});

test('a reader beside the writer sees each commit, takes no lock and refuses writes', async (t) => {
  const dir = tempDir(t);
  const writer = await PackObjectStore.open(dir);
  t.after(() => writer.close());
  const a = object(1, 2000);
  await writer.put(a.id, a.bytes);
  await writer.flush();
  const reader = await PackObjectStore.openReader(dir);
  t.after(() => reader.close());
  assert.deepEqual(await reader.getMany([a.id]), [a.bytes]);
  const b = object(2, 3000);
  await writer.put(b.id, b.bytes);
  assert.deepEqual(await reader.has([b.id]), [false], 'staged in the writer is not visible');
  await writer.flush();
  assert.deepEqual(await reader.has([b.id]), [true]);
  assert.deepEqual(await reader.get(b.id), b.bytes);
  await assert.rejects(reader.put(b.id, b.bytes), (e) => isEmbassyError(e, 'store.io') && /reading only/.test(e.message));
  // A second writer is refused while the first holds the lock.
  await assert.rejects(PackObjectStore.open(dir), (e) => isEmbassyError(e, 'store.io') && /in use/.test(e.message));
});

test('damage found when the store opens is noted durably until acknowledged, whoever opens it next', async (t) => {
  const dir = tempDir(t);
  let store = await PackObjectStore.open(dir, { targetPackSize: 8 * 1024 });
  for (let i = 0; i < 40; i++) {
    const o = object(i, 1500);
    await store.put(o.id, o.bytes);
  }
  await store.close();
  const files = packs(dir);
  assert.ok(files.length >= 3);
  const { unlinkSync } = await import('node:fs');
  unlinkSync(files[0]!);
  store = await PackObjectStore.open(dir); // recovery drops the missing pack: has() says false for its objects
  assert.equal(store.recovery.missingPacks.length, 1);
  await store.close();
  // A later process did not see the recovery happen, but reads the notes.
  store = await PackObjectStore.open(dir);
  t.after(() => store.close());
  assert.equal(store.recovery.missingPacks.length, 0, 'the second open has nothing left to recover');
  const notes = await store.damageNotes();
  assert.ok(notes.some((l) => /pack [0-9a-f]{64} missing/.test(l)), notes.join('\n'));
  await store.clearDamageNotes();
  assert.deepEqual(await store.damageNotes(), []);
});
