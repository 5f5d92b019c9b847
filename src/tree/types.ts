// Shared types of the record tree (DESIGN.md §5): records, nodes, the parameters derived from
// a dataset key, and the small async store interface the pure tree code reads and writes nodes
// through. Encoding, compression and encryption of nodes happen behind TreeStore, not here.
import type { Hash } from '../log/merkle.ts';

/** SHA-256 of an object's stored (encrypted) bytes. Raw bytes inside, hex at the edges. */
export type ObjectId = Uint8Array;

/** One keyed entry of a dataset version. JSON values are RFC 8785 canonical bytes. */
export interface TreeRecord {
  /** UTF-8 string, non-empty, at most MAX_KEY_BYTES bytes when encoded. */
  key: string;
  /** 'application/json' for canonical JSON, otherwise the media type the bytes came with. */
  contentType: string;
  value: Uint8Array;
}

export const JSON_CONTENT_TYPE = 'application/json';
export const MAX_KEY_BYTES = 1024;

/** A value as stored in a leaf: inline, or split into chunk objects (large values). */
export type StoredValue =
  | { kind: 'inline'; bytes: Uint8Array }
  | { kind: 'chunked'; size: number; hash: Hash; chunks: { id: ObjectId; size: number }[] };

export interface LeafEntry {
  key: string;
  contentType: string;
  value: StoredValue;
}

export interface ChildEntry {
  /** The largest key in the child's subtree. */
  lastKey: string;
  id: ObjectId;
  commitment: Hash;
  /** Records in the child's subtree. */
  count: number;
}

export type TreeNode =
  | { kind: 'leaf'; entries: LeafEntry[] }
  | { kind: 'internal'; level: number; children: ChildEntry[] };

/** What a version's tree is known by. */
export interface TreeRoot {
  id: ObjectId;
  commitment: Hash;
  count: number;
  /** Level of the root node: 0 when the root is a leaf. */
  level: number;
}

/** Parameters of one dataset's trees, derived from its data key (see params.ts). */
export interface TreeParams {
  /**
   * Key of the per-key PRF: HMAC-SHA-256(treeKey, key) gives, in its first 8 bytes, the key's
   * boundary rank (node boundaries depend only on keys, never on values: history independence),
   * and in its other 24 bytes the salt of the key's record hash (so the sibling hashes in a
   * proof reveal nothing to someone guessing other records without the dataset key).
   */
  treeKey: Uint8Array;
  /** Expected records per leaf (boundary probability 1/leafTarget). */
  leafTarget: number;
  /** Expected children per internal node. */
  fanout: number;
  /** Values larger than this many bytes are split into chunks with FastCDC. */
  chunkThreshold: number;
  chunkMin: number;
  chunkAvg: number;
  chunkMax: number;
  /** FastCDC gear table: 256 64-bit values, derived from the data key. */
  gear: BigUint64Array;
}

/**
 * Where the tree keeps its nodes and chunks. Implementations encode, compress, pad and encrypt
 * (seal/), and deduplicate: putting a node that already exists returns the existing id.
 */
export interface TreeStore {
  putNode(node: TreeNode): Promise<ObjectId>;
  getNode(id: ObjectId): Promise<TreeNode>;
  putChunk(bytes: Uint8Array): Promise<ObjectId>;
  getChunk(id: ObjectId): Promise<Uint8Array>;
}
