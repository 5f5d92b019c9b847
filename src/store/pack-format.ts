// Pack files, format version 1 (DESIGN.md §5 "Packs"; docs/format.md): pure encode and scan.
//   pack    = "DEPACK01" ‖ entry* ‖ "DEPACKIX" ‖ uint32be count
//   entry   = 32-byte object id ‖ uint32be length ‖ object bytes
//   pack id = SHA-256(pack), its file name. The trailer lets a scan tell a complete pack from a
// truncated one; the scan never throws, it reports what it found and where it stopped.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, utf8 } from '../format/bytes.ts';
import type { ObjectId } from '../tree/types.ts';

export const PACK_MAGIC = 'DEPACK01';
export const PACK_TRAILER_MAGIC = 'DEPACKIX';
export const PACK_HEADER_SIZE = 8;
export const PACK_ENTRY_HEADER_SIZE = 36;
export const PACK_TRAILER_SIZE = 12;
/** Largest object a pack holds; objects are at most 64 MiB of content plus header and padding. */
export const MAX_PACK_OBJECT_SIZE = 256 * 1024 * 1024;

const MAGIC = utf8.encode(PACK_MAGIC);
const TRAILER = utf8.encode(PACK_TRAILER_MAGIC);

export interface PackObject {
  id: ObjectId;
  bytes: Uint8Array;
}

/** Where an object's bytes are: `length` bytes from `offset` (past the entry header). */
export interface PackEntry {
  id: ObjectId;
  offset: number;
  length: number;
}

export interface PackScan {
  entries: PackEntry[];
  /** Magic, whole entries, and a trailer whose count matches, with nothing after it. */
  complete: boolean;
  /** Why the pack is not complete; undefined when it is. */
  problem: string | undefined;
}

/** Size of the pack holding objects of these lengths. */
export function packSize(lengths: Iterable<number>): number {
  let n = PACK_HEADER_SIZE + PACK_TRAILER_SIZE;
  for (const l of lengths) n += PACK_ENTRY_HEADER_SIZE + l;
  return n;
}

/** Encodes objects, in the given order, into one pack; entries give each object's place. */
export function encodePack(objects: readonly PackObject[]): { bytes: Uint8Array; entries: PackEntry[] } {
  const bytes = new Uint8Array(packSize(objects.map((o) => o.bytes.length)));
  const view = new DataView(bytes.buffer);
  const entries: PackEntry[] = [];
  bytes.set(MAGIC, 0);
  let p = PACK_HEADER_SIZE;
  for (const o of objects) {
    if (o.id.length !== 32) throw new EmbassyError('input.malformed', `pack: expected 32-byte object ids, got ${o.id.length}`);
    if (o.bytes.length > MAX_PACK_OBJECT_SIZE) {
      throw new EmbassyError('input.too-large', `pack: object of ${o.bytes.length} bytes, limit is ${MAX_PACK_OBJECT_SIZE}`);
    }
    bytes.set(o.id, p);
    view.setUint32(p + 32, o.bytes.length);
    bytes.set(o.bytes, p + PACK_ENTRY_HEADER_SIZE);
    entries.push({ id: o.id, offset: p + PACK_ENTRY_HEADER_SIZE, length: o.bytes.length });
    p += PACK_ENTRY_HEADER_SIZE + o.bytes.length;
  }
  bytes.set(TRAILER, p);
  view.setUint32(p + 8, objects.length);
  return { bytes, entries };
}

/**
 * Reads a pack's structure without trusting it: every whole entry up to the first problem, and
 * whether the pack is complete. Object hashes are not checked here (see the store).
 */
export function scanPack(bytes: Uint8Array): PackScan {
  const entries: PackEntry[] = [];
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stop = (problem: string): PackScan => ({ entries, complete: false, problem });
  if (n < PACK_HEADER_SIZE || !bytesEqual(bytes.subarray(0, PACK_HEADER_SIZE), MAGIC)) {
    return stop('pack: expected magic "DEPACK01"');
  }
  let p = PACK_HEADER_SIZE;
  for (;;) {
    const remaining = n - p;
    // A trailer is exactly the last 12 bytes; an entry is at least 36, so there is no ambiguity.
    if (remaining === PACK_TRAILER_SIZE && bytesEqual(bytes.subarray(p, p + 8), TRAILER)) {
      const count = view.getUint32(p + 8);
      if (count !== entries.length) return stop(`pack: trailer counts ${count} objects, found ${entries.length}`);
      return { entries, complete: true, problem: undefined };
    }
    if (remaining < PACK_ENTRY_HEADER_SIZE) return stop(`pack: truncated at byte ${p} (no trailer)`);
    const length = view.getUint32(p + 32);
    if (length > MAX_PACK_OBJECT_SIZE) return stop(`pack: entry at byte ${p} claims ${length} bytes`);
    if (length > remaining - PACK_ENTRY_HEADER_SIZE) return stop(`pack: entry at byte ${p} truncated`);
    entries.push({ id: bytes.slice(p, p + 32), offset: p + PACK_ENTRY_HEADER_SIZE, length });
    p += PACK_ENTRY_HEADER_SIZE + length;
  }
}
