// Record proofs for serving: the same proofs as tree/proof.ts proveRecord (docs/format-tree.md
// §T.6.1), byte for byte, with the per-node work memoized. A proof needs, for each node on the
// path, the hashes of all its entries or children and the Merkle levels over them; proveRecord
// recomputes those per call (a leaf's worth of HMACs and hashes), which dominated a proof-carrying
// lookup. Here they are computed once per decoded node (nodes are immutable and the
// ReadTreeStore keeps them), keyed by the tree parameters, so a cached node costs only its path.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { memorySubtreeReader, proveInclusion, type SubtreeHashReader } from '../log/merkle.ts';
import { prepareStoredEntry } from '../tree/build.ts';
import { checkKey } from '../tree/params.ts';
import { verifyRecordProof, type ProofStep, type RecordProof } from '../tree/proof.ts';
import { childIndexFor, entryIndexFor, entryToRecord, loadNode } from '../tree/read.ts';
import { childEntryHash, keyPrf, recordSalt } from '../tree/record.ts';
import type { TreeNode, TreeParams, TreeRoot, TreeStore } from '../tree/types.ts';

const readers = new WeakMap<TreeParams, WeakMap<TreeNode, { reader: SubtreeHashReader; size: number }>>();

function readerOf(node: TreeNode, params: TreeParams): { reader: SubtreeHashReader; size: number } {
  let byNode = readers.get(params);
  if (!byNode) readers.set(params, (byNode = new WeakMap()));
  let r = byNode.get(node);
  if (!r) {
    const hashes =
      node.kind === 'leaf'
        ? node.entries.map((e) => prepareStoredEntry(e, params).leafHash)
        : node.children.map((c) => childEntryHash(node.level - 1, c.commitment, c.count));
    r = { reader: memorySubtreeReader(hashes), size: hashes.length };
    byNode.set(node, r);
  }
  return r;
}

async function stepOf(node: TreeNode, params: TreeParams, index: number) {
  const { reader, size } = readerOf(node, params);
  return { index, size, path: await proveInclusion(BigInt(index), BigInt(size), reader) };
}

/** As proveRecord: the proof that `key` has its record in the version of `root`, or undefined. */
export async function proveRecordMemoized(root: TreeRoot, key: string, params: TreeParams, store: TreeStore): Promise<RecordProof | undefined> {
  checkKey(key);
  const path: { node: TreeNode & { kind: 'internal' }; index: number }[] = [];
  let node = await loadNode(store, root.id, root.level);
  for (let level = root.level; level > 0; level--) {
    if (node.kind !== 'internal') throw new EmbassyError('tree.corrupt', 'tree: unexpected leaf');
    const index = childIndexFor(node.children, key);
    const child = node.children[index];
    if (child === undefined) return undefined;
    path.push({ node, index });
    node = await loadNode(store, child.id, level - 1);
  }
  if (node.kind !== 'leaf') throw new EmbassyError('tree.corrupt', 'tree: expected a leaf');
  const index = entryIndexFor(node.entries, key);
  const entry = node.entries[index];
  if (entry === undefined || entry.key !== key) return undefined;
  const steps: ProofStep[] = [await stepOf(node, params, index)];
  for (let i = path.length - 1; i >= 0; i--) {
    const { node: parent, index: ci } = path[i]!;
    steps.push({ ...(await stepOf(parent, params, ci)), childLevel: parent.level - 1, childCount: parent.children[ci]!.count });
  }
  const proof: RecordProof = { record: await entryToRecord(entry, store), salt: recordSalt(keyPrf(params, key)).slice(), steps };
  // Never hand out a proof that does not verify: a mismatch means a damaged tree (or a bad memo).
  try {
    verifyRecordProof(proof, root.commitment);
  } catch (e) {
    if (isEmbassyError(e, 'proof.invalid')) throw new EmbassyError('tree.corrupt', 'tree: the proof of a record does not lead to the version commitment', { cause: e });
    throw e;
  }
  return proof;
}
