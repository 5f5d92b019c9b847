// A dataset as the serving API reads it (the DatasetView of access.ts), built from a catalog, the
// log the catalog came from, the object store and the dataset's unwrapped data keys. Each data
// key gets one read-only decrypting tree store with a decrypted-node cache bounded in bytes, kept
// across catalog reloads (nodes are content-addressed, so a cached node is valid in every
// version), and the tree parameters derived from it. wipe() zeroes every key and empties every
// cache: after it, nothing of the plaintext or the keys is left in this module's hands.
import { createDeterministicAead, type DeterministicAead } from '../crypto/aead.ts';
import { EmbassyError } from '../errors.ts';
import { toHex } from '../format/bytes.ts';
import type { Catalog, DatasetInfo, VersionInfo } from '../catalog/catalog.ts';
import { indexRoot, retainedVersions, versionRoot } from '../catalog/catalog.ts';
import { loadNode } from '../tree/read.ts';
import { prepareNodeProofs } from './record-proofs.ts';
import { openObjectWith, type ObjectKind } from '../object/object.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { LogReader } from '../store/log-store.ts';
import { decodeNode } from '../tree/codec.ts';
import { treeParamsFromKey } from '../tree/params.ts';
import { wipeTreeParams } from '../tree/record.ts';
import type { ObjectId, TreeNode, TreeParams, TreeStore } from '../tree/types.ts';
import type { DatasetView } from './access.ts';

/** Default budget of decrypted nodes kept per data key (approximate plaintext bytes). */
export const DEFAULT_NODE_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * A TreeStore that only reads: objects are fetched from the store, opened with the data key and
 * decoded; decoded nodes are kept in a cache bounded by their plaintext size, and concurrent
 * misses of one node share one read. Writes are refused: serving never changes a version.
 * Eviction is second-chance (CLOCK, an approximation of LRU): a hit only sets a flag, so the hot
 * path never reorders a map of tens of thousands of nodes; eviction passes over used nodes once,
 * clearing their flag, and drops the first unused one.
 */
export class ReadTreeStore implements TreeStore {
  private readonly aead: DeterministicAead;
  private readonly cache = new Map<string, { node: TreeNode; bytes: number; used: boolean }>();
  private readonly loading = new Map<string, Promise<TreeNode>>();
  private cachedBytes = 0;
  private wiped = false;

  constructor(
    private readonly objects: Pick<ObjectStore, 'get'>,
    dek: Uint8Array,
    private readonly cacheBytes = DEFAULT_NODE_CACHE_BYTES,
  ) {
    this.aead = createDeterministicAead(dek);
  }

  get stats(): { nodes: number; bytes: number } {
    return { nodes: this.cache.size, bytes: this.cachedBytes };
  }

  /** Whether the cache has room for more nodes without evicting. */
  get hasRoom(): boolean {
    return !this.wiped && this.cachedBytes < this.cacheBytes;
  }

  get isWiped(): boolean {
    return this.wiped;
  }

  async getNode(id: ObjectId): Promise<TreeNode> {
    const hex = toHex(id);
    const hit = this.cache.get(hex);
    if (hit) {
      hit.used = true;
      return hit.node;
    }
    const pending = this.loading.get(hex);
    if (pending) return pending;
    const load = this.load(id, 'node').then((o) => {
      const node = decodeNode(o.content, o.children);
      if (!this.wiped) this.remember(hex, node, o.content.length);
      return node;
    });
    this.loading.set(hex, load);
    try {
      return await load;
    } finally {
      this.loading.delete(hex);
    }
  }

  async getChunk(id: ObjectId): Promise<Uint8Array> {
    return (await this.load(id, 'chunk')).content;
  }

  putNode(): Promise<ObjectId> {
    return Promise.reject(new EmbassyError('usage', 'tree store: serving is read-only'));
  }

  putChunk(): Promise<ObjectId> {
    return Promise.reject(new EmbassyError('usage', 'tree store: serving is read-only'));
  }

  /** Zeroes the data key's AEAD context and drops every decrypted node. */
  wipe(): void {
    this.wiped = true;
    this.aead.wipe();
    this.cache.clear();
    this.cachedBytes = 0;
  }

  private remember(hex: string, node: TreeNode, plaintextBytes: number): void {
    // Decoded nodes cost more than their encoded bytes (strings, arrays): count twice, at least 1 KiB.
    const bytes = Math.max(1024, plaintextBytes * 2);
    this.cache.set(hex, { node, bytes, used: false });
    this.cachedBytes += bytes;
    while (this.cachedBytes > this.cacheBytes && this.cache.size > 1) {
      // Map iteration is insertion order: the oldest first. A used node gets a second chance at the end.
      const [oldest, entry] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      if (entry.used && oldest !== hex) {
        entry.used = false;
        this.cache.set(oldest, entry);
        continue;
      }
      this.cachedBytes -= entry.bytes;
    }
  }

  private async load(id: ObjectId, kind: ObjectKind) {
    if (this.wiped) throw new EmbassyError('activation.inactive', 'tree store: the data key was wiped');
    const bytes = await this.objects.get(id);
    if (bytes === undefined) throw new EmbassyError('store.not-found', `object ${toHex(id)} is missing`);
    const o = openObjectWith(this.aead, bytes, id);
    if (o.kind !== kind) throw new EmbassyError('tree.corrupt', `object ${toHex(id)}: expected kind ${kind}, got ${o.kind}`);
    return o;
  }
}

