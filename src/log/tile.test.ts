import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { hashChildren, hashLeaf, memorySubtreeReader, proveConsistency, proveInclusion, rootOfLeafHashes, treeRoot } from './merkle.ts';
import type { Hash } from './merkle.ts';
import {
  TILE_HEIGHT,
  TILE_WIDTH,
  entryBundlesChangedBetween,
  entryBundlesForTree,
  formatEntryBundle,
  formatEntryBundlePath,
  formatTileHashes,
  formatTilePath,
  parseEntryBundle,
  parseTileHashes,
  parseTilePath,
  tileRoot,
  tileSubtreeReader,
  tilesChangedBetween,
  tilesForTree,
} from './tile.ts';
import type { TileCoord } from './tile.ts';

const throwsMalformed = (f: () => unknown) => assert.throws(f, (e: unknown) => isEmbassyError(e, 'tile.malformed'));
const key = (t: { level?: number; index: bigint; width: number }) => `${t.level ?? 'e'}/${t.index}/${t.width}`;

function leavesOf(n: number, seed = 0): Hash[] {
  return Array.from({ length: n }, (_, i) => hashLeaf(utf8.encode(`tile leaf ${seed}/${i}`)));
}

/** All complete-subtree levels of a small tree, built by plain pairing (independent of merkle.ts readers). */
function levelsOf(leaves: Hash[]): Hash[][] {
  const levels = [leaves];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const level: Hash[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) level.push(hashChildren(below[i]!, below[i + 1]!));
    levels.push(level);
  }
  return levels;
}

/** A tile store for `leaves`, as a log would have written it, counting reads. */
function tileStore(leaves: Hash[]) {
  const levels = levelsOf(leaves);
  const reads: TileCoord[] = [];
  const readTile = async (t: TileCoord): Promise<Hash[]> => {
    reads.push(t);
    const row = levels[t.level * TILE_HEIGHT] ?? [];
    const start = Number(t.index) * TILE_WIDTH;
    assert.ok(start + t.width <= row.length, `tile ${formatTilePath(t)} does not exist`);
    const hashes = row.slice(start, start + t.width);
    // Round-trip through the wire encoding, as a disk or HTTP backend would.
    return parseTileHashes(formatTileHashes(hashes), t.width);
  };
  return { readTile, reads };
}

/** Tiles of a tree of `size` straight from the spec's wording, with Number arithmetic (small sizes). */
function specTiles(size: number): string[] {
  const out: string[] = [];
  for (let level = 0; Math.floor(size / 256 ** level) > 0; level++) {
    const row = Math.floor(size / 256 ** level);
    for (let n = 0; n * 256 < row; n++) out.push(`${level}/${n}/${Math.min(256, row - n * 256)}`);
  }
  return out;
}

describe('tile paths', () => {
  test('format: C2SP examples', () => {
    assert.equal(formatTilePath({ level: 0, index: 1234067n, width: 8 }), 'tile/0/x001/x234/067.p/8');
    assert.equal(formatTilePath({ level: 0, index: 0n, width: 256 }), 'tile/0/000');
    assert.equal(formatTilePath({ level: 63, index: 1000n, width: 255 }), 'tile/63/x001/000.p/255');
    assert.equal(formatEntryBundlePath(1234067n, 256), 'tile/entries/x001/x234/067');
    assert.equal(formatEntryBundlePath((1n << 64n) - 1n, 1), 'tile/entries/x018/x446/x744/x073/x709/x551/615.p/1');
  });

  test('parse(format(t)) = t for every level, uint64 index and width', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 63 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 1, max: 256 }),
        (level, index, width) => {
          assert.deepEqual(parseTilePath(formatTilePath({ level, index, width })), { kind: 'hash', level, index, width });
          assert.deepEqual(parseTilePath(formatEntryBundlePath(index, width)), { kind: 'entries', level: 0, index, width });
        },
      ),
      { numRuns: 500 },
    );
  });

  test('format refuses coordinates that have no path', () => {
    throwsMalformed(() => formatTilePath({ level: 64, index: 0n, width: 1 }));
    throwsMalformed(() => formatTilePath({ level: -1, index: 0n, width: 1 }));
    throwsMalformed(() => formatTilePath({ level: 0, index: -1n, width: 1 }));
    throwsMalformed(() => formatTilePath({ level: 0, index: 1n << 64n, width: 1 }));
    throwsMalformed(() => formatTilePath({ level: 0, index: 0n, width: 0 }));
    throwsMalformed(() => formatTilePath({ level: 0, index: 0n, width: 257 }));
    throwsMalformed(() => formatEntryBundlePath(0n, 1.5));
  });
});

