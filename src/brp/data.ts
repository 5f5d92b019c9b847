// Two BrpData implementations for the façade: one over a sealed dataset version (its record tree
// and index trees, read through any TreeStore: lookupIndex + getRecord), and one in memory (a Map
// and index maps) for tests and small demos. Both derive index values from records exactly as
// sealing does (src/seal/ingest.ts): a non-empty string, or a safe integer as its decimal digits;
// a record lacking any indexed field is not in that index.
import { EmbassyError } from '../errors.ts';
import { lookupIndex } from '../tree/index-tree.ts';
import { getRecord } from '../tree/read.ts';
import { JSON_CONTENT_TYPE, type TreeRoot, type TreeStore } from '../tree/types.ts';
import { BRP_INDEXES } from './dataset.ts';
import { BRP_DATASET, type BrpData } from './query.ts';

type Row = { key: string; value: unknown };

function fieldValue(value: unknown, path: string): unknown {
  let v = value;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** The index values of a record for one index, or undefined when it is not indexed there. */
export function indexValuesOf(value: unknown, fields: readonly string[]): string[] | undefined {
  const out: string[] = [];
  for (const f of fields) {
    const v = fieldValue(value, f);
    if (typeof v === 'string' && v.length > 0) out.push(v);
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out.push(String(v));
    else return undefined;
  }
  return out;
}

const SEP = '\u001f';

function missingIndex(fields: readonly string[]): EmbassyError {
  return new EmbassyError('site.config', `${BRP_DATASET}: no index on ${fields.join(',')}`, {
    hint: `declare the dataset with ${BRP_INDEXES.map((ix) => `--index ${ix.join(',')}`).join(' ')}`,
  });
}

/** BrpData over records held in memory, indexed by the given indexes (default: BRP_INDEXES). */
export function memoryBrpData(records: Iterable<Row>, indexes: readonly (readonly string[])[] = BRP_INDEXES): BrpData {
  const byKey = new Map<string, unknown>();
  const ix = new Map<string, Map<string, string[]>>(indexes.map((f) => [f.join(','), new Map()]));
  for (const r of records) {
    byKey.set(r.key, r.value);
    for (const f of indexes) {
      const values = indexValuesOf(r.value, f);
      if (!values) continue;
      const m = ix.get(f.join(','))!;
      const k = values.join(SEP);
      m.set(k, [...(m.get(k) ?? []), r.key].sort());
    }
  }
  return {
    async getByBsn(bsns) {
      return bsns.filter((b) => byKey.has(b)).map((b) => ({ key: b, value: byKey.get(b) }));
    },
    async lookup(fields, values, limit) {
      const m = ix.get(fields.join(','));
      if (!m) throw missingIndex(fields);
      return (m.get(values.join(SEP)) ?? []).slice(0, limit).map((k) => ({ key: k, value: byKey.get(k) }));
    },
  };
}

export interface SealedVersion {
  root: TreeRoot;
  /** The root of the version's index over these fields, undefined if it has none. */
  indexRoot(fields: readonly string[]): TreeRoot | undefined;
  store: TreeStore;
}

function parseRecord(r: { key: string; contentType: string; value: Uint8Array }): Row {
  if (r.contentType !== JSON_CONTENT_TYPE) throw new EmbassyError('record.invalid', `${BRP_DATASET} record ${JSON.stringify(r.key)}: expected ${JSON_CONTENT_TYPE}, got ${r.contentType}`);
  try {
    return { key: r.key, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(r.value)) };
  } catch (e) {
    throw new EmbassyError('record.invalid', `${BRP_DATASET} record ${JSON.stringify(r.key)}: value is not JSON`, { cause: e });
  }
}

/** BrpData over one sealed version: records by key from its tree, lookups through its index trees. */
export function sealedBrpData(v: SealedVersion): BrpData {
  const get = async (key: string): Promise<Row | undefined> => {
    const r = await getRecord(v.root, key, v.store);
    return r ? parseRecord(r) : undefined;
  };
  return {
    async getByBsn(bsns) {
      const rows = await Promise.all(bsns.map(get));
      return rows.filter((r): r is Row => r !== undefined);
    },
    async lookup(fields, values, limit) {
      const root = v.indexRoot(fields);
      if (!root) throw missingIndex(fields);
      const keys: string[] = [];
      for await (const k of lookupIndex(root, values, v.store, limit)) keys.push(k);
      const rows = await Promise.all(keys.map(get));
      return rows.filter((r): r is Row => r !== undefined);
    },
  };
}
