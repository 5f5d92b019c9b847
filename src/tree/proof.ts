// Record membership proofs (DESIGN.md §5, docs/format-tree.md §T.6.1): the chain of RFC 6962
// inclusion paths from a record's entry in its leaf, through each internal node's child entries,
// to the version commitment. Siblings are hashes of salted record hashes and of child
// commitments and counts, so a proof reveals no other record or key. verifyRecordProof is pure
// and synchronous; recordProofFromJson parses untrusted JSON and only throws 'proof.malformed'.
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { bytesEqual, fromBase64, toBase64 } from '../format/bytes.ts';
import { HASH_SIZE, memorySubtreeReader, proveInclusion, rootFromInclusionProof } from '../log/merkle.ts';
import type { Hash } from '../log/merkle.ts';
import { prepareStoredEntry } from './build.ts';
import { MAX_TREE_LEVEL } from './codec.ts';
import { checkKey } from './params.ts';
import { RECORD_SALT_SIZE, childEntryHash, hashLeaf32, keyPrf, nodeCommitment, recordHash, recordSalt } from './record.ts';
import { childIndexFor, entryIndexFor, entryToRecord, loadNode } from './read.ts';
import type { LeafEntry, TreeNode, TreeParams, TreeRecord, TreeRoot, TreeStore } from './types.ts';

export const RECORD_PROOF_FORMAT = 'data-embassy/record-proof/v1';

/** The record's position among its leaf's entries: RFC 6962 inclusion path to the leaf commitment. */
export interface LeafProofStep {
  index: number;
  size: number;
  path: Hash[];
}

/** The child's position among an internal node's children, and what its entry hash commits to. */
export interface InternalProofStep extends LeafProofStep {
  childLevel: number;
  childCount: number;
}

export type ProofStep = LeafProofStep | InternalProofStep;

export interface RecordProof {
  record: TreeRecord;
  /** Bytes 8..31 of the key's PRF (24 bytes). */
  salt: Uint8Array;
  /** From the leaf up: steps[0] is the leaf step, steps[i] (i ≥ 1) the node at level i. */
  steps: ProofStep[];
}

/** The path from a version's root to the leaf entry of `key`: what a record proof is made along. */
export interface KeyWalk {
  entry: LeafEntry;
  leaf: TreeNode & { kind: 'leaf' };
  /** The entry's index in the leaf. */
  index: number;
  /** The internal nodes from the root down, each with the index of the child taken. */
  path: { node: TreeNode & { kind: 'internal' }; index: number }[];
}

/** Walks from the root to the leaf entry of `key`; undefined when the version has no record with it. */
export async function walkToKey(root: TreeRoot, key: string, store: TreeStore): Promise<KeyWalk | undefined> {
  checkKey(key);
  const path: KeyWalk['path'] = [];
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
  return { entry, leaf: node, index, path };
}

/** A proof that `key` has its record in the version of `root`, or undefined if it has none. */
export async function proveRecord(root: TreeRoot, key: string, params: TreeParams, store: TreeStore): Promise<RecordProof | undefined> {
  const w = await walkToKey(root, key, store);
  if (!w) return undefined;
  const { entry, leaf: node, index, path } = w;

  const leafHashes = node.entries.map((e) => prepareStoredEntry(e, params).leafHash);
  const steps: ProofStep[] = [await stepOf(leafHashes, index)];
  for (let i = path.length - 1; i >= 0; i--) {
    const { node: parent, index: ci } = path[i]!;
    const childLevel = parent.level - 1;
    const hashes = parent.children.map((c) => childEntryHash(childLevel, c.commitment, c.count));
    steps.push({ ...(await stepOf(hashes, ci)), childLevel, childCount: parent.children[ci]!.count });
  }
  const proof: RecordProof = {
    record: await entryToRecord(entry, store),
    salt: recordSalt(keyPrf(params, key)).slice(),
    steps,
  };
  // Never hand out a proof that does not verify: a mismatch means the stored tree is damaged.
  try {
    verifyRecordProof(proof, root.commitment);
  } catch (e) {
    if (isEmbassyError(e, 'proof.invalid')) throw new EmbassyError('tree.corrupt', `tree: the proof of a record does not lead to the version commitment`, { cause: e });
    throw e;
  }
  return proof;
}

async function stepOf(hashes: Hash[], index: number): Promise<LeafProofStep> {
  const path = await proveInclusion(BigInt(index), BigInt(hashes.length), memorySubtreeReader(hashes));
  return { index, size: hashes.length, path };
}

function malformed(message: string): EmbassyError {
  return new EmbassyError('proof.malformed', `record proof: ${message}`);
}

function checkInt(what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw malformed(`expected ${what} to be an integer >= ${min}`);
  return v;
}

/**
 * Checks that the proof leads from its record to `commitment`. Throws 'proof.malformed' for a
 * proof that cannot be right whatever the commitment, 'proof.invalid' when it leads elsewhere.
 */
