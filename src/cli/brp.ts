// `embassy brp import`: the upstream BRP API mock's test persons → NDJSON of Persoon records
// (Haal Centraal BRP Personen v2 shape) for `embassy ingest` into the nl.brp.personen dataset.
// The file is written beside its target and renamed into place, so a failed run leaves nothing.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { BRP_INDEXES, brpDatasetAddArgs } from '../brp/dataset.ts';
import { convertMockPersons } from '../brp/import.ts';
import { BRP_DATASET } from '../brp/query.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

/** Failures listed in an error message at most; --json output lists all. */
const SHOWN_FAILURES = 10;

export function registerBrp(program: Command, ctx: CommandContext): void {
  const brp = program.command('brp').description('the Haal Centraal BRP Personen dataset (nl.brp.personen) and its façade');
  brp
    .command('import')
    .description(`convert the BRP API mock test persons (JSON array) into NDJSON Persoon records for ${BRP_DATASET}`)
    .requiredOption('--in <file>', 'the mock test-data JSON file')
    .requiredOption('--out <file>', 'NDJSON file to write (one person per line)')
    .option('--skip-invalid', 'write the persons that convert and list the others, instead of writing nothing')
    .option('--json', 'print JSON')
    .action(async (o: { in: string; out: string; skipInvalid?: boolean; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        let raw: unknown;
        try {
          raw = JSON.parse(await readFile(o.in, 'utf8'));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new EmbassyError('input.malformed', `brp import: ${o.in} does not exist`);
          throw new EmbassyError('input.malformed', `brp import: ${o.in} is not JSON`, { cause: e });
        }
        const { persons, failures } = convertMockPersons(raw, o.in);
        if (failures.length > 0 && !o.skipInvalid) {
          const shown = failures.slice(0, SHOWN_FAILURES).map((f) => f.message).join('; ');
          throw new EmbassyError('input.malformed', `brp import: ${failures.length} of ${failures.length + persons.length} persons cannot be converted: ${shown}${failures.length > SHOWN_FAILURES ? '; …' : ''}`, {
            hint: 'fix the input, or pass --skip-invalid to write the others',
          });
        }
        const tmp = `${o.out}.tmp-${process.pid}`;
        try {
          await writeFile(tmp, persons.map((p) => JSON.stringify(p)).join('\n') + (persons.length ? '\n' : ''));
          await rename(tmp, o.out);
        } catch (e) {
          await rm(tmp, { force: true });
          throw new EmbassyError('store.io', `brp import: cannot write ${o.out}`, { cause: e });
        }
        for (const f of failures) ctx.io.stderr(`embassy: skipped ${f.message}\n`);
        const out = { out: o.out, persons: persons.length, skipped: failures, dataset: BRP_DATASET, indexes: BRP_INDEXES, datasetAdd: brpDatasetAddArgs('<dir>') };
        printData(ctx.io, !!o.json, out, () =>
          `wrote ${persons.length} persons to ${o.out}${failures.length ? ` (skipped ${failures.length})` : ''}\n` +
          `declare the dataset with: embassy ${brpDatasetAddArgs('<dir>').join(' ')}\n`);
      });
    });
}
