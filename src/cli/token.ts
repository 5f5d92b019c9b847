// `embassy token issue|list|revoke`: bearer tokens for API clients, scoped to datasets, kept in
// <site>/tokens.sqlite (src/api/tokens.ts) as hashes only. Safe to run while `embassy serve` runs:
// the server sees a new or revoked token within a second.
import { join } from 'node:path';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { TOKENS_FILE, TokenStore, parseTtl } from '../api/tokens.ts';
import { Site } from '../site/site.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

async function withTokens<T>(dir: string, fn: (store: TokenStore) => T): Promise<T> {
  const site = await Site.open(dir);
  const store = TokenStore.open(join(site.dir, TOKENS_FILE));
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function parseRate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new EmbassyError('usage', `token issue: --rate must be a positive whole number of requests per minute, got ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerToken(program: Command, ctx: CommandContext): void {
  const token = program.command('token').description('bearer tokens for API clients, scoped to datasets');

  token
    .command('issue')
    .description('issue a token for a client; it is printed once and only its hash is kept')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--client <name>', 'who the token is for (shown in the access journal)')
    .requiredOption('--datasets <ids>', 'comma-separated dataset ids the token may read')
    .option('--ttl <duration>', 'lifetime: 30d, 12h, 45m or 3600s', '30d')
    .option('--rate <n>', 'requests per minute allowed (default 6000)')
    .option('--json', 'print JSON: {token, tokenId, client, datasets, notAfter}')
    .action(async (o: { dir: string; client: string; datasets: string; ttl: string; rate?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const ttlSeconds = parseTtl(o.ttl);
        const ratePerMinute = parseRate(o.rate);
        const datasets = o.datasets.split(',').map((d) => d.trim()).filter((d) => d !== '');
        const { token: secret, grant } = await withTokens(o.dir, (s) => s.issue({ client: o.client, datasets, ttlSeconds, ratePerMinute }));
        ctx.io.stderr('embassy: this token is shown only once; give it to the client now. Only its hash is kept.\n');
        printData(
          ctx.io,
          !!o.json,
          { token: secret, tokenId: grant.tokenId, client: grant.client, datasets: grant.datasets, notAfter: grant.notAfter },
          () =>
            `${secret}\n` +
            `token ${grant.tokenId} for ${grant.client}: datasets ${grant.datasets.join(',')}, until ${iso(grant.notAfter)}, ${grant.ratePerMinute} requests/minute\n`,
        );
      });
    });

  token
    .command('list')
    .description('list tokens by id, client, datasets, expiry and whether revoked (never the tokens)')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const now = Date.now();
        const all = await withTokens(o.dir, (s) => s.list());
        const rows = all.map((r) => ({ ...r, expired: now >= r.notAfter }));
        printData(ctx.io, !!o.json, rows, () =>
          rows.length === 0
            ? 'no tokens (issue one with `embassy token issue`)\n'
            : rows
                .map((r) => `${r.tokenId}  ${r.client}  ${r.datasets.join(',')}  until ${iso(r.notAfter)}  ${r.ratePerMinute}/min${r.revoked ? '  REVOKED' : r.expired ? '  EXPIRED' : ''}`)
                .join('\n') + '\n',
        );
      });
    });

  token
    .command('revoke')
    .description('revoke a token by its id; a running server refuses it within a second')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--id <tokenId>', 'the token id (from `embassy token list`)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; id: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const ok = await withTokens(o.dir, (s) => s.revoke(o.id));
        if (!ok) {
          throw new EmbassyError('usage', `token revoke: no token with id ${JSON.stringify(o.id.slice(0, 40))} at ${o.dir}`, {
            hint: 'ids are shown by `embassy token list`',
          });
        }
        printData(ctx.io, !!o.json, { tokenId: o.id, revoked: true }, () => `token ${o.id} revoked\n`);
      });
    });
}
