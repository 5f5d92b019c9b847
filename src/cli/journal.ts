// `embassy journal verify|show`: for auditors of a site's access journal (src/api/journal.ts).
// verify checks the hash chain of <site>/access/journal.jsonl and, against the site's own signed
// log, every 'access-digest' statement {activation, seq, head} and the journal head recorded in
// each 'deactivation' statement {journal: {seq, head}}: the only check that catches a
// journal cut short or replaced wholesale. show prints the verified entries.
import { join } from 'node:path';
import type { Command } from 'commander';
import { isEmbassyError } from '../errors.ts';
import { JOURNAL_FILE, JOURNAL_GENESIS, verifyJournal, type JournalEntry } from '../api/journal.ts';
import { parseStatement } from '../format/statement.ts';
import { Site } from '../site/site.ts';
import { verifyLog } from '../verify/log.ts';
import { EXIT } from './exit-codes.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

export const ACCESS_DIGEST_TYPE = 'access-digest';

interface Digest {
  logIndex: number;
  type: string;
  activation: string;
  seq: number;
  head: string;
}

interface JournalFinding {
  code: string;
  message: string;
}

/** The journal digests in the site's own log (which is checked end to end on the way). */
async function readDigests(site: Site, findings: JournalFinding[]): Promise<{ digests: Digest[]; logSize: number | undefined }> {
  const digests: Digest[] = [];
  const report = await verifyLog(site.logStore(), site.logVerifier(), {
    checkEntry: (bytes, index) => {
      let s;
      try {
        s = parseStatement(bytes);
      } catch (e) {
        return (e as Error).message;
      }
      // 'access-digest' {activation, seq, head} and the journal head a 'deactivation' records.
      let d: { activation: unknown; seq: unknown; head: unknown };
      if (s.type === ACCESS_DIGEST_TYPE) d = { activation: s.activation, seq: s.seq, head: s.head };
      else if (s.type === 'deactivation' && typeof s.journal === 'object' && s.journal !== null) {
        const j = s.journal as Record<string, unknown>;
        d = { activation: s.activation, seq: j.seq, head: j.head };
      } else return undefined;
      const { activation, seq } = d;
      // An empty journal's head may be written as '' (the activation manager's default).
      const head = d.head === '' && seq === 0 ? JOURNAL_GENESIS : d.head;
      if (typeof activation !== 'string' || !Number.isSafeInteger(seq) || (seq as number) < 0 || typeof head !== 'string' || !/^[0-9a-f]{64}$/.test(head)) {
        findings.push({ code: 'log.corrupt', message: `log entry ${index}: ${s.type} statement without a valid activation, seq and head` });
        return undefined;
      }
      digests.push({ logIndex: Number(index), type: s.type, activation, seq: seq as number, head });
      return undefined;
    },
  });
  for (const f of report.findings) findings.push({ code: f.code, message: `log ${f.path}: ${f.message}` });
  return { digests, logSize: report.size === undefined ? undefined : Number(report.size) };
}

export function registerJournal(program: Command, ctx: CommandContext): void {
  const journal = program.command('journal').description('the access journal: every read served during an activation or drill');

  journal
    .command('verify')
    .description("check the journal's hash chain and the journal digests in the site's log; exit 5 on a break or mismatch")
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const path = join(site.dir, JOURNAL_FILE);
        const findings: JournalFinding[] = [];
        const { digests, logSize } = await readDigests(site, findings);
        const bySeq = new Map<number, Digest[]>();
        for (const d of digests) bySeq.set(d.seq, [...(bySeq.get(d.seq) ?? []), d]);
        const checked = new Set<Digest>();
        const check = (seq: number, hash: string): void => {
          for (const d of bySeq.get(seq) ?? []) {
            checked.add(d);
            if (d.head !== hash) {
              findings.push({ code: 'log.corrupt', message: `journal entry ${seq} does not match the ${d.type} at log entry ${d.logIndex} (activation ${d.activation}): the journal was altered up to seq ${seq}` });
            }
          }
        };
        let entries = 0;
        let head = { seq: 0, hash: JOURNAL_GENESIS };
        let warnings: string[] = [];
        let chainBroken = false;
        try {
          check(0, JOURNAL_GENESIS);
          const r = await verifyJournal(path, (e, hash) => check(e.seq, hash));
          ({ entries, head, warnings } = r);
        } catch (e) {
          if (!isEmbassyError(e, 'log.corrupt')) throw e;
          chainBroken = true;
          findings.push({ code: e.code, message: e.message });
        }
        for (const d of digests) {
          // Past a break the entries were not read; the break is the finding then.
          if (!checked.has(d) && !chainBroken) {
            findings.push({ code: 'log.corrupt', message: `the log's ${d.type} at log entry ${d.logIndex} (activation ${d.activation}) records seq ${d.seq}, but the journal has ${entries} entries: it was cut short or replaced` });
          }
        }
        const ok = findings.length === 0;
        const out = { ok, journal: path, entries, head, logSize, digestsChecked: checked.size, digests: digests.length, findings, warnings };
        printData(ctx.io, !!o.json, out, () =>
          [
            `journal ${path}: ${entries} entries, head seq ${head.seq} ${head.hash}`,
            `log: ${digests.length} journal digest(s) (access-digest, deactivation), ${checked.size} checked against the journal`,
            ...warnings.map((w) => `  WARNING ${w}`),
            ...findings.map((f) => `  FINDING ${f.code}: ${f.message}`),
            ok ? 'ok' : `${findings.length} finding(s)`,
            '',
          ].join('\n'),
        );
        return ok ? EXIT.OK : EXIT.INTEGRITY;
      });
    });

  journal
    .command('show')
    .description('print the journal entries (verified while read), optionally of one activation')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--activation <id>', 'only entries under this activation')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; activation?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const path = join(site.dir, JOURNAL_FILE);
        const shown: (JournalEntry & { hash: string })[] = [];
        // Nothing is printed unless the whole chain verifies: an auditor never reads a forged line.
        const r = await verifyJournal(path, (e, hash) => {
          if (o.activation === undefined || e.activation === o.activation) shown.push({ ...e, hash });
        });
        for (const w of r.warnings) ctx.io.stderr(`embassy: warning: ${w}\n`);
        printData(ctx.io, !!o.json, shown, () =>
          shown.length === 0
            ? `no entries${o.activation === undefined ? '' : ` under activation ${o.activation}`} (${r.entries} in the journal)\n`
            : shown
                .map(
                  (e) =>
                    `${String(e.seq).padStart(6)}  ${e.time}  ${e.client} (${e.tokenId})  ${e.activation}${e.drill ? ' [drill]' : ''}  ` +
                    `${e.dataset}${e.version === undefined ? '' : `@${e.version}`} ${e.op} ${e.status}  ${e.keys.join(',')}`,
                )
                .join('\n') + '\n',
        );
      });
    });
}
