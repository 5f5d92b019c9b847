// `embassy demo`: the whole story in a couple of minutes, run as operators would run it — every
// step is a real `embassy` command in its own process, printed before it runs, and every site is
// its own `embassy serve` process on 127.0.0.1 talking HTTPS.
// A home in The Hague seals a generated population registry and a body of laws and holds a key
// ceremony (five custodians, three needed); mirrors in Groningen, Luxembourg and Willemstad and a
// witness in Tallinn join, copy everything without keys and return receipts; a day of changes
// flows through. Then the home goes dark: three custodians activate Luxembourg, a client looks a
// person up through the Haal Centraal BRP API and gets a record with a proof that verifies offline;
// Luxembourg is deactivated; Willemstad runs a drill and its signed report is printed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../net/free-port.ts';
import { httpsJson, type JsonAnswer } from '../net/https-json.ts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { OWN_LOG_COSIGNATURES_FILE } from '../federation/own-log.ts';
import { ReceiptStore } from '../federation/receipt-store.ts';
import { EXIT } from './exit-codes.ts';
import type { CommandContext } from './main.ts';

const BIN = fileURLToPath(new URL('../../bin/embassy.js', import.meta.url));
const PERSONS = 'nl.brp.personen';
const LAWS = 'nl.bwb.wetten';
/** Demo passphrases, given through the environment as automation would; `custody init` asks on a terminal otherwise. */
const PASS_PREFIX = 'DEMO_PASSPHRASE_';
const CUSTODIANS = ['anna', 'bram', 'chantal', 'daan', 'eva'];
/** A lighter scrypt cost than the default (logN 17, 128 MiB) keeps the demo short. */
const DEMO_KDF_COST = '15';

type Run = (args: string[], expect?: number) => { stdout: string; json: () => any };

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('the whole story: seal, key ceremony, replicate with receipts, a day of changes, the home goes dark, custodians activate a mirror, a client reads with proof, a drill')
    .option('--dir <dir>', 'work directory (default: a new temporary directory, removed afterwards)')
    .option('--persons <n>', 'number of generated person records', '20000')
    .action(async (o: { dir?: string; persons: string }) => {
      await ctx.run(false, async () => {
        const say = (s: string): void => ctx.io.stdout(s + '\n');
        const work = o.dir ?? (await mkdtemp(join(tmpdir(), 'embassy-demo-')));
        const started = performance.now();
        const env: NodeJS.ProcessEnv = { ...process.env };
        for (const c of CUSTODIANS) env[`${PASS_PREFIX}${c.toUpperCase()}`] = `demo passphrase of ${c}, not a secret`;
        const run: Run = (args, expect = 0) => {
          const shown = args.map((a) => (a.startsWith(work) ? a.replace(work, '$WORK') : a)).join(' ');
          say(`   $ embassy ${shown.length > 150 ? shown.slice(0, 147) + '...' : shown}`);
          const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env });
          if (r.status !== expect) {
            throw new EmbassyError('log.corrupt', `demo: step failed (exit ${r.status}, expected ${expect}): ${r.stderr.trim()}`);
          }
          return { stdout: r.stdout, json: () => JSON.parse(r.stdout) };
        };
        try {
          await story(work, o.persons, run, say);
          say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
          return EXIT.OK;
        } finally {
          for (const n of nodes.values()) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
          nodes.clear();
          if (!o.dir) await rm(work, { recursive: true, force: true });
        }
      });
    });
}

interface RunningNode {
  child: ChildProcess;
  api?: string;
}

const nodes = new Map<string, RunningNode>();

const SITES = [
  { name: 'groningen', role: 'mirror', lat: '53.2194', lon: '6.5665', jurisdiction: 'NL', risk: 'nl,north-sea-flood', what: 'domestic failover datacenter' },
  { name: 'luxembourg', role: 'mirror', lat: '49.6116', lon: '6.1319', jurisdiction: 'LU', risk: 'eu-central', what: 'data embassy in Luxembourg' },
  { name: 'willemstad', role: 'mirror', lat: '12.1224', lon: '-68.8824', jurisdiction: 'CW', risk: 'caribbean', what: 'data embassy in Curaçao' },
  { name: 'tallinn', role: 'witness', lat: '59.4370', lon: '24.7536', jurisdiction: 'EE', risk: 'baltic', what: 'an independent witness' },
] as const;

