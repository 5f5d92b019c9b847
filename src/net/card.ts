// Site cards (data-embassy/site-card/v1): how a site introduces itself to a federation — name,
// role, URL, log and cosigning verifier keys, pinned TLS certificate, location, jurisdiction and
// risk tags — as RFC 8785 canonical JSON, signed by the site's log key (Ed25519) so that a card
// authenticates itself against the logVerifierKey it names. Cards from elsewhere are untrusted
// input: parseSiteCard checks every member and throws only coded errors. Format: docs/format-net.md.
import { X509Certificate } from 'node:crypto';
import { EmbassyError } from '../errors.ts';
import { canonicalJson, parseJsonStrict } from '../format/canonical-json.ts';
import { fromBase64, toBase64, utf8 } from '../format/bytes.ts';
import { SIGNATURE_TYPE_COSIGNATURE_V1, SIGNATURE_TYPE_ED25519, parseVerifierKey } from '../log/note.ts';
import { certificateFingerprint } from './tls-identity.ts';

export const SITE_CARD_FORMAT = 'data-embassy/site-card/v1';
/** Domain separation: the log key also signs checkpoints, so the card signature covers a prefix. */
export const SITE_CARD_SIGNATURE_CONTEXT = 'data-embassy site-card signature v1\n';
export const MAX_SITE_CARD_SIZE = 16 * 1024;
export const CARD_ROLES = ['home', 'mirror', 'witness'] as const;

export interface SiteCard {
  format: typeof SITE_CARD_FORMAT;
  name: string;
  role: (typeof CARD_ROLES)[number];
  url: string;
  origin: string;
  logVerifierKey: string;
  cosignVerifierKey: string;
  tlsCertificate: string;
  tlsFingerprint: string;
  location?: { lat: number; lon: number };
  jurisdiction?: string;
  riskTags: string[];
  /** base64 Ed25519 signature by the log key over SITE_CARD_SIGNATURE_CONTEXT ‖ canonical card without this member. */
  signature: string;
}

export type UnsignedSiteCard = Omit<SiteCard, 'signature'>;

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const JURISDICTION_RE = /^[A-Z]{2}$/; // ISO 3166-1 alpha-2
const TAG_RE = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const MEMBERS = new Set(['format', 'name', 'role', 'url', 'origin', 'logVerifierKey', 'cosignVerifierKey', 'tlsCertificate', 'tlsFingerprint', 'location', 'jurisdiction', 'riskTags', 'signature']);
const REQUIRED = ['format', 'name', 'role', 'url', 'origin', 'logVerifierKey', 'cosignVerifierKey', 'tlsCertificate', 'tlsFingerprint', 'riskTags', 'signature'];

export function cardSigningMessage(card: UnsignedSiteCard | SiteCard): Uint8Array {
  const { signature: _omit, ...unsigned } = card as SiteCard;
  return utf8.encode(SITE_CARD_SIGNATURE_CONTEXT + canonicalJson(unsigned));
}

/** Validates the unsigned members (as parseSiteCard would) and signs them with `sign` (the log key). */
export function signSiteCard(unsigned: UnsignedSiteCard, sign: (message: Uint8Array) => Uint8Array): SiteCard {
  const normalized: UnsignedSiteCard = { ...unsigned, riskTags: [...new Set(unsigned.riskTags)].sort() };
  checkMembers(normalized as unknown as Record<string, unknown>);
  const card: SiteCard = { ...normalized, signature: toBase64(sign(cardSigningMessage(normalized))) };
  verifyCardSignature(card);
  return card;
}

/** The card's exact text: canonical JSON and a newline. */
export function formatSiteCard(card: SiteCard): string {
  return canonicalJson(card) + '\n';
}

