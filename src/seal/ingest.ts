// Sealing a new version of a dataset from a source file: a full snapshot (sorted with bounded
// memory, built into a history-independent tree whose unchanged nodes deduplicate against the
// previous version) or a change file (applied incrementally). Secondary-index trees are kept
// alongside. Objects are made durable here; the caller then commits the version statement to the
// log — only that makes the version exist, so a failure at any point commits no version.
import { stat } from 'node:fs/promises';
import { EmbassyError } from '../errors.ts';
import { toBase64, toHex } from '../format/bytes.ts';
import type { IndexRootInfo, VersionStatement } from '../format/statement-types.ts';
import { indexRoot, versionRoot, type DatasetInfo, type VersionInfo } from '../catalog/catalog.ts';
import { NdjsonReading, readChanges, readSource, sortRecords, sourceChangedError, type SourceRecord } from '../ingest/index.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { applyChanges, type TreeChange } from '../tree/update.ts';
import { checkInputOrder, prepareRecord, TreeBuilder, type PreparedEntry } from '../tree/build.ts';
import { diffTrees } from '../tree/diff.ts';
import { getRecord, scanRange } from '../tree/read.ts';
import { INDEX_CONTENT_TYPE, indexEntryKey } from '../tree/index-tree.ts';
import { compareKeys } from '../tree/params.ts';
import type { TreeParams, TreeRecord, TreeRoot, TreeStore } from '../tree/types.ts';
import { ObjectTreeStore, type SealStats } from './tree-store.ts';

export interface SealSession {
  dataset: DatasetInfo;
  dekNumber: number;
  params: TreeParams;
  objects: ObjectStore;
  store: ObjectTreeStore;
  /** Where the external sort may spill (encrypted) runs. */
  tmpDir: string;
  memoryBytes?: number;
  /** The previous version's store when it is sealed under another data key (after `dataset rotate-key`). */
  previousStore?: TreeStore;
}

export interface SealResult {
  statement: VersionStatement;
  stats: SealStats;
  changes: { added: number; updated: number; deleted: number };
}

export interface SealOptions {
  format?: 'ndjson' | 'csv' | 'json';
  /** ISO 8601 UTC time the source represents. */
  sourceTime: string;
  onProgress?: (records: number) => void;
  /**
   * Seal leaves in a worker thread beside the tree build; the bytes are the same either way.
   * Default: for sources of WORKER_MIN_SOURCE_BYTES or more (starting a worker costs ~0.3 s of CPU).
   */
  workers?: boolean;
}

const EMPTY = new Uint8Array(0);

function rootOf(v: VersionInfo | undefined): TreeRoot | undefined {
  return v ? versionRoot(v) : undefined;
}

function indexRootOf(v: VersionInfo | undefined, fields: string[]): TreeRoot | undefined {
  return v ? indexRoot(v, fields) : undefined;
}

/** Reads a dotted field path from a parsed JSON record. */
export function fieldValue(value: unknown, path: string): unknown {
  let v = value;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** The index keys of one record for one index; none when a field is absent. */
function indexKeysOf(record: TreeRecord, fields: string[]): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(record.value));
  } catch {
    return [];
  }
  const values: string[] = [];
  for (const f of fields) {
    const v = fieldValue(parsed, f);
    if (typeof v === 'string' && v.length > 0) values.push(v);
    else if (typeof v === 'number' && Number.isSafeInteger(v)) values.push(String(v));
    else return [];
  }
  return [indexEntryKey(values, record.key)];
}

function indexRecord(key: string): TreeRecord {
  return { key, contentType: INDEX_CONTENT_TYPE, value: EMPTY };
}

/** Sources from this size up are sealed with a seal worker unless told otherwise. */
export const WORKER_MIN_SOURCE_BYTES = 32 * 1024 * 1024;

async function sourceBytes(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0; // reading it will say why
  }
}

/** What tells a file's version apart: undefined when it cannot be read (reading it will say why). */
async function fileIdentity(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** `items`, once `check` has passed; without a generator of its own, which would cost a turn per item. */
function afterCheck<T>(items: AsyncIterable<T>, check: () => Promise<void>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const it = items[Symbol.asyncIterator]();
      let next = async (): Promise<IteratorResult<T>> => {
        await check();
        next = () => it.next();
        return it.next();
      };
      return {
        next: () => next(),
        return: async (): Promise<IteratorResult<T>> => (await it.return?.()) ?? { done: true, value: undefined },
      };
    },
  };
}

/** Leaves prepared (hashed, and handed to the seal worker) before the builder takes them. */
const LEAF_LOOKAHEAD = 8;

