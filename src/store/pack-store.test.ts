import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEmbassyError } from '../errors.ts';
import { toHex } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import { describeObjectStoreConformance, testObject } from './object-store.conformance.ts';
import { scanPack } from './pack-format.ts';
import { PackObjectStore, type PackStoreOptions } from './pack-store.ts';

describeObjectStoreConformance('PackObjectStore (64 KiB packs)', (dir) => PackObjectStore.open(dir, { targetPackSize: 64 * 1024 }));
describeObjectStoreConformance('PackObjectStore (default 32 MiB packs)', (dir) => PackObjectStore.open(dir));

const SMALL: PackStoreOptions = { targetPackSize: 16 * 1024 };

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'embassy-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a store that the test closes at its end (if still open). */
async function openStore(t: TestContext, dir: string, options: PackStoreOptions = SMALL): Promise<PackObjectStore> {
  const s = await PackObjectStore.open(dir, options);
  t.after(() => s.close().catch(() => undefined));
  return s;
}

function packFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of readdirSync(join(dir, 'packs'))) {
    for (const f of readdirSync(join(dir, 'packs', sub))) out.push(join(dir, 'packs', sub, f));
  }
  return out.sort();
}

async function fill(store: PackObjectStore, n: number, from = 0, size = 1000): Promise<{ id: ObjectId; bytes: Uint8Array }[]> {
  const objs = Array.from({ length: n }, (_, i) => testObject(from + i, size));
  for (const o of objs) await store.put(o.id, o.bytes);
  await store.flush();
  return objs;
}

const hexSet = (ids: Iterable<ObjectId>): Set<string> => new Set([...ids].map(toHex));

describe('PackObjectStore: layout', () => {
  test('packs are named by their hash, complete, and about the target size', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    const objs = await fill(store, 100);
    const files = packFiles(dir);
    assert.ok(files.length >= 6, `${files.length} packs`);
    let count = 0;
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(f));
      const hex = toHex(sha256(bytes));
      assert.ok(f.endsWith(join(hex.slice(0, 2), `${hex}.pack`)), f);
      const scan = scanPack(bytes);
      assert.ok(scan.complete);
      count += scan.entries.length;
      assert.ok(bytes.length < 16 * 1024 + 1100, `pack of ${bytes.length} bytes`);
    }
    assert.equal(count, objs.length);
    assert.deepEqual(store.stats(), { packs: files.length, objects: 100, bytes: files.reduce((n, f) => n + readFileSync(f).length, 0), stagedObjects: 0, stagedBytes: 0 });
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
    assert.deepEqual((await store.verifyPacks()).findings, []);
  });

  test('an object larger than the target gets a pack of its own', async (t) => {
    const store = await openStore(t, tempDir(t));
    const big = testObject(1, 100 * 1024);
    await store.put(big.id, big.bytes);
    assert.equal(store.stats().packs, 1);
    assert.deepEqual(await store.get(big.id), big.bytes);
  });

  test('a second open of the same directory is refused while the first holds it', async (t) => {
    const dir = tempDir(t);
    const first = await openStore(t, dir);
    await assert.rejects(PackObjectStore.open(dir), (e) => isEmbassyError(e, 'store.io') && /in use/.test(e.message));
    await first.close();
    const again = await openStore(t, dir);
    await again.close();
  });

  test('refuses objects over the size limit and a bad target size', async (t) => {
    const store = await openStore(t, tempDir(t));
    await assert.rejects(store.put(new Uint8Array(32), new Uint8Array(256 * 1024 * 1024 + 1)), (e) => isEmbassyError(e, 'input.too-large'));
    await assert.rejects(PackObjectStore.open(tempDir(t), { targetPackSize: 0 }), (e) => isEmbassyError(e, 'input.malformed'));
  });
});

