// Record-tree hashing (docs/format-tree.md §T.2, §T.6): the per-key PRF that gives a key's boundary
// rank and record salt, record hashes, leaf and internal commitments (RFC 6962 MTH over entry
// hashes) and child entry hashes. One HMAC per key, reused for shape and salt; short messages
// are hashed in JavaScript (sha256.ts), which is several times cheaper than a node:crypto call.
import { utf8 } from '../format/bytes.ts';
import { EMPTY_ROOT } from '../log/merkle.ts';
import type { Hash } from '../log/merkle.ts';
import { encodeContentType, encodeKey } from './params.ts';
import { HmacSha256, sha256Fast } from './sha256.ts';
import type { StoredValue, TreeParams, TreeRecord } from './types.ts';

export const RECORD_HASH_PREFIX = 'data-embassy/record/v1\n';
export const CHILD_ENTRY_PREFIX = 'data-embassy/tree/v1/child\n';
export const KEY_PRF_SIZE = 32;
export const RECORD_SALT_SIZE = 24;
/** Bytes 0..7 of the PRF are the boundary value, bytes 8..31 the salt. */
const SALT_OFFSET = 8;

const RECORD_PREFIX_BYTES = utf8.encode(RECORD_HASH_PREFIX);
const CHILD_PREFIX_BYTES = utf8.encode(CHILD_ENTRY_PREFIX);

/** SHA-256 of one byte string, as a plain Uint8Array (short messages in JS, see sha256.ts). */
export const sha256Once: (data: Uint8Array) => Hash = sha256Fast;

interface Derived {
  hmac: HmacSha256;
  /** Boundary thresholds per level as [high 32 bits, low 32 bits]; 2^64 is [2^32, 0]. */
  hi: number[];
  lo: number[];
}
const derivedCache = new WeakMap<TreeParams, Derived>();

function derived(params: TreeParams): Derived {
  let d = derivedCache.get(params);
  if (d === undefined) {
    const hi: number[] = [];
    const lo: number[] = [];
    // T_ℓ = floor(2^64 / (leafTarget · fanout^ℓ)); a key ends a level-ℓ node iff u < T_ℓ.
    let div = BigInt(params.leafTarget);
    for (;;) {
      const t = (1n << 64n) / div;
      if (t === 0n) break;
      hi.push(Number(t >> 32n));
      lo.push(Number(t & 0xffffffffn));
      div *= BigInt(params.fanout);
    }
    d = { hmac: new HmacSha256(params.treeKey), hi, lo };
    derivedCache.set(params, d);
  }
  return d;
}

/**
 * Wipes a dataset's tree key and the HMAC state derived from it (which a plain
 * `params.treeKey.fill(0)` would leave in the cache). The params must not be used afterwards.
 */
export function wipeTreeParams(params: TreeParams): void {
  derivedCache.get(params)?.hmac.wipe();
  derivedCache.delete(params);
  params.treeKey.fill(0);
}

/** HMAC-SHA-256(treeKey, UTF-8 key): 32 bytes. Pass keyBytes when already encoded. */
export function keyPrf(params: TreeParams, key: string, keyBytes?: Uint8Array): Uint8Array {
  return derived(params).hmac.mac(keyBytes ?? encodeKey(key));
}

/**
 * How many levels a key closes: with u = bytes 0..7 of its PRF (big-endian), the key ends a
 * level-ℓ node (ℓ = 0 is a leaf) iff u < floor(2^64 / (leafTarget · fanout^ℓ)). So rank 0 ends
 * nothing, rank r ≥ 1 ends nodes at levels 0..r−1: a key ends a level-ℓ node iff rank > ℓ.
 */
export function boundaryRank(params: TreeParams, prf: Uint8Array): number {
  const { hi, lo } = derived(params);
  const uHi = ((prf[0]! << 24) | (prf[1]! << 16) | (prf[2]! << 8) | prf[3]!) >>> 0;
  const uLo = ((prf[4]! << 24) | (prf[5]! << 16) | (prf[6]! << 8) | prf[7]!) >>> 0;
  let r = 0;
  while (r < hi.length && (uHi < hi[r]! || (uHi === hi[r]! && uLo < lo[r]!))) r++;
  return r;
}

export function keyRank(params: TreeParams, key: string): number {
  return boundaryRank(params, keyPrf(params, key));
}

/** Bytes 8..31 of the key's PRF: salts its record hash. */
export function recordSalt(prf: Uint8Array): Uint8Array {
  return prf.subarray(SALT_OFFSET, SALT_OFFSET + RECORD_SALT_SIZE);
}

// Scratch for record-hash input: the largest is 23 + 24 + 4 + 1024 + 4 + 255 + 32 bytes.
const scratch = new Uint8Array(2048);
const scratchView = new DataView(scratch.buffer);

/**
 * SHA-256("data-embassy/record/v1\n" ‖ salt ‖ uint32be(|key|) ‖ key ‖ uint32be(|ct|) ‖ ct ‖
 * SHA-256(value)), key and content type in UTF-8. Takes the value's hash so chunked values
 * never need their chunks.
 */
