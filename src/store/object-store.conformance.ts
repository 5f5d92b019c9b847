// The conformance suite every ObjectStore backend runs (as restic's backend tests do): it checks
// the durability contract written in object-store.ts — hash-checked puts, dedup, staged objects
// visible at once, flush then close then reopen keeps everything, unflushed objects lost or
// intact but never corrupt, listing, concurrency and large objects. Register it from a test file.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEmbassyError } from '../errors.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import type { ObjectStore } from './object-store.ts';

export interface ConformanceOptions {
  /** False for a backend whose state does not survive close (then the reopen cases are skipped). */
  reopen?: boolean;
}

/** Deterministic test object number n, of `size` bytes (default 100 + n % 900). */
export function testObject(n: number, size = 100 + (n % 900)): { id: ObjectId; bytes: Uint8Array } {
  const bytes = new Uint8Array(size);
  const seed = sha256(utf8.encode(`conformance object ${n}`));
  for (let i = 0; i < size; i += 32) bytes.set(seed.subarray(0, Math.min(32, size - i)), i);
  // Make every block differ so large objects are not trivially compressible.
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) & 0xff;
  return { id: sha256(bytes), bytes };
}

async function collect(it: AsyncIterable<ObjectId>): Promise<string[]> {
  const out: string[] = [];
  for await (const id of it) out.push(toHex(id));
  return out.sort();
}

