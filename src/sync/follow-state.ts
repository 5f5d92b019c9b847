// What a mirror keeps per home it follows, under <site>/follow/<home>/:
//
//   log/            the copy of the home's log (tlog-tiles, the home's own signed checkpoint)
//   receipt         the newest receipt this mirror gave: the home checkpoint + its cosignature
//   receipts.jsonl  one line per receipt given: size, cosignature time, local time in ms
//   state.json      needsFullWalk (set by a scrub that found damage, cleared by a complete full
//                   pass) and the divergences seen (forks, rollbacks), kept as evidence
//
// Every file is replaced atomically (src/store/atomic-file.ts); receipts.jsonl is appended and
// fsynced, and a torn last line (a crash mid-append) is ignored when read.
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { FsLogStore } from '../store/fs-log-store.ts';
import type { DivergenceEvidence } from '../sitelog/copy.ts';

export interface DivergenceRecord extends DivergenceEvidence {
  /** ISO time it was first seen. */
  at: string;
}

export interface FollowStateFile {
  needsFullWalk: boolean;
  /** Why a full walk is needed (the scrub's summary), for status. */
  damage?: string;
  divergences: DivergenceRecord[];
  lastPass?: { at: string; status: string; size: string; error?: string };
}

export interface ReceiptHistoryLine {
  size: string;
  cosignedAt: string;
  /** Local wall clock when the receipt was durable, ms since the epoch. */
  writtenAtMs: number;
}

const MAX_DIVERGENCES = 20;

export class FollowState {
  private constructor(
    readonly dir: string,
    readonly home: string,
  ) {}

  static async open(siteDir: string, home: string): Promise<FollowState> {
    const dir = join(siteDir, 'follow', home);
    await mkdir(join(dir, 'log'), { recursive: true });
    return new FollowState(dir, home);
  }

  logStore(): FsLogStore {
    return new FsLogStore(join(this.dir, 'log'));
  }

  async readReceipt(): Promise<string | undefined> {
    return readOptional(join(this.dir, 'receipt'));
  }

  async writeReceipt(note: string, line: Omit<ReceiptHistoryLine, 'writtenAtMs'>): Promise<void> {
    await writeFileAtomic(join(this.dir, 'receipt'), note);
    const entry: ReceiptHistoryLine = { ...line, writtenAtMs: Date.now() };
    const path = join(this.dir, 'receipts.jsonl');
    await appendFile(path, JSON.stringify(entry) + '\n');
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async receiptHistory(): Promise<ReceiptHistoryLine[]> {
    const text = (await readOptional(join(this.dir, 'receipts.jsonl'))) ?? '';
    const out: ReceiptHistoryLine[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        out.push(JSON.parse(line) as ReceiptHistoryLine);
      } catch {
        // a torn last line
      }
    }
    return out;
  }

  async read(): Promise<FollowStateFile> {
    const text = await readOptional(join(this.dir, 'state.json'));
    if (text === undefined) return { needsFullWalk: false, divergences: [] };
    try {
      const s = JSON.parse(text) as FollowStateFile;
      return { needsFullWalk: s.needsFullWalk === true, ...(s.damage ? { damage: s.damage } : {}), divergences: Array.isArray(s.divergences) ? s.divergences : [], ...(s.lastPass ? { lastPass: s.lastPass } : {}) };
    } catch {
      throw new EmbassyError('site.config', `follow: ${join(this.dir, 'state.json')} is not valid JSON`);
    }
  }

  async update(change: (s: FollowStateFile) => FollowStateFile): Promise<FollowStateFile> {
    const next = change(await this.read());
    next.divergences = next.divergences.slice(-MAX_DIVERGENCES);
    await writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(next, null, 2) + '\n');
    return next;
  }

  /** Records a divergence once (by the presented note). */
  async recordDivergence(e: DivergenceEvidence): Promise<void> {
    await this.update((s) =>
      s.divergences.some((d) => d.presented === e.presented) ? s : { ...s, divergences: [...s.divergences, { ...e, at: new Date().toISOString() }] },
    );
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EmbassyError('store.io', `follow: cannot read ${path}: ${(e as Error).message}`);
  }
}