describe('PackObjectStore: the index is a cache', () => {
  test('deleted index: reopen indexes every pack again', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    const objs = await fill(store, 60);
    await store.close();
    for (const f of readdirSync(dir).filter((f) => f.startsWith('index.sqlite'))) unlinkSync(join(dir, f));
    const again = await openStore(t, dir);
    assert.equal(again.recovery.packsIndexed.length, packFiles(dir).length);
    for (const o of objs) assert.deepEqual(await again.get(o.id), o.bytes);
    assert.deepEqual((await again.verifyPacks()).findings, []);
  });

  test('garbage in the index file: moved aside and rebuilt', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    const objs = await fill(store, 30);
    await store.close();
    for (const f of readdirSync(dir).filter((f) => f.startsWith('index.sqlite'))) unlinkSync(join(dir, f));
    writeFileSync(join(dir, 'index.sqlite'), 'this is not an SQLite database, not even close, but long enough to have a header'.repeat(100));
    const again = await openStore(t, dir);
    assert.equal(again.recovery.indexRebuilt, true);
    for (const o of objs) assert.deepEqual(await again.get(o.id), o.bytes);
    assert.ok(readdirSync(dir).some((f) => f.startsWith('index.sqlite.corrupt-')));
  });

  test('rebuildIndex gives the same index', async (t) => {
    const store = await openStore(t, tempDir(t));
    const objs = await fill(store, 80);
    const before = store.stats();
    const ids = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const id of store.ids()) out.push(toHex(id));
      return out;
    };
    const listed = await ids();
    const r = await store.rebuildIndex();
    assert.deepEqual(r, { packs: before.packs, objects: 80, damagedPacks: [] });
    assert.deepEqual(store.stats(), before);
    assert.deepEqual(await ids(), listed);
    for (const o of objs) assert.deepEqual(await store.get(o.id), o.bytes);
  });

  test('leftover temp files are removed at open', async (t) => {
    const dir = tempDir(t);
    await (await openStore(t, dir)).close();
    writeFileSync(join(dir, 'tmp', 'abc.1.tmp'), 'half a pack');
    const again = await openStore(t, dir);
    assert.equal(again.recovery.tempFilesRemoved, 1);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  });
});

describe('PackObjectStore: garbage collection', () => {
  test('keeps fully live packs, deletes dead ones, rewrites mixed ones', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    // Three groups of packs: all live, all dead, every third object dead.
    const liveGroup = await fill(store, 30, 0);
    const deadGroup = await fill(store, 30, 100);
    const mixedGroup = await fill(store, 30, 200);
    const dead = hexSet([...deadGroup, ...mixedGroup.filter((_, i) => i % 3 === 0)].map((o) => o.id));
    const before = store.stats();
    const r = await store.collectGarbage((id) => !dead.has(toHex(id)));
    assert.equal(r.objectsRemoved, dead.size);
    assert.ok(r.packsKept >= 1 && r.packsDeleted >= 1 && r.packsRewritten >= 1, JSON.stringify(r));
    assert.equal(r.packsKept + r.packsDeleted + r.packsRewritten, before.packs);
    const after = store.stats();
    assert.equal(after.objects, 90 - dead.size);
    assert.equal(before.bytes - after.bytes, r.bytesFreed);
    assert.equal(after.packs, before.packs - r.packsDeleted - r.packsRewritten + r.packsWritten);
    for (const o of [...liveGroup, ...deadGroup, ...mixedGroup]) {
      if (dead.has(toHex(o.id))) assert.equal(await store.get(o.id), undefined);
      else assert.deepEqual(await store.get(o.id), o.bytes);
    }
    assert.equal(packFiles(dir).length, after.packs);
    assert.deepEqual((await store.verifyPacks()).findings, []);
    // Nothing left to do the second time.
    const again = await store.collectGarbage((id) => !dead.has(toHex(id)));
    assert.deepEqual(again, { packsKept: after.packs, packsRewritten: 0, packsDeleted: 0, packsWritten: 0, objectsRemoved: 0, bytesFreed: 0 });
  });

  test('flushes staged objects first, and everything dead empties the store', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    await fill(store, 10);
    const o = testObject(500);
    await store.put(o.id, o.bytes);
    const r = await store.collectGarbage(() => false);
    assert.equal(r.objectsRemoved, 11);
    assert.deepEqual(packFiles(dir), []);
    assert.equal(store.stats().objects, 0);
  });

  test('a damaged live object stops the sweep before anything is removed', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir, { targetPackSize: 1024 * 1024 });
    const objs = await fill(store, 20);
    const [file] = packFiles(dir);
    const bytes = readFileSync(file!);
    bytes[8 + 36 + 5]! ^= 1; // inside the first object
    writeFileSync(file!, bytes);
    await assert.rejects(store.collectGarbage((id) => toHex(id) !== toHex(objs[1]!.id)), (e) => isEmbassyError(e, 'store.corrupt'));
    assert.deepEqual(packFiles(dir), [file]);
    await store.close();
    const again = await openStore(t, dir);
    for (const o of objs.slice(1)) assert.deepEqual(await again.get(o.id), o.bytes);
    await assert.rejects(again.get(objs[0]!.id), (e) => isEmbassyError(e, 'object.id-mismatch'));
  });

  test('a put during a sweep of an object the sweep deletes is not lost', async (t) => {
    const store = await openStore(t, tempDir(t));
    const objs = await fill(store, 40);
    const victim = objs[7]!;
    const sweep = store.collectGarbage((id) => toHex(id) !== toHex(victim.id));
    await store.put(victim.id, victim.bytes); // e.g. a seal that reuses it, racing the sweep
    await sweep;
    await store.flush();
    assert.deepEqual(await store.get(victim.id), victim.bytes);
  });
});