describe('malformed tile path: level', () => {
  for (const p of ['tile/64/000', 'tile/01/000', 'tile/00/000', 'tile/-1/000', 'tile/abc/000', 'tile/1e1/000', 'tile//000', 'tile/ 1/000']) {
    test(p, () => throwsMalformed(() => parseTilePath(p)));
  }
});

describe('malformed tile path: index', () => {
  const bad = [
    'tile/0/1', // not three digits
    'tile/0/0001',
    'tile/0/001/002', // non-final group without x
    'tile/0/x001', // last group with x
    'tile/0/x000/001', // leading zero group: not canonical
    'tile/0/X001/002', // uppercase
    'tile/0/x001/-02',
    'tile/0/x001//002',
    'tile/0/x018/x446/x744/x073/x709/x551/616', // 2^64
    'tile/0/x999/x999/x999/x999/x999/x999/999',
    'tile/entries/x000/000',
  ];
  for (const p of bad) test(p, () => throwsMalformed(() => parseTilePath(p)));
});

describe('malformed tile path: width', () => {
  for (const p of ['tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/01', 'tile/0/000.p/', 'tile/0/000.p', 'tile/0/000.p/1/', 'tile/entries/000.p/300', 'tile/0/000.p/+1']) {
    test(p, () => throwsMalformed(() => parseTilePath(p)));
  }
});

describe('malformed tile path: shape', () => {
  const bad = ['/tile/0/000', 'tile/0/000/', 'tiles/0/000', 'tile/0', 'tile/entry/000', 'tile/0/000 ', ' tile/0/000', 'tile/0/000\n', 'tile/data/000', '', 'tile/0/' + 'x001/'.repeat(20) + '000'];
  for (const p of bad) test(JSON.stringify(p), () => throwsMalformed(() => parseTilePath(p)));
});

describe('entry bundles', () => {
  test('round trip, including empty and 65535-byte entries', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 256 }), (entries) => {
        const bytes = formatEntryBundle(entries);
        assert.deepEqual(parseEntryBundle(bytes), entries);
        assert.deepEqual(parseEntryBundle(bytes, entries.length), entries);
      }),
      { numRuns: 200 },
    );
    const edge = [new Uint8Array(), new Uint8Array(0xffff).fill(7)];
    assert.deepEqual(parseEntryBundle(formatEntryBundle(edge), 2), edge);
    assert.deepEqual([...formatEntryBundle([utf8.encode('ab'), new Uint8Array()])], [0, 2, 0x61, 0x62, 0, 0]);
  });
});

describe('malformed entry bundle: truncated', () => {
  const good = formatEntryBundle([utf8.encode('hello'), utf8.encode('world!')]);
  test('every proper prefix but the one ending between entries is refused', () => {
    for (let n = 0; n < good.length; n++) {
      if (n === 7) assert.equal(parseEntryBundle(good.subarray(0, n)).length, 1);
      else throwsMalformed(() => parseEntryBundle(good.subarray(0, n)));
    }
  });
});

describe('malformed entry bundle: trailing bytes', () => {
  test('a lone byte or an incomplete entry after the last entry', () => {
    throwsMalformed(() => parseEntryBundle(new Uint8Array([0, 1, 9, 0])));
    throwsMalformed(() => parseEntryBundle(new Uint8Array([0, 1, 9, 0, 5, 1])));
  });
});

describe('malformed entry bundle: count', () => {
  const two = formatEntryBundle([new Uint8Array([1]), new Uint8Array([2])]);
  test('count differs from the expected width', () => {
    throwsMalformed(() => parseEntryBundle(two, 3));
    throwsMalformed(() => parseEntryBundle(two, 1));
  });
  test('no entries, more than 256, or an impossible expected count', () => {
    throwsMalformed(() => parseEntryBundle(new Uint8Array()));
    throwsMalformed(() => parseEntryBundle(new Uint8Array(257 * 2)));
    assert.equal(parseEntryBundle(new Uint8Array(256 * 2), 256).length, 256);
    throwsMalformed(() => parseEntryBundle(two, 0));
    throwsMalformed(() => parseEntryBundle(two, 257));
    throwsMalformed(() => formatEntryBundle([]));
    throwsMalformed(() => formatEntryBundle(Array.from({ length: 257 }, () => new Uint8Array())));
  });
});

