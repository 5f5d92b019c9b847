// External merge sort by key with bounded memory, for anything with a key and a source line
// (records of a snapshot, changes of a change file). Sorted runs spill encrypted (run-file.ts)
// into a private directory under tmpDir, then merge through a binary heap, in several passes if
// there are more runs than the fan-in. Equal adjacent keys are an error. Nothing is written if
// everything fits in memory, nor for a source in key order already that can be read twice
// (options.replay); the run directory is removed however the iteration ends.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';
import { compareKeys } from '../tree/params.ts';
import { RUN_KEY_BYTES, RunReader, RunWriter } from './run-file.ts';

export interface Sortable {
  key: string;
  line: number;
}

/** How items are framed in a run block and how much memory they are reckoned to take. */
export interface RunCodec<T> {
  /** Exact encoded size in bytes. */
  encodedSize(item: T): number;
  /** Writes exactly encodedSize(item) bytes at offset. */
  encode(item: T, into: Buffer, offset: number): void;
  /** Decodes the item at [offset, offset + length); must copy, not view, the block. */
  decode(block: Buffer, offset: number, length: number): T;
  /** Estimated bytes the item takes in memory, for the spill threshold. */
  memorySize(item: T): number;
}

export interface ExternalSortOptions<T> {
  codec: RunCodec<T>;
  /** Spill threshold for the in-memory buffer (estimated); the merge's run blocks add about a quarter. */
  memoryBytes: number;
  /** Parent of the private run directory. */
  tmpDir: string;
  /** Plaintext bytes per encrypted run block; default memoryBytes/64 within [4 KiB, 1 MiB], so a merge takes 16 runs or more. */
  blockBytes?: number;
  /** Throws for an item that cannot be sorted; called once per item as it comes in. */
  validate?: (item: T) => void;
  /** The error for two items with the same key; `first` sorts before `second` (lower line). */
  duplicate(first: T, second: T): EmbassyError;
  /**
   * The same items again, from the start (the source read a second time). With it, a source
   * that is in order already is never spilled: what does not fit in memory is dropped and read
   * again at the end, which costs less than writing and reading encrypted runs. Items must come
   * back exactly as before; `changed` is the error when they do not.
   */
  replay?: () => AsyncIterable<T>;
  changed?: () => EmbassyError;
}

export const DEFAULT_BLOCK_BYTES = 1 << 20;
const MIN_BLOCK_BYTES = 4096;
const MAX_FAN_IN = 128;
const FRAME_BYTES = 4;

function compareItems(a: Sortable, b: Sortable): number {
  return compareKeys(a.key, b.key) || a.line - b.line;
}

interface Cursor<T> {
  head: T | undefined;
  /** Moves to the next item; returns a promise only when a block has to be read. */
  advance(): Promise<void> | undefined;
  close(): Promise<void>;
}

class MemoryCursor<T> implements Cursor<T> {
  head: T | undefined;
  private i = 0;
  constructor(private readonly items: (T | undefined)[]) {
    this.head = items[0];
  }
  advance(): undefined {
    this.items[this.i] = undefined; // let the garbage collector have it
    this.head = this.items[++this.i];
    return undefined;
  }
  async close(): Promise<void> {}
}

class RunCursor<T> implements Cursor<T> {
  head: T | undefined;
  private block: Buffer | undefined;
  private offset = 0;
  constructor(
    private readonly reader: RunReader,
    private readonly codec: RunCodec<T>,
  ) {}

  private take(): boolean {
    const b = this.block;
    if (b === undefined || this.offset >= b.length) return false;
    if (this.offset + FRAME_BYTES > b.length) throw this.corrupt();
    const n = b.readUInt32BE(this.offset);
    const start = this.offset + FRAME_BYTES;
    if (start + n > b.length) throw this.corrupt();
    this.head = this.codec.decode(b, start, n);
    this.offset = start + n;
    return true;
  }

  private corrupt(): EmbassyError {
    // Authenticated bytes that do not frame: a bug, not an attack.
    return new EmbassyError('store.corrupt', `sort: run ${this.reader.runId} has a malformed block`);
  }

  private async refill(): Promise<void> {
    for (;;) {
      this.block?.fill(0);
      this.block = await this.reader.next();
      this.offset = 0;
      if (this.block === undefined) {
        this.head = undefined;
        return;
      }
      if (this.take()) return;
    }
  }

  advance(): Promise<void> | undefined {
    if (this.take()) return undefined;
    return this.refill();
  }

  async start(): Promise<this> {
    await this.refill();
    return this;
  }

  async close(): Promise<void> {
    this.block?.fill(0);
    this.block = undefined;
    await this.reader.close();
  }
}

