// A site on disk: its config, its keys and its log, in one directory.
//
//   <dir>/site.json          config (name, role, origin, public verifier keys); no secrets
//   <dir>/keys/              mode 0700
//   <dir>/keys/log.key       the log signing key (C2SP signer key string), mode 0600
//   <dir>/keys/cosign.key    the cosigning (receipt/witness) key, type cosignature/v1, mode 0600
//   <dir>/keys/tls.key       the TLS private key (ECDSA P-256, PKCS#8 PEM), mode 0600
//   <dir>/tls.crt            the site's self-signed TLS certificate, pinned by peers via its card
//   <dir>/peers/<name>.json  site cards of known peers (written by `embassy site add`)
//   <dir>/card.json          this site's own newest card (written by `embassy site card`)
//   <dir>/receipts.sqlite    home: receipts and witness cosignatures collected
//   <dir>/follow/<home>/     mirror: copy of each followed home's log, receipts, state
//   <dir>/keys/kek.key       home only: the key-encryption key that wraps every data key, mode 0600
//                            (a key ceremony replaces it; its M-of-N shares are with the custodians)
//   <dir>/keys/kek.key.next  only between a key ceremony's log append and its rename (see stageKek)
//   <dir>/objects/           encrypted objects in pack files with a SQLite index
//   <dir>/log/               the log in C2SP tlog-tiles layout (checkpoint, tile/…)
//   <dir>/lock               present while a process writes the site (pid, host)
//
// init builds everything in a temporary sibling directory and renames it into place, so a site
// either exists completely or not at all.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, readdir, chmod } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { acquireLockFile } from '../store/lock-file.ts';
import { cosignatureNoteSigner, formatCosignatureVerifierKey } from '../log/cosignature.ts';
import {
  ed25519NoteSigner,
  formatSignerKey,
  formatVerifierKey,
  parseSignerKey,
  parseVerifierKey,
} from '../log/note.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { keyFingerprint } from '../crypto/aead.ts';
import { fromBase64, toHex } from '../format/bytes.ts';
import { loadCatalog } from '../catalog/catalog.ts';
import { FsLogStore, type FsLogFaultHook } from '../store/fs-log-store.ts';
import { PackObjectStore } from '../store/pack-store.ts';
import { fsyncDir } from '../store/fsync.ts';
import { LogWriter, type LogIdentity } from '../sitelog/writer.ts';
import { createTlsIdentity, openTlsIdentity, type TlsIdentity } from '../net/tls-identity.ts';

export const SITE_FORMAT = 'data-embassy/site/v1';
export const SITE_ROLES = ['home', 'mirror', 'witness'] as const;
export type SiteRole = (typeof SITE_ROLES)[number];

export interface SiteConfig {
  format: typeof SITE_FORMAT;
  name: string;
  role: SiteRole;
  /** The log's origin line (C2SP tlog-checkpoint); also the signing key's name. */
  origin: string;
  logVerifierKey: string;
  cosignVerifierKey: string;
  /** Optional: bytes at which a pack file is written (default 32 MiB). */
  packSize?: number;
}

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// C2SP: a schema-less URL without spaces or '+'; we also keep it printable ASCII.
const ORIGIN_RE = /^[\x21-\x2a\x2c-\x7e]{1,255}$/;

const TLS_KEY_FILE = 'tls.key';
const TLS_CERT_FILE = 'tls.crt';
const PEERS_DIR = 'peers';
/** The site's own newest card, written by `embassy site card`. */
export const OWN_CARD_FILE = 'card.json';

export function defaultOrigin(name: string): string {
  return `data-embassy.example/${name}`;
}

export interface InitOptions {
  name: string;
  role: SiteRole;
  origin?: string;
}

