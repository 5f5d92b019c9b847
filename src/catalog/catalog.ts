// The catalog of a home log: which datasets exist, their wrapped data keys, their sealed
// versions (with the log index of each version statement, needed for proofs), retention and
// the placement policy in force (the newest placement statement), and the custody of the KEK in
// force (the newest custody statement). A key statement for a data key that already exists, with
// the same DEK fingerprint, is a rewrap (a key ceremony moved it under a new KEK): it replaces the
// older wrapping, so `keys` always holds the newest one.
// It is derived from the log alone — the log is the source of truth — by reading every entry
// bundle up to a verified checkpoint and checking the statements' invariants on the way.
import { EmbassyError } from '../errors.ts';
import { fromBase64, fromHex } from '../format/bytes.ts';
import { parseStatement, type Statement } from '../format/statement.ts';
import {
  parseHomeStatement,
  type CustodyStatement,
  type DatasetStatement,
  type KeyStatement,
  type PlacementStatement,
  type RetentionStatement,
  type VersionStatement,
} from '../format/statement-types.ts';
import { openCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import type { NoteVerifier } from '../log/note.ts';
import { TILE_WIDTH, formatEntryBundlePath, parseEntryBundle } from '../log/tile.ts';
import { CHECKPOINT_PATH, type LogReader } from '../store/log-store.ts';
import type { ObjectId, TreeRoot } from '../tree/types.ts';

export interface VersionInfo {
  statement: VersionStatement;
  logIndex: bigint;
  rootId: ObjectId;
}

export interface DatasetInfo {
  statement: DatasetStatement;
  logIndex: bigint;
  keys: Map<number, KeyStatement>;
  versions: VersionInfo[];
  /** Versions below this are no longer retained. */
  keepFrom: number;
  /** The placement policy in force: the newest placement statement for the dataset, if any. */
  placement?: { statement: PlacementStatement; logIndex: bigint };
}

export interface Catalog {
  checkpoint: Checkpoint;
  checkpointNote: string;
  datasets: Map<string, DatasetInfo>;
  /** The custody in force: the newest custody statement, if a key ceremony was ever held. */
  custody?: { statement: CustodyStatement; logIndex: bigint };
  /** Every statement in log order (for tools that show the log). */
  statements: number;
}

const WIDTH = BigInt(TILE_WIDTH);

/** Yields every entry of the log up to `size`, with its index. */
export async function* readLogEntries(reader: LogReader, size: bigint, from = 0n): AsyncIterable<{ index: bigint; entry: Uint8Array }> {
  for (let b = from / WIDTH; b * WIDTH < size; b++) {
    const width = Number(size - b * WIDTH < WIDTH ? size - b * WIDTH : WIDTH);
    const path = formatEntryBundlePath(b, width);
    const bytes = await reader.get(path);
    if (bytes === undefined) throw new EmbassyError('log.corrupt', `log: ${path} is missing`);
    const entries = parseEntryBundle(bytes, width);
    for (let i = 0; i < entries.length; i++) {
      const index = b * WIDTH + BigInt(i);
      if (index >= from) yield { index, entry: entries[i]! };
    }
  }
}

export async function loadCatalog(reader: LogReader, verifier: NoteVerifier): Promise<Catalog> {
  const raw = await reader.get(CHECKPOINT_PATH);
  if (raw === undefined) throw new EmbassyError('log.corrupt', 'log: no checkpoint');
  const checkpointNote = new TextDecoder().decode(raw);
  const { checkpoint } = openCheckpoint(checkpointNote, verifier);
  const catalog: Catalog = { checkpoint, checkpointNote, datasets: new Map(), statements: 0 };
  for await (const { index, entry } of readLogEntries(reader, checkpoint.size)) {
    let statement: Statement;
    try {
      statement = parseStatement(entry);
    } catch (e) {
      throw new EmbassyError('log.corrupt', `log entry ${index}: ${(e as Error).message}`);
    }
    catalog.statements++;
    applyStatement(catalog, statement, index);
  }
  return catalog;
}

function corrupt(index: bigint, message: string): EmbassyError {
  return new EmbassyError('log.corrupt', `log entry ${index}: ${message}`);
}

/** Adds one statement to the catalog, checking the invariants a home log must keep. */
export function applyStatement(catalog: Catalog, statement: Statement, index: bigint): void {
  let s;
  try {
    s = parseHomeStatement(statement);
  } catch (e) {
    throw corrupt(index, (e as Error).message);
  }
  if (!s) return;
  if (s.type === 'custody') {
    const expected = (catalog.custody?.statement.epoch ?? 0) + 1;
    if (s.epoch !== expected) throw corrupt(index, `custody epoch ${s.epoch}, expected ${expected}`);
    catalog.custody = { statement: s, logIndex: index };
    return;
  }
  if (s.type === 'dataset') {
    if (catalog.datasets.has(s.dataset)) throw corrupt(index, `dataset ${s.dataset} declared twice`);
    catalog.datasets.set(s.dataset, { statement: s, logIndex: index, keys: new Map(), versions: [], keepFrom: 1 });
    return;
  }
  const ds = catalog.datasets.get(s.dataset);
  if (!ds) throw corrupt(index, `${s.type} statement for undeclared dataset ${s.dataset}`);
  if (s.type === 'key') {
    const existing = ds.keys.get(s.dek);
    if (existing) {
      // A rewrap may change only the wrapping, never which data key it is: objects sealed under
      // the old DEK must stay readable, and a swapped DEK would be a silent re-keying.
      if (existing.dekFingerprint !== s.dekFingerprint) {
        throw corrupt(index, `dataset ${s.dataset}: key ${s.dek} rewrapped with another data key fingerprint`);
      }
    } else if (s.dek !== ds.keys.size + 1) {
      throw corrupt(index, `dataset ${s.dataset}: key ${s.dek} out of order`);
    }
    ds.keys.set(s.dek, s);
  } else if (s.type === 'version') {
    const last = ds.versions[ds.versions.length - 1];
    const expected = last ? last.statement.version + 1 : 1;
    if (s.version !== expected) throw corrupt(index, `dataset ${s.dataset}: version ${s.version}, expected ${expected}`);
    if (s.previous !== (last ? last.statement.version : null)) throw corrupt(index, `dataset ${s.dataset}: wrong previous version`);
    if (!ds.keys.has(s.dek)) throw corrupt(index, `dataset ${s.dataset}: version ${s.version} uses unknown key ${s.dek}`);
    ds.versions.push({ statement: s, logIndex: index, rootId: fromHex(s.root)! });
  } else if (s.type === 'placement') {
    // A newer policy replaces the older one wholesale; the log keeps the history.
    ds.placement = { statement: s, logIndex: index };
  } else {
    const r: RetentionStatement = s;
    if (r.keepFrom < ds.keepFrom) throw corrupt(index, `dataset ${s.dataset}: retention moves backwards`);
    ds.keepFrom = r.keepFrom;
  }
}

export function datasetOf(catalog: Catalog, id: string): DatasetInfo {
  const ds = catalog.datasets.get(id);
  if (!ds) {
    throw new EmbassyError('dataset.unknown', `dataset ${id} is not declared on this site`, {
      hint: 'declare it with `embassy dataset add`',
    });
  }
  return ds;
}

/** A retained version by number, or the newest when `version` is undefined. */
export function versionOf(ds: DatasetInfo, version?: number): VersionInfo {
  const v = version === undefined ? ds.versions[ds.versions.length - 1] : ds.versions.find((x) => x.statement.version === version);
  if (!v) {
    throw new EmbassyError('version.unknown', version === undefined
      ? `dataset ${ds.statement.dataset} has no versions yet`
      : `dataset ${ds.statement.dataset} has no version ${version}`);
  }
  if (v.statement.version < ds.keepFrom) {
    throw new EmbassyError('version.unknown', `dataset ${ds.statement.dataset} version ${v.statement.version} is no longer retained`);
  }
  return v;
}

/** The tree root of a version, as its statement names it. */
export function versionRoot(v: VersionInfo): TreeRoot {
  const s = v.statement;
  return { id: v.rootId, level: s.level, commitment: fromBase64(s.commitment)!, count: s.records };
}

/** The root of one of a version's index trees, or undefined when the version has no such index. */
export function indexRoot(v: VersionInfo, fields: readonly string[]): TreeRoot | undefined {
  const ix = v.statement.indexes.find((i) => i.fields.join(',') === fields.join(','));
  if (!ix) return undefined;
  return { id: fromHex(ix.root)!, level: ix.level, commitment: fromBase64(ix.commitment)!, count: ix.records };
}

export function retainedVersions(ds: DatasetInfo): VersionInfo[] {
  return ds.versions.filter((v) => v.statement.version >= ds.keepFrom);
}
