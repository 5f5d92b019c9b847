// The checks of a drill (DESIGN.md §1 promise 5, issue 5 item 4), run on the dataset views of an
// activation flagged as a drill: for every dataset, sample lookups whose proof bundles are
// verified against the home's verifier key exactly as an offline client would (the first one
// marks the time to the first verified answer), then a full verification of the newest held
// version — every node and chunk decrypted, every commitment and count recomputed and compared
// with the signed version statement (the time to full verification). Findings are collected per
// dataset; a drill never stops at the first failure. No clock of its own: `clock` is passed in.
import { isEmbassyError } from '../errors.ts';
import { versionRoot } from '../catalog/catalog.ts';
import type { NoteVerifier } from '../log/note.ts';
import { formatProofBundle, verifyProofBundle } from '../proof/bundle.ts';
import { proveLogInclusion } from '../sitelog/proofs.ts';
import { checkTree } from '../tree/check.ts';
import { proveRecord } from '../tree/proof.ts';
import { iterateLeafEntries } from '../tree/read.ts';
import type { ObjectId, TreeNode, TreeStore } from '../tree/types.ts';
import type { DatasetView } from '../api/access.ts';
import type { DrillDatasetResult } from '../format/mirror-statements.ts';

export const DEFAULT_DRILL_SAMPLES = 3;

export interface DrillInput {
  views: readonly DatasetView[];
  homeVerifier: NoteVerifier;
  /** Monotonic milliseconds; RTOs are measured from `startedAt` (the M-th share) on this clock. */
  clock: () => number;
  startedAt: number;
  samples?: number;
}

export interface DrillSample {
  dataset: string;
  version: number;
  key: string;
  verified: boolean;
}

export interface DrillRun {
  datasets: DrillDatasetResult[];
  rto: { firstVerifiedAnswerMs: number; fullVerificationMs: number };
  samples: DrillSample[];
  ok: boolean;
}

/** A TreeStore that counts what it reads: the objects a full verification touched. */
class CountingStore implements TreeStore {
  reads = 0;
  constructor(private readonly inner: TreeStore) {}
  getNode(id: ObjectId): Promise<TreeNode> {
    this.reads++;
    return this.inner.getNode(id);
  }
  getChunk(id: ObjectId): Promise<Uint8Array> {
    this.reads++;
    return this.inner.getChunk(id);
  }
  putNode(node: TreeNode): Promise<ObjectId> {
    return this.inner.putNode(node);
  }
  putChunk(bytes: Uint8Array): Promise<ObjectId> {
    return this.inner.putChunk(bytes);
  }
}

const codeOf = (e: unknown): string => (isEmbassyError(e) ? e.code : 'internal');

export async function runDrill(input: DrillInput): Promise<DrillRun> {
  const sampleCount = input.samples ?? DEFAULT_DRILL_SAMPLES;
  const elapsed = (): number => Math.max(0, Math.round(input.clock() - input.startedAt));
  let firstVerified: number | undefined;
  const samples: DrillSample[] = [];
  const results = new Map<string, DrillDatasetResult>();

  // 1. Sample lookups with proofs, every dataset first: the earliest verified answer is the RTO.
  for (const view of input.views) {
    const newest = view.versions[view.versions.length - 1];
    const r: DrillDatasetResult = { dataset: view.id, version: newest?.statement.version ?? 0, records: 0, commitmentOk: false, objects: 0, samplesOk: 0 };
    results.set(view.id, r);
    if (!newest) {
      r.error = 'version.unknown';
      continue;
    }
    try {
      const { params, store } = view.treeFor(newest);
      const root = versionRoot(newest);
      const keys: string[] = [];
      for await (const e of iterateLeafEntries(root, { limit: sampleCount }, store)) keys.push(e.key);
      const logProof = await proveLogInclusion(view.log, newest.logIndex, view.checkpointSize);
      for (const key of keys) {
        let verified = false;
        try {
          const recordProof = await proveRecord(root, key, params, store);
          if (recordProof) {
            // Through JSON, as a client receives it: nothing in memory is taken on trust.
            const bundle = JSON.parse(JSON.stringify(formatProofBundle({ recordProof, statement: newest.statement, logIndex: newest.logIndex, logProof, checkpointNote: view.checkpointNote })));
            const v = verifyProofBundle(bundle, input.homeVerifier);
            verified = v.record.key === key && v.dataset === view.id && v.version === newest.statement.version;
          }
        } catch (e) {
          r.error ??= codeOf(e);
        }
        if (verified) {
          r.samplesOk++;
          firstVerified ??= elapsed();
        }
        samples.push({ dataset: view.id, version: newest.statement.version, key, verified });
      }
    } catch (e) {
      r.error ??= codeOf(e);
    }
  }

  // 2. Full verification of the newest held version of every dataset.
  for (const view of input.views) {
    const r = results.get(view.id)!;
    const newest = view.versions[view.versions.length - 1];
    if (!newest) continue;
    try {
      const { params, store } = view.treeFor(newest);
      const counting = new CountingStore(store);
      // checkTree recomputes every commitment and count and compares the root's with the
      // statement's (versionRoot): a mismatch throws tree.corrupt.
      const shape = await checkTree(versionRoot(newest), params, counting, { values: true });
      r.records = shape.records;
      r.objects = counting.reads;
      r.commitmentOk = shape.records === newest.statement.records;
    } catch (e) {
      r.error ??= codeOf(e);
    }
  }
  const fullVerificationMs = elapsed();
  const datasets = [...results.values()];
  const ok = datasets.length > 0 && datasets.every((d) => d.commitmentOk && d.error === undefined && (d.samplesOk > 0 || d.records === 0));
  return { datasets, rto: { firstVerifiedAnswerMs: firstVerified ?? fullVerificationMs, fullVerificationMs }, samples, ok };
}
