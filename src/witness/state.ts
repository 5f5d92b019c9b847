// What a witness remembers per trusted log (c2sp.org/tlog-witness): the log's verifier key and
// the latest checkpoint it cosigned (size, root hash, and the signed note as evidence). The only
// way to move a log forward is compareAndSet, which is atomic per origin, so two requests from
// the same old size can never both be cosigned and a stored head can never roll back.
import { EmbassyError } from '../errors.ts';
import { bytesEqual } from '../format/bytes.ts';
import { EMPTY_ROOT, type Hash } from '../log/merkle.ts';

/** A tree head the witness has cosigned (size 0 and the empty root before the first one). */
export interface WitnessTreeHead {
  size: bigint;
  root: Hash;
}

export interface WitnessLog extends WitnessTreeHead {
  /** The checkpoint origin line; the key of the state. */
  origin: string;
  /** The log's note verifier key string (type 0x01, Ed25519). */
  verifierKey: string;
  /** The signed checkpoint note last cosigned, kept as evidence; undefined before the first. */
  checkpoint: string | undefined;
}

/**
 * Durability contract: when addLog or compareAndSet resolves, the change is durable (it survives
 * a crash or power loss) and visible to every later get, in this and any other process sharing
 * the same backing store.
 */
export interface WitnessState {
  get(origin: string): Promise<WitnessLog | undefined>;
  /**
   * Moves the log's head from `expectedOld` to `next` only if the stored head is exactly
   * `expectedOld` (size and root); resolves false, changing nothing, otherwise or if the origin
   * is not trusted. The check and the write are one atomic step.
   */
  compareAndSet(origin: string, expectedOld: WitnessTreeHead, next: WitnessTreeHead & { checkpoint: string }): Promise<boolean>;
  /**
   * Trusts a log at size 0. Idempotent for the same key; a different key for a trusted origin is
   * refused ('usage'), so that adding a log can never reset or re-key what was cosigned.
   */
  addLog(origin: string, verifierKey: string): Promise<void>;
  list(): Promise<WitnessLog[]>;
}

export function sameHead(a: WitnessTreeHead, b: WitnessTreeHead): boolean {
  return a.size === b.size && bytesEqual(a.root, b.root);
}

export function alreadyTrusted(origin: string): EmbassyError {
  return new EmbassyError('usage', `witness: log ${JSON.stringify(origin)} is already trusted under another key`, {
    hint: 'a witness keeps one key per origin; a re-keyed log needs a new origin',
  });
}

/** In-memory state for tests and single-process tools; nothing survives the process. */
export class MemoryWitnessState implements WitnessState {
  private readonly logs = new Map<string, WitnessLog>();

  async get(origin: string): Promise<WitnessLog | undefined> {
    const l = this.logs.get(origin);
    return l === undefined ? undefined : { ...l, root: l.root.slice() };
  }

  async compareAndSet(origin: string, expectedOld: WitnessTreeHead, next: WitnessTreeHead & { checkpoint: string }): Promise<boolean> {
    // No await between the check and the write: atomic under Node's single thread.
    const l = this.logs.get(origin);
    if (l === undefined || !sameHead(l, expectedOld)) return false;
    this.logs.set(origin, { ...l, size: next.size, root: next.root.slice(), checkpoint: next.checkpoint });
    return true;
  }

  async addLog(origin: string, verifierKey: string): Promise<void> {
    const l = this.logs.get(origin);
    if (l !== undefined) {
      if (l.verifierKey !== verifierKey) throw alreadyTrusted(origin);
      return;
    }
    this.logs.set(origin, { origin, verifierKey, size: 0n, root: EMPTY_ROOT.slice(), checkpoint: undefined });
  }

  async list(): Promise<WitnessLog[]> {
    return [...this.logs.keys()].sort().map((o) => {
      const l = this.logs.get(o)!;
      return { ...l, root: l.root.slice() };
    });
  }
}
