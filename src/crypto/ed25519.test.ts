import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.ts';

test('ed25519 sign/verify round trip and rejection of a flipped bit', () => {
  const seed = new Uint8Array(32).fill(7);
  const pub = ed25519PublicKey(seed);
  const msg = new TextEncoder().encode('hello');
  const sig = ed25519Sign(seed, msg);
  assert.equal(sig.length, 64);
  assert.ok(ed25519Verify(pub, msg, sig));
  const bad = sig.slice();
  bad[3]! ^= 1;
  assert.equal(ed25519Verify(pub, msg, bad), false);
  assert.equal(ed25519Verify(pub.subarray(1), msg, sig), false);
});
