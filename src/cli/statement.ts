// `embassy statement add`: appends the statements of an NDJSON file to the site's log, all or
// nothing. Every line is checked (UTF-8, strict JSON, a "type", the size limit) before the first
// byte is written; the first bad line is reported with its line number.
import { MIRROR_STATEMENT_TYPES } from '../format/mirror-statements.ts';
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { utf8Strict } from '../format/bytes.ts';
import { parseJsonStrict } from '../format/canonical-json.ts';
import { encodeStatement } from '../format/statement.ts';
import { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { toBase64 } from '../format/bytes.ts';
import { printData } from './output.ts';
import type { CommandContext } from './main.ts';

export function registerStatement(program: Command, ctx: CommandContext): void {
  const statement = program.command('statement').description('statements in the site log');
  statement
    .command('add')
    .description('append the statements of an NDJSON file (one JSON object with a string "type" per line)')
    .requiredOption('--dir <dir>', 'site directory')
    .argument('<file>', 'NDJSON file ("-" for stdin)')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const entries = await readStatements(file);
        const result = await site.withLock(async () => {
          const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
          return writer.append(entries);
        });
        const out = {
          appended: entries.length,
          firstIndex: result.firstIndex,
          size: result.checkpoint.size,
          root: toBase64(result.checkpoint.root),
          checkpoint: result.note,
        };
        printData(ctx.io, !!o.json, out, () =>
          `appended ${entries.length} statements at ${result.firstIndex}; log size ${result.checkpoint.size}\n`,
        );
      });
    });
}

/** Types whose statements only their own commands write, because the catalog relies on their invariants. */
// Types written by their own commands: a hand-made one would bypass their checks (a custody
// statement naming other custodians, an activation that never happened).
const RESERVED_TYPES = new Set(['dataset', 'key', 'version', 'retention', 'placement', 'custody', ...MIRROR_STATEMENT_TYPES]);

/** Reads and validates every line; throws on the first bad one, naming file and line. */
export async function readStatements(file: string): Promise<Uint8Array[]> {
  const name = file === '-' ? '<stdin>' : file;
  const entries: Uint8Array[] = [];
  let lineNo = 0;
  const onLine = (raw: Buffer): void => {
    lineNo++;
    if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
    let text: string;
    try {
      text = utf8Strict.decode(raw);
    } catch {
      throw new EmbassyError('input.malformed', `${name}:${lineNo}: not valid UTF-8`);
    }
    if (text.trim() === '') return;
    try {
      const value = parseJsonStrict(text);
      const bytes = encodeStatement(value);
      const type = (value as { type: string }).type;
      if (RESERVED_TYPES.has(type)) {
        throw new EmbassyError('input.malformed', `statement type ${JSON.stringify(type)} is reserved: it is written by its own command (dataset add, ingest, gc, policy set, custody, activate, drill)`);
      }
      entries.push(bytes);
    } catch (e) {
      if (e instanceof EmbassyError) {
        throw new EmbassyError(e.code === 'json.invalid' ? 'input.malformed' : e.code, `${name}:${lineNo}: ${e.message}`);
      }
      throw e;
    }
  };
  let stream;
  try {
    stream = file === '-' ? process.stdin : createReadStream(file);
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
        onLine(buf.subarray(0, nl));
        buf = buf.subarray(nl + 1);
      }
      rest = Buffer.from(buf);
      // A line can never be longer than the largest statement plus some slack for whitespace.
      if (rest.length > 4 * 0xffff) {
        throw new EmbassyError('input.too-large', `${name}:${lineNo + 1}: line longer than ${4 * 0xffff} bytes`);
      }
    }
    if (rest.length > 0) onLine(rest);
  } catch (e) {
    if (e instanceof EmbassyError) throw e;
    throw new EmbassyError('input.malformed', `${name}: cannot read: ${(e as Error).message}`);
  }
  if (entries.length === 0) throw new EmbassyError('input.malformed', `${name}: no statements`);
  return entries;
}
