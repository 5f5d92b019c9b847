// `embassy witness add-log` trusts a log (its Ed25519 verifier key and origin) for this site's
// witness; `embassy witness list` shows the witness's own cosigner key and, per trusted log, the
// latest checkpoint it cosigned. State: <site>/witness.sqlite (src/witness/sqlite-state.ts),
// safe to change while `embassy serve` runs.
import { join } from 'node:path';
import type { Command } from 'commander';
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { toBase64 } from '../format/bytes.ts';
import { formatCheckpoint, parseCheckpoint } from '../log/checkpoint.ts';
import { EMPTY_ROOT } from '../log/merkle.ts';
import { SIGNATURE_TYPE_ED25519, parseVerifierKey } from '../log/note.ts';
import { Site } from '../site/site.ts';
import { SqliteWitnessState, WITNESS_STATE_FILE } from '../witness/sqlite-state.ts';
import type { WitnessLog } from '../witness/state.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

/** The origin must be a valid checkpoint origin line, or no checkpoint could ever match it. */
function checkOrigin(origin: string): void {
  try {
    parseCheckpoint(formatCheckpoint({ origin, size: 0n, root: EMPTY_ROOT, extensions: [] }));
  } catch (e) {
    if (!isEmbassyError(e)) throw e;
    throw new EmbassyError('usage', `witness add-log: origin ${JSON.stringify(origin)} is not a valid checkpoint origin line`);
  }
}

async function withState<T>(dir: string, fn: (state: SqliteWitnessState, site: Site) => Promise<T>): Promise<T> {
  const site = await Site.open(dir);
  const state = SqliteWitnessState.open(join(site.dir, WITNESS_STATE_FILE));
  try {
    return await fn(state, site);
  } finally {
    state.close();
  }
}

const view = (l: WitnessLog) => ({
  origin: l.origin,
  verifierKey: l.verifierKey,
  size: l.size,
  root: toBase64(l.root),
  cosigned: l.checkpoint !== undefined,
});

export function registerWitness(program: Command, ctx: CommandContext): void {
  const witness = program.command('witness').description('this site as a c2sp.org/tlog-witness: the logs it cosigns');

  witness
    .command('add-log')
    .description('trust a log: its checkpoints signed by this key are cosigned after a consistency check')
    .requiredOption('--dir <dir>', 'site directory')
    .requiredOption('--vkey <vkey>', "the log's Ed25519 note verifier key (name+keyid+base64)")
    .option('--origin <origin>', "the log's checkpoint origin line (default: the key's name)")
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; vkey: string; origin?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const key = parseVerifierKey(o.vkey);
        if (key.type !== SIGNATURE_TYPE_ED25519) {
          throw new EmbassyError('key.malformed', `witness add-log: a log key must be an ed25519 (type 0x01) key, got type 0x${key.type.toString(16).padStart(2, '0')}`, {
            hint: 'a type 0x04 key is a cosigner (witness or mirror) key, not a log key',
          });
        }
        const origin = o.origin ?? key.name;
        checkOrigin(origin);
        const log = await withState(o.dir, async (state) => {
          await state.addLog(origin, o.vkey);
          return (await state.get(origin))!;
        });
        printData(ctx.io, !!o.json, view(log), () => `witness: trusting log ${log.origin} (key ${key.name}), cosigned up to size ${log.size}\n`);
      });
    });

  witness
    .command('list')
    .description("this witness's cosigner key, and each trusted log with the latest size it cosigned")
    .requiredOption('--dir <dir>', 'site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const out = await withState(o.dir, async (state, site) => ({
          witness: { name: site.config.name, verifierKey: site.config.cosignVerifierKey },
          logs: (await state.list()).map(view),
        }));
        printData(ctx.io, !!o.json, out, () =>
          [
            `witness ${out.witness.name}: ${out.witness.verifierKey}`,
            ...(out.logs.length === 0
              ? ['no trusted logs (add one with `embassy witness add-log`)']
              : out.logs.map((l) => `  ${l.origin}  size ${l.size}  root ${l.root}  key ${l.verifierKey}`)),
            '',
          ].join('\n'),
        );
      });
    });
}
