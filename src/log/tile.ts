// C2SP tlog-tiles (c2sp.org/tlog-tiles) geometry and encodings: tile and entry-bundle paths,
// entry bundles, hash tiles, which tiles a tree of a given size has, and a SubtreeHashReader that
// answers Merkle (merkle.ts) node reads from tiles. Not the Go sumdb layout (tile/H/L/N), which
// carries the tile height in the path and is rejected here.
import { EmbassyError } from '../errors.ts';
import { concatBytes } from '../format/bytes.ts';
import { HASH_SIZE, hashChildren, rootOfLeafHashes } from './merkle.ts';
import type { Hash, SubtreeHashReader, SubtreeNode } from './merkle.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

/** Tile (L, N, W) holds tree-level 8L nodes [N·256, N·256+W); W = 256 is a full tile. */
export interface TileCoord {
  level: number;
  index: bigint;
  width: number;
}

/** Entry bundle N of width W holds entries [N·256, N·256+W). */
export interface BundleCoord {
  index: bigint;
  width: number;
}

export interface ParsedTilePath {
  kind: 'hash' | 'entries';
  level: number; // 0 for entry bundles
  index: bigint;
  width: number; // 256 = full
}

const MAX_TILE_LEVEL = 63;
const UINT64_LIMIT = 1n << 64n;
const MAX_ENTRY_SIZE = 0xffff;
const HEIGHT = BigInt(TILE_HEIGHT);
const WIDTH_MASK = BigInt(TILE_WIDTH - 1);
// Longest canonical path: "tile/entries/" + 7 index groups + ".p/255" is 46 characters.
const MAX_PATH_LENGTH = 64;
const PATH_RE = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

export function formatTilePath(t: TileCoord): string {
  checkLevel(t.level);
  return `tile/${t.level}/${formatIndex(t.index)}${widthSuffix(t.width)}`;
}

export function formatEntryBundlePath(index: bigint, width: number): string {
  return `tile/entries/${formatIndex(index)}${widthSuffix(width)}`;
}

/**
 * Strict: accepts only what formatTilePath and formatEntryBundlePath produce. A relative path
 * ("tile/..."), no leading slash, no leading-zero index group, W in 1..255 without leading zeros.
 * Entry bundles report level 0.
 */
export function parseTilePath(path: string): ParsedTilePath {
  if (typeof path !== 'string' || path.length > MAX_PATH_LENGTH) throw malformed('tile path: too long or not a string');
  const m = PATH_RE.exec(path);
  if (m === null) throw malformed(`tile path: not of the form tile/<L>/<N>[.p/<W>]: ${JSON.stringify(path)}`);
  const [, levelPart, indexPart, widthPart] = m as unknown as [string, string, string, string | undefined];
  const groups = indexPart.split('/');
  if (groups.length > 1 && groups[0] === 'x000') {
    throw malformed(`tile path: index has a leading zero group: ${JSON.stringify(path)}`);
  }
  const index = BigInt(groups.map((g) => g.replace('x', '')).join(''));
  if (index >= UINT64_LIMIT) throw malformed(`tile path: index ${index} does not fit in 64 bits`);
  const width = widthPart === undefined ? TILE_WIDTH : Number(widthPart);
  if (widthPart !== undefined && width >= TILE_WIDTH) {
    throw malformed(`tile path: partial width ${width} is not in 1..${TILE_WIDTH - 1}`);
  }
  if (levelPart === 'entries') return { kind: 'entries', level: 0, index, width };
  const level = Number(levelPart);
  if (level > MAX_TILE_LEVEL) throw malformed(`tile path: level ${level} is above ${MAX_TILE_LEVEL}`);
  return { kind: 'hash', level, index, width };
}

