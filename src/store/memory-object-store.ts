// An ObjectStore in memory, for tests and tools. Keeps the durability contract of
// object-store.ts trivially: put() stores at once, so flush() has nothing to do. Stores copies,
// so a caller that mutates its buffers afterwards cannot change what was stored.
import { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import type { ObjectStore } from './object-store.ts';

const key = (id: ObjectId): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');

export class MemoryObjectStore implements ObjectStore {
  /**
   * The objects, by hex id. Pass the same map to several instances to model a reopen that keeps
   * state (the conformance suite does).
   */
  readonly objects: Map<string, Uint8Array>;
  private closed = false;

  constructor(objects?: Map<string, Uint8Array>) {
    this.objects = objects ?? new Map();
  }

  private check(): void {
    if (this.closed) throw new EmbassyError('store.io', 'memory object store: closed');
  }

  async has(ids: readonly ObjectId[]): Promise<boolean[]> {
    this.check();
    return ids.map((id) => this.objects.has(key(id)));
  }

  async get(id: ObjectId): Promise<Uint8Array | undefined> {
    this.check();
    const b = this.objects.get(key(id));
    if (b === undefined) return undefined;
    // The contract says get() re-checks; here that guards against tests that poke the map.
    if (!bytesEqual(sha256(b), id)) {
      throw new EmbassyError('object.id-mismatch', `memory object store: object ${key(id)} does not hash to its id`);
    }
    return b.slice();
  }

  async put(id: ObjectId, bytes: Uint8Array): Promise<void> {
    this.check();
    if (!bytesEqual(sha256(bytes), id)) {
      throw new EmbassyError('object.id-mismatch', `memory object store: put of ${key(id)}: bytes do not hash to the id`);
    }
    const k = key(id);
    if (!this.objects.has(k)) this.objects.set(k, bytes.slice());
  }

  async flush(): Promise<void> {
    this.check();
  }

  async *ids(): AsyncIterable<ObjectId> {
    this.check();
    for (const k of [...this.objects.keys()]) yield new Uint8Array(Buffer.from(k, 'hex'));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Removes every object for which isLive is false (same result shape as the pack store). */
  async collectGarbage(isLive: (id: ObjectId) => boolean): Promise<{ objectsRemoved: number; bytesFreed: number }> {
    this.check();
    let objectsRemoved = 0;
    let bytesFreed = 0;
    for (const [k, b] of [...this.objects]) {
      if (isLive(new Uint8Array(Buffer.from(k, 'hex')))) continue;
      this.objects.delete(k);
      objectsRemoved++;
      bytesFreed += b.length;
    }
    return { objectsRemoved, bytesFreed };
  }
}
