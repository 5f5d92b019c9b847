// `embassy activate`, `deactivate`, `activation status|extend` and `drill`: the operator's and the
// custodians' side of activating a mirror. They talk to the running mirror node over its admin
// socket (<dir>/admin.sock, src/serve/admin.ts); the node holds the site lock and the keys. A
// share file is opened here, with its custodian's passphrase: a wrong passphrase fails before
// anything is sent, and the passphrase never leaves this process.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { openShareFile } from '../custody/share-file.ts';
import { parseDuration } from '../activation/duration.ts';
import type { ActivationStatus, ActiveStatus, DrillReport, SubmitResult } from '../activation/manager.ts';
import { renderDrillReport } from '../activation/report-html.ts';
import { ADMIN_SOCKET_FILE, adminRequest, toWireShare, type WireRequest, type WireShare } from '../serve/admin.ts';
import { Site } from '../site/site.ts';
import { passphraseVariable } from './custody.ts';
import { EXIT } from './exit-codes.ts';
import { printData } from './output.ts';
import { readPassphrase } from './passphrase.ts';
import type { CommandContext } from './main.ts';

/** The admin socket of a mirror site; a clear site error when the node is not running. */
async function socketOf(dir: string, command: string): Promise<{ site: Site; socket: string }> {
  const site = await Site.open(dir);
  if (site.config.role !== 'mirror') {
    throw new EmbassyError('site.config', `${command}: ${site.config.name} is a ${site.config.role} site; only a mirror is activated`, {
      hint: site.config.role === 'home' ? 'a home serves its own data without activation (`embassy serve --api-listen`)' : undefined,
    });
  }
  const socket = join(site.dir, ADMIN_SOCKET_FILE);
  if (!(await stat(socket).then((s) => s.isSocket(), () => false))) {
    throw new EmbassyError('site.missing', `${command}: the node of ${site.config.name} is not running (no ${socket})`, {
      hint: `start it with \`embassy serve --dir ${dir}\`; activation happens inside the running node`,
    });
  }
  return { site, socket };
}