export async function initSite(dirArg: string, options: InitOptions): Promise<SiteConfig> {
  const dir = resolve(dirArg);
  if (!NAME_RE.test(options.name)) {
    throw new EmbassyError('usage', `init: site name ${JSON.stringify(options.name)} must be lowercase letters, digits and '-' (1–63)`);
  }
  if (!SITE_ROLES.includes(options.role)) {
    throw new EmbassyError('usage', `init: role must be one of ${SITE_ROLES.join(', ')}, got ${JSON.stringify(options.role)}`);
  }
  const origin = options.origin ?? defaultOrigin(options.name);
  if (!ORIGIN_RE.test(origin)) {
    throw new EmbassyError('usage', `init: origin ${JSON.stringify(origin)} must be printable ASCII without spaces or '+'`);
  }
  const existing = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (existing !== undefined && existing.length > 0) {
    throw new EmbassyError('site.exists', `init: ${dir} exists and is not empty`);
  }

  const tmp = join(dirname(dir), `.${basename(dir)}.init-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'keys'), { recursive: true, mode: 0o700 });
  await chmod(join(tmp, 'keys'), 0o700);
  try {
    const logSeed = new Uint8Array(randomBytes(32));
    const cosignSeed = new Uint8Array(randomBytes(32));
    await writeSecret(join(tmp, 'keys', 'log.key'), formatSignerKey(origin, logSeed) + '\n');
    await writeSecret(join(tmp, 'keys', 'cosign.key'), formatSignerKey(options.name, cosignSeed) + '\n');
    const config: SiteConfig = {
      format: SITE_FORMAT,
      name: options.name,
      role: options.role,
      origin,
      logVerifierKey: formatVerifierKey(origin, ed25519PublicKey(logSeed)),
      cosignVerifierKey: formatCosignatureVerifierKey(options.name, ed25519PublicKey(cosignSeed)),
    };
    logSeed.fill(0);
    cosignSeed.fill(0);
    if (options.role === 'home') {
      const kek = new Uint8Array(randomBytes(32));
      await writeSecret(join(tmp, 'keys', 'kek.key'), formatKekFile(kek));
      kek.fill(0);
    }
    const tls = createTlsIdentity(options.name, new Date());
    await writeSecret(join(tmp, 'keys', TLS_KEY_FILE), tls.keyPem);
    await writeDurable(join(tmp, TLS_CERT_FILE), tls.certPem, 0o644);
    await writeDurable(join(tmp, 'site.json'), JSON.stringify(config, null, 2) + '\n', 0o644);
    const site = await Site.open(tmp);
    await LogWriter.create(site.logStore(), await site.logIdentity());
    if (existing !== undefined) await rm(dir, { recursive: true });
    await rename(tmp, dir);
    await fsyncDir(dirname(dir));
    return config;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

const KEK_FILE = 'kek.key';
const KEK_NEXT_FILE = 'kek.key.next';

export class Site {
  /** True while this object holds the site lock (inside withLock). */
  private locked = false;

  private constructor(
    readonly dir: string,
    readonly config: SiteConfig,
  ) {}

  static async open(dirArg: string): Promise<Site> {
    const dir = resolve(dirArg);
    let text: string;
    try {
      text = await readFile(join(dir, 'site.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new EmbassyError('site.missing', `site: no site at ${dir} (no site.json)`, {
          hint: 'create one with `embassy init --dir DIR --name NAME --role home`',
        });
      }
      throw new EmbassyError('store.io', `site: cannot read ${join(dir, 'site.json')}: ${(e as Error).message}`);
    }
    let config: SiteConfig;
    try {
      config = JSON.parse(text) as SiteConfig;
    } catch {
      throw new EmbassyError('site.config', `site: ${join(dir, 'site.json')} is not valid JSON`);
    }
    if (config.format !== SITE_FORMAT || typeof config.origin !== 'string' || typeof config.logVerifierKey !== 'string') {
      throw new EmbassyError('site.config', `site: ${join(dir, 'site.json')} is not a ${SITE_FORMAT} config`);
    }
    return new Site(dir, config);
  }

  logStore(fault?: FsLogFaultHook): FsLogStore {
    return new FsLogStore(join(this.dir, 'log'), fault ? { fault } : undefined);
  }

  /** The log's public identity; needs no secret. */
  logVerifier(): ReturnType<typeof parseVerifierKey> {
    return parseVerifierKey(this.config.logVerifierKey);
  }

  /** The log's signing identity; reads the private key file. */
  async logIdentity(): Promise<LogIdentity> {
    const skey = await readSecret(join(this.dir, 'keys', 'log.key'));
    const parsed = parseSignerKey(skey);
    const verifier = this.logVerifier();
    if (parsed.name !== this.config.origin || verifier.name !== this.config.origin) {
      throw new EmbassyError('site.config', `site: log key name does not match origin ${this.config.origin}`);
    }
    const signer = ed25519NoteSigner(parsed.name, parsed.seed);
    parsed.seed.fill(0);
    return { origin: this.config.origin, signer, verifier };
  }

  /** The cosigning signer (receipts, witness cosignatures). */
  async cosigner(now: () => bigint): Promise<ReturnType<typeof cosignatureNoteSigner>> {
    const parsed = parseSignerKey(await readSecret(join(this.dir, 'keys', 'cosign.key')));
    const signer = cosignatureNoteSigner(parsed.name, parsed.seed, now);
    parsed.seed.fill(0);
    return signer;
  }

  /**
   * The home's key-encryption key. Callers wipe it (fill(0)) when done. A kek.key.next left by a
   * key ceremony is settled first (settleNextKek), so the key returned is the one the log's newest
   * key statements are wrapped under.
   */
  async readKek(): Promise<Uint8Array> {
    await this.settleNextKek();
    const path = join(this.dir, 'keys', KEK_FILE);
    let text: string;
    try {
      text = await readSecret(path);
    } catch (e) {
      if (e instanceof EmbassyError && /ENOENT/.test(e.message)) {
        throw new EmbassyError('site.config', `site: ${this.config.name} has no key-encryption key (${path})`, {
          hint: this.config.role === 'home' ? 'the KEK is created by `embassy init --role home`' : 'only a home site or an activated mirror holds keys',
        });
      }
      throw e;
    }
    return parseKekFile(text, path);
  }

  /**
   * Step 1 of replacing the KEK (a key ceremony, under withLock): writes the new key to
   * keys/kek.key.next, 0600, fsynced. Durable when this returns; kek.key is untouched. The caller
   * then appends the statements that rewrap the data keys under it and calls commitKek.
   */
  async stageKek(kek: Uint8Array): Promise<void> {
    if (!this.locked) throw new EmbassyError('site.config', 'site: stageKek needs the site lock');
    const next = join(this.dir, 'keys', KEK_NEXT_FILE);
    await rm(next, { force: true });
    await writeSecret(next, formatKekFile(kek));
    await fsyncDir(join(this.dir, 'keys'));
  }

  /**
   * Step 2, after the log append that names the new KEK's fingerprint is durable: renames
   * kek.key.next over kek.key. A reader may have settled it already (settleNextKek does the same
   * rename once the log names it), which is fine as long as kek.key is now the new key.
   */
  async commitKek(kekFingerprint: string): Promise<void> {
    const keys = join(this.dir, 'keys');
    try {
      await rename(join(keys, KEK_NEXT_FILE), join(keys, KEK_FILE));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new EmbassyError('store.io', `site: cannot rename ${join(keys, KEK_NEXT_FILE)}: ${(e as Error).message}`);
      }
      const kek = parseKekFile(await readSecret(join(keys, KEK_FILE)), join(keys, KEK_FILE));
      const fingerprint = toHex(keyFingerprint(kek));
      kek.fill(0);
      if (fingerprint !== kekFingerprint) {
        throw new EmbassyError('site.config', `site: ${join(keys, KEK_NEXT_FILE)} vanished and ${KEK_FILE} is not the new KEK ${kekFingerprint}`);
      }
    }
    await fsyncDir(keys);
  }

  /**
   * Resolves a kek.key.next left by a key ceremony that stopped between stageKek and commitKek:
   * - its fingerprint is the newest custody statement's → the append happened: it becomes kek.key
   *   (safe without the lock: the ceremony itself would do exactly this rename);
   * - otherwise the append did not happen (yet) → kek.key is still the right key. The file is
   *   deleted only under the site lock, because without it this may be a ceremony under way in
   *   another process; if the lock is busy, it is left alone.
   */
  private async settleNextKek(): Promise<void> {
    const keys = join(this.dir, 'keys');
    const next = join(keys, KEK_NEXT_FILE);
    if (!(await exists(next))) return;
    const staged = parseKekFile(await readSecret(next), next);
    const fingerprint = toHex(keyFingerprint(staged));
    staged.fill(0);
    const catalog = await loadCatalog(this.logStore(), this.logVerifier());
    if (catalog.custody?.statement.kekFingerprint === fingerprint) {
      await this.commitKek(fingerprint);
      return;
    }
    if (this.locked) {
      await rm(next, { force: true });
      await fsyncDir(keys);
      return;
    }
    try {
      await this.withLock(() => this.settleNextKek());
    } catch (e) {
      if (!(e instanceof EmbassyError && e.code === 'log.locked')) throw e;
    }
  }

  /**
   * The site's TLS key and certificate. A site made before TLS identities existed gets one
   * here, on first use; a key without its certificate (or the reverse) is an error, never
   * silently replaced, because peers pin the certificate.
   */
  async readTlsIdentity(): Promise<TlsIdentity> {
    const keyPath = join(this.dir, 'keys', TLS_KEY_FILE);
    const certPath = join(this.dir, TLS_CERT_FILE);
    const [hasKey, hasCert] = await Promise.all([exists(keyPath), exists(certPath)]);
    if (!hasKey && !hasCert) {
      const tls = createTlsIdentity(this.config.name, new Date());
      await writeSecret(keyPath, tls.keyPem);
      await writeDurable(certPath, tls.certPem, 0o644);
      return tls;
    }
    if (!hasKey || !hasCert) {
      throw new EmbassyError('site.config', `site: ${hasKey ? certPath : keyPath} is missing but ${hasKey ? keyPath : certPath} exists`, {
        hint: 'restore the missing file from a backup; if the identity is lost, remove both and give every peer the new card',
      });
    }
    const certPem = await readFile(certPath, 'utf8').catch((e: Error) => {
      throw new EmbassyError('site.config', `site: cannot read ${certPath}: ${e.message}`);
    });
    return openTlsIdentity(await readSecret(keyPath), certPem);
  }

  peersDir(): string {
    return join(this.dir, PEERS_DIR);
  }

  /** The raw text of every stored peer card (`peers/<name>.json`), by file name; unparsed. */
  async peers(): Promise<{ file: string; text: string }[]> {
    let names: string[];
    try {
      names = (await readdir(this.peersDir())).filter((n) => n.endsWith('.json')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new EmbassyError('store.io', `site: cannot list ${this.peersDir()}: ${(e as Error).message}`);
    }
    return Promise.all(names.map(async (file) => ({ file, text: await readFile(join(this.peersDir(), file), 'utf8') })));
  }

  objectsDir(): string {
    return join(this.dir, 'objects');
  }

  /** The site's object store (pack files and their index); the caller closes it. */
  async openObjects(): Promise<PackObjectStore> {
    await mkdir(this.objectsDir(), { recursive: true });
    const packSize = this.config.packSize;
    if (packSize !== undefined && (!Number.isSafeInteger(packSize) || packSize < 1024)) {
      throw new EmbassyError('site.config', `site: packSize in ${join(this.dir, 'site.json')} must be an integer ≥ 1024`);
    }
    return PackObjectStore.open(this.objectsDir(), packSize ? { targetPackSize: packSize } : undefined);
  }

  /**
   * The object store for reading only, beside a writer in another process (see
   * PackObjectStore.openReader). A store that does not exist yet is created first, under the
   * site lock, so that the reader has an index to open.
   */
  async openObjectsReader(): Promise<PackObjectStore> {
    if (!(await exists(join(this.objectsDir(), 'index.sqlite')))) {
      await this.withLock(async () => (await this.openObjects()).close());
    }
    return PackObjectStore.openReader(this.objectsDir());
  }

  /**
   * Runs fn while holding the site's writer lock. The lock file names the holder's pid and host;
   * a lock left by a process that no longer runs on this host (kill -9, power loss) is taken over.
   */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const release = await acquireLockFile(join(this.dir, 'lock'), `site: ${this.dir}`);
    this.locked = true;
    try {
      return await fn();
    } finally {
      this.locked = false;
      await release();
    }
  }
}

const KEK_FILE_PREFIX = 'data-embassy-kek-v1 ';

function formatKekFile(kek: Uint8Array): string {
  return KEK_FILE_PREFIX + Buffer.from(kek).toString('base64') + '\n';
}

function parseKekFile(text: string, path: string): Uint8Array {
  const b64 = text.startsWith(KEK_FILE_PREFIX) ? text.slice(KEK_FILE_PREFIX.length) : '';
  const kek = fromBase64(b64);
  if (!kek || kek.length !== 32) throw new EmbassyError('site.config', `site: ${path} is not a KEK file`);
  return kek;
}

async function writeSecret(path: string, text: string): Promise<void> {
  await writeDurable(path, text, 0o600);
}

async function writeDurable(path: string, text: string, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.chmod(mode); // umask must not widen or narrow what we asked for
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readSecret(path: string): Promise<string> {
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      throw new EmbassyError('site.config', `site: key file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, {
        hint: `chmod 600 ${path}`,
      });
    }
    return (await readFile(path, 'utf8')).trim();
  } catch (e) {
    if (e instanceof EmbassyError) throw e;
    throw new EmbassyError('site.config', `site: cannot read key file ${path}: ${(e as Error).message}`);
  }
}



async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new EmbassyError('store.io', `site: cannot stat ${path}: ${(e as Error).message}`);
  }
}
