// Full structural check of a record tree with the dataset's parameters (an fsck for one
// version): recomputes every commitment and count, checks key order across nodes, and checks
// that every node boundary is where the keyed boundary rule puts it — so the tree is the one
// buildTree gives for its records. Reads every node (chunks too, with `values`); throws 'tree.corrupt'.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, toHex } from '../format/bytes.ts';
import type { Hash } from '../log/merkle.ts';
import { prepareStoredEntry } from './build.ts';
import { compareKeys, quoteKey } from './params.ts';
import { childEntryHash, commitNode, keyRank } from './record.ts';
import { loadNode } from './read.ts';
import { loadValue } from './value.ts';
import type { TreeParams, TreeRoot, TreeStore } from './types.ts';

export interface TreeShape {
  /** Nodes per level, leaves first. */
  nodesPerLevel: number[];
  records: number;
  chunkedValues: number;
}

interface Sub {
  commitment: Hash;
  count: number;
  lastKey: string | undefined;
}

/** Checks the whole tree of `root`; with `values`, also reassembles every chunked value. */
export async function checkTree(root: TreeRoot, params: TreeParams, store: TreeStore, options: { values?: boolean } = {}): Promise<TreeShape> {
  const shape: TreeShape = { nodesPerLevel: [], records: 0, chunkedValues: 0 };
  let prevKey: string | undefined;
  let maxInnerRank = 0; // highest rank among keys other than the very last
  let lastKeyRank = 0;
  const fail = (m: string): never => {
    throw new EmbassyError('tree.corrupt', `tree ${toHex(root.id).slice(0, 16)}: ${m}`);
  };
  const see = (key: string, rank: number): void => {
    if (prevKey !== undefined && compareKeys(prevKey, key) >= 0) fail(`key ${quoteKey(key)} does not sort after ${quoteKey(prevKey)}`);
    if (prevKey !== undefined) maxInnerRank = Math.max(maxInnerRank, lastKeyRank);
    prevKey = key;
    lastKeyRank = rank;
  };

  // `rightmost`: the node holds the tree's last key, so its last key need not be a boundary.
  const visit = async (id: Uint8Array, level: number, rightmost: boolean): Promise<Sub> => {
    const node = await loadNode(store, id, level);
    shape.nodesPerLevel[level] = (shape.nodesPerLevel[level] ?? 0) + 1;
    if (node.kind === 'leaf') {
      const hashes: Hash[] = [];
      node.entries.forEach((e, i) => {
        const p = prepareStoredEntry(e, params);
        see(e.key, p.rank);
        hashes.push(p.leafHash);
        const last = i === node.entries.length - 1;
        if (!last && p.rank > 0) fail(`key ${quoteKey(e.key)} ends a leaf but is not the last of its leaf`);
        if (last && !rightmost && p.rank === 0) fail(`leaf ends at ${quoteKey(e.key)}, which is not a leaf boundary`);
        const stored = e.value;
        if (stored.kind === 'inline' ? stored.bytes.length > params.chunkThreshold : stored.size <= params.chunkThreshold) {
          fail(`record ${quoteKey(e.key)} is stored ${stored.kind} against the chunk threshold`);
        }
      });
      if (options.values) {
        for (const e of node.entries) {
          if (e.value.kind === 'chunked') await loadValue(e.value, store, e.key);
        }
      }
      shape.records += node.entries.length;
      shape.chunkedValues += node.entries.filter((e) => e.value.kind === 'chunked').length;
      return { commitment: commitNode(hashes), count: node.entries.length, lastKey: node.entries[node.entries.length - 1]?.key };
    }
    if (node.kind !== 'internal') return fail('unexpected leaf');
    const hashes: Hash[] = [];
    let count = 0;
    for (const [i, c] of node.children.entries()) {
      const last = i === node.children.length - 1;
      const sub = await visit(c.id, level - 1, rightmost && last);
      if (sub.lastKey !== c.lastKey) fail(`child ${i} of a level-${level} node says last key ${quoteKey(c.lastKey)}, holds ${quoteKey(String(sub.lastKey))}`);
      if (sub.count !== c.count || !bytesEqual(sub.commitment, c.commitment)) fail(`child ${i} of a level-${level} node has a wrong count or commitment`);
      const rank = keyRank(params, c.lastKey);
      if (!last && rank > level) fail(`key ${quoteKey(c.lastKey)} ends a level-${level} node but is not the last of its node`);
      if (last && !rightmost && rank <= level) fail(`level-${level} node ends at ${quoteKey(c.lastKey)}, which is not a level-${level} boundary`);
      hashes.push(childEntryHash(level - 1, c.commitment, c.count));
      count += c.count;
    }
    return { commitment: commitNode(hashes), count, lastKey: node.children[node.children.length - 1]!.lastKey };
  };

  const top = await visit(root.id, root.level, true);
  if (!bytesEqual(top.commitment, root.commitment) || top.count !== root.count) fail('root commitment or count does not match');
  // The root is the only node of the first level that has one node: the highest inner rank.
  if (root.level !== maxInnerRank) fail(`root is at level ${root.level}, the keys put it at level ${maxInnerRank}`);
  return shape;
}
