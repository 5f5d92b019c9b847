// A mirror's copy of another site's log, byte for byte in the same tlog-tiles layout, built
// without trusting anything the other site serves except its signature. The copy recomputes
// every tile from the entries itself (the served tiles are never used) and extends its own
// verified tree with the new entries; only if the root it computes equals the root in the new
// signed checkpoint does it store them and move its checkpoint to that note. Because the old
// tiles are the copy's own, equality also proves that the new tree extends the one seen before
// (RFC 6962 consistency, without a proof from the peer). A peer that shows a smaller tree, a
// different tree of the same size, or entries that do not make its checkpoint is refused with
// 'log.inconsistent', and nothing is written.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, toHex } from '../format/bytes.ts';
import { openCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import { TreeEdge } from '../log/edge.ts';
import type { NoteVerifier } from '../log/note.ts';
import type { LogStore } from '../store/log-store.ts';
import { TiledAppender, loadLogState, type LogState } from './writer.ts';

export type Divergence = 'rollback' | 'fork' | 'entries-mismatch';

/** Thrown (as its cause) when the peer's log cannot be a continuation of the copy. */
export interface DivergenceEvidence {
  kind: Divergence;
  /** The checkpoint note the copy holds (verified earlier); '' when it holds none. */
  held: string;
  /** The peer's new checkpoint note, validly signed by the peer's log key. */
  presented: string;
}

export class LogDivergence extends EmbassyError {
  constructor(
    message: string,
    readonly evidence: DivergenceEvidence,
  ) {
    super('log.inconsistent', message, {
      hint: 'the peer signed a log that contradicts what this site saw before: keep both notes as evidence and tell its operator',
    });
  }
}

export class LogCopy extends TiledAppender {
  private constructor(
    store: LogStore,
    origin: string,
    private readonly verifier: NoteVerifier,
    state: LogState,
    private held: boolean,
  ) {
    super(store, origin, state);
  }

  /** Opens the copy in `store`; an empty store is a copy of size 0 that holds no checkpoint yet. */
  static async open(store: LogStore, origin: string, verifier: NoteVerifier): Promise<LogCopy> {
    const state = await loadLogState(store, origin, verifier);
    if (state !== undefined) return new LogCopy(store, origin, verifier, state, true);
    const edge = TreeEdge.empty();
    const checkpoint: Checkpoint = { origin, size: 0n, root: edge.root(), extensions: [] };
    return new LogCopy(store, origin, verifier, { edge, bundle: [], current: { checkpoint, note: '' } }, false);
  }

  /** True once a checkpoint of the peer is stored. */
  get holdsCheckpoint(): boolean {
    return this.held;
  }

  /**
   * Checks the peer's signed checkpoint `note` against the copy without writing: undefined when
   * it is the same tree, otherwise how many entries to fetch (from this.checkpoint.size).
   * Throws LogDivergence for a rollback or a fork at the same size.
   */
  check(note: string): { checkpoint: Checkpoint; missing: bigint } | undefined {
    const { checkpoint } = openCheckpoint(note, this.verifier, [], { origin: this.origin });
    const mine = this.checkpoint;
    const evidence = (kind: Divergence): DivergenceEvidence => ({ kind, held: this.note, presented: note });
    if (checkpoint.size < mine.size) {
      throw new LogDivergence(
        `log ${this.origin}: the peer shows size ${checkpoint.size}, smaller than the ${mine.size} seen before (rollback)`,
        evidence('rollback'),
      );
    }
    if (checkpoint.size === mine.size) {
      if (!bytesEqual(checkpoint.root, mine.root)) {
        if (!this.held && checkpoint.size === 0n) return { checkpoint, missing: 0n };
        throw new LogDivergence(
          `log ${this.origin}: the peer shows root ${toHex(checkpoint.root)} at size ${checkpoint.size}, where ${toHex(mine.root)} was seen before (fork)`,
          evidence('fork'),
        );
      }
      return this.held ? undefined : { checkpoint, missing: 0n };
    }
    return { checkpoint, missing: checkpoint.size - mine.size };
  }

  /**
   * Extends the copy to the peer's checkpoint `note` with `entries` — exactly the entries from
   * the copy's size to the note's size. Writes only when the recomputed root is the note's root.
   */
  async extendTo(note: string, entries: readonly Uint8Array[]): Promise<Checkpoint> {
    const checked = this.check(note);
    if (checked === undefined) return this.checkpoint;
    if (BigInt(entries.length) !== checked.missing) {
      throw new EmbassyError('input.malformed', `log ${this.origin}: expected ${checked.missing} entries to reach size ${checked.checkpoint.size}, got ${entries.length}`);
    }
    const result = await this.extend(entries, (computed) => {
      if (!bytesEqual(computed.root, checked.checkpoint.root)) {
        throw new LogDivergence(
          `log ${this.origin}: the peer's entries ${this.checkpoint.size}..${checked.checkpoint.size - 1n} do not make the root of its checkpoint (fork or tampered entries)`,
          { kind: 'entries-mismatch', held: this.note, presented: note },
        );
      }
      return note;
    }, true);
    this.held = true;
    return result.checkpoint;
  }
}
