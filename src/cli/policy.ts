// `embassy policy set|show`: a dataset's placement policy (docs/format.md §2.1, `placement`):
// the durability quorum, the complete copies required at mirrors, how far and where they must
// be, and the RPO target. `set` appends one placement statement to the home log (the newest one
// is in force); `show` prints the policy in force per dataset. Evaluation is src/federation/.
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { datasetOf, loadCatalog } from '../catalog/catalog.ts';
import { encodeStatement } from '../format/statement.ts';
import { placementStatement, type PlacementStatement } from '../format/statement-types.ts';
import { formatDuration } from '../federation/evaluate.ts';
import { loadPeers } from '../net/peers.ts';
import { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

interface SetOptions {
  dir: string;
  dataset: string;
  quorum: string;
  of: string;
  minCopies: string;
  minDistanceKm?: string;
  foreignJurisdiction?: boolean;
  distinctRisk?: boolean;
  rpoTarget?: string;
  json?: boolean;
}

function integer(name: string, v: string, min: number): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new EmbassyError('usage', `${name}: expected an integer of at least ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function kilometres(name: string, v: string): number {
  const n = /^\d+(?:\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n > 0)) throw new EmbassyError('usage', `${name}: expected a distance in km above 0, got ${JSON.stringify(v)}`);
  return n;
}

/** One line for people: "quorum 2 of a, b, c; 2 copies at mirrors; ≥ 300 km; ...". */
export function describePlacement(s: PlacementStatement): string {
  return [
    `quorum ${s.quorum.threshold} of ${s.quorum.sites.join(', ')}`,
    `${s.minCopies} ${s.minCopies === 1 ? 'copy' : 'copies'} at mirrors`,
    ...(s.minDistanceKm !== undefined ? [`a copy at least ${s.minDistanceKm} km away`] : []),
    ...(s.foreignJurisdiction ? ['a copy in a foreign jurisdiction'] : []),
    ...(s.distinctRisk ? ['a copy with distinct risk'] : []),
    ...(s.rpoTarget !== undefined ? [`rpo target ${formatDuration(s.rpoTarget)}`] : []),
  ].join('; ');
}

export function registerPolicy(program: Command, ctx: CommandContext): void {
  const policy = program.command('policy').description('placement policies of the datasets of a home site');
  policy
    .command('set')
    .description('set the placement policy of a dataset: a placement statement in the home log (the newest is in force)')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--dataset <id>', 'dataset id')
    .requiredOption('--quorum <n>', 'a version is durable when this many of the --of sites hold it')
    .requiredOption('--of <sites>', 'the quorum sites, comma-separated, e.g. groningen,luxembourg,willemstad')
    .requiredOption('--min-copies <n>', 'complete copies required at mirror sites (the home does not count)')
    .option('--min-distance-km <km>', 'at least one complete copy at least this far from the home (great circle)')
    .option('--foreign-jurisdiction', "at least one complete copy in a jurisdiction other than the home's")
    .option('--distinct-risk', "at least one complete copy whose risk tags share none with the home's")
    .option('--rpo-target <seconds>', "recovery point objective, in seconds (overrides the dataset's)")
    .option('--json', 'print JSON')
    .action(async (o: SetOptions) => {
      await ctx.run(!!o.json, async () => {
        let statement: PlacementStatement;
        try {
          statement = placementStatement({
            dataset: o.dataset,
            quorum: { threshold: integer('--quorum', o.quorum, 1), sites: o.of.split(',').map((n) => n.trim()).filter((n) => n !== '') },
            minCopies: integer('--min-copies', o.minCopies, 0),
            ...(o.minDistanceKm !== undefined ? { minDistanceKm: kilometres('--min-distance-km', o.minDistanceKm) } : {}),
            foreignJurisdiction: !!o.foreignJurisdiction,
            distinctRisk: !!o.distinctRisk,
            ...(o.rpoTarget !== undefined ? { rpoTarget: integer('--rpo-target', o.rpoTarget, 1) } : {}),
          });
        } catch (e) {
          // Our own options made an invalid statement: a usage error, not bad input from elsewhere.
          if (e instanceof EmbassyError && e.code === 'input.malformed') throw new EmbassyError('usage', `policy set: ${e.message}`);
          throw e;
        }
        const site = await Site.open(o.dir);
        if (site.config.role !== 'home') {
          throw new EmbassyError('site.config', `policy set: ${site.config.name} is a ${site.config.role} site; placement policies are set at a home`);
        }
        const peers = await loadPeers(site);
        const appended = await site.withLock(async () => {
          const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
          const catalog = await loadCatalog(site.logStore(), site.logVerifier());
          datasetOf(catalog, statement.dataset);
          return writer.append([encodeStatement(statement)]);
        });
        // Cards may come later, so an unknown site is allowed; a witness never holds a copy.
        for (const name of statement.quorum.sites) {
          if (name === site.config.name) continue;
          const card = peers.byName(name);
          if (!card) ctx.io.stderr(`embassy: warning: quorum site ${name} has no peer card on ${site.config.name} yet (add it with \`embassy site add\`)\n`);
          else if (card.role !== 'mirror') ctx.io.stderr(`embassy: warning: quorum site ${name} is a ${card.role}; it holds no copies, so it never counts\n`);
        }
        const out = { dataset: statement.dataset, placement: statement, logIndex: appended.firstIndex, logSize: appended.checkpoint.size };
        printData(ctx.io, !!o.json, out, () => `placement of ${statement.dataset} set at log index ${appended.firstIndex}: ${describePlacement(statement)}\n`);
      });
    });

  policy
    .command('show')
    .description('the placement policy in force for each dataset')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const catalog = await loadCatalog(site.logStore(), site.logVerifier());
        const rows = [...catalog.datasets.values()].map((ds) => ({
          dataset: ds.statement.dataset,
          placement: ds.placement?.statement ?? null,
          logIndex: ds.placement?.logIndex ?? null,
          datasetRpoTarget: ds.statement.rpoTarget ?? null,
        }));
        printData(ctx.io, !!o.json, rows, () =>
          rows.length === 0 ? 'no datasets\n' : rows.map((r) => `${r.dataset.padEnd(28)} ${r.placement ? `${describePlacement(r.placement)} (log index ${r.logIndex})` : 'no policy'}\n`).join(''),
        );
      });
    });
}
