// `embassy gc`: optionally retire old versions (a retention statement per dataset), then remove
// every object that no retained version reaches. Crash-safe (see the pack store); refuses to run
// while any retained version is incomplete or corrupt, because the children of an unreadable
// node cannot be marked and would otherwise be lost.
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { loadCatalog } from '../catalog/catalog.ts';
import { encodeStatement } from '../format/statement.ts';
import type { RetentionStatement } from '../format/statement-types.ts';
import { markLive } from '../seal/gc.ts';
import { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { toHex } from '../format/bytes.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

export function registerGc(program: Command, ctx: CommandContext): void {
  program
    .command('gc')
    .description('remove objects that no retained version needs; --keep-last N first retires older versions')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--keep-last <n>', 'retain only the newest N versions of every dataset (logged as retention statements)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; keepLast?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const keep = o.keepLast === undefined ? undefined : Number(o.keepLast);
        if (keep !== undefined && (!Number.isSafeInteger(keep) || keep < 1)) throw new EmbassyError('usage', 'gc: --keep-last must be a positive integer');
        const site = await Site.open(o.dir);
        const out = await site.withLock(async () => {
          let retention: RetentionStatement[] = [];
          if (keep !== undefined) {
            const catalog = await loadCatalog(site.logStore(), site.logVerifier());
            for (const ds of catalog.datasets.values()) {
              const newest = ds.versions[ds.versions.length - 1]?.statement.version ?? 0;
              const keepFrom = newest - keep + 1;
              if (keepFrom > ds.keepFrom) retention.push({ type: 'retention', dataset: ds.statement.dataset, keepFrom });
            }
            if (retention.length > 0) {
              const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
              await writer.append(retention.map((r) => encodeStatement(r)));
            }
          }
          const catalog = await loadCatalog(site.logStore(), site.logVerifier());
                    const objects = await site.openObjects();
          try {
            const mark = await markLive(catalog, objects);
            if (mark.missing.length > 0 || mark.bad.length > 0) {
              throw new EmbassyError('store.corrupt', `gc: refusing to collect: ${mark.missing.length} missing and ${mark.bad.length} corrupt objects in retained versions (first: ${toHex((mark.missing[0] ?? mark.bad[0]!.id))})`, {
                hint: 'run `embassy verify --blind` and repair the store (a mirror re-fetches from a peer) before collecting',
              });
            }
            const swept = await objects.collectGarbage((id) => mark.live.has(toHex(id)));
            return { retention, live: mark.live.size, ...swept };
          } finally {
            await objects.close();
          }
        });
        printData(ctx.io, !!o.json, out, () =>
          `${out.retention.map((r) => `retired ${r.dataset} versions below ${r.keepFrom}\n`).join('')}` +
          `kept ${out.live} live objects; removed ${out.objectsRemoved} objects (${out.bytesFreed} bytes), rewrote ${out.packsRewritten} packs, deleted ${out.packsDeleted}\n`,
        );
      });
    });
}
