// The mirror's own log as the activation code uses it: typed mirror statements appended one at a
// time (each under a new signed checkpoint, durable when append returns: see LogWriter), and read
// back in order (restart recovery, status). Appends are serialised; a failed append reopens the
// writer from storage before the next one, as LogWriter's contract asks.
import { EmbassyError } from '../errors.ts';
import { readLogEntries } from '../catalog/catalog.ts';
import { openCheckpoint } from '../log/checkpoint.ts';
import { encodeStatement, parseStatement } from '../format/statement.ts';
import { checkedMirrorStatement, parseMirrorStatement, type MirrorStatement } from '../format/mirror-statements.ts';
import { LogWriter, type LogIdentity } from '../sitelog/writer.ts';
import { CHECKPOINT_PATH, type LogStore } from '../store/log-store.ts';

export interface Appended {
  /** Log index of the statement. */
  index: bigint;
  /** Log size after the append, and the signed checkpoint note of that size. */
  size: bigint;
  note: string;
}

/** What the activation manager needs of its own log. */
export interface StatementLog {
  append(s: MirrorStatement): Promise<Appended>;
  /** Every mirror statement in the log, in order (other statement types are skipped). */
  statements(): Promise<{ index: bigint; statement: MirrorStatement }[]>;
}

export class MirrorLog implements StatementLog {
  private writer: LogWriter | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: LogStore,
    private readonly identity: LogIdentity,
    /** Called after every durable append (e.g. to ask the other mirrors to cosign). */
    private readonly onAppend?: (a: Appended) => void,
  ) {}

  append(s: MirrorStatement): Promise<Appended> {
    const bytes = encodeStatement(checkedMirrorStatement(s));
    const run = async (): Promise<Appended> => {
      this.writer ??= await LogWriter.open(this.store, this.identity);
      try {
        const r = await this.writer.append([bytes]);
        const a = { index: r.firstIndex, size: r.checkpoint.size, note: r.note };
        this.onAppend?.(a);
        return a;
      } catch (e) {
        this.writer = undefined;
        throw e;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async statements(): Promise<{ index: bigint; statement: MirrorStatement }[]> {
    const raw = await this.store.get(CHECKPOINT_PATH);
    if (raw === undefined) throw new EmbassyError('log.corrupt', `log ${this.identity.origin}: no checkpoint`);
    const { checkpoint } = openCheckpoint(new TextDecoder().decode(raw), this.identity.verifier, [], { origin: this.identity.origin });
    const out: { index: bigint; statement: MirrorStatement }[] = [];
    for await (const { index, entry } of readLogEntries(this.store, checkpoint.size)) {
      let s: MirrorStatement | undefined;
      try {
        s = parseMirrorStatement(parseStatement(entry));
      } catch (e) {
        throw new EmbassyError('log.corrupt', `log ${this.identity.origin} entry ${index}: ${(e as Error).message}`);
      }
      if (s) out.push({ index, statement: s });
    }
    return out;
  }
}
