// Bearer tokens for API clients, scoped to datasets, with an expiry and a rate, in SQLite at
// <site>/tokens.sqlite (better-sqlite3). Only SHA-256(token) is stored: whoever reads the file
// (a backup, the host) learns which clients exist, never a token that works. `embassy token`
// writes while `embassy serve` reads, so WAL with a busy timeout; the server caches verified
// grants for at most CACHE_MS, which bounds how long a revoked or expired token still works.
import { chmodSync, closeSync, openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { EmbassyError } from '../errors.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { DATASET_ID_RE } from '../format/statement-types.ts';

export const TOKENS_FILE = 'tokens.sqlite';
export const TOKEN_PREFIX = 'emb_';
export const DEFAULT_RATE_PER_MINUTE = 6000;
/** A verified grant is reused this long without asking SQLite again (so a revoke takes ≤ 1 s). */
export const CACHE_MS = 1000;
const SCHEMA_VERSION = 1;
// 'emb_' + base64url of 32 bytes, unpadded: 43 characters, the last one carrying 2 bits.
const TOKEN_RE = /^emb_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const TOKEN_ID_RE = /^[0-9a-f]{16}$/;
const CLIENT_RE = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;
const MAX_CACHE = 10_000;

export interface TokenGrant {
  /** Public id of the token (16 hex digits): safe to log and to journal. */
  tokenId: string;
  client: string;
  datasets: string[];
  /** Epoch milliseconds after which the token is refused. */
  notAfter: number;
  ratePerMinute: number;
}

/** A grant as `embassy token list` shows it. */
export interface TokenRecord extends TokenGrant {
  revoked: boolean;
  /** Epoch milliseconds when it was issued. */
  createdAt: number;
}

interface Row {
  token_id: string;
  client: string;
  datasets: string;
  not_after: number;
  rate_per_minute: number;
  revoked: number;
  created_at: number;
}

const toRecord = (r: Row): TokenRecord => ({
  tokenId: r.token_id,
  client: r.client,
  datasets: JSON.parse(r.datasets) as string[],
  notAfter: r.not_after,
  ratePerMinute: r.rate_per_minute,
  revoked: r.revoked !== 0,
  createdAt: r.created_at,
});

/** The stored form of a token: hex SHA-256 of its ASCII bytes. */
export function hashToken(token: string): string {
  return toHex(sha256(utf8.encode(token)));
}

/** Whether a string has the shape of a token (not whether it is a valid one). */
export function isTokenShaped(token: string): boolean {
  return TOKEN_RE.test(token);
}

export class TokenStore {
  private readonly stmt;
  // hash → grant and when it was read; only grants that verified (a miss always asks SQLite).
  private readonly cache = new Map<string, { grant: TokenGrant; at: number }>();

  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.stmt = {
      insert: db.prepare(
        'INSERT INTO token (token_id, hash, client, datasets, not_after, rate_per_minute, revoked, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)',
      ),
      byHash: db.prepare<[string], Row>('SELECT * FROM token WHERE hash = ?'),
      revoke: db.prepare<[string]>('UPDATE token SET revoked = 1 WHERE token_id = ?'),
      list: db.prepare<[], Row>('SELECT * FROM token ORDER BY created_at, token_id'),
    };
  }

  /** Opens or creates the store (file mode 0600); 'store.io' when it cannot be opened. */
  static open(path: string, options: { now?: () => number } = {}): TokenStore {
    let db: Database.Database | undefined;
    try {
      // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
      db = new Database(path, { timeout: 5000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(`CREATE TABLE IF NOT EXISTS token (
        token_id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
        client TEXT NOT NULL,
        datasets TEXT NOT NULL,
        not_after INTEGER NOT NULL,
        rate_per_minute INTEGER NOT NULL CHECK (rate_per_minute > 0),
        revoked INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      ) STRICT`);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) db.pragma(`user_version = ${SCHEMA_VERSION}`);
      else if (version !== SCHEMA_VERSION) {
        throw new EmbassyError('site.config', `tokens: ${path} has schema version ${version}, expected ${SCHEMA_VERSION}`);
      }
      return new TokenStore(db, options.now ?? Date.now);
    } catch (e) {
      db?.close();
      if (e instanceof EmbassyError) throw e;
      throw new EmbassyError('store.io', `tokens: cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Makes a new token. The token itself is returned once and never stored. */
  issue(o: { client: string; datasets: string[]; ttlSeconds: number; ratePerMinute?: number }): { token: string; grant: TokenGrant } {
    if (typeof o.client !== 'string' || !CLIENT_RE.test(o.client)) {
      throw new EmbassyError('usage', 'token: client must be 1–128 printable ASCII characters, not starting or ending with a space');
    }
    if (!Array.isArray(o.datasets) || o.datasets.length === 0) throw new EmbassyError('usage', 'token: at least one dataset is needed');
    for (const d of o.datasets) {
      if (typeof d !== 'string' || !DATASET_ID_RE.test(d)) throw new EmbassyError('usage', `token: ${JSON.stringify(String(d).slice(0, 80))} is not a dataset id`);
    }
    if (!Number.isSafeInteger(o.ttlSeconds) || o.ttlSeconds <= 0) throw new EmbassyError('usage', `token: ttl must be a positive whole number of seconds, got ${o.ttlSeconds}`);
    const rate = o.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE;
    if (!Number.isSafeInteger(rate) || rate <= 0) throw new EmbassyError('usage', `token: rate must be a positive whole number per minute, got ${rate}`);
    const created = this.now();
    const grant: TokenGrant = {
      tokenId: randomBytes(8).toString('hex'),
      client: o.client,
      datasets: [...new Set(o.datasets)].sort(),
      notAfter: created + o.ttlSeconds * 1000,
      ratePerMinute: rate,
    };
    const secret = randomBytes(32);
    const token = TOKEN_PREFIX + secret.toString('base64url');
    secret.fill(0);
    this.stmt.insert.run(grant.tokenId, hashToken(token), grant.client, JSON.stringify(grant.datasets), grant.notAfter, grant.ratePerMinute, created);
    return { token, grant };
  }

  /** The grant of a valid token: well-formed, known, not revoked, not expired; else undefined. */
  verify(token: string): TokenGrant | undefined {
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) return undefined;
    const now = this.now();
    const hash = hashToken(token);
    const hit = this.cache.get(hash);
    // A clock that stepped back also counts as stale.
    if (hit !== undefined && now >= hit.at && now - hit.at < CACHE_MS) return now < hit.grant.notAfter ? hit.grant : undefined;
    this.cache.delete(hash);
    // Looked up by SHA-256 of the token, so the index's timing tells nothing about a valid token.
    const row = this.stmt.byHash.get(hash);
    if (row === undefined || row.revoked !== 0 || now >= row.not_after) return undefined;
    const { revoked: _r, createdAt: _c, ...rest } = toRecord(row);
    // Shared by every request that presents this token within CACHE_MS: frozen, so none can alter it.
    const grant: TokenGrant = Object.freeze({ ...rest, datasets: Object.freeze(rest.datasets) as string[] });
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(hash, { grant, at: now });
    return grant;
  }

  /** Revokes a token by its public id; false if no token has that id. Other processes see it within CACHE_MS. */
  revoke(tokenId: string): boolean {
    if (typeof tokenId !== 'string' || !TOKEN_ID_RE.test(tokenId)) return false;
    const changed = this.stmt.revoke.run(tokenId).changes === 1;
    for (const [h, v] of this.cache) if (v.grant.tokenId === tokenId) this.cache.delete(h);
    return changed;
  }

  /** Every token ever issued here, revoked and expired ones included; never a token or its hash. */
  list(): TokenRecord[] {
    return this.stmt.list.all().map(toRecord);
  }

  close(): void {
    this.cache.clear();
    this.db.close();
  }
}

/** Parses a duration such as 30d, 12h, 45m or 3600s (a bare number is seconds) into seconds. */
export function parseTtl(text: string): number {
  const m = /^([1-9][0-9]{0,9})([dhms]?)$/.exec(text.trim());
  if (m === null) throw new EmbassyError('usage', `token: ttl ${JSON.stringify(text.slice(0, 40))} is not a duration like 30d, 12h, 45m or 3600s`);
  const unit = { d: 86400, h: 3600, m: 60, s: 1, '': 1 }[m[2] as 'd' | 'h' | 'm' | 's' | ''];
  return Number(m[1]) * unit;
}
