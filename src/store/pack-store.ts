// PackObjectStore: the ObjectStore of a site on local disk (DESIGN.md §5 "Packs"). Objects are
// buffered into pack files (pack-format.ts) under <dir>/packs/<2 hex>/<pack id>.pack, written
// to <dir>/tmp, fsynced, renamed and made durable before the SQLite index (pack-index.ts) learns
// of them; packs are immutable afterwards. The index is a cache: open() recovers it from the
// packs after a crash and rebuildIndex() recreates it. Garbage collection copies live ciphertext;
// repairPacks() copies the good objects out of damaged packs and keeps those under quarantine/.
import { appendFile, open, readFile, rename, rm } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { acquireLockFile } from './lock-file.ts';
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
import { PackIndex, type PackRow } from './pack-index.ts';

export type { PackFaultHook, PackFinding, PackFindingKind, PackStep } from './pack-files.ts';

/** The writer's lock file in the store directory (pid and host of the holder). */
export const WRITER_LOCK_FILE = 'writer.lock';
/** Damage found when the store was opened, until acknowledged (damageNotes). */
export const DAMAGE_FILE = 'damage.log';
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

/** What repairPacks() did; pack and object ids in hex. */
export interface PackRepair {
  /** Indexed packs whose file was gone: out of the index, with their objects. */
  packsDropped: string[];
  /** Damaged pack files: their good objects copied into new packs, the files moved to quarantine/. */
  packsQuarantined: string[];
  /** Objects copied out of damaged packs. */
  objectsSalvaged: number;
  /** Objects that were indexed and are now absent, sorted: fetch them again from a peer. */
  objectsLost: string[];
  /** Files under packs/ that are not packs; left where they are. */
  strays: string[];
}

interface Staged {
  id: ObjectId;
  bytes: Uint8Array;
}

interface WrittenPack {
  pack: Uint8Array;
  size: number;
  entries: PackEntry[];
}

/** One run of rewritePacks: which packs go, and what of them to keep. */
interface Rewrite {
  /** Names the fault steps and errors. */
  step: 'gc' | 'repair';
  /** Names of the packs there are: a new pack with one of these names is never deleted. */
  existing: ReadonlySet<string>;
  /** Packs that hold nothing after the commit and are deleted (unless a new pack took the name). */
  old: readonly Uint8Array[];
  /** Hands each object to keep to add(), in order; throwing abandons the run before the commit. */
  copy: (add: (o: PackObject) => Promise<void>) => Promise<void>;
  /** Rows to delete in the commit as well; asked for after copy(). */
  dropped?: () => readonly { id: ObjectId; pack: Uint8Array }[];
}

/** A damaged pack file as the repair found it: the indexed entries to copy, the rows to drop. */
interface DamagedPack {
  pack: Uint8Array;
  hex: string;
  salvage: PackEntry[];
  bad: { id: ObjectId; pack: Uint8Array }[];
}

