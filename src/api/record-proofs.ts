// Record proofs for serving: the same proofs as tree/proof.ts proveRecord (docs/format-tree.md
// §T.6.1), byte for byte, with the per-node work memoized. A proof needs, for each node on the
// path, the hashes of all its entries or children and the Merkle levels over them; proveRecord
// recomputes those per call (a leaf's worth of HMACs and hashes), which dominated a proof-carrying
// lookup. Here they are computed once per decoded node (nodes are immutable and the
// ReadTreeStore keeps them), keyed by the tree parameters, with each node's commitment checked
// against its parent's once and each inclusion path kept, so a cached node costs a lookup.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { hashChildren } from '../log/merkle.ts';
import { prepareStoredEntry } from '../tree/build.ts';
import { RECORD_PROOF_FORMAT, recordProofToJson, verifyRecordProof, walkToKey, type KeyWalk, type ProofStep, type RecordProof } from '../tree/proof.ts';
import { entryToRecord } from '../tree/read.ts';
import { childEntryHash, commitNode, keyPrf, recordSalt } from '../tree/record.ts';
import { bytesEqual, toBase64 } from '../format/bytes.ts';
import type { Hash } from '../log/merkle.ts';
import type { TreeNode, TreeParams, TreeRecord, TreeRoot, TreeStore } from '../tree/types.ts';

interface NodeMemo {
  hashes: Hash[];
  size: number;
  /** The node's commitment, recomputed from its hashes once and checked against the parent's word. */
  commitment: Hash;
  /** MTH of D[lo:hi] by lo * 2^32 + hi: every subtree an inclusion path can need, computed once. */
  subtrees: Map<number, Hash>;
  /** Base64 of the hashes above, for proofs sent as JSON. */
  b64: WeakMap<Hash, string>;
}

/** The largest power of two below n (n ≥ 2), as RFC 6962 splits a tree. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function subtreeHash(m: NodeMemo, lo: number, hi: number): Hash {
  if (hi - lo === 1) return m.hashes[lo]!;
  const key = lo * 4294967296 + hi;
  let h = m.subtrees.get(key);
  if (!h) {
    const k = split(hi - lo);
    h = hashChildren(subtreeHash(m, lo, lo + k), subtreeHash(m, lo + k, hi));
    m.subtrees.set(key, h);
  }
  return h;
}

/** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1 from the memo, leaf first (as proveInclusion gives). */
function inclusionPath(m: NodeMemo, index: number): Hash[] {
  const siblings: Hash[] = [];
  let lo = 0;
  let hi = m.size;
  while (hi - lo > 1) {
    const k = split(hi - lo);
    if (index < lo + k) {
      siblings.push(subtreeHash(m, lo + k, hi));
      hi = lo + k;
    } else {
      siblings.push(subtreeHash(m, lo, lo + k));
      lo += k;
    }
  }
  return siblings.reverse();
}

const memos = new WeakMap<TreeParams, WeakMap<TreeNode, NodeMemo>>();

/**
 * The node's entry (leaf) or child hashes and Merkle levels, computed once per decoded node. The
 * node's commitment is recomputed from them and must be the one its parent (or the version
 * statement) names: a proof built only from checked nodes leads to the version commitment by
 * construction, so it need not be re-verified per request.
 */
function memoOf(node: TreeNode, params: TreeParams, expected?: Hash): NodeMemo {
  let byNode = memos.get(params);
  if (!byNode) memos.set(params, (byNode = new WeakMap()));
  let m = byNode.get(node);
  if (!m) {
    const hashes =
      node.kind === 'leaf'
        ? node.entries.map((e) => prepareStoredEntry(e, params).leafHash)
        : node.children.map((c) => childEntryHash(node.level - 1, c.commitment, c.count));
    m = { hashes, size: hashes.length, commitment: commitNode(hashes), subtrees: new Map(), b64: new WeakMap() };
    byNode.set(node, m);
  }
  if (expected !== undefined && !bytesEqual(m.commitment, expected)) {
    throw new EmbassyError('tree.corrupt', `tree: a${node.kind === 'leaf' ? ' leaf' : ` level-${node.level}`} node does not have the commitment its parent names`);
  }
  return m;
}

