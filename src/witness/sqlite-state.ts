// The durable WitnessState: one SQLite database per site (<site>/witness.sqlite, better-sqlite3).
// WAL with synchronous=FULL, so a committed compare-and-set survives power loss. Not opened
// exclusively: `embassy witness add-log` may add a log while `embassy serve` runs; the
// compare-and-set is a single UPDATE … WHERE size = ? AND root = ?, atomic across processes.
import { Buffer } from 'node:buffer';
import Database from 'better-sqlite3';
import { EmbassyError } from '../errors.ts';
import { EMPTY_ROOT } from '../log/merkle.ts';
import { alreadyTrusted, type WitnessLog, type WitnessState, type WitnessTreeHead } from './state.ts';

export const WITNESS_STATE_FILE = 'witness.sqlite';
const SCHEMA_VERSION = 1;

interface Row {
  origin: string;
  vkey: string;
  size: bigint;
  root: Buffer;
  checkpoint: string | null;
}

const toLog = (r: Row): WitnessLog => ({
  origin: r.origin,
  verifierKey: r.vkey,
  size: r.size,
  root: new Uint8Array(r.root),
  checkpoint: r.checkpoint ?? undefined,
});

export class SqliteWitnessState implements WitnessState {
  private readonly stmt;

  private constructor(private readonly db: Database.Database) {
    this.stmt = {
      get: db.prepare<[string], Row>('SELECT origin, vkey, size, root, checkpoint FROM log WHERE origin = ?'),
      list: db.prepare<[], Row>('SELECT origin, vkey, size, root, checkpoint FROM log ORDER BY origin'),
      insert: db.prepare<[string, string, bigint, Uint8Array]>(
        'INSERT INTO log (origin, vkey, size, root, checkpoint) VALUES (?, ?, ?, ?, NULL) ON CONFLICT (origin) DO NOTHING',
      ),
      cas: db.prepare<[bigint, Uint8Array, string, string, bigint, Uint8Array]>(
        'UPDATE log SET size = ?, root = ?, checkpoint = ? WHERE origin = ? AND size = ? AND root = ?',
      ),
    };
  }

  /** Opens or creates the database; 'store.io' when the file cannot be opened as one. */
  static open(path: string): SqliteWitnessState {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: 5000 });
      db.defaultSafeIntegers(true);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(`CREATE TABLE IF NOT EXISTS log (
        origin TEXT PRIMARY KEY,
        vkey TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        root BLOB NOT NULL CHECK (length(root) = 32),
        checkpoint TEXT
      ) STRICT`);
      const version = db.pragma('user_version', { simple: true }) as bigint;
      if (version === 0n) db.pragma(`user_version = ${SCHEMA_VERSION}`);
      else if (version !== BigInt(SCHEMA_VERSION)) {
        throw new EmbassyError('site.config', `witness state: ${path} has schema version ${version}, expected ${SCHEMA_VERSION}`);
      }
      return new SqliteWitnessState(db);
    } catch (e) {
      db?.close();
      if (e instanceof EmbassyError) throw e;
      throw new EmbassyError('store.io', `witness state: cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): void {
    this.db.close();
  }

  async get(origin: string): Promise<WitnessLog | undefined> {
    const r = this.stmt.get.get(origin);
    return r === undefined ? undefined : toLog(r);
  }

  async compareAndSet(origin: string, expectedOld: WitnessTreeHead, next: WitnessTreeHead & { checkpoint: string }): Promise<boolean> {
    // One statement, one implicit transaction: durable (synchronous=FULL) when run() returns.
    const r = this.stmt.cas.run(next.size, next.root, next.checkpoint, origin, expectedOld.size, expectedOld.root);
    return r.changes === 1;
  }

  async addLog(origin: string, verifierKey: string): Promise<void> {
    this.db.transaction(() => {
      this.stmt.insert.run(origin, verifierKey, 0n, EMPTY_ROOT);
      const r = this.stmt.get.get(origin)!;
      if (r.vkey !== verifierKey) throw alreadyTrusted(origin);
    }).immediate();
  }

  async list(): Promise<WitnessLog[]> {
    return this.stmt.list.all().map(toLog);
  }
}
