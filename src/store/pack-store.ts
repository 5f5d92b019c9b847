// PackObjectStore: the ObjectStore of a site on local disk (DESIGN.md §5 "Packs"). Objects are
// buffered into pack files (pack-format.ts) under <dir>/packs/<2 hex>/<pack id>.pack, written
// to <dir>/tmp, fsynced, renamed and made durable before the SQLite index (pack-index.ts) learns
// of them; packs are immutable afterwards. The index is a cache: open() recovers it from the
// packs after a crash and rebuildIndex() recreates it. Garbage collection copies live ciphertext.
import { rename } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { bytesEqual, toHex } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import type { ObjectStore } from './object-store.ts';
import {
  encodePack,
  MAX_PACK_OBJECT_SIZE,
  PACK_ENTRY_HEADER_SIZE,
  PACK_HEADER_SIZE,
  PACK_TRAILER_SIZE,
  type PackEntry,
  type PackObject,
} from './pack-format.ts';
import { io, type PackFaultHook, type PackFinding, PackFiles } from './pack-files.ts';
import { PackIndex } from './pack-index.ts';

export type { PackFaultHook, PackFinding, PackFindingKind, PackStep } from './pack-files.ts';

export const DEFAULT_TARGET_PACK_SIZE = 32 * 1024 * 1024;
const IDS_PAGE = 1000;

export interface PackStoreOptions {
  /** Staged bytes at which a pack is written; default 32 MiB. */
  targetPackSize?: number;
  fault?: PackFaultHook;
}

/** What open() found and repaired. */
export interface PackRecovery {
  tempFilesRemoved: number;
  /** The index file did not open as a database; it was moved aside and rebuilt. */
  indexRebuilt: boolean;
  /** Pack files that were not in the index (a crash after rename), now indexed. */
  packsIndexed: string[];
  /** Sweeps interrupted after their commit: old pack files now deleted. */
  deletionsFinished: string[];
  /** Indexed packs whose file is gone: their objects are no longer in the index. */
  missingPacks: string[];
  /** Pack files that are truncated, malformed or changed; their hash-valid objects are indexed. */
  damagedPacks: { pack: string; problem: string }[];
}

export interface GcResult {
  packsKept: number;
  packsRewritten: number;
  packsDeleted: number;
  packsWritten: number;
  objectsRemoved: number;
  bytesFreed: number;
}

interface Staged {
  id: ObjectId;
  bytes: Uint8Array;
}

export class PackObjectStore implements ObjectStore {
  readonly dir: string;
  readonly recovery: PackRecovery;
  private readonly index: PackIndex;
  private readonly files: PackFiles;
  private readonly targetPackSize: number;
  private readonly fault: PackFaultHook | undefined;
  private readonly staged = new Map<string, Staged>();
  private stagedBytes = 0;
  private queue: Promise<void> = Promise.resolve();
  private sweeps = 0;
  /** Ids put while a sweep is pending or running: live, whatever the sweep's isLive says. */
  private readonly sweepPuts = new Set<string>();
  private failed: unknown = undefined;
  private closed = false;

  private constructor(files: PackFiles, index: PackIndex, options: PackStoreOptions | undefined, recovery: PackRecovery) {
    this.dir = files.dir;
    this.files = files;
    this.index = index;
    this.targetPackSize = options?.targetPackSize ?? DEFAULT_TARGET_PACK_SIZE;
    this.fault = options?.fault;
    this.recovery = recovery;
  }

