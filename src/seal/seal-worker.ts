// The worker thread of SealWorker (seal-worker-pool.ts): seals objects — compress, pad, encrypt,
// hash (object/object.ts) — for a seal running on the main thread, so that zstd and the AEAD run
// beside the tree build instead of inside it. Same function, same bytes: only the thread differs.
// A job is sealed here only if this thread wins its slot; the caller may have taken it back.
// Holds the data key's AEAD sub-keys from its 'key' message until 'wipe'.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { createDeterministicAead, type DeterministicAead } from '../crypto/aead.ts';
import { sealObjectWith } from '../object/object.ts';
import { BY_WORKER, DONE, QUEUED, SLOTS, type WorkerRequest, type WorkerResult } from './seal-worker-pool.ts';

const port = parentPort;
if (port === null) throw new Error('seal worker: expected to run in a worker thread');

let aead: DeterministicAead | undefined;
let results: MessagePort | undefined;
let state: Int32Array | undefined;
let owner: Int32Array | undefined;

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'key') {
    const key = new Uint8Array(m.key);
    try {
      aead = createDeterministicAead(key);
    } finally {
      key.fill(0);
    }
    results = m.results;
    state = new Int32Array(m.slots, 0, SLOTS);
    owner = new Int32Array(m.slots, SLOTS * 4, SLOTS);
    return;
  }
  if (m.type === 'wipe') {
    aead?.wipe();
    aead = undefined;
    results?.close();
    port.close();
    return;
  }
  for (const job of m.jobs) {
    try {
      const slot = job.n % SLOTS;
      if (aead === undefined || results === undefined || state === undefined || owner === undefined) continue;
      if (Atomics.load(owner, slot) !== job.n || Atomics.compareExchange(state, slot, QUEUED, BY_WORKER) !== QUEUED) continue;
      const r: WorkerResult = { n: job.n };
      try {
        const children: Uint8Array[] = [];
        for (let at = 0; at < job.children.length; at += 32) children.push(job.children.subarray(at, at + 32));
        const sealed = sealObjectWith(aead, { kind: job.kind, children, content: job.content });
        r.id = sealed.id;
        r.bytes = sealed.bytes;
      } catch {
        // The caller seals it again and meets the error itself.
      }
      results.postMessage(r, r.bytes === undefined ? [] : [r.bytes.buffer as ArrayBuffer]);
      // Posted first: a caller woken by DONE finds the result on its port.
      Atomics.store(state, slot, DONE);
      Atomics.notify(state, slot);
    } finally {
      // The plaintext was handed over to this thread: wipe it, as sealObject wipes its payload.
      job.content.fill(0);
    }
  }
});
