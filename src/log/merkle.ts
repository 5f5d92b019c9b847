// RFC 6962 / RFC 9162 Merkle tree: leaf and node hashing (§2.1.1), inclusion proofs (§2.1.3) and
// consistency proofs (§2.1.4), generation and verification. Sizes and indices are bigint and
// valid for any uint64 tree; no size or index arithmetic goes through Number. Proofs read only
// complete, aligned subtrees, in one batched call, so tiles (c2sp.org/tlog-tiles) can back them.
import { EmbassyError } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';

export type Hash = Uint8Array; // 32 bytes
export const HASH_SIZE = 32;
export const RFC6962_LEAF_PREFIX = 0x00;
export const RFC6962_NODE_PREFIX = 0x01;

const LEAF_PREFIX = new Uint8Array([RFC6962_LEAF_PREFIX]);
const NODE_PREFIX = new Uint8Array([RFC6962_NODE_PREFIX]);
/** Tree sizes and indices are uint64 on the wire (checkpoints, tlog-tiles). */
const UINT64_LIMIT = 1n << 64n;

/** MTH({}) = SHA-256(""). */
export const EMPTY_ROOT: Hash = sha256();

export function hashLeaf(entry: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, entry);
}

/** Accepts inputs of any length: RFC 6962's own test vectors hash raw strings here. */
export function hashChildren(left: Hash, right: Hash): Hash {
  return sha256(NODE_PREFIX, left, right);
}

