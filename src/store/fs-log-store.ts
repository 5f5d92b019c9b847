// A LogStore on a local filesystem, laid out exactly as the C2SP tlog-tiles resource paths
// below `root` (so any static file server can serve it). Keeps the LogStore durability contract
// with write-to-temp, fsync, rename, and a directory fsync before the checkpoint moves.
import { mkdir, open, rename, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { CHECKPOINT_PATH, type LogStore } from './log-store.ts';
import { fsyncDir } from './fsync.ts';

/** Named points inside put() and commit(); tests inject failures or kill -9 at each of them. */
export type FsLogStep =
  | 'put:temp-written' // temp file complete and fsynced, not yet renamed
  | 'put:renamed' // visible under its name; name not yet durable
  | 'commit:dirs-synced' // every earlier put is durable; checkpoint untouched
  | 'commit:temp-written' // new checkpoint in a temp file, fsynced
  | 'commit:renamed'; // new checkpoint visible; directory not yet fsynced

export type FsLogFaultHook = (step: FsLogStep, path: string) => void | Promise<void>;

const TMP_DIR = '.tmp';
const RESOURCE_PATH_RE = /^(?:checkpoint|tile\/(?:entries|\d{1,2})\/(?:x\d{3}\/)*\d{3}(?:\.p\/\d{1,3})?)$/;

export class FsLogStore implements LogStore {
  readonly root: string;
  private readonly fault: FsLogFaultHook | undefined;
  private readonly dirtyDirs = new Set<string>();
  private tmpCounter = 0;

  constructor(root: string, options?: { fault?: FsLogFaultHook }) {
    this.root = root;
    this.fault = options?.fault;
  }

  private resolve(path: string): string {
    // Only C2SP resource paths: a path from elsewhere (later: an HTTP request) can never
    // escape the log directory or reach the temp folder.
    if (!RESOURCE_PATH_RE.test(path)) {
      throw new EmbassyError('tile.malformed', `log store: not a log resource path: ${JSON.stringify(path)}`);
    }
    return join(this.root, ...path.split('/'));
  }

  async get(path: string): Promise<Uint8Array | undefined> {
    const file = this.resolve(path);
    try {
      return new Uint8Array(await readFile(file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new EmbassyError('store.io', `log store: cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  private async writeTemp(data: Uint8Array): Promise<string> {
    const tmpDir = join(this.root, TMP_DIR);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${process.pid}-${++this.tmpCounter}`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    if (path === CHECKPOINT_PATH) {
      throw new EmbassyError('store.io', 'log store: the checkpoint is written by commit(), not put()');
    }
    const file = this.resolve(path);
    try {
      const dir = dirname(file);
      await mkdir(dir, { recursive: true });
      const tmp = await this.writeTemp(data);
      await this.fault?.('put:temp-written', path);
      await rename(tmp, file);
      // Every directory from the file up to the root may have been created or changed.
      for (let d = dir; ; d = dirname(d)) {
        this.dirtyDirs.add(d);
        if (d === this.root || !d.startsWith(this.root + sep)) break;
      }
      await this.fault?.('put:renamed', path);
    } catch (e) {
      if (e instanceof EmbassyError) throw e;
      throw new EmbassyError('store.io', `log store: cannot write ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async commit(checkpoint: Uint8Array): Promise<void> {
    try {
      // Deepest directories first, so a parent's entry for a new child is synced after the child.
      const dirs = [...this.dirtyDirs].sort((a, b) => b.length - a.length);
      for (const d of dirs) await fsyncDir(d);
      this.dirtyDirs.clear();
      await this.fault?.('commit:dirs-synced', CHECKPOINT_PATH);
      await mkdir(this.root, { recursive: true });
      const tmp = await this.writeTemp(checkpoint);
      await this.fault?.('commit:temp-written', CHECKPOINT_PATH);
      await rename(tmp, join(this.root, CHECKPOINT_PATH));
      await this.fault?.('commit:renamed', CHECKPOINT_PATH);
      await fsyncDir(this.root);
    } catch (e) {
      if (e instanceof EmbassyError) throw e;
      throw new EmbassyError('store.io', `log store: cannot commit checkpoint: ${(e as Error).message}`, { cause: e });
    }
  }

  async recover(): Promise<void> {
    await rm(join(this.root, TMP_DIR), { recursive: true, force: true });
  }

  /** Every resource path present (for tests and tools); excludes temp files. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return;
      }
      for (const n of names) {
        if (n === TMP_DIR) continue;
        const p = join(dir, n);
        const rel = relative(this.root, p).split(sep).join('/');
        if (RESOURCE_PATH_RE.test(rel)) out.push(rel);
        else await walk(p);
      }
    };
    await walk(this.root);
    return out.sort();
  }
}

