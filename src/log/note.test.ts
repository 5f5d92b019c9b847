import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { toBase64, toHex, utf8 } from '../format/bytes.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import {
  MAX_NOTE_SIGNATURES,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatSignatureLine,
  formatSignerKey,
  formatVerifierKey,
  isValidKeyName,
  keyId,
  openNote,
  parseNote,
  parseSignatureLine,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteSigner,
} from './note.ts';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEmbassyError(e, code), `expected ${code}, got ${String(e)}`);
    return true;
  });
}

const seed = (n: number) => new Uint8Array(32).fill(n);
const alice = ed25519NoteSigner('example.com/alice', seed(1));
const aliceV = ed25519NoteVerifier('example.com/alice', ed25519PublicKey(seed(1)));
const bob = ed25519NoteSigner('example.com/bob', seed(2));
const bobV = ed25519NoteVerifier('example.com/bob', ed25519PublicKey(seed(2)));
const TEXT = 'hello\nworld\n';

const sigLine = (signer: NoteSigner, text: string) => signNote(text, [signer]).slice(text.length + 1);

describe('keys', () => {
  test('key id is SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4] and depends on the type', () => {
    const pub = ed25519PublicKey(seed(1));
    const id1 = keyId('example.com/alice', SIGNATURE_TYPE_ED25519, pub);
    const id4 = keyId('example.com/alice', SIGNATURE_TYPE_COSIGNATURE_V1, pub);
    assert.equal(id1.length, 4);
    assert.notDeepEqual(id1, id4);
    assert.deepEqual(alice.keyId, id1);
  });

  test('signer key round trip', () => {
    const skey = formatSignerKey('example.com/alice', seed(1));
    assert.match(skey, /^PRIVATE\+KEY\+example\.com\/alice\+[0-9a-f]{8}\+/);
    const parsed = parseSignerKey(skey);
    assert.equal(parsed.name, 'example.com/alice');
    assert.deepEqual(parsed.seed, seed(1));
    assert.deepEqual(parsed.keyId, alice.keyId);
  });

  test('verifier key round trip for both types', () => {
    const pub = ed25519PublicKey(seed(1));
    for (const type of [SIGNATURE_TYPE_ED25519, SIGNATURE_TYPE_COSIGNATURE_V1]) {
      const vkey = formatVerifierKey('example.com/alice', pub, type);
      const v = parseVerifierKey(vkey);
      assert.equal(v.type, type);
      assert.deepEqual(v.publicKey, pub);
      assert.deepEqual(v.keyId, keyId('example.com/alice', type, pub));
      assert.equal(formatVerifierKey(v.name, v.publicKey, v.type), vkey);
    }
  });

  test('key id hex is read in either case, as Go does', () => {
    const vkey = formatVerifierKey('example.com/alice', ed25519PublicKey(seed(1)));
    const [name, id, key] = [vkey.split('+')[0], vkey.split('+')[1]!, vkey.slice(vkey.indexOf('+', vkey.indexOf('+') + 1) + 1)];
    assert.equal(parseVerifierKey(`${name}+${id.toUpperCase()}+${key}`).name, name);
  });

  test('names: spaces as Go counts them, plus, empty', () => {
    for (const bad of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b', 'a\u0085b', 'a\u2003b', 'a\u3000b', 'a\ud800b']) {
      assert.equal(isValidKeyName(bad), false, JSON.stringify(bad));
    }
    // U+FEFF and U+200B are not spaces to Go (JavaScript's \s disagrees on U+FEFF).
    for (const good of ['example.com/log', 'a\ufeffb', 'a\u200bb', 'ünïcødé', '😀']) assert.equal(isValidKeyName(good), true);
  });
});

