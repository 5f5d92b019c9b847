// What the serving API (src/api/app.ts) needs from the site it runs on, as interfaces, so that
// the same routes serve at a home (keys from its KEK file, always on) and at a mirror (keys
// rebuilt from custodians' shares by an activation, served only while it is in force).
// Implementations: src/api/home-access.ts (home) and src/activation/ (mirror).
import type { DatasetStatement } from '../format/statement-types.ts';
import type { VersionInfo } from '../catalog/catalog.ts';
import type { LogReader } from '../store/log-store.ts';
import type { TreeParams, TreeStore } from '../tree/types.ts';

/** The authority under which reads are served now. */
export interface ServingActivation {
  /** Activation id as in the mirror's activation statement; 'home' at a home site. */
  id: string;
  drill: boolean;
  /** Epoch milliseconds after which nothing is served; undefined: no end (home). */
  notAfter?: number;
  /** Datasets in the activation's scope. */
  datasets: readonly string[];
}

/** One dataset as the API reads it: its retained versions, decrypting tree stores, proof material. */
export interface DatasetView {
  id: string;
  /** Origin of the home log that holds the dataset's statements. */
  homeOrigin: string;
  /** The home log's verifier key (C2SP vkey), for clients that check proofs offline. */
  homeVerifierKey: string;
  statement: DatasetStatement;
  /** Retained versions, oldest first. */
  versions: readonly VersionInfo[];
  /** The tree parameters and decrypting store for a version (versions may use different data keys). */
  treeFor(version: VersionInfo): { params: TreeParams; store: TreeStore };
  /** The home log (at a mirror: its verified copy) and the checkpoint proofs are made against. */
  log: LogReader;
  checkpointNote: string;
  checkpointSize: bigint;
}

export interface DataAccess {
  /** The activation in force, or undefined: then nothing is served (503 activation.inactive). */
  current(): ServingActivation | undefined;
  /** A dataset in the current activation's scope, or undefined when it is not (or nothing is active). */
  dataset(id: string): DatasetView | undefined;
}