  /** Opens (creating if needed) the store in `dir`, taking its lock, and recovers from a crash. */
  static async open(dir: string, options?: PackStoreOptions): Promise<PackObjectStore> {
    const target = options?.targetPackSize ?? DEFAULT_TARGET_PACK_SIZE;
    if (!Number.isSafeInteger(target) || target < 1) {
      throw new EmbassyError('input.malformed', `pack store: expected a positive target pack size, got ${target}`);
    }
    const recovery: PackRecovery = {
      tempFilesRemoved: 0,
      indexRebuilt: false,
      packsIndexed: [],
      deletionsFinished: [],
      missingPacks: [],
      damagedPacks: [],
    };
    const files = new PackFiles(dir, options?.fault);
    try {
      await files.init();
    } catch (e) {
      throw io(`cannot create ${dir}`, e);
    }
    const indexPath = join(dir, 'index.sqlite');
    let index: PackIndex;
    try {
      index = PackIndex.open(indexPath);
    } catch (e) {
      if (!(e instanceof EmbassyError && e.code === 'store.corrupt')) throw e;
      // The index is only a cache: move the broken one aside (for a post-mortem) and rebuild.
      const aside = `${indexPath}.corrupt-${Date.now()}`;
      for (const suffix of ['', '-wal', '-shm']) await rename(indexPath + suffix, aside + suffix).catch(() => undefined);
      index = PackIndex.open(indexPath);
      recovery.indexRebuilt = true;
    }
    const store = new PackObjectStore(files, index, options, recovery);
    try {
      await store.recover();
    } catch (e) {
      index.close();
      throw e;
    }
    return store;
  }

  /** Indexes the hash-valid objects of a pack file; returns its problems. */
  private async indexPackFile(hex: string): Promise<PackFinding[]> {
    const r = await this.files.check(hex);
    if (r === undefined) return [{ kind: 'pack-missing', pack: hex, detail: 'pack file vanished while indexing' }];
    this.index.addPack(Buffer.from(hex, 'hex'), r.size, r.good, r.count);
    return r.problems;
  }

  // ---- recovery --------------------------------------------------------------------------

  private async recover(): Promise<void> {
    const r = this.recovery;
    try {
      r.tempFilesRemoved = await this.files.clearTemp();
      const { packs: onDisk } = await this.files.list();
      const indexed = new Set<string>();
      for (const p of this.index.packs()) {
        const hex = toHex(p.id);
        indexed.add(hex);
        if (p.state === 'deleting') {
          // A sweep committed and was killed before it finished deleting: finish it.
          if (this.index.objectsOfPack(p.id).length > 0) {
            this.index.markLive(p.id, p.size, p.count); // cannot happen; never delete a referenced pack
            continue;
          }
          await this.files.delete(hex);
          await this.files.syncDeletes([hex]);
          this.index.removePack(p.id);
          onDisk.delete(hex);
          r.deletionsFinished.push(hex);
        } else if (!onDisk.has(hex)) {
          this.index.dropPack(p.id);
          r.missingPacks.push(hex);
        }
      }
      for (const hex of onDisk) {
        if (indexed.has(hex)) continue;
        const problems = await this.indexPackFile(hex);
        r.packsIndexed.push(hex);
        if (problems.length > 0) r.damagedPacks.push({ pack: hex, problem: problems.map((p) => p.detail).join('; ') });
      }
    } catch (e) {
      throw io('cannot recover', e);
    }
  }