/** Entry bundle: each entry as uint16 big-endian length ‖ bytes. Empty entries are allowed. */
export function formatEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  checkCount('entry bundle', entries.length);
  const parts: Uint8Array[] = [];
  for (const [i, e] of entries.entries()) {
    if (e.length > MAX_ENTRY_SIZE) {
      throw malformed(`entry bundle: entry ${i} is ${e.length} bytes, above ${MAX_ENTRY_SIZE}`);
    }
    parts.push(new Uint8Array([e.length >> 8, e.length & 0xff]), e);
  }
  return concatBytes(...parts);
}

export function parseEntryBundle(bytes: Uint8Array, expectedCount?: number): Uint8Array[] {
  if (expectedCount !== undefined) checkCount('entry bundle: expected count', expectedCount);
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (entries.length === TILE_WIDTH) throw malformed(`entry bundle: more than ${TILE_WIDTH} entries`);
    if (bytes.length - at < 2) throw malformed(`entry bundle: truncated length prefix at byte ${at}`);
    const n = (bytes[at]! << 8) | bytes[at + 1]!;
    at += 2;
    if (bytes.length - at < n) {
      throw malformed(`entry bundle: entry ${entries.length} needs ${n} bytes, ${bytes.length - at} left`);
    }
    entries.push(bytes.slice(at, at + n));
    at += n;
  }
  if (entries.length === 0) throw malformed('entry bundle: no entries');
  if (expectedCount !== undefined && entries.length !== expectedCount) {
    throw malformed(`entry bundle: expected ${expectedCount} entries, got ${entries.length}`);
  }
  return entries;
}

export function formatTileHashes(hashes: readonly Hash[]): Uint8Array {
  checkCount('hash tile', hashes.length);
  hashes.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw malformed(`hash tile: hash ${i} is ${h.length} bytes, expected ${HASH_SIZE}`);
  });
  return concatBytes(...hashes);
}

