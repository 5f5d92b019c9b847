// The TreeStore a seal uses: tree nodes and chunks are encoded (tree/codec), compressed, padded
// and encrypted under the dataset's data key (object/), and kept in an ObjectStore, deduplicated
// by object id. Counts what is new, which is what a version costs in storage and transfer.
// Two things keep a large seal fast without changing a byte: leaves can be sealed ahead, in a
// worker thread (prepareLeaf, then putNode takes the result), and new objects are checked against
// the store and put in batches, in the order they were made (so packs come out the same).
import { EmbassyError } from '../errors.ts';
import { toHex } from '../format/bytes.ts';
import { createDeterministicAead, type DeterministicAead } from '../crypto/aead.ts';
import { openObjectWith, sealObjectWith, type ObjectKind } from '../object/object.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { decodeNode, encodeNode } from '../tree/codec.ts';
import type { LeafEntry, ObjectId, TreeNode, TreeStore } from '../tree/types.ts';
import { SealWorker, type SealedObject } from './seal-worker-pool.ts';

export interface SealStats {
  newObjects: number;
  newBytes: number;
  reusedObjects: number;
}

const NODE_CACHE_SIZE = 4096;
/** New objects checked against the store (has) and put together. */
const KEEP_BATCH = 256;

interface Prepared {
  entries: readonly LeafEntry[];
  /** The seal worker's job. */
  job: number;
}

export class ObjectTreeStore implements TreeStore {
  /** Complete after flush(). */
  readonly stats: SealStats = { newObjects: 0, newBytes: 0, reusedObjects: 0 };
  private readonly seen = new Set<string>();
  private readonly cache = new Map<string, TreeNode>();
  /** The data key's AEAD context: its sub-keys are derived once, not per object. */
  private readonly aead: DeterministicAead;
  /** A copy of the data key, to hand to a seal worker; zeroed by wipe(). */
  private readonly key: Uint8Array;
  private worker: SealWorker | undefined;
  /** Leaves being sealed ahead, by their first entry (putNode gets the same entry objects). */
  private readonly prepared = new Map<LeafEntry, Prepared>();
  /** New to this store's session, not yet checked against the object store nor put. */
  private pending: SealedObject[] = [];

  constructor(
    private readonly objects: ObjectStore,
    dek: Uint8Array,
  ) {
    this.aead = createDeterministicAead(dek);
    this.key = dek.slice();
  }

  /** Zeroes the key material this store holds (with the data key it was made from); it cannot seal or open afterwards. */
  wipe(): void {
    this.aead.wipe();
    this.key.fill(0);
    this.cache.clear();
    this.prepared.clear();
    void this.worker?.close();
    this.worker = undefined;
  }

  /**
   * Starts a worker thread that seals the leaves given to prepareLeaf. Until stopSealWorker,
   * prepareLeaf seals there; without one it does nothing and putNode seals as usual.
   */
  startSealWorker(): void {
    this.worker ??= SealWorker.start(this.key);
  }

  /** Stops the worker (its key material wiped); returns how many of the objects put it sealed. */
  async stopSealWorker(): Promise<number> {
    const w = this.worker;
    this.worker = undefined;
    this.prepared.clear();
    if (w === undefined) return 0;
    await w.close();
    return w.sealed;
  }

  /**
   * Starts sealing the leaf of these entries (in the seal worker, if one runs), so that putNode of
   * a leaf with exactly these entry objects takes the result instead of sealing it then.
   */
  prepareLeaf(entries: readonly LeafEntry[]): void {
    const w = this.worker;
    if (w === undefined || entries.length === 0) return;
    const { body, children } = encodeNode({ kind: 'leaf', entries: entries as LeafEntry[] });
    this.prepared.set(entries[0]!, { entries, job: w.submit({ kind: 'node', children, content: body }) });
  }

  /** The sealed leaf prepared for this node, if any and if the worker sealed it. */
  private takePrepared(node: TreeNode): SealedObject | undefined {
    const w = this.worker;
    if (w === undefined || node.kind !== 'leaf' || node.entries.length === 0) return undefined;
    const p = this.prepared.get(node.entries[0]!);
    if (p === undefined) return undefined;
    this.prepared.delete(node.entries[0]!);
    if (p.entries.length !== node.entries.length || p.entries.some((e, i) => e !== node.entries[i])) {
      w.drop(p.job);
      return undefined;
    }
    return w.take(p.job);
  }

  private async keep(o: SealedObject): Promise<void> {
    const hex = toHex(o.id);
    if (this.seen.has(hex)) {
      this.stats.reusedObjects++;
      return;
    }
    this.seen.add(hex);
    this.pending.push(o);
    if (this.pending.length >= KEEP_BATCH) await this.drain();
  }

  /** Checks the pending objects against the object store and puts the new ones, in order. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const present = await this.objects.has(batch.map((o) => o.id));
      for (let i = 0; i < batch.length; i++) {
        const o = batch[i]!;
        if (present[i]) {
          this.stats.reusedObjects++;
          continue;
        }
        await this.objects.put(o.id, o.bytes);
        this.stats.newObjects++;
        this.stats.newBytes += o.bytes.length;
      }
    }
  }

  /** Puts every object made so far and makes them durable (ObjectStore.flush); stats are then complete. */
  async flush(): Promise<void> {
    await this.drain();
    await this.objects.flush();
  }

  async putNode(node: TreeNode): Promise<ObjectId> {
    let sealed = this.takePrepared(node);
    if (sealed === undefined) {
      const { body, children } = encodeNode(node);
      sealed = sealObjectWith(this.aead, { kind: 'node', children, content: body });
    }
    await this.keep(sealed);
    return sealed.id;
  }

  async getNode(id: ObjectId): Promise<TreeNode> {
    const hex = toHex(id);
    const hit = this.cache.get(hex);
    if (hit) {
      // Refresh its position: Map iteration order is insertion order, so this is an LRU.
      this.cache.delete(hex);
      this.cache.set(hex, hit);
      return hit;
    }
    const o = await this.load(id, 'node');
    const node = decodeNode(o.content, o.children);
    this.cache.set(hex, node);
    if (this.cache.size > NODE_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return node;
  }

  async putChunk(bytes: Uint8Array): Promise<ObjectId> {
    const sealed = sealObjectWith(this.aead, { kind: 'chunk', children: [], content: bytes });
    await this.keep(sealed);
    return sealed.id;
  }

  async getChunk(id: ObjectId): Promise<Uint8Array> {
    return (await this.load(id, 'chunk')).content;
  }

  private async load(id: ObjectId, kind: ObjectKind) {
    // An object made in this session may still be pending: put it first.
    if (this.pending.length > 0) await this.drain();
    const bytes = await this.objects.get(id);
    if (bytes === undefined) throw new EmbassyError('store.not-found', `object ${toHex(id)} is missing`);
    const o = openObjectWith(this.aead, bytes, id);
    if (o.kind !== kind) throw new EmbassyError('tree.corrupt', `object ${toHex(id)}: expected kind ${kind}, got ${o.kind}`);
    return o;
  }
}