async function story(work: string, persons: string, run: Run, say: (s: string) => void): Promise<void> {
  const home = join(work, 'den-haag');
  const dir = (name: string): string => (name === 'den-haag' ? home : join(work, name));
  say(`Data Embassy demo — work directory ${work}\n`);

  say('1. A home site in The Hague: its config, keys (owner-only) and an empty signed log.');
  const init = run(['init', '--dir', home, '--name', 'den-haag', '--role', 'home', '--origin', 'den-haag.example/embassy', '--json']).json();
  const homeVkey: string = init.logVerifierKey;
  say(`   log verifier key (public): ${homeVkey}\n`);

  say(`2. Generate ${Number(persons).toLocaleString('en')} synthetic persons (in the BRP API's own shape, valid BSNs) and 25 laws;`);
  say('   declare both datasets, the persons with the indexes the Haal Centraal BRP searches use.');
  const personsFile = join(work, 'persons-day0.ndjson');
  const lawsFile = join(work, 'laws.ndjson');
  run(['generate', '--kind', 'persons', '--count', persons, '--seed', '7', '--out', personsFile]);
  run(['generate', '--kind', 'laws', '--count', '25', '--seed', '7', '--out', lawsFile]);
  run(['dataset', 'add', '--dir', home, '--id', PERSONS, '--key', 'burgerservicenummer',
    '--index', 'verblijfplaats.verblijfadres.postcode,verblijfplaats.verblijfadres.huisnummer', '--index', 'geboorte.datum.datum']);
  run(['dataset', 'add', '--dir', home, '--id', LAWS, '--key', 'bwbId']);
  say('');

  say('3. Seal version 1 of each: sorted, built into a history-independent tree, compressed, padded, encrypted, logged.');
  const v1 = run(['ingest', '--dir', home, '--dataset', PERSONS, personsFile, '--json']).json();
  say(`   persons v1: ${v1.records} records → ${v1.newObjects} objects, ${kib(v1.newBytes)} stored (source ${kib((await readFile(personsFile)).length)}), ${v1.seconds} s`);
  const l1 = run(['ingest', '--dir', home, '--dataset', LAWS, lawsFile, '--json']).json();
  say(`   laws v1:    ${l1.records} law texts → ${l1.newObjects} objects (large texts are content-defined chunks), ${kib(l1.newBytes)} stored\n`);

  say(`4. The key ceremony: a new key-encryption key (KEK) wraps every data key; it is split into ${CUSTODIANS.length} shares, any 3 of`);
  say('   which rebuild it, each share encrypted under its custodian\'s own passphrase (scrypt, memory-hard). The custody');
  say('   statement (KEK fingerprint, custodians, threshold) goes into the home log, so every mirror holds it.');
  const shares = join(work, 'shares');
  run(['custody', 'init', '--dir', home, '--custodians', String(CUSTODIANS.length), '--threshold', '3', '--names', CUSTODIANS.join(','),
    '--out', shares, '--passphrase-env', PASS_PREFIX, '--kdf-cost', DEMO_KDF_COST]);
  say(`   shares: ${CUSTODIANS.map((c) => `${c}.share`).join(', ')} — one to each custodian; no one holds the KEK alone.\n`);

  await federation(work, home, dir, run, say);

  say('7. A day of changes: 1 % of persons updated, born or deceased; sealed as version 2; the mirrors follow within seconds.');
  const changes = join(work, 'persons-day1.changes.ndjson');
  run(['generate', '--kind', 'persons', '--count', persons, '--seed', '7', '--mutate', '--fraction', '0.01', '--pattern', 'scattered', '--day', '1', '--out', changes]);
  const v2 = run(['ingest', '--dir', home, '--dataset', PERSONS, '--changes', changes, '--json']).json();
  say(`   persons v2: +${v2.added} ~${v2.updated} -${v2.deleted} → only ${v2.newObjects} new objects, ${kib(v2.newBytes)} (${pct(v2.newBytes, v1.newBytes)} of version 1)`);
  const size = await waitForReceipts(home, 120_000);
  say(`   all three mirrors have receipted the home log at size ${size} (version 2 included).\n`);

  say('8. The home goes dark (its node stops; The Hague is unreachable).');
  await stopNode('den-haag');
  say('   den-haag: stopped\n');

  say('9. Three of the five custodians activate the data embassy in Luxembourg, one after the other. Each opens');
  say('   their share with their passphrase on their own machine; the mirror checks it against the custody statement,');
  say('   logs the submission, and at the third rebuilds the KEK in memory only and unwraps the data keys.');
  const lux = dir('luxembourg');
  for (const c of CUSTODIANS.slice(0, 3)) {
    const out = run(['activate', '--dir', lux, '--share', join(shares, `${c}.share`), '--passphrase-env', `${PASS_PREFIX}${c.toUpperCase()}`,
      '--duration', '8h', '--reason', 'demo: the home datacenters are gone']).stdout.trim();
    for (const line of out.split('\n')) say(`   ${line}`);
  }
  say('');

  await client(work, lux, homeVkey, changes, run, say);

  say('11. The crisis is over: Luxembourg is deactivated; its keys are wiped and it serves nothing again.');
  const deact = run(['deactivate', '--dir', lux]).stdout.trim();
  say(`   ${deact}`);
  const luxApi = nodes.get('luxembourg')!.api!;
  const refused = await apiCall(lux, luxApi, 'GET', '/api/v1/datasets', clientToken);
  say(`   GET /api/v1/datasets → ${refused.status} ${refused.json?.title ?? ''}: ${refused.json?.detail ?? ''}\n`);

  say('12. A drill at Willemstad: three other custodians activate it flagged as an exercise; it decrypts the newest');
  say('    version of every dataset, recomputes each commitment against the signed statement, answers sample queries');
  say('    with proofs, measures the RTO, logs a signed drill report (cosigned by the other mirrors) and deactivates.');
  const report = join(work, 'drill-willemstad.html');
  const drill = run(['drill', '--dir', dir('willemstad'), ...CUSTODIANS.slice(2).flatMap((c) => ['--share', join(shares, `${c}.share`)]),
    '--passphrase-env', PASS_PREFIX, '--report', report]).stdout.trimEnd();
  for (const line of drill.split('\n')) say(`   ${line.replace(work, '$WORK')}`);
  say('');

  say('13. Luxembourg\'s own log: every share, the activation, access digests and the deactivation, as signed statements.');
  const statements = run(['log', 'show', '--dir', lux, '--json'], 0).json() as { index: string; statement: { type: string } }[];
  say(`   ${statements.map((s) => s.statement.type).join(' → ')}`);
  const cosigned = ReceiptStore.open(join(lux, OWN_LOG_COSIGNATURES_FILE));
  try {
    const by = cosigned.all().map((r) => `${r.site} (size ${r.size})`);
    say(`   cosigned by the other mirrors: ${by.join(', ') || 'none yet'} — Luxembourg cannot quietly drop or rewrite any of it.`);
  } finally {
    cosigned.close();
  }
  say('');
  await stopAll();
}

