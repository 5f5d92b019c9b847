// The objects and the live set shared by the pack store fault tests and their child process:
// object i is a deterministic function of i, so either process can check what the other wrote.
import { toHex } from '../../src/format/bytes.ts';
import { testObject } from '../../src/store/object-store.conformance.ts';
import type { ObjectId } from '../../src/tree/types.ts';

export const TARGET_PACK_SIZE = 4096; // about five objects per pack
export const OBJECTS = 90;

export function planObject(i: number): { id: ObjectId; bytes: Uint8Array } {
  return testObject(i, 700 + (i % 5));
}

/** Objects 0-59 sit in mixed packs (every third dead), 60-74 in dead packs, 75-89 in live ones. */
export function liveIndex(i: number): boolean {
  return i < 60 ? i % 3 !== 0 : i >= 75;
}

const indexById = new Map(Array.from({ length: OBJECTS }, (_, i) => [toHex(planObject(i).id), i]));
export function isLiveInPlan(id: ObjectId): boolean {
  const i = indexById.get(toHex(id));
  return i !== undefined && liveIndex(i);
}