describe('malformed entry bundle: entry too large', () => {
  test('an entry over 65535 bytes cannot be encoded', () => {
    throwsMalformed(() => formatEntryBundle([new Uint8Array(0x10000)]));
  });
});

describe('hash tiles', () => {
  test('round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 256 }), (width) => {
        const hashes = leavesOf(width);
        const bytes = formatTileHashes(hashes);
        assert.equal(bytes.length, width * 32);
        assert.deepEqual(parseTileHashes(bytes, width), hashes);
      }),
      { numRuns: 50 },
    );
  });
});

describe('malformed hash tile', () => {
  test('byte length is not 32 × width', () => {
    const bytes = formatTileHashes(leavesOf(3));
    throwsMalformed(() => parseTileHashes(bytes, 2));
    throwsMalformed(() => parseTileHashes(bytes, 4));
    throwsMalformed(() => parseTileHashes(bytes.subarray(1), 3));
  });
  test('width outside 1..256, hashes not 32 bytes', () => {
    throwsMalformed(() => parseTileHashes(new Uint8Array(), 0));
    throwsMalformed(() => parseTileHashes(new Uint8Array(257 * 32), 257));
    throwsMalformed(() => formatTileHashes([]));
    throwsMalformed(() => formatTileHashes([new Uint8Array(31)]));
  });
});

describe('tree geometry', () => {
  test('C2SP examples: sizes 70000 and 256', () => {
    const t = tilesForTree(70000n);
    assert.equal(t.filter((x) => x.level === 0 && x.width === 256).length, 273);
    assert.deepEqual(t.filter((x) => x.width < 256), [
      { level: 0, index: 273n, width: 112 },
      { level: 1, index: 1n, width: 17 },
      { level: 2, index: 0n, width: 1 },
    ]);
    assert.deepEqual(tilesForTree(256n), [
      { level: 0, index: 0n, width: 256 },
      { level: 1, index: 0n, width: 1 },
    ]);
    assert.deepEqual(tilesForTree(0n), []);
    assert.deepEqual(entryBundlesForTree(513n), [
      { index: 0n, width: 256 },
      { index: 1n, width: 256 },
      { index: 2n, width: 1 },
    ]);
  });

  test('tilesForTree matches the spec wording, in level then index order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300000 }), (size) => {
        assert.deepEqual(tilesForTree(BigInt(size)).map(key), specTiles(size));
        assert.deepEqual(entryBundlesForTree(BigInt(size)).map((b) => `0/${b.index}/${b.width}`), specTiles(size).filter((k) => k.startsWith('0/')));
      }),
      { numRuns: 200 },
    );
  });

  test('tilesChangedBetween is the set difference of the two trees’ tiles', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200000 }), fc.integer({ min: 0, max: 70000 }), (old, grow) => {
        const [a, b] = [BigInt(old), BigInt(old + grow)];
        const before = new Set(tilesForTree(a).map(key));
        assert.deepEqual(tilesChangedBetween(a, b).map(key), tilesForTree(b).map(key).filter((k) => !before.has(k)));
        const bundlesBefore = new Set(entryBundlesForTree(a).map(key));
        assert.deepEqual(entryBundlesChangedBetween(a, b).map(key), entryBundlesForTree(b).map(key).filter((k) => !bundlesBefore.has(k)));
      }),
      { numRuns: 200 },
    );
  });

  test('tilesChangedBetween stays small near 2^63 and 2^64', () => {
    const top = (1n << 63n) - 1n;
    assert.deepEqual(tilesChangedBetween(top - 1n, top), [{ level: 0, index: top >> 8n, width: 255 }]);
    assert.deepEqual(tilesChangedBetween(top, top), []);
    // Reaching 2^63 completes the last tile of levels 0..6 and widens the level-7 tile to 128.
    const full = [...Array(7).keys()].map((level) => ({ level, index: ((top + 1n) >> BigInt(8 * level + 8)) - 1n, width: 256 }));
    assert.deepEqual(tilesChangedBetween(top, top + 1n), [...full, { level: 7, index: 0n, width: 128 }]);
    const max = (1n << 64n) - 1n;
    assert.deepEqual(tilesChangedBetween(max - 300n, max), [
      { level: 0, index: (max >> 8n) - 1n, width: 256 },
      { level: 0, index: max >> 8n, width: 255 },
      { level: 1, index: max >> 16n, width: 255 },
    ]);
    assert.equal(entryBundlesChangedBetween(max - 1n, max).length, 1);
  });

  test('sizes out of order or outside uint64 are refused', () => {
    throwsMalformed(() => tilesChangedBetween(5n, 4n));
    throwsMalformed(() => tilesChangedBetween(-1n, 4n));
    throwsMalformed(() => tilesForTree(1n << 64n));
    throwsMalformed(() => entryBundlesChangedBetween(2n, 1n));
  });
});

