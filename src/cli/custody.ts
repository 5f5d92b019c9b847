// `embassy custody init|rotate|reshare|show|check-share`: the key ceremony at a home (a new KEK
// split into passphrase-sealed share files, one per custodian, recorded in a custody statement),
// rotating the KEK (which revokes the old shares), re-issuing shares of the same KEK, showing the
// custody in force, and letting a custodian check that their passphrase opens their share.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { loadCatalog } from '../catalog/catalog.ts';
import { keyFingerprint } from '../crypto/aead.ts';
import { toHex } from '../format/bytes.ts';
import { checkShare } from '../custody/kek.ts';
import { checkCustodians, defaultCustodianNames, holdCeremony, type CeremonyKind } from '../custody/ceremony.ts';
import { checkPassphraseStrength, openShareFile, SCRYPT_MAX_LOG_N, SCRYPT_MIN_LOG_N } from '../custody/share-file.ts';
import { Site } from '../site/site.ts';
import { parseSiteCard } from '../net/card.ts';
import { openHomeCopy, type HomeCopy } from '../activation/home-copy.ts';
import { printData } from './output.ts';
import { firstLineOf, promptNewPassphrase, readPassphrase } from './passphrase.ts';
import type { CommandContext } from './main.ts';

interface CeremonyFlags {
  dir: string;
  custodians?: string;
  threshold?: string;
  names?: string;
  out: string;
  passphraseEnv?: string;
  passphraseDir?: string;
  kdfCost?: string;
  json?: boolean;
}

