// Tile and entry-bundle path vectors (C2SP tlog-tiles spec examples, Tessera api/layout tests,
// Go sumdb tile paths) against src/log/tile.ts, encoded and parsed both ways. The Go sumdb
// layout (tile/H/L/N, tile/H/data/N) is a different format and must be rejected by our parser.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isEmbassyError } from '../../src/errors.ts';
import { hashChildren, hashLeaf } from '../../src/log/merkle.ts';
import type { Hash } from '../../src/log/merkle.ts';
import { formatEntryBundlePath, formatTilePath, parseTilePath, tileSubtreeReader, tilesForTree } from '../../src/log/tile.ts';
import type { TileCoord } from '../../src/log/tile.ts';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);
const FILE = fileURLToPath(new URL('tlog-tiles-paths/tile-path-vectors.json', VECTORS));
const skip = existsSync(FILE) ? false : `shared vectors absent at ${FILE}`;

/** wantIndex 999999999999999999 is above 2^53: keep every integer as text, read as BigInt. */
function load(): any {
  return JSON.parse(readFileSync(FILE, 'utf8').replace(/("[A-Za-z0-9_]+"\s*:\s*)(-?\d+)(?=\s*[,}\]])/g, '$1"$2"'));
}
const V = skip ? undefined : load();
const big = (s: string) => BigInt(s);
const num = (s: string) => Number(s);
/** Tessera's p = 0 means a full tile; ours is width 256. */
const widthOf = (p: string) => (num(p) === 0 ? 256 : num(p));
const rejects = (path: string) => assert.throws(() => parseTilePath(path), (e: unknown) => isEmbassyError(e, 'tile.malformed'), path);

describe('C2SP tlog-tiles spec examples', () => {
  test('index encoding', { skip }, () => {
    for (const ex of V.c2sp_tlog_tiles_spec.examples.filter((e: any) => e.index !== undefined)) {
      const index = big(ex.index);
      assert.equal(formatTilePath({ level: 0, index, width: 256 }), `tile/0/${ex.encodedN}`);
      assert.equal(parseTilePath(`tile/0/${ex.encodedN}`).index, index);
    }
  });

  test('tiles of a tree', { skip }, () => {
    for (const ex of V.c2sp_tlog_tiles_spec.examples.filter((e: any) => e.treeSize !== undefined)) {
      const tiles = tilesForTree(big(ex.treeSize));
      const summary: Record<string, number> = {};
      for (const t of tiles) {
        if (t.width === 256) summary[`level${t.level}_full`] = (summary[`level${t.level}_full`] ?? 0) + 1;
        else summary[`level${t.level}_partial_width`] = t.width;
      }
      const want = Object.fromEntries(Object.entries(ex.tiles as Record<string, string>).map(([k, v]) => [k, num(v)]));
      assert.deepEqual(summary, want, `tree size ${ex.treeSize}`);
    }
  });
});

