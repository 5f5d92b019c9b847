// Byte helpers used everywhere in the core: concatenation, comparison, hex and base64 at the
// edges. Pure; Uint8Array in, Uint8Array out (never Buffer in public signatures).
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';

export const utf8 = new TextEncoder();
/** Strict decoder: invalid UTF-8 throws instead of turning into U+FFFD. */
export const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Constant-time comparison for secrets and MACs; lengths are not secret. */
export function bytesEqualConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
/** Lowercase hex only; returns undefined for anything else. */
export function fromHex(s: string): Uint8Array | undefined {
  if (!HEX_RE.test(s)) return undefined;
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/**
 * Strict standard base64 with padding (RFC 4648 §4). Node's decoder silently skips junk, so we
 * validate first and also reject non-canonical trailing bits by re-encoding.
 */
export function fromBase64(s: string): Uint8Array | undefined {
  if (!B64_RE.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) return undefined;
  return new Uint8Array(b);
}

export function uint64BE(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}
