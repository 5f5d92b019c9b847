// SHA-256 (FIPS 180-4) in plain JavaScript for the short messages a record tree hashes by the
// million (33..200 bytes: leaf, pair, child-entry and record hashes, and HMAC of keys), where
// node:crypto spends ~1 µs per call crossing into OpenSSL and the compression itself is ~0.3 µs.
// Longer messages go to node:crypto (SHA-NI). Checked against node:crypto in sha256.test.ts.
// TODO(lead): candidate for src/crypto/ if other modules hash short messages in bulk.
import * as nodeCrypto from 'node:crypto';
import { sha256 } from '../crypto/hash.ts';

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** Messages up to this many bytes are hashed here; longer ones by node:crypto. */
export const SMALL_MESSAGE_LIMIT = 247; // four blocks with padding

const W = new Int32Array(64);
const state = new Int32Array(8);
const tail = new Uint8Array(128);

function compress(H: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let b1 = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b1) ^ (a & c) ^ (b1 & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b1;
    b1 = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b1) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/**
 * Finishes a hash whose state H has already absorbed `prefixLength` bytes (a multiple of 64):
 * absorbs `data`, pads, and returns the digest.
 */
function finish(H: Int32Array, data: Uint8Array, prefixLength: number): Uint8Array {
  const n = data.length;
  let off = 0;
  for (; n - off >= 64; off += 64) compress(H, data, off);
  const rest = n - off;
  const end = rest + 9 <= 64 ? 64 : 128;
  for (let i = 0; i < rest; i++) tail[i] = data[off + i]!;
  tail[rest] = 0x80;
  tail.fill(0, rest + 1, end - 8);
  const bits = (prefixLength + n) * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  tail[end - 8] = hi >>> 24;
  tail[end - 7] = hi >>> 16;
  tail[end - 6] = hi >>> 8;
  tail[end - 5] = hi;
  tail[end - 4] = lo >>> 24;
  tail[end - 3] = lo >>> 16;
  tail[end - 2] = lo >>> 8;
  tail[end - 1] = lo;
  compress(H, tail, 0);
  if (end === 128) compress(H, tail, 64);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = H[i]!;
    out[4 * i] = w >>> 24;
    out[4 * i + 1] = w >>> 16;
    out[4 * i + 2] = w >>> 8;
    out[4 * i + 3] = w;
  }
  return out;
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array;
const oneShot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

/** SHA-256 of one byte string, as a plain Uint8Array. */
export function sha256Fast(data: Uint8Array): Uint8Array {
  if (data.length <= SMALL_MESSAGE_LIMIT) {
    state.set(IV);
    return finish(state, data, 0);
  }
  if (oneShot === undefined) return sha256(data);
  const b = oneShot('sha256', data, 'buffer');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * HMAC-SHA-256 (RFC 2104) under one fixed key, with the inner and outer pad blocks absorbed once:
 * each message then costs its own blocks plus one, instead of four extra and an OpenSSL context.
 */
export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);

  constructor(key: Uint8Array) {
    const k = new Uint8Array(64);
    k.set(key.length > 64 ? sha256(key) : key);
    const pad = new Uint8Array(64);
    for (let i = 0; i < 64; i++) pad[i] = k[i]! ^ 0x36;
    this.inner.set(IV);
    compress(this.inner, pad, 0);
    for (let i = 0; i < 64; i++) pad[i] = k[i]! ^ 0x5c;
    this.outer.set(IV);
    compress(this.outer, pad, 0);
  }

  /** Zeroes the precomputed key state; the instance must not be used afterwards. */
  wipe(): void {
    this.inner.fill(0);
    this.outer.fill(0);
  }

  mac(message: Uint8Array): Uint8Array {
    state.set(this.inner);
    const inner = finish(state, message, 64);
    state.set(this.outer);
    return finish(state, inner, 64);
  }
}
