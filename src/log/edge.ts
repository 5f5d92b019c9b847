// The right edge of a tiled RFC 6962 tree: for each tile level, the hashes of its rightmost,
// incomplete tile. That is all an appender needs to add leaves, emit the tiles they complete,
// and compute the root — O(levels × 256) memory for any size up to 2^63. Used by the log
// writer (append) and the log verifier (recompute from entries and compare).
import { EmbassyError } from '../errors.ts';
import { hashChildren, rootOfLeafHashes, EMPTY_ROOT, type Hash } from './merkle.ts';
import { TILE_HEIGHT, TILE_WIDTH, tileRoot, type TileCoord } from './tile.ts';

const WIDTH = BigInt(TILE_WIDTH);
const HEIGHT = BigInt(TILE_HEIGHT);

export interface TileContent {
  coord: TileCoord;
  hashes: Hash[];
}

export class TreeEdge {
  private _size: bigint;
  /** partial[L]: hashes of the rightmost incomplete tile at level L (0..255 of them). */
  private readonly partial: Hash[][];

  private constructor(size: bigint, partial: Hash[][]) {
    this._size = size;
    this.partial = partial;
  }

  static empty(): TreeEdge {
    return new TreeEdge(0n, []);
  }

  /**
   * The partial tiles a tree of `size` has on its right edge; reading exactly these from storage
   * is enough to reopen the edge with fromPartialTiles().
   */
  static partialTileCoords(size: bigint): TileCoord[] {
    const out: TileCoord[] = [];
    for (let level = 0; size >> (HEIGHT * BigInt(level)) > 0n; level++) {
      const count = size >> (HEIGHT * BigInt(level));
      const width = Number(count % WIDTH);
      if (width > 0) out.push({ level, index: count / WIDTH, width });
    }
    return out;
  }

  static fromPartialTiles(size: bigint, tiles: readonly TileContent[]): TreeEdge {
    const partial: Hash[][] = [];
    for (const want of TreeEdge.partialTileCoords(size)) {
      const got = tiles.find((t) => t.coord.level === want.level);
      if (!got || got.coord.index !== want.index || got.hashes.length !== want.width) {
        throw new EmbassyError(
          'log.corrupt',
          `tree edge: missing or wrong partial tile at level ${want.level} for size ${size}`,
        );
      }
      partial[want.level] = got.hashes.slice();
    }
    return new TreeEdge(size, partial);
  }

  clone(): TreeEdge {
    return new TreeEdge(this._size, this.partial.map((row) => row.slice()));
  }

  get size(): bigint {
    return this._size;
  }

  /** Adds one leaf hash; returns the full tiles (at any level) that this leaf completed. */
  append(leafHash: Hash): TileContent[] {
    const completed: TileContent[] = [];
    let h = leafHash;
    for (let level = 0; ; level++) {
      const row = (this.partial[level] ??= []);
      row.push(h);
      if (row.length < TILE_WIDTH) break;
      const count = this._size >> (HEIGHT * BigInt(level)); // hashes at this level before the leaf
      completed.push({ coord: { level, index: count / WIDTH, width: TILE_WIDTH }, hashes: row.slice() });
      h = tileRoot(row);
      this.partial[level] = [];
    }
    this._size++;
    return completed;
  }

  /** The current right-edge partial tiles (width ≥ 1), lowest level first. */
  partialTiles(): TileContent[] {
    return TreeEdge.partialTileCoords(this._size).map((coord) => ({
      coord,
      hashes: (this.partial[coord.level] ?? []).slice(),
    }));
  }

  /**
   * RFC 6962 root. The tree decomposes into complete subtrees of decreasing size, left to right;
   * those come from the partial tiles, highest level first, each split by the binary expansion
   * of its width. The root folds them from the right.
   */
  root(): Hash {
    if (this._size === 0n) return EMPTY_ROOT;
    const subtrees: Hash[] = [];
    const tiles = this.partialTiles().reverse();
    for (const { hashes } of tiles) {
      let start = 0;
      for (let bit = TILE_WIDTH >> 1; bit >= 1; bit >>= 1) {
        if (hashes.length & bit) {
          subtrees.push(rootOfLeafHashes(hashes.slice(start, start + bit)));
          start += bit;
        }
      }
    }
    let acc = subtrees[subtrees.length - 1]!;
    for (let i = subtrees.length - 2; i >= 0; i--) acc = hashChildren(subtrees[i]!, acc);
    return acc;
  }
}