export function describeObjectStoreConformance(
  name: string,
  open: (dir: string) => Promise<ObjectStore>,
  options?: ConformanceOptions,
): void {
  const reopen = options?.reopen ?? true;

  /** A fresh store in a fresh directory; closed and removed when the test ends. */
  async function fresh(t: TestContext): Promise<{ dir: string; store: ObjectStore; reopened: () => Promise<ObjectStore> }> {
    const dir = mkdtempSync(join(tmpdir(), 'embassy-conformance-'));
    const opened: ObjectStore[] = [];
    t.after(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    const store = await open(dir);
    opened.push(store);
    return {
      dir,
      store,
      reopened: async () => {
        const s = await open(dir);
        opened.push(s);
        return s;
      },
    };
  }

  describe(`ObjectStore conformance: ${name}`, () => {
    test('put, get and has round trip; staged objects are visible before flush', async (t) => {
      const { store } = await fresh(t);
      const objs = Array.from({ length: 20 }, (_, i) => testObject(i));
      for (const o of objs) await store.put(o.id, o.bytes);
      for (const o of objs) assert.deepEqual(await store.get(o.id), o.bytes);
      assert.deepEqual(await store.has(objs.map((o) => o.id)), objs.map(() => true));
      await store.flush();
      for (const o of objs) assert.deepEqual(await store.get(o.id), o.bytes);
      const absent = testObject(1000);
      assert.deepEqual(await store.has([objs[0]!.id, absent.id, objs[1]!.id, absent.id]), [true, false, true, false]);
      assert.deepEqual(await store.has([]), []);
    });

    test('get and has of an absent id', async (t) => {
      const { store } = await fresh(t);
      const o = testObject(1);
      assert.equal(await store.get(o.id), undefined);
      assert.deepEqual(await store.has([o.id]), [false]);
      await store.put(o.id, o.bytes);
      await store.flush();
      assert.equal(await store.get(testObject(2).id), undefined);
    });

    test('dedup: putting an id twice (staged or stored) keeps one object', async (t) => {
      const { store } = await fresh(t);
      const a = testObject(1);
      const b = testObject(2);
      await store.put(a.id, a.bytes);
      await store.put(a.id, a.bytes);
      await store.flush();
      await store.put(a.id, a.bytes);
      await store.put(b.id, b.bytes);
      await store.put(b.id, b.bytes);
      await store.flush();
      assert.deepEqual(await collect(store.ids()), [toHex(a.id), toHex(b.id)].sort());
      assert.deepEqual(await store.get(a.id), a.bytes);
    });

    test('a put whose bytes do not hash to the id is refused and stores nothing', async (t) => {
      const { store } = await fresh(t);
      const a = testObject(1);
      const b = testObject(2);
      await assert.rejects(store.put(a.id, b.bytes), (e) => isEmbassyError(e, 'object.id-mismatch'));
      await assert.rejects(store.put(a.id.subarray(0, 31), a.bytes), (e) => isEmbassyError(e, 'object.id-mismatch'));
      await store.flush();
      assert.deepEqual(await store.has([a.id, b.id]), [false, false]);
      assert.deepEqual(await collect(store.ids()), []);
    });

    test('put keeps the bytes it was given, not the caller buffer', async (t) => {
      const { store } = await fresh(t);
      const a = testObject(1);
      const buffer = a.bytes.slice();
      await store.put(a.id, buffer);
      buffer.fill(0);
      assert.deepEqual(await store.get(a.id), a.bytes);
      await store.flush();
      assert.deepEqual(await store.get(a.id), a.bytes);
    });

    test('ids() lists every flushed object once, and tolerates gets while listing', async (t) => {
      const { store } = await fresh(t);
      const objs = Array.from({ length: 2500 }, (_, i) => testObject(i, 40));
      for (const o of objs) await store.put(o.id, o.bytes);
      await store.flush();
      const listed: string[] = [];
      for await (const id of store.ids()) {
        listed.push(toHex(id));
        if (listed.length % 100 === 0) assert.ok(await store.get(id));
      }
      assert.deepEqual(listed.sort(), objs.map((o) => toHex(o.id)).sort());
    });

    test('concurrent puts, with duplicates, then flush', async (t) => {
      const { store } = await fresh(t);
      const objs = Array.from({ length: 300 }, (_, i) => testObject(i % 200, 2000 + (i % 200)));
      await Promise.all(objs.map((o) => store.put(o.id, o.bytes)));
      await Promise.all([store.flush(), store.flush()]);
      const unique = new Set(objs.map((o) => toHex(o.id)));
      assert.deepEqual(await collect(store.ids()), [...unique].sort());
      for (const o of objs) assert.deepEqual(await store.get(o.id), o.bytes);
    });

    test('concurrent puts and gets interleaved with flushes', async (t) => {
      const { store } = await fresh(t);
      const objs = Array.from({ length: 200 }, (_, i) => testObject(i, 3000));
      await Promise.all(
        objs.map(async (o, i) => {
          await store.put(o.id, o.bytes);
          if (i % 50 === 0) await store.flush();
          assert.deepEqual(await store.get(o.id), o.bytes);
        }),
      );
      await store.flush();
      assert.equal((await collect(store.ids())).length, objs.length);
    });

    test('large objects', async (t) => {
      const { store, reopened } = await fresh(t);
      const big = [testObject(1, 9 * 1024 * 1024 + 17), testObject(2, 1), testObject(3, 3 * 1024 * 1024)];
      for (const o of big) await store.put(o.id, o.bytes);
      await store.flush();
      for (const o of big) assert.deepEqual(await store.get(o.id), o.bytes);
      if (reopen) {
        await store.close();
        const s = await reopened();
        for (const o of big) assert.deepEqual(await s.get(o.id), o.bytes);
      }
    });

    if (!reopen) return;

    test('after flush, close and reopen, everything is there', async (t) => {
      const { store, reopened } = await fresh(t);
      const objs = Array.from({ length: 300 }, (_, i) => testObject(i));
      for (const [i, o] of objs.entries()) {
        await store.put(o.id, o.bytes);
        if (i % 70 === 69) await store.flush();
      }
      await store.flush();
      await store.close();
      const s = await reopened();
      assert.deepEqual(await s.has(objs.map((o) => o.id)), objs.map(() => true));
      for (const o of objs) assert.deepEqual(await s.get(o.id), o.bytes);
      assert.deepEqual(await collect(s.ids()), objs.map((o) => toHex(o.id)).sort());
      // And it is writable again.
      const more = testObject(5000);
      await s.put(more.id, more.bytes);
      await s.flush();
      assert.deepEqual(await s.get(more.id), more.bytes);
    });

    test('unflushed objects may be lost at close, but are never corrupt', async (t) => {
      const { store, reopened } = await fresh(t);
      const flushed = Array.from({ length: 50 }, (_, i) => testObject(i));
      const unflushed = Array.from({ length: 50 }, (_, i) => testObject(100 + i));
      for (const o of flushed) await store.put(o.id, o.bytes);
      await store.flush();
      for (const o of unflushed) await store.put(o.id, o.bytes);
      await store.close();
      const s = await reopened();
      for (const o of flushed) assert.deepEqual(await s.get(o.id), o.bytes);
      const listed = new Set(await collect(s.ids()));
      const has = await s.has(unflushed.map((o) => o.id));
      for (const [i, o] of unflushed.entries()) {
        const got = await s.get(o.id);
        assert.equal(has[i], got !== undefined, 'has() and get() agree');
        if (got !== undefined) assert.deepEqual(got, o.bytes);
        assert.equal(listed.has(toHex(o.id)), got !== undefined, 'ids() and get() agree');
      }
    });
  });
}
