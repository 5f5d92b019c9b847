// The pack files of a pack store on disk: <dir>/packs/<2 hex>/<64 hex pack id>.pack, written
// through <dir>/tmp (write, fsync, rename, fsync both directories: durable when write() returns),
// read by range through a small cache of open handles, checked in full, and deleted; damaged ones
// are kept under <dir>/quarantine/ for an operator. Packs are immutable once named (a repair may
// rename good bytes over a damaged file of the same name, and then drops the cached handle).
import { fsyncDir } from './fsync.ts';
import type { FileHandle } from 'node:fs/promises';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { bytesEqual, toHex } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { PACK_ENTRY_HEADER_SIZE, type PackEntry, scanPack } from './pack-format.ts';

/** Named points in writing a pack and in a sweep; tests fail or kill -9 at each of them. */
export type PackStep =
  | 'pack:temp-written' // pack complete and fsynced in tmp/, not yet renamed
  | 'pack:renamed' // under its final name; the name is not yet durable
  | 'pack:durable' // directory fsynced: pack durable; the index does not know it yet
  | 'index:committed' // the pack and its objects are in the index: flushed objects are durable
  | 'gc:packs-durable' // every new pack of the sweep is durable; the index is untouched
  | 'gc:index-committed' // one commit moved live objects to new packs, marked old packs 'deleting'
  | 'gc:pack-deleted' // one old pack file unlinked
  | 'gc:done' // rows of the deleted packs removed
  | 'repair:missing-dropped' // indexed packs whose file is gone are out of the index, objects too
  | 'repair:pack-indexed' // one pack file the index did not know is indexed (its good entries)
  | 'repair:rows-fixed' // rows missing their entry in an intact pack are repointed or dropped
  | 'repair:quarantined' // every damaged pack file also has a durable link under quarantine/
  | 'repair:packs-durable' // the salvaged objects are in new durable packs; the index is untouched
  | 'repair:index-committed' // one commit moved them there, dropped the bad rows, marked 'deleting'
  | 'repair:pack-deleted' // one damaged pack file unlinked from packs/ (its link stays)
  | 'repair:done'; // rows of the damaged packs removed

export type PackFaultHook = (step: PackStep, detail: string) => void | Promise<void>;

export type PackFindingKind =
  | 'pack-missing' // indexed, but the file is gone
  | 'pack-unindexed' // a pack file the index does not know
  | 'pack-hash-mismatch' // the file does not hash to its name
  | 'pack-incomplete' // truncated or malformed: no valid trailer
  | 'object-hash-mismatch' // an entry's bytes do not hash to its id
  | 'index-mismatch' // an index row that does not match the pack's entries
  | 'stray-file'; // a file in packs/ that is not a pack

export interface PackFinding {
  kind: PackFindingKind;
  /** Hex pack id, or a path for stray files. */
  pack: string;
  /** Hex object id, when the finding is about one object. */
  object?: string;
  detail: string;
}

export interface PackCheck {
  size: number;
  /** Entries found by the scan (whole ones, up to any damage). */
  count: number;
  /** Entries whose bytes hash to their id. */
  good: PackEntry[];
  problems: PackFinding[];
}

const PACK_NAME_RE = /^[0-9a-f]{64}\.pack$/;
/** Damaged pack files kept for an operator; outside packs/, so never listed or indexed. */
export const QUARANTINE = 'quarantine';
const MAX_OPEN_HANDLES = 32;

export function io(what: string, e: unknown): EmbassyError {
  if (e instanceof EmbassyError) return e;
  return new EmbassyError('store.io', `pack store: ${what}: ${(e as Error).message}`, { cause: e });
}

export const isNotFound = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

export { fsyncDir };

interface Handle {
  fh: Promise<FileHandle>;
  users: number;
  evicted: boolean;
}

export class PackFiles {
  readonly dir: string;
  private readonly fault: PackFaultHook | undefined;
  private readonly handles = new Map<string, Handle>();
  private tmpCounter = 0;

