// A worker thread that seals objects for the main thread (seal-worker.ts): the tree build hashes
// records while the worker compresses and encrypts the leaves already complete. Sealing is a pure
// function of (data key, object), so where it runs never changes a byte; a worker that cannot
// start or dies makes seal() answer undefined, and the caller seals the object itself.
// The data key crosses once, as a transferred buffer (moved, not copied); the worker keeps only
// the AEAD sub-keys and zeroes them on close().
import { Worker } from 'node:worker_threads';
import { EmbassyError, ERROR_CODES, type ErrorCode } from '../errors.ts';
import type { ObjectContents } from '../object/object.ts';
import type { ObjectId } from '../tree/types.ts';

/** What the main thread asks. */
export type WorkerRequest =
  | { type: 'key'; key: ArrayBuffer }
  | { type: 'seal'; jobs: WorkerJob[] }
  | { type: 'wipe' };

export interface WorkerJob {
  n: number;
  kind: ObjectContents['kind'];
  /** Child ids, concatenated. */
  children: Uint8Array;
  content: Uint8Array;
}

/** What the worker answers. */
export type WorkerReply = { type: 'ready' } | { type: 'sealed'; results: WorkerResult[] };

export type WorkerResult =
  | { n: number; id: ObjectId; bytes: Uint8Array; error?: undefined }
  | { n: number; error: { code?: ErrorCode; message: string } };

export interface SealedObject {
  id: ObjectId;
  bytes: Uint8Array;
}

interface Pending {
  resolve(v: SealedObject | undefined): void;
  reject(e: unknown): void;
}

// The worker runs TypeScript like the main thread: it registers tsx itself, because a worker
// inherits neither a loader registered through tsx's API (bin/embassy.js) nor, for its entry
// module, one given with --import (node --import tsx --test).
const WORKER_URL = new URL('./seal-worker.ts', import.meta.url).href;
const TSX_API_URL = import.meta.resolve('tsx/esm/api');
const BOOTSTRAP = `import(${JSON.stringify(TSX_API_URL)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); });`;

export class SealWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private failed = false;
  private closed = false;
  /** Objects the worker has sealed; for tests and figures. */
  sealed = 0;

  private constructor(dek: Uint8Array) {
    this.worker = new Worker(BOOTSTRAP, { eval: true });
    // Idle, the worker must not keep the process alive (a caller that forgets close() would hang);
    // with seals pending it must, or the process could end while the caller awaits one.
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => this.receive(m));
    this.worker.on('error', () => this.fail());
    this.worker.on('exit', () => this.fail());
    const key = new Uint8Array(dek.length);
    key.set(dek);
    this.worker.postMessage({ type: 'key', key: key.buffer } satisfies WorkerRequest, [key.buffer]);
  }

  /** Starts the worker; it loads while the caller goes on (messages wait for it). */
  static start(dek: Uint8Array): SealWorker {
    return new SealWorker(dek);
  }

  /**
   * Seals an object in the worker. Resolves to undefined when the worker is unavailable (then
   * seal it yourself); rejects with the EmbassyError sealObject would throw for this object.
   * `content` is handed over: it may be emptied (transferred) and must not be used afterwards.
   */
  seal(object: ObjectContents): Promise<SealedObject | undefined> {
    if (this.failed || this.closed) return Promise.resolve(undefined);
    const n = this.next++;
    const children = new Uint8Array(object.children.length * 32);
    object.children.forEach((c, i) => children.set(c, i * 32));
    let content = object.content;
    if (content.byteOffset !== 0 || content.byteLength !== content.buffer.byteLength) content = content.slice();
    const job: WorkerJob = { n, kind: object.kind, children, content };
    const p = new Promise<SealedObject | undefined>((resolve, reject) => this.pending.set(n, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ type: 'seal', jobs: [job] } satisfies WorkerRequest, [content.buffer as ArrayBuffer]);
    return p;
  }

  private receive(m: WorkerReply): void {
    if (m.type !== 'sealed') return;
    for (const r of m.results) {
      const p = this.pending.get(r.n);
      if (p === undefined) continue;
      this.pending.delete(r.n);
      if (r.error === undefined) {
        this.sealed++;
        p.resolve({ id: r.id, bytes: r.bytes });
      } else if (r.error.code !== undefined && (ERROR_CODES as readonly string[]).includes(r.error.code)) {
        p.reject(new EmbassyError(r.error.code, r.error.message));
      } else {
        // Not an error of the object: let the caller seal it and meet the problem itself.
        p.resolve(undefined);
      }
    }
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(): void {
    this.failed = true;
    for (const p of this.pending.values()) p.resolve(undefined);
    this.pending.clear();
  }

  /** Wipes the worker's key material and stops it; pending seals resolve to undefined. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.failed) {
      this.worker.ref();
      this.worker.postMessage({ type: 'wipe' } satisfies WorkerRequest);
      await new Promise<void>((resolve) => {
        this.worker.once('exit', () => resolve());
        // The worker exits once its port closes after 'wipe'; terminate() if it does not soon.
        setTimeout(() => void this.worker.terminate(), 1000).unref();
      });
    }
    this.fail();
  }
}