/**
 * Steps 5–6: a federation. Three mirrors and a witness join; each runs `embassy serve` in its own
 * process on 127.0.0.1; the mirrors fetch and verify everything without keys and return receipts,
 * the witness cosigns, and the home's status shows copies, RPO, quorum and placement.
 */
async function federation(work: string, home: string, dir: (name: string) => string, run: Run, say: (s: string) => void): Promise<void> {
  say('5. A federation: mirrors in Groningen, Luxembourg and Willemstad and a witness in Tallinn join The Hague.');
  say('   Each site makes a card (URL, keys, pinned TLS certificate, location, jurisdiction, risk tags); the sites exchange them.');
  const ports = new Map<string, number>();
  for (const name of ['den-haag', ...SITES.map((x) => x.name)]) ports.set(name, await freePort());
  const cards = new Map<string, string>();
  const card = (name: string, extra: string[]): void => {
    const file = join(work, `${name}.card`);
    run(['site', 'card', '--dir', dir(name), '--url', `https://127.0.0.1:${ports.get(name)}`, ...extra, '--out', file]);
    cards.set(name, file);
  };
  card('den-haag', ['--lat', '52.0705', '--lon', '4.3007', '--jurisdiction', 'NL', '--risk', 'nl,north-sea-flood']);
  for (const x of SITES) {
    run(['init', '--dir', dir(x.name), '--name', x.name, '--role', x.role]);
    card(x.name, ['--lat', x.lat, '--lon', x.lon, '--jurisdiction', x.jurisdiction, '--risk', x.risk]);
    say(`   ${x.name}: ${x.what}`);
  }
  for (const x of SITES) {
    run(['site', 'add', '--dir', home, cards.get(x.name)!]);
    run(['site', 'add', '--dir', dir(x.name), cards.get('den-haag')!]);
    if (x.role === 'mirror') for (const y of SITES) if (y.role === 'mirror' && y !== x) run(['site', 'add', '--dir', dir(x.name), cards.get(y.name)!]);
  }
  const homeKey = JSON.parse(await readFile(cards.get('den-haag')!, 'utf8')).logVerifierKey as string;
  run(['witness', 'add-log', '--dir', dir('tallinn'), '--vkey', homeKey]);
  say('   The placement policy for the population registry, written to the home log:');
  run(['policy', 'set', '--dir', home, '--dataset', PERSONS, '--quorum', '2', '--of', 'groningen,luxembourg,willemstad',
    '--min-copies', '2', '--min-distance-km', '350', '--foreign-jurisdiction', '--distinct-risk', '--rpo-target', '86400']);
  say('   durable when 2 of {groningen, luxembourg, willemstad} hold it; 2 complete copies; one farther than 350 km');
  say('   (farther than Luxembourg, as the Dutch letter asks); one abroad; one sharing no risk with The Hague.\n');

  say('6. Every site runs its node: HTTPS with mutual TLS, only peers whose cards it holds may connect. The mirrors');
  say('   also open the data API (HTTPS, bearer tokens), which answers nothing until custodians activate them.');
  for (const name of ['tallinn', 'groningen', 'luxembourg', 'willemstad', 'den-haag']) {
    const role = name === 'den-haag' ? 'home' : SITES.find((x) => x.name === name)!.role;
    const api = role === 'mirror' ? ['--api-listen', '127.0.0.1:0'] : [];
    nodes.set(name, await startNode(dir(name), ports.get(name)!, api));
    say(`   $ embassy serve --dir $WORK/${name} --listen 127.0.0.1:${ports.get(name)}${api.length ? ' --api-listen 127.0.0.1:0' : ''} &`);
  }
  say('   The mirrors copy the home log, walk every version, fetch and hash-check every object without keys,');
  say('   and return a receipt (a C2SP cosignature on the home checkpoint); the witness checks consistency and cosigns.');
  await waitForReceipts(home, 120_000);
  const receipt = (await readFile(join(dir('willemstad'), 'follow', 'den-haag', 'receipt'), 'utf8')).trimEnd().split('\n');
  say('   The receipt from Willemstad (checkpoint, the home signature, the mirror cosignature):');
  for (const line of receipt) say(`     ${line}`);
  say('   The home\'s status, from the receipts it collected:');
  const text = spawnSync(process.execPath, [BIN, 'status', '--dir', home], { encoding: 'utf8' }).stdout;
  for (const line of text.trimEnd().split('\n')) say(`   ${line}`);
  say('');
}

