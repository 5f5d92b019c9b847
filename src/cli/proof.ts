// `embassy proof verify`: checks a proof bundle offline, with nothing but the log's verifier key.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { parseVerifierKey } from '../log/note.ts';
import { verifyProofBundle } from '../proof/bundle.ts';
import { presentRecord } from './get.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

export function registerProof(program: Command, ctx: CommandContext): void {
  const proof = program.command('proof').description('proof bundles');
  proof
    .command('verify')
    .description('verify a proof bundle offline against a log verifier key; exit 5 if it does not verify')
    .requiredOption('--vkey <key>', "the home log's verifier key (C2SP name+hash+base64)")
    .argument('<file>', 'proof bundle JSON ("-" for stdin)')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { vkey: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const verifier = parseVerifierKey(o.vkey);
        let bundle: unknown;
        try {
          const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
          bundle = JSON.parse(text);
        } catch (e) {
          throw new EmbassyError('input.malformed', `${file}: not a JSON proof bundle (${(e as Error).message})`);
        }
        const v = verifyProofBundle(bundle, verifier);
        const out = {
          ok: true,
          origin: v.checkpoint.origin,
          checkpointSize: v.checkpoint.size,
          dataset: v.dataset,
          version: v.version,
          sourceTime: v.sourceTime,
          logIndex: v.logIndex,
          record: presentRecord(v.record),
        };
        printData(ctx.io, !!o.json, out, () =>
          `ok: record ${JSON.stringify(v.record.key)} is in ${v.dataset} version ${v.version} (source time ${v.sourceTime}), ` +
          `log entry ${v.logIndex} under checkpoint ${v.checkpoint.origin} size ${v.checkpoint.size}\n`,
        );
      });
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
