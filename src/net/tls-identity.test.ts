// TLS identities: the hand-written self-signed certificate parses, names the site, verifies
// under its own key, and its fingerprint is the SHA-256 of its DER.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { certificateFingerprint, createTlsIdentity, normalizeFingerprint, openTlsIdentity } from './tls-identity.ts';
import { isEmbassyError } from '../errors.ts';

describe('createTlsIdentity', () => {
  const now = new Date('2026-11-28T12:00:00Z');
  const id = createTlsIdentity('den-haag', now);
  const cert = new X509Certificate(id.certPem);

  test('a self-signed v3 certificate for the site name and 127.0.0.1', () => {
    assert.equal(cert.subject, 'CN=den-haag');
    assert.equal(cert.issuer, 'CN=den-haag');
    assert.equal(cert.subjectAltName, 'DNS:den-haag, IP Address:127.0.0.1');
    assert.equal(cert.checkHost('den-haag'), 'den-haag');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(cert.verify(cert.publicKey));
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(new Date(cert.validFrom).getTime(), now.getTime() - 3600_000);
    assert.equal(new Date(cert.validTo).getUTCFullYear(), 9999);
    assert.ok(cert.checkPrivateKey(createPrivateKey(id.keyPem)));
  });

  test('fingerprint is lowercase hex SHA-256 of the DER and matches node', () => {
    assert.equal(id.fingerprint, createHash('sha256').update(cert.raw).digest('hex'));
    assert.equal(normalizeFingerprint(cert.fingerprint256), id.fingerprint);
    assert.equal(certificateFingerprint(id.certPem), id.fingerprint);
  });

  test('two identities differ (fresh key and serial)', () => {
    const other = createTlsIdentity('den-haag', now);
    assert.notEqual(other.fingerprint, id.fingerprint);
    assert.notEqual(new X509Certificate(other.certPem).serialNumber, cert.serialNumber);
  });

  test('openTlsIdentity refuses a key that is not the certificate’s', () => {
    const other = createTlsIdentity('den-haag', now);
    assert.equal(openTlsIdentity(id.keyPem, id.certPem).fingerprint, id.fingerprint);
    assert.throws(() => openTlsIdentity(other.keyPem, id.certPem), (e) => isEmbassyError(e, 'site.config'));
  });

  test('certificateFingerprint refuses junk with input.malformed', () => {
    assert.throws(() => certificateFingerprint('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), (e) => isEmbassyError(e, 'input.malformed'));
  });
});

