// `embassy dataset add|list`: declare a dataset (key fields, indexes, tree shape) with its first
// data key wrapped under the home's KEK; list the datasets and their versions.
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { datasetOf, loadCatalog } from '../catalog/catalog.ts';
import { encodeStatement } from '../format/statement.ts';
import { datasetStatements, keyStatement } from '../seal/datasets.ts';
import { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { DEFAULT_TREE_SHAPE } from '../seal/shape.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function fields(s: string): string[] {
  return s.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new EmbassyError('usage', `${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function registerDataset(program: Command, ctx: CommandContext): void {
  const dataset = program.command('dataset').description('datasets of a home site');
  dataset
    .command('add')
    .description('declare a dataset and create its first data key (wrapped under the KEK); both go to the log')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--id <id>', 'dataset id, e.g. nl.brp.personen')
    .requiredOption('--key <fields>', 'key field path(s), comma-separated for a composite key, e.g. burgerservicenummer')
    .option('--index <fields>', 'a secondary index over these comma-separated field paths (repeatable)', collect, [])
    .option('--rpo-target <seconds>', 'target recovery point objective for this dataset, in seconds')
    .option('--leaf-target <n>', 'expected records per leaf (tree shape)')
    .option('--fanout <n>', 'expected children per internal node (tree shape)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; id: string; key: string; index: string[]; rpoTarget?: string; leafTarget?: string; fanout?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        if (site.config.role !== 'home') {
          throw new EmbassyError('site.config', `dataset add: ${site.config.name} is a ${site.config.role} site; datasets are declared at a home`);
        }
        const tree = {
          ...DEFAULT_TREE_SHAPE,
          ...(o.leafTarget ? { leafTarget: positiveInt('--leaf-target', o.leafTarget)! } : {}),
          ...(o.fanout ? { fanout: positiveInt('--fanout', o.fanout)! } : {}),
        };
        const rpoTarget = positiveInt('--rpo-target', o.rpoTarget);
        const result = await site.withLock(async () => {
          const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
          const catalog = await loadCatalog(site.logStore(), site.logVerifier());
          if (catalog.datasets.has(o.id)) throw new EmbassyError('dataset.exists', `dataset ${o.id} is already declared on ${site.config.name}`);
          const kek = await site.readKek();
          const dek = new Uint8Array(randomBytes(32));
          try {
            const statements = datasetStatements(
              { dataset: o.id, key: fields(o.key), indexes: o.index.map(fields), tree, ...(rpoTarget ? { rpoTarget } : {}) },
              kek,
              dek,
            );
            const appended = await writer.append(statements.map((s) => encodeStatement(s)));
            return { statements, appended };
          } finally {
            kek.fill(0);
            dek.fill(0);
          }
        });
        const [ds, key] = result.statements;
        const out = { dataset: ds.dataset, key: ds.key, indexes: ds.indexes, tree: ds.tree, dek: key.dek, dekFingerprint: key.dekFingerprint, logIndex: result.appended.firstIndex, logSize: result.appended.checkpoint.size };
        printData(ctx.io, !!o.json, out, () => `declared dataset ${ds.dataset} (key ${ds.key.join(',')}${ds.indexes.length ? `; indexes ${ds.indexes.map((i) => i.join(',')).join(' ')}` : ''}) with data key 1 ${key.dekFingerprint}\n`);
      });
    });

  dataset
    .command('rotate-key')
    .description('a new data key for the dataset (wrapped under the KEK, logged); the next version is sealed under it, from a full snapshot')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--dataset <id>', 'dataset id')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; dataset: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        if (site.config.role !== 'home') {
          throw new EmbassyError('site.config', `dataset rotate-key: ${site.config.name} is a ${site.config.role} site; data keys are made at a home`);
        }
        const result = await site.withLock(async () => {
          const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
          const ds = datasetOf(await loadCatalog(site.logStore(), site.logVerifier()), o.dataset);
          const kek = await site.readKek();
          const dek = new Uint8Array(randomBytes(32));
          try {
            const statement = keyStatement(o.dataset, ds.keys.size + 1, kek, dek);
            const appended = await writer.append([encodeStatement(statement)]);
            return { statement, appended };
          } finally {
            kek.fill(0);
            dek.fill(0);
          }
        });
        const k = result.statement;
        const out = { dataset: k.dataset, dek: k.dek, dekFingerprint: k.dekFingerprint, kekFingerprint: k.kekFingerprint, logIndex: result.appended.firstIndex };
        printData(ctx.io, !!o.json, out, () =>
          `data key ${k.dek} of ${k.dataset}: ${k.dekFingerprint} (log entry ${out.logIndex}); seal the next version from a full snapshot (change files apply again after it)\n`);
      });
    });

  dataset
    .command('list')
    .description('datasets on this site with their newest versions')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const catalog = await loadCatalog(site.logStore(), site.logVerifier());
        const rows = [...catalog.datasets.values()].map((ds) => {
          const v = ds.versions[ds.versions.length - 1]?.statement;
          return { dataset: ds.statement.dataset, key: ds.statement.key, indexes: ds.statement.indexes, versions: ds.versions.length, keepFrom: ds.keepFrom, newest: v ? { version: v.version, records: v.records, sourceTime: v.sourceTime, root: v.root } : null };
        });
        printData(ctx.io, !!o.json, rows, () =>
          rows.length === 0 ? 'no datasets\n' : rows.map((r) => `${r.dataset.padEnd(28)} ${r.newest ? `v${r.newest.version}  ${r.newest.records} records  source ${r.newest.sourceTime}` : 'no versions'}\n`).join(''),
        );
      });
    });
}
