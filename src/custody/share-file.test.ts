// Share files: round trip, a wrong passphrase, a change to any member (or the ciphertext) refused
// as custody.passphrase, malformed files and a DoS-sized scrypt cost refused as input.malformed
// before any scrypt work, short passphrases refused at sealing. Tests use the lowest cost (14).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EmbassyError, type ErrorCode } from '../errors.ts';
import { splitSecret } from '../crypto/shamir.ts';
import { openShareFile, sealShareFile, SHARE_FILE_FORMAT, type ShareMeta } from './share-file.ts';
import { shareX } from './kek.ts';

const PASS = 'correct horse battery staple';

function isCode(code: ErrorCode, re?: RegExp) {
  return (e: unknown) => e instanceof EmbassyError && e.code === code && (!re || re.test(e.message));
}

async function sample(): Promise<{ meta: ShareMeta; share: Uint8Array; text: string }> {
  const [share] = await splitSecret(new Uint8Array(randomBytes(32)), 3, 2);
  const meta: ShareMeta = {
    home: 'data-embassy.example/den-haag',
    homeVerifierKey: 'data-embassy.example/den-haag+01234567+AQID',
    custodian: 'anna',
    x: shareX(share!),
    epoch: 1,
    threshold: 2,
    custodians: 3,
    kekFingerprint: 'ab'.repeat(16),
  };
  return { meta, share: share!, text: await sealShareFile(meta, share!, PASS, { logN: 14 }) };
}

