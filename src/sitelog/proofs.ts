// Inclusion and consistency proofs served from a stored tlog-tiles log: the tiles are read
// through the LogReader and turned into the subtree hashes the RFC 6962 proof needs.
import { EmbassyError } from '../errors.ts';
import { proveConsistency, proveInclusion, type Hash } from '../log/merkle.ts';
import { formatTilePath, parseTileHashes, tileSubtreeReader, type TileCoord } from '../log/tile.ts';
import type { LogReader } from '../store/log-store.ts';

function readerFor(log: LogReader, size: bigint) {
  return tileSubtreeReader(size, async (t: TileCoord) => {
    const path = formatTilePath(t);
    const bytes = await log.get(path);
    if (bytes === undefined) throw new EmbassyError('log.corrupt', `log: ${path} is missing`);
    return parseTileHashes(bytes, t.width);
  });
}

export function proveLogInclusion(log: LogReader, index: bigint, size: bigint): Promise<Hash[]> {
  return proveInclusion(index, size, readerFor(log, size));
}

export function proveLogConsistency(log: LogReader, size1: bigint, size2: bigint): Promise<Hash[]> {
  return proveConsistency(size1, size2, readerFor(log, size2));
}
