// The three programs under test, each driven through its own command line with encryption on:
// embassy (this repository's CLI), restic (repository format 2, compression auto) and borg 1.2
// (repokey-blake2). Each lives in one directory with its repository and its cache, so a day-0
// state can be copied and every change scenario starts from the same bytes.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchError, copyTree, fileBytes, hasCommand, runTimed, type Timed } from './measure.ts';

export const DATASET_ID = 'nl.brp.personen';
export const DATASET_KEY = 'burgerservicenummer';
const PASSWORD = 'embassy-bench-not-a-secret';

/** borg's default is lz4; zstd,3 puts borg on the same compressor as embassy and restic (zstd). */
export const BORG_COMPRESSION = process.env.BENCH_BORG_COMPRESSION ?? 'zstd,3';

/** The embassy CLI at `bin` (a frozen copy, see code.ts), run with this Node. */
export class Embassy {
  constructor(
    readonly bin: string,
    readonly scratch: string,
  ) {}

  run(args: string[]): Promise<Timed> {
    return runTimed(process.execPath, [this.bin, ...args], { scratch: this.scratch });
  }
}

export function parseJson<T>(what: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new BenchError(`${what}: expected JSON on stdout, got ${JSON.stringify(text.slice(0, 300))}`);
  }
}

export interface IngestResult {
  version: number;
  root: string;
  records: number;
  added: number;
  updated: number;
  deleted: number;
  newObjects: number;
  newBytes: number;
  reusedObjects: number;
  seconds: number;
}

export interface VerifyResult {
  ok: boolean;
  packs?: { packs: number; objects: number; bytes: number };
  versions?: { versions: number; objects: number; bytes: number; records: number };
  findings: unknown[];
  seconds: number;
}

/** An embassy home site with one person dataset. */
export class EmbassySite {
  constructor(
    readonly dir: string,
    private readonly embassy: Embassy,
  ) {}

  static async create(dir: string, embassy: Embassy): Promise<EmbassySite> {
    await embassy.run(['init', '--dir', dir, '--name', 'bench', '--role', 'home', '--json']);
    await embassy.run(['dataset', 'add', '--dir', dir, '--id', DATASET_ID, '--key', DATASET_KEY, '--json']);
    return new EmbassySite(dir, embassy);
  }

  async copyTo(dir: string): Promise<EmbassySite> {
    await copyTree(this.dir, dir);
    return new EmbassySite(dir, this.embassy);
  }

  async ingest(file: string, changes: boolean): Promise<{ timed: Timed; result: IngestResult }> {
    const args = ['ingest', '--dir', this.dir, '--dataset', DATASET_ID, file, '--json'];
    if (changes) args.push('--changes');
    const timed = await this.embassy.run(args);
    return { timed, result: parseJson<IngestResult>('embassy ingest', timed.stdout) };
  }

  async verifyBlind(): Promise<{ timed: Timed; result: VerifyResult }> {
    const timed = await this.embassy.run(['verify', '--dir', this.dir, '--blind', '--json']);
    return { timed, result: parseJson<VerifyResult>('embassy verify', timed.stdout) };
  }

  /** What the site stores for its datasets: the pack files and their index (file bytes). */
  storedBytes(): Promise<number> {
    return fileBytes(join(this.dir, 'objects'));
  }
}

export interface BackupRun {
  timed: Timed;
  /** The tool's own summary (restic's summary message, borg's --json stats), for the record. */
  summary: unknown;
}

/** A peer backup program with its repository and cache under one directory. */
export interface Peer {
  readonly name: 'restic' | 'borg';
  readonly root: string;
  /** Flags that matter for the comparison, as run. */
  readonly settings: string;
  backup(file: string, label: string): Promise<BackupRun>;
  /** Bytes of the repository's files (its cache is not counted). */
  repoBytes(): Promise<number>;
  copyTo(root: string): Promise<Peer>;
}

export const PEER_INSTALL: Record<Peer['name'], string> = {
  restic: 'restic not installed: apt-get install restic',
  borg: 'borg not installed: apt-get install borgbackup',
};

export async function peerAvailable(name: Peer['name']): Promise<boolean> {
  return hasCommand(name);
}

/**
 * restic with its default local cache (moved into the bench directory): a first backup with a
 * cache is what users run. The cache is not counted in the repository's bytes.
 */
export class Restic implements Peer {
  readonly name = 'restic';
  readonly settings = 'init --repository-version 2 (compression auto, AES-256 + Poly1305); backup with the default cache';
  private constructor(
    readonly root: string,
    private readonly scratch: string,
  ) {}

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      RESTIC_REPOSITORY: join(this.root, 'repo'),
      RESTIC_PASSWORD: PASSWORD,
      RESTIC_CACHE_DIR: join(this.root, 'cache'),
      RESTIC_PROGRESS_FPS: '0.2',
    };
  }

  static async create(root: string, scratch: string): Promise<Restic> {
    await mkdir(root, { recursive: true });
    const r = new Restic(root, scratch);
    await runTimed('restic', ['init', '--repository-version', '2'], { env: r.env(), scratch });
    return r;
  }

  async backup(file: string, label: string): Promise<BackupRun> {
    const timed = await runTimed('restic', ['backup', '--json', '--host', 'bench', '--tag', label, file], { env: this.env(), scratch: this.scratch });
    const line = timed.stdout.split('\n').reverse().find((l) => l.includes('"message_type":"summary"'));
    return { timed, summary: line ? parseJson('restic backup', line) : null };
  }

  repoBytes(): Promise<number> {
    return fileBytes(join(this.root, 'repo'));
  }

  async copyTo(root: string): Promise<Peer> {
    await copyTree(this.root, root);
    return new Restic(root, this.scratch);
  }
}

/** borg 1.2 with its base directory (cache, security, keys) inside the bench directory. */
export class Borg implements Peer {
  readonly name = 'borg';
  readonly settings = `init -e repokey-blake2; create --compression ${BORG_COMPRESSION}`;
  private constructor(
    readonly root: string,
    private readonly scratch: string,
  ) {}

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      BORG_REPO: join(this.root, 'repo'),
      BORG_PASSPHRASE: PASSWORD,
      BORG_BASE_DIR: join(this.root, 'base'),
      BORG_DISPLAY_PASSPHRASE: 'no',
      // Scenario copies move the repository; borg would otherwise ask whether that is expected.
      BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
    };
  }

  static async create(root: string, scratch: string): Promise<Borg> {
    await mkdir(join(root, 'base'), { recursive: true });
    const b = new Borg(root, scratch);
    await runTimed('borg', ['init', '-e', 'repokey-blake2'], { env: b.env(), scratch });
    return b;
  }

  async backup(file: string, label: string): Promise<BackupRun> {
    const timed = await runTimed('borg', ['create', '--compression', BORG_COMPRESSION, '--stats', '--json', `::${label}`, file], { env: this.env(), scratch: this.scratch });
    let summary: unknown = null;
    try {
      summary = JSON.parse(timed.stdout);
    } catch {
      summary = null;
    }
    return { timed, summary };
  }

  repoBytes(): Promise<number> {
    return fileBytes(join(this.root, 'repo'));
  }

  async copyTo(root: string): Promise<Peer> {
    await copyTree(this.root, root);
    return new Borg(root, this.scratch);
  }
}
