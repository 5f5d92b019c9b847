// `embassy sync` and `embassy scrub`: what a mirror's node does on its own, by hand — one pass
// per followed home (fetch, verify, store, receipt, send it to the home), or one scrub of the
// store (every object checked against its id, damage repaired, lost objects marked for
// re-fetching). Both hold the site lock: they refuse to run beside `embassy serve` on the site.
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { loadPeers } from '../net/peers.ts';
import { PeerClient } from '../net/client.ts';
import { peerTransport } from '../net/transport.ts';
import { Site } from '../site/site.ts';
import { MirrorNode, describeOutcome, graphOptions } from '../sync/mirror-node.ts';
import type { PassOutcome } from '../sync/follow.ts';
import { EXIT } from './exit-codes.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

async function openMirror(dir: string, what: string): Promise<Site> {
  const site = await Site.open(dir);
  if (site.config.role !== 'mirror') {
    throw new EmbassyError('site.config', `${what}: ${site.config.name} is a ${site.config.role} site; only a mirror follows homes`);
  }
  return site;
}

const quietLogger = { info: () => undefined, warn: () => undefined };

async function withNode<T>(site: Site, timeoutMs: number, fn: (node: MirrorNode) => Promise<T>): Promise<T> {
  return site.withLock(async () => {
    const peers = await loadPeers(site);
    const objects = await site.openObjects();
    const client = new PeerClient(await site.readTlsIdentity(), { timeoutMs });
    const now = (): bigint => BigInt(Math.floor(Date.now() / 1000));
    const node = new MirrorNode({ siteDir: site.dir, peers: () => peers.all(), transport: peerTransport(client), objects, cosigner: await site.cosigner(now), logger: quietLogger, ...graphOptions(site) });
    try {
      return await fn(node);
    } finally {
      client.close();
      await objects.close();
    }
  });
}

export function registerMirror(program: Command, ctx: CommandContext): void {
  program
    .command('sync')
    .description('mirror: one pass per followed home — check its log, fetch missing objects, verify, store, and give a receipt when complete')
    .requiredOption('--dir <dir>', 'mirror site directory')
    .option('--home <name>', 'only this home')
    .option('--peer-timeout <seconds>', 'give up on a peer request idle this long', '30')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; home?: string; peerTimeout: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await openMirror(o.dir, 'sync');
        const timeout = Number(o.peerTimeout);
        if (!(timeout >= 0.1)) throw new EmbassyError('usage', `sync: --peer-timeout must be a number of seconds ≥ 0.1, got ${JSON.stringify(o.peerTimeout)}`);
        return withNode(site, timeout * 1000, async (node) => {
          const homes = node.homes().filter((h) => o.home === undefined || h.name === o.home);
          if (homes.length === 0) {
            throw new EmbassyError('site.config', o.home ? `sync: no home named ${o.home} among the peers of ${site.config.name}` : `sync: ${site.config.name} knows no home`, {
              hint: "add the home's card with `embassy site add`",
            });
          }
          const outcomes: PassOutcome[] = [];
          for (const h of homes) outcomes.push(await node.passFor(h));
          printData(ctx.io, !!o.json, { site: site.config.name, passes: outcomes.map(({ receipt: _r, ...rest }) => rest) }, () => outcomes.map((x) => describeOutcome(x) + '\n').join(''));
          if (outcomes.some((x) => x.status === 'refused')) return EXIT.INTEGRITY;
          if (outcomes.some((x) => x.status === 'incomplete')) return EXIT.IO;
          return EXIT.OK;
        });
      });
    });

  program
    .command('scrub')
    .description('mirror: read every stored object and check it against its id; repair damage and mark what must be fetched again (no receipt until it is)')
    .requiredOption('--dir <dir>', 'mirror site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await openMirror(o.dir, 'scrub');
        return withNode(site, 30_000, async (node) => {
          const r = await node.scrub();
          printData(ctx.io, !!o.json, r, () => {
            const lines = [`scrub of ${site.config.name}: ${r.packs} packs, ${r.objects} objects, ${r.bytes} bytes — ${r.damaged ? 'DAMAGE FOUND' : 'clean'}\n`];
            for (const f of r.findings) lines.push(`  ${f.kind} pack ${f.pack}${f.object ? ` object ${f.object}` : ''}: ${f.detail}\n`);
            if (r.repair) {
              lines.push(`  repaired: ${r.repair.packsQuarantined.length} packs quarantined, ${r.repair.packsDropped.length} missing packs dropped, ${r.repair.objectsSalvaged} objects salvaged, ${r.repair.objectsLost.length} objects lost\n`);
            }
            for (const h of r.homes) {
              lines.push(`  home ${h.home}: ${h.versions} retained versions, ${h.missing} objects missing${h.needsFullWalk ? ' — receipts withheld until `embassy sync` (or the node) fetches them again' : ''}\n`);
            }
            return lines.join('');
          });
          return r.damaged ? EXIT.FINDINGS : EXIT.OK;
        });
      });
    });
}
