// `embassy ingest`: seal a new version of a dataset from a full snapshot (NDJSON, CSV or a JSON
// array) or, with --changes, from a change file; then sign it into the log. Bad input is
// reported with file, line and key and commits no version.
import { unwrapDatasetKey } from '../seal/datasets.ts';
import { ObjectTreeStore } from '../seal/tree-store.ts';
import { mkdir, rm, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { encodeStatement } from '../format/statement.ts';
import { sealChanges, sealSnapshot } from '../seal/ingest.ts';
import { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { openDataset, tmpDirOf } from './open-dataset.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

export function registerIngest(program: Command, ctx: CommandContext): void {
  program
    .command('ingest')
    .description('seal a new version of a dataset from a snapshot file (or a change file with --changes) and log it')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--dataset <id>', 'dataset id')
    .argument('<file>', 'NDJSON (.ndjson/.jsonl), CSV (.csv) or JSON array (.json)')
    .option('--changes', 'FILE is a change file: NDJSON lines {"op":"upsert","record":{…}} or {"op":"delete","key":"…"}')
    .option('--format <format>', 'ndjson | csv | json (default: from the file extension)')
    .option('--source-time <iso>', 'the time the source data represents, ISO 8601 UTC (default: the file modification time)')
    .option('--memory <MiB>', 'memory for sorting before spilling encrypted runs to disk', '256')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { dir: string; dataset: string; changes?: boolean; format?: string; sourceTime?: string; memory: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        if (o.format && !['ndjson', 'csv', 'json'].includes(o.format)) throw new EmbassyError('usage', `ingest: --format must be ndjson, csv or json`);
        if (o.sourceTime && !ISO_RE.test(o.sourceTime)) throw new EmbassyError('usage', 'ingest: --source-time must be ISO 8601 UTC, e.g. 2026-11-28T06:00:00Z');
        const memoryMiB = Number(o.memory);
        if (!Number.isFinite(memoryMiB) || memoryMiB < 1) throw new EmbassyError('usage', 'ingest: --memory must be a number of MiB');
        let sourceTime = o.sourceTime;
        if (!sourceTime) {
          try {
            sourceTime = (await stat(file)).mtime.toISOString();
          } catch {
            throw new EmbassyError('input.malformed', `${file}: cannot read`);
          }
        }
        const site = await Site.open(o.dir);
        if (site.config.role !== 'home') throw new EmbassyError('site.config', `ingest: ${site.config.name} is a ${site.config.role} site; versions are sealed at a home`);
        const started = performance.now();
        const progress = process.stderr.isTTY && !o.json
          ? (n: number) => process.stderr.write(`\r  sealed ${n.toLocaleString('en')} records`)
          : undefined;
        const out = await site.withLock(async () => {
          const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
          const ds = await openDataset(site, o.dataset);
          const tmpDir = tmpDirOf(site);
          await rm(tmpDir, { recursive: true, force: true });
          await mkdir(tmpDir, { recursive: true, mode: 0o700 });
          // After `dataset rotate-key` the previous version is under the old data key: a snapshot
          // reads it with that key to count what changed.
          const prev = ds.dataset.versions[ds.dataset.versions.length - 1];
          let previous: { dek: Uint8Array; store: ObjectTreeStore } | undefined;
          if (!o.changes && prev && prev.statement.dek !== ds.dekNumber) {
            const kek = await site.readKek();
            try {
              const dek = unwrapDatasetKey(ds.dataset, prev.statement.dek, kek);
              previous = { dek, store: new ObjectTreeStore(ds.objects, dek) };
            } finally {
              kek.fill(0);
            }
          }
          try {
            const session = {
              dataset: ds.dataset, dekNumber: ds.dekNumber, params: ds.params, objects: ds.objects, store: ds.store, tmpDir, memoryBytes: memoryMiB * 1024 * 1024,
              ...(previous ? { previousStore: previous.store } : {}),
            };
            const options = { sourceTime: sourceTime!, ...(o.format ? { format: o.format as 'ndjson' } : {}), ...(progress ? { onProgress: progress } : {}) };
            const sealed = o.changes ? await sealChanges(session, file, options) : await sealSnapshot(session, file, options);
            // Objects are durable (flushed by the seal); the version exists once this commits.
            const appended = await writer.append([encodeStatement(sealed.statement)]);
            return { sealed, appended };
          } finally {
            previous?.store.wipe();
            previous?.dek.fill(0);
            await ds.close();
            await rm(tmpDir, { recursive: true, force: true });
          }
        });
        if (progress) process.stderr.write('\n');
        const s = out.sealed.statement;
        const result = {
          dataset: s.dataset,
          version: s.version,
          root: s.root,
          commitment: s.commitment,
          records: s.records,
          sourceTime: s.sourceTime,
          added: out.sealed.changes.added,
          updated: out.sealed.changes.updated,
          deleted: out.sealed.changes.deleted,
          newObjects: out.sealed.stats.newObjects,
          newBytes: out.sealed.stats.newBytes,
          reusedObjects: out.sealed.stats.reusedObjects,
          indexes: s.indexes,
          logIndex: out.appended.firstIndex,
          logSize: out.appended.checkpoint.size,
          seconds: Math.round(performance.now() - started) / 1000,
        };
        printData(ctx.io, !!o.json, result, () =>
          `sealed ${s.dataset} version ${s.version}: ${s.records} records (+${result.added} ~${result.updated} -${result.deleted}); ` +
          `${result.newObjects} new objects, ${result.newBytes} new bytes; root ${s.root.slice(0, 16)}…; log entry ${result.logIndex}\n`,
        );
      });
    });
}
