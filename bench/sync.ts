// `npm run bench:sync` (and the second half of `npm run bench`): replication, measured.
// 1. Initial sync of a 1 M-record version from a home (`embassy serve`) to an empty mirror
//    (`embassy sync`) over loopback with mutual TLS, against `rsync -a` of the same pack files
//    from an rsync daemon on loopback (and `rsync -a --fsync`), in the same run: wall, CPU, MB/s.
// 2. RPO under load: home and mirror nodes running, a small change set ingested every few
//    seconds; per version, receipt time − source time at the mirror and at the home: p50, p99.
// Environment: BENCH_RECORDS (1000000), BENCH_SEED (42), BENCH_RPO_SECONDS (180),
// BENCH_RPO_INTERVAL_MS (3000), BENCH_RPO_CHANGES (100), BENCH_DIR, BENCH_KEEP=1; see docs/benchmarks.md.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { freezeEmbassy } from './code.ts';
import { Daemon, freePort, processCpuSeconds, startRsyncDaemon, waitFor } from './daemons.ts';
import { describeMachine } from './machine.ts';
import { BenchError, fileBytes, freeBytes, hasCommand, run, runTimed, type Timed } from './measure.ts';
import { percentile, summarizeLags, versionLags, type LagSummary, type ReceiptPoint, type VersionLag, type VersionPoint } from './rpo.ts';
import { fixed, formatMarkdown, formatRatio, formatText, MB, MIB, ratio, type Cell } from './table.ts';
import { DATASET_ID, DATASET_KEY, Embassy, parseJson, type IngestResult } from './tools.ts';
import { intEnv, openWorkDir } from './workdir.ts';

type SiteModule = typeof import('../src/site/site.ts');
type CatalogModule = typeof import('../src/catalog/catalog.ts');
type GenerateModule = typeof import('../src/generate/generate.ts');

const HOME = 'home';
const MIRROR = 'mirror';
/** The issue's target for the RPO at the mirror. */
const RPO_TARGET_MS = 5000;
const RSYNC_INSTALL = 'rsync not installed: apt-get install -y rsync';
/** Input NDJSON (~930 B), the seal's spilled runs (~1 kB), home, mirror and two rsync copies (~140 B each), room to spare. */
const DISK_BYTES_PER_RECORD = 3000;

const t0 = performance.now();
function log(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stderr.write(`[bench:sync ${s}s] ${message}\n`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

interface Transfer {
  wall: number;
  /** CPU s of the client process (the fetching side). */
  cpu: number | null;
  maxRss: number;
  /** CPU s the serving process (embassy serve, the rsync daemon and its children) used meanwhile. */
  serverCpu: number | null;
  /** Bytes moved: embassy's graph.fetchedBytes, rsync's files' bytes at the destination. */
  bytes: number;
  /** Objects fetched (embassy) or files copied (rsync). */
  items: number;
  load1: number;
}

interface SyncPass {
  home: string;
  status: string;
  size: string;
  versions: number;
  graph?: { fetched: number; fetchedBytes: number; stored: number; held: number; complete: boolean; failures: unknown[] };
}

interface Tick {
  n: number;
  /** Planned start, ms after the first tick. */
  plannedMs: number;
  /** How late it started (the previous ingest ran past the interval). */
  lateMs: number;
  changeLines: number;
  version: number;
  logIndex: string;
  sourceTime: string;
  ingestWall: number;
  ingestCpu: number | null;
  /** Bench clock when the ingest process had exited, ms since the epoch. */
  ingestEndMs: number;
}

interface RpoResult {
  seconds: number;
  /** From the first set's start to the end of the last ingest. */
  elapsedMs: number;
  intervalMs: number;
  changesPerSet: number;
  ticks: Tick[];
  mirror: { summary: LagSummary; lags: VersionLag[] };
  home: { summary: LagSummary; lags: VersionLag[] };
  /** receipt (mirror) − end of the ingest process: the replication path alone. */
  afterIngest: { p50Ms: number | null; p99Ms: number | null; maxMs: number | null };
  ingestWall: { p50: number | null; p99: number | null; max: number | null };
  /** CPU s of each node over the RPO phase. */
  nodeCpu: { home: number | null; mirror: number | null };
  nodeExit: { home: number | null; mirror: number | null };
}

/** Files below dir (recursively) and their bytes. */
async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += await countFiles(join(dir, e.name));
    else if (e.isFile()) n++;
  }
  return n;
}

