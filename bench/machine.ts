// What a benchmark ran on: cores, CPU model, memory, tool versions, load; and this machine's
// SHA-256 speed from `openssl speed`, the yardstick for blind verification. openssl divides by
// user CPU time unless given -elapsed, so both are taken: on a shared machine the CPU-time
// figure is the core's speed and the elapsed figure is what a process got.
import { readFile } from 'node:fs/promises';
import { loadavg, release, totalmem } from 'node:os';
import { hasCommand, run } from './measure.ts';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memTotalBytes: number;
  kernel: string;
  node: string;
  versions: Record<string, string | null>;
  load1AtStart: number;
}

async function version(cmd: string, args: string[]): Promise<string | null> {
  if (!(await hasCommand(cmd))) return null;
  try {
    return (await run(cmd, args)).split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const nproc = Number((await run('nproc', [])).trim());
  return {
    nproc,
    cpuModel: model,
    memTotalBytes: totalmem(),
    kernel: release(),
    node: process.version,
    versions: {
      restic: await version('restic', ['version']),
      borg: await version('borg', ['--version']),
      openssl: await version('openssl', ['version']),
    },
    load1AtStart: loadavg()[0]!,
  };
}

export interface Sha256Speed {
  /** Bytes per second of one core, openssl's default divisor (user CPU time). */
  cpuTime: number;
  /** Bytes per second of one process by wall-clock time (-elapsed). */
  elapsed: number;
  /** Bytes per second of `-multi 2 -elapsed`, all processes together. */
  multi2Elapsed: number | null;
  command: string;
}

/** Parses the total line `+F:<n>:sha256:<bytes per second>` of `openssl speed -mr`. */
export function parseOpensslSpeed(text: string): number {
  const lines = text.split('\n').filter((l) => /^\+F:\d+:sha256:/.test(l));
  const last = lines.at(-1);
  if (!last) throw new Error(`openssl speed: expected a +F:…:sha256: line, got ${JSON.stringify(text.slice(-300))}`);
  const v = Number(last.split(':')[3]);
  if (!(v > 0)) throw new Error(`openssl speed: expected a positive rate, got ${JSON.stringify(last)}`);
  return v;
}

export async function measureSha256(seconds = 3): Promise<Sha256Speed | null> {
  if (!(await hasCommand('openssl'))) return null;
  const base = ['speed', '-bytes', '16384', '-seconds', String(seconds), '-mr'];
  const cpuTime = parseOpensslSpeed(await run('openssl', [...base, 'sha256']));
  const elapsed = parseOpensslSpeed(await run('openssl', [...base, '-elapsed', 'sha256']));
  let multi2Elapsed: number | null = null;
  try {
    multi2Elapsed = parseOpensslSpeed(await run('openssl', [...base, '-elapsed', '-multi', '2', 'sha256']));
  } catch {
    multi2Elapsed = null;
  }
  return { cpuTime, elapsed, multi2Elapsed, command: `openssl ${base.join(' ')} [-elapsed] [-multi 2] sha256` };
}