  constructor(dir: string, fault?: PackFaultHook) {
    this.dir = dir;
    this.fault = fault;
  }

  path(hex: string): string {
    return join(this.dir, 'packs', hex.slice(0, 2), `${hex}.pack`);
  }

  private subdir(hex: string): string {
    return join(this.dir, 'packs', hex.slice(0, 2));
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'packs'), { recursive: true });
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    // packs/ must itself be durable before any pack below it can be.
    await fsyncDir(this.dir);
  }

  /** Removes leftovers of interrupted writes; returns how many. Only the lock holder may call it. */
  async clearTemp(): Promise<number> {
    const tmpDir = join(this.dir, 'tmp');
    const names = await readdir(tmpDir);
    for (const name of names) await rm(join(tmpDir, name), { recursive: true, force: true });
    return names.length;
  }

  /** Every pack file on disk by hex id, and anything else found under packs/. */
  async list(): Promise<{ packs: Set<string>; strays: string[] }> {
    const packs = new Set<string>();
    const strays: string[] = [];
    const root = join(this.dir, 'packs');
    for (const sub of (await readdir(root)).sort()) {
      const subdir = join(root, sub);
      if (!/^[0-9a-f]{2}$/.test(sub) || !(await stat(subdir)).isDirectory()) {
        strays.push(`packs/${sub}`);
        continue;
      }
      for (const name of (await readdir(subdir)).sort()) {
        if (PACK_NAME_RE.test(name) && name.startsWith(sub)) packs.add(name.slice(0, 64));
        else strays.push(`packs/${sub}/${name}`);
      }
    }
    return { packs, strays };
  }

  /** Writes `bytes` as a pack; when this resolves the pack is durable under its name. */
  async write(bytes: Uint8Array): Promise<Uint8Array> {
    const id = sha256(bytes);
    const hex = toHex(id);
    const tmp = join(this.dir, 'tmp', `${hex}.${++this.tmpCounter}.tmp`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.fault?.('pack:temp-written', hex);
    await mkdir(this.subdir(hex), { recursive: true });
    await rename(tmp, this.path(hex));
    // Only a repair writes over an existing name (good bytes over a damaged file): a cached
    // handle would still read the old file.
    const h = this.handles.get(hex);
    if (h !== undefined) this.evict(hex, h);
    await this.fault?.('pack:renamed', hex);
    await fsyncDir(this.subdir(hex));
    await fsyncDir(join(this.dir, 'packs'));
    await this.fault?.('pack:durable', hex);
    return id;
  }

  async read(hex: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path(hex)));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw io(`cannot read pack ${hex}`, e);
    }
  }

  /** Reads a whole pack and checks its name, structure and every entry's hash. */
  async check(hex: string, onObject?: (id: Uint8Array, bytes: Uint8Array) => void): Promise<PackCheck | undefined> {
    const bytes = await this.read(hex);
    if (bytes === undefined) return undefined;
    const problems: PackFinding[] = [];
    if (toHex(sha256(bytes)) !== hex) problems.push({ kind: 'pack-hash-mismatch', pack: hex, detail: 'pack file does not hash to its name' });
    const scan = scanPack(bytes);
    if (!scan.complete) problems.push({ kind: 'pack-incomplete', pack: hex, detail: scan.problem! });
    const good: PackEntry[] = [];
    for (const e of scan.entries) {
      const body = bytes.subarray(e.offset, e.offset + e.length);
      if (bytesEqual(sha256(body), e.id)) {
        good.push(e);
        onObject?.(e.id, body);
      } else {
        problems.push({
          kind: 'object-hash-mismatch',
          pack: hex,
          object: toHex(e.id),
          detail: `entry at byte ${e.offset - PACK_ENTRY_HEADER_SIZE} does not hash to its id`,
        });
      }
    }
    return { size: bytes.length, count: scan.entries.length, good, problems };
  }

  /**
   * `length` bytes at `offset` of a pack, undefined if the file does not exist; a file that ends
   * early is 'store.corrupt'. Not hash-checked here.
   */
  async readRange(hex: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    let h = this.handles.get(hex);
    if (h === undefined) {
      h = { fh: open(this.path(hex), 'r'), users: 0, evicted: false };
      this.handles.set(hex, h);
      h.fh.catch(() => this.handles.get(hex) === h && this.handles.delete(hex));
      this.trim();
    } else {
      // Most recently used last.
      this.handles.delete(hex);
      this.handles.set(hex, h);
    }
    h.users++;
    try {
      const fh = await h.fh;
      const bytes = new Uint8Array(length);
      const { bytesRead } = await fh.read(bytes, 0, length, offset);
      if (bytesRead !== length) throw new EmbassyError('store.corrupt', `pack store: pack ${hex} ends at byte ${offset + bytesRead}, inside an object`);
      return bytes;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw io(`cannot read pack ${hex}`, e);
    } finally {
      h.users--;
      if (h.evicted && h.users === 0) await this.closeHandle(h);
    }
  }

  private trim(): void {
    for (const [hex, h] of this.handles) {
      if (this.handles.size <= MAX_OPEN_HANDLES) break;
      this.evict(hex, h);
    }
  }

  private evict(hex: string, h: Handle): void {
    this.handles.delete(hex);
    h.evicted = true;
    if (h.users === 0) void this.closeHandle(h);
  }

  private async closeHandle(h: Handle): Promise<void> {
    try {
      await (await h.fh).close();
    } catch {
      // Never opened, or already closed: nothing to release.
    }
  }

  /** Deletes a pack file (no error if already gone); not durable until syncDeletes(). */
  async delete(hex: string): Promise<void> {
    const h = this.handles.get(hex);
    if (h !== undefined) this.evict(hex, h);
    try {
      await unlink(this.path(hex));
    } catch (e) {
      if (!isNotFound(e)) throw io(`cannot delete pack ${hex}`, e);
    }
  }

  /**
   * Keeps a damaged pack file under quarantine/ as <hex>.pack (or <hex>.<n>.pack if that name is
   * another file), durably, before the store drops it: a hard link, so no bytes are copied and the
   * later delete from packs/ leaves it; a copy where links are refused. Finding the same file
   * already linked (a repair run again after a crash) does nothing. Returns the path relative to
   * the store, or undefined if the pack file is gone.
   */
  async quarantine(hex: string): Promise<string | undefined> {
    const dir = join(this.dir, QUARANTINE);
    const src = this.path(hex);
    let source;
    try {
      source = await stat(src);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw io(`cannot quarantine pack ${hex}`, e);
    }
    try {
      if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(this.dir);
      for (let n = 1; ; n++) {
        const name = n === 1 ? `${hex}.pack` : `${hex}.${n}.pack`;
        const dest = join(dir, name);
        try {
          await link(src, dest);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') {
            const there = await stat(dest);
            if (there.ino === source.ino && there.dev === source.dev) return `${QUARANTINE}/${name}`;
            continue;
          }
          if (code === 'ENOENT') return undefined;
          // No hard links here (some network and FUSE file systems): copy through tmp/.
          const tmp = join(this.dir, 'tmp', `${hex}.${++this.tmpCounter}.quarantine`);
          await copyFile(src, tmp);
          const fh = await open(tmp, 'r+');
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
          await rename(tmp, dest);
        }
        await fsyncDir(dir);
        return `${QUARANTINE}/${name}`;
      }
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw io(`cannot quarantine pack ${hex}`, e);
    }
  }

  /** Makes earlier deletions of these packs durable. */
  async syncDeletes(hexes: Iterable<string>): Promise<void> {
    const dirs = new Set([...hexes].map((hex) => this.subdir(hex)));
    for (const d of dirs) await fsyncDir(d).catch((e) => {
      if (!isNotFound(e)) throw io('cannot sync the pack directory', e);
    });
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    for (const h of all) await this.closeHandle(h);
  }
}