async function cpuDelta(d: Daemon, before: number | null, ticksPerSecond: number): Promise<number | null> {
  const after = await processCpuSeconds(d.pid, ticksPerSecond);
  return before === null || after === null ? null : after - before;
}

async function main(): Promise<void> {
  const records = intEnv('BENCH_RECORDS', 1_000_000);
  const seed = intEnv('BENCH_SEED', 42);
  const rpoSeconds = intEnv('BENCH_RPO_SECONDS', 180);
  const intervalMs = intEnv('BENCH_RPO_INTERVAL_MS', 3000);
  const changesPerSet = intEnv('BENCH_RPO_CHANGES', 100);
  if (records < 1000) throw new RangeError(`BENCH_RECORDS: expected at least 1000, got ${records}`);
  if (intervalMs < 100) throw new RangeError(`BENCH_RPO_INTERVAL_MS: expected at least 100, got ${intervalMs}`);
  if (changesPerSet < 1 || changesPerSet > records / 10) throw new RangeError(`BENCH_RPO_CHANGES: expected 1..${records / 10}, got ${changesPerSet}`);
  const ticksPlanned = rpoSeconds > 0 ? Math.ceil((rpoSeconds * 1000) / intervalMs) : 0;
  const machine = await describeMachine();
  const rsyncVersion = (await hasCommand('rsync')) ? (await run('rsync', ['--version'])).split('\n')[0]!.trim() : null;
  const ticksPerSecond = Number((await run('getconf', ['CLK_TCK']).catch(() => '100')).trim()) || 100;
  const w = await openWorkDir('embassy-bench-sync-');
  log(`${records.toLocaleString('en')} records, seed ${seed}; RPO phase ${rpoSeconds} s, a set of ${changesPerSet} changes every ${intervalMs} ms; data in ${w.data}${w.keep ? ' (kept)' : ''}`);
  const daemons: Daemon[] = [];
  try {
    const need = records * DISK_BYTES_PER_RECORD;
    const free = await freeBytes(w.data);
    if (free < need) throw new BenchError(`bench:sync: about ${(need / 1e9).toFixed(1)} GB needed in ${w.root}, ${(free / 1e9).toFixed(1)} GB free; set BENCH_DIR to a larger file system`);
    const code = await freezeEmbassy(join(w.data, 'embassy-code'));
    const codeDir = dirname(dirname(code.bin));
    const embassy = new Embassy(code.bin, w.scratch);
    log(`embassy code: commit ${code.commit?.slice(0, 12) ?? '(no git)'}, ${code.uncommittedFiles} uncommitted files under bin/ and src/, code hash ${code.codeHash.slice(0, 16)}`);
    if (!rsyncVersion) log(RSYNC_INSTALL);
    const logs = join(w.data, 'logs');
    await mkdir(logs);

    // ---- input: the day-0 file, and the RPO phase's change sets (days 1..n of the same data) ----
    const input = join(w.data, 'input', 'persons.ndjson');
    await mkdir(join(w.data, 'input', 'changes'), { recursive: true });
    log('generating day 0');
    const gen = parseJson<{ lines: number; bytes: number; seconds: number }>(
      'embassy generate',
      (await embassy.run(['generate', '--kind', 'persons', '--count', String(records), '--seed', String(seed), '--out', input, '--json'])).stdout,
    );
    log(`day 0: ${gen.lines} lines, ${(gen.bytes / MB).toFixed(1)} MB in ${gen.seconds.toFixed(0)} s`);
    const fraction = changesPerSet / records;
    const changeFiles = Array.from({ length: ticksPlanned }, (_, i) => join(w.data, 'input', 'changes', `day-${String(i + 1).padStart(4, '0')}.ndjson`));
    if (ticksPlanned > 0) {
      // Generated before anything is measured, in this process with the measured code's generator
      // (the same lines as `embassy generate --mutate --day N`, without a Node start per day).
      log(`generating ${ticksPlanned} change sets (as embassy generate --mutate --fraction ${fraction} --day 1..${ticksPlanned})`);
      const { mutateRecords } = (await import(pathToFileURL(join(codeDir, 'src', 'generate', 'generate.ts')).href)) as GenerateModule;
      for (let i = 0; i < ticksPlanned; i++) {
        let text = '';
        for (const line of mutateRecords('persons', records, seed, { fraction, pattern: 'scattered', day: i + 1 })) text += `${JSON.stringify(line)}\n`;
        await writeFile(changeFiles[i]!, text);
      }
    }

    // ---- a home and a mirror that know each other's cards ----
    const homeDir = join(w.data, HOME);
    const mirrorDir = join(w.data, MIRROR);
    const homePort = await freePort();
    const mirrorPort = await freePort();
    log('embassy: init home and mirror, exchange cards, dataset add');
    await embassy.run(['init', '--dir', homeDir, '--name', HOME, '--role', 'home', '--origin', 'bench.example/home', '--json']);
    await embassy.run(['init', '--dir', mirrorDir, '--name', MIRROR, '--role', 'mirror', '--json']);
    const homeCard = join(w.data, 'home.card');
    const mirrorCard = join(w.data, 'mirror.card');
    await embassy.run(['site', 'card', '--dir', homeDir, '--url', `https://127.0.0.1:${homePort}`, '--out', homeCard]);
    await embassy.run(['site', 'card', '--dir', mirrorDir, '--url', `https://127.0.0.1:${mirrorPort}`, '--out', mirrorCard]);
    await embassy.run(['site', 'add', '--dir', homeDir, mirrorCard, '--json']);
    await embassy.run(['site', 'add', '--dir', mirrorDir, homeCard, '--json']);
    await embassy.run(['dataset', 'add', '--dir', homeDir, '--id', DATASET_ID, '--key', DATASET_KEY, '--json']);

    log('embassy: ingest day 0 at the home');
    const seal = await embassy.run(['ingest', '--dir', homeDir, '--dataset', DATASET_ID, input, '--json']);
    const sealed = parseJson<IngestResult & { logSize: string }>('embassy ingest', seal.stdout);
    const packsDir = join(homeDir, 'objects', 'packs');
    const packBytes = await fileBytes(packsDir);
    const packFiles = await countFiles(packsDir);
    log(`seal: ${seal.wall.toFixed(1)} s; ${packFiles} pack files, ${(packBytes / MB).toFixed(1)} MB`);

    // ---- 1. initial sync ----
    const serveArgs = (dir: string, port: number, extra: string[]) => [code.bin, 'serve', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--log-level', 'info', ...extra];
    const homeNode = await Daemon.start('home-serve', process.execPath, serveArgs(homeDir, homePort, []), logs, (out) => out.includes('\n'));
    daemons.push(homeNode);
    log(`home node listening on 127.0.0.1:${homePort}; embassy sync --dir MIRROR --json`);
    const homeCpu0 = await processCpuSeconds(homeNode.pid, ticksPerSecond);
    const syncTimed = await embassy.run(['sync', '--dir', mirrorDir, '--json']);
    const homeCpuSync = await cpuDelta(homeNode, homeCpu0, ticksPerSecond);
    const pass = parseJson<{ site: string; passes: SyncPass[] }>('embassy sync', syncTimed.stdout).passes[0];
    if (!pass || pass.status !== 'receipted' || !pass.graph) throw new BenchError(`embassy sync: expected a receipted pass, got ${syncTimed.stdout.slice(0, 500)}`);
    const embassySync: Transfer = {
      wall: syncTimed.wall,
      cpu: syncTimed.cpu,
      maxRss: syncTimed.maxRss,
      serverCpu: homeCpuSync,
      bytes: pass.graph.fetchedBytes,
      items: pass.graph.fetched,
      load1: syncTimed.load1,
    };
    const mirrorPackBytes = await fileBytes(join(mirrorDir, 'objects', 'packs'));
    log(`embassy sync: ${embassySync.wall.toFixed(1)} s, ${pass.graph.fetched} objects, ${(embassySync.bytes / MB).toFixed(1)} MB fetched (${((embassySync.bytes / MB) / embassySync.wall).toFixed(1)} MB/s)`);

    const rsyncRuns: Record<'plain' | 'fsync', Transfer | null> = { plain: null, fsync: null };
    const peerErrors: Record<string, string> = {};
    if (rsyncVersion) {
      const rsyncDir = join(w.data, 'rsync');
      await mkdir(rsyncDir);
      try {
        const port = await freePort();
        const rsyncd = await startRsyncDaemon(rsyncDir, 'home', join(homeDir, 'objects'), port);
        daemons.push(rsyncd);
        for (const mode of ['plain', 'fsync'] as const) {
          const dest = join(rsyncDir, `dest-${mode}`);
          await mkdir(dest);
          log(`rsync -a${mode === 'fsync' ? ' --fsync' : ''} rsync://127.0.0.1:${port}/home/packs/`);
          const before = await processCpuSeconds(rsyncd.pid, ticksPerSecond);
          const t: Timed = await runTimed('rsync', ['-a', ...(mode === 'fsync' ? ['--fsync'] : []), `rsync://127.0.0.1:${port}/home/packs/`, `${dest}/`], { scratch: w.scratch });
          // The daemon's child for this connection has exited and been reaped once the client is done; give it a moment.
          await sleep(200);
          const bytes = await fileBytes(dest);
          const items = await countFiles(dest);
          if (bytes !== packBytes || items !== packFiles) throw new BenchError(`rsync: copied ${items} files, ${bytes} bytes; the home has ${packFiles}, ${packBytes}`);
          rsyncRuns[mode] = { wall: t.wall, cpu: t.cpu, maxRss: t.maxRss, serverCpu: await cpuDelta(rsyncd, before, ticksPerSecond), bytes, items, load1: t.load1 };
          log(`rsync${mode === 'fsync' ? ' --fsync' : ''}: ${t.wall.toFixed(2)} s (${((bytes / MB) / t.wall).toFixed(1)} MB/s)`);
          if (!w.keep) await rm(dest, { recursive: true, force: true });
        }
        await rsyncd.stop();
      } catch (e) {
        peerErrors.rsync = errorText(e);
        log(`rsync failed: ${errorText(e)}`);
      }
    } else {
      peerErrors.rsync = RSYNC_INSTALL;
    }

    // ---- 2. RPO under load ----
    let rpo: RpoResult | null = null;
    if (ticksPlanned > 0) {
      const mirrorNode = await Daemon.start('mirror-serve', process.execPath, serveArgs(mirrorDir, mirrorPort, ['--poll-interval', '10', '--scrub-interval', '0']), logs, (out) => out.includes('\n'));
      daemons.push(mirrorNode);
      // Its first pass (at start) finds the home unchanged; after it, only notifications wake it early.
      await waitFor('the mirror node\'s first pass', 60_000, async () => /"msg":"(up to date|receipt made)"/.test(await mirrorNode.log(1 << 20)));
      log(`mirror node listening on 127.0.0.1:${mirrorPort} (--poll-interval 10); RPO phase: ${ticksPlanned} change sets, one every ${intervalMs} ms`);
      const cpu0 = { home: await processCpuSeconds(homeNode.pid, ticksPerSecond), mirror: await processCpuSeconds(mirrorNode.pid, ticksPerSecond) };
      const inbox = join(w.data, 'inbox');
      await mkdir(inbox);
      const ticks: Tick[] = [];
      const start = Date.now();
      // One set per interval until BENCH_RPO_SECONDS have passed; an ingest that overruns its
      // interval delays the next one (they take the home's site lock in turn), recorded as lateness.
      for (let n = 0; n < ticksPlanned && Date.now() - start < rpoSeconds * 1000; n++) {
        const plannedMs = n * intervalMs;
        await sleep(start + plannedMs - Date.now());
        const lateMs = Math.max(0, Date.now() - (start + plannedMs));
        // The change set is written now: its modification time is the version's source time.
        const text = await readFile(changeFiles[n]!, 'utf8');
        const file = join(inbox, `changes-${String(n + 1).padStart(4, '0')}.ndjson`);
        await writeFile(file, text);
        const t = await embassy.run(['ingest', '--dir', homeDir, '--dataset', DATASET_ID, '--changes', file, '--json']);
        const r = parseJson<IngestResult & { sourceTime: string; logIndex: string }>('embassy ingest --changes', t.stdout);
        ticks.push({ n: n + 1, plannedMs, lateMs, changeLines: text.split('\n').filter((l) => l !== '').length, version: r.version, logIndex: String(r.logIndex), sourceTime: r.sourceTime, ingestWall: t.wall, ingestCpu: t.cpu, ingestEndMs: Date.now() });
        if ((n + 1) % 10 === 0) log(`RPO: ${n + 1} change sets ingested, ${((Date.now() - start) / 1000).toFixed(0)} of ${rpoSeconds} s (last: ${t.wall.toFixed(2)} s, ${lateMs} ms late)`);
      }
      const elapsedMs = Date.now() - start;
      const finalSize = BigInt(ticks.at(-1)!.logIndex) + 1n;
      const receiptsFile = join(mirrorDir, 'follow', HOME, 'receipts.jsonl');
      const mirrorReceipts = async (): Promise<ReceiptPoint[]> =>
        (await readFile(receiptsFile, 'utf8'))
          .split('\n')
          .filter((l) => l !== '')
          .flatMap((l) => {
            try {
              const j = JSON.parse(l) as { size: string; writtenAtMs: number };
              return [{ size: BigInt(j.size), atMs: j.writtenAtMs }];
            } catch {
              return []; // a torn last line
            }
          });
      const homeReceipts = (): ReceiptPoint[] => {
        const db = new Database(join(homeDir, 'receipts.sqlite'), { readonly: true, fileMustExist: true });
        try {
          const rows = db.prepare('SELECT size, received_at_ms FROM receipt_history WHERE site = ? ORDER BY rowid').all(MIRROR) as { size: string; received_at_ms: number }[];
          return rows.map((r) => ({ size: BigInt(r.size), atMs: r.received_at_ms }));
        } finally {
          db.close();
        }
      };
      log('waiting for the receipt of the last version at the mirror and at the home');
      try {
        await waitFor('the mirror\'s receipt of the last version', 60_000, async () => (await mirrorReceipts()).some((r) => r.size >= finalSize));
        await waitFor('the home to hold that receipt', 30_000, () => homeReceipts().some((r) => r.size >= finalSize));
      } catch (e) {
        log(`${errorText(e)}; versions without a receipt are reported as such`);
      }
      const nodeCpu = { home: await cpuDelta(homeNode, cpu0.home, ticksPerSecond), mirror: await cpuDelta(mirrorNode, cpu0.mirror, ticksPerSecond) };
      const mirrorExit = await mirrorNode.stop();
      const homeExit = await homeNode.stop();

      // Versions from the home's own log (its catalog), read with the measured code.
      const { Site } = (await import(pathToFileURL(join(codeDir, 'src', 'site', 'site.ts')).href)) as SiteModule;
      const { loadCatalog } = (await import(pathToFileURL(join(codeDir, 'src', 'catalog', 'catalog.ts')).href)) as CatalogModule;
      const site = await Site.open(homeDir);
      const catalog = await loadCatalog(site.logStore(), site.logVerifier());
      const ds = catalog.datasets.get(DATASET_ID);
      if (!ds) throw new BenchError(`catalog of ${homeDir}: no dataset ${DATASET_ID}`);
      const versions: VersionPoint[] = ds.versions
        .filter((v) => v.statement.version > sealed.version)
        .map((v) => ({ version: v.statement.version, logIndex: v.logIndex, sourceTimeMs: Date.parse(v.statement.sourceTime) }));
      if (versions.length !== ticks.length) throw new BenchError(`catalog: ${versions.length} versions after the day-0 seal, ${ticks.length} ingested`);
      const mLags = versionLags(versions, await mirrorReceipts());
      const hLags = versionLags(versions, homeReceipts());
      const after = mLags.flatMap((l, i) => (l.receiptAtMs === null ? [] : [l.receiptAtMs - ticks[i]!.ingestEndMs]));
      const walls = ticks.map((t) => t.ingestWall);
      rpo = {
        seconds: rpoSeconds,
        elapsedMs,
        intervalMs,
        changesPerSet,
        ticks,
        mirror: { summary: summarizeLags(mLags, RPO_TARGET_MS), lags: mLags },
        home: { summary: summarizeLags(hLags, RPO_TARGET_MS), lags: hLags },
        afterIngest: { p50Ms: percentile(after, 50), p99Ms: percentile(after, 99), maxMs: after.length ? Math.max(...after) : null },
        ingestWall: { p50: percentile(walls, 50), p99: percentile(walls, 99), max: Math.max(...walls) },
        nodeCpu,
        nodeExit: { home: homeExit, mirror: mirrorExit },
      };
      const m = rpo.mirror.summary;
      log(`RPO at the mirror: ${m.covered}/${m.versions} versions, p50 ${fixed(m.p50Ms === null ? null : m.p50Ms / 1000, 2)} s, p99 ${fixed(m.p99Ms === null ? null : m.p99Ms / 1000, 2)} s`);
    } else {
      await homeNode.stop();
    }

    const partial = {
      benchmark: 'sync' as const,
      date: new Date().toISOString(),
      command: `BENCH_RECORDS=${records} BENCH_SEED=${seed} BENCH_RPO_SECONDS=${rpoSeconds} BENCH_RPO_INTERVAL_MS=${intervalMs} BENCH_RPO_CHANGES=${changesPerSet} npm run bench:sync`,
      records,
      seed,
      machine: { ...machine, versions: { ...machine.versions, rsync: rsyncVersion } },
      embassyCode: code,
      load1AtEnd: loadavg()[0]!,
      input: { lines: gen.lines, bytes: gen.bytes },
      seal: { wall: seal.wall, cpu: seal.cpu, maxRss: seal.maxRss, result: sealed },
      packs: { files: packFiles, bytes: packBytes, mirrorBytes: mirrorPackBytes },
      initialSync: { embassy: embassySync, pass, rsync: rsyncRuns.plain, rsyncFsync: rsyncRuns.fsync },
      rpo,
      peerErrors,
    };
    const tables = buildTables(partial);
    const results = { ...partial, tables };
    const resultsFile = join(w.root, 'results-sync.json');
    await writeFile(resultsFile, JSON.stringify(results, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
    await writeFile(join(w.root, 'results-sync.md'), tables.markdown + '\n');
    process.stdout.write(`\nData Embassy replication benchmark, ${records.toLocaleString('en')} person records (${(packBytes / MB).toFixed(1)} MB of packs), ${results.date}\n`);
    process.stdout.write(`embassy: commit ${code.commit ?? '(no git)'}${code.uncommittedFiles ? ` + ${code.uncommittedFiles} uncommitted files` : ''}, code hash ${code.codeHash.slice(0, 16)}; ${rsyncVersion ?? 'rsync not installed'}\n`);
    process.stdout.write(`machine: ${machine.nproc} cores (${machine.cpuModel}), ${(machine.memTotalBytes / 2 ** 30).toFixed(0)} GiB; load ${machine.load1AtStart.toFixed(1)} at start, ${results.load1AtEnd.toFixed(1)} at end\n\n`);
    process.stdout.write(tables.text + '\n\n');
    for (const [name, message] of Object.entries(peerErrors)) process.stdout.write(`${name}: ${message.split('\n')[0]}\n`);
    process.stdout.write(`results: ${resultsFile} (and results-sync.md)\n`);
  } finally {
    for (const d of daemons.reverse()) if (d.running) await d.stop();
    await w.cleanup();
  }
}

interface TableInput {
  records: number;
  packs: { files: number; bytes: number };
  initialSync: { embassy: Transfer; rsync: Transfer | null; rsyncFsync: Transfer | null };
  rpo: RpoResult | null;
}

const NOTE_SYNC =
  'embassy sync checks the home log (signature, consistency), fetches only missing objects over HTTPS with mutual TLS, ' +
  'checks every object against its hash, writes packs and an index with fsync, and signs a receipt; ' +
  'rsync -a copies the files without checking their content (--fsync: and fsyncs each file). ' +
  'Wall and client CPU include starting the process (Node + tsx for embassy, about 1 s); server CPU is the serving process over the same span.';

function buildTables(r: TableInput): { text: string; markdown: string } {
  const s = r.initialSync;
  const header = ['metric', 'embassy sync', 'rsync -a', 'rsync -a --fsync', 'embassy/rsync', 'embassy/rsync --fsync'];
  const rows: Cell[][] = [];
  const row = (metric: string, pick: (t: Transfer) => number | null, digits: number, ratios = true) => {
    const e = pick(s.embassy);
    const a = s.rsync ? pick(s.rsync) : null;
    const b = s.rsyncFsync ? pick(s.rsyncFsync) : null;
    rows.push([metric, fixed(e, digits), fixed(a, digits), fixed(b, digits), ratios ? formatRatio(ratio(e, a)) : '', ratios ? formatRatio(ratio(e, b)) : '']);
  };
  row(`initial sync, ${r.records.toLocaleString('en')} records: wall s`, (t) => t.wall, 2);
  row('MB/s (bytes moved / wall s)', (t) => t.bytes / MB / t.wall, 1);
  row('MB moved', (t) => t.bytes / MB, 1);
  row('objects fetched / files copied', (t) => t.items, 0, false);
  row('client CPU s (user+sys)', (t) => t.cpu, 2);
  row('server CPU s (user+sys)', (t) => t.serverCpu, 2);
  row('client peak RSS MiB', (t) => t.maxRss / MIB, 0);
  const syncNote = `home packs: ${r.packs.files} files, ${(r.packs.bytes / MB).toFixed(1)} MB. ${NOTE_SYNC}`;

  const text: string[] = [formatText(header, rows), syncNote];
  const md: string[] = [formatMarkdown(header, rows), '', syncNote];
  const p = r.rpo;
  if (p) {
    const sec = (ms: number | null | undefined) => fixed(ms === null || ms === undefined ? null : ms / 1000, 2);
    const met = (x: boolean | null) => (x === null ? '—' : x ? 'yes' : 'no');
    const rh = ['metric', 'at the mirror (receipts.jsonl)', 'at the home (receipts.sqlite)', 'target', 'met?'];
    const m = p.mirror.summary;
    const h = p.home.summary;
    const rr: Cell[][] = [
      ['versions (change sets ingested)', m.versions, h.versions, '', ''],
      ['versions with a receipt', m.covered, h.covered, '', ''],
      ['RPO p50 s (receipt − source time)', sec(m.p50Ms), sec(h.p50Ms), '', ''],
      ['RPO p99 s', sec(m.p99Ms), sec(h.p99Ms), '< 5 s at the mirror', met(m.p99UnderTarget)],
      ['RPO max s', sec(m.maxMs), sec(h.maxMs), '', ''],
      ['RPO mean s', sec(m.meanMs), sec(h.meanMs), '', ''],
    ];
    const late = p.ticks.filter((t) => t.lateMs > 50).length;
    const rpoNote =
      `${p.ticks.length} change sets of ${p.changesPerSet} changes (embassy generate --mutate, days 1..${p.ticks.length}), one every ${p.intervalMs} ms for ${p.seconds} s (last ingest done after ${(p.elapsedMs / 1000).toFixed(0)} s), ` +
      `each written just before \`embassy ingest --changes\` (source time = its mtime). Mirror node --poll-interval 10 (woken by the home's notification). ` +
      `Ingest wall s p50 ${fixed(p.ingestWall.p50, 2)}, p99 ${fixed(p.ingestWall.p99, 2)}, max ${fixed(p.ingestWall.max, 2)} (part of the RPO); ` +
      `receipt − end of ingest p50 ${sec(p.afterIngest.p50Ms)} s, p99 ${sec(p.afterIngest.p99Ms)} s, max ${sec(p.afterIngest.maxMs)} s; ` +
      `${late} of ${p.ticks.length} sets started > 50 ms late. Node CPU s over the phase: home ${fixed(p.nodeCpu.home, 1)}, mirror ${fixed(p.nodeCpu.mirror, 1)}; ` +
      `node exits: home ${p.nodeExit.home}, mirror ${p.nodeExit.mirror}. With fewer than 100 versions p99 is the maximum.`;
    text.push('', formatText(rh, rr), rpoNote);
    md.push('', formatMarkdown(rh, rr), '', rpoNote);
  }
  return { text: text.join('\n'), markdown: md.join('\n') };
}

main().catch((e: unknown) => {
  process.stderr.write(e instanceof BenchError ? `${e.message}\n` : `bench:sync: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
