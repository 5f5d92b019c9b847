// `embassy verify`: an fsck of a site — its log, its pack files, and every retained version of
// every dataset, with keys (decrypt, recompute commitments, compare with the signed statements)
// or --blind without keys (every object present and hash-valid, every graph complete).
import type { Command } from 'commander';
import { loadCatalog } from '../catalog/catalog.ts';
import { statementProblem } from '../format/statement.ts';
import { unwrapDatasetKey } from '../seal/datasets.ts';
import { ObjectTreeStore } from '../seal/tree-store.ts';
import { Site } from '../site/site.ts';
import { treeParamsFromKey } from '../tree/params.ts';
import { wipeTreeParams } from '../tree/record.ts';
import { verifyLog } from '../verify/log.ts';
import { verifyVersionsFromGraph, verifyVersionsWithKeys, type DatasetKeys } from '../verify/versions.ts';
import { parseObjectHeader } from '../object/object.ts';
import { toHex } from '../format/bytes.ts';
import { EXIT } from './exit-codes.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

interface Finding {
  area: 'log' | 'packs' | 'versions';
  code: string;
  where: string;
  message: string;
}

export function registerVerify(program: Command, ctx: CommandContext): void {
  program
    .command('verify')
    .description('verify the log, the pack files and every retained version; exit 1 on any finding')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--blind', 'without keys: check presence and hashes only (what a mirror can check)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; blind?: boolean; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const started = performance.now();
        const site = await Site.open(o.dir);
        const findings: Finding[] = [];
        const log = await verifyLog(site.logStore(), site.logVerifier(), {
          checkEntry: statementProblem,
        });
        for (const f of log.findings) findings.push({ area: 'log', code: f.code, where: f.path, message: f.message });
        const out: Record<string, unknown> = { mode: o.blind ? 'blind' : 'keys', log: { size: log.size, entries: log.entriesChecked } };
        if (log.findings.length === 0) {
          const catalog = await loadCatalog(site.logStore(), site.logVerifier());
                    const objects = await site.openObjects();
          try {
            // One sequential pass over every pack: each object is hashed once, and in blind mode
            // its header's child ids form the graph the versions are then walked over.
            const graph = new Map<string, { children: Uint8Array[]; size: number }>();
            const packs = await objects.verifyPacks(o.blind ? {
              onObject: (id, bytes) => {
                try {
                  graph.set(toHex(id), { children: parseObjectHeader(bytes).children, size: bytes.length });
                } catch {
                  // A header that does not parse leaves the object out: reported as missing below.
                }
              },
            } : {});
            for (const f of packs.findings) findings.push({ area: 'packs', code: f.kind, where: f.object ? `pack ${f.pack} object ${f.object}` : `pack ${f.pack}`, message: f.detail });
            out.packs = { packs: packs.packs, objects: packs.objects, bytes: packs.bytes };
            let report;
            if (o.blind) {
              report = verifyVersionsFromGraph(catalog, graph);
            } else {
              const kek = await site.readKek();
              const opened: { dek: Uint8Array; keys: DatasetKeys; store: ObjectTreeStore }[] = [];
              try {
                report = await verifyVersionsWithKeys(catalog, async (ds, dekNumber) => {
                  const dek = unwrapDatasetKey(ds, dekNumber, kek);
                  const store = new ObjectTreeStore(objects, dek);
                  const keys = { params: treeParamsFromKey(dek, ds.statement.tree), store };
                  opened.push({ dek, keys, store });
                  return keys;
                });
              } finally {
                kek.fill(0);
                for (const k of opened) {
                  k.store.wipe();
                  k.dek.fill(0);
                  wipeTreeParams(k.keys.params);
                }
              }
            }
            for (const f of report.findings) findings.push({ area: 'versions', code: f.code, where: `${f.dataset} v${f.version}`, message: f.message });
            out.versions = { versions: report.versions, objects: report.objects, bytes: report.bytes, records: report.records };
          } finally {
            await objects.close();
          }
        }
        const seconds = (performance.now() - started) / 1000;
        const ok = findings.length === 0;
        Object.assign(out, { ok, findings, seconds: Math.round(seconds * 1000) / 1000 });
        printData(ctx.io, !!o.json, out, () => {
          const v = out.versions as { versions: number; objects: number; bytes: number; records: number } | undefined;
          const p = out.packs as { packs: number; objects: number; bytes: number } | undefined;
          return [
            `log: ${log.entriesChecked} entries checked`,
            p ? `packs: ${p.packs} packs, ${p.objects} objects, ${p.bytes} bytes checked` : '',
            v ? `versions (${o.blind ? 'blind' : 'with keys'}): ${v.versions} versions, ${v.objects} objects${o.blind ? `, ${v.bytes} bytes` : `, ${v.records} records`} checked` : '',
            ...findings.map((f) => `  FINDING ${f.area} ${f.code} ${f.where}: ${f.message}`),
            ok ? 'ok' : `${findings.length} finding(s)`,
            '',
          ].filter((l, i, a) => l !== '' || i === a.length - 1).join('\n');
        });
        return ok ? EXIT.OK : EXIT.FINDINGS;
      });
    });
}
