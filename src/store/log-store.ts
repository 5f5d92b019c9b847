// LogStore: where a site's tlog-tiles log lives (a directory now; S3 and HTTP later).
// Paths are the C2SP tlog-tiles resource paths relative to the log root ("checkpoint",
// "tile/0/000.p/5", "tile/entries/x001/234").
//
// Durability contract, which every backend must keep and the conformance tests check:
//  - put(path, data): when it resolves, a reader of `path` sees exactly `data` (never a prefix,
//    never a mix of old and new) and the bytes are on stable storage. The *name* may become
//    durable only at the next commit(). A put that rejects may or may not have written: callers
//    treat the path as unknown and write it again.
//  - commit(checkpoint): first makes every put that resolved before it durable (names included),
//    then atomically replaces "checkpoint". When it resolves the new checkpoint is durable; if it
//    rejects, "checkpoint" is either the old one or the new one, never anything else.
//  - Tiles and entry bundles at or below the committed checkpoint's size are immutable. The log
//    writer may put a path again only while no committed checkpoint covers it (the leftovers of
//    an append that crashed before its commit).
//  - get(path) returns undefined when there is no such object, and rejects on I/O errors.

export const CHECKPOINT_PATH = 'checkpoint';

export interface LogReader {
  /** The bytes at a log resource path, or undefined when absent. */
  get(path: string): Promise<Uint8Array | undefined>;
}

export interface LogStore extends LogReader {
  put(path: string, data: Uint8Array): Promise<void>;
  commit(checkpoint: Uint8Array): Promise<void>;
  /** Removes leftovers of interrupted writes (temporary files); safe to call at any time by the single writer. */
  recover(): Promise<void>;
}