function intOption(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < lo || n > hi) {
    throw new EmbassyError('usage', `${name}: expected an integer ${lo}–${hi}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** The environment variable that holds a custodian's passphrase: PREFIX + NAME, '-' → '_'. */
export function passphraseVariable(prefix: string, name: string): string {
  return prefix + name.toUpperCase().replace(/-/g, '_');
}

const TTY_ATTEMPTS = 3;

/** Every custodian's passphrase, gathered before any work so a typo cannot leave half a ceremony. */
async function gatherPassphrases(names: readonly string[], o: CeremonyFlags, ctx: CommandContext): Promise<Map<string, string>> {
  if (o.passphraseEnv !== undefined && o.passphraseDir !== undefined) {
    throw new EmbassyError('usage', 'custody: give --passphrase-env or --passphrase-dir, not both');
  }
  const out = new Map<string, string>();
  for (const name of names) {
    let p: string;
    if (o.passphraseEnv !== undefined) {
      p = await readPassphrase({ env: passphraseVariable(o.passphraseEnv, name), prompt: '' });
    } else if (o.passphraseDir !== undefined) {
      p = await firstLineOf(join(o.passphraseDir, `${name}.pass`));
    } else {
      // On the terminal, each custodian types their own, twice; a short or mistyped one is asked again.
      for (let attempt = 1; ; attempt++) {
        try {
          p = await promptNewPassphrase(undefined, name);
          checkPassphraseStrength(p, name);
          break;
        } catch (e) {
          if (!(e instanceof EmbassyError) || attempt >= TTY_ATTEMPTS || /cancelled|not a terminal/.test(e.message)) throw e;
          ctx.io.stderr(`embassy: ${e.message}; try again\n`);
        }
      }
    }
    checkPassphraseStrength(p, name);
    out.set(name, p);
  }
  return out;
}

function ceremonyCommand(parent: Command, ctx: CommandContext, kind: CeremonyKind, description: string): void {
  const c = parent
    .command(kind)
    .description(description)
    .requiredOption('--dir <dir>', 'home site directory')
    .requiredOption('--out <dir>', 'directory for the share files <name>.share (created; existing share files are never overwritten)')
    .option('--names <names>', 'custodian names, comma-separated (default custodian-1 … custodian-N)')
    .option('--passphrase-env <prefix>', "read each custodian's passphrase from env PREFIX+NAME (uppercased, '-' as '_')")
    .option('--passphrase-dir <dir>', "read each custodian's passphrase from DIR/<name>.pass (first line)")
    .option('--kdf-cost <log2n>', `scrypt cost log2(N), ${SCRYPT_MIN_LOG_N}–${SCRYPT_MAX_LOG_N} (default 17: 128 MiB per attempt)`)
    .option('--json', 'print JSON');
  if (kind === 'init') {
    c.requiredOption('--custodians <n>', 'number of custodians (shares), 2–255').requiredOption('--threshold <m>', 'shares needed to rebuild the KEK, 2–N');
  } else {
    c.option('--custodians <n>', 'number of custodians (default: as in the custody in force)').option('--threshold <m>', 'shares needed (default: as in the custody in force)');
  }
  c.action(async (o: CeremonyFlags) => {
    await ctx.run(!!o.json, async () => {
      const site = await Site.open(o.dir);
      if (site.config.role !== 'home') {
        throw new EmbassyError('site.config', `custody ${kind}: ${site.config.name} is a ${site.config.role} site; key ceremonies are held at the home`);
      }
      // Defaults for rotate and reshare come from the custody in force (read without the lock;
      // holdCeremony checks again under it).
      const prior = kind === 'init' ? undefined : (await loadCatalog(site.logStore(), site.logVerifier())).custody?.statement;
      if (kind !== 'init' && !prior) {
        throw new EmbassyError('custody.none', `custody ${kind}: ${site.config.name} has no custody statement yet`, { hint: 'hold the first ceremony with `embassy custody init`' });
      }
      const given = o.names?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      let n = intOption('--custodians', o.custodians, 2, 255) ?? given?.length ?? prior?.custodians.length;
      if (given && n !== given.length) throw new EmbassyError('usage', `custody: --names lists ${given.length} names but --custodians is ${n}`);
      const names = given ?? (prior && n === prior.custodians.length ? prior.custodians.map((x) => x.name) : defaultCustodianNames(n!));
      n = names.length;
      const threshold = intOption('--threshold', o.threshold, 2, 255) ?? prior!.threshold;
      checkCustodians(names, threshold);
      const logN = intOption('--kdf-cost', o.kdfCost, SCRYPT_MIN_LOG_N, SCRYPT_MAX_LOG_N);
      const passphrases = await gatherPassphrases(names, o, ctx);
      const r = await holdCeremony(site, { kind, names, threshold, passphrases, outDir: o.out, ...(logN !== undefined ? { logN } : {}) });
      passphrases.clear();
      const out = {
        kind,
        epoch: r.custody.epoch,
        kekFingerprint: r.custody.kekFingerprint,
        previousKekFingerprint: r.previousKekFingerprint,
        kekChanged: r.custody.kekFingerprint !== r.previousKekFingerprint,
        threshold: r.custody.threshold,
        custodians: r.files,
        rewrapped: r.rewrapped,
        logIndex: r.logIndex,
        logSize: r.logSize,
      };
      printData(ctx.io, !!o.json, out, () => [
        `custody epoch ${out.epoch}: KEK ${out.kekFingerprint}${out.kekChanged ? ` (was ${out.previousKekFingerprint})` : ' (unchanged)'}, ${out.threshold} of ${out.custodians.length} shares needed`,
        ...out.custodians.map((f) => `  ${f.custodian.padEnd(24)} ${f.path}`),
        `${out.rewrapped} data keys rewrapped; log entry ${out.logIndex}, log size ${out.logSize}`,
        kind === 'reshare' ? 'note: the old share files still rebuild the same KEK; `embassy custody rotate` is what revokes them' : '',
        '',
      ].filter((l, i, a) => l !== '' || i === a.length - 1).join('\n'));
    });
  });
}

export function registerCustody(program: Command, ctx: CommandContext): void {
  const custody = program.command('custody').description("the home's KEK under custody: M-of-N shares held by custodians");
  ceremonyCommand(custody, ctx, 'init', 'key ceremony: a new KEK, every data key rewrapped under it, split into one passphrase-sealed share file per custodian');
  ceremonyCommand(custody, ctx, 'rotate', 'a new KEK (every data key rewrapped, no object re-encrypted) and new shares; old shares no longer count');
  ceremonyCommand(custody, ctx, 'reshare', 'new shares of the same KEK (new custodians or threshold); old shares still rebuild it');

  custody
    .command('show')
    .description("the custody in force: epoch, KEK fingerprint, threshold and custodians (at a mirror: of a followed home, from its copy of the home's log)")
    .requiredOption('--dir <dir>', 'site directory')
    .option('--home <name>', 'at a mirror: the followed home (default: the only one)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; home?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        const site = await Site.open(o.dir);
        const catalog = site.config.role === 'mirror' ? (await followedHomeCopy(site, o.home)).catalog : await loadCatalog(site.logStore(), site.logVerifier());
        const c = catalog.custody;
        if (!c) {
          throw new EmbassyError('custody.none', `custody: ${site.config.role === 'mirror' ? "the followed home's log" : site.config.name} has no custody statement`, {
            hint: site.config.role === 'home' ? 'hold the key ceremony with `embassy custody init`' : 'the home has not held a key ceremony yet',
          });
        }
        let kekFile: string | undefined;
        if (site.config.role === 'home') {
          const kek = await site.readKek();
          kekFile = toHex(keyFingerprint(kek)) === c.statement.kekFingerprint ? 'matches' : 'differs';
          kek.fill(0);
        }
        const out = { ...c.statement, logIndex: c.logIndex, ...(kekFile ? { kekFile } : {}) };
        printData(ctx.io, !!o.json, out, () => [
          `custody epoch ${out.epoch} (log entry ${out.logIndex}): KEK ${out.kekFingerprint}, ${out.threshold} of ${out.custodians.length} shares needed`,
          ...out.custodians.map((x) => `  ${x.name.padEnd(24)} x=${String(x.x).padStart(3)}  check ${x.shareCheck.slice(0, 16)}…`),
          kekFile ? `keys/kek.key ${kekFile === 'matches' ? 'matches the logged fingerprint' : 'DIFFERS from the logged fingerprint'}` : '',
          '',
        ].filter((l, i, a) => l !== '' || i === a.length - 1).join('\n'));
      });
    });

  custody
    .command('check-share')
    .description('a custodian checks that their passphrase opens their share file (and, with --dir, that it is the logged share)')
    .requiredOption('--share <file>', 'the share file')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
    .option('--passphrase-env <var>', 'read the passphrase from this environment variable')
    .option('--dir <dir>', "also check the share against this site's custody statement (home or mirror)")
    .option('--json', 'print JSON')
    .action(async (o: { share: string; passphraseFile?: string; passphraseEnv?: string; dir?: string; json?: boolean }) => {
      await ctx.run(!!o.json, async () => {
        let text: string;
        try {
          text = await readFile(o.share, 'utf8');
        } catch (e) {
          throw new EmbassyError('usage', `check-share: cannot read ${o.share}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        const passphrase = await readPassphrase({
          ...(o.passphraseFile !== undefined ? { file: o.passphraseFile } : {}),
          ...(o.passphraseEnv !== undefined ? { env: o.passphraseEnv } : {}),
          prompt: `passphrase for ${o.share}: `,
        });
        const { meta, share } = await openShareFile(text, passphrase, o.share);
        let logged: string | undefined;
        try {
          if (o.dir !== undefined) {
            const site = await Site.open(o.dir);
            const catalog = await loadCatalog(site.logStore(), site.logVerifier());
            if (!catalog.custody) throw new EmbassyError('custody.none', `check-share: ${site.config.name} has no custody statement`);
            checkShare(catalog.custody.statement, meta.custodian, share);
            logged = `custody epoch ${catalog.custody.statement.epoch} of ${site.config.name}`;
          }
        } finally {
          share.fill(0);
        }
        const out = { custodian: meta.custodian, home: meta.home, epoch: meta.epoch, threshold: meta.threshold, custodians: meta.custodians, kekFingerprint: meta.kekFingerprint, opens: true, ...(logged ? { logged } : {}) };
        printData(ctx.io, !!o.json, out, () =>
          `share of ${out.custodian} for ${out.home}: opens; epoch ${out.epoch}, ${out.threshold} of ${out.custodians}, KEK ${out.kekFingerprint}${logged ? `; it is the share recorded in ${logged}` : ''}\n`,
        );
      });
    });
}

/** A mirror's verified copy of a followed home's log: the one named, or the only home it knows. */
async function followedHomeCopy(site: Site, name: string | undefined): Promise<HomeCopy> {
  const homes = (await site.peers()).map((p) => parseSiteCard(p.text)).filter((c) => c.role === 'home');
  const card = name === undefined ? (homes.length === 1 ? homes[0] : undefined) : homes.find((h) => h.name === name);
  if (!card) {
    throw new EmbassyError('usage', name === undefined
      ? `custody: ${site.config.name} follows ${homes.length} homes (${homes.map((h) => h.name).join(', ') || 'none'}); name one with --home`
      : `custody: ${site.config.name} follows no home named ${JSON.stringify(name)}`);
  }
  return openHomeCopy(site.dir, card);
}
