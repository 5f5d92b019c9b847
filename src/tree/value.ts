// Record values as a leaf stores them (docs/format-tree.md §T.4): inline up to chunkThreshold bytes,
// above it split with FastCDC-2020 under the dataset's keyed gear table into chunk objects, so a
// new version of a large document shares most chunks with the old one. Reassembly checks the
// SHA-256 the leaf commits to, so a swapped or damaged chunk is caught.
import { EmbassyError } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import type { Hash } from '../log/merkle.ts';
import { fastcdcCuts } from '../chunk/fastcdc.ts';
import { quoteKey } from './params.ts';
import { sha256Once } from './record.ts';
import type { ObjectId, StoredValue, TreeParams, TreeStore } from './types.ts';

/** The stored form of a value and the SHA-256 of its bytes (which its record hash uses). */
export async function storeValue(
  value: Uint8Array,
  params: TreeParams,
  store: TreeStore,
): Promise<{ stored: StoredValue; hash: Hash }> {
  const hash = sha256Once(value);
  if (value.length <= params.chunkThreshold) return { stored: { kind: 'inline', bytes: value }, hash };
  const cuts = fastcdcCuts(value, {
    minSize: params.chunkMin,
    avgSize: params.chunkAvg,
    maxSize: params.chunkMax,
    gear: params.gear,
  });
  const chunks: { id: ObjectId; size: number }[] = [];
  let start = 0;
  for (const end of cuts) {
    const id = await store.putChunk(value.subarray(start, end));
    chunks.push({ id, size: end - start });
    start = end;
  }
  return { stored: { kind: 'chunked', size: value.length, hash, chunks }, hash };
}

/** The full bytes of a stored value; chunks are fetched and checked against the committed hash. */
export async function loadValue(stored: StoredValue, store: TreeStore, key: string): Promise<Uint8Array> {
  if (stored.kind === 'inline') return stored.bytes;
  const out = new Uint8Array(stored.size);
  let at = 0;
  for (const c of stored.chunks) {
    const bytes = await store.getChunk(c.id);
    if (bytes.length !== c.size || at + c.size > stored.size) {
      throw new EmbassyError('tree.corrupt', `record ${quoteKey(key)}: chunk at offset ${at} has ${bytes.length} bytes, the leaf says ${c.size}`);
    }
    out.set(bytes, at);
    at += c.size;
  }
  if (at !== stored.size || !bytesEqual(sha256Once(out), stored.hash)) {
    throw new EmbassyError('tree.corrupt', `record ${quoteKey(key)}: reassembled value does not match its hash`);
  }
  return out;
}

/** Whether two stored values hold the same bytes, without loading chunks. */
export function sameStoredValue(a: StoredValue, b: StoredValue, aHash?: Hash, bHash?: Hash): boolean {
  if (a.kind === 'inline' && b.kind === 'inline') return bytesEqual(a.bytes, b.bytes);
  const sa = a.kind === 'inline' ? a.bytes.length : a.size;
  const sb = b.kind === 'inline' ? b.bytes.length : b.size;
  if (sa !== sb) return false;
  const ha = aHash ?? (a.kind === 'inline' ? sha256Once(a.bytes) : a.hash);
  const hb = bHash ?? (b.kind === 'inline' ? sha256Once(b.bytes) : b.hash);
  return bytesEqual(ha, hb);
}
