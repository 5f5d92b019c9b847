// `embassy log verify`: checks the site's log end to end and lists every finding.
// `embassy log show`: prints the statements of the site's log under its verified checkpoint.
import type { Command } from 'commander';
import { toBase64 } from '../format/bytes.ts';
import { parseStatement, statementProblem } from '../format/statement.ts';
import { readLogEntries } from '../catalog/catalog.ts';
import { openCheckpoint } from '../log/checkpoint.ts';
import { CHECKPOINT_PATH } from '../store/log-store.ts';
import { EmbassyError } from '../errors.ts';
import { Site } from '../site/site.ts';
import { verifyLog } from '../verify/log.ts';
import { EXIT } from './exit-codes.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

export function registerLog(program: Command, ctx: CommandContext): void {
  const log = program.command('log').description("the site's transparency log");
  log
    .command('verify')
    .description('verify checkpoint signature, every tile and entry bundle, and the root; exit 1 on any finding')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const report = await verifyLog(site.logStore(), site.logVerifier(), {
          checkEntry: statementProblem,
        });
        const ok = report.findings.length === 0;
        const out = { ok, ...report, root: report.root && toBase64(report.root) };
        printData(ctx.io, !!o.json, out, () => {
          const lines = [
            `log ${report.origin ?? '?'}: size ${report.size ?? '?'}, ${report.entriesChecked} entries and ${report.tilesChecked} tiles checked`,
            ...report.findings.map((f) => `  FINDING ${f.code} ${f.path}: ${f.message}`),
            ok ? 'ok' : `${report.findings.length} finding(s)`,
            '',
          ];
          return lines.join('\n');
        });
        return ok ? EXIT.OK : EXIT.FINDINGS;
      });
    });
  log
    .command('show')
    .description("print the statements of the site's log (checkpoint signature verified; entries as logged)")
    .requiredOption('--dir <dir>', 'site directory')
    .option('--type <type>', 'only statements of this type')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; type?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const store = site.logStore();
        const raw = await store.get(CHECKPOINT_PATH);
        if (raw === undefined) throw new EmbassyError('log.corrupt', `log: ${site.dir} has no checkpoint`);
        const { checkpoint } = openCheckpoint(new TextDecoder().decode(raw), site.logVerifier());
        const shown: { index: string; statement: Record<string, unknown> }[] = [];
        for await (const { index, entry } of readLogEntries(store, checkpoint.size)) {
          let statement: Record<string, unknown>;
          try {
            statement = parseStatement(entry) as Record<string, unknown>;
          } catch (e) {
            throw new EmbassyError('log.corrupt', `log entry ${index}: ${(e as Error).message}`);
          }
          if (o.type === undefined || statement.type === o.type) shown.push({ index: String(index), statement });
        }
        printData(ctx.io, !!o.json, shown, () =>
          shown.map((x) => `${x.index.padStart(6)}  ${String(x.statement.type).padEnd(20)} ${JSON.stringify({ ...x.statement, type: undefined })}`).join('\n') + '\n',
        );
      });
    });
}
