// Reading a version's record tree: point lookups, range scans in key order and the raw leaf
// entries (for diffs and re-indexing). Each descent checks that levels step down by one, so a
// store serving a node of the wrong kind or level fails with 'tree.corrupt' instead of looping.
// Chunked values are reassembled and checked against the hash the leaf commits to.
import { EmbassyError } from '../errors.ts';
import { checkKey, compareKeys } from './params.ts';
import { loadValue } from './value.ts';
import type { ChildEntry, LeafEntry, TreeNode, TreeRecord, TreeRoot, TreeStore } from './types.ts';

/** Loads a node and checks it is what its parent (or the root) says: a leaf at 0, else internal at `level`. */
export async function loadNode(store: TreeStore, id: Uint8Array, level: number): Promise<TreeNode> {
  const node = await store.getNode(id);
  if (level === 0 ? node.kind !== 'leaf' : node.kind !== 'internal' || node.level !== level) {
    const got = node.kind === 'leaf' ? 'a leaf' : `an internal node of level ${node.level}`;
    throw new EmbassyError('tree.corrupt', `tree: expected ${level === 0 ? 'a leaf' : `an internal node of level ${level}`}, got ${got}`);
  }
  return node;
}

/** Index of the first child whose lastKey is ≥ key (children.length if none). */
export function childIndexFor(children: readonly ChildEntry[], key: string): number {
  let lo = 0;
  let hi = children.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(children[mid]!.lastKey, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first entry whose key is ≥ key. */
export function entryIndexFor(entries: readonly LeafEntry[], key: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(entries[mid]!.key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The leaf entry of a key, without loading chunks. */
export async function getLeafEntry(root: TreeRoot, key: string, store: TreeStore): Promise<LeafEntry | undefined> {
  checkKey(key);
  let node = await loadNode(store, root.id, root.level);
  for (let level = root.level; level > 0; level--) {
    if (node.kind !== 'internal') throw new EmbassyError('tree.corrupt', 'tree: unexpected leaf');
    const i = childIndexFor(node.children, key);
    const child = node.children[i];
    if (child === undefined) return undefined;
    node = await loadNode(store, child.id, level - 1);
  }
  if (node.kind !== 'leaf') throw new EmbassyError('tree.corrupt', 'tree: expected a leaf');
  const e = node.entries[entryIndexFor(node.entries, key)];
  return e !== undefined && e.key === key ? e : undefined;
}

/** The record of a key in this version, or undefined. Throws 'record.invalid' for a bad key. */
export async function getRecord(root: TreeRoot, key: string, store: TreeStore): Promise<TreeRecord | undefined> {
  const e = await getLeafEntry(root, key, store);
  return e === undefined ? undefined : entryToRecord(e, store);
}

export async function entryToRecord(e: LeafEntry, store: TreeStore): Promise<TreeRecord> {
  return { key: e.key, contentType: e.contentType, value: await loadValue(e.value, store, e.key) };
}

export interface RangeOptions {
  /** First key (inclusive). */
  from?: string;
  /** End key (exclusive). */
  to?: string;
  /** At most this many records. */
  limit?: number;
}

/**
 * Leaf entries with from ≤ key < to, in key order, loading only the nodes that overlap the
 * range. Chunks are not loaded.
 */
export async function* iterateLeafEntries(root: TreeRoot, options: RangeOptions, store: TreeStore): AsyncGenerator<LeafEntry> {
  const { from, to } = options;
  const limit = options.limit ?? Infinity;
  if (from !== undefined) checkKey(from);
  if (to !== undefined) checkKey(to);
  if (!(limit === Infinity || (Number.isSafeInteger(limit) && limit >= 0))) {
    throw new EmbassyError('usage', `range scan: expected an integer limit >= 0, got ${limit}`);
  }
  if (limit === 0 || (from !== undefined && to !== undefined && compareKeys(from, to) >= 0)) return;
  let yielded = 0;
  // Returns false once the scan is over (past `to` or at the limit).
  async function* walk(node: TreeNode, level: number): AsyncGenerator<LeafEntry, boolean> {
    if (node.kind === 'leaf') {
      for (let i = from === undefined ? 0 : entryIndexFor(node.entries, from); i < node.entries.length; i++) {
        const e = node.entries[i]!;
        if (to !== undefined && compareKeys(e.key, to) >= 0) return false;
        yield e;
        if (++yielded >= limit) return false;
      }
      return true;
    }
    const start = from === undefined ? 0 : childIndexFor(node.children, from);
    for (let i = start; i < node.children.length; i++) {
      // Every key of child i is above the lastKey of child i − 1.
      if (i > 0 && to !== undefined && compareKeys(node.children[i - 1]!.lastKey, to) >= 0) return false;
      const child = await loadNode(store, node.children[i]!.id, level - 1);
      if (!(yield* walk(child, level - 1))) return false;
    }
    return true;
  }
  yield* walk(await loadNode(store, root.id, root.level), root.level);
}

/** Records with from ≤ key < to, in key order, at most `limit`. */
export async function* scanRange(root: TreeRoot, options: RangeOptions, store: TreeStore): AsyncGenerator<TreeRecord> {
  for await (const e of iterateLeafEntries(root, options, store)) yield await entryToRecord(e, store);
}
