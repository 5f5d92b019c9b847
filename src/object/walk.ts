// Blind walk of an object graph (DESIGN.md §4 "verify blind", §5): breadth-first from the roots,
// in batches, through a fetch function, without keys. Each object's bytes must hash to its id and
// its plaintext header must parse; its child ids are the next layer. Every id is visited once,
// and every finding is collected, never thrown: verify --blind, gc's mark phase and mirror sync.
import { Buffer } from 'node:buffer';
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import { OBJECT_ID_SIZE, parseObjectHeader } from './object.ts';

export const DEFAULT_WALK_BATCH = 256;

export interface WalkOptions {
  /**
   * Ids for which this returns true are neither fetched nor descended into (already verified,
   * already held by the mirror, ...). Asked once per id.
   */
  skip?: (id: ObjectId) => boolean;
  /** Called for every object that hashes to its id and whose header parses, before its children. */
  onObject?: (id: ObjectId, bytes: Uint8Array) => void | Promise<void>;
  /** Ids per fetch call; default 256. */
  batchSize?: number;
}

export interface WalkFinding {
  id: ObjectId;
  reason: string;
}

export interface WalkReport {
  /** Objects fetched and present (good or bad). */
  visited: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Ids the fetcher did not have, in the order they were asked for. */
  missing: ObjectId[];
  /** Objects that do not hash to their id or whose header does not parse. */
  bad: WalkFinding[];
}

/** Fetches a batch: one entry per id, in order, undefined when absent. */
export type FetchObjects = (ids: ObjectId[]) => Promise<(Uint8Array | undefined)[]>;

// 32 one-byte characters: about half the memory of hex in a set of tens of millions of ids.
const key = (id: ObjectId): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');

export async function walkGraph(roots: readonly ObjectId[], fetch: FetchObjects, options?: WalkOptions): Promise<WalkReport> {
  const batchSize = options?.batchSize ?? DEFAULT_WALK_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new EmbassyError('input.malformed', `walk: expected a positive batch size, got ${batchSize}`);
  }
  const report: WalkReport = { visited: 0, bytes: 0, missing: [], bad: [] };
  const seen = new Set<string>();
  let layer: ObjectId[] = [];
  const enqueue = (id: ObjectId, into: ObjectId[]): void => {
    const k = key(id);
    if (seen.has(k)) return;
    seen.add(k);
    if (options?.skip?.(id)) return;
    into.push(id);
  };
  for (const r of roots) {
    if (r.length !== OBJECT_ID_SIZE) {
      throw new EmbassyError('input.malformed', `walk: expected 32-byte root ids, got ${r.length} bytes`);
    }
    enqueue(r, layer);
  }
  while (layer.length > 0) {
    const next: ObjectId[] = [];
    for (let i = 0; i < layer.length; i += batchSize) {
      const batch = layer.slice(i, i + batchSize);
      const got = await fetch(batch);
      if (got.length !== batch.length) {
        throw new EmbassyError('store.io', `walk: fetch returned ${got.length} results for ${batch.length} ids`);
      }
      for (let j = 0; j < batch.length; j++) {
        const id = batch[j]!;
        const bytes = got[j];
        if (bytes === undefined) {
          report.missing.push(id);
          continue;
        }
        report.visited++;
        report.bytes += bytes.length;
        if (!bytesEqual(sha256(bytes), id)) {
          // Its header is not trusted, so its children are not walked from here.
          report.bad.push({ id, reason: 'bytes do not hash to the object id' });
          continue;
        }
        let children: ObjectId[];
        try {
          children = parseObjectHeader(bytes).children;
        } catch (e) {
          if (!isEmbassyError(e)) throw e;
          report.bad.push({ id, reason: e.message });
          continue;
        }
        await options?.onObject?.(id, bytes);
        for (const c of children) enqueue(c, next);
      }
    }
    layer = next;
  }
  return report;
}
