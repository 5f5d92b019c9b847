// The `embassy` command line: wires commands (one file each) and maps errors to exit codes.
import { Command, CommanderError } from 'commander';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { processIo, reportError, type Io } from './output.ts';
import { registerBrp } from './brp.ts';
import { registerDataset } from './dataset.ts';
import { registerDemo } from './demo.ts';
import { registerGc } from './gc.ts';
import { registerGenerate } from './generate.ts';
import { registerGet } from './get.ts';
import { registerIngest } from './ingest.ts';
import { registerProof } from './proof.ts';
import { registerVerify } from './verify.ts';
import { registerWitness } from './witness.ts';
import { registerInit } from './init.ts';
import { registerLog } from './log.ts';
import { registerPolicy } from './policy.ts';
import { registerStatement } from './statement.ts';
import { registerSite } from './site.ts';
import { registerServe } from './serve.ts';
import { registerMirror } from './mirror.ts';
import { registerStatus } from './status.ts';
import { registerCustody } from './custody.ts';
import { registerToken } from './token.ts';
import { registerJournal } from './journal.ts';
import { registerActivate } from './activate.ts';

export interface CommandContext {
  io: Io;
  /** Runs a command body; its return value (or the mapped error) becomes the exit code. */
  run(json: boolean, body: () => Promise<number | void>): Promise<void>;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode: number = EXIT.OK;
  const ctx: CommandContext = {
    io,
    async run(json, body) {
      try {
        exitCode = (await body()) ?? EXIT.OK;
      } catch (e) {
        exitCode = reportError(io, json, e);
      }
    },
  };
  const program = new Command('embassy')
    .description('Data Embassy: encrypted, verifiable copies of registries at remote sites')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      'after',
      '\nExit codes:\n' + EXIT_TABLE.map(([c, m]) => `  ${String(c).padStart(3)}  ${m}`).join('\n') + '\n',
    );
  registerInit(program, ctx);
  registerStatement(program, ctx);
  registerLog(program, ctx);
  registerDataset(program, ctx);
  registerPolicy(program, ctx);
  registerIngest(program, ctx);
  registerGet(program, ctx);
  registerProof(program, ctx);
  registerGc(program, ctx);
  registerGenerate(program, ctx);
  registerVerify(program, ctx);
  registerWitness(program, ctx);
  registerDemo(program, ctx);
  registerSite(program, ctx);
  registerServe(program, ctx);
  registerMirror(program, ctx);
  registerStatus(program, ctx);
  registerBrp(program, ctx);
  registerCustody(program, ctx);
  registerToken(program, ctx);
  registerJournal(program, ctx);
  registerActivate(program, ctx);
  for (const c of program.commands) propagate(c);

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return EXIT.OK;
      return EXIT.USAGE;
    }
    return reportError(io, false, e);
  }
  return exitCode;
}

function propagate(c: Command): void {
  c.exitOverride();
  for (const sub of c.commands) propagate(sub);
}
