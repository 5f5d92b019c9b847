// ObjectStore: where a site keeps encrypted objects (tree nodes and chunks), each named by the
// SHA-256 of its stored bytes. Pack files on disk with a SQLite index now; S3 later.
//
// Durability contract, which every backend must keep and the conformance suite checks:
//  - put(id, bytes) checks that id = SHA-256(bytes) (refusing with 'object.id-mismatch') and
//    stages the object; it may be buffered. A put of an id already stored is a no-op.
//  - flush(): when it resolves, every object put before it is durable and readable by get()
//    after a crash and reopen. Until then a crash may lose staged objects, never corrupt stored ones.
//  - get(id) returns exactly the bytes put (re-checked against the id), or undefined if absent.
//  - has(ids) answers for staged and stored objects alike.
//  - Objects are immutable; only garbage collection removes them, and it never removes an
//    object that a caller declares live, even if killed midway.
import type { ObjectId } from '../tree/types.ts';

export interface ObjectStore {
  has(ids: readonly ObjectId[]): Promise<boolean[]>;
  get(id: ObjectId): Promise<Uint8Array | undefined>;
  put(id: ObjectId, bytes: Uint8Array): Promise<void>;
  flush(): Promise<void>;
  /** Every stored object id (after the last flush), in no particular order. */
  ids(): AsyncIterable<ObjectId>;
  close(): Promise<void>;
}
