// A worker thread that seals objects for the main thread (seal-worker.ts): the tree build hashes
// records while the worker compresses and encrypts the leaves already complete. Sealing is a pure
// function of (data key, object), so where it runs never changes a byte. Each job goes to
// whichever thread takes it first (a compare-and-swap on shared memory): when the caller needs a
// job the worker has not started — the worker is slow to load, has died, or gets no CPU on a
// busy machine — the caller takes it back and seals it itself, so a worker never makes a seal
// slower than sealing alone would be, only costs the encoding it is handed.
// The data key crosses once, as a transferred buffer (moved, not copied); the worker keeps only
// the AEAD sub-keys and zeroes them on close().
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { ObjectContents } from '../object/object.ts';
import type { ObjectId } from '../tree/types.ts';

/** What the main thread asks. */
export type WorkerRequest =
  | { type: 'key'; key: ArrayBuffer; results: MessagePort; slots: SharedArrayBuffer }
  | { type: 'seal'; jobs: WorkerJob[] }
  | { type: 'wipe' };

export interface WorkerJob {
  n: number;
  kind: ObjectContents['kind'];
  /** Child ids, concatenated. */
  children: Uint8Array;
  content: Uint8Array;
}

/** What the worker answers, one message per job it sealed (or failed to). */
export interface WorkerResult {
  n: number;
  id?: ObjectId;
  bytes?: Uint8Array;
}

export interface SealedObject {
  id: ObjectId;
  bytes: Uint8Array;
}

/**
 * Shared job slots, two Int32Arrays of SLOTS entries: the state of job n at n % SLOTS, and n
 * itself (so that a late worker never takes a slot that a newer job reuses).
 */
export const SLOTS = 1024;
export const QUEUED = 0;
export const BY_WORKER = 1;
export const BY_CALLER = 2;
export const DONE = 3;

/** Jobs per message. */
const BATCH_JOBS = 4;
/** The longest the caller waits for a job the worker has started before sealing it itself. */
const MAX_WAIT_MS = 2000;

// The worker runs TypeScript like the main thread: it registers tsx itself, because a worker
// inherits neither a loader registered through tsx's API (bin/embassy.js) nor, for its entry
// module, one given with --import (node --import tsx --test).
const WORKER_URL = new URL('./seal-worker.ts', import.meta.url).href;
const TSX_API_URL = import.meta.resolve('tsx/esm/api');
const BOOTSTRAP = `import(${JSON.stringify(TSX_API_URL)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); });`;

export class SealWorker {
  private readonly worker: Worker;
  /**
   * Where results come back. A port of its own, read with receiveMessageOnPort: the caller is
   * busy in a chain of promises and would otherwise see them only at its next turn of the event
   * loop, a wait per leaf that costs more than sealing it.
   */
  private readonly results: MessagePort;
  private readonly state: Int32Array;
  private readonly owner: Int32Array;
  private readonly done = new Map<number, SealedObject | undefined>();
  /** Jobs not yet posted: they go in batches, a message per job costs more than a small seal. */
  private outbox: WorkerJob[] = [];
  private outboxTransfer: ArrayBuffer[] = [];
  private next = 0;
  private closed = false;
  private exited = false;
  /** Objects the worker sealed and the caller took; for tests and figures. */
  sealed = 0;

  private constructor(dek: Uint8Array) {
    this.worker = new Worker(BOOTSTRAP, { eval: true });
    // The caller never waits for the worker through the event loop, so it must not keep the
    // process alive (a caller that forgets close() would hang).
    this.worker.unref();
    this.worker.on('error', () => undefined); // it exits; jobs it has not taken are taken back
    this.worker.on('exit', () => {
      this.exited = true;
    });
    const { port1, port2 } = new MessageChannel();
    this.results = port2;
    const slots = new SharedArrayBuffer(2 * SLOTS * 4);
    this.state = new Int32Array(slots, 0, SLOTS);
    this.owner = new Int32Array(slots, SLOTS * 4, SLOTS);
    const key = new Uint8Array(dek.length);
    key.set(dek);
    this.worker.postMessage({ type: 'key', key: key.buffer, results: port1, slots } satisfies WorkerRequest, [key.buffer, port1]);
  }

