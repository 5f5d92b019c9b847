// Copies the object graphs of versions into a mirror's store, fetching only what it lacks, and
// keeping one invariant that makes resuming cheap and receipts honest:
//
//   an object is in the store only if every object below it is in the store.
//
// The walk goes top-down (a parent names its children), but objects are committed bottom-up: an
// object is put only once all its children are durable (flushed), so a crash at any point leaves
// whole subgraphs and nothing else. On the next pass a held object is a complete subgraph and is
// skipped without being read or fetched again; what a killed pass had fetched but not yet made
// durable (a few internal nodes, the last unflushed objects) is fetched again, nothing more.
//
// `full` mode is for after damage (a scrub found flipped, truncated or lost bytes, which breaks
// the invariant): held objects are read locally, hash-checked and descended into too, and what
// is missing below them is fetched.
//
// Every fetched object must hash to its id (checked here, whatever the source claims) and its
// plaintext header must parse; no key is needed. Sources are tried in order per batch: a source
// that fails, or serves bytes that do not match, is recorded and the next one asked.
import { Buffer } from 'node:buffer';
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { bytesEqual, toHex } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { parseObjectHeader } from '../object/object.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { ObjectId } from '../tree/types.ts';

export interface ObjectSource {
  /** The peer's name, for reports. */
  name: string;
  /** One entry per id, in order; undefined when the source does not hold it. */
  fetchObjects(ids: ObjectId[]): Promise<(Uint8Array | undefined)[]>;
}

export interface GraphSyncOptions {
  /** Descend into held objects as well (repair after damage). */
  full?: boolean;
  /** Ids per request; default 512. */
  batchSize?: number;
  /** Requests in flight; default 4. */
  concurrency?: number;
  /** Flush (make durable) after this many new bytes; default 8 MiB. */
  flushBytes?: number;
  /** Called after each flush with the totals so far. */
  onProgress?: (p: { fetched: number; fetchedBytes: number; stored: number }) => void;
}

export interface SourceFailure {
  source: string;
  /** Error code and message, for people; never bytes. */
  error: string;
  ids: number;
}

export interface GraphSyncReport {
  /** Objects fetched from sources and stored. */
  fetched: number;
  fetchedBytes: number;
  /** Objects made durable in this pass (fetched ones, once their subgraph was complete). */
  stored: number;
  /** Held objects that were skipped as complete subgraphs (or, in full mode, read and checked). */
  held: number;
  /** Held objects that turned out damaged locally (full mode) and were fetched again. */
  repaired: number;
  /** Ids no source could provide, as hex. */
  missing: string[];
  /** Every failed request and every bad object a source served. */
  failures: SourceFailure[];
  /** True when every root is in the store with its whole graph. */
  complete: boolean;
}

const key = (id: ObjectId): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');

interface Node {
  id: ObjectId;
  bytes: Uint8Array;
  /** Children not yet durable. */
  waiting: number;
}