let clientToken = '';

/** Step 10: a municipality's client asks Luxembourg, through the BRP API and the generic API with a proof. */
async function client(work: string, lux: string, homeVkey: string, changesFile: string, run: Run, say: (s: string) => void): Promise<void> {
  const api = nodes.get('luxembourg')!.api!;
  say('10. A municipality\'s client gets a token scoped to the population registry, and asks Luxembourg as it would ask');
  say('    the BRP: POST /haalcentraal/api/brp/personen, RaadpleegMetBurgerservicenummer, with the fields it needs.');
  clientToken = run(['token', 'issue', '--dir', lux, '--client', 'gemeente-utrecht', '--datasets', PERSONS, '--ttl', '1d', '--json']).json().token;
  // A person changed yesterday, so the answer comes from version 2.
  const changed = (await readFile(changesFile, 'utf8')).split('\n').map((l) => (l ? JSON.parse(l) : undefined)).find((c) => c?.op === 'upsert');
  const bsn: string = changed.record.burgerservicenummer;
  const brp = await apiCall(lux, api, 'POST', '/haalcentraal/api/brp/personen', clientToken, {
    type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: [bsn], fields: ['naam.voornamen', 'naam.geslachtsnaam', 'geboorte.datum', 'verblijfplaats.verblijfadres'],
  });
  if (brp.status !== 200) throw new EmbassyError('store.io', `demo: the BRP API answered ${brp.status}: ${JSON.stringify(brp.json)}`);
  const p = brp.json.personen[0];
  const adres = p.verblijfplaats?.verblijfadres;
  say(`    → ${brp.status} ${brp.json.type}: ${p.naam.voornamen} ${p.naam.geslachtsnaam}, born ${p.geboorte.datum.langFormaat}` +
    (adres ? `, ${adres.officieleStraatnaam} ${adres.huisnummer}, ${adres.postcode} ${adres.woonplaats}` : ''));
  say('    The same person with a proof bundle (POST /api/v1/datasets/nl.brp.personen/records/get {key, proof: true}),');
  say('    checked offline by someone who holds nothing but The Hague\'s public log key:');
  const got = await apiCall(lux, api, 'POST', `/api/v1/datasets/${PERSONS}/records/get`, clientToken, { key: bsn, proof: true });
  if (got.status !== 200) throw new EmbassyError('store.io', `demo: the API answered ${got.status}: ${JSON.stringify(got.json)}`);
  const bundleFile = join(work, 'proof.json');
  await writeFile(bundleFile, JSON.stringify(got.json.proof));
  const ok = run(['proof', 'verify', '--vkey', homeVkey, bundleFile, '--json']).json();
  say(`    verified: ${ok.record.value.naam.geslachtsnaam} is in ${ok.dataset} version ${ok.version} (source time ${ok.sourceTime}), log entry ${ok.logIndex}`);
  say('    of the home log — signed by The Hague before it went dark, served by Luxembourg, believed by no one on trust.');
  const forged = got.json.proof;
  forged.record.value = Buffer.from(JSON.stringify({ ...ok.record.value, naam: { ...ok.record.value.naam, geslachtsnaam: 'Vervalst' } })).toString('base64');
  await writeFile(bundleFile, JSON.stringify(forged));
  run(['proof', 'verify', '--vkey', homeVkey, bundleFile], EXIT.INTEGRITY);
  say('    a forged copy (surname changed) is refused (exit 5).');
  const inUrl = await apiCall(lux, api, 'GET', `/api/v1/datasets/${PERSONS}/records/${bsn}`, clientToken);
  say(`    a BSN in a URL is refused: ${inUrl.status} ${inUrl.json?.detail ?? ''}`);
  const entries = run(['journal', 'show', '--dir', lux, '--json']).json() as { seq: number; client: string; op: string; keys: string[]; activation: string }[];
  say(`    every read is in Luxembourg's hash-chained access journal (${entries.length} entries so far), e.g.:`);
  const last = entries.filter((e) => e.op === 'brp.personen')[0];
  if (last) say(`      #${last.seq} ${last.client} ${last.op} keys=${last.keys.join(',')} under activation ${last.activation}`);
  say('');
}

