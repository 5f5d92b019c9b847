// The access journal: every read served during an activation or drill, one line per read in
// <site>/access/journal.jsonl, hash-chained so that an edited, removed, inserted or reordered line
// is detected (docs/format.md, "Access journal"). Truncation of the tail is detected only against
// a {seq, head} digest kept elsewhere: the mirror puts them in its signed log as 'access-digest'
// statements. Durability contract: when append() resolves, the line is written and fsynced.
// Appends that arrive while a write+fsync is in flight are written together by the next one
// (group commit), so a busy server pays one fsync per batch, not per read.
import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { concatBytes, toHex, utf8, utf8Strict } from '../format/bytes.ts';
import { canonicalJson, parseJsonStrict } from '../format/canonical-json.ts';
import { sha256 } from '../crypto/hash.ts';
import { acquireLockFile } from '../store/lock-file.ts';
import { fsyncDir } from '../store/fsync.ts';

export const JOURNAL_FILE = 'access/journal.jsonl';
/** Domain separation for entry hashes: no other hash in the project starts with these bytes. */
export const JOURNAL_HASH_PREFIX = utf8.encode('data-embassy access-journal v1\n');
/** `prev` of the first entry. */
export const JOURNAL_GENESIS = '0'.repeat(64);
/** A line longer than this is refused on append and is corrupt on reading. */
export const MAX_JOURNAL_LINE = 1 << 20;

export interface JournalEntryInput {
  client: string;
  tokenId: string;
  activation: string;
  drill: boolean;
  dataset: string;
  op: string;
  keys: string[];
  version?: number;
  status: number;
}

/** A journal line as stored. */
export interface JournalEntry extends JournalEntryInput {
  seq: number;
  prev: string;
  /** ISO 8601 UTC with milliseconds. */
  time: string;
}

export interface JournalHead {
  /** Entries in the journal (the seq of the last one); 0 when empty. */
  seq: number;
  /** Hash of the last entry; JOURNAL_GENESIS when empty. */
  hash: string;
}

/** hex SHA-256(JOURNAL_HASH_PREFIX ‖ line), the line without its newline. */
export function hashJournalLine(line: Uint8Array): string {
  return toHex(sha256(JOURNAL_HASH_PREFIX, line));
}

const FIELDS = new Set(['seq', 'prev', 'time', 'client', 'tokenId', 'activation', 'drill', 'dataset', 'op', 'keys', 'version', 'status']);
const HEX64 = /^[0-9a-f]{64}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Why an input cannot be journaled, or undefined. */
function inputProblem(e: Record<string, unknown>): string | undefined {
  for (const f of ['client', 'tokenId', 'activation', 'dataset', 'op'] as const) {
    if (typeof e[f] !== 'string') return `${f} must be a string`;
  }
  if (typeof e.drill !== 'boolean') return 'drill must be a boolean';
  if (!Array.isArray(e.keys) || !e.keys.every((k) => typeof k === 'string')) return 'keys must be an array of strings';
  if (e.version !== undefined && (!Number.isSafeInteger(e.version) || (e.version as number) < 0)) return 'version must be a whole number ≥ 0';
  if (!Number.isInteger(e.status) || (e.status as number) < 100 || (e.status as number) > 599) return 'status must be an HTTP status';
  return undefined;
}

/** Checks a parsed line's fields; returns the problem or undefined. */
function entryProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const e = v as Record<string, unknown>;
  for (const k of Object.keys(e)) if (!FIELDS.has(k)) return `unknown field ${JSON.stringify(k.slice(0, 40))}`;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1) return 'seq must be a whole number ≥ 1';
  if (typeof e.prev !== 'string' || !HEX64.test(e.prev)) return 'prev must be 64 hex digits';
  if (typeof e.time !== 'string' || !ISO_MS.test(e.time) || Number.isNaN(Date.parse(e.time))) return 'time must be ISO 8601 UTC with milliseconds';
  return inputProblem(e);
}

function corrupt(path: string, line: number, seq: number | undefined, what: string): EmbassyError {
  return new EmbassyError('log.corrupt', `journal: ${path} line ${line}${seq === undefined ? '' : ` (seq ${seq})`}: ${what}`, {
    hint: 'the journal was altered or damaged; keep the file as evidence and compare it with a backup and with the access-digest statements in the log',
  });
}

export interface JournalScan {
  entries: number;
  head: JournalHead;
  /** Byte length of the verified part (every complete line). */
  validBytes: number;
  /** Bytes after the last newline: a line torn by a crash mid-write (0 if none). */
  tornBytes: number;
}

/**
 * Reads a journal file line by line and checks the chain; throws 'log.corrupt' naming the line
 * and seq at the first complete line that does not verify. A missing file is an empty journal.
 */
