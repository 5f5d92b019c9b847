// An in-memory LogStore for tests and for building logs that are then copied elsewhere.
// It keeps the durability contract trivially: everything is "durable" once the call returns.
import { CHECKPOINT_PATH, type LogStore } from './log-store.ts';

export class MemoryLogStore implements LogStore {
  readonly objects = new Map<string, Uint8Array>();

  async get(path: string): Promise<Uint8Array | undefined> {
    const v = this.objects.get(path);
    return v === undefined ? undefined : v.slice();
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    if (path === CHECKPOINT_PATH) throw new Error('memory log store: the checkpoint is written by commit()');
    this.objects.set(path, data.slice());
  }

  async commit(checkpoint: Uint8Array): Promise<void> {
    this.objects.set(CHECKPOINT_PATH, checkpoint.slice());
  }

  async recover(): Promise<void> {}
}
