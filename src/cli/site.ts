// `embassy site card` prints this site's signed site card (and keeps it as <dir>/card.json); `embassy site add` verifies a peer's
// card strictly and makes the peer known (peers/<name>.json), refusing a different card for a
// known name unless --replace. Cards are public: they hold no secret.
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { formatSiteCard, parseSiteCard } from '../net/card.ts';
import { addPeerCard, loadPeers, makeOwnCard } from '../net/peers.ts';
import { OWN_CARD_FILE, Site } from '../site/site.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { join } from 'node:path';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

interface CardCliOptions {
  dir: string;
  url: string;
  lat?: string;
  lon?: string;
  jurisdiction?: string;
  risk?: string;
  out?: string;
}

function parseCoordinate(s: string | undefined, what: string, limit: number): number | undefined {
  if (s === undefined) return undefined;
  const n = /^-?\d+(?:\.\d+)?$/.test(s) ? Number(s) : NaN;
  if (!(Math.abs(n) <= limit)) throw new EmbassyError('usage', `site card: --${what} must be a decimal number in -${limit}..${limit}, got ${JSON.stringify(s)}`);
  return n;
}

export function registerSite(program: Command, ctx: CommandContext): void {
  const site = program.command('site').description('site cards: describe this site to peers and make peers known');

  site
    .command('card')
    .description("print this site's card (canonical JSON, signed by its log key)")
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--url <url>', 'the https://HOST:PORT where peers reach this site')
    .option('--lat <degrees>', 'latitude, decimal degrees')
    .option('--lon <degrees>', 'longitude, decimal degrees')
    .option('--jurisdiction <cc>', 'ISO 3166-1 alpha-2 country code, e.g. NL')
    .option('--risk <tags>', 'comma-separated risk tags, e.g. flood,grid-nl')
    .option('--out <file>', 'write the card to a file instead of stdout')
    .action(async (o: CardCliOptions) => {
      await ctx.run(true, async () => {
        const lat = parseCoordinate(o.lat, 'lat', 90);
        const lon = parseCoordinate(o.lon, 'lon', 180);
        if ((lat === undefined) !== (lon === undefined)) throw new EmbassyError('usage', 'site card: give both --lat and --lon, or neither');
        const s = await Site.open(o.dir);
        let card;
        try {
          card = await makeOwnCard(s, {
            url: o.url,
            ...(lat !== undefined && lon !== undefined ? { location: { lat, lon } } : {}),
            ...(o.jurisdiction ? { jurisdiction: o.jurisdiction } : {}),
            riskTags: o.risk ? o.risk.split(',').map((t) => t.trim()).filter((t) => t !== '') : [],
          });
        } catch (e) {
          // Our own options made an invalid card: that is a usage error, not bad input from elsewhere.
          if (e instanceof EmbassyError && e.code === 'input.malformed') throw new EmbassyError('usage', e.message);
          throw e;
        }
        const text = formatSiteCard(card);
        // The site keeps its newest own card: `embassy status` places it from there.
        await writeFileAtomic(join(s.dir, OWN_CARD_FILE), text);
        if (o.out) await writeFile(o.out, text);
        else ctx.io.stdout(text);
      });
    });

  site
    .command('add')
    .description('verify a peer site card and make the peer known')
    .requiredOption('--dir <dir>', 'site directory')
    .argument('<card>', 'card file (from `embassy site card` at the peer)')
    .option('--replace', 'replace a different card already known under the same name')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { dir: string; replace?: boolean; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const s = await Site.open(o.dir);
        let text: Uint8Array;
        try {
          text = new Uint8Array(await readFile(file));
        } catch (e) {
          throw new EmbassyError('input.malformed', `site add: cannot read ${file}: ${(e as Error).message}`);
        }
        const card = parseSiteCard(text);
        const result = await addPeerCard(s, card, { replace: !!o.replace });
        printData(ctx.io, !!o.json, { result, name: card.name, role: card.role, url: card.url, tlsFingerprint: card.tlsFingerprint }, () =>
          `${result} ${card.role} site ${card.name} (${card.url}), tls fingerprint ${card.tlsFingerprint}\n`,
        );
      });
    });

  site
    .command('peers')
    .description('list the known peers')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const peers = (await loadPeers(await Site.open(o.dir))).all();
        const rows = peers.map((c) => ({ name: c.name, role: c.role, url: c.url, jurisdiction: c.jurisdiction ?? null, location: c.location ?? null, riskTags: c.riskTags, tlsFingerprint: c.tlsFingerprint }));
        printData(ctx.io, !!o.json, rows, () => rows.map((r) => `${r.name.padEnd(16)} ${r.role.padEnd(8)} ${r.url}\n`).join('') || 'no peers\n');
      });
    });
}