export function verifyRecordProof(proof: RecordProof, commitment: Hash): void {
  if (typeof proof !== 'object' || proof === null) throw malformed('expected an object');
  if (!(commitment instanceof Uint8Array) || commitment.length !== HASH_SIZE) throw malformed('expected a 32-byte commitment');
  const { record, salt, steps } = proof;
  if (!(salt instanceof Uint8Array) || salt.length !== RECORD_SALT_SIZE) throw malformed(`expected a ${RECORD_SALT_SIZE}-byte salt`);
  if (typeof record !== 'object' || record === null || !(record.value instanceof Uint8Array)) throw malformed('expected a record with a byte value');
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > MAX_TREE_LEVEL + 1) {
    throw malformed(`expected 1..${MAX_TREE_LEVEL + 1} steps`);
  }
  let h: Hash;
  try {
    h = hashLeaf32(recordHash(salt, record));
  } catch (e) {
    if (isEmbassyError(e, 'record.invalid')) throw malformed(e.message);
    throw e;
  }
  let count = 0;
  steps.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || !Array.isArray(s.path)) throw malformed(`step ${i}: expected an object with a path`);
    const index = checkInt(`step ${i} index`, s.index, 0);
    const size = checkInt(`step ${i} size`, s.size, 1);
    if (i > 0) {
      const st = s as InternalProofStep;
      if (checkInt(`step ${i} childLevel`, st.childLevel, 0) !== i - 1) throw malformed(`step ${i}: expected childLevel ${i - 1}, got ${st.childLevel}`);
      const childCount = checkInt(`step ${i} childCount`, st.childCount, 1);
      // Step 1's child is the leaf of step 0; a higher child holds at least the subtree below it.
      if (i === 1 ? childCount !== count : childCount < count) {
        throw malformed(`step ${i}: childCount ${childCount} does not fit the ${count} records of the subtree below`);
      }
      count = Math.max(childCount, size);
      h = childEntryHash(i - 1, h, childCount);
    } else {
      if ('childLevel' in s || 'childCount' in s) throw malformed('step 0: a leaf step has no childLevel or childCount');
      count = size;
    }
    h = nodeCommitment(size, rootFromInclusionProof(h, BigInt(index), BigInt(size), s.path));
  });
  if (!bytesEqual(h!, commitment)) throw new EmbassyError('proof.invalid', 'record proof: computed commitment does not match the version commitment');
}

// ---- JSON --------------------------------------------------------------------------------------

/**
 * The proof as a canonical-JSON-able object: byte fields in base64 (RFC 4648 §4, padded),
 * numbers as JSON integers.
 */
export function recordProofToJson(p: RecordProof): unknown {
  return {
    format: RECORD_PROOF_FORMAT,
    key: p.record.key,
    contentType: p.record.contentType,
    value: toBase64(p.record.value),
    salt: toBase64(p.salt),
    steps: p.steps.map((s, i) => {
      const base = { index: s.index, size: s.size, path: s.path.map(toBase64) };
      if (i === 0) return base;
      const st = s as InternalProofStep;
      return { ...base, childLevel: st.childLevel, childCount: st.childCount };
    }),
  };
}

function exactMembers(what: string, v: unknown, names: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`${what}: expected an object`);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  for (const k of keys) if (!names.includes(k)) throw malformed(`${what}: unexpected member ${JSON.stringify(k.slice(0, 40))}`);
  for (const n of names) if (!(n in o)) throw malformed(`${what}: missing member ${n}`);
  return o;
}

function base64Field(what: string, v: unknown, size?: number): Uint8Array {
  const b = typeof v === 'string' ? fromBase64(v) : undefined;
  if (b === undefined) throw malformed(`${what}: expected base64`);
  if (size !== undefined && b.length !== size) throw malformed(`${what}: expected ${size} bytes, got ${b.length}`);
  return b;
}

function stringField(what: string, v: unknown): string {
  if (typeof v !== 'string') throw malformed(`${what}: expected a string`);
  return v;
}

const PROOF_MEMBERS = ['format', 'key', 'contentType', 'value', 'salt', 'steps'] as const;
const LEAF_STEP_MEMBERS = ['index', 'size', 'path'] as const;
const INTERNAL_STEP_MEMBERS = ['index', 'size', 'path', 'childLevel', 'childCount'] as const;

/** Parses recordProofToJson's output strictly (no missing or extra members). Throws 'proof.malformed'. */
export function recordProofFromJson(v: unknown): RecordProof {
  const o = exactMembers('proof', v, PROOF_MEMBERS);
  if (o.format !== RECORD_PROOF_FORMAT) throw malformed(`expected format ${RECORD_PROOF_FORMAT}`);
  const key = stringField('key', o.key);
  try {
    checkKey(key);
  } catch (e) {
    if (isEmbassyError(e)) throw malformed(e.message);
    throw e;
  }
  const contentType = stringField('contentType', o.contentType);
  const value = base64Field('value', o.value);
  const salt = base64Field('salt', o.salt, RECORD_SALT_SIZE);
  if (!Array.isArray(o.steps) || o.steps.length === 0 || o.steps.length > MAX_TREE_LEVEL + 1) {
    throw malformed(`steps: expected an array of 1..${MAX_TREE_LEVEL + 1}`);
  }
  const steps: ProofStep[] = o.steps.map((sv: unknown, i: number) => {
    const s = exactMembers(`step ${i}`, sv, i === 0 ? LEAF_STEP_MEMBERS : INTERNAL_STEP_MEMBERS);
    if (!Array.isArray(s.path) || s.path.length > 64) throw malformed(`step ${i} path: expected an array of at most 64 hashes`);
    const step: LeafProofStep = {
      index: checkInt(`step ${i} index`, s.index, 0),
      size: checkInt(`step ${i} size`, s.size, 1),
      path: s.path.map((h: unknown, j: number) => base64Field(`step ${i} path ${j}`, h, HASH_SIZE)),
    };
    if (i === 0) return step;
    return { ...step, childLevel: checkInt(`step ${i} childLevel`, s.childLevel, 0), childCount: checkInt(`step ${i} childCount`, s.childCount, 1) };
  });
  return { record: { key, contentType, value }, salt, steps };
}
