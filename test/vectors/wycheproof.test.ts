// Project Wycheproof (C2SP/wycheproof dac1dd47) against our crypto core: AES-GCM, Ed25519 verify,
// HKDF-SHA-256. Format, counts and known Node exceptions are in shared/vectors/wycheproof/README.md.
// Every loop counts what it ran and compares with the README, so an empty or truncated file fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aes256GcmOpen, aes256GcmSeal } from '../../src/crypto/aead.ts';
import { ed25519Verify } from '../../src/crypto/ed25519.ts';
import { hkdfSha256 } from '../../src/crypto/hkdf.ts';
import { isEmbassyError } from '../../src/errors.ts';
import { concatBytes, fromHex, toHex } from '../../src/format/bytes.ts';

const VECTORS = fileURLToPath(new URL('../../../shared/vectors/wycheproof/', import.meta.url));
const skip = existsSync(VECTORS) ? false : `shared vectors absent at ${VECTORS}`;

interface Case {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'invalid' | 'acceptable';
  [field: string]: unknown;
}
interface File<G> {
  numberOfTests: number;
  testGroups: (G & { tests: Case[] })[];
}

function load<G>(name: string): File<G> {
  return JSON.parse(readFileSync(`${VECTORS}${name}`, 'utf8')) as File<G>;
}
function hex(c: Case, field: string): Uint8Array {
  const v = fromHex(c[field] as string);
  assert.ok(v, `tcId ${c.tcId}: field ${field} is not lowercase hex`);
  return v;
}
function countCases(f: File<unknown>): number {
  return f.testGroups.reduce((n, g) => n + g.tests.length, 0);
}

test('wycheproof aes_gcm_test.json', { skip }, () => {
  const f = load<{ keySize: number; ivSize: number; tagSize: number }>('aes_gcm_test.json');
  assert.equal(f.numberOfTests, 316);
  assert.equal(countCases(f), 316);
  const failures: string[] = [];
  let ours = 0;
  let viaNode = 0;
  let skipped = 0;
  for (const g of f.testGroups) {
    assert.equal(g.tagSize, 128);
    for (const c of g.tests) {
      // README: OpenSSL (hence node) cannot take IVs over 256 bytes; three valid cases are out of
      // reach. Select by length, not by the 'LongIv' flag, which also marks 15 IVs node does handle.
      if ((c.iv as string).length > 2 * 256) {
        assert.equal(c.result, 'valid');
        skipped++;
        continue;
      }
      const key = hex(c, 'key');
      const iv = hex(c, 'iv');
      const aad = hex(c, 'aad');
      const msg = hex(c, 'msg');
      const sealed = concatBytes(hex(c, 'ct'), hex(c, 'tag'));
      let ok: boolean;
      if (g.keySize === 256 && g.ivSize === 96) {
        // The parameters of our DAEAD: run them through our own wrapper.
        ours++;
        if (c.result === 'valid') {
          ok = toHex(aes256GcmSeal(key, iv, msg, aad)) === toHex(sealed) &&
            toHex(aes256GcmOpen(key, iv, sealed, aad)) === toHex(msg);
        } else {
          try {
            aes256GcmOpen(key, iv, sealed, aad);
            ok = false;
          } catch (e) {
            ok = isEmbassyError(e, 'crypto.auth-failed');
          }
        }
      } else {
        viaNode++;
        ok = nodeGcm(`aes-${g.keySize}-gcm` as CipherGCMTypes, key, iv, aad, msg, sealed) === (c.result === 'valid');
      }
      if (!ok) failures.push(`tcId ${c.tcId} (${c.result}, ${c.comment})`);
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(ours, 66, 'AES-256 with 96-bit IV, per README');
  assert.equal(skipped, 3);
  assert.equal(ours + viaNode + skipped, 316);
});

// True when node encrypts to exactly `sealed` and decrypts it back; false when either refuses.
function nodeGcm(
  alg: CipherGCMTypes,
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  msg: Uint8Array,
  sealed: Uint8Array,
): boolean {
  try {
    const tagAt = sealed.length - 16;
    const d = createDecipheriv(alg, key, iv, { authTagLength: 16 });
    d.setAuthTag(sealed.subarray(tagAt));
    d.setAAD(aad);
    const pt = concatBytes(d.update(sealed.subarray(0, tagAt)), d.final());
    const e = createCipheriv(alg, key, iv, { authTagLength: 16 });
    e.setAAD(aad);
    const ct = concatBytes(e.update(msg), e.final(), e.getAuthTag());
    return toHex(pt) === toHex(msg) && toHex(ct) === toHex(sealed);
  } catch {
    return false;
  }
}

test('wycheproof ed25519_test.json (verify)', { skip }, () => {
  const f = load<{ publicKey: { pk: string } }>('ed25519_test.json');
  assert.equal(f.numberOfTests, 151);
  const failures: string[] = [];
  let n = 0;
  for (const g of f.testGroups) {
    const pk = fromHex(g.publicKey.pk)!;
    for (const c of g.tests) {
      n++;
      const got = ed25519Verify(pk, hex(c, 'msg'), hex(c, 'sig'));
      if (got !== (c.result === 'valid')) failures.push(`tcId ${c.tcId} (${c.result}, ${c.comment})`);
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(n, 151);
});

test('wycheproof hkdf_sha256_test.json', { skip }, () => {
  const f = load<object>('hkdf_sha256_test.json');
  assert.equal(f.numberOfTests, 86);
  const failures: string[] = [];
  let valid = 0;
  let invalid = 0;
  for (const g of f.testGroups) {
    for (const c of g.tests) {
      const run = (): Uint8Array => hkdfSha256(hex(c, 'ikm'), hex(c, 'salt'), hex(c, 'info'), c.size as number);
      if (c.result === 'valid') {
        valid++;
        if (toHex(run()) !== c.okm) failures.push(`tcId ${c.tcId}`);
      } else {
        invalid++;
        // README: the invalid cases ask for more than 255 * 32 bytes.
        try {
          run();
          failures.push(`tcId ${c.tcId} accepted`);
        } catch (e) {
          if (!isEmbassyError(e, 'crypto.invalid-argument')) failures.push(`tcId ${c.tcId} threw ${String(e)}`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(valid, 83);
  assert.equal(invalid, 3);
});