/**
 * buildTree (tree/build.ts) for sorted source records, with each leaf handed to the store's seal
 * worker as soon as its entries are hashed: a leaf ends after a key of rank >= 1 (boundaries
 * depend only on keys), so the leaves are known before the builder closes them, and the worker
 * compresses and encrypts one while this thread hashes the next ones. The builder still makes
 * every node; a leaf it closes is one whose seal has been under way for a few leaves.
 */
async function buildSnapshotTree(
  source: AsyncIterable<SourceRecord>,
  params: TreeParams,
  store: ObjectTreeStore,
  onProgress?: (n: number) => void,
): Promise<TreeRoot> {
  const builder = new TreeBuilder(params, store);
  let leaf: PreparedEntry[] = [];
  const ahead: PreparedEntry[][] = [];
  let prev: string | undefined;
  let n = 0;
  const push = async (entries: PreparedEntry[]): Promise<void> => {
    for (const p of entries) await builder.pushEntry(p);
  };
  for await (const { record } of source) {
    if (prev !== undefined) checkInputOrder(prev, record.key, n, 'record');
    const p = prepareRecord(record, params, store);
    const entry = p instanceof Promise ? await p : p;
    leaf.push(entry);
    prev = record.key;
    if (++n % 10_000 === 0) onProgress?.(n);
    if (entry.rank > 0) {
      store.prepareLeaf(leaf.map((e) => e.entry));
      ahead.push(leaf);
      leaf = [];
      if (ahead.length > LEAF_LOOKAHEAD) await push(ahead.shift()!);
    }
  }
  onProgress?.(n);
  if (leaf.length > 0) store.prepareLeaf(leaf.map((e) => e.entry));
  for (const entries of ahead) await push(entries);
  await push(leaf);
  return builder.finish();
}

async function countChanges(prev: TreeRoot | undefined, next: TreeRoot, store: ObjectTreeStore, previousStore?: TreeStore): Promise<SealResult['changes']> {
  const c = { added: 0, updated: 0, deleted: 0 };
  if (!prev) {
    c.added = next.count;
    return c;
  }
  if (previousStore) return countAcrossKeys(prev, next, previousStore, store);
  for await (const d of diffTrees(prev, next, store)) {
    if (!d.before) c.added++;
    else if (!d.after) c.deleted++;
    else c.updated++;
  }
  return c;
}

/** Changes between two versions under different data keys: no subtree is shared, so both are read whole and merged by key. */
async function countAcrossKeys(prev: TreeRoot, next: TreeRoot, prevStore: TreeStore, nextStore: TreeStore): Promise<SealResult['changes']> {
  const c = { added: 0, updated: 0, deleted: 0 };
  const a = scanRange(prev, {}, prevStore)[Symbol.asyncIterator]();
  const b = scanRange(next, {}, nextStore)[Symbol.asyncIterator]();
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareKeys(x.value.key, y.value.key);
    if (order < 0) {
      c.deleted++;
      x = await a.next();
    } else if (order > 0) {
      c.added++;
      y = await b.next();
    } else {
      if (x.value!.contentType !== y.value!.contentType || Buffer.compare(x.value!.value, y.value!.value) !== 0) c.updated++;
      x = await a.next();
      y = await b.next();
    }
  }
  return c;
}

async function buildIndexFromTree(session: SealSession, root: TreeRoot, fields: string[]): Promise<TreeRoot> {
  const store = session.store;
  async function* entries(): AsyncIterable<SourceRecord> {
    for await (const r of scanRange(root, {}, store)) {
      for (const key of indexKeysOf(r, fields)) yield { key, record: indexRecord(key), line: 0 };
    }
  }
  const sorted = sortRecords(entries(), { tmpDir: session.tmpDir, file: `index ${fields.join(',')}`, ...(session.memoryBytes ? { memoryBytes: session.memoryBytes } : {}) });
  return buildSnapshotTree(sorted, session.params, store);
}

function versionStatement(session: SealSession, root: TreeRoot, indexes: IndexRootInfo[], sourceTime: string): VersionStatement {
  const last = session.dataset.versions[session.dataset.versions.length - 1];
  return {
    type: 'version',
    dataset: session.dataset.statement.dataset,
    version: last ? last.statement.version + 1 : 1,
    previous: last ? last.statement.version : null,
    root: toHex(root.id),
    level: root.level,
    commitment: toBase64(root.commitment),
    records: root.count,
    sourceTime,
    dek: session.dekNumber,
    indexes,
  };
}

function indexInfo(fields: string[], root: TreeRoot): IndexRootInfo {
  return { fields, root: toHex(root.id), level: root.level, commitment: toBase64(root.commitment), records: root.count };
}

