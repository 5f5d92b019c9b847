// Verifies a site's log from a read-only LogReader (a directory now, HTTP later): the
// checkpoint signature, every entry bundle, every hash tile at every level, and the root.
// The tree is recomputed from the entries, so any flipped, missing or extra byte anywhere is
// found. All findings are collected; the walk goes on after each one where it can.
import { EmbassyError, type ErrorCode } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import { openCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import { TreeEdge, type TileContent } from '../log/edge.ts';
import { hashLeaf, type Hash } from '../log/merkle.ts';
import type { NoteVerifier } from '../log/note.ts';
import {
  TILE_WIDTH,
  formatEntryBundlePath,
  formatTileHashes,
  formatTilePath,
  parseEntryBundle,
  parseTileHashes,
} from '../log/tile.ts';
import { CHECKPOINT_PATH, type LogReader } from '../store/log-store.ts';

export interface Finding {
  code: ErrorCode;
  /** The log resource the finding is about. */
  path: string;
  message: string;
}

export interface LogReport {
  origin: string | undefined;
  size: bigint | undefined;
  root: Hash | undefined;
  entriesChecked: bigint;
  tilesChecked: number;
  findings: Finding[];
}

export interface VerifyLogOptions {
  /** Extra check on each entry (e.g. "is a statement"); returns a problem or undefined. */
  checkEntry?: (entry: Uint8Array, index: bigint) => string | undefined;
  onProgress?: (entriesChecked: bigint, size: bigint) => void;
}

const WIDTH = BigInt(TILE_WIDTH);

export async function verifyLog(reader: LogReader, verifier: NoteVerifier, options: VerifyLogOptions = {}): Promise<LogReport> {
  const report: LogReport = {
    origin: undefined,
    size: undefined,
    root: undefined,
    entriesChecked: 0n,
    tilesChecked: 0,
    findings: [],
  };
  const find = (code: ErrorCode, path: string, message: string): void => {
    report.findings.push({ code, path, message });
  };

  const raw = await readOrFind(reader, CHECKPOINT_PATH, find);
  if (raw === undefined) return report;
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(new TextDecoder().decode(raw), verifier).checkpoint;
  } catch (e) {
    find(codeOf(e, 'checkpoint.malformed'), CHECKPOINT_PATH, messageOf(e));
    return report;
  }
  report.origin = checkpoint.origin;
  report.size = checkpoint.size;
  report.root = checkpoint.root;

  // Compare a recomputed tile with the stored one.
  const compareTile = async (t: TileContent): Promise<void> => {
    const path = formatTilePath(t.coord);
    report.tilesChecked++;
    const stored = await readOrFind(reader, path, find);
    if (stored === undefined) return;
    if (!bytesEqual(stored, formatTileHashes(t.hashes))) {
      find('log.corrupt', path, `tile ${path} does not match the tree recomputed from the entries`);
    }
  };

  const edge = TreeEdge.empty();
  const size = checkpoint.size;
  for (let b = 0n; b * WIDTH < size; b++) {
    const width = Number(size - b * WIDTH < WIDTH ? size - b * WIDTH : WIDTH);
    const path = formatEntryBundlePath(b, width);
    const leafHashes = await bundleLeafHashes(reader, path, b, width, options, find);
    if (leafHashes === undefined) {
      // Without the entries (or, failing that, the stored level-0 tile) nothing above can be
      // recomputed; the findings so far say why.
      return report;
    }
    for (const h of leafHashes) {
      for (const full of edge.append(h)) await compareTile(full);
    }
    report.entriesChecked = edge.size;
    options.onProgress?.(edge.size, size);
  }
  for (const t of edge.partialTiles()) await compareTile(t);
  if (!bytesEqual(edge.root(), checkpoint.root)) {
    find('log.corrupt', CHECKPOINT_PATH, `root of the ${size} entries does not match the checkpoint root`);
  }
  return report;
}

async function bundleLeafHashes(
  reader: LogReader,
  path: string,
  bundleIndex: bigint,
  width: number,
  options: VerifyLogOptions,
  find: (code: ErrorCode, path: string, message: string) => void,
): Promise<Hash[] | undefined> {
  const bytes = await readOrFind(reader, path, find);
  if (bytes !== undefined) {
    try {
      const entries = parseEntryBundle(bytes, width);
      return entries.map((e, i) => {
        const index = bundleIndex * WIDTH + BigInt(i);
        const problem = options.checkEntry?.(e, index);
        if (problem !== undefined) find('input.malformed', path, `entry ${index}: ${problem}`);
        return hashLeaf(e);
      });
    } catch (e) {
      find(codeOf(e, 'tile.malformed'), path, messageOf(e));
    }
  }
  // Fall back to the stored level-0 tile so that the tiles above can still be checked.
  const tilePath = formatTilePath({ level: 0, index: bundleIndex, width });
  const tile = await reader.get(tilePath).catch(() => undefined);
  if (tile === undefined) return undefined;
  try {
    return parseTileHashes(tile, width);
  } catch {
    return undefined;
  }
}

async function readOrFind(
  reader: LogReader,
  path: string,
  find: (code: ErrorCode, path: string, message: string) => void,
): Promise<Uint8Array | undefined> {
  try {
    const bytes = await reader.get(path);
    if (bytes === undefined) find('store.not-found', path, `${path} is missing`);
    return bytes;
  } catch (e) {
    find(codeOf(e, 'store.io'), path, messageOf(e));
    return undefined;
  }
}

function codeOf(e: unknown, fallback: ErrorCode): ErrorCode {
  return e instanceof EmbassyError ? e.code : fallback;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