function vanished(hex: string): EmbassyError {
  return new EmbassyError('store.corrupt', `repair: pack ${hex} vanished during the repair`, {
    hint: 'something else is changing the store directory; stop it, reopen the store and repair again',
  });
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

  /** Releases the writer lock file; undefined for a reader. */
  private releaseLock: (() => Promise<void>) | undefined;
  /** A reader (openReader): serves get/has/ids from what writers committed; never writes. */
  readonly readOnly: boolean = false;

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
    // One writer at a time, across processes; readers (openReader) take no lock.
    let release: () => Promise<void>;
    try {
      release = await acquireLockFile(join(dir, WRITER_LOCK_FILE), `pack store: ${dir}`);
    } catch (e) {
      if (e instanceof EmbassyError && e.code === 'log.locked') {
        throw new EmbassyError('store.io', `pack store: ${dir} is in use by another process`, {
          cause: e,
          hint: 'only one process at a time may write an object store; stop the other one',
        });
      }
      throw e;
    }
    const indexPath = join(dir, 'index.sqlite');
    let index: PackIndex;
    try {
      try {
        index = PackIndex.open(indexPath);
      } catch (e) {
        if (!(e instanceof EmbassyError && e.code === 'store.corrupt')) throw e;
        // The index is only a cache: move the broken one aside (for a post-mortem) and rebuild.
        await appendFile(join(dir, DAMAGE_FILE), `${new Date().toISOString()} object index unreadable, rebuilt from the packs\n`);
        const aside = `${indexPath}.corrupt-${Date.now()}`;
        for (const suffix of ['', '-wal', '-shm']) await rename(indexPath + suffix, aside + suffix).catch(() => undefined);
        index = PackIndex.open(indexPath);
        recovery.indexRebuilt = true;
      }
    } catch (e) {
      await release();
      throw e;
    }
    const store = new PackObjectStore(files, index, options, recovery);
    store.releaseLock = release;
    try {
      await store.recover();
    } catch (e) {
      index.close();
      await release();
      throw e;
    }
    return store;
  }

  /**
   * Opens the store for reading only, beside its writer in another process (a home's node
   * serves objects while `embassy ingest` writes): no lock, no recovery, every write refused.
   * Packs are immutable and the index is read through SQLite's WAL, so a reader sees each
   * writer commit whole; a pack deleted by GC between lookup and read is looked up again.
   */
  static async openReader(dir: string): Promise<PackObjectStore> {
    const index = PackIndex.open(join(dir, 'index.sqlite'), { readonly: true });
    const recovery: PackRecovery = { tempFilesRemoved: 0, indexRebuilt: false, packsIndexed: [], deletionsFinished: [], missingPacks: [], damagedPacks: [] };
    const store = new PackObjectStore(new PackFiles(dir), index, undefined, recovery);
    (store as { readOnly: boolean }).readOnly = true;
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
      const missing: PackRow[] = [];
      for (const p of this.index.packs()) {
        const hex = toHex(p.id);
        indexed.add(hex);
        if (p.state === 'deleting') {
          // A sweep committed and was killed before it finished deleting: finish it.
          if (await this.finishDeletion(p)) {
            onDisk.delete(hex);
            r.deletionsFinished.push(hex);
          }
        } else if (!onDisk.has(hex)) {
          missing.push(p);
        }
      }
      // A pack is durable before it is indexed, so an indexed pack without its file was removed
      // from outside. The note is durable before the index forgets it (see damageNotes()).
      if (missing.length > 0) await this.noteDamage(missing.map((p) => `pack ${toHex(p.id)} missing (${p.count} objects)`));
      for (const p of missing) {
        this.index.dropPack(p.id);
        r.missingPacks.push(toHex(p.id));
      }
      for (const hex of onDisk) {
        if (indexed.has(hex)) continue;
        const c = await this.files.check(hex);
        if (c === undefined) continue;
        if (c.problems.length > 0) {
          const problem = c.problems.map((p) => p.detail).join('; ');
          await this.noteDamage([`pack ${hex} damaged: ${problem}`]);
          r.damagedPacks.push({ pack: hex, problem });
        }
        this.index.addPack(Buffer.from(hex, 'hex'), c.size, c.good, c.count);
        r.packsIndexed.push(hex);
      }
    } catch (e) {
      throw io('cannot recover', e);
    }
  }

  /**
   * Damage that opening the store found (packs gone or damaged, the index rebuilt), kept in
   * <dir>/damage.log until a caller that can repair it (a mirror re-fetching from peers) has
   * taken note: opening repairs the index silently, and whoever opens the store next must still
   * learn that objects may be gone from under stored parents.
   */
  async damageNotes(): Promise<string[]> {
    const text = await readFile(join(this.dir, DAMAGE_FILE), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw io('cannot read damage notes', e);
    });
    return text.split('\n').filter((l) => l.trim() !== '');
  }

  async clearDamageNotes(): Promise<void> {
    await rm(join(this.dir, DAMAGE_FILE), { force: true });
  }

  private async noteDamage(lines: string[]): Promise<void> {
    const at = new Date().toISOString();
    const path = join(this.dir, DAMAGE_FILE);
    const fh = await open(path, 'a', 0o644);
    try {
      await fh.writeFile(lines.map((l) => `${at} ${l}\n`).join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Deletes the file, then the row, of a pack a committed sweep marked 'deleting'. One that rows
   * still point into (which cannot happen) is made live again instead: false.
   */
  private async finishDeletion(p: PackRow): Promise<boolean> {
    if (this.index.objectsOfPack(p.id).length > 0) {
      this.index.markLive(p.id, p.size, p.count);
      return false;
    }
    const hex = toHex(p.id);
    await this.files.delete(hex);
    await this.files.syncDeletes([hex]);
    this.index.removePack(p.id);
    return true;
  }

  // ---- ObjectStore -------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new EmbassyError('store.io', 'pack store: closed');
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new EmbassyError('store.io', 'pack store: opened for reading only');
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

  /**
   * Many objects at once, for serving peers: index lookups, then one read per run of nearby
   * objects in a pack (sorted by offset, gaps up to 64 KiB read through), each object checked
   * against its id. The result is aligned with `ids`: undefined for an object not held, and
   * also for one whose stored bytes are damaged (reported through `onDamaged`), so that one bad
   * object never fails a whole batch.
   */
  async getMany(ids: readonly ObjectId[], onDamaged?: (id: ObjectId, e: unknown) => void): Promise<(Uint8Array | undefined)[]> {
    this.checkOpen();
    const out: (Uint8Array | undefined)[] = new Array(ids.length).fill(undefined);
    const byPack = new Map<string, { i: number; offset: number; length: number }[]>();
    ids.forEach((id, i) => {
      const staged = this.staged.get(toHex(id));
      if (staged !== undefined) {
        out[i] = staged.bytes.slice();
        return;
      }
      const loc = this.index.lookup(id);
      if (loc === undefined) return;
      const hex = toHex(loc.pack);
      const list = byPack.get(hex) ?? [];
      list.push({ i, offset: loc.offset, length: loc.length });
      byPack.set(hex, list);
    });
    const GAP = 64 * 1024;
    const MAX_RUN = 8 * 1024 * 1024;
    const retry: number[] = [];
    for (const [hex, list] of byPack) {
      list.sort((a, b) => a.offset - b.offset);
      for (let start = 0; start < list.length; ) {
        let end = start + 1;
        let runEnd = list[start]!.offset + list[start]!.length;
        while (end < list.length && list[end]!.offset <= runEnd + GAP && list[end]!.offset + list[end]!.length - list[start]!.offset <= MAX_RUN) {
          runEnd = Math.max(runEnd, list[end]!.offset + list[end]!.length);
          end++;
        }
        const base = list[start]!.offset;
        let run: Uint8Array | undefined;
        try {
          run = await this.files.readRange(hex, base, runEnd - base);
        } catch (e) {
          // A truncated pack: read the objects one by one below, so the intact ones are served.
          for (let k = start; k < end; k++) retry.push(list[k]!.i);
          start = end;
          continue;
        }
        for (let k = start; k < end; k++) {
          const o = list[k]!;
          if (run === undefined) {
            retry.push(o.i); // pack gone (a sweep moved it): look up again
            continue;
          }
          const bytes = run.slice(o.offset - base, o.offset - base + o.length);
          if (bytesEqual(sha256(bytes), ids[o.i]!)) out[o.i] = bytes;
          else onDamaged?.(ids[o.i]!, new EmbassyError('object.id-mismatch', `pack store: object ${toHex(ids[o.i]!)} in pack ${hex} does not hash to its id`));
        }
        start = end;
      }
    }
    for (const i of retry) {
      try {
        out[i] = await this.get(ids[i]!);
      } catch (e) {
        onDamaged?.(ids[i]!, e);
        out[i] = undefined;
      }
    }
    return out;
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
      await this.releaseLock?.();
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

    const { written, deleted, removed } = await this.rewritePacks({
      step: 'gc',
      existing: planned,
      old: [...dead, ...mixed].map((p) => p.pack),
      copy: async (add) => {
        for (const m of mixed) {
          const hex = toHex(m.pack);
          const file = await this.files.read(hex);
          if (file === undefined) throw new EmbassyError('store.corrupt', `gc: pack ${hex} is missing; nothing was removed`);
          for (const e of m.live) {
            const bytes = file.subarray(e.offset, e.offset + e.length);
            if (bytes.length !== e.length || !bytesEqual(sha256(bytes), e.id)) {
              throw new EmbassyError('store.corrupt', `gc: live object ${toHex(e.id)} in pack ${hex} is damaged; nothing was removed`, {
                hint: 'run repairPacks (or verifyPacks) and fetch the object again from a peer before collecting',
              });
            }
            await add({ id: e.id, bytes });
          }
        }
      },
    });

    const gone = new Set(deleted.map(toHex));
    const oldBytes = [...dead, ...mixed].filter((p) => gone.has(toHex(p.pack))).reduce((n, p) => n + p.size, 0);
    const newBytes = written.filter((w) => !planned.has(toHex(w.pack))).reduce((n, w) => n + w.size, 0);
    return {
      packsKept: kept.length,
      packsRewritten: mixed.length,
      packsDeleted: dead.filter((p) => gone.has(toHex(p.pack))).length,
      packsWritten: written.length,
      objectsRemoved: removed,
      bytesFreed: oldBytes - newBytes,
    };
  }

  /**
   * The steps a sweep and a repair share, crash-safe at each: the objects copy() hands over go
   * into new packs, durable before anything else changes → one index commit moves their rows
   * there, deletes every other row of the old packs and marks those 'deleting' → old files
   * deleted → their rows removed. A crash before the commit leaves duplicates (indexed by open(),
   * removed by the next sweep); after it, open() finishes the deletions.
   */
  private async rewritePacks(r: Rewrite): Promise<{ written: WrittenPack[]; deleted: Uint8Array[]; removed: number }> {
    const written: WrittenPack[] = [];
    let group: PackObject[] = [];
    let size = PACK_HEADER_SIZE + PACK_TRAILER_SIZE;
    const writeGroup = async (): Promise<void> => {
      const { bytes, entries } = encodePack(group);
      written.push({ pack: await this.files.write(bytes), size: bytes.length, entries });
      group = [];
      size = PACK_HEADER_SIZE + PACK_TRAILER_SIZE;
    };
    try {
      await r.copy(async (o) => {
        group.push(o);
        size += PACK_ENTRY_HEADER_SIZE + o.bytes.length;
        if (size >= this.targetPackSize) await writeGroup();
      });
      if (group.length > 0) await writeGroup();
    } catch (e) {
      // Nothing refers to the packs written so far (a later open would index them as duplicates),
      // except one that has the name of an existing pack: leave that one.
      for (const w of written) {
        if (!r.existing.has(toHex(w.pack))) await this.files.delete(toHex(w.pack)).catch(() => undefined);
      }
      throw io(`${r.step}: cannot copy objects into new packs`, e);
    }
    await this.fault?.(`${r.step}:packs-durable`, `${written.length}`);

    // A new pack can have the name of an old one (a sweep killed after writing it, then run again
    // with the same live set, writes the very same bytes; a repair can write a damaged pack's
    // original bytes again): that one now holds good bytes and must not be deleted.
    const fresh = new Set(written.map((w) => toHex(w.pack)));
    const old = r.old.filter((p) => !fresh.has(toHex(p)));
    const removed = this.index.commitSweep(written, old, r.dropped?.() ?? []);
    await this.fault?.(`${r.step}:index-committed`, `${old.length}`);
    // From here on the old packs are only garbage: a crash leaves them 'deleting', and open()
    // finishes the job.
    for (const p of old) {
      await this.files.delete(toHex(p));
      await this.fault?.(`${r.step}:pack-deleted`, toHex(p));
    }
    await this.files.syncDeletes(old.map((p) => toHex(p)));
    for (const p of old) this.index.removePack(p);
    await this.fault?.(`${r.step}:done`, '');
    return { written, deleted: old, removed };
  }

  // ---- repair ------------------------------------------------------------------------------

  /**
   * Brings the packs and the index back to agreement after damage on disk, keeping every object
   * that still has good bytes; what it cannot keep it reports, for the mirror to fetch again.
   * Indexed packs whose file is gone are dropped; pack files the index does not know are indexed;
   * rows that miss their entry in an intact pack are repointed to it or dropped; damaged pack
   * files (not hashing to their name, incomplete, or with an entry not hashing to its id) are
   * linked under quarantine/, their good indexed objects copied into new packs, and then they are
   * swept like gc's old packs (rewritePacks). Crash-safe at every step: a good object always has
   * an indexed, durable copy. Stray files are reported and left alone.
   */
  async repairPacks(): Promise<PackRepair> {
    // Puts while it runs are staged even if indexed: their indexed copy may be a damaged one.
    this.sweeps++;
    try {
      return await this.exclusive(async () => {
        await this.writeStaged(true);
        return await this.repair();
      });
    } finally {
      if (--this.sweeps === 0) this.sweepPuts.clear();
    }
  }

  private async repair(): Promise<PackRepair> {
    const result: PackRepair = { packsDropped: [], packsQuarantined: [], objectsSalvaged: 0, objectsLost: [], strays: [] };
    const lost: ObjectId[] = [];
    const { packs: onDisk, strays } = await this.files.list().catch((e) => {
      throw io('repair: cannot list the pack files', e);
    });
    result.strays = strays;
    const existing = new Set(onDisk);

    // Indexed packs whose file is gone: their objects are gone too (as open() does).
    const indexed = new Set<string>();
    for (const p of this.index.packs()) {
      const hex = toHex(p.id);
      existing.add(hex);
      if (p.state === 'deleting' && (await this.finishDeletion(p))) {
        onDisk.delete(hex);
      } else if (onDisk.has(hex)) {
        indexed.add(hex);
      } else {
        lost.push(...this.index.objectsOfPack(p.id).map((e) => e.id));
        this.index.dropPack(p.id);
        result.packsDropped.push(hex);
      }
    }
    await this.fault?.('repair:missing-dropped', `${result.packsDropped.length}`);

    // Every pack file, read and hashed in full.
    const damaged: DamagedPack[] = [];
    for (const hex of onDisk) {
      const pack = new Uint8Array(Buffer.from(hex, 'hex'));
      const check = await this.files.check(hex);
      if (check === undefined) throw vanished(hex);
      if (!indexed.has(hex)) {
        // As open() does: its good entries become visible, unless indexed elsewhere already.
        this.index.addPack(pack, check.size, check.good, check.count);
        await this.fault?.('repair:pack-indexed', hex);
      }
      // By id, not by place: a row whose offset is off still names an object the pack holds.
      const valid = new Map<string, PackEntry>();
      for (const e of check.good) if (!valid.has(toHex(e.id))) valid.set(toHex(e.id), e);
      const rows = this.index.objectsOfPack(pack);
      if (check.problems.length === 0) {
        const moved = rows.flatMap((r) => {
          const e = valid.get(toHex(r.id));
          return e !== undefined && (e.offset !== r.offset || e.length !== r.length) ? [e] : [];
        });
        const dropped = rows.filter((r) => !valid.has(toHex(r.id))).map((r) => r.id);
        if (moved.length + dropped.length > 0) {
          this.index.fixRows(pack, moved, dropped);
          lost.push(...dropped);
          await this.fault?.('repair:rows-fixed', hex);
        }
      } else {
        const salvage = rows.flatMap((r) => valid.get(toHex(r.id)) ?? []).sort((a, b) => a.offset - b.offset);
        const bad = rows.filter((r) => !valid.has(toHex(r.id))).map((r) => ({ id: r.id, pack }));
        damaged.push({ pack, hex, salvage, bad });
      }
    }

    if (damaged.length > 0) {
      // Linked before anything is written: a new pack may take a damaged file's name.
      for (const d of damaged) {
        if ((await this.files.quarantine(d.hex)) === undefined) throw vanished(d.hex);
      }
      await this.fault?.('repair:quarantined', `${damaged.length}`);
      const dropped = damaged.flatMap((d) => d.bad);
      await this.rewritePacks({
        step: 'repair',
        existing,
        old: damaged.map((d) => d.pack),
        copy: async (add) => {
          for (const d of damaged) {
            const file = await this.files.read(d.hex);
            if (file === undefined) throw vanished(d.hex);
            for (const e of d.salvage) {
              // The host may have changed the file since the scan: copy only bytes that still match.
              const bytes = file.subarray(e.offset, e.offset + e.length);
              if (bytes.length === e.length && bytesEqual(sha256(bytes), e.id)) {
                await add({ id: e.id, bytes });
                result.objectsSalvaged++;
              } else {
                dropped.push({ id: e.id, pack: d.pack });
              }
            }
          }
        },
        dropped: () => dropped,
      });
      lost.push(...dropped.map((d) => d.id));
      result.packsQuarantined = damaged.map((d) => d.hex);
    }

    // A dropped object may have come back through a pack indexed above.
    const stillThere = this.index.has(lost);
    result.objectsLost = [...new Set(lost.filter((_, i) => !stillThere[i]).map(toHex))].sort();
    return result;
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
   * against the pack it points into. Collects all findings; an empty list means all is well
   * (repairPacks() acts on them). `onObject` sees every object that hashes to its id (a one-pass
   * blind verification builds its object graph from it).
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