async function waitForReceipts(home: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = spawnSync(process.execPath, [BIN, 'status', '--dir', home, '--json'], { encoding: 'utf8' });
    const report = JSON.parse(r.stdout);
    const persons = report.datasets.find((d: { dataset: string }) => d.dataset === PERSONS);
    const mirrorsDone = persons.sites.filter((x: { role: string; holdsNewest: boolean }) => x.role === 'mirror' && x.holdsNewest).length;
    const witnessDone = report.witnesses.every((w: { entriesBehind: string | null }) => w.entriesBehind === '0');
    if (mirrorsDone === 3 && witnessDone) return (await readFile(join(home, 'log', 'checkpoint'), 'utf8')).split('\n')[1]!;
    if (Date.now() > deadline) throw new EmbassyError('store.io', `demo: the mirrors did not return receipts within ${ms / 1000} s`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

function startNode(dir: string, port: number, extra: string[]): Promise<RunningNode> {
  const child = spawn(process.execPath, [BIN, 'serve', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--poll-interval', '1', '--log-level', 'warn', '--home-probe-timeout', '1', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (x: string) => (err = (err + x).slice(-4000)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const info = JSON.parse(line) as { api?: string };
        resolve({ child, ...(info.api ? { api: info.api } : {}) });
      }
    });
    child.once('exit', (code) => reject(new EmbassyError('store.io', `demo: node for ${dir} exited with ${code}: ${err.trim()}`)));
  });
}

async function stopNode(name: string): Promise<void> {
  const n = nodes.get(name);
  if (!n) return;
  nodes.delete(name);
  if (n.child.exitCode !== null || n.child.signalCode !== null) return;
  await new Promise((res) => {
    n.child.once('exit', res);
    n.child.kill('SIGTERM');
  });
}

async function stopAll(): Promise<void> {
  await Promise.all([...nodes.keys()].map(stopNode));
}

/** A call to a site's data API over HTTPS, pinned to the site's own certificate (its card carries it). */
async function apiCall(siteDir: string, api: string, method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<JsonAnswer> {
  return httpsJson(new URL(path, api).href, { method, ca: await readFile(join(siteDir, 'tls.crt'), 'utf8'), token, body });
}

function kib(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(1)} %`;
}