describe('share file', () => {
  test('round trip: the meta and the share come back; the file holds no share bytes in the clear', async () => {
    const { meta, share, text } = await sample();
    const o = JSON.parse(text);
    assert.equal(o.format, SHARE_FILE_FORMAT);
    assert.deepEqual(o.kdf.name, 'scrypt');
    assert.equal(o.kdf.logN, 14);
    assert.ok(!text.includes(Buffer.from(share).toString('base64')));
    const opened = await openShareFile(text, PASS, 'anna.share');
    assert.deepEqual(opened.meta, meta);
    assert.deepEqual(opened.share, share);
    // NFC: the same passphrase typed in decomposed form opens it too.
    const { text: t2 } = await (async () => {
      const [s] = await splitSecret(new Uint8Array(randomBytes(32)), 2, 2);
      return { text: await sealShareFile({ ...meta, x: shareX(s!) }, s!, 'crème brûlée ok', { logN: 14 }) };
    })();
    await openShareFile(t2, 'cre\u0300me bru\u0302le\u0301e ok', 'x.share');
  });

  test('two sealings of one share differ (fresh salt and nonce)', async () => {
    const { meta, share, text } = await sample();
    const again = await sealShareFile(meta, share, PASS, { logN: 14 });
    assert.notEqual(JSON.parse(again).ciphertext, JSON.parse(text).ciphertext);
    assert.notEqual(JSON.parse(again).kdf.salt, JSON.parse(text).kdf.salt);
  });

  test('wrong passphrase → custody.passphrase naming the source and the custodian', async () => {
    const { text } = await sample();
    await assert.rejects(openShareFile(text, PASS + '!', 'shares/anna.share'), isCode('custody.passphrase', /shares\/anna\.share.*anna/));
  });

  describe('a changed member is refused as custody.passphrase', () => {
    const changes: [string, (o: Record<string, any>) => void][] = [
      ['home', (o) => (o.home = 'data-embassy.example/elsewhere')],
      ['homeVerifierKey', (o) => (o.homeVerifierKey += 'x')],
      ['custodian', (o) => (o.custodian = 'bram')],
      ['epoch', (o) => (o.epoch = 2)],
      ['threshold', (o) => (o.threshold = 3)],
      ['custodians', (o) => (o.custodians = 4)],
      ['kekFingerprint', (o) => (o.kekFingerprint = 'cd'.repeat(16))],
      ['kdf.salt', (o) => (o.kdf.salt = Buffer.from(randomBytes(16)).toString('base64'))],
      ['kdf.r', (o) => (o.kdf.r = 4)],
    ];
    for (const [name, change] of changes) {
      test(name, async () => {
        const { text } = await sample();
        const o = JSON.parse(text);
        change(o);
        await assert.rejects(openShareFile(JSON.stringify(o), PASS, 'anna.share'), isCode('custody.passphrase'));
      });
    }
    test('x (the share\'s own x is bound too)', async () => {
      const { text } = await sample();
      const o = JSON.parse(text);
      o.x = o.x === 255 ? 254 : o.x + 1;
      await assert.rejects(openShareFile(JSON.stringify(o), PASS, 'anna.share'), isCode('custody.passphrase'));
    });
    test('any byte of the ciphertext', async () => {
      const { text } = await sample();
      const o = JSON.parse(text);
      const ct = Buffer.from(o.ciphertext, 'base64');
      for (const at of [0, 11, 12, 30, ct.length - 1]) {
        const c = Buffer.from(ct);
        c[at]! ^= 0x01;
        await assert.rejects(openShareFile(JSON.stringify({ ...o, ciphertext: c.toString('base64') }), PASS, 'anna.share'), isCode('custody.passphrase'), `byte ${at}`);
      }
    });
  });

  describe('malformed files → input.malformed, before any scrypt work', () => {
    const spoils: [string, (o: Record<string, any>) => unknown][] = [
      ['kdf.logN 21 (DoS)', (o) => (o.kdf.logN = 21)],
      ['kdf.logN 40 (DoS)', (o) => (o.kdf.logN = 40)],
      ['kdf.logN 13', (o) => (o.kdf.logN = 13)],
      ['r too large for memory cap', (o) => { o.kdf.logN = 20; o.kdf.r = 16; }],
      ['p 5', (o) => (o.kdf.p = 5)],
      ['kdf name', (o) => (o.kdf.name = 'pbkdf2')],
      ['kdf member', (o) => (o.kdf.extra = 1)],
      ['format', (o) => (o.format = 'data-embassy/kek-share/v2')],
      ['unknown member', (o) => (o.note = 'hi')],
      ['custodian name', (o) => (o.custodian = 'Anna')],
      ['x 0', (o) => (o.x = 0)],
      ['threshold above custodians', (o) => (o.threshold = 9)],
      ['short ciphertext', (o) => (o.ciphertext = 'AAAA')],
      ['ciphertext not base64', (o) => (o.ciphertext = '!!')],
      ['missing salt', (o) => delete o.kdf.salt],
    ];
    for (const [name, spoil] of spoils) {
      test(name, async () => {
        const { text } = await sample();
        const o = JSON.parse(text);
        spoil(o);
        await assert.rejects(openShareFile(JSON.stringify(o), PASS, 'anna.share'), isCode('input.malformed', /anna\.share/));
      });
    }
    test('not JSON, not an object, duplicate members', async () => {
      await assert.rejects(openShareFile('{', PASS, 'a.share'), isCode('input.malformed'));
      await assert.rejects(openShareFile('[1]', PASS, 'a.share'), isCode('input.malformed'));
      const { text } = await sample();
      await assert.rejects(openShareFile(text.replace('"epoch": 1', '"epoch": 1, "epoch": 1'), PASS, 'a.share'), isCode('input.malformed'));
    });
  });

  test('sealing refuses a passphrase under 12 characters and a cost outside 14–20', async () => {
    const { meta, share } = await sample();
    await assert.rejects(sealShareFile(meta, share, 'short pass', { logN: 14 }), isCode('usage', /anna.*at least 12/));
    await assert.rejects(sealShareFile(meta, share, PASS, { logN: 13 }), isCode('usage'));
    await assert.rejects(sealShareFile(meta, share, PASS, { logN: 21 }), isCode('usage'));
  });
});
