// Incremental update of a record tree (DESIGN.md §5): applies sorted upserts and deletes and
// gives exactly the tree that buildTree over the resulting record set gives (same root id and
// commitment). It feeds the same TreeBuilder as buildTree, walking the old tree in key order:
// a subtree with no change in its key range, which starts right after a boundary of its level
// and ends at one, goes in whole by its ChildEntry without being loaded; everything else is
// opened. So the cost is about (changes × depth) nodes, not the dataset size.
import { EmbassyError } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import { TreeBuilder, checkInputOrder, prepareStoredEntry } from './build.ts';
import { checkKey, compareKeys, quoteKey } from './params.ts';
import { keyRank, sha256Once } from './record.ts';
import { loadNode } from './read.ts';
import type { LeafEntry, TreeNode, TreeParams, TreeRecord, TreeRoot, TreeStore } from './types.ts';

/** An upsert (with record) or a delete (without) of one key. */
export interface TreeChange {
  key: string;
  record?: TreeRecord;
}

export interface ApplyChangesResult {
  root: TreeRoot;
  /** Records inserted or replaced by a different one. */
  upserted: number;
  deleted: number;
  /** Deletes of keys the tree did not hold. */
  missingDeletes: number;
  /** Upserts of a record identical to the one held. */
  unchanged: number;
}

/** Pulls changes one at a time, checking order, uniqueness and that each record has its key. */
class ChangeCursor {
  head: TreeChange | undefined;
  private prev: string | undefined;
  private position = -1;
  private readonly it: AsyncIterator<TreeChange> | Iterator<TreeChange>;

  constructor(changes: AsyncIterable<TreeChange> | Iterable<TreeChange>) {
    this.it = Symbol.asyncIterator in changes ? changes[Symbol.asyncIterator]() : changes[Symbol.iterator]();
  }

  async advance(): Promise<void> {
    const r = await this.it.next();
    if (r.done) {
      this.head = undefined;
      return;
    }
    const c = r.value;
    this.position++;
    if (typeof c !== 'object' || c === null) throw new EmbassyError('record.invalid', `tree change ${this.position}: expected an object`);
    checkKey(c.key);
    if (c.record !== undefined && c.record.key !== c.key) {
      throw new EmbassyError('record.invalid', `tree change ${this.position}: key ${quoteKey(c.key)} carries a record of key ${quoteKey(String(c.record?.key))}`);
    }
    if (this.prev !== undefined) checkInputOrder(this.prev, c.key, this.position, 'change');
    this.prev = c.key;
    this.head = c;
  }
}

/**
 * Applies changes sorted strictly by key (compareKeys; else 'tree.unsorted' or
 * 'tree.duplicate-key') to the tree of `root`. Never modifies the old tree: it only adds nodes.
 */
export async function applyChanges(
  root: TreeRoot,
  changes: AsyncIterable<TreeChange> | Iterable<TreeChange>,
  params: TreeParams,
  store: TreeStore,
): Promise<ApplyChangesResult> {
  const result = { upserted: 0, deleted: 0, missingDeletes: 0, unchanged: 0 };
  const cursor = new ChangeCursor(changes);
  await cursor.advance();
  if (cursor.head === undefined) return { root, ...result };
  const builder = new TreeBuilder(params, store);

  // Changes below the next existing key: inserts, or deletes of keys that are not there.
  const applyLoose = async (c: TreeChange): Promise<void> => {
    if (c.record === undefined) result.missingDeletes++;
    else {
      await builder.pushRecord(c.record);
      result.upserted++;
    }
  };

  const walkLeaf = async (entries: readonly LeafEntry[]): Promise<void> => {
    for (const e of entries) {
      while (cursor.head !== undefined && compareKeys(cursor.head.key, e.key) < 0) {
        const c = cursor.head;
        await cursor.advance();
        await applyLoose(c);
      }
      const c = cursor.head;
      if (c !== undefined && c.key === e.key) {
        await cursor.advance();
        if (c.record === undefined) {
          result.deleted++;
        } else if (sameRecord(c.record, e, params.chunkThreshold)) {
          result.unchanged++;
          await builder.pushEntry(prepareStoredEntry(e, params));
        } else {
          result.upserted++;
          await builder.pushRecord(c.record);
        }
      } else {
        await builder.pushEntry(prepareStoredEntry(e, params));
      }
    }
  };

  // The rank of the tree's last key, computed once if a rightmost subtree needs it.
  let lastKeyRank: number | undefined;

  /**
   * `lastRank` is the rank of the node's last key when known from the structure: a node that is
   * not the last child of its parent ends there, so its last key has rank exactly parent level;
   * undefined on the rightmost path, whose last key is the tree's last key.
   */
  const walk = async (node: TreeNode, level: number, lastRank: number | undefined): Promise<void> => {
    if (node.kind === 'leaf') return walkLeaf(node.entries);
    const n = node.children.length;
    for (let i = 0; i < n; i++) {
      const c = node.children[i]!;
      const isLast = i === n - 1;
      let rank = isLast ? lastRank : level;
      const head = cursor.head;
      const changeInside = head !== undefined && compareKeys(head.key, c.lastKey) <= 0;
      if (!changeInside && builder.canAcceptSubtree(level - 1)) {
        if (rank === undefined) rank = lastKeyRank ??= keyRank(params, c.lastKey);
        // A last key of rank ≤ level − 1 ends this subtree only because it ends the whole tree;
        // with inserts still to come after it, the subtree must be opened.
        if (rank > level - 1 || cursor.head === undefined) {
          await builder.pushSubtree(level - 1, c, rank);
          continue;
        }
      }
      await walk(await loadNode(store, c.id, level - 1), level - 1, rank);
    }
  };

  await walk(await loadNode(store, root.id, root.level), root.level, undefined);
  while (cursor.head !== undefined) {
    const c = cursor.head;
    await cursor.advance();
    await applyLoose(c);
  }
  return { root: await builder.finish(), ...result };
}

/** Whether an upsert holds exactly the stored record, in the form these params would store it. */
function sameRecord(r: TreeRecord, e: LeafEntry, chunkThreshold: number): boolean {
  if (r.contentType !== e.contentType || !(r.value instanceof Uint8Array)) return false;
  const v = e.value;
  if (v.kind === 'inline') return r.value.length <= chunkThreshold && bytesEqual(r.value, v.bytes);
  return r.value.length > chunkThreshold && r.value.length === v.size && bytesEqual(sha256Once(r.value), v.hash);
}
