// `embassy demo`: a short, self-contained tour of what is built so far, in a temporary
// directory (or --dir): create a home site, append statements, verify the log, show a
// tampering being caught. Later issues extend it with sealing, mirrors and activation.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { encodeStatement, parseStatement } from '../format/statement.ts';
import { initSite, Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { verifyLog } from '../verify/log.ts';
import { EXIT } from './exit-codes.ts';
import type { CommandContext } from './main.ts';

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('a short tour: create a home site, append statements, verify, catch tampering')
    .option('--dir <dir>', 'work directory (default: a new temporary directory, removed afterwards)')
    .action(async (o: { dir?: string }) => {
      await ctx.run(false, async () => {
        const say = (s: string): void => ctx.io.stdout(s + '\n');
        const work = o.dir ?? (await mkdtemp(join(tmpdir(), 'embassy-demo-')));
        try {
          const dir = join(work, 'den-haag');
          const config = await initSite(dir, { name: 'den-haag', role: 'home', origin: 'den-haag.example/embassy' });
          say(`1. created home site "den-haag" in ${dir}`);
          say(`   log origin        ${config.origin}`);
          say(`   log verifier key  ${config.logVerifierKey}`);

          const site = await Site.open(dir);
          const statements = Array.from({ length: 700 }, (_, i) =>
            encodeStatement({ type: 'demo.note', n: i, text: `statement ${i} of the demo` }),
          );
          const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
          for (let i = 0; i < statements.length; i += 250) await writer.append(statements.slice(i, i + 250));
          say(`2. appended ${statements.length} statements in 3 batches; the signed checkpoint is now:`);
          say(writer.note.replace(/^/gm, '     ').trimEnd());

          const checkEntry = (e: Uint8Array): string | undefined => {
            try {
              parseStatement(e);
              return undefined;
            } catch (err) {
              return (err as Error).message;
            }
          };
          const ok = await verifyLog(site.logStore(), site.logVerifier(), { checkEntry });
          say(`3. verified: ${ok.entriesChecked} entries, ${ok.tilesChecked} tiles, ${ok.findings.length} findings`);
          if (ok.findings.length > 0) throw new EmbassyError('log.corrupt', 'demo: fresh log has findings');

          const bundle = join(dir, 'log', 'tile', 'entries', '001');
          const bytes = await readFile(bundle);
          bytes[100]! ^= 0x01;
          await writeFile(bundle, bytes);
          const bad = await verifyLog(site.logStore(), site.logVerifier(), { checkEntry });
          say(`4. flipped one bit in log/tile/entries/001 (as a hostile host might); verify finds:`);
          for (const f of bad.findings) say(`     ${f.code} ${f.path}: ${f.message}`);
          if (bad.findings.length === 0) throw new EmbassyError('log.corrupt', 'demo: tampering was not detected');
          say('done.');
          return EXIT.OK;
        } finally {
          if (!o.dir) await rm(work, { recursive: true, force: true });
        }
      });
    });
}
