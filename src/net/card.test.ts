// Site cards: made by a real site, self-authenticating, refused for every malformed member
// (asserting the code), and the haversine distance used by placement policies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { initSite, Site } from '../site/site.ts';
import { isEmbassyError } from '../errors.ts';
import { canonicalJson } from '../format/canonical-json.ts';
import { formatSiteCard, parseSiteCard, signSiteCard, type SiteCard } from './card.ts';
import { addPeerCard, loadPeers, makeOwnCard } from './peers.ts';
import { haversineKm } from './geo.ts';
import { tempDir } from '../../test/support/tmp.ts';

async function twoSites(t: import('node:test').TestContext) {
  const tmp = tempDir(t);
  await initSite(join(tmp, 'home'), { name: 'den-haag', role: 'home' });
  await initSite(join(tmp, 'mirror'), { name: 'groningen', role: 'mirror' });
  const home = await Site.open(join(tmp, 'home'));
  const mirror = await Site.open(join(tmp, 'mirror'));
  const card = await makeOwnCard(home, { url: 'https://den-haag.example:8443', location: { lat: 52.08, lon: 4.31 }, jurisdiction: 'NL', riskTags: ['grid-nl', 'flood', 'flood'] });
  return { tmp, home, mirror, card };
}

function tamper(card: SiteCard, change: (c: Record<string, unknown>) => void): string {
  const c = JSON.parse(JSON.stringify(card)) as Record<string, unknown>;
  change(c);
  return JSON.stringify(c);
}

describe('site card', () => {
  test('made by a site, parses back byte for byte, tags sorted and unique', async (t) => {
    const { card, home } = await twoSites(t);
    assert.deepEqual(card.riskTags, ['flood', 'grid-nl']);
    assert.equal(card.logVerifierKey, home.config.logVerifierKey);
    assert.equal(card.tlsFingerprint, (await home.readTlsIdentity()).fingerprint);
    const text = formatSiteCard(card);
    assert.equal(text, canonicalJson(card) + '\n');
    assert.deepEqual(parseSiteCard(text), card);
    assert.equal(formatSiteCard(parseSiteCard(text)), text);
  });

  test('any change to a signed member breaks the signature', async (t) => {
    const { card } = await twoSites(t);
    for (const change of [
      (c: Record<string, unknown>) => (c.url = 'https://evil.example:8443'),
      (c: Record<string, unknown>) => (c.jurisdiction = 'LU'),
      (c: Record<string, unknown>) => (c.location = { lat: 49.6, lon: 6.1 }),
      (c: Record<string, unknown>) => (c.riskTags = ['flood']),
      (c: Record<string, unknown>) => (c.role = 'mirror'),
    ]) {
      assert.throws(() => parseSiteCard(tamper(card, change)), (e) => isEmbassyError(e, 'note.bad-signature'));
    }
  });

  test('a card re-signed by another key for the same origin fails against the named key', async (t) => {
    const { card, mirror } = await twoSites(t);
    const id = await mirror.logIdentity();
    const { signature: _s, ...unsigned } = card;
    // Signing with the wrong key is caught at signing time already.
    assert.throws(() => signSiteCard(unsigned, (m) => id.signer.sign(m)), (e) => isEmbassyError(e, 'note.bad-signature'));
  });

  describe('malformed members are input.malformed', () => {
    const cases: [string, (c: Record<string, unknown>) => void][] = [
      ['unknown member', (c) => (c.extra = 1)],
      ['missing member', (c) => delete c.origin],
      ['format', (c) => (c.format = 'data-embassy/site-card/v2')],
      ['name', (c) => (c.name = 'Den Haag')],
      ['role', (c) => (c.role = 'client')],
      ['http url', (c) => (c.url = 'http://den-haag.example:8443')],
      ['url with path', (c) => (c.url = 'https://den-haag.example:8443/x')],
      ['url with credentials', (c) => (c.url = 'https://u:p@den-haag.example')],
      ['lat out of range', (c) => (c.location = { lat: 91, lon: 0 })],
      ['lon out of range', (c) => (c.location = { lat: 0, lon: -181 })],
      ['location extra member', (c) => (c.location = { lat: 0, lon: 0, alt: 1 })],
      ['jurisdiction', (c) => (c.jurisdiction = 'nl')],
      ['risk tag', (c) => (c.riskTags = ['Flood'])],
      ['unsorted tags', (c) => (c.riskTags = ['grid-nl', 'flood'])],
      ['fingerprint mismatch', (c) => (c.tlsFingerprint = '00'.repeat(32))],
      ['certificate junk', (c) => (c.tlsCertificate = 'not a certificate')],
      ['log key', (c) => (c.logVerifierKey = 'nonsense')],
      ['log key named otherwise', (c) => (c.origin = 'other.example/log')],
      ['cosign key as log key', (c) => (c.logVerifierKey = c.cosignVerifierKey)],
      ['signature not base64', (c) => (c.signature = '!!')],
      ['signature missing', (c) => delete c.signature],
    ];
    for (const [name, change] of cases) {
      test(name, async (t) => {
        const { card } = await twoSites(t);
        assert.throws(() => parseSiteCard(tamper(card, change)), (e) => isEmbassyError(e, 'input.malformed'), name);
      });
    }
    test('not JSON, not an object, duplicate member', () => {
      for (const text of ['{', '[]', '{"a":1,"a":2}']) assert.throws(() => parseSiteCard(text), (e) => isEmbassyError(e, 'input.malformed'));
    });
    test('too large', () => {
      assert.throws(() => parseSiteCard(' '.repeat(20000)), (e) => isEmbassyError(e, 'input.too-large'));
    });
  });
});

