// In-memory TreeStore for tests and benchmarks. Every node goes through encodeNode on put and
// decodeNode on get, so the codec is exercised on every path. Ids stand in for the real object
// ids (SHA-256 of the encrypted object): SHA-256(body ‖ child ids) for nodes, SHA-256(bytes) for
// chunks. Puts of new objects are counted, so tests can show how much an update writes.
import { EmbassyError } from '../errors.ts';
import { concatBytes, toHex } from '../format/bytes.ts';
import { encodeNode, decodeNode } from './codec.ts';
import { sha256Once } from './record.ts';
import type { ObjectId, TreeNode, TreeStore } from './types.ts';

export interface MemoryTreeStoreStats {
  /** Nodes put that were not stored yet, and their encoded bytes (body plus child ids). */
  nodePuts: number;
  nodeBytes: number;
  chunkPuts: number;
  chunkBytes: number;
  /** Every getNode / getChunk call. */
  nodeGets: number;
  chunkGets: number;
}

interface StoredNode {
  body: Uint8Array;
  children: ObjectId[];
}

export class MemoryTreeStore implements TreeStore {
  private readonly nodes = new Map<string, StoredNode>();
  private readonly chunks = new Map<string, Uint8Array>();
  stats: MemoryTreeStoreStats = MemoryTreeStore.zeroStats();

  static zeroStats(): MemoryTreeStoreStats {
    return { nodePuts: 0, nodeBytes: 0, chunkPuts: 0, chunkBytes: 0, nodeGets: 0, chunkGets: 0 };
  }

  /** Returns the counters so far and starts new ones. */
  resetStats(): MemoryTreeStoreStats {
    const s = this.stats;
    this.stats = MemoryTreeStore.zeroStats();
    return s;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  get chunkCount(): number {
    return this.chunks.size;
  }

  async putNode(node: TreeNode): Promise<ObjectId> {
    const { body, children } = encodeNode(node);
    const id = sha256Once(concatBytes(body, ...children));
    const k = toHex(id);
    if (!this.nodes.has(k)) {
      this.nodes.set(k, { body, children: children.map((c) => c.slice()) });
      this.stats.nodePuts++;
      this.stats.nodeBytes += body.length + 32 * children.length;
    }
    return id;
  }

  async getNode(id: ObjectId): Promise<TreeNode> {
    this.stats.nodeGets++;
    const n = this.nodes.get(toHex(id));
    if (n === undefined) throw new EmbassyError('store.not-found', `memory tree store: no node ${toHex(id)}`);
    return decodeNode(n.body, n.children);
  }

  async putChunk(bytes: Uint8Array): Promise<ObjectId> {
    const id = sha256Once(bytes);
    const k = toHex(id);
    if (!this.chunks.has(k)) {
      this.chunks.set(k, bytes.slice());
      this.stats.chunkPuts++;
      this.stats.chunkBytes += bytes.length;
    }
    return id;
  }

  async getChunk(id: ObjectId): Promise<Uint8Array> {
    this.stats.chunkGets++;
    const c = this.chunks.get(toHex(id));
    if (c === undefined) throw new EmbassyError('store.not-found', `memory tree store: no chunk ${toHex(id)}`);
    return c.slice();
  }

  /** Test hook: replaces a stored node's body (to simulate corruption). */
  tamperNode(id: ObjectId, body: Uint8Array, children?: ObjectId[]): void {
    const k = toHex(id);
    const n = this.nodes.get(k);
    if (n === undefined) throw new EmbassyError('store.not-found', `memory tree store: no node ${k}`);
    this.nodes.set(k, { body, children: children ?? n.children });
  }

  /** Test hook: replaces a stored chunk's bytes. */
  tamperChunk(id: ObjectId, bytes: Uint8Array): void {
    this.chunks.set(toHex(id), bytes);
  }
}
