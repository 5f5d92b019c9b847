// `npm run bench:serve` (and the last part of `npm run bench`): serving from an activated mirror.
// 1. A home seals BENCH_RECORDS generated persons and holds a key ceremony (5 custodians, 3 of
//    them needed, the default memory-hard KDF); a mirror follows it and receipts; the home stops.
// 2. RTO: three custodians activate the mirror with `embassy activate`; from the moment the third
//    share is handed in, a client polls a proof-carrying lookup until one answers and its proof
//    verifies. Beside it, in the same run, `restic restore` of the same NDJSON from a restic
//    repository (what a classic backup needs before anything can be served).
// 3. Throughput and latency on the active mirror, over loopback HTTPS with keep-alive, driven by
//    autocannon in this process: lookups by key with proof bundles and without; requests/s, p50, p99.
// Environment: BENCH_RECORDS (1000000), BENCH_SEED (42), BENCH_SECONDS (15 per load run),
// BENCH_CONNECTIONS (32), BENCH_WARMUP_SECONDS (10), BENCH_KDF_COST (17), BENCH_DIR, BENCH_KEEP=1; see docs/benchmarks.md.
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Agent, request } from 'node:https';
import autocannon from 'autocannon';
import { freezeEmbassy } from './code.ts';
import { Daemon, freePort, waitFor } from './daemons.ts';
import { describeMachine } from './machine.ts';
import { BenchError, hasCommand, run, runTimed, type Timed } from './measure.ts';
import { fixed, formatMarkdown, formatText, ratio, formatRatio, type Cell } from './table.ts';
import { DATASET_ID, DATASET_KEY, parseJson } from './tools.ts';
import { intEnv, openWorkDir } from './workdir.ts';

const PASS_PREFIX = 'BENCH_CUSTODIAN_';
const PASSPHRASE = 'bench passphrase, not a secret';
const RESTIC_PASSWORD = 'embassy-bench-not-a-secret';
const TARGET_RPS = 3000;
const TARGET_P99_MS = 20;

const t0 = performance.now();
function log(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stderr.write(`[bench:serve ${s}s] ${message}\n`);
}

interface LoadResult {
  label: string;
  proof: boolean;
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  connections: number;
  seconds: number;
  load1: number;
}

/** Reads every record key (BSN) of the generated NDJSON. */
async function readKeys(file: string): Promise<string[]> {
  const keys: string[] = [];
  const re = new RegExp(`"${DATASET_KEY}":"(\\d+)"`);
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    const m = re.exec(line);
    if (m) keys.push(m[1]!);
  }
  return keys;
}

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!;
}

async function load(label: string, url: string, token: string, keys: string[], proof: boolean, seconds: number, connections: number): Promise<LoadResult> {
  const path = `/api/v1/datasets/${DATASET_ID}/records/get`;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ key: pick(keys), proof }) }),
      },
    ],
  });
  return {
    label,
    proof,
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    non2xx: result.non2xx,
    connections,
    seconds,
    load1: loadavg()[0]!,
  };
}

