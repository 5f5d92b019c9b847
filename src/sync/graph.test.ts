import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbassyError } from '../errors.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { sealObject, parseObjectHeader } from '../object/object.ts';
import { PackObjectStore } from '../store/pack-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { ObjectId } from '../tree/types.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { syncGraph, type ObjectSource } from './graph.ts';

const DEK = Uint8Array.from({ length: 32 }, (_, i) => i + 7);

interface Graph {
  objects: Map<string, Uint8Array>;
  root: ObjectId;
}

/** A version-shaped graph: `leaves` leaves (every 5th with a chunk, chunks shared), internal levels of fanout 4. */
function makeGraph(leaves: number, salt: string, shared?: Map<string, Uint8Array>): Graph {
  const objects = new Map<string, Uint8Array>();
  const add = (kind: 'node' | 'chunk', children: ObjectId[], text: string): ObjectId => {
    const o = sealObject(DEK, { kind, children, content: utf8.encode(text) });
    objects.set(toHex(o.id), o.bytes);
    return o.id;
  };
  const chunks = Array.from({ length: 4 }, (_, i) => add('chunk', [], `chunk ${i} ${'x'.repeat(2000)}`));
  let level: ObjectId[] = [];
  for (let i = 0; i < leaves; i++) {
    // Leaves past the first half change with the salt: a later version shares the first half.
    const text = i < leaves / 2 ? `leaf ${i} ${'r'.repeat(500)}` : `leaf ${i} ${salt} ${'r'.repeat(500)}`;
    level.push(add('node', i % 5 === 0 ? [chunks[i % 4]!] : [], text));
  }
  let depth = 1;
  while (level.length > 1) {
    const next: ObjectId[] = [];
    for (let i = 0; i < level.length; i += 4) next.push(add('node', level.slice(i, i + 4), `internal ${depth} ${i}`));
    level = next;
    depth++;
  }
  if (shared) for (const [k, v] of objects) shared.set(k, v);
  return { objects, root: level[0]! };
}

function source(name: string, objects: Map<string, Uint8Array>, log: ObjectId[][] = [], tamper?: (hex: string, bytes: Uint8Array) => Uint8Array): ObjectSource {
  return {
    name,
    async fetchObjects(ids) {
      log.push(ids);
      return ids.map((id) => {
        const b = objects.get(toHex(id));
        return b && tamper ? tamper(toHex(id), b) : b;
      });
    },
  };
}

async function storedIds(store: ObjectStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const id of store.ids()) out.add(toHex(id));
  return out;
}

/** The invariant: every stored object's children are stored. */
async function assertClosed(store: ObjectStore): Promise<void> {
  const held = await storedIds(store);
  for (const hex of held) {
    const bytes = (await store.get(Buffer.from(hex, 'hex')))!;
    for (const c of parseObjectHeader(bytes).children) assert.ok(held.has(toHex(c)), `stored ${hex} but not its child ${toHex(c)}`);
  }
}

/** Forwards puts to the real store only at flush; `crashAfterFlushes` then drops what is staged, as a kill would. */
class CrashingStore implements ObjectStore {
  private staged: [ObjectId, Uint8Array][] = [];
  flushes = 0;
  constructor(
    private readonly real: ObjectStore,
    private readonly crashAfterFlushes: number,
  ) {}
  has(ids: readonly ObjectId[]) {
    return this.real.has(ids);
  }
  get(id: ObjectId) {
    return this.real.get(id);
  }
  async put(id: ObjectId, bytes: Uint8Array) {
    this.staged.push([id, bytes]);
  }
  async flush() {
    if (this.flushes >= this.crashAfterFlushes) {
      this.staged = [];
      throw new Error('simulated crash');
    }
    for (const [id, b] of this.staged) await this.real.put(id, b);
    this.staged = [];
    await this.real.flush();
    this.flushes++;
  }
  ids() {
    return this.real.ids();
  }
  async close() {}
}