/** MTH over an in-memory list. Carrying an unpaired last node up a level gives RFC 6962's shape. */
export function rootOfLeafHashes(leafHashes: readonly Hash[]): Hash {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  let level: Hash[] = leafHashes.slice();
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/**
 * Hashes of complete, aligned subtrees: node (level k, index i) covers leaves [i·2^k, (i+1)·2^k).
 * Batched.
 */
export interface SubtreeNode {
  level: number;
  index: bigint;
}
export type SubtreeHashReader = (nodes: readonly SubtreeNode[]) => Promise<Hash[]>;

/** A reader over a list held in memory; every level is computed once, up front. */
export function memorySubtreeReader(leafHashes: readonly Hash[]): SubtreeHashReader {
  const levels: Hash[][] = [leafHashes.slice()];
  for (let below = levels[0]!; below.length > 1; ) {
    const level: Hash[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) level.push(hashChildren(below[i]!, below[i + 1]!));
    levels.push(level);
    below = level;
  }
  return async (nodes) =>
    nodes.map(({ level, index }) => {
      const inRange = index >= 0n && index < BigInt(leafHashes.length);
      const h = inRange ? levels[level]?.[Number(index)] : undefined;
      if (h === undefined) {
        const n = leafHashes.length;
        throw malformed(`memory subtree reader: node (${level}, ${index}) is not a complete subtree of ${n} leaves`);
      }
      return h;
    });
}

export async function treeRoot(size: bigint, read: SubtreeHashReader): Promise<Hash> {
  checkUint64('tree root: size', size);
  if (size === 0n) return EMPTY_ROOT;
  const [root] = await readRanges([{ lo: 0n, hi: size }], read);
  return root!;
}

/** PATH(m, D[n]) of RFC 9162 §2.1.3.1, ordered from the leaf up. */
export async function proveInclusion(index: bigint, size: bigint, read: SubtreeHashReader): Promise<Hash[]> {
  checkIndex(index, size);
  // Walk down from the root; at each split the sibling of the side holding the leaf joins the proof.
  const siblings: Range[] = [];
  let lo = 0n;
  let hi = size;
  while (hi - lo > 1n) {
    const split = lo + largestPowerOfTwoBelow(hi - lo);
    if (index < split) {
      siblings.push({ lo: split, hi });
      hi = split;
    } else {
      siblings.push({ lo, hi: split });
      lo = split;
    }
  }
  return readRanges(siblings.reverse(), read);
}

/** PROOF(m, D[n]) of RFC 9162 §2.1.4.1. A proof from the empty tree is meaningless and refused. */
export async function proveConsistency(
  size1: bigint,
  size2: bigint,
  read: SubtreeHashReader,
): Promise<Hash[]> {
  checkSizes(size1, size2);
  // SUBPROOF(m, D[lo:hi], b) unrolled: `upper` collects, top-down, the MTH appended after each recursion.
  const upper: Range[] = [];
  let lo = 0n;
  let hi = size2;
  let whole = true; // b: the subtree [lo, hi) is still a prefix the verifier already holds as root1
  while (size1 !== hi) {
    const split = lo + largestPowerOfTwoBelow(hi - lo);
    if (size1 <= split) {
      upper.push({ lo: split, hi });
      hi = split;
    } else {
      upper.push({ lo, hi: split });
      lo = split;
      whole = false;
    }
  }
  const ranges = whole ? [] : [{ lo, hi }];
  ranges.push(...upper.reverse());
  return readRanges(ranges, read);
}

/** RFC 9162 §2.1.3.2. Throws 'proof.malformed' or 'proof.invalid'. */
export function verifyInclusion(
  leafHash: Hash,
  index: bigint,
  size: bigint,
  proof: readonly Hash[],
  root: Hash,
): void {
  checkHash('inclusion proof: root', root);
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  if (!bytesEqual(computed, root)) throw invalid('inclusion proof: computed root does not match the expected root');
}

export function rootFromInclusionProof(
  leafHash: Hash,
  index: bigint,
  size: bigint,
  proof: readonly Hash[],
): Hash {
  checkIndex(index, size);
  checkHash('inclusion proof: leaf hash', leafHash);
  const want = inclusionProofLength(index, size);
  if (proof.length !== want) throw malformed(`inclusion proof: expected ${want} hashes, got ${proof.length}`);
  proof.forEach((p, i) => checkHash(`inclusion proof: hash ${i}`, p));
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      // On the right border a node without a right sibling moves up unchanged.
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return r; // sn is 0 here: the length check above is the same walk
}

/**
 * RFC 9162 §2.1.4.2. When size1 = size2 the proof must be empty and the roots are compared as
 * bytes, whatever their length (as the RFC and transparency-dev/merkle do). size1 = 0 is refused.
 */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Hash[],
  root1: Hash,
  root2: Hash,
): void {
  checkSizes(size1, size2);
  if (size1 === size2) {
    if (proof.length !== 0) throw malformed(`consistency proof: expected 0 hashes for equal sizes, got ${proof.length}`);
    if (!bytesEqual(root1, root2)) throw invalid('consistency proof: equal sizes but different roots');
    return;
  }
  checkHash('consistency proof: root1', root1);
  checkHash('consistency proof: root2', root2);
  const seeded = isPowerOfTwo(size1); // then root1 itself is the first path element, left out of the proof
  const want = consistencyPathLength(size1, size2) - (seeded ? 1 : 0);
  if (proof.length !== want) throw malformed(`consistency proof: expected ${want} hashes, got ${proof.length}`);
  proof.forEach((p, i) => checkHash(`consistency proof: hash ${i}`, p));
  const path = seeded ? [root1, ...proof] : proof;
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (!bytesEqual(fr, root1)) throw invalid('consistency proof: computed root1 does not match');
  if (!bytesEqual(sr, root2)) throw invalid('consistency proof: computed root2 does not match');
}

// Length of the walk of §2.1.3.2 step 4: it depends only on the sizes, never on the hashes, so a
// proof of any other length is malformed rather than merely wrong.
function inclusionProofLength(index: bigint, size: bigint): number {
  return pathSteps(index, size - 1n);
}

// Length of consistency_path in §2.1.4.2 once root1 is prepended for a power-of-two size1.
function consistencyPathLength(size1: bigint, size2: bigint): number {
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  return 1 + pathSteps(fn, sn);
}

