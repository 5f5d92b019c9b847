// `embassy status --dir D [--json]`: the state of a site's part in the federation, for a person
// at a glance or (--json) for monitoring. At a home: per dataset and site, the newest version
// held, its RPO against the target, the quorum and every placement rule (src/federation/
// evaluate.ts), from the receipts collected by the node. At a mirror: per followed home, the
// log size seen, the newest receipt given, damage awaiting repair and any fork or rollback seen.
// Exit 0 when all is well, 1 when a policy is not met or a mirror withholds receipts.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadCatalog, retainedVersions } from '../catalog/catalog.ts';
import { parseVerifierKey } from '../log/note.ts';
import { parseSiteCard, type SiteCard } from '../net/card.ts';
import { loadPeers } from '../net/peers.ts';
import { OWN_CARD_FILE, Site } from '../site/site.ts';
import { evaluateFederation, formatDuration, formatFederationReport, type SiteFacts } from '../federation/evaluate.ts';
import { RECEIPTS_FILE, ReceiptStore } from '../federation/receipt-store.ts';
import { noteTreeSize } from '../federation/receipt.ts';
import { FollowState } from '../sync/follow-state.ts';
import { SqliteWitnessState, WITNESS_STATE_FILE } from '../witness/sqlite-state.ts';
import { EXIT } from './exit-codes.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

async function ownCard(site: Site): Promise<SiteCard | undefined> {
  try {
    return parseSiteCard(await readFile(join(site.dir, OWN_CARD_FILE)));
  } catch {
    return undefined;
  }
}

function facts(card: SiteCard | undefined, name: string, role: SiteFacts['role']): SiteFacts {
  return {
    name,
    role,
    riskTags: card?.riskTags ?? [],
    ...(card?.location ? { location: card.location } : {}),
    ...(card?.jurisdiction ? { jurisdiction: card.jurisdiction } : {}),
  };
}

export function registerStatus(program: Command, ctx: CommandContext): void {
  program
    .command('status')
    .description("this site's part in the federation: copies, receipts, RPO, quorum and placement (home); followed homes, receipts and damage (mirror)")
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        if (site.config.role === 'home') return homeStatus(site, ctx, !!o.json);
        if (site.config.role === 'mirror') return mirrorStatus(site, ctx, !!o.json);
        return witnessStatus(site, ctx, !!o.json);
      });
    });
}

async function homeStatus(site: Site, ctx: CommandContext, json: boolean): Promise<number> {
  const catalog = await loadCatalog(site.logStore(), site.logVerifier());
  const peers = await loadPeers(site);
  const receipts = ReceiptStore.open(join(site.dir, RECEIPTS_FILE));
  try {
    const sites = peers
      .all()
      .filter((c) => c.role === 'mirror' || c.role === 'witness')
      .map((c) => {
        const r = receipts.get(c.name);
        return { ...facts(c, c.name, c.role), ...(r ? { receipt: { size: r.size, cosignedAt: r.cosignedAt } } : {}) };
      });
    const report = evaluateFederation({ home: facts(await ownCard(site), site.config.name, 'home'), sites, catalog, now: new Date() });
    printData(ctx.io, json, report, () => formatFederationReport(report) + '\n');
    return report.ok ? EXIT.OK : EXIT.FINDINGS;
  } finally {
    receipts.close();
  }
}

interface MirrorHomeStatus {
  home: string;
  logSizeSeen: string | null;
  receiptSize: string | null;
  receiptsWithheld: boolean;
  damage?: string;
  divergences: { kind: string; at: string }[];
  lastPass: { at: string; status: string; size: string; error?: string } | null;
  datasets: { dataset: string; version: number | null; sourceTime: string | null; rpoSeconds: number | null }[];
}

