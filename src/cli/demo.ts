// `embassy demo`: a short, self-contained tour of what is built so far, run as an operator would
// run it — every step is a real `embassy` command in its own process, printed before it runs.
// A home site in The Hague seals a generated population registry and a body of laws, takes in a
// day of changes, and proves a record to someone who holds nothing but the log's public key.
// Then mirrors in Groningen, Luxembourg and Willemstad and a witness in Tallinn join, each as its
// own `embassy serve` process on 127.0.0.1, and the home shows their receipts and its policies.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../net/free-port.ts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { EXIT } from './exit-codes.ts';
import type { CommandContext } from './main.ts';

const BIN = fileURLToPath(new URL('../../bin/embassy.js', import.meta.url));

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('a short tour: seal a generated registry and laws, apply a day of changes, prove a record offline, replicate to three mirrors with receipts')
    .option('--dir <dir>', 'work directory (default: a new temporary directory, removed afterwards)')
    .option('--persons <n>', 'number of generated person records', '20000')
    .action(async (o: { dir?: string; persons: string }) => {
      await ctx.run(false, async () => {
        const say = (s: string): void => ctx.io.stdout(s + '\n');
        const work = o.dir ?? (await mkdtemp(join(tmpdir(), 'embassy-demo-')));
        const started = performance.now();
        const run = (args: string[], expect = 0): { stdout: string; json: () => any } => {
          const shown = args.map((a) => (a.startsWith(work) ? a.replace(work, '$WORK') : a)).join(' ');
          say(`   $ embassy ${shown.length > 150 ? shown.slice(0, 147) + '...' : shown}`);
          const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
          if (r.status !== expect) {
            throw new EmbassyError('log.corrupt', `demo: step failed (exit ${r.status}, expected ${expect}): ${r.stderr.trim()}`);
          }
          return { stdout: r.stdout, json: () => JSON.parse(r.stdout) };
        };
        try {
          const home = join(work, 'den-haag');
          say(`Data Embassy demo — work directory ${work}\n`);
          say('1. A home site in The Hague: its config, keys (owner-only) and an empty signed log.');
          const init = run(['init', '--dir', home, '--name', 'den-haag', '--role', 'home', '--origin', 'den-haag.example/embassy', '--json']).json();
          say(`   log verifier key (public): ${init.logVerifierKey}\n`);

          say(`2. Generate ${Number(o.persons).toLocaleString('en')} synthetic persons (BRP-shaped, valid BSNs) and 25 laws; declare both datasets.`);
          const persons = join(work, 'persons-day0.ndjson');
          const laws = join(work, 'laws.ndjson');
          run(['generate', '--kind', 'persons', '--count', o.persons, '--seed', '7', '--out', persons]);
          run(['generate', '--kind', 'laws', '--count', '25', '--seed', '7', '--out', laws]);
          run(['dataset', 'add', '--dir', home, '--id', 'nl.brp.personen', '--key', 'burgerservicenummer',
            '--index', 'verblijfplaats.verblijfadres.postcode,verblijfplaats.verblijfadres.huisnummer']);
          run(['dataset', 'add', '--dir', home, '--id', 'nl.bwb.wetten', '--key', 'bwbId']);
          say('');

          say('3. Seal version 1 of each: sorted, built into a history-independent tree, compressed, padded, encrypted, logged.');
          const v1 = run(['ingest', '--dir', home, '--dataset', 'nl.brp.personen', persons, '--json']).json();
          say(`   persons v1: ${v1.records} records → ${v1.newObjects} objects, ${kib(v1.newBytes)} stored (source ${kib((await readFile(persons)).length)}), ${v1.seconds} s`);
          const l1 = run(['ingest', '--dir', home, '--dataset', 'nl.bwb.wetten', laws, '--json']).json();
          say(`   laws v1:    ${l1.records} law texts → ${l1.newObjects} objects (large texts are content-defined chunks), ${kib(l1.newBytes)} stored\n`);

          say('4. A day of changes: 1 % of persons updated, born or deceased; sealed as version 2 from the change file.');
          const changes = join(work, 'persons-day1.changes.ndjson');
          run(['generate', '--kind', 'persons', '--count', o.persons, '--seed', '7', '--mutate', '--fraction', '0.01', '--pattern', 'scattered', '--day', '1', '--out', changes]);
          const v2 = run(['ingest', '--dir', home, '--dataset', 'nl.brp.personen', '--changes', changes, '--json']).json();
          say(`   persons v2: +${v2.added} ~${v2.updated} -${v2.deleted} → only ${v2.newObjects} new objects, ${kib(v2.newBytes)} (${pct(v2.newBytes, v1.newBytes)} of version 1)\n`);

          say('5. Prove one person to an outsider: a bundle with the record, its tree path, the signed version');
          say('   statement, its log inclusion proof and the signed checkpoint — checked offline with the public key only.');
          const first = (await readFile(changes, 'utf8')).split('\n').map((l) => (l ? JSON.parse(l) : undefined)).find((c) => c?.op === 'upsert');
          const bsn: string = first.record.burgerservicenummer;
          const bundle = run(['get', '--dir', home, '--dataset', 'nl.brp.personen', bsn, '--proof']).stdout;
          const bundleFile = join(work, 'proof.json');
          await writeFile(bundleFile, bundle);
          const ok = run(['proof', 'verify', '--vkey', init.logVerifierKey, bundleFile, '--json']).json();
          const naam = ok.record.value.naam;
          say(`   verified: ${naam.voornamen} ${naam.voorvoegsel ? naam.voorvoegsel + ' ' : ''}${naam.geslachtsnaam} is in ${ok.dataset} version ${ok.version} (log entry ${ok.logIndex}); the bundle names no other person.`);
          const forged = JSON.parse(bundle);
          forged.record.value = Buffer.from(JSON.stringify({ ...ok.record.value, naam: { ...naam, geslachtsnaam: 'Vervalst' } })).toString('base64');
          await writeFile(bundleFile, JSON.stringify(forged));
          run(['proof', 'verify', '--vkey', init.logVerifierKey, bundleFile], EXIT.INTEGRITY);
          say('   a forged copy of the same bundle (surname changed) is refused (exit 5).\n');

          say('6. Verify the site: with keys (decrypt, recompute every commitment) and blind (what a mirror can check without keys).');
          const vk = run(['verify', '--dir', home, '--json']).json();
          const vb = run(['verify', '--dir', home, '--blind', '--json']).json();
          say(`   with keys: ${vk.versions.versions} versions, ${vk.versions.records} records, ok=${vk.ok}; blind: ${vb.versions.objects} objects, ${kib(vb.versions.bytes)}, ok=${vb.ok}\n`);

          await federation(work, home, run, say);

          say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
          return EXIT.OK;
        } finally {
          for (const n of nodes) if (n.exitCode === null && n.signalCode === null) n.kill('SIGKILL');
          if (!o.dir) await rm(work, { recursive: true, force: true });
        }
      });
    });
}

