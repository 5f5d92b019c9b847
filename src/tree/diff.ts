// Difference between two versions' record trees, in key order. Both trees are walked together
// as stacks of pending subtrees and entries; a pair of subtrees with equal ids holds the same
// records (ids are content addresses) and is skipped without being loaded, so the cost follows
// the size of the difference times the depth, not the size of the versions.
import { bytesEqual } from '../format/bytes.ts';
import { compareKeys } from './params.ts';
import { entryToRecord, loadNode } from './read.ts';
import { sameStoredValue } from './value.ts';
import type { LeafEntry, ObjectId, TreeRecord, TreeRoot, TreeStore } from './types.ts';

export interface TreeDifference {
  key: string;
  /** The record in the first tree; absent for an insert. */
  before?: TreeRecord;
  /** The record in the second tree; absent for a delete. */
  after?: TreeRecord;
}

type Item =
  | { kind: 'tree'; id: ObjectId; level: number; lo: string | undefined; hi: string | undefined }
  | { kind: 'entry'; entry: LeafEntry };

/** Subtree `a` holds only keys at or below `b`'s exclusive lower bound. */
function entirelyBefore(a: Item, b: Item): boolean {
  const hi = a.kind === 'entry' ? a.entry.key : a.hi;
  const lo = b.kind === 'entry' ? undefined : b.lo;
  return hi !== undefined && lo !== undefined && compareKeys(hi, lo) <= 0;
}

/** Records that differ between tree `a` and tree `b`, in key order. */
export async function* diffTrees(a: TreeRoot, b: TreeRoot, store: TreeStore): AsyncGenerator<TreeDifference> {
  // Stacks with the smallest pending key on top (at the end).
  const sa: Item[] = [{ kind: 'tree', id: a.id, level: a.level, lo: undefined, hi: undefined }];
  const sb: Item[] = [{ kind: 'tree', id: b.id, level: b.level, lo: undefined, hi: undefined }];

  const expand = async (stack: Item[]): Promise<void> => {
    const item = stack.pop();
    if (item === undefined || item.kind !== 'tree') throw new Error('diff: expanding a non-tree item');
    const node = await loadNode(store, item.id, item.level);
    if (node.kind === 'leaf') {
      for (let i = node.entries.length - 1; i >= 0; i--) stack.push({ kind: 'entry', entry: node.entries[i]! });
      return;
    }
    for (let i = node.children.length - 1; i >= 0; i--) {
      const c = node.children[i]!;
      const lo = i === 0 ? item.lo : node.children[i - 1]!.lastKey;
      stack.push({ kind: 'tree', id: c.id, level: item.level - 1, lo, hi: c.lastKey });
    }
  };

  for (;;) {
    const x = sa[sa.length - 1];
    const y = sb[sb.length - 1];
    if (x === undefined && y === undefined) return;
    if (x !== undefined && y !== undefined && x.kind === 'tree' && y.kind === 'tree' && bytesEqual(x.id, y.id)) {
      sa.pop();
      sb.pop();
      continue;
    }
    if (x?.kind === 'entry' && y?.kind === 'entry') {
      const c = compareKeys(x.entry.key, y.entry.key);
      if (c < 0) {
        sa.pop();
        yield { key: x.entry.key, before: await entryToRecord(x.entry, store) };
      } else if (c > 0) {
        sb.pop();
        yield { key: y.entry.key, after: await entryToRecord(y.entry, store) };
      } else {
        sa.pop();
        sb.pop();
        if (x.entry.contentType !== y.entry.contentType || !sameStoredValue(x.entry.value, y.entry.value)) {
          yield { key: x.entry.key, before: await entryToRecord(x.entry, store), after: await entryToRecord(y.entry, store) };
        }
      }
      continue;
    }
    // An entry alone, or before everything the other side's top subtree holds, is a difference by itself.
    if (x?.kind === 'entry' && (y === undefined || entirelyBefore(x, y))) {
      sa.pop();
      yield { key: x.entry.key, before: await entryToRecord(x.entry, store) };
      continue;
    }
    if (y?.kind === 'entry' && (x === undefined || entirelyBefore(y, x))) {
      sb.pop();
      yield { key: y.entry.key, after: await entryToRecord(y.entry, store) };
      continue;
    }
    // At least one top is a subtree: open the one that must be opened, preferring the higher level.
    if (x === undefined || x.kind === 'entry') await expand(sb);
    else if (y === undefined || y.kind === 'entry') await expand(sa);
    else if (entirelyBefore(x, y)) await expand(sa);
    else if (entirelyBefore(y, x)) await expand(sb);
    else await expand(x.level >= y.level ? sa : sb);
  }
}
