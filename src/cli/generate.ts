// `embassy generate`: synthetic registry data (src/generate/) as NDJSON, to stdout or a file:
// a day-0 dataset, one day's change file (--mutate), or the whole next-day snapshot (--snapshot).
// Streams with backpressure in bounded memory; a file is written beside its target and renamed
// into place when complete, so a failed run never leaves a partial file under the name.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import {
  KINDS,
  PATTERNS,
  generateRecords,
  mutateRecords,
  snapshotRecords,
  type Kind,
  type MutateOptions,
  type Pattern,
} from '../generate/generate.ts';
import { printData, processIo } from './output.ts';
import type { CommandContext } from './main.ts';

interface GenerateOptions {
  kind: string;
  count: string;
  seed: string;
  out?: string;
  mutate?: boolean;
  snapshot?: boolean;
  fraction?: string;
  pattern?: string;
  day?: string;
  json?: boolean;
}

/** Lines are batched into chunks of about this many characters before they are written. */
const CHUNK_CHARS = 64 * 1024;

function usage(message: string): EmbassyError {
  return new EmbassyError('usage', `generate: ${message}`);
}

function integer(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw usage(`--${name}: expected a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

function fraction(text: string): number {
  const f = Number(text);
  if (text.trim() === '' || !(f >= 0 && f <= 1)) throw usage(`--fraction: expected a number in 0..1, got ${JSON.stringify(text)}`);
  return f;
}

interface Plan {
  kind: Kind;
  count: number;
  seed: number;
  mode: 'records' | 'changes' | 'snapshot';
  mutate?: Required<MutateOptions>;
  lines: Iterable<unknown>;
}

/** Checks every argument (EmbassyError 'usage') before anything is written. */
function plan(o: GenerateOptions): Plan {
  if (!(KINDS as readonly string[]).includes(o.kind)) throw usage(`--kind: expected ${KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`);
  const kind = o.kind as Kind;
  const count = integer('count', o.count);
  const seed = integer('seed', o.seed);
  if (!o.mutate) {
    for (const flag of ['snapshot', 'fraction', 'pattern', 'day'] as const) {
      if (o[flag] !== undefined) throw usage(`--${flag} needs --mutate`);
    }
    return { kind, count, seed, mode: 'records', lines: generateRecords(kind, count, seed) };
  }
  const pattern = o.pattern ?? 'scattered';
  if (!(PATTERNS as readonly string[]).includes(pattern)) throw usage(`--pattern: expected ${PATTERNS.join(' or ')}, got ${JSON.stringify(pattern)}`);
  const mutate = {
    fraction: fraction(o.fraction ?? '0.01'),
    pattern: pattern as Pattern,
    day: o.day === undefined ? 1 : integer('day', o.day),
  };
  return o.snapshot
    ? { kind, count, seed, mode: 'snapshot', mutate, lines: snapshotRecords(kind, count, seed, mutate) }
    : { kind, count, seed, mode: 'changes', mutate, lines: mutateRecords(kind, count, seed, mutate) };
}

interface Tally {
  lines: number;
  bytes: number;
}

function* ndjsonChunks(lines: Iterable<unknown>, tally: Tally, progress: () => void): Generator<string> {
  let buf = '';
  for (const line of lines) {
    buf += `${JSON.stringify(line)}\n`;
    tally.lines++;
    if (buf.length >= CHUNK_CHARS) {
      tally.bytes += Buffer.byteLength(buf);
      yield buf;
      buf = '';
      progress();
    }
  }
  if (buf !== '') {
    tally.bytes += Buffer.byteLength(buf);
    yield buf;
  }
}

/** Where stdout data goes: the real stdout (with its backpressure), or a test's Io. */
function stdoutSink(ctx: CommandContext): Writable {
  if (ctx.io === processIo) return process.stdout;
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, done) {
      ctx.io.stdout(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      done();
    },
  });
}

function isBrokenPipe(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'EPIPE';
}

async function writeFileAtomically(path: string, chunks: Iterable<string>): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(tmp, { flags: 'wx', highWaterMark: 1 << 20 }));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof EmbassyError) throw e;
    const code = (e as { code?: unknown } | null)?.code;
    throw new EmbassyError('store.io', `generate: cannot write ${path}: ${typeof code === 'string' ? code : (e as Error).message}`, {
      cause: e,
      hint: 'check that the directory exists and is writable',
    });
  }
}

export function registerGenerate(program: Command, ctx: CommandContext): void {
  program
    .command('generate')
    .description('write deterministic synthetic registry data as NDJSON (records, or a day of changes)')
    .requiredOption('--kind <kind>', `dataset kind: ${KINDS.join(' | ')}`)
    .requiredOption('--count <n>', 'records in the generated (day-0) dataset')
    .requiredOption('--seed <s>', 'seed (non-negative integer): same kind, count and seed give the same bytes')
    .option('--out <file>', 'write to this file (replaced only when complete) instead of stdout, and print a summary')
    .option('--mutate', "write the change file of --day for that dataset: {op:'upsert',record} and {key,op:'delete'} lines")
    .option('--snapshot', 'with --mutate: write the whole dataset as of the end of --day instead of its changes')
    .option('--fraction <f>', 'with --mutate: share of records changed per day, 0..1 (default 0.01)')
    .option('--pattern <p>', `with --mutate: ${PATTERNS.join(' | ')} (default scattered)`)
    .option('--day <d>', 'with --mutate: day number, 1 = the day after the dataset (default 1)')
    .option('--json', 'print the summary (with --out) as JSON')
    .action(async (o: GenerateOptions) => {
      await ctx.run(!!o.json, async () => {
        const p = plan(o);
        const tally: Tally = { lines: 0, bytes: 0 };
        const started = performance.now();
        const tty = ctx.io === processIo && process.stderr.isTTY === true;
        let shown = started;
        const progress = (): void => {
          const now = performance.now();
          if (!tty || now - shown < 1000) return;
          shown = now;
          process.stderr.write(`\rgenerate: ${tally.lines.toLocaleString('en')} lines`);
        };
        const chunks = ndjsonChunks(p.lines, tally, progress);
        if (o.out === undefined) {
          try {
            await pipeline(Readable.from(chunks), stdoutSink(ctx), { end: ctx.io !== processIo });
          } catch (e) {
            // The reader went away (`| head`): not an error of ours.
            if (!isBrokenPipe(e)) throw e;
          }
          if (tty) process.stderr.write('\n');
          return;
        }
        await writeFileAtomically(o.out, chunks);
        if (tty) process.stderr.write('\n');
        const seconds = (performance.now() - started) / 1000;
        const summary = {
          kind: p.kind,
          count: p.count,
          seed: p.seed,
          mode: p.mode,
          ...(p.mutate ?? {}),
          out: o.out,
          lines: tally.lines,
          bytes: tally.bytes,
          seconds: Math.round(seconds * 1000) / 1000,
        };
        printData(ctx.io, !!o.json, summary, () => {
          const what = p.mode === 'changes' ? `change lines (day ${p.mutate!.day})` : p.mode === 'snapshot' ? `records (snapshot of day ${p.mutate!.day})` : 'records';
          const rate = seconds > 0 ? `, ${Math.round(tally.lines / seconds).toLocaleString('en')}/s` : '';
          const mb = (tally.bytes / 1e6).toFixed(1);
          return `wrote ${tally.lines.toLocaleString('en')} ${p.kind} ${what} (${mb} MB) to ${o.out} in ${seconds.toFixed(1)} s${rate}\n`;
        });
      });
    });
}
