// Garbage collection of versions no longer retained. Retention is a statement in the log
// ("versions below N of dataset D are no longer retained"), so mirrors learn it the same way.
// The live set is everything reachable, through the plaintext object headers, from the roots
// of every retained version and its index trees — found without keys. Anything else (old
// versions, leftovers of failed ingests) may be removed by the store's crash-safe sweep.
import { toHex } from '../format/bytes.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { retainedVersions } from '../catalog/catalog.ts';
import { walkGraph } from '../object/walk.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { ObjectId } from '../tree/types.ts';

/** Root object ids of every retained version (main and index trees) in the catalog. */
export function retainedRoots(catalog: Catalog): ObjectId[] {
  const roots: ObjectId[] = [];
  for (const ds of catalog.datasets.values()) {
    for (const v of retainedVersions(ds)) {
      roots.push(v.rootId);
      for (const ix of v.statement.indexes) roots.push(Buffer.from(ix.root, 'hex'));
    }
  }
  return roots;
}

export interface LiveSet {
  live: Set<string>;
  missing: ObjectId[];
  bad: { id: ObjectId; reason: string }[];
}

/** Marks every object reachable from the retained versions (hex ids). */
export async function markLive(catalog: Catalog, objects: ObjectStore): Promise<LiveSet> {
  const live = new Set<string>();
  const result = await walkGraph(retainedRoots(catalog), (ids) => Promise.all(ids.map((id) => objects.get(id).catch(() => undefined))), {
    onObject: (id) => {
      live.add(toHex(id));
    },
  });
  return { live, missing: result.missing, bad: result.bad };
}