  /** Starts the worker; it loads while the caller goes on (jobs wait for it, or are taken back). */
  static start(dek: Uint8Array): SealWorker {
    return new SealWorker(dek);
  }

  /**
   * Queues an object to seal; take(job) gets it. `content` is handed over: it may be emptied
   * (transferred) and must not be used afterwards.
   */
  submit(object: ObjectContents): number {
    const n = this.next++;
    if (this.closed) return n;
    const slot = n % SLOTS;
    Atomics.store(this.owner, slot, n);
    Atomics.store(this.state, slot, QUEUED);
    const children = new Uint8Array(object.children.length * 32);
    object.children.forEach((c, i) => children.set(c, i * 32));
    let content = object.content;
    if (content.byteOffset !== 0 || content.byteLength !== content.buffer.byteLength) content = content.slice();
    this.outbox.push({ n, kind: object.kind, children, content });
    this.outboxTransfer.push(content.buffer as ArrayBuffer);
    if (this.outbox.length >= BATCH_JOBS) this.post();
    return n;
  }

  /** Posts the jobs not yet posted. */
  private post(): void {
    if (this.outbox.length === 0) return;
    if (!this.exited) this.worker.postMessage({ type: 'seal', jobs: this.outbox } satisfies WorkerRequest, this.outboxTransfer);
    this.outbox = [];
    this.outboxTransfer = [];
  }

  /**
   * The sealed object of a job, or undefined: then the caller seals it (the worker will not).
   * Waits only for a job the worker is sealing right now.
   */
  take(n: number): SealedObject | undefined {
    if (this.closed) return undefined;
    this.post();
    this.poll();
    if (this.done.has(n)) return this.result(n);
    const slot = n % SLOTS;
    if (Atomics.load(this.owner, slot) !== n) return undefined;
    if (Atomics.compareExchange(this.state, slot, QUEUED, BY_CALLER) === QUEUED) return undefined;
    const until = performance.now() + MAX_WAIT_MS;
    while (Atomics.load(this.state, slot) === BY_WORKER) {
      const left = until - performance.now();
      if (left <= 0) return undefined;
      Atomics.wait(this.state, slot, BY_WORKER, left);
    }
    // DONE: the worker posted the result before it said so.
    this.poll();
    return this.done.has(n) ? this.result(n) : undefined;
  }

  private result(n: number): SealedObject | undefined {
    const r = this.done.get(n);
    this.done.delete(n);
    if (r !== undefined) this.sealed++;
    return r;
  }

  /** Takes the results that have come back so far. */
  private poll(): void {
    for (;;) {
      const m = receiveMessageOnPort(this.results);
      if (m === undefined) return;
      const r = m.message as WorkerResult;
      // An error of the object: the caller seals it and meets the error itself.
      this.done.set(r.n, r.id !== undefined && r.bytes !== undefined ? { id: r.id, bytes: r.bytes } : undefined);
    }
  }

  /** Forgets a job the caller no longer needs. */
  drop(n: number): void {
    this.done.delete(n);
    const slot = n % SLOTS;
    if (Atomics.load(this.owner, slot) === n) Atomics.compareExchange(this.state, slot, QUEUED, BY_CALLER);
  }

  /** Wipes the worker's key material and stops it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.outbox = [];
    this.outboxTransfer = [];
    this.done.clear();
    if (!this.exited) {
      this.worker.ref();
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.postMessage({ type: 'wipe' } satisfies WorkerRequest);
      // The worker exits once its port closes after 'wipe'; terminate() if it does not soon.
      const timer = setTimeout(() => void this.worker.terminate(), 1000);
      await exited;
      clearTimeout(timer);
    }
    this.results.close();
  }
}