async function mirrorStatus(site: Site, ctx: CommandContext, json: boolean): Promise<number> {
  const peers = await loadPeers(site);
  const now = Date.now();
  const homes: MirrorHomeStatus[] = [];
  for (const card of peers.all().filter((c) => c.role === 'home')) {
    const state = await FollowState.open(site.dir, card.name);
    const s = await state.read();
    const receiptNote = await state.readReceipt();
    const receiptSize = receiptNote === undefined ? undefined : noteTreeSize(receiptNote);
    const datasets: { dataset: string; version: number | null; sourceTime: string | null; rpoSeconds: number | null }[] = [];
    let seen: bigint | undefined;
    if ((await state.logStore().get('checkpoint')) !== undefined) {
      const catalog = await loadCatalog(state.logStore(), parseVerifierKey(card.logVerifierKey));
      seen = catalog.checkpoint.size;
      for (const ds of catalog.datasets.values()) {
        const held = retainedVersions(ds).filter((v) => receiptSize !== undefined && v.logIndex < receiptSize).at(-1);
        datasets.push({
          dataset: ds.statement.dataset,
          version: held?.statement.version ?? null,
          sourceTime: held?.statement.sourceTime ?? null,
          rpoSeconds: held ? Math.round((now - Date.parse(held.statement.sourceTime)) / 1000) : null,
        });
      }
    }
    homes.push({
      home: card.name,
      logSizeSeen: seen === undefined ? null : String(seen),
      receiptSize: receiptSize === undefined ? null : String(receiptSize),
      receiptsWithheld: s.needsFullWalk,
      ...(s.damage ? { damage: s.damage } : {}),
      divergences: s.divergences.map((d) => ({ kind: d.kind, at: d.at })),
      lastPass: s.lastPass ?? null,
      datasets,
    });
  }
  const ok = homes.every((h) => !h.receiptsWithheld && h.divergences.length === 0 && h.receiptSize !== null);
  printData(ctx.io, json, { site: site.config.name, role: 'mirror', ok, homes }, () => {
    const lines = [`mirror ${site.config.name}: ${ok ? '✓ ok' : '✗ FAIL'} (${homes.length} home${homes.length === 1 ? '' : 's'} followed)`];
    if (homes.length === 0) lines.push('  no home known: add its card with `embassy site add`');
    for (const h of homes) {
      lines.push('', `${h.home}: log size seen ${h.logSizeSeen ?? 'none'}, newest receipt at size ${h.receiptSize ?? 'none'}` +
        (h.lastPass ? `, last pass ${h.lastPass.status} at ${h.lastPass.at}` : ''));
      if (h.receiptsWithheld) lines.push(`  ✗ FAIL  receipts withheld: ${h.damage ?? 'damage found'}`);
      for (const d of h.divergences) lines.push(`  ✗ FAIL  ${d.kind} seen at ${d.at} (evidence in follow/${h.home}/state.json)`);
      if (h.lastPass?.error) lines.push(`  last error: ${h.lastPass.error}`);
      for (const d of h.datasets) {
        lines.push(`  ${d.dataset.padEnd(28)}  ${d.version === null ? 'no version held' : `v${d.version}`.padEnd(8)}  ${d.sourceTime ?? ''}  ${d.rpoSeconds === null ? '' : `RPO ${formatDuration(d.rpoSeconds)}`}`.trimEnd());
      }
    }
    return lines.join('\n') + '\n';
  });
  return ok ? EXIT.OK : EXIT.FINDINGS;
}

async function witnessStatus(site: Site, ctx: CommandContext, json: boolean): Promise<number> {
  const state = SqliteWitnessState.open(join(site.dir, WITNESS_STATE_FILE));
  try {
    const logs = (await state.list()).map((l) => ({ origin: l.origin, size: String(l.size) }));
    printData(ctx.io, json, { site: site.config.name, role: 'witness', logs }, () =>
      [`witness ${site.config.name}: ${logs.length} logs`, ...logs.map((l) => `  ${l.origin}  cosigned up to size ${l.size}`)].join('\n') + '\n');
    return EXIT.OK;
  } finally {
    state.close();
  }
}
