// The key ceremony at a home site (`embassy custody init|rotate|reshare`): split the KEK into
// Shamir shares, one passphrase-sealed share file per custodian, and record the split in a custody
// statement. init and rotate make a NEW KEK and rewrap every data key under it (no object is
// re-encrypted); reshare splits the KEK the home already holds.
//
// Order, and what is durable after each step (all under the site lock):
//   1. share files written to the output directory (fsynced): nothing else changed yet;
//   2. the new KEK in keys/kek.key.next (init/rotate): kek.key still the logged one;
//   3. ONE log append: custody statement + rewrapped key statements. From here the log names the
//      new KEK, so a reader settles kek.key.next into kek.key (Site.settleNextKek);
//   4. kek.key.next renamed over kek.key.
// A crash before 3 leaves the old KEK in force (the next KEK read deletes kek.key.next, and the
// share files written are for a key the log never named: they are refused as wrong shares).
import { randomBytes } from 'node:crypto';
import { mkdir, open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { loadCatalog } from '../catalog/catalog.ts';
import { keyFingerprint } from '../crypto/aead.ts';
import { splitSecret } from '../crypto/shamir.ts';
import { toHex } from '../format/bytes.ts';
import { encodeStatement } from '../format/statement.ts';
import { CUSTODIAN_NAME_RE, CUSTODY_MAX_CUSTODIANS, type CustodyStatement } from '../format/statement-types.ts';
import { rewrapKeyStatements } from '../seal/datasets.ts';
import type { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { fsyncDir } from '../store/fsync.ts';
import { KEK_SIZE, custodyStatement, shareX } from './kek.ts';
import { checkPassphraseStrength, sealShareFile, SCRYPT_DEFAULT_LOG_N } from './share-file.ts';

export type CeremonyKind = 'init' | 'rotate' | 'reshare';

/** Steps a test can interrupt (the hook throws) to check recovery; see the module comment. */
export type CeremonyStep = 'shares-written' | 'kek-staged' | 'appended';

export interface CeremonyOptions {
  kind: CeremonyKind;
  /** Custodian names, in order; one share each. */
  names: readonly string[];
  threshold: number;
  /** Each custodian's passphrase, by name (at least 12 characters). */
  passphrases: ReadonlyMap<string, string>;
  /** Directory for the share files `<name>.share`; none of them may exist yet. */
  outDir: string;
  /** scrypt cost (log2 N), 14–20; default 17. */
  logN?: number;
  /** Called after each durable step; for fault tests only. */
  afterStep?: (step: CeremonyStep) => Promise<void> | void;
}

export interface CeremonyResult {
  custody: CustodyStatement;
  logIndex: bigint;
  logSize: bigint;
  /** Key statements appended (data keys moved under the new KEK); 0 for reshare. */
  rewrapped: number;
  /** The KEK before and after (fingerprints); equal for reshare. */
  previousKekFingerprint: string;
  files: { custodian: string; x: number; path: string }[];
}

/** Default names: custodian-1 … custodian-N. */
export function defaultCustodianNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `custodian-${i + 1}`);
}

