// Opening a dataset for reading or sealing at a site that holds its keys: the catalog from the
// log, the data key unwrapped with the KEK, the tree parameters, and the object store. Keys are
// wiped by close().
import { join } from 'node:path';
import { datasetOf, loadCatalog, type Catalog, type DatasetInfo } from '../catalog/catalog.ts';
import { currentDekNumber, unwrapDatasetKey } from '../seal/datasets.ts';
import { ObjectTreeStore } from '../seal/tree-store.ts';
import type { Site } from '../site/site.ts';
import type { PackObjectStore } from '../store/pack-store.ts';
import { treeParamsFromKey } from '../tree/params.ts';
import { wipeTreeParams } from '../tree/record.ts';
import type { TreeParams } from '../tree/types.ts';

export interface OpenDataset {
  catalog: Catalog;
  dataset: DatasetInfo;
  dekNumber: number;
  params: TreeParams;
  objects: PackObjectStore;
  store: ObjectTreeStore;
  close(): Promise<void>;
}

export async function openDataset(site: Site, id: string, options: { dekNumber?: number; catalog?: Catalog } = {}): Promise<OpenDataset> {
  const catalog = options.catalog ?? (await loadCatalog(site.logStore(), site.logVerifier()));
  const dataset = datasetOf(catalog, id);
  const dekNumber = options.dekNumber ?? currentDekNumber(dataset);
  const kek = await site.readKek();
  let dek: Uint8Array;
  try {
    dek = unwrapDatasetKey(dataset, dekNumber, kek);
  } finally {
    kek.fill(0);
  }
  const params = treeParamsFromKey(dek, dataset.statement.tree);
    const objects = await site.openObjects();
  const store = new ObjectTreeStore(objects, dek);
  return {
    catalog,
    dataset,
    dekNumber,
    params,
    objects,
    store,
    async close() {
      store.wipe();
      dek.fill(0);
      wipeTreeParams(params);
      await objects.close();
    },
  };
}

export function tmpDirOf(site: Site): string {
  return join(site.dir, 'tmp');
}
