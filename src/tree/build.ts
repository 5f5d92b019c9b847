// Building a record tree from records sorted by key (DESIGN.md §5, docs/format-tree.md §T.3).
// Boundaries depend only on keys: a node at level ℓ ends after the key whose boundary rank is
// above ℓ, and at the last key; the root is the only node of the first level that has just one.
// So the tree is a pure function of the record set (history independence). TreeBuilder keeps one
// open node per level, so memory is bounded by the tree's height, never by the input; applyChanges
// drives the same builder with whole unchanged subtrees, which is why both give the same tree.
import { EmbassyError } from '../errors.ts';
import type { Hash } from '../log/merkle.ts';
import { compareKeys, encodeContentType, encodeKey, quoteKey } from './params.ts';
import {
  boundaryRank,
  childEntryHash,
  hashLeaf32,
  keyPrf,
  commitNode,
  recordHashOf,
  recordSalt,
  sha256Once,
  storedValueHash,
} from './record.ts';
import { storeValue } from './value.ts';
import type { ChildEntry, LeafEntry, StoredValue, TreeParams, TreeRecord, TreeRoot, TreeStore } from './types.ts';

/** A leaf entry ready to be added to a leaf: its RFC 6962 entry hash and its key's boundary rank. */
export interface PreparedEntry {
  entry: LeafEntry;
  leafHash: Hash;
  rank: number;
}

/**
 * Checks a record, stores its value (chunks, if large) and hashes it. Throws 'record.invalid'.
 * Synchronous for inline values (the common case); a promise only when chunks are written.
 */
export function prepareRecord(record: TreeRecord, params: TreeParams, store: TreeStore): PreparedEntry | Promise<PreparedEntry> {
  if (typeof record !== 'object' || record === null) throw new EmbassyError('record.invalid', 'record: expected an object');
  const keyBytes = encodeKey(record.key);
  const ctBytes = encodeContentType(record.contentType, record.key);
  if (!(record.value instanceof Uint8Array)) {
    throw new EmbassyError('record.invalid', `record ${quoteKey(record.key)}: expected the value as bytes`);
  }
  const prf = keyPrf(params, record.key, keyBytes);
  if (record.value.length <= params.chunkThreshold) {
    // Copied: the leaf is encoded later, and a caller reusing its buffer in the meantime must
    // not make the stored bytes differ from the hashed ones.
    const bytes = record.value.slice();
    return prepared(record, { kind: 'inline', bytes }, sha256Once(bytes), prf, keyBytes, ctBytes, params);
  }
  return storeValue(record.value, params, store).then(({ stored, hash }) => prepared(record, stored, hash, prf, keyBytes, ctBytes, params));
}

function prepared(
  record: TreeRecord,
  stored: StoredValue,
  valueHash: Hash,
  prf: Uint8Array,
  keyBytes: Uint8Array,
  ctBytes: Uint8Array,
  params: TreeParams,
): PreparedEntry {
  return {
    entry: { key: record.key, contentType: record.contentType, value: stored },
    leafHash: hashLeaf32(recordHashOf(recordSalt(prf), keyBytes, ctBytes, valueHash)),
    rank: boundaryRank(params, prf),
  };
}

/** The hash and rank of an entry already in a leaf (its value is stored already). */
export function prepareStoredEntry(entry: LeafEntry, params: TreeParams): PreparedEntry {
  const keyBytes = encodeKey(entry.key);
  const prf = keyPrf(params, entry.key, keyBytes);
  const rh = recordHashOf(recordSalt(prf), keyBytes, encodeContentType(entry.contentType, entry.key), storedValueHash(entry.value));
  return { entry, leafHash: hashLeaf32(rh), rank: boundaryRank(params, prf) };
}

interface OpenInternal {
  children: ChildEntry[];
  hashes: Hash[];
  count: number;
}