describe('Tessera api/layout', () => {
  test('entriesPathForLogIndex: the bundle holding entry seq in a log of logSize', { skip }, () => {
    for (const c of V.tessera_api_layout.entriesPathForLogIndex) {
      const [seq, size] = [big(c.seq), big(c.logSize)];
      const index = seq / 256n;
      const width = index < size / 256n ? 256 : Number(size % 256n);
      assert.equal(formatEntryBundlePath(index, width), c.wantPath);
      assert.deepEqual(parseTilePath(c.wantPath), { kind: 'entries', level: 0, index, width });
    }
  });

  test('entriesPath', { skip }, () => {
    for (const c of V.tessera_api_layout.entriesPath) {
      assert.equal(formatEntryBundlePath(big(c.N), widthOf(c.p)), c.wantPath);
      assert.deepEqual(parseTilePath(c.wantPath), { kind: 'entries', level: 0, index: big(c.N), width: widthOf(c.p) });
    }
  });

  test('tilePath', { skip }, () => {
    for (const c of V.tessera_api_layout.tilePath) {
      const t = { level: num(c.level), index: big(c.index), width: widthOf(c.p) };
      assert.equal(formatTilePath(t), c.wantPath);
      assert.deepEqual(parseTilePath(c.wantPath), { kind: 'hash', ...t });
    }
  });

  test('nWithSuffix', { skip }, () => {
    for (const c of V.tessera_api_layout.nWithSuffix) {
      const t = { level: num(c.level), index: big(c.index), width: widthOf(c.p) };
      assert.equal(formatTilePath(t), `tile/${c.level}/${c.want}`);
      assert.deepEqual(parseTilePath(`tile/${c.level}/${c.want}`), { kind: 'hash', ...t });
    }
  });

  test('parseTileLevelIndexPartial: accepted, and re-encoded byte for byte', { skip }, () => {
    for (const c of V.tessera_api_layout.parseTileLevelIndexPartial_ok) {
      const path = `tile/${c.pathLevel}/${c.pathIndex}`;
      const want = { kind: 'hash', level: num(c.wantLevel), index: big(c.wantIndex), width: widthOf(c.wantP) };
      assert.deepEqual(parseTilePath(path), want, path);
      assert.equal(formatTilePath(want), path);
    }
  });

  test('parseTileLevelIndexPartial: all 15 rejected, as tiles and as entry bundles', { skip }, () => {
    const bad = V.tessera_api_layout.parseTileLevelIndexPartial_err;
    assert.equal(bad.length, 15);
    for (const c of bad) {
      rejects(`tile/${c.pathLevel}/${c.pathIndex}`);
      if (/^[0-9]+$/.test(c.pathLevel) && Number(c.pathLevel) <= 63) rejects(`tile/entries/${c.pathIndex}`);
    }
  });

  test('nodeCoordsToTileAddress: which tile, and where in it, a Merkle node is read from', { skip }, async () => {
    // Hash i of tile (L, N) is hashLeaf("L/N/i"); the reader must combine exactly the hashes that
    // the vector's (node level, node index) inside the tile designates.
    const tileHashes = (t: TileCoord) => Array.from({ length: t.width }, (_, i) => hashLeaf(new TextEncoder().encode(`${t.level}/${t.index}/${i}`)));
    const perfect = (hs: Hash[]): Hash => (hs.length === 1 ? hs[0]! : hashChildren(perfect(hs.slice(0, hs.length / 2)), perfect(hs.slice(hs.length / 2))));
    for (const c of V.tessera_api_layout.nodeCoordsToTileAddress) {
      const reads: TileCoord[] = [];
      const read = tileSubtreeReader(1n << 40n, async (t) => (reads.push(t), tileHashes(t)));
      const [got] = await read([{ level: num(c.treeLevel), index: big(c.treeIndex) }]);
      assert.deepEqual(reads, [{ level: num(c.wantTileLevel), index: big(c.wantTileIndex), width: 256 }]);
      const span = 1 << num(c.wantNodeLevel);
      const first = num(c.wantNodeIndex) * span;
      assert.deepEqual(got, perfect(tileHashes(reads[0]!).slice(first, first + span)));
    }
  });
});

describe('Go sumdb tile paths (different format)', () => {
  test('rejected by the C2SP parser, valid and invalid alike', { skip }, () => {
    const cases = V.go_sumdb_tlog_tiles.tilePaths;
    assert.equal(cases.length, 8);
    for (const c of cases) rejects(c.path);
  });

  test('the same tiles in C2SP form parse, and drop the height', { skip }, () => {
    for (const c of V.go_sumdb_tlog_tiles.tilePaths.filter((x: any) => x.valid && num(x.tile.L) >= 0)) {
      const t = { level: num(c.tile.L), index: big(c.tile.N), width: 256 };
      const ours = formatTilePath(t);
      assert.notEqual(ours, c.path);
      assert.ok(!ours.startsWith(`tile/${c.tile.H}/${c.tile.L}/`), ours);
      assert.deepEqual(parseTilePath(ours), { kind: 'hash', ...t });
    }
  });
});
