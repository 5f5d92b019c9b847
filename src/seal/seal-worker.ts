// The worker thread of SealWorker (seal-worker-pool.ts): seals objects — compress, pad, encrypt,
// hash (object/object.ts) — for a seal running on the main thread, so that zstd and the AEAD run
// beside the tree build instead of after it. Same function, same bytes: only the thread differs.
// Holds the data key's AEAD sub-keys from its 'key' message until 'wipe'.
import { parentPort } from 'node:worker_threads';
import { createDeterministicAead, type DeterministicAead } from '../crypto/aead.ts';
import { EmbassyError } from '../errors.ts';
import { sealObjectWith } from '../object/object.ts';
import type { WorkerReply, WorkerRequest, WorkerResult } from './seal-worker-pool.ts';

const port = parentPort;
if (port === null) throw new Error('seal worker: expected to run in a worker thread');

let aead: DeterministicAead | undefined;

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'key') {
    const key = new Uint8Array(m.key);
    try {
      aead = createDeterministicAead(key);
    } finally {
      key.fill(0);
    }
    port.postMessage({ type: 'ready' } satisfies WorkerReply);
    return;
  }
  if (m.type === 'wipe') {
    aead?.wipe();
    aead = undefined;
    port.close();
    return;
  }
  const results: WorkerResult[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const job of m.jobs) {
    try {
      if (aead === undefined) throw new Error('seal worker: no key');
      const children: Uint8Array[] = [];
      for (let at = 0; at < job.children.length; at += 32) children.push(job.children.subarray(at, at + 32));
      const { id, bytes } = sealObjectWith(aead, { kind: job.kind, children, content: job.content });
      results.push({ n: job.n, id, bytes });
      transfer.push(bytes.buffer as ArrayBuffer);
    } catch (e) {
      results.push({ n: job.n, error: e instanceof EmbassyError ? { code: e.code, message: e.message } : { message: String(e) } });
    } finally {
      // The plaintext was this thread's copy; the caller keeps its own.
      job.content.fill(0);
    }
  }
  port.postMessage({ type: 'sealed', results } satisfies WorkerReply, transfer);
});