/**
 * Streams items in key order into nodes. An item is a leaf entry or a whole subtree (a
 * ChildEntry of some level). After an item whose last key has rank r, the open nodes of levels
 * 0..r−1 end; they are closed lazily, when the next item arrives, so that nothing is written
 * for a level that turns out to have a single node.
 */
export class TreeBuilder {
  private leaf: LeafEntry[] = [];
  private leafHashes: Hash[] = [];
  /** internal[i] is the open node of level i + 1. */
  private readonly internal: OpenInternal[] = [];
  private pending = 0;
  private lastKey: string | undefined;
  private finished = false;

  constructor(
    private readonly params: TreeParams,
    private readonly store: TreeStore,
  ) {}

  private openInternal(level: number): OpenInternal {
    let o = this.internal[level - 1];
    while (o === undefined) {
      this.internal.push({ children: [], hashes: [], count: 0 });
      o = this.internal[level - 1];
    }
    return o;
  }

  private isOpen(level: number): boolean {
    return level === 0 ? this.leaf.length > 0 : (this.internal[level - 1]?.children.length ?? 0) > 0;
  }

  /** Whether a whole subtree of this level may come next: the item before it ended a level-`level` node. */
  canAcceptSubtree(level: number): boolean {
    if (level < this.pending) return true;
    for (let l = 0; l <= level; l++) if (this.isOpen(l)) return false;
    return true;
  }

  private checkOrder(key: string): void {
    if (this.finished) throw new Error('tree builder: already finished');
    if (this.lastKey !== undefined && compareKeys(this.lastKey, key) >= 0) {
      throw new EmbassyError('tree.corrupt', `tree builder: key ${quoteKey(key)} does not sort after ${quoteKey(this.lastKey)}`);
    }
    this.lastKey = key;
  }

  private async applyPending(): Promise<void> {
    const r = this.pending;
    this.pending = 0;
    for (let l = 0; l < r; l++) if (this.isOpen(l)) await this.close(l);
  }

  /**
   * Adds a leaf entry. Returns a promise only when nodes have to be written first (after a
   * boundary); otherwise the entry is added synchronously, which spares the common case a turn
   * of the event loop per record.
   */
  pushEntry(p: PreparedEntry): Promise<void> | undefined {
    this.checkOrder(p.entry.key);
    if (this.pending > 0) return this.applyPending().then(() => this.addEntry(p));
    this.addEntry(p);
    return undefined;
  }

  private addEntry(p: PreparedEntry): void {
    this.leaf.push(p.entry);
    this.leafHashes.push(p.leafHash);
    this.pending = p.rank;
  }

  /** Checks, stores and adds a record; a promise only when something has to be written first. */
  pushRecord(record: TreeRecord): Promise<void> | undefined {
    const p = prepareRecord(record, this.params, this.store);
    if (p instanceof Promise) return p.then((q) => this.pushEntry(q));
    return this.pushEntry(p);
  }

  /** Adds an unchanged subtree whose root is at `level`; `rank` is the rank of child.lastKey. */
  async pushSubtree(level: number, child: ChildEntry, rank: number): Promise<void> {
    if (!this.canAcceptSubtree(level)) throw new Error('tree builder: subtree pushed into an open node');
    this.checkOrder(child.lastKey);
    if (this.pending > 0) await this.applyPending();
    this.addChild(level + 1, child);
    this.pending = rank;
  }

  private addChild(level: number, child: ChildEntry): void {
    const o = this.openInternal(level);
    o.children.push(child);
    o.hashes.push(childEntryHash(level - 1, child.commitment, child.count));
    o.count += child.count;
  }

  /** Writes the open node of a level and returns its entry for the parent. */
  private async seal(level: number): Promise<ChildEntry> {
    if (level === 0) {
      const entries = this.leaf;
      const hashes = this.leafHashes;
      this.leaf = [];
      this.leafHashes = [];
      const id = await this.store.putNode({ kind: 'leaf', entries });
      return { lastKey: entries[entries.length - 1]!.key, id, commitment: commitNode(hashes), count: entries.length };
    }
    const o = this.internal[level - 1]!;
    this.internal[level - 1] = { children: [], hashes: [], count: 0 };
    const id = await this.store.putNode({ kind: 'internal', level, children: o.children });
    return { lastKey: o.children[o.children.length - 1]!.lastKey, id, commitment: commitNode(o.hashes), count: o.count };
  }

