// A site's TLS identity: an ECDSA P-256 key and a self-signed X.509 v3 certificate (RFC 5280)
// with CN and SAN dNSName = the site name and SAN iPAddress 127.0.0.1, usable for both server
// and client authentication. Trust comes from pinning the certificate's SHA-256 fingerprint in
// the site card, never from a CA, so the certificate only has to be well-formed for TLS stacks.
// The DER is written here (about a hundred lines) instead of pulling in an X.509 library.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { EmbassyError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../format/bytes.ts';

export interface TlsIdentity {
  /** PKCS#8 PEM of the private key. Never logged, never sent. */
  keyPem: string;
  certPem: string;
  /** Lowercase hex SHA-256 of the certificate's DER. */
  fingerprint: string;
}

// OIDs, as DER contents.
const OID_ECDSA_SHA256 = oid('1.2.840.10045.4.3.2');
const OID_CN = oid('2.5.4.3');
const OID_SAN = oid('2.5.29.17');
const OID_BASIC_CONSTRAINTS = oid('2.5.29.19');
const OID_KEY_USAGE = oid('2.5.29.15');
const OID_EXT_KEY_USAGE = oid('2.5.29.37');
const OID_SERVER_AUTH = oid('1.3.6.1.5.5.7.3.1');
const OID_CLIENT_AUTH = oid('1.3.6.1.5.5.7.3.2');

/** Creates a new key and a self-signed certificate for `name` (a DNS label), valid from `now`. */
export function createTlsIdentity(name: string, now: Date): TlsIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certPem = selfSignedCertificate(name, privateKey, publicKey, now);
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { keyPem, certPem, fingerprint: certificateFingerprint(certPem) };
}

/** Checks that a key and certificate belong together and returns the identity. */
export function openTlsIdentity(keyPem: string, certPem: string): TlsIdentity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('key does not match');
  } catch (e) {
    throw new EmbassyError('site.config', `tls identity: certificate and key do not parse or do not match: ${(e as Error).message}`);
  }
  return { keyPem, certPem, fingerprint: toHex(sha256(new Uint8Array(cert.raw))) };
}

/** Lowercase hex SHA-256 of a PEM certificate's DER; throws input.malformed if it does not parse. */
export function certificateFingerprint(certPem: string): string {
  try {
    return toHex(sha256(new Uint8Array(new X509Certificate(certPem).raw)));
  } catch (e) {
    throw new EmbassyError('input.malformed', `tls certificate: does not parse: ${(e as Error).message}`);
  }
}

/** Node reports fingerprints as "AB:CD:…"; ours are lowercase hex without separators. */
export function normalizeFingerprint(f: string): string {
  return f.replace(/:/g, '').toLowerCase();
}

function selfSignedCertificate(name: string, privateKey: KeyObject, publicKey: KeyObject, now: Date): string {
  const serial = new Uint8Array(randomBytes(16));
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, no leading zero octet needed
  const dn = seq(set(seq(tlv(0x06, OID_CN), tlv(0x0c, new TextEncoder().encode(name)))));
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000); // an hour of clock skew
  const validity = seq(utcTime(notBefore), tlv(0x18, ascii('99991231235959Z'))); // RFC 5280 4.1.2.5: no expiry
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const san = seq(tlv(0x82, ascii(name)), tlv(0x87, new Uint8Array([127, 0, 0, 1])));
  const extensions = seq(
    seq(tlv(0x06, OID_BASIC_CONSTRAINTS), tlv(0x01, new Uint8Array([0xff])), tlv(0x04, seq())),
    seq(tlv(0x06, OID_KEY_USAGE), tlv(0x01, new Uint8Array([0xff])), tlv(0x04, tlv(0x03, new Uint8Array([0x07, 0x80])))),
    seq(tlv(0x06, OID_EXT_KEY_USAGE), tlv(0x04, seq(tlv(0x06, OID_SERVER_AUTH), tlv(0x06, OID_CLIENT_AUTH)))),
    seq(tlv(0x06, OID_SAN), tlv(0x04, san)),
  );
  const algorithm = seq(tlv(0x06, OID_ECDSA_SHA256));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, new Uint8Array([2]))), // version v3
    tlv(0x02, serial),
    algorithm,
    dn,
    validity,
    dn,
    spki,
    tlv(0xa3, extensions),
  );
  const signature = new Uint8Array(sign('sha256', tbs, privateKey)); // DER ECDSA-Sig-Value
  const der = seq(tbs, algorithm, tlv(0x03, concat(new Uint8Array([0]), signature)));
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else if (n < 0x100) len = [0x81, n];
  else if (n < 0x10000) len = [0x82, n >> 8, n & 0xff];
  else len = [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat(new Uint8Array([tag, ...len]), content);
}

function seq(...items: Uint8Array[]): Uint8Array {
  return tlv(0x30, concat(...items));
}

function set(...items: Uint8Array[]): Uint8Array {
  return tlv(0x31, concat(...items));
}

function utcTime(d: Date): Uint8Array {
  const p = (n: number): string => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return d.getUTCFullYear() >= 2050 ? tlv(0x18, ascii(`${d.getUTCFullYear()}${s.slice(2)}`)) : tlv(0x17, ascii(s));
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function oid(dotted: string): Uint8Array {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const bytes: number[] = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return new Uint8Array(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