async function scanJournal(path: string, onEntry?: (entry: JournalEntry, hash: string, line: number) => void): Promise<JournalScan> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: 0, head: { seq: 0, hash: JOURNAL_GENESIS }, validBytes: 0, tornBytes: 0 };
    throw new EmbassyError('store.io', `journal: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const head: JournalHead = { seq: 0, hash: JOURNAL_GENESIS };
  let lineNo = 0;
  let validBytes = 0;
  let carry: Uint8Array = new Uint8Array(0);
  const check = (bytes: Uint8Array): void => {
    lineNo++;
    if (bytes.length > MAX_JOURNAL_LINE) throw corrupt(path, lineNo, undefined, `line longer than ${MAX_JOURNAL_LINE} bytes`);
    let text: string;
    let value: unknown;
    try {
      text = utf8Strict.decode(bytes);
      value = parseJsonStrict(text);
    } catch {
      throw corrupt(path, lineNo, undefined, 'not a JSON line');
    }
    const problem = entryProblem(value);
    const seq = (value as { seq?: unknown } | null)?.seq;
    const seqForMsg = Number.isSafeInteger(seq) ? (seq as number) : undefined;
    if (problem !== undefined) throw corrupt(path, lineNo, seqForMsg, problem);
    if (canonicalJson(value) !== text) throw corrupt(path, lineNo, seqForMsg, 'not RFC 8785 canonical JSON');
    const entry = value as JournalEntry;
    if (entry.seq !== head.seq + 1) {
      throw corrupt(path, lineNo, entry.seq, `expected seq ${head.seq + 1}: lines were removed, inserted or reordered`);
    }
    if (entry.prev !== head.hash) {
      throw corrupt(path, lineNo, entry.seq, `prev does not match the hash of ${lineNo === 1 ? 'the start (64 zeros)' : `line ${lineNo - 1}`}: a line was edited, removed, inserted or reordered`);
    }
    head.seq = entry.seq;
    head.hash = hashJournalLine(bytes);
    validBytes += bytes.length + 1;
    onEntry?.(entry, head.hash, lineNo);
  };
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = carry.length === 0 ? buf.subarray(0, bytesRead) : concatBytes(carry, buf.subarray(0, bytesRead));
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        check(chunk.subarray(start, nl));
        start = nl + 1;
      }
      carry = chunk.slice(start);
      if (carry.length > MAX_JOURNAL_LINE) throw corrupt(path, lineNo + 1, undefined, `line longer than ${MAX_JOURNAL_LINE} bytes`);
    }
  } catch (e) {
    if (e instanceof EmbassyError) throw e;
    throw new EmbassyError('store.io', `journal: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await fh.close();
  }
  return { entries: head.seq, head, validBytes, tornBytes: carry.length };
}

export interface VerifyJournalResult {
  entries: number;
  head: JournalHead;
  /** A torn final line (a crash mid-append, or an append in progress): not an error, reported. */
  warnings: string[];
}

/**
 * Checks every line of a journal: canonical, fields well-formed, seq 1, 2, … and each prev the
 * hash of the line before. Throws 'log.corrupt' naming the line and seq of the first break.
 * onEntry sees every verified entry with its hash, so a caller can check {seq, head} digests
 * kept elsewhere (the only way to detect a truncated tail).
 */
export async function verifyJournal(
  path: string,
  onEntry?: (entry: JournalEntry, hash: string, line: number) => void,
): Promise<VerifyJournalResult> {
  const scan = await scanJournal(path, onEntry);
  const warnings = scan.tornBytes > 0 ? [tornWarning(path, scan)] : [];
  return { entries: scan.entries, head: scan.head, warnings };
}

/** The hash of entry `seq` of a verified journal, or undefined if it has fewer entries. */
export async function entryHashAt(path: string, seq: number): Promise<string | undefined> {
  let found: string | undefined;
  await scanJournal(path, (e, hash) => {
    if (e.seq === seq) found = hash;
  });
  return found;
}

function tornWarning(path: string, scan: JournalScan): string {
  return `journal: ${path} ends in ${scan.tornBytes} bytes without a newline after line ${scan.entries} (an append torn by a crash)`;
}

interface Pending {
  bytes: Uint8Array;
  seq: number;
  hash: string;
  resolve: (v: { seq: number; hash: string }) => void;
  reject: (e: unknown) => void;
}

export interface AccessJournalOptions {
  /** Clock for entry times (epoch ms); default Date.now. */
  now?: () => number;
  /** Called with warnings found on opening (a torn tail that was cut off). */
  onWarning?: (message: string) => void;
}