describe('malformed signer keys', () => {
  const good = formatSignerKey('example.com/alice', seed(1));
  const parts = good.split('+');
  const cases: Record<string, string> = {
    'not PRIVATE': good.replace('PRIVATE', 'PUBLIC'),
    'not KEY': good.replace('+KEY+', '+KEX+'),
    'bad name': `PRIVATE+KEY+a b+${parts[3]}+${parts.slice(4).join('+')}`,
    'short id': `PRIVATE+KEY+example.com/alice+${parts[3]!.slice(1)}+${parts.slice(4).join('+')}`,
    'wrong id': `PRIVATE+KEY+example.com/alice+00000000+${parts.slice(4).join('+')}`,
    'bad base64': `${good}!`,
    'wrong type': `PRIVATE+KEY+example.com/alice+${parts[3]}+${toBase64(Uint8Array.of(4, ...seed(1)))}`,
    'short seed': `PRIVATE+KEY+example.com/alice+${parts[3]}+${toBase64(Uint8Array.of(1, ...seed(1).subarray(1)))}`,
    'missing key': 'PRIVATE+KEY+example.com/alice+00000000',
    empty: '',
  };
  for (const [why, skey] of Object.entries(cases)) {
    test(why, () => throwsCode(() => parseSignerKey(skey), 'key.malformed'));
  }
  test('the message never contains the key', () => {
    const bad = good.replace(/.$/, '!');
    assert.throws(() => parseSignerKey(bad), (e: unknown) => e instanceof Error && !e.message.includes(parts.slice(4).join('+').slice(4)));
  });
  test('formatting rejects a bad name or seed', () => {
    throwsCode(() => formatSignerKey('a b', seed(1)), 'key.malformed');
    throwsCode(() => formatSignerKey('a', seed(1).subarray(1)), 'key.malformed');
  });
});

describe('malformed verifier keys', () => {
  const pub = ed25519PublicKey(seed(1));
  const good = formatVerifierKey('example.com/alice', pub);
  const id = good.split('+')[1]!;
  const cases: Record<string, string> = {
    'one part': 'example.com/alice',
    'two parts': `example.com/alice+${id}`,
    'bad name': `a b+${id}+${toBase64(Uint8Array.of(1, ...pub))}`,
    'id not hex': `example.com/alice+zzzzzzzz+${toBase64(Uint8Array.of(1, ...pub))}`,
    'id wrong length': `example.com/alice+${id}0+${toBase64(Uint8Array.of(1, ...pub))}`,
    'id mismatch': `example.com/alice+00000000+${toBase64(Uint8Array.of(1, ...pub))}`,
    'unknown type (id adjusted)': `example.com/alice+${toHex(keyId('example.com/alice', 2, pub))}+${toBase64(Uint8Array.of(2, ...pub))}`,
    'short key (id adjusted)': `example.com/alice+${toHex(keyId('example.com/alice', 1, pub.subarray(1)))}+${toBase64(Uint8Array.of(1, ...pub.subarray(1)))}`,
    'empty key': `example.com/alice+${id}+`,
    'bad base64': `example.com/alice+${id}+!!!!`,
  };
  for (const [why, vkey] of Object.entries(cases)) {
    test(why, () => throwsCode(() => parseVerifierKey(vkey), 'key.malformed'));
  }
  test('formatting rejects an unknown type or wrong key length', () => {
    throwsCode(() => formatVerifierKey('a', pub, 2), 'key.malformed');
    throwsCode(() => formatVerifierKey('a', pub.subarray(1)), 'key.malformed');
  });
});

