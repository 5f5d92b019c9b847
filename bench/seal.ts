// `npm run bench`: embassy against restic and borg on the same generated NDJSON file, in one run.
// Measures the initial seal (wall, CPU, peak RSS, bytes stored), the bytes each tool adds for a
// next day with 1 % scattered, 1 % clustered and 0.01 % scattered changes (every scenario from
// the same day-0 state), and blind verification speed against `openssl speed sha256`.
// Environment: BENCH_RECORDS (1000000), BENCH_SEED (42), BENCH_DIR, BENCH_KEEP=1; see docs/benchmarks.md.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { freezeEmbassy, type EmbassyCode } from './code.ts';
import { describeMachine, measureSha256, type Machine, type Sha256Speed } from './machine.ts';
import { BenchError, duBytes, freeBytes, type Timed } from './measure.ts';
import { fixed, formatMarkdown, formatRatio, formatText, MB, metAtMost, MIB, ratio, type Cell } from './table.ts';
import {
  BORG_COMPRESSION,
  Borg,
  DATASET_ID,
  DATASET_KEY,
  Embassy,
  EmbassySite,
  PEER_INSTALL,
  Restic,
  parseJson,
  peerAvailable,
  type IngestResult,
  type Peer,
  type VerifyResult,
} from './tools.ts';
import { intEnv, openWorkDir } from './workdir.ts';

const PEERS = ['restic', 'borg'] as const;
type PeerName = (typeof PEERS)[number];

interface Scenario {
  id: string;
  label: string;
  fraction: number;
  pattern: 'scattered' | 'clustered';
  /** The issue's target: embassy's bytes added at most this times restic's; null: none. */
  targetVsRestic: number | null;
}

const SCENARIOS: Scenario[] = [
  { id: 'scattered-1pct', label: '1 % scattered', fraction: 0.01, pattern: 'scattered', targetVsRestic: 0.25 },
  { id: 'clustered-1pct', label: '1 % clustered', fraction: 0.01, pattern: 'clustered', targetVsRestic: null },
  { id: 'scattered-0.01pct', label: '0.01 % scattered', fraction: 0.0001, pattern: 'scattered', targetVsRestic: 0.02 },
];

/** Targets of the issue for the initial seal, as embassy / restic. */
const SEAL_WALL_TARGET = 1.0;
const SEAL_BYTES_TARGET = 1.2;

/** Rough disk need per record: day-0 file, the seal's spilled sort runs, one next-day snapshot, the repositories and their copies. */
const DISK_BYTES_PER_RECORD = 6000;

interface Run {
  wall: number;
  cpu: number | null;
  maxRss: number;
  load1: number;
}

interface SealFigures extends Run {
  /** Bytes of the repository's files. */
  storedBytes: number;
  /** `du -sb` of the same directory, directory entries included, for reference. */
  duBytes: number;
  detail: unknown;
}

interface ChangeFigures extends Run {
  addedBytes: number;
  detail: unknown;
}

interface ScenarioResult extends Scenario {
  changeFile: { lines: number; bytes: number };
  embassyChanges?: ChangeFigures;
  embassySnapshot?: ChangeFigures;
  restic?: ChangeFigures;
  borg?: ChangeFigures;
  /** Does ingesting the change file give the same version root as ingesting the snapshot? */
  rootsEqual: boolean | null;
  errors: Record<string, string>;
}

interface VerifyFigures extends Run {
  seconds: number;
  versionsBytes: number;
  packsBytes: number;
  ok: boolean;
  /** versions.bytes / the command's own seconds, bytes per second. */
  versionsRate: number;
  /** packs.bytes / seconds: the pack files read and checked. */
  packsRate: number;
  /** versions.bytes per CPU second of the whole process (startup included). */
  versionsRatePerCpu: number | null;
}

interface Results {
  benchmark: 'seal';
  date: string;
  command: string;
  records: number;
  seed: number;
  machine: Machine;
  embassyCode: EmbassyCode;
  load1AtEnd: number;
  settings: Record<string, string>;
  input: { file: string; lines: number; bytes: number };
  seal: { embassy: SealFigures } & Partial<Record<PeerName, SealFigures>>;
  scenarios: ScenarioResult[];
  verify: VerifyFigures | null;
  sha256: Sha256Speed | null;
  peerErrors: Record<string, string>;
  tables: { text: string; markdown: string };
}