/** Checks the shape of a ceremony before any work: names, count, threshold. */
export function checkCustodians(names: readonly string[], threshold: number): void {
  const n = names.length;
  if (n < 2 || n > CUSTODY_MAX_CUSTODIANS) throw new EmbassyError('usage', `custody: expected 2–${CUSTODY_MAX_CUSTODIANS} custodians, got ${n}`);
  if (!Number.isSafeInteger(threshold) || threshold < 2 || threshold > n) {
    throw new EmbassyError('usage', `custody: threshold must be 2–${n} (the number of custodians), got ${threshold}`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (!CUSTODIAN_NAME_RE.test(name)) {
      throw new EmbassyError('usage', `custody: custodian name ${JSON.stringify(name)} must be lowercase letters, digits and '-' (1–63, not starting with '-')`);
    }
    if (seen.has(name)) throw new EmbassyError('usage', `custody: custodian ${name} is named twice`);
    seen.add(name);
  }
}

function shareFilePath(outDir: string, name: string): string {
  return join(outDir, `${name}.share`);
}

async function writeShareFile(path: string, text: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (e) {
    throw new EmbassyError((e as NodeJS.ErrnoException).code === 'EEXIST' ? 'site.exists' : 'store.io', `custody: cannot create ${path}: ${(e as Error).message}`);
  }
  try {
    await fh.writeFile(text);
    await fh.chmod(0o600);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Holds a key ceremony at a home site; see the module comment for the order of durable steps. */
export async function holdCeremony(site: Site, o: CeremonyOptions): Promise<CeremonyResult> {
  if (site.config.role !== 'home') {
    throw new EmbassyError('site.config', `custody ${o.kind}: ${site.config.name} is a ${site.config.role} site; key ceremonies are held at the home`);
  }
  checkCustodians(o.names, o.threshold);
  for (const name of o.names) {
    const p = o.passphrases.get(name);
    if (p === undefined) throw new EmbassyError('usage', `custody: no passphrase for custodian ${name}`);
    checkPassphraseStrength(p, name);
  }
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  for (const name of o.names) {
    const path = shareFilePath(outDir, name);
    if (await stat(path).then(() => true, () => false)) {
      throw new EmbassyError('site.exists', `custody: ${path} already exists`, {
        hint: 'share files are never overwritten: give --out a new, empty directory',
      });
    }
  }

  return site.withLock(async () => {
    const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
    const catalog = await loadCatalog(site.logStore(), site.logVerifier());
    const prior = catalog.custody?.statement;
    if (o.kind === 'init' && prior) {
      throw new EmbassyError('usage', `custody init: ${site.config.name} already has custody epoch ${prior.epoch} (log entry ${catalog.custody!.logIndex})`, {
        hint: 'use `embassy custody rotate` for a new KEK, or `embassy custody reshare` for new shares of the same KEK',
      });
    }
    if (o.kind !== 'init' && !prior) {
      throw new EmbassyError('custody.none', `custody ${o.kind}: ${site.config.name} has no custody statement yet`, {
        hint: 'hold the first ceremony with `embassy custody init`',
      });
    }
    const current = await site.readKek();
    let kek: Uint8Array | undefined;
    let shares: Uint8Array[] = [];
    try {
      const previousKekFingerprint = toHex(keyFingerprint(current));
      if (prior && prior.kekFingerprint !== previousKekFingerprint) {
        throw new EmbassyError('site.config', `custody ${o.kind}: keys/kek.key of ${site.config.name} (${previousKekFingerprint}) is not the KEK of custody epoch ${prior.epoch} (${prior.kekFingerprint})`, {
          hint: 'restore keys/kek.key, or rebuild it from the custodians\' shares',
        });
      }
      kek = o.kind === 'reshare' ? new Uint8Array(current) : new Uint8Array(randomBytes(KEK_SIZE));
      const keyStatements = o.kind === 'reshare' ? [] : rewrapKeyStatements(catalog, current, kek);
      shares = await splitSecret(kek, o.names.length, o.threshold);
      const custody = custodyStatement((prior?.epoch ?? 0) + 1, kek, o.threshold, o.names, shares);
      const entries = [custody, ...keyStatements].map((s) => encodeStatement(s));

      // 1. Every share file, sealed and durable, before anything names the new KEK.
      const files: CeremonyResult['files'] = [];
      for (const [i, name] of o.names.entries()) {
        const share = shares[i]!;
        const text = await sealShareFile({
          home: site.config.origin,
          homeVerifierKey: site.config.logVerifierKey,
          custodian: name,
          x: shareX(share),
          epoch: custody.epoch,
          threshold: o.threshold,
          custodians: o.names.length,
          kekFingerprint: custody.kekFingerprint,
        }, share, o.passphrases.get(name)!, { logN: o.logN ?? SCRYPT_DEFAULT_LOG_N });
        const path = shareFilePath(outDir, name);
        await writeShareFile(path, text);
        files.push({ custodian: name, x: shareX(share), path });
      }
      await fsyncDir(outDir);
      await o.afterStep?.('shares-written');

      // 2. The new KEK beside the old one.
      if (o.kind !== 'reshare') {
        await site.stageKek(kek);
        await o.afterStep?.('kek-staged');
      }
      // 3. One append: the log now names the new KEK and every data key is wrapped under it.
      const appended = await writer.append(entries);
      await o.afterStep?.('appended');
      // 4. The new KEK in place.
      if (o.kind !== 'reshare') await site.commitKek(custody.kekFingerprint);
      return {
        custody,
        logIndex: appended.firstIndex,
        logSize: appended.checkpoint.size,
        rewrapped: keyStatements.length,
        previousKekFingerprint,
        files,
      };
    } finally {
      current.fill(0);
      kek?.fill(0);
      for (const s of shares) s.fill(0);
    }
  });
}
