// `embassy demo`: a short, self-contained tour of what is built so far, run as an operator would
// run it — every step is a real `embassy` command in its own process, printed before it runs.
// A home site in The Hague seals a generated population registry and a body of laws, takes in a
// day of changes, and proves a record to someone who holds nothing but the log's public key.
import { spawnSync } from 'node:child_process';
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
    .description('a short tour: seal a generated registry and laws, apply a day of changes, prove a record offline')
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

          say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
          return EXIT.OK;
        } finally {
          if (!o.dir) await rm(work, { recursive: true, force: true });
        }
      });
    });
}

function kib(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(1)} %`;
}
