// The reads the serving API answers, over a DatasetView: choosing a version (by number or by
// point in time), a record by key with its proof bundle, range scans with a cursor, and
// secondary-index lookups. Proof bundles are exactly what `embassy get --proof` prints, so
// `embassy proof verify --vkey <homeVerifierKey>` checks them offline. The log inclusion proof of
// a version statement depends only on the view's checkpoint: it is computed once per version and
// view, not per request.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { indexRoot, versionRoot, type VersionInfo } from '../catalog/catalog.ts';
import { PROOF_BUNDLE_FORMAT, formatProofBundle, type ProofBundle } from '../proof/bundle.ts';
import type { Hash } from '../log/merkle.ts';
import { proveLogInclusion } from '../sitelog/proofs.ts';
import { lookupIndex } from '../tree/index-tree.ts';
import { getRecord, scanRange } from '../tree/read.ts';
import { proveRecordJson, proveRecordMemoized } from './record-proofs.ts';
import { toBase64, utf8Strict } from '../format/bytes.ts';
import { compareKeys } from '../tree/params.ts';
import { JSON_CONTENT_TYPE, type TreeRecord } from '../tree/types.ts';
import type { DatasetView } from './access.ts';

export const MAX_RANGE_LIMIT = 1000;
export const DEFAULT_RANGE_LIMIT = 100;
export const MAX_LOOKUP_LIMIT = 1000;
export const DEFAULT_LOOKUP_LIMIT = 100;

export interface VersionSelector {
  version?: number;
  /** ISO 8601 time: the newest version whose sourceTime is at or before it. */
  at?: string;
}

export interface PresentedRecord {
  key: string;
  contentType: string;
  value: unknown;
}

/** A record as clients want it: JSON values parsed, other bytes as base64 (as `embassy get --json`). */
export function presentRecord(r: TreeRecord): PresentedRecord {
  if (r.contentType === JSON_CONTENT_TYPE) return { key: r.key, contentType: r.contentType, value: JSON.parse(utf8Strict.decode(r.value)) };
  return { key: r.key, contentType: r.contentType, value: Buffer.from(r.value).toString('base64') };
}

/** The version a request asks for; throws version.unknown (404) or input.malformed (400). */
export function selectVersion(view: DatasetView, sel: VersionSelector): VersionInfo {
  if (sel.version !== undefined && sel.at !== undefined) throw new EmbassyError('input.malformed', `${view.id}: give version or at, not both`);
  const versions = view.versions;
  if (versions.length === 0) throw new EmbassyError('version.unknown', `${view.id} has no retained versions`);
  if (sel.version !== undefined) {
    const v = versions.find((x) => x.statement.version === sel.version);
    if (!v) throw new EmbassyError('version.unknown', `${view.id} has no retained version ${sel.version}`);
    return v;
  }
  if (sel.at !== undefined) {
    const at = Date.parse(sel.at);
    if (!Number.isFinite(at)) throw new EmbassyError('input.malformed', `${view.id}: at must be an ISO 8601 date-time`);
    for (let i = versions.length - 1; i >= 0; i--) {
      if (Date.parse(versions[i]!.statement.sourceTime) <= at) return versions[i]!;
    }
    throw new EmbassyError('version.unknown', `${view.id} has no retained version with a source time at or before ${new Date(at).toISOString()}`);
  }
  return versions[versions.length - 1]!;
}

/** A client's key: record.invalid would be a 500; a bad key in a request is the client's mistake. */
function clientInput<T>(what: string, f: () => Promise<T>): Promise<T> {
  return f().catch((e: unknown) => {
    if (isEmbassyError(e, 'record.invalid')) throw new EmbassyError('input.malformed', `${what}: ${e.message}`);
    throw e;
  });
}

// Keyed by view, so a reloaded catalog (a new view, a newer checkpoint) starts afresh.
const logProofs = new WeakMap<DatasetView, Map<bigint, Promise<Hash[]>>>();

/** The inclusion proof of a version statement in the view's checkpoint, computed once. */
export function logProofFor(view: DatasetView, v: VersionInfo): Promise<Hash[]> {
  let m = logProofs.get(view);
  if (!m) logProofs.set(view, (m = new Map()));
  let p = m.get(v.logIndex);
  if (!p) {
    p = proveLogInclusion(view.log, v.logIndex, view.checkpointSize);
    m.set(v.logIndex, p);
    p.catch(() => m!.delete(v.logIndex));
  }
  return p;
}

/** presentRecord as JSON text: a JSON value is embedded as stored (canonical JSON), not parsed and re-made. */
export function presentRecordJson(r: TreeRecord): string {
  const head = `{"key":${JSON.stringify(r.key)},"contentType":${JSON.stringify(r.contentType)},"value":`;
  if (r.contentType === JSON_CONTENT_TYPE) return `${head}${utf8Strict.decode(r.value)}}`;
  return `${head}${JSON.stringify(Buffer.from(r.value).toString('base64'))}}`;
}

// The part of a version's proof bundles after the record proof, as JSON text, made once per view and version.
const bundleTails = new WeakMap<DatasetView, Map<bigint, Promise<string>>>();