const nodes: ChildProcess[] = [];

type Run = (args: string[], expect?: number) => { stdout: string; json: () => any };

const SITES = [
  { name: 'groningen', role: 'mirror', lat: '53.2194', lon: '6.5665', jurisdiction: 'NL', risk: 'nl,north-sea-flood', what: 'domestic failover datacenter' },
  { name: 'luxembourg', role: 'mirror', lat: '49.6116', lon: '6.1319', jurisdiction: 'LU', risk: 'eu-central', what: 'data embassy in Luxembourg' },
  { name: 'willemstad', role: 'mirror', lat: '12.1224', lon: '-68.8824', jurisdiction: 'CW', risk: 'caribbean', what: 'data embassy in Curaçao' },
  { name: 'tallinn', role: 'witness', lat: '59.4370', lon: '24.7536', jurisdiction: 'EE', risk: 'baltic', what: 'an independent witness' },
] as const;

/**
 * Steps 7–9: a federation. Three mirrors and a witness join; each runs `embassy serve` in its own
 * process on 127.0.0.1; the mirrors fetch and verify everything without keys and return receipts,
 * the witness cosigns, and the home's status shows copies, RPO, quorum and placement.
 */
async function federation(work: string, home: string, run: Run, say: (s: string) => void): Promise<void> {
  say('7. A federation: mirrors in Groningen, Luxembourg and Willemstad and a witness in Tallinn join The Hague.');
  say('   Each site makes a card (URL, keys, pinned TLS certificate, location, jurisdiction, risk tags); the sites exchange them.');
  const ports = new Map<string, number>();
  for (const name of ['den-haag', ...SITES.map((x) => x.name)]) ports.set(name, await freePort());
  const cards = new Map<string, string>();
  const card = (name: string, dir: string, extra: string[]): void => {
    const file = join(work, `${name}.card`);
    run(['site', 'card', '--dir', dir, '--url', `https://127.0.0.1:${ports.get(name)}`, ...extra, '--out', file]);
    cards.set(name, file);
  };
  card('den-haag', home, ['--lat', '52.0705', '--lon', '4.3007', '--jurisdiction', 'NL', '--risk', 'nl,north-sea-flood']);
  for (const x of SITES) {
    run(['init', '--dir', join(work, x.name), '--name', x.name, '--role', x.role]);
    card(x.name, join(work, x.name), ['--lat', x.lat, '--lon', x.lon, '--jurisdiction', x.jurisdiction, '--risk', x.risk]);
    say(`   ${x.name}: ${x.what}`);
  }
  for (const x of SITES) {
    run(['site', 'add', '--dir', home, cards.get(x.name)!]);
    run(['site', 'add', '--dir', join(work, x.name), cards.get('den-haag')!]);
    if (x.role === 'mirror') for (const y of SITES) if (y.role === 'mirror' && y !== x) run(['site', 'add', '--dir', join(work, x.name), cards.get(y.name)!]);
  }
  const homeKey = JSON.parse(await readFile(cards.get('den-haag')!, 'utf8')).logVerifierKey as string;
  run(['witness', 'add-log', '--dir', join(work, 'tallinn'), '--vkey', homeKey]);
  say('   The placement policy for the population registry, written to the home log:');
  run(['policy', 'set', '--dir', home, '--dataset', 'nl.brp.personen', '--quorum', '2', '--of', 'groningen,luxembourg,willemstad',
    '--min-copies', '2', '--min-distance-km', '350', '--foreign-jurisdiction', '--distinct-risk', '--rpo-target', '86400']);
  say('   durable when 2 of {groningen, luxembourg, willemstad} hold it; 2 complete copies; one farther than 350 km');
  say('   (farther than Luxembourg, as the Dutch letter asks); one abroad; one sharing no risk with The Hague.\n');

  say('8. Every site runs its node: HTTPS with mutual TLS, only peers whose cards it holds may connect.');
  for (const name of ['tallinn', 'groningen', 'luxembourg', 'willemstad', 'den-haag']) {
    const dir = name === 'den-haag' ? home : join(work, name);
    nodes.push(await startNode(dir, ports.get(name)!));
    say(`   $ embassy serve --dir $WORK/${name} --listen 127.0.0.1:${ports.get(name)} &`);
  }
  say('   The mirrors copy the home log, walk every version, fetch and hash-check every object without keys,');
  say('   and return a receipt (a C2SP cosignature on the home checkpoint); the witness checks consistency and cosigns.');
  const deadline = Date.now() + 120_000;
  let report: any;
  for (;;) {
    const r = spawnSync(process.execPath, [BIN, 'status', '--dir', home, '--json'], { encoding: 'utf8' });
    report = JSON.parse(r.stdout);
    const persons = report.datasets.find((d: { dataset: string }) => d.dataset === 'nl.brp.personen');
    const mirrorsDone = persons.sites.filter((x: { role: string; holdsNewest: boolean }) => x.role === 'mirror' && x.holdsNewest).length;
    const witnessDone = report.witnesses.every((w: { entriesBehind: string | null }) => w.entriesBehind === '0');
    if (mirrorsDone === 3 && witnessDone) break;
    if (Date.now() > deadline) throw new EmbassyError('store.io', 'demo: the mirrors did not return receipts within 2 minutes');
    await new Promise((res) => setTimeout(res, 250));
  }
  const receipt = (await readFile(join(work, 'willemstad', 'follow', 'den-haag', 'receipt'), 'utf8')).trimEnd().split('\n');
  say('   The receipt from Willemstad (checkpoint, the home signature, the mirror cosignature):');
  for (const line of receipt) say(`     ${line}`);
  say('');

  say('9. The home\'s status, from the receipts it collected:');
  const text = spawnSync(process.execPath, [BIN, 'status', '--dir', home], { encoding: 'utf8' }).stdout;
  for (const line of text.trimEnd().split('\n')) say(`   ${line}`);
  say('');
  for (const n of nodes) n.kill('SIGTERM');
  await Promise.all(nodes.map((n) => new Promise((res) => (n.exitCode !== null ? res(null) : n.once('exit', res)))));
}

function startNode(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--poll-interval', '2', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (x: string) => (err = (err + x).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new EmbassyError('store.io', `demo: node for ${dir} exited with ${code}: ${err.trim()}`)));
  });
}

function kib(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(1)} %`;
}