function postJson(agent: Agent, url: string, token: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function main(): Promise<void> {
  const records = intEnv('BENCH_RECORDS', 1_000_000);
  const seed = intEnv('BENCH_SEED', 42);
  const seconds = intEnv('BENCH_SECONDS', 15);
  const connections = intEnv('BENCH_CONNECTIONS', 32);
  const kdfCost = intEnv('BENCH_KDF_COST', 17);
  // Enough decrypted-node cache to hold a 1 M-person version (about 2 GB counted), and a larger
  // young generation for the serving process (fewer scavenges under load); docs/operations.md §16.
  const cacheMb = intEnv('BENCH_NODE_CACHE_MB', 3072);
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=32').split(' ').filter((f) => f !== '');
  const haveRestic = await hasCommand('restic');
  const work = await openWorkDir('embassy-bench-serve-');
  const daemons: Daemon[] = [];
  try {
    const machine = await describeMachine();
    const code = await freezeEmbassy(join(work.data, 'code'));
    const embassy = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> =>
      runTimed(process.execPath, [code.bin, ...args], { scratch: work.scratch, env: { ...process.env, ...env } });
    const json = async <T>(what: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> => parseJson<T>(what, (await embassy(args, env)).stdout);

    log(`generating ${records} persons (seed ${seed})`);
    const persons = join(work.data, 'persons.ndjson');
    await embassy(['generate', '--kind', 'persons', '--count', String(records), '--seed', String(seed), '--out', persons]);
    const keys = await readKeys(persons);
    if (keys.length !== records) throw new BenchError(`expected ${records} keys in ${persons}, read ${keys.length}`);

    const home = join(work.data, 'den-haag');
    const mirror = join(work.data, 'luxembourg');
    await embassy(['init', '--dir', home, '--name', 'den-haag', '--role', 'home', '--origin', 'den-haag.example/embassy']);
    await embassy(['init', '--dir', mirror, '--name', 'luxembourg', '--role', 'mirror']);
    await embassy(['dataset', 'add', '--dir', home, '--id', DATASET_ID, '--key', DATASET_KEY,
      '--index', 'verblijfplaats.verblijfadres.postcode,verblijfplaats.verblijfadres.huisnummer']);
    log('sealing at the home');
    const seal = await embassy(['ingest', '--dir', home, '--dataset', DATASET_ID, persons, '--json']);
    log(`sealed in ${seal.wall.toFixed(1)} s; key ceremony (5 custodians, 3 needed, scrypt logN ${kdfCost})`);
    const shares = join(work.data, 'shares');
    const passEnv: NodeJS.ProcessEnv = {};
    for (let i = 1; i <= 5; i++) passEnv[`${PASS_PREFIX}CUSTODIAN_${i}`] = `${PASSPHRASE} ${i}`;
    await embassy(['custody', 'init', '--dir', home, '--custodians', '5', '--threshold', '3', '--out', shares,
      '--passphrase-env', PASS_PREFIX, '--kdf-cost', String(kdfCost)], passEnv);

    const homePort = await freePort();
    const mirrorPort = await freePort();
    const apiPort = await freePort();
    for (const [dir, port, name] of [[home, homePort, 'den-haag'], [mirror, mirrorPort, 'luxembourg']] as const) {
      await embassy(['site', 'card', '--dir', dir, '--url', `https://127.0.0.1:${port}`, '--out', join(work.data, `${name}.card`)]);
    }
    await embassy(['site', 'add', '--dir', home, join(work.data, 'luxembourg.card')]);
    await embassy(['site', 'add', '--dir', mirror, join(work.data, 'den-haag.card')]);

    log('replicating to the mirror');
    const serve = (name: string, dir: string, port: number, extra: string[]) =>
      Daemon.start(name, process.execPath, [code.bin, 'serve', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--poll-interval', '1', '--log-level', 'warn', ...extra], work.scratch, (out) => out.includes('\n'), 120_000);
    const homeNode = await serve('home', home, homePort, []);
    daemons.push(homeNode);
    let apiUrl = '';
    const mirrorNode = await Daemon.start('mirror', process.execPath,
      [...nodeFlags, code.bin, 'serve', '--dir', mirror, '--listen', `127.0.0.1:${mirrorPort}`, '--api-listen', `127.0.0.1:${apiPort}`, '--poll-interval', '1', '--log-level', 'warn',
        '--node-cache-mb', String(cacheMb)],
      work.scratch, (out) => {
        const line = out.split('\n')[0];
        if (!line || !out.includes('\n')) return false;
        apiUrl = (JSON.parse(line) as { api?: string }).api ?? '';
        return true;
      }, 120_000);
    daemons.push(mirrorNode);
    if (!apiUrl) throw new BenchError('the mirror node did not print its API address');
    const homeSize = (await readFile(join(home, 'log', 'checkpoint'), 'utf8')).split('\n')[1];
    await waitFor('the mirror to receipt the home checkpoint', 30 * 60_000, async () => {
      const receipt = await readFile(join(mirror, 'follow', 'den-haag', 'receipt'), 'utf8').catch(() => '');
      return receipt.split('\n')[1] === homeSize;
    });
    log('receipted; the home goes dark');
    await homeNode.stop();

    const token = (await json<{ token: string }>('token issue', ['token', 'issue', '--dir', mirror, '--client', 'bench', '--datasets', DATASET_ID, '--rate', '100000000', '--json'])).token;
    // The mirror's certificate is self-signed (peers pin it by its card); this client only times.
    const agent = new Agent({ keepAlive: true, rejectUnauthorized: false });
    const probeKey = keys[Math.floor(keys.length / 2)]!;
    const homeVkey = JSON.parse(await readFile(join(work.data, 'den-haag.card'), 'utf8')).logVerifierKey as string;
    const { verifyProofBundle } = (await import(pathToFileURL(join(code.bin, '..', '..', 'src', 'proof', 'bundle.ts')).href)) as typeof import('../src/proof/bundle.ts');
    const { parseVerifierKey } = (await import(pathToFileURL(join(code.bin, '..', '..', 'src', 'log', 'note.ts')).href)) as typeof import('../src/log/note.ts');
    const verifier = parseVerifierKey(homeVkey);
    const verifiedLookup = async (): Promise<boolean> => {
      const { status, text } = await postJson(agent, `${apiUrl}/api/v1/datasets/${DATASET_ID}/records/get`, token, { key: probeKey, proof: true });
      if (status !== 200) return false;
      const body = JSON.parse(text) as { proof: unknown };
      verifyProofBundle(body.proof, verifier);
      return true;
    };
    if (await verifiedLookup()) throw new BenchError('the mirror answered before any activation');

    log('activation: custodians 1 and 2, then 3 (timed)');
    const activate = (i: number) => embassy(['activate', '--dir', mirror, '--share', join(shares, `custodian-${i}.share`),
      '--passphrase-env', `${PASS_PREFIX}CUSTODIAN_${i}`, '--reason', 'benchmark'], passEnv);
    await activate(1);
    await activate(2);
    const third = performance.now();
    const activation = activate(3);
    let firstAnswer = 0;
    let firstAnswerAt = 0;
    for (;;) {
      if (await verifiedLookup().catch(() => false)) {
        firstAnswer = performance.now();
        firstAnswerAt = Date.now();
        break;
      }
      if (performance.now() - third > 120_000) throw new BenchError('no verified answer within 2 minutes of the third share');
      await new Promise((r) => setTimeout(r, 5));
    }
    const thirdRun = await activation;
    const status = await json<Record<string, unknown>>('activation status', ['activation', 'status', '--dir', mirror, '--json']);
    const rtoClientMs = firstAnswer - third;
    // From the node's own clock: the activation statement's notBefore is stamped right after the
    // third share rebuilt the KEK and the data keys were unwrapped.
    const notBefore = Date.parse(String((status.active as { notBefore?: string } | undefined)?.notBefore ?? ''));
    const rtoServerMs = Number.isFinite(notBefore) ? firstAnswerAt - notBefore : null;
    log(`first verified answer ${rtoClientMs.toFixed(0)} ms after the third custodian started (their CLI run: ${(thirdRun.wall * 1000).toFixed(0)} ms)`);

    let restic: { backup: number; restore: number; restoreCpu: number | null } | null = null;
    if (haveRestic) {
      log('restic: backup, then restore (timed)');
      const env = { ...process.env, RESTIC_REPOSITORY: join(work.data, 'restic-repo'), RESTIC_PASSWORD: RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(work.data, 'restic-cache') };
      await runTimed('restic', ['init', '--repository-version', '2'], { env, scratch: work.scratch });
      const backup = await runTimed('restic', ['backup', '--host', 'bench', persons], { env, scratch: work.scratch });
      const restore = await runTimed('restic', ['restore', 'latest', '--target', join(work.data, 'restored')], { env, scratch: work.scratch });
      restic = { backup: backup.wall, restore: restore.wall, restoreCpu: restore.cpu };
    } else {
      log('restic not installed (apt-get install -y restic): its column stays empty');
    }

    log('waiting for the mirror to fill its cache (it warms in the background after the activation)');
    type Cache = { state: string; datasets: { nodes: number; bytes: number }[]; ms?: number };
    const cache = await waitFor('the cache to be warm', 30 * 60_000, async () => {
      const st = await json<{ active?: { cache?: Cache } }>('activation status', ['activation', 'status', '--dir', mirror, '--json']);
      const c = st.active?.cache;
      if (c && c.state !== 'warming' && c.state !== 'warm') throw new BenchError(`cache warming ${c.state}`);
      return c?.state === 'warm' ? c : undefined;
    });
    const warm = { nodes: cache.datasets.reduce((a, d) => a + d.nodes, 0), cacheBytes: cache.datasets.reduce((a, d) => a + d.bytes, 0), ms: cache.ms ?? 0 };
    log(`warm: ${warm.nodes} nodes, ${(warm.cacheBytes / 1e6).toFixed(0)} MB counted, in ${(warm.ms / 1000).toFixed(1)} s`);
    log(`load: ${connections} connections, ${seconds} s each`);
    const loads: LoadResult[] = [];
    await load('warm-up', apiUrl, token, keys, true, intEnv('BENCH_WARMUP_SECONDS', 10), connections);
    // Closed loop: each connection sends its next request when the answer is in. autocannon's
    // fixed-rate mode is not used: it sends each second's budget in a burst and then corrects for
    // coordinated omission as if requests were due every millisecond, which measures itself.
    const fewer = Math.max(1, Math.floor(connections / 2));
    loads.push(await load(`lookup with proof, ${connections} connections`, apiUrl, token, keys, true, seconds, connections));
    loads.push(await load(`lookup with proof, ${fewer} connections`, apiUrl, token, keys, true, seconds, fewer));
    loads.push(await load(`lookup without proof, ${connections} connections`, apiUrl, token, keys, false, seconds, connections));

    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${mirrorNode.pid}/status`, 'utf8').catch(() => ''))?.[1] ?? NaN);
    log('deactivate, then a drill with custodians 3, 4 and 5 (full verification of the newest version)');
    await embassy(['deactivate', '--dir', mirror]);
    const drill = await json<{ statement: { ok: boolean; rto: { firstVerifiedAnswerMs: number; fullVerificationMs: number } } }>('drill',
      ['drill', '--dir', mirror, '--share', join(shares, 'custodian-3.share'), '--share', join(shares, 'custodian-4.share'), '--share', join(shares, 'custodian-5.share'),
        '--passphrase-env', PASS_PREFIX, '--report', join(work.data, 'drill.html'), '--json'], passEnv);

    const rows: Cell[][] = loads.map((l) => [l.label, fixed(l.rps, 0), fixed(l.p50, 1), fixed(l.p99, 1), fixed(l.max, 1), String(l.errors + l.non2xx)]);
    const header = ['load (autocannon, HTTPS keep-alive)', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors'];
    // The target holds if some load level gives both the rate and the tail at once.
    const proofRuns = loads.filter((l) => l.proof);
    const meeting = proofRuns.find((l) => l.rps >= TARGET_RPS && l.p99 < TARGET_P99_MS && l.errors + l.non2xx === 0);
    const rtoRows: Cell[][] = [
      ['embassy: third custodian starts `embassy activate` → first verified answer (client)', fixed(rtoClientMs / 1000, 2), restic ? formatRatio(ratio(rtoClientMs / 1000, restic.restore)) : ''],
      ['embassy: activation in force (node clock) → first verified answer (client)', rtoServerMs === null ? 'n/a' : fixed(rtoServerMs / 1000, 3), ''],
      ['embassy drill: last share → first verified answer (in the node)', fixed(drill.statement.rto.firstVerifiedAnswerMs / 1000, 3), ''],
      ['embassy drill: last share → newest version fully decrypted and its commitment recomputed', fixed(drill.statement.rto.fullVerificationMs / 1000, 2),
        restic ? formatRatio(ratio(drill.statement.rto.fullVerificationMs / 1000, restic.restore)) : ''],
      ['restic restore of the same NDJSON (nothing served yet)', restic ? fixed(restic.restore, 2) : 'n/a', ''],
    ];
    const out = [
      `machine: ${machine.nproc} cores (${machine.cpuModel}), load before ${machine.load1AtStart.toFixed(2)}; records ${records}; commit ${code.commit ?? 'n/a'}${code.uncommittedFiles ? ` (+${code.uncommittedFiles} uncommitted)` : ''}`,
      '',
      formatText(['RTO', 'seconds', 'embassy / restic'], rtoRows),
      '',
      formatText(header, rows),
      '',
      `mirror: node cache ${cacheMb} MB, warmed in the background in ${(warm.ms / 1000).toFixed(1)} s (${warm.nodes} nodes); RSS after the load ${(rssKiB / 1024).toFixed(0)} MiB; node flags ${nodeFlags.join(' ') || 'none'}`,
      `target: ≥ ${TARGET_RPS} proof-carrying lookups/s with p99 < ${TARGET_P99_MS} ms in one run: ${meeting ? `met (${meeting.label})` : 'missed'}`,
    ].join('\n');
    process.stdout.write(out + '\n');
    await writeFile(join(work.root, 'results-serve.json'), JSON.stringify({
      machine, code, records, seal: { wall: seal.wall, cpu: seal.cpu }, rto: { clientMs: rtoClientMs, serverMs: rtoServerMs, thirdCustodianCliMs: thirdRun.wall * 1000, status, drill: drill.statement },
      restic, loads, warm, rssKiB, cacheMb, nodeFlags, markdown: { rto: formatMarkdown(['RTO', 'seconds', 'embassy / restic'], rtoRows), load: formatMarkdown(header, rows) },
    }, null, 2) + '\n');
    log(`results in ${join(work.root, 'results-serve.json')}`);
    agent.destroy();
  } finally {
    for (const d of daemons.reverse()) await d.stop().catch(() => undefined);
    await work.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:serve failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