describe('tileRoot', () => {
  test('is the level-8 node over a full tile', () => {
    const leaves = leavesOf(512);
    assert.equal(toHex(tileRoot(leaves.slice(256))), toHex(levelsOf(leaves)[8]![1]!));
    assert.equal(toHex(tileRoot(leaves.slice(0, 256))), toHex(rootOfLeafHashes(leaves.slice(0, 256))));
    throwsMalformed(() => tileRoot(leaves.slice(0, 255)));
  });
});

describe('tileSubtreeReader', () => {
  test('treeRoot and proofs through tiles equal those from memory', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3000 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }), fc.integer({ min: 0, max: n - 1 }))),
        async ([n, m, i]) => {
          const leaves = leavesOf(n, 1);
          const mem = memorySubtreeReader(leaves);
          const store = tileStore(leaves);
          const tiles = tileSubtreeReader(BigInt(n), store.readTile);
          const [size, size1, index] = [BigInt(n), BigInt(m), BigInt(i)];
          assert.equal(toHex(await treeRoot(size, tiles)), toHex(rootOfLeafHashes(leaves)));
          assert.deepEqual((await proveInclusion(index, size, tiles)).map(toHex), (await proveInclusion(index, size, mem)).map(toHex));
          assert.deepEqual((await proveConsistency(size1, size, tiles)).map(toHex), (await proveConsistency(size1, size, mem)).map(toHex));
          const valid = new Set(tilesForTree(size).map(key));
          assert.ok(store.reads.every((t) => valid.has(key(t))), 'read a tile the tree does not have');
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a 70000-leaf tree: three tile levels, each tile read once per call', async () => {
    const leaves = leavesOf(70000, 2);
    const store = tileStore(leaves);
    const read = tileSubtreeReader(70000n, store.readTile);
    assert.equal(toHex(await treeRoot(70000n, read)), toHex(rootOfLeafHashes(leaves)));
    for (const index of [0n, 255n, 256n, 65535n, 65536n, 69887n, 69999n]) {
      store.reads.length = 0;
      const proof = await proveInclusion(index, 70000n, read);
      const keys = store.reads.map(key);
      assert.equal(new Set(keys).size, keys.length, 'a tile was read twice in one call');
      assert.deepEqual(proof.map(toHex), (await proveInclusion(index, 70000n, memorySubtreeReader(leaves))).map(toHex));
    }
    store.reads.length = 0;
    await read([{ level: 16, index: 0n }]);
    assert.deepEqual(store.reads, [{ level: 2, index: 0n, width: 1 }]);
  });

  test('refuses nodes outside the tree and tiles of the wrong width', async () => {
    const leaves = leavesOf(300);
    const read = tileSubtreeReader(300n, tileStore(leaves).readTile);
    await assert.rejects(read([{ level: 0, index: 300n }]), (e: unknown) => isEmbassyError(e, 'proof.malformed'));
    await assert.rejects(read([{ level: 3, index: 37n }]), (e: unknown) => isEmbassyError(e, 'proof.malformed'));
    const short = tileSubtreeReader(300n, async (t) => leaves.slice(0, t.width - 1));
    await assert.rejects(short([{ level: 0, index: 299n }]), (e: unknown) => isEmbassyError(e, 'tile.malformed'));
    assert.throws(() => tileSubtreeReader(-1n, async () => []), (e: unknown) => isEmbassyError(e, 'tile.malformed'));
  });
});
