// `embassy get`: one record of a dataset version, optionally with a self-contained proof bundle
// that `embassy proof verify` checks offline with nothing but the log's verifier key.
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { utf8Strict } from '../format/bytes.ts';
import { encodeStatement } from '../format/statement.ts';
import { versionOf, versionRoot } from '../catalog/catalog.ts';
import { formatProofBundle } from '../proof/bundle.ts';
import { Site } from '../site/site.ts';
import { proveLogInclusion } from '../sitelog/proofs.ts';
import { getRecord } from '../tree/read.ts';
import { proveRecord } from '../tree/proof.ts';
import { JSON_CONTENT_TYPE, type TreeRecord } from '../tree/types.ts';
import { openDataset } from './open-dataset.ts';
import { printData, toJson } from './output.ts';
import type { CommandContext } from './main.ts';

/** A record as people and JSON tools want to see it: JSON values parsed, bytes as base64. */
export function presentRecord(r: TreeRecord): { key: string; contentType: string; value: unknown } {
  if (r.contentType === JSON_CONTENT_TYPE) return { key: r.key, contentType: r.contentType, value: JSON.parse(utf8Strict.decode(r.value)) };
  return { key: r.key, contentType: r.contentType, value: Buffer.from(r.value).toString('base64') };
}

export function registerGet(program: Command, ctx: CommandContext): void {
  program
    .command('get')
    .description('print a record of a dataset version; --proof prints a proof bundle instead')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--dataset <id>', 'dataset id')
    .argument('<key>', 'record key')
    .option('--version <n>', 'version number (default: the newest)')
    .option('--proof', 'print a self-contained proof bundle (record, tree path, version statement, log inclusion proof, signed checkpoint)')
    .option('--json', 'print JSON')
    .action(async (key: string, o: { dir: string; dataset: string; version?: string; proof?: boolean; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const version = o.version === undefined ? undefined : Number(o.version);
        if (version !== undefined && (!Number.isSafeInteger(version) || version < 1)) throw new EmbassyError('usage', 'get: --version must be a positive integer');
        const site = await Site.open(o.dir);
        const first = await openDataset(site, o.dataset);
        let ds = first;
        try {
          const v = versionOf(ds.dataset, version);
          if (v.statement.dek !== ds.dekNumber) {
            await ds.close();
            ds = await openDataset(site, o.dataset, { dekNumber: v.statement.dek, catalog: first.catalog });
          }
          const root = versionRoot(v);
          const notFound = () => new EmbassyError('record.not-found', `${o.dataset} version ${v.statement.version}: no record with key ${JSON.stringify(key)}`);
          if (o.proof) {
            const recordProof = await proveRecord(root, key, ds.params, ds.store);
            if (!recordProof) throw notFound();
            const cp = ds.catalog.checkpoint;
            const logProof = await proveLogInclusion(site.logStore(), v.logIndex, cp.size);
            const bundle = formatProofBundle({ recordProof, statement: v.statement, logIndex: v.logIndex, logProof, checkpointNote: ds.catalog.checkpointNote });
            encodeStatement(bundle.statement); // the statement must round-trip to its log bytes
            ctx.io.stdout(toJson(bundle) + '\n');
            return;
          }
          const record = await getRecord(root, key, ds.store);
          if (!record) throw notFound();
          const shown = presentRecord(record);
          printData(ctx.io, !!o.json, { dataset: o.dataset, version: v.statement.version, ...shown }, () => toJson(shown.value) + '\n');
        } finally {
          await ds.close();
        }
      });
    });
}