  // ---- ObjectStore -------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new EmbassyError('store.io', 'pack store: closed');
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.failed !== undefined) {
      throw new EmbassyError('store.io', 'pack store: an earlier write failed', {
        cause: this.failed,
        hint: 'close and reopen the store; reopening recovers whatever was written',
      });
    }
  }

  /** Runs fn after every earlier writer; a failure poisons the store until it is reopened. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.checkWritable();
      try {
        return await fn();
      } catch (e) {
        this.failed ??= e;
        throw e;
      }
    });
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async has(ids: readonly ObjectId[]): Promise<boolean[]> {
    this.checkOpen();
    const stored = this.index.has(ids);
    return ids.map((id, i) => stored[i]! || this.staged.has(toHex(id)));
  }

  async get(id: ObjectId): Promise<Uint8Array | undefined> {
    this.checkOpen();
    const staged = this.staged.get(toHex(id));
    if (staged !== undefined) return staged.bytes.slice();
    // Twice: a sweep may move the object and delete its old pack between lookup and read.
    for (let attempt = 0; attempt < 2; attempt++) {
      const loc = this.index.lookup(id);
      if (loc === undefined) return undefined;
      const hex = toHex(loc.pack);
      const bytes = await this.files.readRange(hex, loc.offset, loc.length);
      if (bytes === undefined) {
        if (attempt === 0) continue;
        throw new EmbassyError('store.corrupt', `pack store: pack ${hex} of object ${toHex(id)} is missing`, {
          hint: 'run verifyPacks; fetch the object again from a peer',
        });
      }
      if (!bytesEqual(sha256(bytes), id)) {
        throw new EmbassyError('object.id-mismatch', `pack store: object ${toHex(id)} in pack ${hex} does not hash to its id`, {
          hint: 'the pack file was changed on disk; run verifyPacks and fetch the object again from a peer',
        });
      }
      return bytes;
    }
    return undefined;
  }

  async put(id: ObjectId, bytes: Uint8Array): Promise<void> {
    this.checkWritable();
    if (bytes.length > MAX_PACK_OBJECT_SIZE) {
      throw new EmbassyError('input.too-large', `pack store: object of ${bytes.length} bytes, limit is ${MAX_PACK_OBJECT_SIZE}`);
    }
    if (id.length !== 32 || !bytesEqual(sha256(bytes), id)) {
      throw new EmbassyError('object.id-mismatch', `pack store: put of ${toHex(id)}: bytes do not hash to the id`);
    }
    const hex = toHex(id);
    if (this.sweeps > 0) {
      // The caller's isLive may predate this put and call the object dead: keep it live, and
      // stage it even if indexed, since its indexed copy may be about to go. At worst that
      // leaves a duplicate for the next sweep.
      this.sweepPuts.add(hex);
    } else if (this.index.lookup(id) !== undefined) {
      return;
    }
    if (this.staged.has(hex)) return;
    this.staged.set(hex, { id: id.slice(), bytes: bytes.slice() });
    this.stagedBytes += PACK_ENTRY_HEADER_SIZE + bytes.length;
    if (this.stagedBytes + PACK_HEADER_SIZE + PACK_TRAILER_SIZE >= this.targetPackSize) {
      await this.exclusive(() => this.writeStaged(false));
    }
  }

  async flush(): Promise<void> {
    await this.exclusive(() => this.writeStaged(true));
  }

  async *ids(): AsyncIterable<ObjectId> {
    this.checkOpen();
    let after: Uint8Array = new Uint8Array(0);
    for (;;) {
      const page = this.index.idsAfter(after, IDS_PAGE);
      yield* page;
      if (page.length < IDS_PAGE) return;
      after = page[page.length - 1]!;
    }
  }

  /** Flushes staged objects (unless an earlier write failed), then releases the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failed === undefined && this.staged.size > 0) await this.flush();
      else await this.queue;
    } finally {
      this.closed = true;
      this.index.close();
      await this.files.close();
    }
  }

  /**
   * Writes staged objects into packs of about targetPackSize, in put order: all of them, or only
   * full packs. Each pack is durable before the index commit that makes its objects visible.
   */
  private async writeStaged(all: boolean): Promise<void> {
    let group: Staged[] = [];
    let size = PACK_HEADER_SIZE + PACK_TRAILER_SIZE;
    for (const o of [...this.staged.values()]) {
      group.push(o);
      size += PACK_ENTRY_HEADER_SIZE + o.bytes.length;
      if (size >= this.targetPackSize) {
        await this.writeGroup(group);
        group = [];
        size = PACK_HEADER_SIZE + PACK_TRAILER_SIZE;
      }
    }
    if (all && group.length > 0) await this.writeGroup(group);
  }

  private async writeGroup(group: Staged[]): Promise<void> {
    const { bytes, entries } = encodePack(group);
    const pack = await this.files.write(bytes).catch((e) => {
      throw io('cannot write pack', e);
    });
    this.index.addPack(pack, bytes.length, entries);
    await this.fault?.('index:committed', toHex(pack));
    for (const o of group) {
      this.staged.delete(toHex(o.id));
      this.stagedBytes -= PACK_ENTRY_HEADER_SIZE + o.bytes.length;
    }
  }

  // ---- garbage collection ------------------------------------------------------------------

  /**
   * Removes every object for which isLive returns false. isLive must answer true for every
   * object that any version — retained or being written — refers to: run it while no seal or
   * sync is writing (the CLI holds the site lock). Crash-safe at every step: new packs durable →
   * one index commit → old files deleted → their rows removed; open() finishes an interrupted
   * sweep, and no live object is ever without a durable, indexed copy.
   */
  async collectGarbage(isLive: (id: ObjectId) => boolean): Promise<GcResult> {
    this.sweeps++;
    try {
      return await this.exclusive(async () => {
        await this.writeStaged(true);
        return await this.sweep(isLive);
      });
    } finally {
      if (--this.sweeps === 0) this.sweepPuts.clear();
    }
  }

  private async sweep(isLive: (id: ObjectId) => boolean): Promise<GcResult> {
    const puts = this.sweepPuts;
    const plan = this.index.planSweep(puts.size === 0 ? isLive : (id) => puts.has(toHex(id)) || isLive(id));
    const kept = plan.filter((p) => p.deadObjects === 0 && p.liveObjects > 0);
    const dead = plan.filter((p) => p.liveObjects === 0);
    const mixed = plan.filter((p) => p.liveObjects > 0 && p.deadObjects > 0);
    const planned = new Set(plan.map((p) => toHex(p.pack)));

    const written: { pack: Uint8Array; size: number; entries: PackEntry[] }[] = [];
    let group: PackObject[] = [];
    let size = PACK_HEADER_SIZE + PACK_TRAILER_SIZE;
    const writeGroup = async (): Promise<void> => {
      const { bytes, entries } = encodePack(group);
      written.push({ pack: await this.files.write(bytes), size: bytes.length, entries });
      group = [];
      size = PACK_HEADER_SIZE + PACK_TRAILER_SIZE;
    };
    try {
      for (const m of mixed) {
        const hex = toHex(m.pack);
        const file = await this.files.read(hex);
        if (file === undefined) throw new EmbassyError('store.corrupt', `gc: pack ${hex} is missing; nothing was removed`);
        for (const e of m.live) {
          const bytes = file.subarray(e.offset, e.offset + e.length);
          if (bytes.length !== e.length || !bytesEqual(sha256(bytes), e.id)) {
            throw new EmbassyError('store.corrupt', `gc: live object ${toHex(e.id)} in pack ${hex} is damaged; nothing was removed`, {
              hint: 'run verifyPacks and fetch the object again from a peer before collecting',
            });
          }
          group.push({ id: e.id, bytes });
          size += PACK_ENTRY_HEADER_SIZE + e.length;
          if (size >= this.targetPackSize) await writeGroup();
        }
      }
      if (group.length > 0) await writeGroup();
    } catch (e) {
      // Nothing refers to the packs written so far (a later open would index them as duplicates),
      // except one that has the name of a pack already indexed: leave that one.
      for (const w of written) {
        if (!planned.has(toHex(w.pack))) await this.files.delete(toHex(w.pack)).catch(() => undefined);
      }
      throw io('gc: cannot copy live objects', e);
    }
    await this.fault?.('gc:packs-durable', `${written.length}`);

    // A new pack can have the name of an old one (a sweep killed after writing it, then run
    // again with the same live set writes the very same bytes): that one must not be deleted.
    const fresh = new Set(written.map((w) => toHex(w.pack)));
    const old = [...dead, ...mixed].filter((p) => !fresh.has(toHex(p.pack)));
    const objectsRemoved = this.index.commitSweep(written, old.map((p) => p.pack));
    await this.fault?.('gc:index-committed', `${old.length}`);
    // From here on the old packs are only garbage: a crash leaves them 'deleting', and open()
    // finishes the job.
    for (const p of old) {
      await this.files.delete(toHex(p.pack));
      await this.fault?.('gc:pack-deleted', toHex(p.pack));
    }
    await this.files.syncDeletes(old.map((p) => toHex(p.pack)));
    for (const p of old) this.index.removePack(p.pack);
    await this.fault?.('gc:done', '');

    const oldBytes = old.reduce((n, p) => n + p.size, 0);
    const newBytes = written.filter((w) => !planned.has(toHex(w.pack))).reduce((n, w) => n + w.size, 0);
    return {
      packsKept: kept.length,
      packsRewritten: mixed.length,
      packsDeleted: dead.filter((p) => !fresh.has(toHex(p.pack))).length,
      packsWritten: written.length,
      objectsRemoved,
      bytesFreed: oldBytes - newBytes,
    };
  }

  // ---- maintenance -------------------------------------------------------------------------

  /** Recreates the index from the pack files alone, checking every object's hash. */
  async rebuildIndex(): Promise<{ packs: number; objects: number; damagedPacks: { pack: string; problem: string }[] }> {
    return this.exclusive(async () => {
      const { packs } = await this.files.list();
      this.index.clear();
      const damagedPacks: { pack: string; problem: string }[] = [];
      for (const hex of packs) {
        const problems = await this.indexPackFile(hex);
        if (problems.length > 0) damagedPacks.push({ pack: hex, problem: problems.map((p) => p.detail).join('; ') });
      }
      const s = this.index.stats();
      return { packs: s.packs, objects: s.objects, damagedPacks };
    });
  }

  /**
   * Full scan: every pack file is read and hashed, every entry checked, every index row matched
   * against the pack it points into. Collects all findings; an empty list means all is well.
   */
  /**
   * Reads and checks every pack file byte for byte. `onObject` sees every object that hashes to
   * its id (a one-pass blind verification builds its object graph from it).
   */
  async verifyPacks(options: { onObject?: (id: ObjectId, bytes: Uint8Array) => void } = {}): Promise<{ packs: number; objects: number; bytes: number; findings: PackFinding[] }> {
    this.checkOpen();
    const run = this.queue.then(async () => {
      const findings: PackFinding[] = [];
      let objects = 0;
      let bytes = 0;
      const { packs: onDisk, strays } = await this.files.list();
      for (const s of strays) findings.push({ kind: 'stray-file', pack: s, detail: 'not a pack file name' });
      const indexed = new Map(this.index.packs().map((p) => [toHex(p.id), p]));
      for (const hex of indexed.keys()) {
        if (!onDisk.has(hex)) findings.push({ kind: 'pack-missing', pack: hex, detail: 'indexed pack file is missing' });
      }
      for (const hex of onDisk) {
        const r = await this.files.check(hex, options.onObject);
        if (r === undefined) continue;
        objects += r.count;
        bytes += r.size;
        findings.push(...r.problems);
        const row = indexed.get(hex);
        if (row === undefined) {
          findings.push({ kind: 'pack-unindexed', pack: hex, detail: 'pack file not in the index' });
          continue;
        }
        const good = new Map(r.good.map((e) => [`${e.offset}:${e.length}:${toHex(e.id)}`, e]));
        for (const e of this.index.objectsOfPack(row.id)) {
          if (!good.has(`${e.offset}:${e.length}:${toHex(e.id)}`)) {
            findings.push({ kind: 'index-mismatch', pack: hex, object: toHex(e.id), detail: 'index row does not match a valid entry of the pack' });
          }
        }
      }
      return { packs: onDisk.size, objects, bytes, findings };
    });
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  stats(): { packs: number; objects: number; bytes: number; stagedObjects: number; stagedBytes: number } {
    this.checkOpen();
    return { ...this.index.stats(), stagedObjects: this.staged.size, stagedBytes: this.stagedBytes };
  }
}
