// The peers a site knows: the cards given to it with `embassy site add`, stored as
// <dir>/peers/<name>.json, looked up by name and by pinned TLS fingerprint (the only way a
// connection is tied to a peer — there is no CA). Also builds this site's own card.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbassyError } from '../errors.ts';
import type { Site } from '../site/site.ts';
import { formatSiteCard, parseSiteCard, sameCard, signSiteCard, type SiteCard, type UnsignedSiteCard } from './card.ts';
import { SITE_CARD_FORMAT } from './card.ts';

export class PeerSet {
  private readonly byNameMap = new Map<string, SiteCard>();
  private readonly byFingerprintMap = new Map<string, SiteCard>();

  constructor(cards: readonly SiteCard[]) {
    for (const c of cards) {
      if (this.byNameMap.has(c.name)) throw new EmbassyError('site.config', `peers: two cards for ${c.name}`);
      const other = this.byFingerprintMap.get(c.tlsFingerprint);
      if (other) throw new EmbassyError('site.config', `peers: ${c.name} and ${other.name} pin the same tls certificate`);
      this.byNameMap.set(c.name, c);
      this.byFingerprintMap.set(c.tlsFingerprint, c);
    }
  }

  byName(name: string): SiteCard | undefined {
    return this.byNameMap.get(name);
  }

  /** The peer whose card pins this certificate (lowercase hex SHA-256 of its DER). */
  byFingerprint(fingerprint: string): SiteCard | undefined {
    return this.byFingerprintMap.get(fingerprint);
  }

  all(): SiteCard[] {
    return [...this.byNameMap.values()];
  }
}

/** What a running node asks of its known peers; LivePeers answers from the newest cards on disk. */
export type PeerLookup = Pick<PeerSet, 'byName' | 'byFingerprint' | 'all'>;

/**
 * The peers of a running node, re-read from <site>/peers/ every `intervalMs` so that a card added
 * with `embassy site add` (or replaced) takes effect without a restart. A directory that fails
 * to load keeps the previous set (and `onError` hears of it): a bad card never drops good peers.
 */
export class LivePeers implements PeerLookup {
  private timer: NodeJS.Timeout | undefined;
  private constructor(
    private readonly site: Site,
    private current: PeerSet,
  ) {}

  static async open(site: Site, intervalMs: number, onError: (e: Error) => void): Promise<LivePeers> {
    const live = new LivePeers(site, await loadPeers(site));
    live.timer = setInterval(() => {
      live.reload().catch((e: Error) => onError(e));
    }, intervalMs);
    live.timer.unref();
    return live;
  }

  async reload(): Promise<void> {
    this.current = await loadPeers(this.site);
  }

  byName(name: string): SiteCard | undefined {
    return this.current.byName(name);
  }

  byFingerprint(fingerprint: string): SiteCard | undefined {
    return this.current.byFingerprint(fingerprint);
  }

  all(): SiteCard[] {
    return this.current.all();
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Reads and re-verifies every stored card; a bad or misnamed file is a site.config error. */
export async function loadPeers(site: Site): Promise<PeerSet> {
  const cards: SiteCard[] = [];
  for (const { file, text } of await site.peers()) {
    let card: SiteCard;
    try {
      card = parseSiteCard(text);
    } catch (e) {
      throw new EmbassyError('site.config', `peers: ${join(site.peersDir(), file)}: ${(e as Error).message}`);
    }
    if (file !== `${card.name}.json`) throw new EmbassyError('site.config', `peers: ${file} holds the card of ${card.name}`);
    cards.push(card);
  }
  return new PeerSet(cards);
}

export interface CardOptions {
  url: string;
  location?: { lat: number; lon: number };
  jurisdiction?: string;
  riskTags?: string[];
}

/** This site's card, signed with its log key. Creates the TLS identity if the site has none. */
export async function makeOwnCard(site: Site, options: CardOptions): Promise<SiteCard> {
  const tls = await site.readTlsIdentity();
  const identity = await site.logIdentity();
  const unsigned: UnsignedSiteCard = {
    format: SITE_CARD_FORMAT,
    name: site.config.name,
    role: site.config.role,
    url: options.url,
    origin: site.config.origin,
    logVerifierKey: site.config.logVerifierKey,
    cosignVerifierKey: site.config.cosignVerifierKey,
    tlsCertificate: tls.certPem,
    tlsFingerprint: tls.fingerprint,
    ...(options.location ? { location: options.location } : {}),
    ...(options.jurisdiction ? { jurisdiction: options.jurisdiction } : {}),
    riskTags: options.riskTags ?? [],
  };
  return signSiteCard(unsigned, (m) => identity.signer.sign(m));
}

export type AddResult = 'added' | 'unchanged' | 'replaced';

/**
 * Stores a verified peer card durably (temp file, fsync, rename). A different card for a name
 * already known is refused unless `replace`; when the stored card's log key differs, that is
 * what an impostor would send, so the hint says to check it out of band.
 */
export async function addPeerCard(site: Site, card: SiteCard, options: { replace?: boolean } = {}): Promise<AddResult> {
  if (card.name === site.config.name) throw new EmbassyError('usage', `site add: ${card.name} is this site's own name`);
  const peers = await loadPeers(site);
  const known = peers.byName(card.name);
  if (known && sameCard(known, card)) return 'unchanged';
  if (known && !options.replace) {
    throw new EmbassyError('site.exists', `site add: a different card for ${card.name} is already known`, {
      hint: known.logVerifierKey === card.logVerifierKey
        ? 'the new card is signed by the same log key; pass --replace to take it'
        : 'the new card has a different log key: confirm it with the peer out of band, then pass --replace',
    });
  }
  const clash = peers.byFingerprint(card.tlsFingerprint);
  if (clash && clash.name !== card.name) {
    throw new EmbassyError('site.config', `site add: ${card.name} pins the tls certificate of ${clash.name}`);
  }
  const dir = site.peersDir();
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, `${card.name}.json`);
  const tmp = join(dir, `.${card.name}.json.${process.pid}`);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(formatSiteCard(card));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw new EmbassyError('store.io', `site add: cannot write ${path}: ${(e as Error).message}`);
  }
  return known ? 'replaced' : 'added';
}