/** The tree parameters and store of each data key of one dataset; shared by successive views. */
class KeyRing {
  private readonly byDek = new Map<number, { params: TreeParams; store: ReadTreeStore }>();

  constructor(
    private readonly dataset: DatasetInfo,
    private readonly objects: Pick<ObjectStore, 'get'>,
    private readonly cacheBytes: number,
  ) {}

  /** Takes copies of the keys it does not have yet (the caller wipes its own). */
  add(deks: ReadonlyMap<number, Uint8Array>): void {
    for (const [n, dek] of deks) {
      if (this.byDek.has(n)) continue;
      this.byDek.set(n, { params: treeParamsFromKey(dek, this.dataset.statement.tree), store: new ReadTreeStore(this.objects, dek, this.cacheBytes) });
    }
  }

  has(n: number): boolean {
    return this.byDek.has(n);
  }

  get(n: number, what: string): { params: TreeParams; store: TreeStore } {
    const k = this.byDek.get(n);
    if (!k) throw new EmbassyError('activation.inactive', `${what}: data key ${n} is not held`);
    return k;
  }

  wipe(): void {
    for (const { params, store } of this.byDek.values()) {
      store.wipe();
      wipeTreeParams(params);
    }
    this.byDek.clear();
  }
}

export interface DatasetViewOptions {
  homeOrigin: string;
  homeVerifierKey: string;
  catalog: Catalog;
  dataset: DatasetInfo;
  log: LogReader;
  objects: ObjectStore;
  /** Unwrapped data keys by number. Copied: the caller may (and should) wipe its own. */
  deks: Map<number, Uint8Array>;
  /** Budget of the decrypted-node cache of each data key, in bytes. */
  nodeCacheBytes?: number;
}

export type WipeableDatasetView = DatasetView & {
  wipe(): void;
  /**
   * The same dataset under a newer catalog, sharing this view's keys and node caches (new data
   * keys in `deks` are added). Wiping either view wipes both.
   */
  refresh(o: { catalog: Catalog; dataset: DatasetInfo; deks?: Map<number, Uint8Array> }): WipeableDatasetView;
  /** The data key numbers its versions need that it does not hold. */
  missingKeys(dataset: DatasetInfo): number[];
  /**
   * Loads the nodes of the newest version (record tree first, then its indexes), breadth first,
   * into the decrypted-node cache until it is full, with the record tree's proof material (entry
   * hashes, Merkle levels), yielding to requests between nodes; stops when the view is wiped. What a freshly activated mirror does in the background, so that
   * lookups stop paying for decryption.
   */
  warm(): Promise<{ nodes: number; bytes: number }>;
};

export function buildDatasetView(o: DatasetViewOptions): WipeableDatasetView {
  const ring = new KeyRing(o.dataset, o.objects, o.nodeCacheBytes ?? DEFAULT_NODE_CACHE_BYTES);
  ring.add(o.deks);
  return viewOf(o, ring);
}

function viewOf(o: Omit<DatasetViewOptions, 'deks'>, ring: KeyRing): WipeableDatasetView {
  const id = o.dataset.statement.dataset;
  const versions: readonly VersionInfo[] = Object.freeze(retainedVersions(o.dataset));
  return {
    id,
    homeOrigin: o.homeOrigin,
    homeVerifierKey: o.homeVerifierKey,
    statement: o.dataset.statement,
    versions,
    treeFor: (v) => ring.get(v.statement.dek, `${id} version ${v.statement.version}`),
    log: o.log,
    checkpointNote: o.catalog.checkpointNote,
    checkpointSize: o.catalog.checkpoint.size,
    wipe: () => ring.wipe(),
    refresh: (r) => {
      if (r.deks) ring.add(r.deks);
      return viewOf({ ...o, catalog: r.catalog, dataset: r.dataset }, ring);
    },
    missingKeys: (ds) => [...new Set(retainedVersions(ds).map((v) => v.statement.dek))].filter((n) => !ring.has(n)),
    warm: async () => {
      const newest = versions[versions.length - 1];
      if (!newest || !ring.has(newest.statement.dek)) return { nodes: 0, bytes: 0 };
      const { store, params } = ring.get(newest.statement.dek, `${id} version ${newest.statement.version}`);
      const rs = store as ReadTreeStore;
      const roots = [versionRoot(newest), ...newest.statement.indexes.map((ix) => indexRoot(newest, ix.fields)!)];
      let nodes = 0;
      for (const root of roots) {
        let level: { id: ObjectId; level: number }[] = [{ id: root.id, level: root.level }];
        while (level.length > 0) {
          const next: { id: ObjectId; level: number }[] = [];
          for (const n of level) {
            if (!rs.hasRoom) return { nodes, bytes: rs.stats.bytes };
            let node: TreeNode;
            try {
              node = await loadNode(rs, n.id, n.level);
            } catch (e) {
              if (rs.isWiped) return { nodes, bytes: rs.stats.bytes };
              throw e;
            }
            nodes++;
            if (root === roots[0]) prepareNodeProofs(node, params);
            if (node.kind === 'internal') for (const c of node.children) next.push({ id: c.id, level: n.level - 1 });
            // Let requests in between nodes: warming must never hold up an answer.
            if (nodes % 8 === 0) await new Promise<void>((r) => setImmediate(r));
          }
          level = next;
        }
      }
      return { nodes, bytes: rs.stats.bytes };
    },
  };
}