const t0 = performance.now();
function log(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}

function runOf(t: Timed): Run {
  return { wall: t.wall, cpu: t.cpu, maxRss: t.maxRss, load1: t.load1 };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface GenerateSummary {
  lines: number;
  bytes: number;
  seconds: number;
}

async function generate(embassy: Embassy, records: number, seed: number, args: string[]): Promise<GenerateSummary> {
  const t = await embassy.run(['generate', '--kind', 'persons', '--count', String(records), '--seed', String(seed), ...args, '--json']);
  return parseJson<GenerateSummary>('embassy generate', t.stdout);
}

async function createPeer(name: PeerName, root: string, scratch: string): Promise<Peer> {
  return name === 'restic' ? Restic.create(root, scratch) : Borg.create(root, scratch);
}

async function main(): Promise<void> {
  const records = intEnv('BENCH_RECORDS', 1_000_000);
  const seed = intEnv('BENCH_SEED', 42);
  if (records < 1000) throw new RangeError(`BENCH_RECORDS: expected at least 1000, got ${records}`);
  const machine = await describeMachine();
  const w = await openWorkDir('embassy-bench-');
  log(`${records.toLocaleString('en')} records, seed ${seed}; data in ${w.data}${w.keep ? ' (kept)' : ''}`);
  try {
    const need = records * DISK_BYTES_PER_RECORD;
    const free = await freeBytes(w.data);
    if (free < need) {
      throw new BenchError(`bench: about ${(need / 1e9).toFixed(1)} GB needed in ${w.root}, ${(free / 1e9).toFixed(1)} GB free; set BENCH_DIR to a larger file system`);
    }
    const code = await freezeEmbassy(join(w.data, 'embassy-code'));
    const embassy = new Embassy(code.bin, w.scratch);
    log(`embassy code: commit ${code.commit?.slice(0, 12) ?? '(no git)'}, ${code.uncommittedFiles} uncommitted files under bin/ and src/, code hash ${code.codeHash.slice(0, 16)}`);
    const available: PeerName[] = [];
    const peerErrors: Record<string, string> = {};
    for (const name of PEERS) {
      if (await peerAvailable(name)) available.push(name);
      else {
        peerErrors[name] = PEER_INSTALL[name];
        log(PEER_INSTALL[name]);
      }
    }

    // Day 0. Every tool reads the same path; the next-day snapshot later replaces it under the
    // same name, so restic and borg see a modified file, as they would in daily use.
    const input = join(w.data, 'input', 'persons.ndjson');
    await mkdir(join(w.data, 'input'));
    log('generating day 0');
    const day0 = await generate(embassy, records, seed, ['--out', input]);
    log(`day 0: ${day0.lines} lines, ${(day0.bytes / MB).toFixed(1)} MB in ${day0.seconds.toFixed(0)} s`);

    log('embassy: init, dataset add, ingest day 0');
    const site0 = await EmbassySite.create(join(w.data, 'embassy-day0'), embassy);
    const seal0 = await site0.ingest(input, false);
    const embassySeal: SealFigures = { ...runOf(seal0.timed), storedBytes: await site0.storedBytes(), duBytes: await duBytes(join(site0.dir, 'objects')), detail: seal0.result };
    log(`embassy: ${embassySeal.wall.toFixed(1)} s, ${(embassySeal.maxRss / MIB).toFixed(0)} MiB peak RSS, ${(embassySeal.storedBytes / MB).toFixed(1)} MB stored`);

    const peers: Partial<Record<PeerName, Peer>> = {};
    const peerSeal: Partial<Record<PeerName, SealFigures>> = {};
    for (const name of available) {
      log(`${name}: init, backup day 0`);
      try {
        const peer = await createPeer(name, join(w.data, `${name}-day0`), w.scratch);
        const before = await peer.repoBytes();
        const b = await peer.backup(input, 'day0');
        const stored = await peer.repoBytes();
        peerSeal[name] = { ...runOf(b.timed), storedBytes: stored, duBytes: await duBytes(join(peer.root, 'repo')), detail: { initBytes: before, summary: b.summary } };
        peers[name] = peer;
        log(`${name}: ${b.timed.wall.toFixed(1)} s, ${(b.timed.maxRss / MIB).toFixed(0)} MiB peak RSS, ${(stored / MB).toFixed(1)} MB stored`);
      } catch (e) {
        peerErrors[name] = errorText(e);
        log(`${name} failed: ${errorText(e)}`);
      }
    }

    log('embassy: verify --blind (day 0)');
    let verify: VerifyFigures | null = null;
    {
      const v = await site0.verifyBlind();
      const r: VerifyResult = v.result;
      const versionsBytes = r.versions?.bytes ?? 0;
      const packsBytes = r.packs?.bytes ?? 0;
      verify = {
        ...runOf(v.timed),
        seconds: r.seconds,
        versionsBytes,
        packsBytes,
        ok: r.ok,
        versionsRate: versionsBytes / r.seconds,
        packsRate: packsBytes / r.seconds,
        versionsRatePerCpu: v.timed.cpu ? versionsBytes / v.timed.cpu : null,
      };
      log(`verify: ${r.ok ? 'ok' : 'FINDINGS'}, ${(versionsBytes / MB).toFixed(1)} MB of objects in ${r.seconds} s`);
    }

    const scenarios: ScenarioResult[] = [];
    for (const sc of SCENARIOS) {
      const dir = join(w.data, sc.id);
      await mkdir(dir);
      const mutate = ['--mutate', '--fraction', String(sc.fraction), '--pattern', sc.pattern, '--day', '1'];
      log(`${sc.label}: generating the change file and the next-day snapshot`);
      const changesFile = join(dir, 'changes.ndjson');
      const changes = await generate(embassy, records, seed, [...mutate, '--out', changesFile]);
      await generate(embassy, records, seed, [...mutate, '--snapshot', '--out', input]);
      const res: ScenarioResult = { ...sc, changeFile: { lines: changes.lines, bytes: changes.bytes }, rootsEqual: null, errors: {} };

      let roots: { changes?: string; snapshot?: string } = {};
      for (const mode of ['changes', 'snapshot'] as const) {
        try {
          const site = await site0.copyTo(join(dir, `embassy-${mode}`));
          const before = await site.storedBytes();
          const ing = await site.ingest(mode === 'changes' ? changesFile : input, mode === 'changes');
          const added = (await site.storedBytes()) - before;
          const fig: ChangeFigures = { ...runOf(ing.timed), addedBytes: added, detail: ing.result satisfies IngestResult };
          if (mode === 'changes') res.embassyChanges = fig;
          else res.embassySnapshot = fig;
          roots = { ...roots, [mode]: ing.result.root };
          log(`${sc.label}: embassy ${mode === 'changes' ? '--changes' : 'snapshot'} +${(added / MB).toFixed(2)} MB in ${ing.timed.wall.toFixed(1)} s`);
        } catch (e) {
          res.errors[`embassy-${mode}`] = errorText(e);
          log(`${sc.label}: embassy ${mode} failed: ${errorText(e)}`);
        }
      }
      if (roots.changes && roots.snapshot) {
        res.rootsEqual = roots.changes === roots.snapshot;
        if (!res.rootsEqual) log(`${sc.label}: WARNING the change file and the snapshot gave different roots (${roots.changes} vs ${roots.snapshot})`);
      }

      for (const name of PEERS) {
        const peer0 = peers[name];
        if (!peer0) continue;
        try {
          const peer = await peer0.copyTo(join(dir, name));
          const before = await peer.repoBytes();
          const b = await peer.backup(input, 'day1');
          const added = (await peer.repoBytes()) - before;
          res[name] = { ...runOf(b.timed), addedBytes: added, detail: b.summary };
          log(`${sc.label}: ${name} +${(added / MB).toFixed(2)} MB in ${b.timed.wall.toFixed(1)} s`);
        } catch (e) {
          res.errors[name] = errorText(e);
          log(`${sc.label}: ${name} failed: ${errorText(e)}`);
        }
      }
      scenarios.push(res);
      // Scenario copies are not needed again; this keeps the disk need near one scenario's.
      if (!w.keep) await rm(dir, { recursive: true, force: true });
    }

    log('openssl speed sha256');
    let sha256: Sha256Speed | null = null;
    try {
      sha256 = await measureSha256();
    } catch (e) {
      log(`openssl speed failed: ${errorText(e)}`);
    }

    const partial: Omit<Results, 'tables'> = {
      benchmark: 'seal',
      date: new Date().toISOString(),
      command: `BENCH_RECORDS=${records} BENCH_SEED=${seed} npm run bench`,
      records,
      seed,
      machine,
      embassyCode: code,
      load1AtEnd: loadavg()[0]!,
      settings: {
        embassy: `init --role home; dataset add --id ${DATASET_ID} --key ${DATASET_KEY}; ingest (default --memory 256)`,
        restic: peers.restic?.settings ?? 'not run',
        borg: peers.borg?.settings ?? 'not run',
        borgCompression: BORG_COMPRESSION,
      },
      input: { file: 'persons.ndjson', lines: day0.lines, bytes: day0.bytes },
      seal: { embassy: embassySeal, ...peerSeal },
      scenarios,
      verify,
      sha256,
      peerErrors,
    };
    const tables = buildTables(partial);
    const results: Results = { ...partial, tables };
    const resultsFile = join(w.root, 'results.json');
    await writeFile(resultsFile, JSON.stringify(results, null, 2) + '\n');
    await writeFile(join(w.root, 'results.md'), tables.markdown + '\n');
    process.stdout.write(`\nData Embassy seal benchmark, ${records.toLocaleString('en')} person records (${(day0.bytes / MB).toFixed(0)} MB NDJSON), ${results.date}\n`);
    process.stdout.write(`embassy: commit ${code.commit ?? '(no git)'}${code.uncommittedFiles ? ` + ${code.uncommittedFiles} uncommitted files` : ''}, code hash ${code.codeHash.slice(0, 16)}\n`);
    process.stdout.write(`machine: ${machine.nproc} cores (${machine.cpuModel}), ${(machine.memTotalBytes / 2 ** 30).toFixed(0)} GiB; load ${machine.load1AtStart.toFixed(1)} at start, ${results.load1AtEnd.toFixed(1)} at end\n\n`);
    process.stdout.write(tables.text + '\n\n');
    for (const [name, message] of Object.entries(peerErrors)) process.stdout.write(`${name}: ${message.split('\n')[0]}\n`);
    process.stdout.write(`results: ${resultsFile} (and results.md)\n`);
  } finally {
    await w.cleanup();
  }
}

function buildTables(r: Omit<Results, 'tables'>): { text: string; markdown: string } {
  const header = ['metric', 'embassy', 'restic', 'borg', 'embassy/restic', 'embassy/borg', 'target', 'met?'];
  const rows: Cell[][] = [];
  const s = r.seal;
  const n = r.records.toLocaleString('en');
  const row = (metric: string, pick: (f: Run & { storedBytes?: number; addedBytes?: number }) => number | null, e: Run | undefined, peersOf: Partial<Record<PeerName, Run>>, digits: number, target?: { limit: number; text: string }) => {
    const ev = e ? pick(e) : null;
    const rv = peersOf.restic ? pick(peersOf.restic) : null;
    const bv = peersOf.borg ? pick(peersOf.borg) : null;
    const rr = ratio(ev, rv);
    rows.push([metric, fixed(ev, digits), fixed(rv, digits), fixed(bv, digits), formatRatio(rr), formatRatio(ratio(ev, bv)), target?.text ?? '', target ? metAtMost(rr, target.limit) : '']);
  };
  row(`seal ${n} records: wall s`, (f) => f.wall, s.embassy, s, 1, { limit: SEAL_WALL_TARGET, text: '≤ 1 × restic' });
  row('seal: CPU s (user+sys)', (f) => f.cpu, s.embassy, s, 1);
  row('seal: peak RSS MiB', (f) => f.maxRss / MIB, s.embassy, s, 0);
  row('seal: bytes stored MB', (f) => (f.storedBytes ?? 0) / MB, s.embassy, s, 1, { limit: SEAL_BYTES_TARGET, text: '≤ 1.2 × restic' });
  for (const sc of r.scenarios) {
    const peersOf = { ...(sc.restic ? { restic: sc.restic } : {}), ...(sc.borg ? { borg: sc.borg } : {}) };
    const target = sc.targetVsRestic === null ? undefined : { limit: sc.targetVsRestic, text: `≤ ${sc.targetVsRestic} × restic` };
    row(`${sc.label}: MB added (embassy --changes)`, (f) => (f.addedBytes ?? 0) / MB, sc.embassyChanges, peersOf, 2, target);
    row(`${sc.label}: MB added (embassy snapshot)`, (f) => (f.addedBytes ?? 0) / MB, sc.embassySnapshot, peersOf, 2, target);
    row(`${sc.label}: wall s (embassy --changes)`, (f) => f.wall, sc.embassyChanges, peersOf, 1);
    row(`${sc.label}: wall s (embassy snapshot)`, (f) => f.wall, sc.embassySnapshot, peersOf, 1);
  }

  const vHeader = ['metric', 'embassy MB/s', 'SHA-256 MB/s (openssl, 1 core)', 'embassy/SHA-256'];
  const vRows: Cell[][] = [];
  const v = r.verify;
  const sha = r.sha256;
  if (v) {
    vRows.push(['verify --blind: object bytes / its seconds (vs openssl -elapsed)', fixed(v.versionsRate / MB), fixed(sha ? sha.elapsed / MB : null), formatRatio(ratio(v.versionsRate, sha?.elapsed))]);
    vRows.push(['verify --blind: pack bytes / its seconds (vs openssl -elapsed)', fixed(v.packsRate / MB), fixed(sha ? sha.elapsed / MB : null), formatRatio(ratio(v.packsRate, sha?.elapsed))]);
    vRows.push(['verify --blind: object bytes / CPU s (vs openssl CPU time)', fixed(v.versionsRatePerCpu === null ? null : v.versionsRatePerCpu / MB), fixed(sha ? sha.cpuTime / MB : null), formatRatio(ratio(v.versionsRatePerCpu, sha?.cpuTime))]);
  }
  const vNote = v
    ? `verify --blind: ${v.ok ? 'ok' : 'FINDINGS'}; ${(v.versionsBytes / MB).toFixed(1)} MB of objects, ${(v.packsBytes / MB).toFixed(1)} MB of packs in ${v.seconds} s (wall ${v.wall.toFixed(1)} s with startup, ${fixed(v.cpu)} CPU s, ${(v.maxRss / MIB).toFixed(0)} MiB peak RSS)` +
      (sha?.multi2Elapsed ? `; openssl -multi 2: ${(sha.multi2Elapsed / MB).toFixed(0)} MB/s` : '')
    : 'verify: not run';
  const checks = r.scenarios
    .filter((sc) => sc.rootsEqual !== null || Object.keys(sc.errors).length > 0)
    .map((sc) => `${sc.label}: change file ${sc.changeFile.lines} lines; ` + (sc.rootsEqual === null ? 'roots not compared' : sc.rootsEqual ? '--changes and snapshot give the same root' : 'ROOTS DIFFER between --changes and snapshot') + Object.entries(sc.errors).map(([k, m]) => `; ${k} failed: ${m.split('\n')[0]}`).join(''));

  return {
    text: [formatText(header, rows), '', formatText(vHeader, vRows), vNote, ...checks].join('\n'),
    markdown: [formatMarkdown(header, rows), '', formatMarkdown(vHeader, vRows), '', vNote, '', ...checks.map((c) => `- ${c}`)].join('\n'),
  };
}

main().catch((e: unknown) => {
  process.stderr.write(e instanceof BenchError ? `${e.message}\n` : `bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
