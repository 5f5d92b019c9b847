// DataAccess at a home (access.ts): always active under the activation id 'home', every declared
// dataset in scope, data keys unwrapped with the home's KEK. `embassy ingest` seals new versions
// in another process, so the home's checkpoint is watched (one small file read per interval, never
// per request) and the catalog is reloaded when it moves; views are swapped whole, and the
// decrypted-node caches carry over (nodes are content-addressed).
import { loadCatalog, type Catalog } from '../catalog/catalog.ts';
import { retainedVersions } from '../catalog/catalog.ts';
import { unwrapDatasetKey } from '../seal/datasets.ts';
import type { Site } from '../site/site.ts';
import { CHECKPOINT_PATH } from '../store/log-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { DataAccess, DatasetView, ServingActivation } from './access.ts';
import { buildDatasetView, type WipeableDatasetView } from './dataset-view.ts';

export const HOME_ACTIVATION_ID = 'home';
const DEFAULT_POLL_MS = 500;

export interface HomeAccess extends DataAccess {
  /** Reloads the catalog now if the checkpoint moved; resolves when the new views are in place. */
  refresh(): Promise<void>;
  /** Stops watching and wipes every key and cache. */
  close(): void;
}

export async function openHomeAccess(site: Site, objects: ObjectStore, options: { pollMs?: number; nodeCacheBytes?: number; onError?: (e: Error) => void } = {}): Promise<HomeAccess> {
  const log = site.logStore();
  let views = new Map<string, WipeableDatasetView>();
  let activation: ServingActivation = { id: HOME_ACTIVATION_ID, drill: false, datasets: [] };
  let seen = '';
  let closed = false;

  /** The data keys of these numbers, unwrapped with the KEK (read for this and wiped at once). */
  const unwrap = async (catalog: Catalog, want: Map<string, number[]>): Promise<Map<string, Map<number, Uint8Array>>> => {
    const out = new Map<string, Map<number, Uint8Array>>();
    if ([...want.values()].every((l) => l.length === 0)) return out;
    const kek = await site.readKek();
    try {
      for (const [id, numbers] of want) {
        const ds = catalog.datasets.get(id)!;
        out.set(id, new Map(numbers.map((n) => [n, unwrapDatasetKey(ds, n, kek)])));
      }
    } finally {
      kek.fill(0);
    }
    return out;
  };

  const load = async (): Promise<void> => {
    const raw = await log.get(CHECKPOINT_PATH);
    const note = raw === undefined ? '' : new TextDecoder().decode(raw);
    if (note === seen) return;
    const catalog = await loadCatalog(log, site.logVerifier());
    const want = new Map<string, number[]>();
    for (const [id, ds] of catalog.datasets) {
      const old = views.get(id);
      const needed = [...new Set(retainedVersions(ds).map((v) => v.statement.dek))];
      want.set(id, old ? old.missingKeys(ds) : needed);
    }
    const deks = await unwrap(catalog, want);
    const next = new Map<string, WipeableDatasetView>();
    try {
      for (const [id, ds] of catalog.datasets) {
        const old = views.get(id);
        const fresh = deks.get(id) ?? new Map<number, Uint8Array>();
        next.set(
          id,
          old
            ? old.refresh({ catalog, dataset: ds, deks: fresh })
            : buildDatasetView({
                homeOrigin: site.config.origin,
                homeVerifierKey: site.config.logVerifierKey,
                catalog,
                dataset: ds,
                log,
                objects,
                deks: fresh,
                ...(options.nodeCacheBytes !== undefined ? { nodeCacheBytes: options.nodeCacheBytes } : {}),
              }),
        );
      }
    } finally {
      for (const m of deks.values()) for (const k of m.values()) k.fill(0);
    }
    if (closed) {
      for (const v of next.values()) v.wipe();
      return;
    }
    views = next;
    activation = { id: HOME_ACTIVATION_ID, drill: false, datasets: Object.freeze([...catalog.datasets.keys()].sort()) };
    seen = catalog.checkpointNote;
  };

  await load();
  let running: Promise<void> = Promise.resolve();
  const refresh = (): Promise<void> => {
    running = running.then(load, load);
    return running;
  };
  const timer = setInterval(() => {
    refresh().catch((e: Error) => options.onError?.(e));
  }, options.pollMs ?? DEFAULT_POLL_MS);
  timer.unref();

  return {
    current: () => (closed ? undefined : activation),
    dataset: (id: string): DatasetView | undefined => (closed ? undefined : views.get(id)),
    refresh,
    close() {
      closed = true;
      clearInterval(timer);
      for (const v of views.values()) v.wipe();
      views = new Map();
    },
  };
}
