// `embassy init`: creates a site directory with config, keys and an empty log.
import type { Command } from 'commander';
import { initSite, SITE_ROLES, type SiteRole } from '../site/site.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

export function registerInit(program: Command, ctx: CommandContext): void {
  program
    .command('init')
    .description('create a site: config, keys (owner-only files) and an empty log')
    .requiredOption('--dir <dir>', 'site directory (must not exist or be empty)')
    .requiredOption('--name <name>', 'site name: lowercase letters, digits, -')
    .requiredOption('--role <role>', `site role: ${SITE_ROLES.join(' | ')}`)
    .option('--origin <origin>', 'log origin (default data-embassy.example/<name>)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; name: string; role: string; origin?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const config = await initSite(o.dir, {
          name: o.name,
          role: o.role as SiteRole,
          ...(o.origin ? { origin: o.origin } : {}),
        });
        const out = { dir: o.dir, ...config };
        printData(ctx.io, !!o.json, out, () =>
          [
            `created ${config.role} site ${config.name} in ${o.dir}`,
            `origin:              ${config.origin}`,
            `log verifier key:    ${config.logVerifierKey}`,
            `cosign verifier key: ${config.cosignVerifierKey}`,
            '',
          ].join('\n'),
        );
      });
    });
}
