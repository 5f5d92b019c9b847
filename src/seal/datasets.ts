// Declaring a dataset: its key fields, secondary indexes and tree parameters, and its first
// data key (DEK), wrapped under the home's KEK. Both become statements in the home log; the DEK
// itself never leaves memory unwrapped. A key ceremony rewraps every data key under a new KEK
// (rewrapKeyStatements): same key numbers, same DEKs, new wrappings; no object is re-encrypted.
import { EmbassyError } from '../errors.ts';
import { keyFingerprint, unwrapKey, wrapKey } from '../crypto/aead.ts';
import { fromBase64, toBase64, toHex } from '../format/bytes.ts';
import {
  DATASET_ID_RE,
  dekContext,
  type DatasetStatement,
  type KeyStatement,
} from '../format/statement-types.ts';
import type { Catalog, DatasetInfo } from '../catalog/catalog.ts';
import type { TreeParams } from '../tree/types.ts';

/** The tree parameters a dataset fixes at declaration (the keys are derived from its DEK). */
export type TreeShape = Pick<TreeParams, 'leafTarget' | 'fanout' | 'chunkThreshold' | 'chunkMin' | 'chunkAvg' | 'chunkMax'>;

export interface DatasetDeclaration {
  dataset: string;
  key: string[];
  indexes: string[][];
  tree: TreeShape;
  rpoTarget?: number;
}

const FIELD_PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function checkDeclaration(d: DatasetDeclaration): void {
  if (!DATASET_ID_RE.test(d.dataset) || d.dataset.length > 128) {
    throw new EmbassyError('usage', `dataset: id ${JSON.stringify(d.dataset)} must be lowercase letters and digits separated by '.' or '-'`);
  }
  for (const f of [...d.key, ...d.indexes.flat()]) {
    if (!FIELD_PATH_RE.test(f)) throw new EmbassyError('usage', `dataset: ${JSON.stringify(f)} is not a field path (name or name.name...)`);
  }
  if (d.key.length === 0) throw new EmbassyError('usage', 'dataset: at least one key field is needed');
}

/** The statements that declare a dataset with its first data key. */
export function datasetStatements(d: DatasetDeclaration, kek: Uint8Array, dek: Uint8Array): [DatasetStatement, KeyStatement] {
  checkDeclaration(d);
  const dataset: DatasetStatement = {
    type: 'dataset',
    dataset: d.dataset,
    key: d.key,
    indexes: d.indexes,
    tree: d.tree,
    ...(d.rpoTarget !== undefined ? { rpoTarget: d.rpoTarget } : {}),
  };
  return [dataset, keyStatement(d.dataset, 1, kek, dek)];
}

export function keyStatement(dataset: string, number: number, kek: Uint8Array, dek: Uint8Array): KeyStatement {
  return {
    type: 'key',
    dataset,
    dek: number,
    wrapped: toBase64(wrapKey(kek, dek, dekContext(dataset, number))),
    kekFingerprint: toHex(keyFingerprint(kek)),
    dekFingerprint: toHex(keyFingerprint(dek)),
  };
}

/** Unwraps a dataset's data key `number` with the KEK, checking both fingerprints. */
export function unwrapDatasetKey(ds: DatasetInfo, number: number, kek: Uint8Array): Uint8Array {
  const ks = ds.keys.get(number);
  if (!ks) throw new EmbassyError('dataset.unknown', `dataset ${ds.statement.dataset} has no data key ${number}`);
  if (toHex(keyFingerprint(kek)) !== ks.kekFingerprint) {
    throw new EmbassyError('crypto.auth-failed', `dataset ${ds.statement.dataset}: the KEK at hand is not the one that wrapped data key ${number}`);
  }
  const dek = unwrapKey(kek, fromBase64(ks.wrapped)!, dekContext(ds.statement.dataset, number));
  if (toHex(keyFingerprint(dek)) !== ks.dekFingerprint) {
    throw new EmbassyError('crypto.auth-failed', `dataset ${ds.statement.dataset}: data key ${number} does not match its fingerprint`);
  }
  return dek;
}

/** The newest data key of a dataset. */
export function currentDekNumber(ds: DatasetInfo): number {
  return ds.keys.size;
}

/**
 * Key statements that move every data key of every dataset from `oldKek` to `newKek`: each DEK is
 * unwrapped (checking both fingerprints) and wrapped again under its own number. The catalog
 * reads a key statement for an existing number with the same DEK fingerprint as a rewrap.
 */
export function rewrapKeyStatements(catalog: Pick<Catalog, 'datasets'>, oldKek: Uint8Array, newKek: Uint8Array): KeyStatement[] {
  const out: KeyStatement[] = [];
  for (const ds of catalog.datasets.values()) {
    for (const number of [...ds.keys.keys()].sort((a, b) => a - b)) {
      const dek = unwrapDatasetKey(ds, number, oldKek);
      try {
        out.push(keyStatement(ds.statement.dataset, number, newKek, dek));
      } finally {
        dek.fill(0);
      }
    }
  }
  return out;
}