function bundleTail(view: DatasetView, v: VersionInfo): Promise<string> {
  let m = bundleTails.get(view);
  if (!m) bundleTails.set(view, (m = new Map()));
  let p = m.get(v.logIndex);
  if (!p) {
    p = logProofFor(view, v).then((logProof) =>
      `,"statement":${JSON.stringify(v.statement)},"logIndex":${Number(v.logIndex)},"logProof":${JSON.stringify(logProof.map(toBase64))},"checkpoint":${JSON.stringify(view.checkpointNote)}}`);
    m.set(v.logIndex, p);
    p.catch(() => m!.delete(v.logIndex));
  }
  return p;
}

/**
 * proveKey's bundle as JSON text, member for member what JSON.stringify(formatProofBundle(…))
 * gives (a test compares them): the hot path of proof-carrying lookups.
 */
export async function proveKeyJson(view: DatasetView, v: VersionInfo, key: string): Promise<{ record: TreeRecord; bundleJson: string } | undefined> {
  const { params, store } = view.treeFor(v);
  const [proof, tail] = await Promise.all([clientInput('record key', () => proveRecordJson(versionRoot(v), key, params, store)), bundleTail(view, v)]);
  if (!proof) return undefined;
  return { record: proof.record, bundleJson: `{"format":${JSON.stringify(PROOF_BUNDLE_FORMAT)},"record":${proof.json}${tail}` };
}

/** The proof bundle of one record, or undefined when the version has no record with the key. */
export async function proveKey(view: DatasetView, v: VersionInfo, key: string): Promise<{ record: TreeRecord; bundle: ProofBundle } | undefined> {
  const { params, store } = view.treeFor(v);
  const [recordProof, logProof] = await Promise.all([
    clientInput('record key', () => proveRecordMemoized(versionRoot(v), key, params, store)),
    logProofFor(view, v),
  ]);
  if (!recordProof) return undefined;
  const bundle = formatProofBundle({ recordProof, statement: v.statement, logIndex: v.logIndex, logProof, checkpointNote: view.checkpointNote });
  return { record: recordProof.record, bundle };
}

export async function readKey(view: DatasetView, v: VersionInfo, key: string): Promise<TreeRecord | undefined> {
  const { store } = view.treeFor(v);
  return clientInput('record key', () => getRecord(versionRoot(v), key, store));
}

export interface RangeQuery {
  from?: string;
  to?: string;
  /** Cursor: start after this key (the `next` of the previous page). */
  after?: string;
  limit?: number;
}

/** One page of a range scan; `next` is the cursor of the following page when there may be one. */
export async function readRange(view: DatasetView, v: VersionInfo, q: RangeQuery): Promise<{ records: TreeRecord[]; next?: string }> {
  const limit = q.limit ?? DEFAULT_RANGE_LIMIT;
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_RANGE_LIMIT)) throw new EmbassyError('input.malformed', `range: limit must be 1..${MAX_RANGE_LIMIT}`);
  const { store } = view.treeFor(v);
  // `after` wins over `from` when it is further on: a cursor never goes back.
  const start = q.after !== undefined && (q.from === undefined || compareKeys(q.after, q.from) >= 0) ? q.after : q.from;
  const skipFirst = start !== undefined && start === q.after;
  return clientInput('range', async () => {
    const records: TreeRecord[] = [];
    const options = { ...(start !== undefined ? { from: start } : {}), ...(q.to !== undefined ? { to: q.to } : {}), limit: limit + 2 };
    for await (const r of scanRange(versionRoot(v), options, store)) {
      if (skipFirst && r.key === q.after) continue;
      if (records.length === limit) return { records, next: records[records.length - 1]!.key };
      records.push(r);
    }
    return { records };
  });
}

export interface LookupQuery {
  fields: string[];
  values: (string | number)[];
  limit?: number;
}

/** Primary keys under an index value tuple, then their records (with proofs when asked). */
export async function readLookup(view: DatasetView, v: VersionInfo, q: LookupQuery, withProof: boolean, maxLimit = MAX_LOOKUP_LIMIT): Promise<{ record: TreeRecord; bundle?: ProofBundle }[]> {
  const limit = q.limit ?? DEFAULT_LOOKUP_LIMIT;
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= maxLimit)) throw new EmbassyError('input.malformed', `index lookup: limit must be 1..${maxLimit}`);
  if (q.fields.length !== q.values.length) throw new EmbassyError('input.malformed', `index lookup: ${q.fields.length} fields but ${q.values.length} values`);
  const root = indexRoot(v, q.fields);
  if (!root) {
    const known = v.statement.indexes.map((i) => i.fields.join(',')).join('; ') || 'none';
    throw new EmbassyError('input.malformed', `index lookup: ${view.id} version ${v.statement.version} has no index on ${q.fields.join(',')} (indexes: ${known})`);
  }
  const { store } = view.treeFor(v);
  // Ingest indexes integers by their decimal text (seal/ingest.ts), so 49 and "49" are one value.
  const values = q.values.map(String);
  return clientInput('index lookup', async () => {
    const keys: string[] = [];
    for await (const k of lookupIndex(root, values, store, limit)) keys.push(k);
    return Promise.all(
      keys.map(async (k) => {
        if (withProof) {
          const p = await proveKey(view, v, k);
          if (!p) throw new EmbassyError('tree.corrupt', `${view.id} version ${v.statement.version}: an index names a record the version does not hold`);
          return { record: p.record, bundle: p.bundle };
        }
        const r = await readKey(view, v, k);
        if (!r) throw new EmbassyError('tree.corrupt', `${view.id} version ${v.statement.version}: an index names a record the version does not hold`);
        return { record: r };
      }),
    );
  });
}
