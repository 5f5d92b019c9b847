// One pass of a mirror following one home (DESIGN.md §4, §5):
//
//   1. read the home's checkpoint and check its signature (the home's log key, from its card);
//   2. check it against the copy of the home's log this mirror holds: same tree, or a strict
//      extension — a smaller tree is a rollback and a different tree a fork: refused, recorded
//      with both signed notes as evidence, nothing written;
//   3. fetch the new entries and extend the copy (every tile recomputed here; the root must be
//      the checkpoint's, which also proves consistency with the tree seen before);
//   4. walk the object graph of every retained version, fetching only what the store lacks,
//      verifying every object by hash, storing it durably (src/sync/graph.ts);
//   5. only when every graph is complete: cosign the checkpoint (the receipt), store it durably,
//      and return it for the caller to send to the home and publish.
//
// No key is needed at any step. A pass that cannot finish leaves no receipt; what it stored is
// kept (complete subgraphs only) and the next pass goes on from there.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { indexRoot, loadCatalog, retainedVersions, versionRoot, type Catalog, readLogEntries } from '../catalog/catalog.ts';
import { parseVerifierKey, type NoteSigner } from '../log/note.ts';
import { CHECKPOINT_PATH, type LogReader } from '../store/log-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { ObjectId } from '../tree/types.ts';
import { LogCopy, LogDivergence, type DivergenceEvidence } from '../sitelog/copy.ts';
import { cosignCheckpoint, lastCosignatureTime, noteTreeSize } from '../federation/receipt.ts';
import { syncGraph, type GraphSyncOptions, type GraphSyncReport, type ObjectSource } from './graph.ts';
import type { FollowState } from './follow-state.ts';

export interface FollowedHome {
  name: string;
  origin: string;
  logVerifierKey: string;
}

export interface FollowDeps {
  home: FollowedHome;
  /** The home's log resources (over mTLS in production). */
  remoteLog: LogReader;
  /** Where objects come from, in order: the home first, then other peers. */
  sources: ObjectSource[];
  objects: ObjectStore;
  state: FollowState;
  /** This mirror's cosigning key. */
  cosigner: NoteSigner;
  graph?: GraphSyncOptions;
}

export type PassStatus =
  /** A new receipt was made. */
  | 'receipted'
  /** Nothing new: the newest receipt already covers the home's checkpoint. */
  | 'up-to-date'
  /** The pass could not finish (network, missing objects); no receipt; the next pass resumes. */
  | 'incomplete'
  /** The home's log contradicts what was seen before, or is not a valid home log: no receipt. */
  | 'refused';

export interface PassOutcome {
  home: string;
  status: PassStatus;
  /** The home checkpoint size this pass worked on (or the copy's size when refused). */
  size: string;
  /** The receipt note when status is 'receipted' or 'up-to-date'. */
  receipt?: string;
  graph?: GraphSyncReport;
  error?: { code: string; message: string };
  divergence?: DivergenceEvidence;
  /** Versions whose graphs this pass covered. */
  versions: number;
}

/** Every tree root the mirror must hold for the catalog's retained versions. */
export function retainedRoots(catalog: Catalog): ObjectId[] {
  const roots: ObjectId[] = [];
  for (const ds of catalog.datasets.values()) {
    for (const v of retainedVersions(ds)) {
      roots.push(versionRoot(v).id);
      for (const ix of v.statement.indexes) roots.push(indexRoot(v, ix.fields)!.id);
    }
  }
  return roots;
}

