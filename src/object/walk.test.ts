import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import { sealObject } from './object.ts';
import { walkGraph, type FetchObjects } from './walk.ts';

const DEK = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

/** A small version graph: 6 chunks, 3 leaves (two share a chunk), 2 internal nodes, a root. */
function graph(): { objects: Map<string, Uint8Array>; root: ObjectId; ids: ObjectId[] } {
  const objects = new Map<string, Uint8Array>();
  const ids: ObjectId[] = [];
  const put = (kind: 'node' | 'chunk', children: ObjectId[], text: string): ObjectId => {
    const o = sealObject(DEK, { kind, children, content: utf8.encode(text) });
    objects.set(toHex(o.id), o.bytes);
    ids.push(o.id);
    return o.id;
  };
  const c = Array.from({ length: 6 }, (_, i) => put('chunk', [], `chunk ${i}`));
  const l0 = put('node', [c[0]!, c[1]!, c[0]!], 'leaf 0');
  const l1 = put('node', [c[2]!, c[3]!], 'leaf 1');
  const l2 = put('node', [c[3]!, c[4]!, c[5]!], 'leaf 2');
  const i0 = put('node', [l0, l1], 'internal 0');
  const i1 = put('node', [l1, l2], 'internal 1');
  const root = put('node', [i0, i1], 'root');
  return { objects, root, ids };
}

function fetcher(objects: Map<string, Uint8Array>, calls: ObjectId[][] = []): FetchObjects {
  return async (ids) => {
    calls.push(ids);
    return ids.map((id) => objects.get(toHex(id)));
  };
}

describe('walkGraph', () => {
  test('visits every reachable object exactly once, in batches', async () => {
    const { objects, root, ids } = graph();
    const calls: ObjectId[][] = [];
    const seen: string[] = [];
    const r = await walkGraph([root, root], fetcher(objects, calls), {
      batchSize: 2,
      onObject: (id, bytes) => {
        assert.deepEqual(sha256(bytes), id);
        seen.push(toHex(id));
      },
    });
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.bad, []);
    assert.equal(r.visited, ids.length);
    assert.equal(r.bytes, [...objects.values()].reduce((n, b) => n + b.length, 0));
    assert.deepEqual(new Set(seen), new Set(ids.map(toHex)));
    assert.equal(seen.length, ids.length);
    assert.ok(calls.every((c) => c.length <= 2));
    assert.equal(calls.flat().length, ids.length);
    // Breadth-first: the root first, chunks last.
    assert.equal(seen[0], toHex(root));
  });

  test('an empty list of roots visits nothing', async () => {
    assert.deepEqual(await walkGraph([], fetcher(new Map())), { visited: 0, bytes: 0, missing: [], bad: [] });
  });

  test('skip: neither fetched nor descended into', async () => {
    const { objects, root, ids } = graph();
    const leaf1 = ids[7]!; // chunks 0-5, leaf 0, leaf 1
    const calls: ObjectId[][] = [];
    const r = await walkGraph([root], fetcher(objects, calls), { skip: (id) => toHex(id) === toHex(leaf1) });
    // leaf 1 and chunk 2 (only under leaf 1) are not fetched; chunk 3 is still reached via leaf 2.
    assert.equal(r.visited, ids.length - 2);
    assert.ok(!calls.flat().some((id) => toHex(id) === toHex(leaf1)));
  });

  test('fetch returning the wrong number of results is an error, not a finding', async () => {
    const { root } = graph();
    await assert.rejects(walkGraph([root], async () => []), (e) => isEmbassyError(e, 'store.io'));
  });

  test('root ids must be 32 bytes', async () => {
    await assert.rejects(walkGraph([new Uint8Array(31)], fetcher(new Map())), (e) => isEmbassyError(e, 'input.malformed'));
  });

  test('property: visited = reachable objects of a random DAG', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.nat(), { maxLength: 4 }), { minLength: 1, maxLength: 25 }), async (shape) => {
        // Object i may only point to objects < i: a DAG by construction.
        const objects = new Map<string, Uint8Array>();
        const made: ObjectId[] = [];
        const reach: Set<number>[] = [];
        shape.forEach((picks, i) => {
          const kids = i === 0 ? [] : picks.map((p) => p % i);
          const o = sealObject(DEK, { kind: 'node', children: kids.map((k) => made[k]!), content: utf8.encode(`n${i}`) });
          objects.set(toHex(o.id), o.bytes);
          made.push(o.id);
          reach.push(new Set([i, ...kids.flatMap((k) => [...reach[k]!])]));
        });
        const last = shape.length - 1;
        const r = await walkGraph([made[last]!], fetcher(objects), { batchSize: 3 });
        assert.equal(r.visited, reach[last]!.size);
        assert.deepEqual(r.bad, []);
        assert.deepEqual(r.missing, []);
      }),
      { numRuns: 50 },
    );
  });
});

describe('walkGraph: missing objects', () => {
  test('all missing ids are collected and the rest is still walked', async () => {
    const { objects, root, ids } = graph();
    const gone = [ids[2]!, ids[6]!]; // chunk 2 and leaf 0 (which also holds chunks 0 and 1)
    for (const g of gone) objects.delete(toHex(g));
    const r = await walkGraph([root], fetcher(objects));
    assert.deepEqual(new Set(r.missing.map(toHex)), new Set(gone.map(toHex)));
    assert.equal(r.visited, ids.length - 2 - 2); // chunks 0 and 1 are unreachable now
    assert.deepEqual(r.bad, []);
  });

  test('a missing root', async () => {
    const r = await walkGraph([sha256(utf8.encode('nothing'))], fetcher(new Map()));
    assert.equal(r.missing.length, 1);
    assert.equal(r.visited, 0);
  });
});

describe('walkGraph: objects that do not hash to their id', () => {
  test('reported, and their (untrusted) children are not walked', async () => {
    const { objects, root, ids } = graph();
    const leaf2 = ids[8]!;
    const b = objects.get(toHex(leaf2))!.slice();
    b[b.length - 1]! ^= 1;
    objects.set(toHex(leaf2), b);
    const chunk1Bytes = objects.get(toHex(ids[1]!))!;
    objects.set(toHex(ids[0]!), chunk1Bytes); // chunk 0 served with chunk 1's bytes
    const r = await walkGraph([root], fetcher(objects));
    assert.deepEqual(
      r.bad.map((f) => toHex(f.id)).sort(),
      [toHex(leaf2), toHex(ids[0]!)].sort(),
    );
    assert.ok(r.bad.every((f) => /hash/.test(f.reason)));
    // Chunks 4 and 5 hang only under leaf 2.
    assert.equal(r.visited, ids.length - 2);
  });
});

describe('walkGraph: objects whose header does not parse', () => {
  test('bytes stored under their own hash but not an object', async () => {
    const junk = utf8.encode('this is not an encrypted object but it does hash to its id, fine');
    const junkId = sha256(junk);
    const good = sealObject(DEK, { kind: 'node', children: [junkId], content: utf8.encode('parent') });
    const objects = new Map([[toHex(junkId), junk], [toHex(good.id), good.bytes]]);
    const r = await walkGraph([good.id], fetcher(objects));
    assert.equal(r.bad.length, 1);
    assert.deepEqual(r.bad[0]!.id, junkId);
    assert.match(r.bad[0]!.reason, /object: expected magic/);
    assert.equal(r.visited, 2);
  });
});
