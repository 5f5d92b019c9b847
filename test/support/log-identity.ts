// A deterministic test log identity (never used outside tests).
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { ed25519NoteSigner, formatVerifierKey, parseVerifierKey } from '../../src/log/note.ts';
import type { LogIdentity } from '../../src/sitelog/writer.ts';

export function testIdentity(origin = 'test.example/log', seedByte = 1): LogIdentity {
  const seed = new Uint8Array(32).fill(seedByte);
  return {
    origin,
    signer: ed25519NoteSigner(origin, seed),
    verifier: parseVerifierKey(formatVerifierKey(origin, ed25519PublicKey(seed))),
  };
}

export function entry(i: number, pad = 0): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ type: 'test', i, pad: 'x'.repeat(pad) }));
}