/** Binary min-heap of cursors ordered by their heads. */
class CursorHeap<T extends Sortable> {
  private readonly a: Cursor<T>[] = [];

  constructor(cursors: Cursor<T>[]) {
    for (const c of cursors) if (c.head !== undefined) this.a.push(c);
    for (let i = (this.a.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.a.length;
  }

  top(): Cursor<T> {
    return this.a[0]!;
  }

  /** Restores order after the top cursor advanced; drops it when exhausted. */
  fix(): void {
    const a = this.a;
    if (a[0]!.head === undefined) {
      const last = a.pop()!;
      if (a.length === 0) return;
      a[0] = last;
    }
    this.down(0);
  }

  private down(i: number): void {
    const a = this.a;
    const n = a.length;
    const c = a[i]!;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && compareItems(a[m + 1]!.head!, a[m]!.head!) < 0) m++;
      if (compareItems(a[m]!.head!, c.head!) >= 0) break;
      a[i] = a[m]!;
      i = m;
    }
    a[i] = c;
  }
}

/** Spill and merge state of one sort: the key, the private directory, the runs, open handles. */
class RunSet<T extends Sortable> {
  private dir: string | undefined;
  private nextId = 0;
  readonly runs: { id: number; path: string }[] = [];
  private readonly open = new Set<{ close(): Promise<void> }>();
  readonly key: Uint8Array;
  readonly blockBytes: number;