async function readShareText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new EmbassyError('usage', `share file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The custodian a share file names in its plaintext header (for the passphrase variable), else its file name. */
function claimedCustodian(text: string, file: string): string {
  try {
    const c = (JSON.parse(text) as { custodian?: unknown }).custodian;
    if (typeof c === 'string') return c;
  } catch {
    // openShareFile reports what is wrong with the file
  }
  return basename(file).replace(/\.share$/, '');
}

async function openShare(file: string, passphrase: { file?: string; env?: string; envPrefix?: string }): Promise<WireShare> {
  const text = await readShareText(file);
  const env = passphrase.envPrefix !== undefined ? passphraseVariable(passphrase.envPrefix, claimedCustodian(text, file)) : passphrase.env;
  const p = await readPassphrase({ ...(passphrase.file ? { file: passphrase.file } : {}), ...(env ? { env } : {}), prompt: `passphrase for ${file}: ` });
  const opened = await openShareFile(text, p, file);
  try {
    return toWireShare(opened);
  } finally {
    opened.share.fill(0);
  }
}

function wireRequest(o: { home?: string; datasets?: string; duration?: string; reason?: string }, drill?: boolean): WireRequest {
  const r: WireRequest = {};
  if (o.home !== undefined) r.home = o.home;
  if (o.datasets !== undefined) r.datasets = o.datasets.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (o.duration !== undefined) {
    parseDuration(o.duration, '--duration'); // refuse before any passphrase is asked
    r.duration = o.duration;
  }
  if (o.reason !== undefined) r.reason = o.reason;
  if (drill) r.drill = true;
  return r;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function describeStatus(s: ActivationStatus): string {
  const lines = [`${s.site}: ${s.state}`];
  if (s.collecting) {
    const c = s.collecting;
    lines.push(`  collecting ${c.activation} for home ${c.home}${c.drill ? ' (drill)' : ''}: ${c.have} of ${c.need} shares (${c.custodians.join(', ')}); shares wiped at ${c.expiresAt} without quorum`);
    lines.push(`  datasets ${c.datasets.join(', ')}, duration ${c.duration}`);
  }
  if (s.active) lines.push(`  ${describeActive(s.active)}`);
  if (s.last) lines.push(`  last: ${s.last.activation} ended (${s.last.reason}) at ${s.last.at}`);
  return lines.join('\n') + '\n';
}

function describeActive(a: ActiveStatus): string {
  return `activated: ${a.id}${a.drill ? ' (drill)' : ''}, serving ${a.datasets.join(', ')} until ${a.notAfter} (custodians ${a.custodians.join(', ')}; mirror log entry ${a.logIndex})`;
}

function describeDrill(d: DrillReport, reportPath: string): string {
  const s = d.statement;
  return [
    `drill ${d.activation.id} at ${d.site} for home ${d.home.name}: ${s.ok ? 'passed' : 'FAILED'}`,
    `  first verified answer ${s.rto.firstVerifiedAnswerMs} ms, full verification ${s.rto.fullVerificationMs} ms after the last share`,
    ...s.datasets.map((x) => `  ${x.dataset} v${x.version}: ${x.records} records, commitment ${x.commitmentOk ? 'ok' : 'MISMATCH'}, ${x.objects} objects, ${x.samplesOk} samples verified${x.error ? `, ${x.error}` : ''}`),
    `  statement: mirror log entry ${d.logIndex}; cosigned by ${d.cosignatures.map((c) => c.site).join(', ') || 'no other mirror yet'}`,
    `  report: ${reportPath}`,
    '',
  ].join('\n');
}

async function writeReport(site: Site, d: DrillReport, path: string | undefined): Promise<string> {
  const out = path ?? join(site.dir, 'drills', `${d.activation.id}.html`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, renderDrillReport(d, new Date().toISOString()), { mode: 0o644 });
  return out;
}

export function registerActivate(program: Command, ctx: CommandContext): void {
  program
    .command('activate')
    .description("submit one custodian's key share to a running mirror node; at the threshold the mirror serves (only when its home is gone)")
    .requiredOption('--dir <dir>', 'mirror site directory (its node must be running)')
    .requiredOption('--share <file>', "the custodian's share file")
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
    .option('--passphrase-env <var>', 'read the passphrase from this environment variable')
    .option('--home <name>', 'the home to stand in for (default: the home the share file names)')
    .option('--datasets <ids>', 'comma-separated datasets to serve (default: all of the home)')
    .option('--duration <time>', 'how long to serve, e.g. 8h, 90m (default 8h, at most 72h)')
    .option('--reason <text>', 'why, for the log')
    .option('--drill', 'collect for a drill instead (see `embassy drill`)')
    .option('--report <file>', 'with --drill: where the last share writes the HTML report (default <dir>/drills/<id>.html)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; share: string; passphraseFile?: string; passphraseEnv?: string; home?: string; datasets?: string; duration?: string; reason?: string; drill?: boolean; report?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const { site, socket } = await socketOf(o.dir, 'activate');
        const request = wireRequest(o, o.drill);
        const share = await openShare(o.share, { ...(o.passphraseFile ? { file: o.passphraseFile } : {}), ...(o.passphraseEnv ? { env: o.passphraseEnv } : {}) });
        const r = (await adminRequest(socket, 'POST', '/shares', { ...share, request })) as SubmitResult;
        const reportPath = r.drill ? await writeReport(site, r.drill, o.report) : undefined;
        printData(ctx.io, !!o.json, reportPath ? { ...r, report: reportPath } : r, () => {
          if (r.drill) return describeDrill(r.drill, reportPath!);
          if (r.activated) return describeActive(r.activated) + '\n';
          return `share accepted: ${r.custodian} (${r.have} of ${r.need})\n`;
        });
        return r.drill && !r.drill.statement.ok ? EXIT.FINDINGS : EXIT.OK;
      });
    });

  program
    .command('deactivate')
    .description('end the activation in force on a running mirror node (keys wiped, logged), or drop a collection of shares under way')
    .requiredOption('--dir <dir>', 'mirror site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const { socket } = await socketOf(o.dir, 'deactivate');
        const r = (await adminRequest(socket, 'POST', '/deactivate', { reason: 'operator' })) as { deactivated?: { activation: string; journal: { seq: number } }; collectionDropped?: string };
        printData(ctx.io, !!o.json, r, () =>
          r.deactivated
            ? `deactivated: ${r.deactivated.activation}; keys wiped; ${r.deactivated.journal.seq} reads in the access journal\n`
            : `collection ${r.collectionDropped} dropped; its shares wiped\n`,
        );
      });
    });

  const activation = program.command('activation').description('the activation state of a mirror');
  activation
    .command('status')
    .description("show a running mirror node's activation: inactive, collecting shares, or active (what, until when)")
    .requiredOption('--dir <dir>', 'mirror site directory')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const { socket } = await socketOf(o.dir, 'activation status');
        const s = (await adminRequest(socket, 'GET', '/status')) as ActivationStatus;
        printData(ctx.io, !!o.json, s, () => describeStatus(s));
      });
    });
  activation
    .command('extend')
    .description('extend the activation in force; custodians authorise it with a quorum of shares again')
    .requiredOption('--dir <dir>', 'mirror site directory')
    .requiredOption('--share <file>', 'a share file (repeat for each custodian)', collect, [])
    .requiredOption('--duration <time>', 'serve this long from now, e.g. 8h (at most 72h)')
    .option('--passphrase-env <prefix>', "read each custodian's passphrase from env PREFIX+NAME (uppercased, '-' as '_'); default: ask on the terminal")
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; share: string[]; duration: string; passphraseEnv?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        parseDuration(o.duration, '--duration');
        const { socket } = await socketOf(o.dir, 'activation extend');
        const shares: WireShare[] = [];
        for (const f of o.share) shares.push(await openShare(f, o.passphraseEnv !== undefined ? { envPrefix: o.passphraseEnv } : {}));
        const a = (await adminRequest(socket, 'POST', '/extend', { shares, duration: o.duration })) as ActiveStatus;
        printData(ctx.io, !!o.json, a, () => describeActive(a) + '\n');
      });
    });

  program
    .command('drill')
    .description('rehearse an activation on a running mirror node (the home may be up): verified sample lookups, full verification, RTO, a signed drill statement and an HTML report')
    .requiredOption('--dir <dir>', 'mirror site directory')
    .requiredOption('--share <file>', 'a share file (repeat for each custodian taking part)', collect, [])
    .option('--passphrase-env <prefix>', "read each custodian's passphrase from env PREFIX+NAME (uppercased, '-' as '_'), as `custody init` does; default: ask on the terminal")
    .option('--home <name>', 'the home (default: the home the share files name)')
    .option('--datasets <ids>', 'comma-separated datasets (default: all of the home)')
    .option('--reason <text>', 'why, for the log', 'drill')
    .option('--report <file>', 'write the HTML report here (default <dir>/drills/<id>.html)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; share: string[]; passphraseEnv?: string; home?: string; datasets?: string; reason?: string; report?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const { site, socket } = await socketOf(o.dir, 'drill');
        const request = wireRequest(o);
        // Every share is opened before anything is sent: one wrong passphrase stops the drill here.
        const shares: WireShare[] = [];
        for (const f of o.share) shares.push(await openShare(f, o.passphraseEnv !== undefined ? { envPrefix: o.passphraseEnv } : {}));
        const r = (await adminRequest(socket, 'POST', '/drill', { shares, request })) as SubmitResult;
        if (!r.drill) throw new EmbassyError('custody.short', `drill: ${r.have} of ${r.need} shares; the drill did not run`);
        const reportPath = await writeReport(site, r.drill, o.report);
        printData(ctx.io, !!o.json, { ...r.drill, report: reportPath }, () => describeDrill(r.drill!, reportPath));
        return r.drill.statement.ok ? EXIT.OK : EXIT.FINDINGS;
      });
    });
}
