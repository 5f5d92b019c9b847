// `embassy log verify`: checks the site's log end to end and lists every finding.
import type { Command } from 'commander';
import { toBase64 } from '../format/bytes.ts';
import { statementProblem } from '../format/statement.ts';
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
}