export class AccessJournal {
  /** Warnings from opening: a torn final line that was cut off. */
  readonly warnings: string[];
  private headNow: JournalHead;
  private queue: Pending[] = [];
  private flushing = false;
  private failed: EmbassyError | undefined;
  private closed = false;
  private idle: (() => void)[] = [];

  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly release: () => Promise<void>,
    head: JournalHead,
    warnings: string[],
    private readonly now: () => number,
  ) {
    this.headNow = { ...head };
    this.warnings = warnings;
  }

  /**
   * Opens (or creates) a journal for appending: verifies the whole chain and continues from its
   * head. A torn final line is cut off (it was never acknowledged: append resolves only after
   * fsync) and reported as a warning; a complete line that does not verify is 'log.corrupt' and
   * nothing is opened. One writer at a time: '<path>.lock' ('log.locked' if held).
   */
  static async open(path: string, options: AccessJournalOptions = {}): Promise<AccessJournal> {
    const dir = dirname(path);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    } catch (e) {
      throw new EmbassyError('store.io', `journal: cannot create ${dir}: ${(e as Error).message}`, { cause: e });
    }
    const release = await acquireLockFile(`${path}.lock`, `journal ${path}`);
    let fh: FileHandle | undefined;
    try {
      const scan = await scanJournal(path);
      const warnings: string[] = [];
      if (scan.tornBytes > 0) {
        const w = tornWarning(path, scan) + '; cut off';
        const t = await open(path, 'r+');
        try {
          await t.truncate(scan.validBytes);
          await t.sync();
        } finally {
          await t.close();
        }
        warnings.push(w);
        options.onWarning?.(w);
      }
      fh = await open(path, 'a', 0o600);
      await fh.chmod(0o600);
      await fh.sync();
      await fsyncDir(dir); // the file's name is durable before any entry is acknowledged
      return new AccessJournal(path, fh, release, scan.head, warnings, options.now ?? Date.now);
    } catch (e) {
      await fh?.close();
      await release();
      if (e instanceof EmbassyError) throw e;
      throw new EmbassyError('store.io', `journal: cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The newest entry's {seq, hash}, including entries whose append has not resolved yet. */
  head(): { seq: number; hash: string } {
    return { ...this.headNow };
  }

  /**
   * Appends one entry; resolves with its seq and hash once it is written and fsynced. Entries
   * get seq in call order. After a write or fsync failure the journal refuses every further
   * append ('store.io'): a read that cannot be journaled must not be served.
   */
  append(e: JournalEntryInput): Promise<{ seq: number; hash: string }> {
    if (this.closed) return Promise.reject(new EmbassyError('store.io', `journal: ${this.path} is closed`));
    if (this.failed !== undefined) return Promise.reject(this.failed);
    const problem = typeof e === 'object' && e !== null ? inputProblem(e as unknown as Record<string, unknown>) : 'expected an object';
    if (problem !== undefined) return Promise.reject(new EmbassyError('input.malformed', `journal: entry: ${problem}`));
    const entry: JournalEntry = {
      seq: this.headNow.seq + 1,
      prev: this.headNow.hash,
      time: new Date(this.now()).toISOString(),
      client: e.client,
      tokenId: e.tokenId,
      activation: e.activation,
      drill: e.drill,
      dataset: e.dataset,
      op: e.op,
      keys: [...e.keys],
      status: e.status,
    };
    if (e.version !== undefined) entry.version = e.version;
    let bytes: Uint8Array;
    try {
      bytes = utf8.encode(canonicalJson(entry));
    } catch (err) {
      return Promise.reject(err); // json.invalid: a lone surrogate in a string
    }
    if (bytes.length > MAX_JOURNAL_LINE) {
      return Promise.reject(new EmbassyError('input.too-large', `journal: entry of ${bytes.length} bytes, at most ${MAX_JOURNAL_LINE}`));
    }
    const hash = hashJournalLine(bytes);
    this.headNow = { seq: entry.seq, hash };
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes, seq: entry.seq, hash, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  // One batch at a time: everything queued is written with one write and one fdatasync, then
  // acknowledged. The file is opened 'a', so each write lands at the end.
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let size = 0;
      for (const p of batch) size += p.bytes.length + 1;
      const out = new Uint8Array(size);
      let o = 0;
      for (const p of batch) {
        out.set(p.bytes, o);
        o += p.bytes.length;
        out[o++] = 0x0a;
      }
      try {
        for (let off = 0; off < out.length; ) {
          const { bytesWritten } = await this.fh.write(out, off, out.length - off);
          off += bytesWritten;
        }
        // fdatasync: the data and the file size, which is what an append needs to be durable.
        await this.fh.datasync();
      } catch (err) {
        // Failed, and maybe partly written: a torn tail that the next open() cuts off. Nothing
        // in this batch or after it is acknowledged, and nothing more is accepted.
        this.failed = new EmbassyError('store.io', `journal: cannot append to ${this.path}: ${(err as Error).message}`, {
          cause: err,
          hint: 'nothing can be served until the journal is writable; restart the server after fixing the disk',
        });
        for (const p of [...batch, ...this.queue]) p.reject(this.failed);
        this.queue = [];
        break;
      }
      // Durable now: acknowledge in seq order.
      for (const p of batch) p.resolve({ seq: p.seq, hash: p.hash });
    }
    this.flushing = false;
    for (const f of this.idle.splice(0)) f();
  }

  /** Waits for every pending append, then closes the file and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing) await new Promise<void>((r) => this.idle.push(r));
    try {
      await this.fh.close();
    } finally {
      await this.release();
    }
  }
}
