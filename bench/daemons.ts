// Long-running processes a benchmark starts and stops itself: `embassy serve` nodes and an
// rsync daemon, all on 127.0.0.1. Each one's stderr goes to a log file in the bench directory
// (not into memory); stop() sends SIGTERM to that child only and waits for it to exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { BenchError } from './measure.ts';

export { freePort } from '../src/net/free-port.ts';

/** Polls `check` every 100 ms until it returns a value other than undefined/false; BenchError after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new BenchError(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class Daemon {
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    /** Its stderr, as a file. */
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ? null : code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns cmd; resolves once `ready` says so (polled), rejects if the process exits first. */
  static async start(name: string, cmd: string, args: string[], logDir: string, ready: (stdout: string) => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<Daemon> {
    const logFile = join(logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', fd] });
    } finally {
      closeSync(fd);
    }
    const d = new Daemon(name, child, logFile);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    let exitedEarly = false;
    void d.exited.then(() => (exitedEarly = true));
    try {
      await waitFor(`${name} to start`, timeoutMs, async () => {
        if (exitedEarly) throw new BenchError(`${name}: exited before it was ready:\n${await d.log(2000)}`);
        return ready(out);
      });
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  /** The last `chars` characters of its stderr. */
  async log(chars = 4000): Promise<string> {
    return (await readFile(this.logFile, 'utf8').catch(() => '')).slice(-chars);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves to the exit code (null when killed by a signal). */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * CPU seconds (user + system) the process has used, plus those of its children it has waited
 * for (an rsync daemon forks one per connection and reaps it): fields 14–17 of /proc/PID/stat.
 * null when /proc is not there. `ticksPerSecond` is `getconf CLK_TCK`, 100 on Linux.
 */
export async function processCpuSeconds(pid: number, ticksPerSecond = 100): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
  if (ticks.some((t) => !Number.isFinite(t))) return null;
  return ticks.reduce((a, b) => a + b, 0) / ticksPerSecond;
}

/** Resolves true once something accepts TCP connections on 127.0.0.1:port. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * An rsync daemon on 127.0.0.1:port serving `path` read-only as module `module`, as the user
 * running the bench (a daemon started by root would otherwise drop to `nobody`, who cannot read
 * the site's owner-only files). No chroot, no authentication: loopback only, for the benchmark.
 */
export async function startRsyncDaemon(dir: string, module: string, path: string, port: number): Promise<Daemon> {
  const config = join(dir, 'rsyncd.conf');
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await writeFile(
    config,
    [
      `pid file = ${join(dir, 'rsyncd.pid')}`,
      `lock file = ${join(dir, 'rsyncd.lock')}`,
      'use chroot = no',
      `uid = ${uid}`,
      `gid = ${gid}`,
      'numeric ids = yes',
      `[${module}]`,
      `  path = ${path}`,
      '  read only = yes',
      '',
    ].join('\n'),
  );
  return Daemon.start('rsyncd', 'rsync', ['--daemon', '--no-detach', `--config=${config}`, `--port=${port}`, '--address=127.0.0.1', `--log-file=${join(dir, 'rsyncd-transfer.log')}`], dir, () => acceptsConnections(port), 15_000);
}