export function parseTileHashes(bytes: Uint8Array, width: number): Hash[] {
  checkCount('hash tile: width', width);
  if (bytes.length !== width * HASH_SIZE) {
    throw malformed(`hash tile: expected ${width * HASH_SIZE} bytes for width ${width}, got ${bytes.length}`);
  }
  const out: Hash[] = [];
  for (let i = 0; i < width; i++) out.push(bytes.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

/** Every hash tile of a tree of this size, full and rightmost partial, in level then index order. */
export function tilesForTree(size: bigint): TileCoord[] {
  return tilesChangedBetween(0n, size);
}

export function entryBundlesForTree(size: bigint): BundleCoord[] {
  return entryBundlesChangedBetween(0n, size);
}

/**
 * The hash tiles of newSize that oldSize does not have: at each level the full tiles that were
 * partial or absent, and the new partial tile if its width changed. O(levels + changed tiles).
 */
export function tilesChangedBetween(oldSize: bigint, newSize: bigint): TileCoord[] {
  checkSizes(oldSize, newSize);
  const out: TileCoord[] = [];
  for (let level = 0; newSize >> (HEIGHT * BigInt(level)) > 0n; level++) {
    const shift = HEIGHT * BigInt(level);
    for (const t of changedAtLevel(oldSize >> shift, newSize >> shift)) out.push({ level, ...t });
  }
  return out;
}

export function entryBundlesChangedBetween(oldSize: bigint, newSize: bigint): BundleCoord[] {
  checkSizes(oldSize, newSize);
  return changedAtLevel(oldSize, newSize);
}

/** Tiles over a row of `newCount` hashes that a row of `oldCount` hashes lacks. */
function changedAtLevel(oldCount: bigint, newCount: bigint): BundleCoord[] {
  const out: BundleCoord[] = [];
  const fullNew = newCount >> HEIGHT;
  for (let i = oldCount >> HEIGHT; i < fullNew; i++) out.push({ index: i, width: TILE_WIDTH });
  const partial = Number(newCount & WIDTH_MASK);
  if (partial > 0 && newCount !== oldCount) out.push({ index: fullNew, width: partial });
  return out;
}

/** The hash of a full tile: its 256 hashes are the leaves of a perfect subtree of height 8. */
export function tileRoot(hashes: readonly Hash[]): Hash {
  if (hashes.length !== TILE_WIDTH) throw malformed(`tile root: expected ${TILE_WIDTH} hashes, got ${hashes.length}`);
  return rootOfLeafHashes(hashes);
}

/**
 * A SubtreeHashReader backed by tiles. Node (k, i) lives in tile level ⌊k/8⌋; below a tile level
 * it is recomputed from the 2^(k mod 8) tile hashes it spans, which always sit in one tile. Each
 * call reads every tile it needs once, in parallel; a tile's width is the one this size implies.
 */
export function tileSubtreeReader(
  size: bigint,
  readTile: (t: TileCoord) => Promise<Hash[]>,
): SubtreeHashReader {
  if (size < 0n || size >= UINT64_LIMIT) throw malformed(`tile reader: size ${size} is not a uint64`);
  return async (nodes: readonly SubtreeNode[]) => {
    const plans = nodes.map(({ level, index }) => {
      const known = Number.isInteger(level) && level >= 0 && level <= MAX_TILE_LEVEL && index >= 0n;
      if (!known || (index + 1n) << BigInt(level) > size) {
        const message = `tile reader: node (${level}, ${index}) is not a complete subtree of size ${size}`;
        throw new EmbassyError('proof.malformed', message);
      }
      const tileLevel = Math.floor(level / TILE_HEIGHT);
      const inner = BigInt(level % TILE_HEIGHT);
      const first = index << inner; // first covered hash at tree level 8·tileLevel
      const rowCount = size >> (HEIGHT * BigInt(tileLevel));
      const tileIndex = first >> HEIGHT;
      const width = tileIndex < rowCount >> HEIGHT ? TILE_WIDTH : Number(rowCount & WIDTH_MASK);
      const tile: TileCoord = { level: tileLevel, index: tileIndex, width };
      const offset = Number(first & WIDTH_MASK);
      return { tile, key: `${tileLevel}/${tileIndex}`, offset, count: 1 << Number(inner) };
    });
    const tiles = new Map<string, TileCoord>();
    for (const p of plans) tiles.set(p.key, p.tile);
    const entries = [...tiles.entries()];
    const fetched = await Promise.all(entries.map(([, t]) => readTile(t)));
    const byKey = new Map<string, Hash[]>();
    entries.forEach(([key, t], i) => {
      const hashes = fetched[i]!;
      if (hashes.length !== t.width || hashes.some((h) => h.length !== HASH_SIZE)) {
        throw malformed(`tile reader: ${formatTilePath(t)} did not hold ${t.width} hashes of ${HASH_SIZE} bytes`);
      }
      byKey.set(key, hashes);
    });
    return plans.map((p) => perfectRoot(byKey.get(p.key)!.slice(p.offset, p.offset + p.count)));
  };
}

function perfectRoot(hashes: Hash[]): Hash {
  let level = hashes;
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/** 1234067 → "x001/x234/067": zero-padded 3-digit groups, all but the last prefixed with x. */
function formatIndex(index: bigint): string {
  if (typeof index !== 'bigint' || index < 0n || index >= UINT64_LIMIT) {
    throw malformed(`tile path: index ${String(index)} is not a uint64`);
  }
  let digits = index.toString();
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw malformed(`tile path: width ${width} is not in 1..${TILE_WIDTH}`);
  }
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw malformed(`tile path: level ${level} is not in 0..${MAX_TILE_LEVEL}`);
  }
}

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > TILE_WIDTH) throw malformed(`${what}: ${n} is not in 1..${TILE_WIDTH}`);
}

function checkSizes(oldSize: bigint, newSize: bigint): void {
  if (oldSize < 0n || newSize >= UINT64_LIMIT || oldSize > newSize) {
    throw malformed(`tiles: sizes ${oldSize} → ${newSize} are not uint64s in order`);
  }
}

function malformed(message: string): EmbassyError {
  return new EmbassyError('tile.malformed', message);
}