describe('PackObjectStore: damaged packs', () => {
  test('every flipped byte is found by verifyPacks, and by get() inside an object', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir, { targetPackSize: 1024 * 1024 });
    const objs = [testObject(1, 40), testObject(2, 33), testObject(3, 50)];
    for (const o of objs) await store.put(o.id, o.bytes);
    await store.flush();
    const [file] = packFiles(dir);
    const original = readFileSync(file!);
    const entries = scanPack(new Uint8Array(original)).entries;
    for (let i = 0; i < original.length; i++) {
      const b = Buffer.from(original);
      b[i]! ^= 0x80;
      writeFileSync(file!, b);
      const { findings } = await store.verifyPacks();
      assert.ok(findings.some((f) => f.kind === 'pack-hash-mismatch'), `byte ${i}: ${JSON.stringify(findings)}`);
      for (const [k, e] of entries.entries()) {
        const inside = i >= e.offset && i < e.offset + e.length;
        if (inside) {
          await assert.rejects(store.get(objs[k]!.id), (err) => isEmbassyError(err, 'object.id-mismatch'), `byte ${i}`);
          assert.ok(findings.some((f) => f.kind === 'object-hash-mismatch' && f.object === toHex(objs[k]!.id)));
        } else {
          assert.deepEqual(await store.get(objs[k]!.id), objs[k]!.bytes, `byte ${i}`);
        }
      }
    }
    writeFileSync(file!, original);
    assert.deepEqual((await store.verifyPacks()).findings, []);
  });

  test('a truncated pack is reported by verifyPacks and at reopen', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir, { targetPackSize: 1024 * 1024 });
    const objs = await fill(store, 5, 0, 100);
    const [file] = packFiles(dir);
    truncateSync(file!, readFileSync(file!).length - 60); // the trailer and part of the last object
    const { findings } = await store.verifyPacks();
    assert.ok(findings.some((f) => f.kind === 'pack-incomplete'));
    assert.ok(findings.some((f) => f.kind === 'index-mismatch' && f.object === toHex(objs[4]!.id)));
    await assert.rejects(store.get(objs[4]!.id), (e) => isEmbassyError(e, 'store.corrupt'));
    assert.deepEqual(await store.get(objs[0]!.id), objs[0]!.bytes);
    await store.close();
    // Rebuilt from the packs alone, the truncated pack is reported and its whole objects kept.
    for (const f of readdirSync(dir).filter((f) => f.startsWith('index.sqlite'))) unlinkSync(join(dir, f));
    const again = await openStore(t, dir);
    assert.equal(again.recovery.damagedPacks.length, 1);
    assert.deepEqual(await again.has(objs.map((o) => o.id)), [true, true, true, true, false]);
  });

  test('a deleted pack is reported by verifyPacks and at reopen; its objects are then absent', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    const objs = await fill(store, 40);
    const files = packFiles(dir);
    unlinkSync(files[0]!);
    const { findings } = await store.verifyPacks();
    assert.deepEqual(findings.map((f) => f.kind), ['pack-missing']);
    await store.close();
    const again = await openStore(t, dir);
    assert.equal(again.recovery.missingPacks.length, 1);
    const present = await again.has(objs.map((o) => o.id));
    assert.ok(present.some((p) => !p) && present.some((p) => p));
    assert.deepEqual((await again.verifyPacks()).findings, []);
  });

  test('a stray file and an unindexed pack are reported', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    await fill(store, 3);
    writeFileSync(join(dir, 'packs', 'notes.txt'), 'hello');
    const { findings } = await store.verifyPacks();
    assert.deepEqual(findings.map((f) => f.kind), ['stray-file']);
  });
});