  constructor(private readonly options: ExternalSortOptions<T>) {
    // The run key never leaves this object; dispose() wipes it.
    this.key = randomBytes(RUN_KEY_BYTES);
    this.blockBytes =
      options.blockBytes ?? Math.min(DEFAULT_BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, Math.floor(options.memoryBytes / 64)));
  }

  /** Runs merged at once: their blocks together take at most about a quarter of memoryBytes. */
  get fanIn(): number {
    return Math.max(2, Math.min(MAX_FAN_IN, Math.floor(this.options.memoryBytes / (4 * this.blockBytes))));
  }

  private async newRun(): Promise<{ id: number; path: string; writer: RunWriter }> {
    if (this.dir === undefined) {
      try {
        this.dir = await mkdtemp(join(this.options.tmpDir, 'embassy-sort-'));
      } catch (e) {
        const code = (e as { code?: unknown } | null)?.code;
        throw new EmbassyError('store.io', `sort: cannot create a directory in ${this.options.tmpDir}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: e });
      }
    }
    const id = this.nextId++;
    const path = join(this.dir, `run-${id}`);
    const writer = await RunWriter.create(path, this.key, id, this.blockBytes);
    this.open.add(writer);
    return { id, path, writer };
  }

  /**
   * Writes sorted items as a new run. Duplicates are left for the final merge to find, so the
   * one reported is always the first in key order, however the input was split into runs.
   */
  async write(items: AsyncIterable<T> | T[]): Promise<void> {
    const { codec } = this.options;
    const { id, path, writer } = await this.newRun();
    const put = (item: T, size: number): void => {
      writer.block.writeUInt32BE(size - FRAME_BYTES, writer.used);
      codec.encode(item, writer.block, writer.used + FRAME_BYTES);
      writer.used += size;
    };
    // Awaits only when a block is written, so spilling an array costs no per-item microtask.
    if (Array.isArray(items)) {
      for (const item of items) {
        const size = FRAME_BYTES + codec.encodedSize(item);
        if (writer.needsReserve(size)) await writer.reserve(size);
        put(item, size);
      }
    } else {
      for await (const item of items) {
        const size = FRAME_BYTES + codec.encodedSize(item);
        if (writer.needsReserve(size)) await writer.reserve(size);
        put(item, size);
      }
    }
    await writer.finish();
    this.open.delete(writer);
    this.runs.push({ id, path });
  }

  async cursor(run: { id: number; path: string }): Promise<Cursor<T>> {
    const reader = await RunReader.open(run.path, this.key, run.id);
    const c = new RunCursor(reader, this.options.codec);
    this.open.add(c);
    return c.start();
  }

  async release(cursors: Cursor<T>[], runs: { path: string }[]): Promise<void> {
    for (const c of cursors) {
      await c.close();
      this.open.delete(c);
    }
    for (const r of runs) await unlink(r.path).catch(() => {});
  }

  /** Closes everything and removes the directory; never throws. */
  async dispose(): Promise<void> {
    for (const h of this.open) await h.close().catch(() => {});
    this.open.clear();
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true }).catch(() => {});
    this.key.fill(0);
  }
}

/** Items of cursors in (key, line) order. */
async function* merge<T extends Sortable>(cursors: Cursor<T>[]): AsyncGenerator<T> {
  const heap = new CursorHeap(cursors);
  while (heap.size > 0) {
    const c = heap.top();
    const item = c.head!;
    const p = c.advance();
    if (p !== undefined) await p;
    heap.fix();
    yield item;
  }
}

function changedError<T>(options: ExternalSortOptions<T>): EmbassyError {
  return options.changed?.() ?? new EmbassyError('input.malformed', 'sort: the source changed while it was being read');
}

/**
 * The first `count` items of a second reading of the source, which must be in order (they were
 * the first reading's first `count`, all in order). Closes the reading after them.
 */
async function* replayed<T extends Sortable>(options: ExternalSortOptions<T>, count: number): AsyncGenerator<T> {
  const changed = (): EmbassyError => changedError(options);
  let prev: T | undefined;
  let n = 0;
  if (count > 0) {
    for await (const item of options.replay!()) {
      options.validate?.(item);
      if (prev !== undefined && compareItems(prev, item) >= 0) throw changed();
      prev = item;
      yield item;
      if (++n === count) return;
    }
  }
  if (n !== count) throw changed();
}

/**
 * Sorts items by key (compareKeys; equal keys are an error via options.duplicate) with memory
 * bounded by about memoryBytes. The iterable may be consumed once (and options.replay, if given,
 * reads it again).
 */
export async function* sortExternal<T extends Sortable>(source: AsyncIterable<T>, options: ExternalSortOptions<T>): AsyncGenerator<T> {
  const { codec, memoryBytes, duplicate, validate } = options;
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 1) {
    throw new EmbassyError('usage', `sort: memoryBytes must be a positive integer, got ${memoryBytes}`);
  }
  const runs = new RunSet<T>(options);
  try {
    let buffer: T[] = [];
    let bytes = 0;
    // While the source is in (key, line) order, full buffers are dropped instead of spilled when
    // it can be read again: `skipped` items from its start are then left to the second reading.
    let inOrder = true;
    let last: T | undefined;
    let skipped = 0;
    for await (const item of source) {
      validate?.(item);
      if (inOrder && last !== undefined && compareItems(last, item) > 0) {
        inOrder = false;
        // The dropped items are the sorted start of the source: one run, from a second reading.
        if (skipped > 0) await runs.write(replayed(options, skipped));
      }
      last = item;
      buffer.push(item);
      bytes += codec.memorySize(item);
      if (bytes > memoryBytes) {
        if (inOrder && options.replay !== undefined) {
          skipped += buffer.length;
        } else {
          buffer.sort(compareItems);
          await runs.write(buffer);
        }
        buffer = [];
        bytes = 0;
      }
    }
    last = undefined;

    let prev: T | undefined;
    if (inOrder && runs.runs.length === 0) {
      // In order already: the dropped start read again, then what is still in memory.
      const tail = buffer;
      buffer = [];
      // (replayed() inlined: a generator in between would cost a turn per item.)
      let n = 0;
      if (skipped > 0) {
        for await (const item of options.replay!()) {
          validate?.(item);
          if (prev !== undefined) {
            if (compareItems(prev, item) >= 0) throw changedError(options);
            if (compareKeys(prev.key, item.key) === 0) throw duplicate(prev, item);
          }
          prev = item;
          yield item;
          if (++n === skipped) break;
        }
      }
      if (n !== skipped) throw changedError(options);
      for (let i = 0; i < tail.length; i++) {
        const item = tail[i]!;
        tail[i] = undefined as unknown as T; // let the garbage collector have it
        if (prev !== undefined && compareKeys(prev.key, item.key) === 0) throw duplicate(prev, item);
        prev = item;
        yield item;
      }
      return;
    }
    buffer.sort(compareItems);

    // Multi-pass: merge the oldest runs into one until the rest and the buffer fit one merge.
    while (runs.runs.length > runs.fanIn) {
      const group = runs.runs.splice(0, runs.fanIn);
      const cursors: Cursor<T>[] = [];
      for (const r of group) cursors.push(await runs.cursor(r));
      await runs.write(merge(cursors));
      await runs.release(cursors, group);
    }

    const cursors: Cursor<T>[] = [];
    for (const r of runs.runs) cursors.push(await runs.cursor(r));
    if (buffer.length > 0) cursors.push(new MemoryCursor<T>(buffer));
    buffer = [];
    for await (const item of cursors.length === 1 ? drain(cursors[0]!) : merge(cursors)) {
      if (prev !== undefined && compareKeys(prev.key, item.key) === 0) throw duplicate(prev, item);
      prev = item;
      yield item;
    }
  } finally {
    await runs.dispose();
  }
}

/** Items of a single cursor (nothing to merge). */
async function* drain<T>(c: Cursor<T>): AsyncGenerator<T> {
  while (c.head !== undefined) {
    const item = c.head;
    const p = c.advance();
    if (p !== undefined) await p;
    yield item;
  }
}
