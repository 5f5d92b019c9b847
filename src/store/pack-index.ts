// The pack store's local index in SQLite (better-sqlite3): object id → (pack, offset, length),
// and the packs with their size, entry count and state. It is a cache of the pack files: every
// row can be recomputed by scanning them. WAL with synchronous=FULL, so a commit that returned is
// durable; locking_mode=EXCLUSIVE, so one process at a time owns the store (the OS drops the lock
// when that process dies, so there is no stale lock after a crash).
import { Buffer } from 'node:buffer';
import Database from 'better-sqlite3';
import { EmbassyError } from '../errors.ts';
import type { ObjectId } from '../tree/types.ts';
import type { PackEntry } from './pack-format.ts';

export const PACK_INDEX_SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS packs (
  id BLOB PRIMARY KEY CHECK (length(id) = 32),
  size INTEGER NOT NULL,
  count INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('live', 'deleting'))
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
  id BLOB PRIMARY KEY CHECK (length(id) = 32),
  pack BLOB NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_by_pack ON objects (pack);
`;

export type PackState = 'live' | 'deleting';

export interface PackRow {
  id: Uint8Array;
  size: number;
  count: number;
  state: PackState;
}

export interface ObjectLocation {
  pack: Uint8Array;
  offset: number;
  length: number;
}

/** One pack as a sweep sees it: how many of its objects are live (by the caller's isLive). */
export interface PackSweep {
  pack: Uint8Array;
  size: number;
  liveObjects: number;
  deadObjects: number;
  /** The live entries, in pack order; filled only for mixed packs (the ones to rewrite). */
  live: PackEntry[];
}

const HAS_BATCH = 500;
const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class PackIndex {
  private readonly db: Database.Database;
  private readonly stmt;

  private constructor(db: Database.Database) {
    this.db = db;
    this.stmt = {
      lookup: db.prepare<[Uint8Array], { pack: Buffer; offset: number; length: number }>(
        'SELECT pack, offset, length FROM objects WHERE id = ?',
      ),
      insertObject: db.prepare<[Uint8Array, Uint8Array, number, number]>(
        'INSERT OR IGNORE INTO objects (id, pack, offset, length) VALUES (?, ?, ?, ?)',
      ),
      moveObject: db.prepare<[Uint8Array, number, number, Uint8Array]>(
        'UPDATE objects SET pack = ?, offset = ?, length = ? WHERE id = ?',
      ),
      insertPack: db.prepare<[Uint8Array, number, number]>(
        // A row describes the file of that name now: a repair may have renamed good bytes over a
        // damaged file of the same name.
        "INSERT INTO packs (id, size, count, state) VALUES (?, ?, ?, 'live') ON CONFLICT (id) DO UPDATE SET state = 'live', size = excluded.size, count = excluded.count",
      ),
      markDeleting: db.prepare<[Uint8Array]>("UPDATE packs SET state = 'deleting' WHERE id = ?"),
      deleteObjectsOfPack: db.prepare<[Uint8Array]>('DELETE FROM objects WHERE pack = ?'),
      deleteObjectInPack: db.prepare<[Uint8Array, Uint8Array]>('DELETE FROM objects WHERE id = ? AND pack = ?'),
      moveObjectInPack: db.prepare<[number, number, Uint8Array, Uint8Array]>(
        'UPDATE objects SET offset = ?, length = ? WHERE id = ? AND pack = ?',
      ),
      deletePack: db.prepare<[Uint8Array]>('DELETE FROM packs WHERE id = ?'),
      countOfPack: db.prepare<[Uint8Array], { n: number }>('SELECT count(*) AS n FROM objects WHERE pack = ?'),
      objectsOfPack: db.prepare<[Uint8Array], { id: Buffer; offset: number; length: number }>(
        'SELECT id, offset, length FROM objects WHERE pack = ? ORDER BY offset',
      ),
      idsAfter: db.prepare<[Uint8Array, number], { id: Buffer }>('SELECT id FROM objects WHERE id > ? ORDER BY id LIMIT ?'),
      packs: db.prepare<[], { id: Buffer; size: number; count: number; state: PackState }>(
        'SELECT id, size, count, state FROM packs ORDER BY id',
      ),
      allObjectsByPack: db.prepare<[], { id: Buffer; pack: Buffer; offset: number; length: number }>(
        'SELECT id, pack, offset, length FROM objects ORDER BY pack',
      ),
      stats: db.prepare<[], { packs: number; bytes: number | null }>(
        "SELECT count(*) AS packs, sum(size) AS bytes FROM packs WHERE state = 'live'",
      ),
      objectCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM objects'),
    };
  }

  /**
   * Opens or creates the index at `path`. One writer at a time is the store's business (its
   * writer lock file); SQLite runs in WAL mode so that readers in other processes (a home's node
   * serving objects while `ingest` writes) see every committed change. A file that is not a
   * usable database is 'store.corrupt' (the store then moves it aside and rebuilds).
   * `readonly`: a reader's connection; the index must exist and is never written.
   */
  static open(path: string, options: { readonly?: boolean } = {}): PackIndex {
    let db: Database.Database | undefined;
    try {
      if (options.readonly) {
        db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
        db.prepare('SELECT count(*) FROM objects').get();
        return new PackIndex(db);
      }
      db = new Database(path, { timeout: 5000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== 0 && version !== PACK_INDEX_SCHEMA_VERSION) {
        throw new EmbassyError('store.corrupt', `pack index: unknown schema version ${version}`);
      }
      db.exec(SCHEMA);
      db.pragma(`user_version = ${PACK_INDEX_SCHEMA_VERSION}`);
      db.prepare('SELECT count(*) FROM objects').get();
      return new PackIndex(db);
    } catch (e) {
      db?.close();
      if (e instanceof EmbassyError) throw e;
      const code = (e as { code?: string }).code ?? '';
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw new EmbassyError('store.io', `pack index: ${path} is in use by another process`, {
          cause: e,
          hint: 'only one process at a time may open an object store; stop the other one',
        });
      }
      if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
        throw new EmbassyError('store.corrupt', `pack index: ${path} is not a usable database`, { cause: e });
      }
      throw new EmbassyError('store.io', `pack index: cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  lookup(id: ObjectId): ObjectLocation | undefined {
    const r = this.stmt.lookup.get(id);
    return r === undefined ? undefined : { pack: u8(r.pack), offset: r.offset, length: r.length };
  }

  has(ids: readonly ObjectId[]): boolean[] {
    if (ids.length === 1) return [this.stmt.lookup.get(ids[0]!) !== undefined];
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += HAS_BATCH) {
      const batch = ids.slice(i, i + HAS_BATCH);
      for (const r of this.hasStatement(batch.length).all(...batch)) found.add(r.id.toString('hex'));
    }
    return ids.map((id) => found.has(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')));
  }

  private readonly hasStatements = new Map<number, Database.Statement<Uint8Array[], { id: Buffer }>>();
  private hasStatement(n: number): Database.Statement<Uint8Array[], { id: Buffer }> {
    let s = this.hasStatements.get(n);
    if (s === undefined) {
      s = this.db.prepare(`SELECT id FROM objects WHERE id IN (${Array.from({ length: n }, () => '?').join(',')})`);
      this.hasStatements.set(n, s);
    }
    return s;
  }

  /** Up to `limit` object ids greater than `after`, in order (keyset paging: no open cursor). */
  idsAfter(after: Uint8Array, limit: number): ObjectId[] {
    return this.stmt.idsAfter.all(after, limit).map((r) => u8(r.id));
  }

  /**
   * Adds a durable pack and its entries in one transaction. An object already indexed elsewhere
   * keeps its location (the new copy is a duplicate that a later sweep removes). Returns how
   * many entries were new.
   */
  addPack(pack: Uint8Array, size: number, entries: readonly PackEntry[], count = entries.length): number {
    return this.db.transaction(() => {
      this.stmt.insertPack.run(pack, size, count);
      let added = 0;
      for (const e of entries) added += this.stmt.insertObject.run(e.id, pack, e.offset, e.length).changes;
      return added;
    })();
  }

  packs(): PackRow[] {
    return this.stmt.packs.all().map((r) => ({ id: u8(r.id), size: r.size, count: r.count, state: r.state }));
  }

  objectsOfPack(pack: Uint8Array): PackEntry[] {
    return this.stmt.objectsOfPack.all(pack).map((r) => ({ id: u8(r.id), offset: r.offset, length: r.length }));
  }

  /**
   * The sweep plan, in one synchronous pass over the index: per live pack, which entries
   * isLive keeps and how many are dead. Packs without any indexed object (duplicates left by a
   * crash) appear with nothing live.
   */
  planSweep(isLive: (id: ObjectId) => boolean): PackSweep[] {
    const byPack = new Map<string, PackSweep>();
    for (const p of this.packs()) {
      if (p.state === 'live') {
        byPack.set(Buffer.from(p.id).toString('hex'), { pack: p.id, size: p.size, liveObjects: 0, deadObjects: 0, live: [] });
      }
    }
    // Rows come grouped by pack; a pack's live list is kept only if the pack turns out mixed, so
    // memory holds the entries to copy, not the whole index.
    let current: PackSweep | undefined;
    const finish = (s: PackSweep | undefined): void => {
      if (s === undefined) return;
      if (s.deadObjects === 0) s.live = [];
      else s.live.sort((a, b) => a.offset - b.offset);
    };
    for (const r of this.stmt.allObjectsByPack.iterate()) {
      const hex = r.pack.toString('hex');
      const sweep = byPack.get(hex);
      if (sweep === undefined) {
        throw new EmbassyError('store.corrupt', `pack index: object ${r.id.toString('hex')} is in pack ${hex}, which is not live`);
      }
      if (sweep !== current) {
        finish(current);
        current = sweep;
      }
      const id = u8(Buffer.from(r.id));
      if (isLive(id)) {
        sweep.liveObjects++;
        sweep.live.push({ id, offset: r.offset, length: r.length });
      } else {
        sweep.deadObjects++;
      }
    }
    finish(current);
    return [...byPack.values()];
  }

  /**
   * The sweep's one commit (gc and repair): new packs (already durable) become live and take over
   * the entries they hold, every old pack loses its remaining (dead or damaged) rows and is marked
   * 'deleting'. Before it, the old packs serve every kept object; after it, the new ones do.
   * `dropped` are rows to delete as well, each only while it is still in the given pack (a
   * repair's damaged objects in a pack whose name a new pack took). Returns the rows removed.
   */
  commitSweep(
    newPacks: readonly { pack: Uint8Array; size: number; entries: PackEntry[] }[],
    oldPacks: readonly Uint8Array[],
    dropped: readonly { id: ObjectId; pack: Uint8Array }[] = [],
  ): number {
    return this.db.transaction(() => {
      let removed = 0;
      for (const d of dropped) removed += this.stmt.deleteObjectInPack.run(d.id, d.pack).changes;
      for (const p of newPacks) {
        this.stmt.insertPack.run(p.pack, p.size, p.entries.length);
        for (const e of p.entries) {
          if (this.stmt.moveObject.run(p.pack, e.offset, e.length, e.id).changes !== 1) {
            throw new EmbassyError('store.corrupt', `pack index: object ${Buffer.from(e.id).toString('hex')} vanished during the sweep`);
          }
        }
      }
      for (const old of oldPacks) {
        removed += this.stmt.deleteObjectsOfPack.run(old).changes;
        this.stmt.markDeleting.run(old);
      }
      return removed;
    })();
  }

  /**
   * Mends the rows of one pack in one transaction: each of `moved` gets the offset and length of
   * its valid entry in that pack, each of `dropped` goes. Returns the rows changed.
   */
  fixRows(pack: Uint8Array, moved: readonly PackEntry[], dropped: readonly ObjectId[]): number {
    return this.db.transaction(() => {
      let n = 0;
      for (const e of moved) n += this.stmt.moveObjectInPack.run(e.offset, e.length, e.id, pack).changes;
      for (const id of dropped) n += this.stmt.deleteObjectInPack.run(id, pack).changes;
      return n;
    })();
  }

  /** Forgets a pack whose file is gone; refuses while any object row still points into it. */
  removePack(pack: Uint8Array): void {
    this.db.transaction(() => {
      const { n } = this.stmt.countOfPack.get(pack)!;
      if (n > 0) {
        throw new EmbassyError('store.corrupt', `pack index: pack ${Buffer.from(pack).toString('hex')} still holds ${n} objects`);
      }
      this.stmt.deletePack.run(pack);
    })();
  }

  /** Forgets a pack and every object row in it (its file is lost). Returns the rows removed. */
  dropPack(pack: Uint8Array): number {
    return this.db.transaction(() => {
      const n = this.stmt.deleteObjectsOfPack.run(pack).changes;
      this.stmt.deletePack.run(pack);
      return n;
    })();
  }

  /** Sets a 'deleting' pack back to 'live' (used if, impossibly, objects still point into it). */
  markLive(pack: Uint8Array, size: number, count: number): void {
    this.stmt.insertPack.run(pack, size, count);
  }

  clear(): void {
    this.db.exec('DELETE FROM objects; DELETE FROM packs;');
  }

  stats(): { packs: number; objects: number; bytes: number } {
    const s = this.stmt.stats.get()!;
    return { packs: s.packs, objects: this.stmt.objectCount.get()!.n, bytes: s.bytes ?? 0 };
  }
}
