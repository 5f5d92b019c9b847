// Where a benchmark run keeps its data: a fresh directory under $BENCH_DIR or os.tmpdir().
// Generated files, sites and repositories go into a `data-*` subdirectory that is removed at the
// end (kept with BENCH_KEEP=1); results.json stays beside it. Nothing outside is ever deleted.
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface WorkDir {
  /** $BENCH_DIR, or a new directory under os.tmpdir(); holds results.json. */
  root: string;
  /** All benchmark data; removed by cleanup() unless keep. */
  data: string;
  /** Small files of the measuring itself (GNU time output). */
  scratch: string;
  keep: boolean;
  cleanup(): Promise<void>;
}

export function intEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name}: expected a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

export async function openWorkDir(prefix: string): Promise<WorkDir> {
  const given = process.env.BENCH_DIR;
  const root = given ? resolve(given) : await mkdtemp(join(tmpdir(), prefix));
  await mkdir(root, { recursive: true });
  const data = await mkdtemp(join(root, 'data-'));
  const scratch = join(data, 'scratch');
  await mkdir(scratch);
  const keep = process.env.BENCH_KEEP === '1';
  return {
    root,
    data,
    scratch,
    keep,
    async cleanup() {
      if (keep) return;
      await rm(data, { recursive: true, force: true });
      // A directory made here that got no results (a refused or failed run) goes too.
      if (!given) await rmdir(root).catch(() => undefined);
    },
  };
}