export async function syncGraph(roots: readonly ObjectId[], store: ObjectStore, sources: readonly ObjectSource[], options: GraphSyncOptions = {}): Promise<GraphSyncReport> {
  const batchSize = options.batchSize ?? 512;
  const concurrency = options.concurrency ?? 4;
  const flushBytes = options.flushBytes ?? 8 * 1024 * 1024;
  const full = options.full ?? false;
  const report: GraphSyncReport = { fetched: 0, fetchedBytes: 0, stored: 0, held: 0, repaired: 0, missing: [], failures: [], complete: false };

  const seen = new Set<string>();
  /** Fetched objects waiting for their children, by key. */
  const pending = new Map<string, Node>();
  /** For a key not yet durable: the pending parents waiting on it. */
  const waiters = new Map<string, string[]>();
  let queue: ObjectId[] = [];
  /** Put since the last flush: durable at the next one. */
  let unflushed = new Set<string>();
  let unflushedBytes = 0;
  /** Hex ids no source provided. */
  const missing = new Set<string>();

  // An id is new work unless seen; in normal mode a held id is a complete subgraph.
  const discover = async (ids: ObjectId[], parent: string | undefined): Promise<number> => {
    const fresh: ObjectId[] = [];
    let waitingOn = 0;
    for (const id of ids) {
      const k = key(id);
      if (seen.has(k)) {
        // Shared subtree: wait on it if it is not durable yet.
        if (parent !== undefined && (pending.has(k) || waiters.has(k) || unflushed.has(k))) {
          addWaiter(k, parent);
          waitingOn++;
        }
        continue;
      }
      seen.add(k);
      fresh.push(id);
    }
    if (fresh.length === 0) return waitingOn;
    const held = full ? fresh.map(() => false) : await store.has(fresh);
    for (let i = 0; i < fresh.length; i++) {
      const id = fresh[i]!;
      if (held[i]) {
        report.held++;
        continue;
      }
      queue.push(id);
      if (parent !== undefined) {
        addWaiter(key(id), parent);
        waitingOn++;
      } else {
        waiters.set(key(id), waiters.get(key(id)) ?? []);
      }
    }
    return waitingOn;
  };
  const addWaiter = (child: string, parent: string): void => {
    const list = waiters.get(child);
    if (list) list.push(parent);
    else waiters.set(child, [parent]);
  };

  const put = async (node: Node): Promise<void> => {
    await store.put(node.id, node.bytes);
    const k = key(node.id);
    unflushed.add(k);
    unflushedBytes += node.bytes.length;
  };

  // A checked object: wait for its children, or store it now if it has none outstanding.
  const accept = async (id: ObjectId, bytes: Uint8Array, local: boolean): Promise<void> => {
    const children = parseObjectHeader(bytes).children;
    const k = key(id);
    if (local) {
      // Full mode, already stored: parents waiting on it may go on; its children need looking at.
      report.held++;
      await durable(k);
      await discover(children, undefined);
      return;
    }
    const node: Node = { id, bytes, waiting: 0 };
    pending.set(k, node);
    node.waiting = await discover(children, k);
    if (node.waiting === 0) {
      pending.delete(k);
      await put(node);
    }
  };

  // `k` is in the store for good: parents waiting only on it can be put now.
  const durable = async (k: string): Promise<void> => {
    const parents = waiters.get(k) ?? [];
    waiters.delete(k);
    for (const p of parents) {
      const node = pending.get(p);
      if (node === undefined) continue;
      if (--node.waiting === 0) {
        pending.delete(p);
        await put(node);
      }
    }
  };

  const flush = async (): Promise<void> => {
    if (unflushed.size === 0) return;
    await store.flush();
    const done = unflushed;
    unflushed = new Set();
    unflushedBytes = 0;
    report.stored += done.size;
    for (const k of done) await durable(k);
    options.onProgress?.({ fetched: report.fetched, fetchedBytes: report.fetchedBytes, stored: report.stored });
  };

  // Fetch one batch from the sources in order; returns bytes per id (undefined: nobody had it).
  const fetchBatch = async (ids: ObjectId[]): Promise<(Uint8Array | undefined)[]> => {
    const out: (Uint8Array | undefined)[] = ids.map(() => undefined);
    let want = ids.map((_, i) => i);
    for (const source of sources) {
      if (want.length === 0) break;
      let got: (Uint8Array | undefined)[];
      try {
        got = await source.fetchObjects(want.map((i) => ids[i]!));
        if (got.length !== want.length) throw new EmbassyError('input.malformed', `answered ${got.length} objects for ${want.length} ids`);
      } catch (e) {
        if (!isEmbassyError(e)) throw e;
        report.failures.push({ source: source.name, error: `${e.code}: ${e.message}`, ids: want.length });
        // A transfer cut part way may still have brought objects whole: keep those (checked below).
        const partial = (e as { partial?: unknown }).partial;
        if (!Array.isArray(partial) || partial.length !== want.length) continue;
        got = partial as (Uint8Array | undefined)[];
      }
      const still: number[] = [];
      want.forEach((i, j) => {
        const bytes = got[j];
        if (bytes !== undefined && !bytesEqual(sha256(bytes), ids[i]!)) {
          report.failures.push({ source: source.name, error: `object.id-mismatch: object ${toHex(ids[i]!)} does not hash to its id`, ids: 1 });
          still.push(i);
        } else if (bytes === undefined) {
          still.push(i);
        } else {
          out[i] = bytes;
        }
      });
      want = still;
    }
    return out;
  };

  const take = async (ids: ObjectId[], got: (Uint8Array | undefined)[]): Promise<void> => {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const bytes = got[i];
      if (bytes === undefined) {
        missing.add(toHex(id));
        continue;
      }
      try {
        parseObjectHeader(bytes);
      } catch (e) {
        if (!isEmbassyError(e)) throw e;
        // Hashes to its id but is not an object: the home sealed garbage, or an id collision.
        report.failures.push({ source: 'graph', error: `object ${toHex(id)}: ${e.message}`, ids: 1 });
        missing.add(toHex(id));
        continue;
      }
      report.fetched++;
      report.fetchedBytes += bytes.length;
      await accept(id, bytes, false);
    }
  };

  // Full mode reads held objects locally first; what is absent or damaged goes to the sources.
  const readLocal = async (ids: ObjectId[]): Promise<ObjectId[]> => {
    const remote: ObjectId[] = [];
    for (const id of ids) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await store.get(id);
      } catch (e) {
        if (!isEmbassyError(e)) throw e;
        bytes = undefined;
        report.repaired++;
      }
      if (bytes === undefined) {
        remote.push(id);
        continue;
      }
      try {
        await accept(id, bytes, true);
      } catch (e) {
        if (!isEmbassyError(e)) throw e;
        report.repaired++;
        remote.push(id);
      }
    }
    return remote;
  };

  try {
    await discover([...roots], undefined);
    for (;;) {
      while (queue.length > 0) {
        const layer = queue;
        queue = [];
        let work = layer;
        if (full) work = await readLocal(layer);
        // Up to `concurrency` requests in flight; results are processed in order.
        for (let i = 0; i < work.length; i += batchSize * concurrency) {
          const batches: ObjectId[][] = [];
          for (let j = i; j < Math.min(work.length, i + batchSize * concurrency); j += batchSize) batches.push(work.slice(j, j + batchSize));
          // Each batch is taken as soon as it and those before it arrived: a pass killed
          // meanwhile loses only what is still in flight.
          const results = batches.map((b) => fetchBatch(b));
          for (const r of results) r.catch(() => undefined);
          for (let b = 0; b < batches.length; b++) await take(batches[b]!, await results[b]!);
          if (unflushedBytes >= flushBytes) await flush();
        }
      }
      if (unflushed.size === 0) break;
      await flush();
    }
  } finally {
    // Whatever was put is a complete subgraph: make it durable even when the pass failed.
    if (unflushed.size > 0) await flush().catch(() => undefined);
  }
  report.missing = [...missing];
  if (missing.size === 0 && pending.size === 0) {
    const held = await store.has([...roots]);
    report.complete = held.every(Boolean);
  }
  return report;
}