describe('syncGraph', () => {
  test('copies a whole graph once; a second pass fetches nothing; the store stays closed under children', async (t) => {
    const dir = { path: tempDir(t) };
    const g = makeGraph(200, 'a');
    const store = await PackObjectStore.open(dir.path, { targetPackSize: 64 * 1024 });
    try {
      const calls: ObjectId[][] = [];
      const r = await syncGraph([g.root], store, [source('home', g.objects, calls)], { batchSize: 16, flushBytes: 20_000 });
      assert.equal(r.complete, true);
      assert.equal(r.fetched, g.objects.size);
      assert.equal(r.stored, g.objects.size);
      assert.deepEqual(r.missing, []);
      assert.deepEqual(await storedIds(store), new Set(g.objects.keys()));
      await assertClosed(store);

      const again: ObjectId[][] = [];
      const r2 = await syncGraph([g.root], store, [source('home', g.objects, again)]);
      assert.equal(r2.complete, true);
      assert.equal(r2.fetched, 0);
      assert.equal(again.length, 0, 'a held root is a complete graph: nothing is asked for');
    } finally {
      await store.close();
    }
  });

  test('a new version fetches only the objects it does not share with the held one', async (t) => {
    const dir = { path: tempDir(t) };
    const all = new Map<string, Uint8Array>();
    const v1 = makeGraph(120, 'one', all);
    const v2 = makeGraph(120, 'two', all);
    const store = await PackObjectStore.open(dir.path);
    try {
      await syncGraph([v1.root], store, [source('home', all)]);
      const calls: ObjectId[][] = [];
      const r = await syncGraph([v1.root, v2.root], store, [source('home', all, calls)]);
      const fresh = [...v2.objects.keys()].filter((k) => !v1.objects.has(k));
      assert.equal(r.complete, true);
      assert.equal(r.fetched, fresh.length);
      assert.deepEqual(new Set(calls.flat().map(toHex)), new Set(fresh));
      await assertClosed(store);
    } finally {
      await store.close();
    }
  });

  test('killed after any flush, a resumed pass fetches only what was not durable and converges', async (t) => {
    const g = makeGraph(150, 'k');
    const opts = { batchSize: 8, flushBytes: 8_000 };
    // A dry run counts the flushes of a whole pass, so that every crash point is inside it.
    const dryStore = await PackObjectStore.open(tempDir(t));
    const dry = new CrashingStore(dryStore, Infinity);
    await syncGraph([g.root], dry, [source('home', g.objects)], opts);
    await dryStore.close();
    const n = dry.flushes;
    assert.ok(n >= 6, `only ${n} flushes: the graph is too small to crash in the middle`);
    for (const crashAt of [0, 1, 2, Math.floor(n / 3), Math.floor(n / 2), n - 1]) {
      const dir = { path: tempDir(t) };
      let real = await PackObjectStore.open(dir.path, { targetPackSize: 32 * 1024 });
      const crashing = new CrashingStore(real, crashAt);
      await assert.rejects(syncGraph([g.root], crashing, [source('home', g.objects)], opts), /simulated crash/);
      await real.close();
      real = await PackObjectStore.open(dir.path, { targetPackSize: 32 * 1024 });
      try {
        await assertClosed(real);
        const before = await storedIds(real);
        const calls: ObjectId[][] = [];
        const r = await syncGraph([g.root], real, [source('home', g.objects, calls)], { batchSize: 8 });
        assert.equal(r.complete, true, `crash after ${crashAt} flushes`);
        const asked = calls.flat().map(toHex);
        assert.deepEqual(asked.filter((h) => before.has(h)), [], 'nothing durable is fetched again');
        assert.equal(asked.length, g.objects.size - before.size);
        assert.deepEqual(await storedIds(real), new Set(g.objects.keys()));
      } finally {
        await real.close();
      }
    }
  });

  test('sources are tried in order; a source serving bad bytes is recorded and the next one used', async (t) => {
    const dir = { path: tempDir(t) };
    const g = makeGraph(60, 's');
    const keys = [...g.objects.keys()];
    const partial = new Map(keys.filter((_, i) => i % 3 !== 0).map((k) => [k, g.objects.get(k)!]));
    const victim = keys[4]!;
    const liar = source('liar', partial, [], (hex, b) => (hex === victim ? Uint8Array.from(b, (x, i) => (i === 40 ? x ^ 1 : x)) : b));
    const store = await PackObjectStore.open(dir.path);
    try {
      const r = await syncGraph([g.root], store, [liar, source('honest', g.objects)]);
      assert.equal(r.complete, true);
      assert.ok(r.failures.some((f) => f.source === 'liar' && /object\.id-mismatch/.test(f.error) && f.error.includes(victim)));
      assert.deepEqual(await storedIds(store), new Set(keys));
    } finally {
      await store.close();
    }
  });

  test('an object no source has leaves the pass incomplete, its ancestors unstored, and a later pass finishes', async (t) => {
    const dir = { path: tempDir(t) };
    const g = makeGraph(80, 'm');
    const keys = [...g.objects.keys()];
    const lost = keys[10]!; // a leaf
    const without = new Map(g.objects);
    without.delete(lost);
    const failing: ObjectSource = { name: 'down', fetchObjects: async () => { throw new EmbassyError('store.io', 'peer down: connection refused'); } };
    const store = await PackObjectStore.open(dir.path);
    try {
      const r = await syncGraph([g.root], store, [failing, source('partial', without)]);
      assert.equal(r.complete, false);
      assert.deepEqual(r.missing, [lost]);
      assert.ok(r.failures.some((f) => f.source === 'down' && /store\.io/.test(f.error)));
      assert.equal((await store.has([g.root]))[0], false, 'the root is not stored while anything below it is missing');
      await assertClosed(store);
      const before = await storedIds(store);
      const calls: ObjectId[][] = [];
      const r2 = await syncGraph([g.root], store, [source('home', g.objects, calls)]);
      assert.equal(r2.complete, true);
      assert.ok(calls.flat().every((id) => !before.has(toHex(id))));
    } finally {
      await store.close();
    }
  });

  test('full mode finds objects lost below held ones and fetches exactly those', async (t) => {
    const dir = { path: tempDir(t) };
    const g = makeGraph(90, 'f');
    const keys = [...g.objects.keys()];
    const lost = new Set([keys[3]!, keys[30]!]);
    const store = await PackObjectStore.open(dir.path);
    try {
      // A damaged store: everything but two objects (what a repair leaves after losing them).
      for (const [k, b] of g.objects) if (!lost.has(k)) await store.put(Buffer.from(k, 'hex'), b);
      await store.flush();
      const normal = await syncGraph([g.root], store, [source('home', g.objects)]);
      assert.equal(normal.fetched, 0, 'normal mode trusts the invariant and does not look below a held root');
      const calls: ObjectId[][] = [];
      const r = await syncGraph([g.root], store, [source('home', g.objects, calls)], { full: true });
      assert.equal(r.complete, true);
      assert.deepEqual(new Set(calls.flat().map(toHex)), lost);
      assert.deepEqual(await storedIds(store), new Set(keys));
    } finally {
      await store.close();
    }
  });

  test('a transfer cut part way keeps what arrived whole, so repeated cuts still make progress', async (t) => {
    const dir = { path: tempDir(t) };
    const g = makeGraph(120, 'cut');
    // Every request is cut after its first 5 objects (PeerClient reports such a cut with the
    // frames that arrived as `partial`).
    const cutting: ObjectSource = {
      name: 'cut',
      async fetchObjects(ids) {
        const partial = ids.map((id, i) => (i < 5 ? g.objects.get(toHex(id)) : undefined));
        throw Object.assign(new EmbassyError('store.io', 'peer home: POST /objects: aborted'), { partial });
      },
    };
    const store = await PackObjectStore.open(dir.path);
    try {
      let passes = 0;
      let last = -1;
      for (;;) {
        const r = await syncGraph([g.root], store, [cutting], { batchSize: 16, concurrency: 2 });
        passes++;
        const held = (await storedIds(store)).size;
        assert.ok(held > last, `pass ${passes} made no progress (${held} stored)`);
        last = held;
        await assertClosed(store);
        if (r.complete) break;
        assert.ok(r.failures.some((f) => f.source === 'cut' && /aborted/.test(f.error)));
        assert.ok(passes < 200, 'too many passes');
      }
      assert.deepEqual(await storedIds(store), new Set(g.objects.keys()));
    } finally {
      await store.close();
    }
  });
});
