// The home's record of the receipts (mirrors) and cosignatures (witnesses) it collected, in
// SQLite at <site>/receipts.sqlite: the newest per site, and a history row per accepted one
// (for RPO figures). Only checked receipts reach it (acceptReceipt below): signed by the home's
// log key, cosigned by the site's key from its card, and consistent with the home's own log.
// It can be rebuilt by asking every mirror for its newest receipt (GET /receipts).
import Database from 'better-sqlite3';
import { EmbassyError } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import { verifyConsistency } from '../log/merkle.ts';
import type { Checkpoint } from '../log/checkpoint.ts';
import type { NoteVerifier } from '../log/note.ts';
import type { LogReader } from '../store/log-store.ts';
import { proveLogConsistency } from '../sitelog/proofs.ts';
import { openReceipt } from './receipt.ts';

export const RECEIPTS_FILE = 'receipts.sqlite';

export type ReceiptKind = 'mirror' | 'witness';

export interface StoredReceipt {
  site: string;
  kind: ReceiptKind;
  size: bigint;
  /** Cosignature timestamp, POSIX seconds. */
  cosignedAt: bigint;
  /** When the home accepted it, ms since the epoch. */
  receivedAtMs: number;
  note: string;
}

export class ReceiptStore {
  private constructor(private readonly db: Database.Database) {}

  static open(path: string): ReceiptStore {
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(`
        CREATE TABLE IF NOT EXISTS receipts (
          site TEXT PRIMARY KEY, kind TEXT NOT NULL, size TEXT NOT NULL,
          cosigned_at TEXT NOT NULL, received_at_ms INTEGER NOT NULL, note TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS receipt_history (
          site TEXT NOT NULL, kind TEXT NOT NULL, size TEXT NOT NULL,
          cosigned_at TEXT NOT NULL, received_at_ms INTEGER NOT NULL);
      `);
    } catch (e) {
      throw new EmbassyError('store.io', `receipts: cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
    return new ReceiptStore(db);
  }

  /** Stores a checked receipt if it is newer (larger, or same size and later) than the one held; returns whether it was. */
  put(r: Omit<StoredReceipt, 'receivedAtMs'>, receivedAtMs = Date.now()): boolean {
    return this.db.transaction(() => {
      const cur = this.db.prepare('SELECT size, cosigned_at FROM receipts WHERE site = ?').get(r.site) as { size: string; cosigned_at: string } | undefined;
      if (cur !== undefined) {
        const size = BigInt(cur.size);
        if (r.size < size || (r.size === size && r.cosignedAt <= BigInt(cur.cosigned_at))) return false;
      }
      this.db
        .prepare('INSERT OR REPLACE INTO receipts (site, kind, size, cosigned_at, received_at_ms, note) VALUES (?, ?, ?, ?, ?, ?)')
        .run(r.site, r.kind, String(r.size), String(r.cosignedAt), receivedAtMs, r.note);
      if (cur === undefined || BigInt(cur.size) !== r.size) {
        this.db.prepare('INSERT INTO receipt_history (site, kind, size, cosigned_at, received_at_ms) VALUES (?, ?, ?, ?, ?)').run(r.site, r.kind, String(r.size), String(r.cosignedAt), receivedAtMs);
      }
      return true;
    })();
  }

  get(site: string): StoredReceipt | undefined {
    const row = this.db.prepare('SELECT * FROM receipts WHERE site = ?').get(site) as Row | undefined;
    return row && fromRow(row);
  }

  all(): StoredReceipt[] {
    return (this.db.prepare('SELECT * FROM receipts ORDER BY site').all() as Row[]).map(fromRow);
  }

  history(site?: string): Omit<StoredReceipt, 'note'>[] {
    const rows = (site === undefined
      ? this.db.prepare('SELECT * FROM receipt_history ORDER BY rowid').all()
      : this.db.prepare('SELECT * FROM receipt_history WHERE site = ? ORDER BY rowid').all(site)) as Omit<Row, 'note'>[];
    return rows.map((r) => ({ site: r.site, kind: r.kind, size: BigInt(r.size), cosignedAt: BigInt(r.cosigned_at), receivedAtMs: r.received_at_ms }));
  }

  close(): void {
    this.db.close();
  }
}

interface Row {
  site: string;
  kind: ReceiptKind;
  size: string;
  cosigned_at: string;
  received_at_ms: number;
  note: string;
}

function fromRow(r: Row): StoredReceipt {
  return { site: r.site, kind: r.kind, size: BigInt(r.size), cosignedAt: BigInt(r.cosigned_at), receivedAtMs: r.received_at_ms, note: r.note };
}

export interface HomeLogView {
  origin: string;
  verifier: NoteVerifier;
  log: LogReader;
  /** The home's current checkpoint (verified). */
  current: Checkpoint;
}

/**
 * Checks a receipt or witness cosignature from `site` against the home's own log and stores it.
 * The checkpoint must be one this home signed, at or below its current size, and consistent
 * with its current tree (a receipt for a tree the home never had is refused, whoever signed it).
 */
export async function acceptReceipt(
  store: ReceiptStore,
  home: HomeLogView,
  site: { name: string; kind: ReceiptKind; cosignVerifierKey: string },
  text: string,
): Promise<{ stored: boolean; receipt: StoredReceipt }> {
  const opened = openReceipt(text, home.origin, home.verifier, site.cosignVerifierKey);
  const cp = opened.checkpoint;
  if (cp.size > home.current.size) {
    throw new EmbassyError('log.inconsistent', `receipt from ${site.name}: size ${cp.size} is beyond this log's ${home.current.size}`);
  }
  if (cp.size === home.current.size) {
    if (!bytesEqual(cp.root, home.current.root)) throw new EmbassyError('log.inconsistent', `receipt from ${site.name}: a different tree of size ${cp.size}`);
  } else if (cp.size > 0n) {
    const proof = await proveLogConsistency(home.log, cp.size, home.current.size);
    try {
      verifyConsistency(cp.size, home.current.size, proof, cp.root, home.current.root);
    } catch {
      throw new EmbassyError('log.inconsistent', `receipt from ${site.name}: its checkpoint of size ${cp.size} is not in this log`);
    }
  }
  const receipt: Omit<StoredReceipt, 'receivedAtMs'> = { site: site.name, kind: site.kind, size: cp.size, cosignedAt: opened.cosignedAt, note: opened.note };
  const stored = store.put(receipt);
  return { stored, receipt: store.get(site.name)! };
}