export async function followOnce(deps: FollowDeps): Promise<PassOutcome> {
  const { home, state } = deps;
  const verifier = parseVerifierKey(home.logVerifierKey);
  const copy = await LogCopy.open(state.logStore(), home.origin, verifier);
  const outcome = (status: PassStatus, extra: Partial<PassOutcome> = {}): PassOutcome => ({
    home: home.name,
    status,
    size: String(copy.checkpoint.size),
    versions: 0,
    ...extra,
  });
  const failed = async (status: PassStatus, e: unknown, extra: Partial<PassOutcome> = {}): Promise<PassOutcome> => {
    if (!isEmbassyError(e)) throw e;
    const o = outcome(status, { error: { code: e.code, message: e.message }, ...extra });
    await record(state, o);
    return o;
  };

  // 1–3: the log.
  let note: string;
  try {
    const raw = await deps.remoteLog.get(CHECKPOINT_PATH);
    if (raw === undefined) throw new EmbassyError('store.io', `home ${home.name}: has no checkpoint`);
    note = new TextDecoder().decode(raw);
  } catch (e) {
    // A server that is not the one the card pins is someone else answering for the home: refused.
    return failed(isEmbassyError(e, 'crypto.auth-failed') ? 'refused' : 'incomplete', e);
  }
  try {
    const checked = copy.check(note);
    if (checked !== undefined) {
      const entries: Uint8Array[] = [];
      for await (const { entry } of readLogEntries(deps.remoteLog, checked.checkpoint.size, copy.checkpoint.size)) entries.push(entry);
      await copy.extendTo(note, entries);
    }
  } catch (e) {
    if (e instanceof LogDivergence) {
      await state.recordDivergence(e.evidence);
      return failed('refused', e, { divergence: e.evidence });
    }
    // A note that does not verify, an entry bundle that does not parse: the home (or someone
    // in its place) misbehaves; a network error: try again later.
    const refused = isEmbassyError(e) && e.code !== 'store.io';
    return failed(refused ? 'refused' : 'incomplete', e);
  }

  // 4: the graphs.
  let catalog: Catalog;
  try {
    catalog = await loadCatalog(state.logStore(), verifier);
  } catch (e) {
    return failed('refused', e);
  }
  const size = catalog.checkpoint.size;
  const receiptNote = await state.readReceipt();
  const receiptSize = receiptNote === undefined ? -1n : noteTreeSize(receiptNote);
  const s = await state.read();
  const roots = retainedRoots(catalog);
  const versions = [...catalog.datasets.values()].reduce((n, ds) => n + retainedVersions(ds).length, 0);
  if (receiptSize === size && !s.needsFullWalk) {
    const o = outcome('up-to-date', { receipt: receiptNote!, versions });
    await record(state, o);
    return o;
  }
  let graph: GraphSyncReport;
  try {
    graph = await syncGraph(roots, deps.objects, deps.sources, { ...deps.graph, full: s.needsFullWalk });
  } catch (e) {
    return failed('incomplete', e);
  }
  if (!graph.complete) {
    const first = graph.failures[0];
    const err = new EmbassyError('sync.incomplete', `home ${home.name}: ${graph.missing.length} objects of size ${size} could not be fetched from any peer${first ? ` (first failure: ${first.source}: ${first.error})` : ''}`);
    return failed('incomplete', err, { graph, versions });
  }

  // 5: the receipt. A full walk that completed clears the damage mark first: the store is whole again.
  if (s.needsFullWalk) await state.update((x) => ({ ...x, needsFullWalk: false }));
  if (receiptSize === size) {
    const o = outcome('up-to-date', { receipt: receiptNote!, graph, versions });
    await record(state, o);
    return o;
  }
  const receipt = cosignCheckpoint(catalog.checkpointNote, deps.cosigner);
  await state.writeReceipt(receipt, { size: String(size), cosignedAt: String(lastCosignatureTime(receipt)) });
  const o = outcome('receipted', { receipt, graph, versions });
  await record(state, o);
  return o;
}

async function record(state: FollowState, o: PassOutcome): Promise<void> {
  await state.update((s) => ({
    ...s,
    lastPass: { at: new Date().toISOString(), status: o.status, size: o.size, ...(o.error ? { error: `${o.error.code}: ${o.error.message}` } : {}) },
  }));
}