export function recordHashOf(salt: Uint8Array, keyBytes: Uint8Array, contentTypeBytes: Uint8Array, valueHash: Hash): Hash {
  let o = 0;
  scratch.set(RECORD_PREFIX_BYTES, o);
  o += RECORD_PREFIX_BYTES.length;
  scratch.set(salt, o);
  o += salt.length;
  scratchView.setUint32(o, keyBytes.length);
  o += 4;
  scratch.set(keyBytes, o);
  o += keyBytes.length;
  scratchView.setUint32(o, contentTypeBytes.length);
  o += 4;
  scratch.set(contentTypeBytes, o);
  o += contentTypeBytes.length;
  scratch.set(valueHash, o);
  o += valueHash.length;
  return sha256Once(scratch.subarray(0, o));
}

/** The record hash of a whole record (validates key and content type: 'record.invalid'). */
export function recordHash(salt: Uint8Array, record: TreeRecord): Hash {
  return recordHashOf(salt, encodeKey(record.key), encodeContentType(record.contentType, record.key), sha256Once(record.value));
}

/** SHA-256 of a stored value's full bytes: computed for inline values, kept for chunked ones. */
export function storedValueHash(v: StoredValue): Hash {
  return v.kind === 'inline' ? sha256Once(v.bytes) : v.hash;
}

const leafScratch = new Uint8Array(33);
/** RFC 6962 leaf hash SHA-256(0x00 ‖ x) of a 32-byte entry hash input. */
export function hashLeaf32(x: Hash): Hash {
  leafScratch[0] = 0x00;
  leafScratch.set(x, 1);
  return sha256Once(leafScratch);
}

// 0x00 ‖ prefix ‖ uint8(level) ‖ commitment ‖ uint64be(count): the RFC 6962 leaf input, prefixed.
const childScratch = new Uint8Array(1 + CHILD_PREFIX_BYTES.length + 1 + 32 + 8);
const childView = new DataView(childScratch.buffer);
childScratch.set(CHILD_PREFIX_BYTES, 1);

function fillChildEntry(childLevel: number, commitment: Hash, count: number): void {
  let o = 1 + CHILD_PREFIX_BYTES.length;
  childScratch[o++] = childLevel;
  childScratch.set(commitment, o);
  o += 32;
  childView.setUint32(o, Math.floor(count / 0x100000000));
  childView.setUint32(o + 4, count >>> 0);
}

/**
 * hashLeaf("data-embassy/tree/v1/child\n" ‖ uint8(childLevel) ‖ commitment ‖ uint64be(count)):
 * what an internal node's MTH is taken over, one per child.
 */
export function childEntryHash(childLevel: number, commitment: Hash, count: number): Hash {
  fillChildEntry(childLevel, commitment, count);
  return sha256Once(childScratch);
}

/** The entry childEntryHash hashes as an RFC 6962 leaf (without the 0x00); for tests and docs. */
export function childEntryBytes(childLevel: number, commitment: Hash, count: number): Uint8Array {
  fillChildEntry(childLevel, commitment, count);
  return childScratch.slice(1);
}

const nodeScratch = new Uint8Array(65);
function hashPair(left: Hash, right: Hash): Hash {
  nodeScratch[0] = 0x01;
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 33);
  return sha256Once(nodeScratch);
}

export const NODE_COMMITMENT_PREFIX = 'data-embassy/tree/v1/node\n';
const NODE_COMMITMENT_PREFIX_BYTES = new TextEncoder().encode(NODE_COMMITMENT_PREFIX);

/**
 * A node's commitment: SHA-256("data-embassy/tree/v1/node\n" ‖ uint32be(entries) ‖ MTH).
 * Binding the number of entries matters for proofs: an RFC 6962 inclusion path does not pin the
 * tree size (a path for index i of n can also verify for some n' ≠ n), so without it a proof's
 * stated sizes could be altered undetected.
 */
export function nodeCommitment(entries: number, mth: Hash): Hash {
  const buf = new Uint8Array(NODE_COMMITMENT_PREFIX_BYTES.length + 4 + mth.length);
  buf.set(NODE_COMMITMENT_PREFIX_BYTES, 0);
  new DataView(buf.buffer).setUint32(NODE_COMMITMENT_PREFIX_BYTES.length, entries);
  buf.set(mth, NODE_COMMITMENT_PREFIX_BYTES.length + 4);
  return sha256Once(buf);
}

/** The commitment of a node whose entry (leaf) hashes are these. */
export function commitNode(entryHashes: readonly Hash[]): Hash {
  return nodeCommitment(entryHashes.length, merkleRoot(entryHashes));
}

/** RFC 6962 MTH over entry (leaf) hashes; SHA-256("") for none. Same as log/merkle rootOfLeafHashes. */
export function merkleRoot(leafHashes: readonly Hash[]): Hash {
  const n = leafHashes.length;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHashes[0]!;
  const level: Hash[] = leafHashes.slice();
  let len = n;
  while (len > 1) {
    let w = 0;
    for (let i = 0; i + 1 < len; i += 2) level[w++] = hashPair(level[i]!, level[i + 1]!);
    if (len % 2 === 1) level[w++] = level[len - 1]!;
    len = w;
  }
  return level[0]!;
}