/**
 * Computes a node's proof material ahead of the first proof through it (cache warming); the
 * commitment check still happens when a proof uses the node.
 */
export function prepareNodeProofs(node: TreeNode, params: TreeParams): void {
  memoOf(node, params);
}

/** A proof step as the node's memo gives it: the path as hashes, or as base64 for JSON. */
function stepOf(node: TreeNode, params: TreeParams, expected: Hash, index: number): { index: number; size: number; path: Hash[] } {
  const m = memoOf(node, params, expected);
  return { index, size: m.size, path: inclusionPath(m, index) };
}

function stepOfB64(node: TreeNode, params: TreeParams, expected: Hash, index: number): { index: number; size: number; path: string[] } {
  const m = memoOf(node, params, expected);
  return { index, size: m.size, path: inclusionPath(m, index).map((h) => b64Of(m, h)) };
}

/** Base64 of a hash of the memo, converted once (paths repeat the same subtree hashes). */
function b64Of(m: NodeMemo, h: Hash): string {
  let t = m.b64.get(h);
  if (t === undefined) {
    t = toBase64(h);
    m.b64.set(h, t);
  }
  return t;
}

/** The commitment the node at depth `i` of the walk must have (i = path.length: the leaf). */
function expectedAt(w: KeyWalk, root: TreeRoot, i: number): Hash {
  return i === 0 ? root.commitment : w.path[i - 1]!.node.children[w.path[i - 1]!.index]!.commitment;
}

/** The steps of a walk, leaf first, each path made by `step`. */
function stepsOf<P>(w: KeyWalk, root: TreeRoot, params: TreeParams, step: (node: TreeNode, params: TreeParams, expected: Hash, index: number) => { index: number; size: number; path: P }) {
  const steps: ({ index: number; size: number; path: P } & { childLevel?: number; childCount?: number })[] = [step(w.leaf, params, expectedAt(w, root, w.path.length), w.index)];
  for (let i = w.path.length - 1; i >= 0; i--) {
    const { node: parent, index: ci } = w.path[i]!;
    steps.push({ ...step(parent, params, expectedAt(w, root, i), ci), childLevel: parent.level - 1, childCount: parent.children[ci]!.count });
  }
  return steps;
}

/** As proveRecord: the proof that `key` has its record in the version of `root`, or undefined. */
export async function proveRecordMemoized(root: TreeRoot, key: string, params: TreeParams, store: TreeStore): Promise<RecordProof | undefined> {
  const w = await walkToKey(root, key, store);
  if (!w) return undefined;
  const steps = stepsOf(w, root, params, stepOf) as ProofStep[];
  const record = await entryToRecord(w.entry, store);
  const proof: RecordProof = { record, salt: recordSalt(keyPrf(params, key)).slice(), steps };
  // Every node on the path was checked against the commitment above it (memoOf). A chunked value
  // is reassembled from other objects, so that proof is verified whole before it is handed out.
  if (w.entry.value.kind !== 'inline') {
    try {
      verifyRecordProof(proof, root.commitment);
    } catch (e) {
      if (isEmbassyError(e, 'proof.invalid')) throw new EmbassyError('tree.corrupt', 'tree: the proof of a record does not lead to the version commitment', { cause: e });
      throw e;
    }
  }
  return proof;
}

/**
 * The same proof as recordProofToJson(proveRecordMemoized(…)), already as JSON text, with the
 * base64 of each path hash made once per node: what a busy server sends per lookup.
 */
export async function proveRecordJson(root: TreeRoot, key: string, params: TreeParams, store: TreeStore): Promise<{ record: TreeRecord; json: string } | undefined> {
  const w = await walkToKey(root, key, store);
  if (!w) return undefined;
  if (w.entry.value.kind !== 'inline') {
    const p = await proveRecordMemoized(root, key, params, store);
    return p && { record: p.record, json: JSON.stringify(recordProofToJson(p)) };
  }
  const steps = stepsOf(w, root, params, stepOfB64);
  const record = await entryToRecord(w.entry, store);
  const json = JSON.stringify({
    format: RECORD_PROOF_FORMAT,
    key: record.key,
    contentType: record.contentType,
    value: toBase64(record.value),
    salt: toBase64(recordSalt(keyPrf(params, key))),
    steps,
  });
  return { record, json };
}