describe('sign and open', () => {
  test('round trip with one signer', () => {
    const note = signNote(TEXT, [alice]);
    assert.ok(note.startsWith(TEXT + '\n— example.com/alice '));
    const opened = openNote(note, [aliceV]);
    assert.equal(opened.text, TEXT);
    assert.equal(opened.verified.length, 1);
    assert.equal(opened.verified[0]!.signature.length, 64);
    assert.deepEqual(opened.unverified, []);
    assert.deepEqual(openNote(utf8.encode(note), [aliceV]), opened);
  });

  test('unknown signatures are kept, not errors; order is note order', () => {
    const note = signNote(TEXT, [bob, alice]);
    const opened = openNote(note, [aliceV]);
    assert.deepEqual(opened.verified.map((s) => s.name), ['example.com/alice']);
    assert.deepEqual(opened.unverified.map((s) => s.name), ['example.com/bob']);
    assert.deepEqual(openNote(note, [aliceV, bobV]).verified.map((s) => s.name), ['example.com/bob', 'example.com/alice']);
  });

  test('text may contain blank lines: the signatures follow the last one', () => {
    const text = 'a\n\nb\n\n\nc\n';
    const opened = openNote(signNote(text, [alice]), [aliceV]);
    assert.equal(opened.text, text);
    assert.equal(openNote(signNote('\n', [alice]), [aliceV]).text, '\n');
  });

  test('a known key whose signature fails rejects the note', () => {
    const note = signNote(TEXT, [alice]).replace('hello', 'jello');
    throwsCode(() => openNote(note, [aliceV]), 'note.bad-signature');
  });

  test('nothing known verified', () => {
    throwsCode(() => openNote(signNote(TEXT, [alice]), []), 'note.unverified');
    throwsCode(() => openNote(signNote(TEXT, [alice]), [bobV]), 'note.unverified');
  });

  test('same name, different key id is an unknown key (and vice versa)', () => {
    const impostor = ed25519NoteSigner('example.com/alice', seed(9));
    const opened = openNote(signNote(TEXT, [impostor, alice]), [aliceV]);
    assert.equal(opened.verified.length, 1);
    assert.equal(opened.unverified.length, 1);
  });

  test('repeated lines: a known key is checked once, identical unknown lines kept once', () => {
    const a = sigLine(alice, TEXT);
    const b = sigLine(bob, TEXT);
    const opened = openNote(TEXT + '\n' + a + a + b + b, [aliceV]);
    assert.equal(opened.verified.length, 1);
    assert.equal(opened.unverified.length, 1);
  });

  test('a later corrupted line by an already verified key is skipped, as in Go', () => {
    const a = sigLine(alice, TEXT);
    const corrupt = a.replace(/— (\S+) (.{10})/, (_m, n: string, p: string) => `— ${n} ${p.slice(0, 9)}${p[9] === 'A' ? 'B' : 'A'}`);
    assert.notEqual(corrupt, a);
    assert.equal(openNote(TEXT + '\n' + a + corrupt, [aliceV]).verified.length, 1);
    throwsCode(() => openNote(TEXT + '\n' + corrupt + a, [aliceV]), 'note.bad-signature');
  });

  test('signature limits: 16 distinct and 100 lines accepted, 101 lines rejected', () => {
    const signers = Array.from({ length: 16 }, (_, i) => ed25519NoteSigner(`w${i}`, seed(i + 10)));
    const verifiers = signers.map((s, i) => ed25519NoteVerifier(s.name, ed25519PublicKey(seed(i + 10))));
    assert.equal(openNote(signNote(TEXT, signers), verifiers).verified.length, 16);
    const a = sigLine(alice, TEXT);
    assert.equal(openNote(TEXT + '\n' + a.repeat(MAX_NOTE_SIGNATURES), [aliceV]).verified.length, 1);
    throwsCode(() => openNote(TEXT + '\n' + a.repeat(MAX_NOTE_SIGNATURES + 1), [aliceV]), 'note.malformed');
  });

  test('the same verifier passed twice is fine; two different verifiers for one key id are refused', () => {
    const note = signNote(TEXT, [alice]);
    assert.equal(openNote(note, [aliceV, aliceV]).verified.length, 1);
    const twin = { ...aliceV, verify: () => true };
    throwsCode(() => openNote(note, [aliceV, twin]), 'key.malformed');
  });

  test('a verifier that throws counts as a failed signature', () => {
    const boom = { ...aliceV, verify: (): boolean => { throw new Error('boom'); } };
    throwsCode(() => openNote(signNote(TEXT, [alice]), [boom]), 'note.bad-signature');
  });

  test('non-canonical base64 (non-zero trailing bits): known key rejected, unknown key kept', () => {
    // 68 bytes → base64 ends in "X=" whose last character carries 2 unused bits.
    const canon = sigLine(alice, TEXT);
    const b64 = canon.slice(canon.lastIndexOf(' ') + 1, -1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(b64[b64.length - 2]!);
    const tweaked = b64.slice(0, -2) + alphabet[last ^ 1] + '=';
    const note = `${TEXT}\n— example.com/alice ${tweaked}\n`;
    assert.deepEqual(parseNote(note).signatures[0]!.signature, parseNote(TEXT + '\n' + canon).signatures[0]!.signature);
    throwsCode(() => openNote(note, [aliceV]), 'note.bad-signature');
    const both = `${TEXT}\n— example.com/alice ${tweaked}\n${sigLine(bob, TEXT)}`;
    assert.equal(openNote(both, [bobV]).unverified.length, 1);
  });

  test('signature line helpers round trip', () => {
    const sig = { name: 'example.com/alice', keyId: alice.keyId, signature: Uint8Array.of(1, 2, 3) };
    const line = formatSignatureLine(sig);
    assert.ok(line.endsWith('\n'));
    assert.deepEqual(parseSignatureLine(line.slice(0, -1)), sig);
  });
});

describe('malformed notes: text', () => {
  test('sign: text without final newline', () => throwsCode(() => signNote('abc', [alice]), 'note.malformed'));
  test('sign: control character', () => throwsCode(() => signNote('a\tb\n', [alice]), 'note.malformed'));
  test('sign: lone surrogate', () => throwsCode(() => signNote('a\ud800\n', [alice]), 'note.malformed'));
  test('sign: no signers', () => throwsCode(() => signNote(TEXT, []), 'note.malformed'));
  test('sign: bad signer name', () => throwsCode(() => signNote(TEXT, [{ ...alice, name: 'a b' }]), 'key.malformed'));
  test('open: control character (string and bytes)', () => {
    const note = signNote(TEXT, [alice]);
    throwsCode(() => openNote('\r' + note, [aliceV]), 'note.malformed');
    throwsCode(() => openNote(utf8.encode(note.replace('hello', 'hel\u0000lo')), [aliceV]), 'note.malformed');
  });
  test('open: invalid utf-8 bytes', () => {
    const bytes = utf8.encode(signNote(TEXT, [alice]));
    const bad = Uint8Array.of(0xff, ...bytes);
    throwsCode(() => openNote(bad, [aliceV]), 'note.malformed');
    const overlong = Uint8Array.of(0xc0, 0xaf, ...bytes);
    throwsCode(() => openNote(overlong, [aliceV]), 'note.malformed');
  });
  test('open: lone surrogate in a string', () => throwsCode(() => openNote('\udc00' + signNote(TEXT, [alice]), [aliceV]), 'note.malformed'));
  test('open: not a string or bytes', () => throwsCode(() => openNote(42 as unknown as string, [aliceV]), 'note.malformed'));
});

describe('malformed notes: blank line and signature block', () => {
  const a = () => sigLine(alice, TEXT);
  const cases: Record<string, () => string> = {
    'no blank line': () => TEXT,
    'blank line but no signatures': () => TEXT + '\n',
    'signature block without final newline': () => TEXT + '\n' + a().slice(0, -1),
    'line without the em dash prefix': () => TEXT + '\n' + a() + 'Unexpected line.\n',
    'hyphen instead of em dash': () => TEXT + '\n' + a().replace('—', '-'),
    'no space after the dash': () => TEXT + '\n' + a().replace('— ', '—'),
    'name with a space': () => TEXT + '\n' + a().replace('example.com/alice', 'Bad Name'),
    'empty name': () => TEXT + '\n' + a().replace('example.com/alice', ''),
    'no signature': () => `${TEXT}\n— example.com/alice\n`,
    'empty signature': () => `${TEXT}\n— example.com/alice \n`,
    'signature not base64': () => `${TEXT}\n— example.com/alice !!!!\n`,
    'signature without padding': () => `${TEXT}\n— example.com/alice ${toBase64(new Uint8Array(8)).replace(/=+$/, '')}\n`,
    'signature of 4 bytes (key id only)': () => `${TEXT}\n— example.com/alice ${toBase64(alice.keyId)}\n`,
    'trailing blank line after the signatures': () => TEXT + '\n' + a() + '\n',
  };
  for (const [why, note] of Object.entries(cases)) {
    test(why, () => {
      throwsCode(() => openNote(note(), [aliceV]), 'note.malformed');
      throwsCode(() => parseNote(note()), 'note.malformed');
    });
  }
});

describe('properties', () => {
  const line = fc
    .string({ unit: 'binary', maxLength: 40 })
    .map((s) => s.replace(/[\u0000-\u001f]/g, '?'));
  const noteText = fc.array(line, { minLength: 1, maxLength: 6 }).map((ls) => ls.join('\n') + '\n');

  test('a signed note opens to its text; any single flipped byte makes it fail (one signer)', () => {
    fc.assert(
      fc.property(noteText, fc.nat(), fc.integer({ min: 1, max: 255 }), (text, at, mask) => {
        const note = utf8.encode(signNote(text, [alice]));
        assert.equal(openNote(note, [aliceV]).text, text);
        const bad = note.slice();
        bad[at % bad.length]! ^= mask;
        assert.throws(() => openNote(bad, [aliceV]), (e: unknown) => isEmbassyError(e));
      }),
      { numRuns: 300 },
    );
  });

  test('with several signers, a flipped byte fails the note or drops a verified signature', () => {
    fc.assert(
      fc.property(noteText, fc.nat(), fc.integer({ min: 1, max: 255 }), (text, at, mask) => {
        const note = utf8.encode(signNote(text, [alice, bob]));
        const bad = note.slice();
        bad[at % bad.length]! ^= mask;
        try {
          const opened = openNote(bad, [aliceV, bobV]);
          assert.ok(opened.verified.length < 2, 'a flipped byte left both signatures verified');
          assert.equal(opened.text, text);
        } catch (e) {
          assert.ok(isEmbassyError(e), String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});