/** Seals a full snapshot: every record of the file, sorted, as the new version. */
export async function sealSnapshot(session: SealSession, file: string, options: SealOptions): Promise<SealResult> {
  const ds = session.dataset.statement;
  // The worker loads while the source is read and sorted.
  if (options.workers ?? (await sourceBytes(file)) >= WORKER_MIN_SOURCE_BYTES) session.store.startSealWorker();
  try {
    // NDJSON read a second time skips what the first reading checked (NdjsonReading).
    const reading = new NdjsonReading();
    const read = (): AsyncIterable<SourceRecord> => readSource(file, { key: ds.key, reading, ...(options.format ? { format: options.format } : {}) });
    // A file in key order already is read twice rather than spilled (sortRecords' replay); it
    // must be the same file both times.
    const identity = await fileIdentity(file);
    const replay = (): AsyncIterable<SourceRecord> => afterCheck(read(), async () => {
      if (identity === undefined || (await fileIdentity(file)) !== identity) throw sourceChangedError(file);
    });
    const sorted = sortRecords(read(), { tmpDir: session.tmpDir, file, replay, ...(session.memoryBytes ? { memoryBytes: session.memoryBytes } : {}) });
    const root = await buildSnapshotTree(sorted, session.params, session.store, options.onProgress);
    const prev = session.dataset.versions[session.dataset.versions.length - 1];
    const indexes: IndexRootInfo[] = [];
    for (const fields of ds.indexes) indexes.push(indexInfo(fields, await buildIndexFromTree(session, root, fields)));
    const changes = await countChanges(rootOf(prev), root, session.store, session.previousStore);
    await session.store.flush();
    return { statement: versionStatement(session, root, indexes, options.sourceTime), stats: session.store.stats, changes };
  } finally {
    await session.store.stopSealWorker();
  }
}

/** Seals the previous version plus a change file (upserts and deletes). */
export async function sealChanges(session: SealSession, file: string, options: SealOptions): Promise<SealResult> {
  const ds = session.dataset.statement;
  const prevInfo = session.dataset.versions[session.dataset.versions.length - 1];
  const prev = rootOf(prevInfo);
  if (!prev) {
    throw new EmbassyError('version.unknown', `dataset ${ds.dataset} has no version to apply changes to`, {
      hint: 'seal a full snapshot first (embassy ingest without --changes)',
    });
  }
  if (prevInfo!.statement.dek !== session.dekNumber) {
    // The tree's node boundaries and encryption come from the data key: a version under a new
    // key is a new tree, built whole, not the old one edited.
    throw new EmbassyError('usage', `dataset ${ds.dataset}: version ${prevInfo!.statement.version} is sealed under data key ${prevInfo!.statement.dek}, the current key is ${session.dekNumber}; changes cannot be applied across a key change`, {
      hint: 'seal the next version from a full snapshot (embassy ingest without --changes); change files apply again after it',
    });
  }
  // Index maintenance needs the old record of every changed key, so collect the changes
  // (a change file is small next to the dataset) while they stream into the main tree.
  const indexChanges: Map<string, TreeChange>[] = ds.indexes.map(() => new Map());
  const c = { added: 0, updated: 0, deleted: 0 };
  const store = session.store;
  let n = 0;
  async function* changes(): AsyncIterable<TreeChange> {
    for await (const ch of readChanges(file, { key: ds.key, tmpDir: session.tmpDir })) {
      const before = await getRecord(prev!, ch.key, store);
      if (!before && !ch.record) continue; // deleting an absent key changes nothing
      if (before && ch.record && before.contentType === ch.record.contentType && Buffer.compare(before.value, ch.record.value) === 0) continue;
      if (!before) c.added++;
      else if (!ch.record) c.deleted++;
      else c.updated++;
      ds.indexes.forEach((fields, i) => {
        for (const k of before ? indexKeysOf(before, fields) : []) indexChanges[i]!.set(k, { key: k });
        for (const k of ch.record ? indexKeysOf(ch.record, fields) : []) indexChanges[i]!.set(k, { key: k, record: indexRecord(k) });
      });
      if (++n % 10_000 === 0) options.onProgress?.(n);
      yield ch.record ? { key: ch.key, record: ch.record } : { key: ch.key };
    }
  }
  const result = await applyChanges(prev, changes(), session.params, store);
  const indexes: IndexRootInfo[] = [];
  for (const [i, fields] of ds.indexes.entries()) {
    const ixPrev = indexRootOf(prevInfo, fields);
    const sorted = [...indexChanges[i]!.values()].sort((a, b) => compareKeys(a.key, b.key));
    const ixRoot = ixPrev
      ? (await applyChanges(ixPrev, sorted, session.params, store)).root
      : await buildIndexFromTree(session, result.root, fields);
    indexes.push(indexInfo(fields, ixRoot));
  }
  await store.flush();
  return { statement: versionStatement(session, result.root, indexes, options.sourceTime), stats: store.stats, changes: c };
}
