// Helpers for the record-tree tests and benchmarks: a naive sorted-map model of a version,
// deterministic synthetic records, and small tree parameters that give deep trees from few
// records. Not used by production code.
import { utf8 } from '../format/bytes.ts';
import { compareKeys, treeParamsFromKey } from './params.ts';
import type { TreeParams, TreeRecord } from './types.ts';

/** Parameters from a fixed test key; small leaves and fanout make deep trees from few records. */
export function testParams(overrides?: Partial<TreeParams>, seed = 1): TreeParams {
  return treeParamsFromKey(new Uint8Array(32).fill(seed), { leafTarget: 4, fanout: 3, ...overrides });
}

export function record(key: string, value: string | Uint8Array, contentType = 'application/json'): TreeRecord {
  return { key, contentType, value: typeof value === 'string' ? utf8.encode(value) : value };
}

/** Records of a model map, sorted by key. */
export function sortedRecords(model: ReadonlyMap<string, TreeRecord>): TreeRecord[] {
  return [...model.values()].sort((a, b) => compareKeys(a.key, b.key));
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * Synthetic record i of a registry-like dataset: a 12-digit key (increasing with i) and a JSON
 * value of about `size` bytes. Golden commitments in build.test.ts depend on it: do not change.
 */
export function syntheticRecord(i: number, size = 400, version = 0): TreeRecord {
  const key = `nl.example/${String(i * 7919).padStart(12, '0')}`;
  const head = `{"id":${i},"v":${version},"name":"person ${i}","pad":"`;
  const pad = 'x'.repeat(Math.max(0, size - head.length - 2));
  return { key, contentType: 'application/json', value: utf8.encode(`${head}${pad}"}`) };
}

/** Deterministic xorshift32 for tests that want reproducible pseudo-random choices without fast-check. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}