describe('peers', () => {
  test('add, unchanged, refuse a different card unless replace, look up by fingerprint', async (t) => {
    const { home, mirror, card } = await twoSites(t);
    assert.equal(await addPeerCard(mirror, card), 'added');
    assert.equal(await addPeerCard(mirror, parseSiteCard(formatSiteCard(card))), 'unchanged');
    const moved = await makeOwnCard(home, { url: 'https://den-haag.example:9443' });
    await assert.rejects(addPeerCard(mirror, moved), (e) => isEmbassyError(e, 'site.exists'));
    assert.equal(await addPeerCard(mirror, moved, { replace: true }), 'replaced');
    const peers = await loadPeers(mirror);
    assert.equal(peers.byName('den-haag')?.url, 'https://den-haag.example:9443');
    assert.equal(peers.byFingerprint(card.tlsFingerprint)?.name, 'den-haag');
    assert.equal(peers.byFingerprint('00'.repeat(32)), undefined);
    await assert.rejects(addPeerCard(home, moved), (e) => isEmbassyError(e, 'usage'));
  });

  test('a stored card under the wrong file name or tampered is a site.config error', async (t) => {
    const { mirror, card } = await twoSites(t);
    await mkdir(mirror.peersDir(), { recursive: true });
    await writeFile(join(mirror.peersDir(), 'luxembourg.json'), formatSiteCard(card));
    await assert.rejects(loadPeers(mirror), (e) => isEmbassyError(e, 'site.config'));
    await writeFile(join(mirror.peersDir(), 'luxembourg.json'), tamper(card, (c) => (c.url = 'https://x.example')));
    await assert.rejects(loadPeers(mirror), (e) => isEmbassyError(e, 'site.config'));
  });

  test('a site made without a TLS identity gets one on first use, and keeps it', async (t) => {
    const { home } = await twoSites(t);
    const { rm } = await import('node:fs/promises');
    await rm(join(home.dir, 'tls.crt'));
    await assert.rejects(home.readTlsIdentity(), (e) => isEmbassyError(e, 'site.config'));
    await rm(join(home.dir, 'keys', 'tls.key'));
    const a = await home.readTlsIdentity();
    const b = await home.readTlsIdentity();
    assert.equal(a.fingerprint, b.fingerprint);
  });
});

describe('haversineKm', () => {
  test('known distances', () => {
    const london = { lat: 51.5074, lon: -0.1278 };
    const paris = { lat: 48.8566, lon: 2.3522 };
    assert.ok(Math.abs(haversineKm(london, paris) - 343.6) < 1, String(haversineKm(london, paris)));
    assert.equal(haversineKm(paris, paris), 0);
    assert.ok(Math.abs(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 }) - Math.PI * 6371.0088) < 1e-6);
    const denHaag = { lat: 52.0705, lon: 4.3007 };
    const luxembourg = { lat: 49.6116, lon: 6.1319 };
    const d = haversineKm(denHaag, luxembourg);
    assert.ok(d > 295 && d < 310, String(d)); // "about 300 km" in DESIGN.md §2
    assert.equal(haversineKm(denHaag, luxembourg), haversineKm(luxembourg, denHaag));
  });
});