  private async close(level: number): Promise<void> {
    this.addChild(level + 1, await this.seal(level));
  }

  /** Ends the input: closes every open node and returns the root. */
  async finish(): Promise<TreeRoot> {
    if (this.finished) throw new Error('tree builder: already finished');
    this.finished = true;
    let top = -1;
    for (let l = this.internal.length; l >= 0; l--) {
      if (this.isOpen(l)) {
        top = l;
        break;
      }
    }
    if (top === -1) {
      const id = await this.store.putNode({ kind: 'leaf', entries: [] });
      return { id, commitment: commitNode([]), count: 0, level: 0 };
    }
    for (let l = 0; l < top; l++) if (this.isOpen(l)) await this.close(l);
    if (top > 0) {
      const o = this.internal[top - 1]!;
      // One item alone at the top can only be an unchanged subtree pushed by applyChanges: the
      // tree of exactly its records is that subtree without its chain of single-child roots.
      if (o.children.length === 1) return this.unwrap(o.children[0]!, top - 1);
    }
    const c = await this.seal(top);
    return { id: c.id, commitment: c.commitment, count: c.count, level: top };
  }

  private async unwrap(child: ChildEntry, level: number): Promise<TreeRoot> {
    while (level > 0) {
      const node = await this.store.getNode(child.id);
      if (node.kind !== 'internal' || node.level !== level) {
        throw new EmbassyError('tree.corrupt', `tree: expected an internal node of level ${level}`);
      }
      if (node.children.length !== 1) break;
      child = node.children[0]!;
      level--;
    }
    return { id: child.id, commitment: child.commitment, count: child.count, level };
  }
}

/**
 * Builds the tree of records given in strictly increasing key order (compareKeys). Streams:
 * memory holds one open node per level. Throws 'tree.unsorted' or 'tree.duplicate-key' naming
 * the key and its 0-based position in the input, 'record.invalid' for a bad record.
 */
export async function buildTree(
  records: AsyncIterable<TreeRecord> | Iterable<TreeRecord>,
  params: TreeParams,
  store: TreeStore,
): Promise<TreeRoot> {
  const builder = new TreeBuilder(params, store);
  let prev: string | undefined;
  let position = 0;
  // Synchronous as long as nothing is written: one await per leaf rather than per record.
  const push = (record: TreeRecord): Promise<void> | undefined => {
    const key = record?.key;
    if (prev !== undefined && typeof key === 'string') checkInputOrder(prev, key, position, 'record');
    prev = key;
    position++;
    return builder.pushRecord(record);
  };
  if (Symbol.asyncIterator in records) {
    for await (const record of records) await push(record);
  } else {
    for (const record of records) {
      const wait = push(record);
      if (wait !== undefined) await wait;
    }
  }
  return builder.finish();
}

/** Throws 'tree.unsorted' or 'tree.duplicate-key' unless key sorts strictly after prev. */
export function checkInputOrder(prev: string, key: string, position: number, what: string): void {
  const c = compareKeys(prev, key);
  if (c < 0) return;
  if (c === 0) {
    throw new EmbassyError('tree.duplicate-key', `tree input: ${what} ${position} repeats key ${quoteKey(key)}`, {
      hint: 'a version holds each key once; deduplicate the source',
    });
  }
  throw new EmbassyError('tree.unsorted', `tree input: ${what} ${position} has key ${quoteKey(key)}, which sorts before the previous key ${quoteKey(prev)}`, {
    hint: 'sort by key in UTF-8 byte order (compareKeys) before building',
  });
}