function pathSteps(fn: bigint, sn: bigint): number {
  let n = 0;
  while (sn !== 0n) {
    n++;
    if ((fn & 1n) === 0n && fn === sn) {
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return n;
}

/** A range of leaves [lo, hi) whose MTH is wanted; lo is aligned as MTH's recursion guarantees. */
interface Range {
  lo: bigint;
  hi: bigint;
}

/**
 * Splits [lo, hi) into complete subtrees, largest first: one per set bit of hi − lo. Each starts
 * aligned because lo is a multiple of a power of two not smaller than hi − lo.
 */
function completeSubtrees({ lo, hi }: Range): SubtreeNode[] {
  const out: SubtreeNode[] = [];
  const n = hi - lo;
  let at = lo;
  for (let level = bitLength(n) - 1; level >= 0; level--) {
    const width = 1n << BigInt(level);
    if ((n & width) !== 0n) {
      out.push({ level, index: at >> BigInt(level) });
      at += width;
    }
  }
  return out;
}

/** Reads every complete subtree the ranges need in one batch, then folds each range right to left. */
async function readRanges(ranges: readonly Range[], read: SubtreeHashReader): Promise<Hash[]> {
  const parts = ranges.map(completeSubtrees);
  const keys = new Map<string, number>();
  const wanted: SubtreeNode[] = [];
  for (const node of parts.flat()) {
    const key = `${node.level}/${node.index}`;
    if (!keys.has(key)) {
      keys.set(key, wanted.length);
      wanted.push(node);
    }
  }
  const got = wanted.length === 0 ? [] : await read(wanted);
  if (got.length !== wanted.length) {
    throw new EmbassyError('log.corrupt', `subtree reader: expected ${wanted.length} hashes, got ${got.length}`);
  }
  got.forEach((h, i) => {
    const { level, index } = wanted[i]!;
    checkHash(`subtree reader: node (${level}, ${index})`, h, 'log.corrupt');
  });
  return parts.map((nodes) => {
    const hashes = nodes.map((n) => got[keys.get(`${n.level}/${n.index}`)!]!);
    let h = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i--) h = hashChildren(hashes[i]!, h);
    return h;
  });
}

/** k with k < n ≤ 2k, for n ≥ 2 (RFC 9162 §2.1.1). */
function largestPowerOfTwoBelow(n: bigint): bigint {
  return 1n << BigInt(bitLength(n - 1n) - 1);
}

function bitLength(n: bigint): number {
  let bits = 0;
  while (n > 0n) {
    n >>= 1n;
    bits++;
  }
  return bits;
}

function isPowerOfTwo(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

function checkUint64(what: string, n: bigint): void {
  if (typeof n !== 'bigint' || n < 0n || n >= UINT64_LIMIT) {
    throw malformed(`${what}: expected a uint64, got ${String(n)}`);
  }
}

function checkIndex(index: bigint, size: bigint): void {
  checkUint64('inclusion proof: index', index);
  checkUint64('inclusion proof: size', size);
  if (index >= size) throw malformed(`inclusion proof: index ${index} is not below size ${size}`);
}

/** 0 < size1 ≤ size2: a consistency proof from the empty tree is meaningless (RFC 9162 §2.1.4). */
function checkSizes(size1: bigint, size2: bigint): void {
  checkUint64('consistency proof: size1', size1);
  checkUint64('consistency proof: size2', size2);
  if (size1 > size2) throw malformed(`consistency proof: size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === 0n) throw malformed('consistency proof: size1 is 0, a proof from the empty tree is meaningless');
}

function checkHash(what: string, h: Uint8Array, code: 'proof.malformed' | 'log.corrupt' = 'proof.malformed'): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    const got = h instanceof Uint8Array ? h.length : typeof h;
    throw new EmbassyError(code, `${what}: expected ${HASH_SIZE} bytes, got ${got}`);
  }
}

function malformed(message: string): EmbassyError {
  return new EmbassyError('proof.malformed', message);
}

function invalid(message: string): EmbassyError {
  return new EmbassyError('proof.invalid', message);
}