/** Parses and fully checks an untrusted card, including its signature. */
export function parseSiteCard(text: string | Uint8Array): SiteCard {
  const size = typeof text === 'string' ? utf8.encode(text).length : text.length;
  if (size > MAX_SITE_CARD_SIZE) throw new EmbassyError('input.too-large', `site card: ${size} bytes is over ${MAX_SITE_CARD_SIZE}`);
  let value: unknown;
  try {
    value = parseJsonStrict(typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch (e) {
    throw malformed(`not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('expected a JSON object');
  const card = value as Record<string, unknown>;
  if (typeof card.signature !== 'string') throw malformed('signature: expected a base64 string');
  checkMembers(card);
  verifyCardSignature(card as unknown as SiteCard);
  return card as unknown as SiteCard;
}

/** True when two cards are the same card byte for byte (canonical form). */
export function sameCard(a: SiteCard, b: SiteCard): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function verifyCardSignature(card: SiteCard): void {
  const sig = fromBase64(card.signature);
  if (sig === undefined || sig.length !== 64) throw malformed('signature: expected base64 of 64 bytes');
  const key = parseVerifierKey(card.logVerifierKey);
  if (!key.verify(cardSigningMessage(card), sig)) {
    throw new EmbassyError('note.bad-signature', `site card: signature of ${card.name} does not verify under its logVerifierKey`);
  }
}

function checkMembers(card: Record<string, unknown>): void {
  for (const k of Object.keys(card)) if (!MEMBERS.has(k)) throw malformed(`unknown member ${JSON.stringify(k)}`);
  for (const k of REQUIRED) if (k !== 'signature' && card[k] === undefined) throw malformed(`missing member ${k}`);
  if (card.format !== SITE_CARD_FORMAT) throw malformed(`format: expected ${SITE_CARD_FORMAT}`);
  const name = str(card, 'name');
  if (!NAME_RE.test(name)) throw malformed('name: expected lowercase letters, digits and - (1-63)');
  if (!(CARD_ROLES as readonly string[]).includes(str(card, 'role'))) throw malformed(`role: expected one of ${CARD_ROLES.join(', ')}`);
  checkUrl(str(card, 'url'));
  const origin = str(card, 'origin');
  const logKey = parseKey(str(card, 'logVerifierKey'), 'logVerifierKey');
  if (logKey.type !== SIGNATURE_TYPE_ED25519 || logKey.name !== origin) throw malformed('logVerifierKey: expected an Ed25519 key named after the origin');
  const cosignKey = parseKey(str(card, 'cosignVerifierKey'), 'cosignVerifierKey');
  if (cosignKey.type !== SIGNATURE_TYPE_COSIGNATURE_V1 || cosignKey.name !== name) throw malformed('cosignVerifierKey: expected a cosignature/v1 key named after the site');
  const pem = str(card, 'tlsCertificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw malformed('tlsCertificate: not a PEM X.509 certificate');
  }
  const fingerprint = str(card, 'tlsFingerprint');
  if (!HEX64_RE.test(fingerprint)) throw malformed('tlsFingerprint: expected 64 lowercase hex digits');
  if (certificateFingerprint(pem) !== fingerprint) throw malformed('tlsFingerprint: does not match tlsCertificate');
  if (cert.checkHost(name, { wildcards: false, subject: 'never' }) !== name) throw malformed('tlsCertificate: SAN does not name the site');
  if (card.location !== undefined) {
    const loc = card.location as Record<string, unknown>;
    if (typeof loc !== 'object' || loc === null || Array.isArray(loc) || Object.keys(loc).sort().join(',') !== 'lat,lon') {
      throw malformed('location: expected {lat, lon}');
    }
    if (typeof loc.lat !== 'number' || !(loc.lat >= -90 && loc.lat <= 90)) throw malformed('location.lat: expected a number in -90..90');
    if (typeof loc.lon !== 'number' || !(loc.lon >= -180 && loc.lon <= 180)) throw malformed('location.lon: expected a number in -180..180');
  }
  if (card.jurisdiction !== undefined && !JURISDICTION_RE.test(str(card, 'jurisdiction'))) {
    throw malformed('jurisdiction: expected an ISO 3166-1 alpha-2 code such as NL');
  }
  const tags = card.riskTags;
  if (!Array.isArray(tags) || tags.length > 32) throw malformed('riskTags: expected an array of at most 32 tags');
  for (let i = 0; i < tags.length; i++) {
    if (typeof tags[i] !== 'string' || !TAG_RE.test(tags[i] as string)) throw malformed(`riskTags[${i}]: expected lowercase letters, digits and -`);
    if (i > 0 && !((tags[i - 1] as string) < (tags[i] as string))) throw malformed('riskTags: expected sorted, without duplicates');
  }
}

function checkUrl(s: string): void {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw malformed('url: does not parse');
  }
  if (u.protocol !== 'https:') throw malformed('url: expected https');
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) {
    throw malformed('url: expected https://HOST[:PORT] without path, query or credentials');
  }
  if (s !== u.origin) throw malformed(`url: expected the normalized form ${u.origin}`);
}

function parseKey(s: string, member: string): ReturnType<typeof parseVerifierKey> {
  try {
    return parseVerifierKey(s);
  } catch {
    throw malformed(`${member}: not a verifier key`);
  }
}

function str(card: Record<string, unknown>, k: string): string {
  const v = card[k];
  if (typeof v !== 'string') throw malformed(`${k}: expected a string`);
  return v;
}

function malformed(what: string): EmbassyError {
  return new EmbassyError('input.malformed', `site card: ${what}`);
}
