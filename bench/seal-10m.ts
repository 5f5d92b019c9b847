// `npm run bench:10m`: one embassy seal of 10 M generated person records (about 9.3 GB of
// NDJSON), for the issue's memory target: peak RSS under 1.5 GiB. Also reports wall and CPU
// time, bytes stored and a blind verification of the result. Refuses to start with less than
// 40 GB free. Environment: BENCH_RECORDS (10000000), BENCH_SEED (42), BENCH_DIR, BENCH_KEEP=1.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { freezeEmbassy } from './code.ts';
import { describeMachine } from './machine.ts';
import { BenchError, freeBytes } from './measure.ts';
import { fixed, formatMarkdown, formatText, MB, MIB, type Cell } from './table.ts';
import { Embassy, EmbassySite, parseJson } from './tools.ts';
import { intEnv, openWorkDir } from './workdir.ts';

const RSS_TARGET_BYTES = 1.5 * 1024 * MIB;
/** 40 GB at 10 M records: the input (9.3 GB), the sort's spilled runs, the site, and room to spare. */
const DISK_BYTES_PER_RECORD = 4000;

const t0 = performance.now();
function log(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stderr.write(`[bench:10m ${s}s] ${message}\n`);
}

async function main(): Promise<void> {
  const records = intEnv('BENCH_RECORDS', 10_000_000);
  const seed = intEnv('BENCH_SEED', 42);
  const machine = await describeMachine();
  const w = await openWorkDir('embassy-bench-10m-');
  try {
    const need = records * DISK_BYTES_PER_RECORD;
    const free = await freeBytes(w.data);
    if (free < need) {
      throw new BenchError(
        `bench:10m: ${(need / 1e9).toFixed(0)} GB free needed in ${w.root}, only ${(free / 1e9).toFixed(1)} GB free; ` +
          'set BENCH_DIR to a file system with more room (or BENCH_RECORDS lower for a trial)',
      );
    }
    log(`${records.toLocaleString('en')} records, seed ${seed}; data in ${w.data}${w.keep ? ' (kept)' : ''}; ${(free / 1e9).toFixed(0)} GB free`);

    const code = await freezeEmbassy(join(w.data, 'embassy-code'));
    const embassy = new Embassy(code.bin, w.scratch);
    log(`embassy code: commit ${code.commit?.slice(0, 12) ?? '(no git)'}, ${code.uncommittedFiles} uncommitted files under bin/ and src/, code hash ${code.codeHash.slice(0, 16)}`);

    const input = join(w.data, 'input', 'persons.ndjson');
    await mkdir(join(w.data, 'input'));
    log('generating day 0');
    const gen = parseJson<{ lines: number; bytes: number; seconds: number }>(
      'embassy generate',
      (await embassy.run(['generate', '--kind', 'persons', '--count', String(records), '--seed', String(seed), '--out', input, '--json'])).stdout,
    );
    log(`day 0: ${gen.lines} lines, ${(gen.bytes / MB).toFixed(0)} MB in ${gen.seconds.toFixed(0)} s`);

    log('embassy: init, dataset add, ingest');
    const site = await EmbassySite.create(join(w.data, 'embassy'), embassy);
    const seal = await site.ingest(input, false);
    const stored = await site.storedBytes();
    log(`seal: ${seal.timed.wall.toFixed(0)} s, ${(seal.timed.maxRss / MIB).toFixed(0)} MiB peak RSS, ${(stored / MB).toFixed(0)} MB stored`);

    log('embassy: verify --blind');
    const verify = await site.verifyBlind();
    const vBytes = verify.result.versions?.bytes ?? 0;
    log(`verify: ${verify.result.ok ? 'ok' : 'FINDINGS'} in ${verify.result.seconds} s, ${(verify.timed.maxRss / MIB).toFixed(0)} MiB peak RSS`);

    const rssMet = seal.timed.maxRss < RSS_TARGET_BYTES;
    const header = ['metric', 'value', 'target', 'met?'];
    const rows: Cell[][] = [
      [`seal ${records.toLocaleString('en')} records: wall s`, fixed(seal.timed.wall), '', ''],
      ['seal: CPU s (user+sys)', fixed(seal.timed.cpu), '', ''],
      ['seal: records per wall second', fixed(records / seal.timed.wall, 0), '', ''],
      ['seal: peak RSS MiB', fixed(seal.timed.maxRss / MIB, 0), '< 1536 MiB (1.5 GiB)', rssMet ? 'yes' : `no (${(seal.timed.maxRss / RSS_TARGET_BYTES).toFixed(2)}× the limit)`],
      ['seal: bytes stored MB', fixed(stored / MB), '', ''],
      ['seal: bytes stored / input bytes', fixed(stored / gen.bytes, 3), '', ''],
      ['verify --blind: wall s', fixed(verify.timed.wall), '', ''],
      ['verify --blind: peak RSS MiB', fixed(verify.timed.maxRss / MIB, 0), '', ''],
      ['verify --blind: object MB/s (its seconds)', fixed(vBytes / verify.result.seconds / MB), '', ''],
    ];
    const results = {
      benchmark: 'seal-10m',
      date: new Date().toISOString(),
      command: `BENCH_RECORDS=${records} BENCH_SEED=${seed} npm run bench:10m`,
      records,
      seed,
      machine,
      embassyCode: code,
      load1AtEnd: loadavg()[0]!,
      input: { lines: gen.lines, bytes: gen.bytes, generateSeconds: gen.seconds },
      seal: { wall: seal.timed.wall, cpu: seal.timed.cpu, maxRss: seal.timed.maxRss, load1: seal.timed.load1, storedBytes: stored, detail: seal.result },
      verify: { wall: verify.timed.wall, cpu: verify.timed.cpu, maxRss: verify.timed.maxRss, result: verify.result },
      target: { maxRssBytes: RSS_TARGET_BYTES, met: rssMet },
      tables: { text: formatText(header, rows), markdown: formatMarkdown(header, rows) },
    };
    const file = join(w.root, 'results-10m.json');
    await writeFile(file, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(`\nData Embassy 10 M seal, ${records.toLocaleString('en')} person records (${(gen.bytes / MB).toFixed(0)} MB NDJSON), ${results.date}\n`);
    process.stdout.write(`embassy: commit ${code.commit ?? '(no git)'}${code.uncommittedFiles ? ` + ${code.uncommittedFiles} uncommitted files` : ''}, code hash ${code.codeHash.slice(0, 16)}\n`);
    process.stdout.write(`machine: ${machine.nproc} cores (${machine.cpuModel}), ${(machine.memTotalBytes / 2 ** 30).toFixed(0)} GiB; load ${machine.load1AtStart.toFixed(1)} at start, ${results.load1AtEnd.toFixed(1)} at end\n\n`);
    process.stdout.write(results.tables.text + '\n\n');
    process.stdout.write(`results: ${file}\n`);
  } finally {
    await w.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(e instanceof BenchError ? `${e.message}\n` : `bench:10m: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
