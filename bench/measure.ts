// Measuring one process the same way for every tool: wall time, user and system CPU time and
// peak resident set size, taken by GNU time (`/usr/bin/time -f '%e %M %U %S'`) around the
// command. Without GNU time, wall time is taken here and peak RSS by polling VmHWM in
// /proc/PID/status (CPU time is then unknown). Also `du -sb`, copies and free disk space.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface Timed {
  /** Wall-clock seconds. */
  wall: number;
  /** User plus system CPU seconds, all threads; null when GNU time is missing. */
  cpu: number | null;
  /** Peak resident set size in bytes. */
  maxRss: number;
  /** One-minute load average when the command ended: how noisy the machine was. */
  load1: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Directory for GNU time's output file. */
  scratch: string;
}

export class BenchError extends Error {
  override name = 'BenchError';
}

/** Keeps at most the last `limit` characters: progress output can be long, summaries are last. */
class Tail {
  private text = '';
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    if (this.text.length > 2 * this.limit) this.text = this.text.slice(-this.limit);
  }
  toString(): string {
    return this.text.length > this.limit ? this.text.slice(-this.limit) : this.text;
  }
}

let timeFileCounter = 0;

/** Runs `cmd args` to completion and measures it; throws BenchError on a non-zero exit. */
export async function runTimed(cmd: string, args: string[], o: RunOptions): Promise<Timed> {
  const useGnuTime = existsSync(GNU_TIME);
  const timeFile = join(o.scratch, `time-${process.pid}-${++timeFileCounter}.txt`);
  const argv = useGnuTime ? [GNU_TIME, '-f', '%e %M %U %S', '-o', timeFile, cmd, ...args] : [cmd, ...args];
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Tail(4 * 1024 * 1024);
  const err = new Tail(64 * 1024);
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  let polledHwm = 0;
  const poll = useGnuTime
    ? undefined
    : setInterval(() => {
        void readFile(`/proc/${child.pid}/status`, 'utf8').then(
          (s) => {
            const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(s);
            if (m) polledHwm = Math.max(polledHwm, Number(m[1]) * 1024);
          },
          () => undefined,
        );
      }, 20);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  if (poll) clearInterval(poll);
  const wallHere = (performance.now() - started) / 1000;
  const stdout = out.toString();
  const stderr = err.toString();
  if (code !== 0) {
    throw new BenchError(`${cmd} ${args.join(' ')}: exit ${code}\n${stderr.slice(-2000)}${stdout.slice(-1000)}`);
  }
  let wall = wallHere;
  let cpu: number | null = null;
  let maxRss = polledHwm;
  if (useGnuTime) {
    const text = await readFile(timeFile, 'utf8');
    await rm(timeFile, { force: true });
    // GNU time writes "Command exited with non-zero status" first on failure; the figures are last.
    const m = /(\d+(?:\.\d+)?) (\d+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*$/.exec(text);
    if (!m) throw new BenchError(`${GNU_TIME}: unexpected output ${JSON.stringify(text)}`);
    wall = Number(m[1]);
    maxRss = Number(m[2]) * 1024;
    cpu = Number(m[3]) + Number(m[4]);
  }
  return { wall, cpu, maxRss, load1: loadavg()[0]!, stdout, stderr };
}

/** Runs a command for its output, unmeasured. */
export async function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  const child = spawn(cmd, args, { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err = new Tail(64 * 1024);
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  if (code !== 0) throw new BenchError(`${cmd} ${args.join(' ')}: exit ${code}\n${err.toString().slice(-2000)}`);
  return Buffer.concat(out).toString('utf8');
}

/** True when `cmd` is on PATH (or is an existing path). */
export async function hasCommand(cmd: string): Promise<boolean> {
  if (cmd.includes('/')) return existsSync(cmd);
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, cmd))) return true;
  }
  return false;
}

/** Apparent size in bytes of everything below `path`, as `du -sb` counts it. */
export async function duBytes(path: string): Promise<number> {
  const out = await run('du', ['-sb', path]);
  const n = Number(out.split('\t')[0]);
  if (!Number.isSafeInteger(n)) throw new BenchError(`du -sb ${path}: unexpected output ${JSON.stringify(out)}`);
  return n;
}

/**
 * Bytes of the regular files below `path`: what a repository stores. Unlike `du -sb` this leaves
 * out directory entries, which would otherwise count restic's 256 empty data/ directories as 1 MB.
 */
export async function fileBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) total += await fileBytes(p);
    else if (entry.isFile()) total += (await lstat(p)).size;
  }
  return total;
}

/** Copies a directory tree with `cp -a` (reflinks where the file system has them). */
export async function copyTree(from: string, to: string): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', from, to]);
}

/** Bytes free for an unprivileged user on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}
