// Encrypted objects, format version 1 (DESIGN.md §5 "Objects and encryption"; docs/format.md):
//   stored  = header ‖ DAEAD(dek, payload, ad = header);  object id = SHA-256(stored)
//   header  = "DEO" ‖ 0x01 ‖ uint8 kind ‖ uint32be childCount ‖ childCount × 32-byte child id
//   payload = uint8 codec ‖ uint32be contentLength ‖ content ‖ zeros up to Padmé(5 + contentLength)
// Deterministic: the same (dek, kind, children, content, options) always gives the same bytes.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, utf8 } from '../format/bytes.ts';
import { createDeterministicAead, DAEAD_OVERHEAD, type DeterministicAead } from '../crypto/aead.ts';
import { sha256, SHA256_SIZE } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import { DEFAULT_ZSTD_LEVEL, zstdCompress, zstdDecompress } from './codec.ts';

export const OBJECT_MAGIC = 'DEO';
export const OBJECT_FORMAT_VERSION = 1;
export const OBJECT_ID_SIZE = SHA256_SIZE;
/** Magic, version, kind, childCount. */
export const OBJECT_HEADER_FIXED_SIZE = 9;
export const OBJECT_KIND_NODE = 1;
export const OBJECT_KIND_CHUNK = 2;
export const CODEC_RAW = 0;
export const CODEC_ZSTD = 1;
/** codec byte and contentLength. */
export const PAYLOAD_PREFIX_SIZE = 5;
/** Largest content, before and after compression: bounds the memory an object can ask for. */
export const MAX_CONTENT_SIZE = 64 * 1024 * 1024;
/** Smallest stored object with n children: header, then the sealed 5-byte empty payload. */
export const minStoredSize = (children: number): number =>
  OBJECT_HEADER_FIXED_SIZE + children * OBJECT_ID_SIZE + DAEAD_OVERHEAD + PAYLOAD_PREFIX_SIZE;
export { DEFAULT_ZSTD_LEVEL };

export type ObjectKind = 'node' | 'chunk';

export interface ObjectContents {
  kind: ObjectKind;
  /** Ids of the objects this one refers to, in order; duplicates allowed. Chunks have none. */
  children: readonly ObjectId[];
  content: Uint8Array;
}

export interface SealOptions {
  /** zstd level, default 3. Part of what determines the bytes: keep it fixed per dataset. */
  level?: number;
  /**
   * zstd dictionary (raw content or zstd format). Nothing in the object names it: the caller
   * must open with the same one. Pass the same Uint8Array every time (contexts are cached by it).
   */
  dictionary?: Uint8Array;
}

export interface OpenOptions {
  dictionary?: Uint8Array;
}

export interface ObjectHeader {
  kind: ObjectKind;
  children: ObjectId[];
  headerLength: number;
}

const MAGIC = utf8.encode(OBJECT_MAGIC);

function malformed(message: string): EmbassyError {
  return new EmbassyError('object.malformed', message);
}

/**
 * Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication with
 * PURBs", PETS 2019): rounds n up so that only O(log log n) bits of it remain, at most +12%.
 * The rounded length keeps the top floor(log2 E) + 1 bits of n, E = floor(log2 n).
 */
export function padmeLength(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new EmbassyError('input.malformed', `padme: expected a non-negative safe integer, got ${n}`);
  }
  if (n < 2) return n;
  const e = bitLength(n) - 1;
  const s = bitLength(e);
  const step = 2 ** (e - s);
  return Math.ceil(n / step) * step;
}

function bitLength(n: number): number {
  let bits = 0;
  for (let v = n; v >= 1; v = Math.floor(v / 2)) bits++;
  return bits;
}

function kindByte(kind: ObjectKind): number {
  if (kind === 'node') return OBJECT_KIND_NODE;
  if (kind === 'chunk') return OBJECT_KIND_CHUNK;
  throw new EmbassyError('input.malformed', `object: expected kind 'node' or 'chunk', got ${JSON.stringify(kind)}`);
}

function encodeHeader(kind: ObjectKind, children: readonly ObjectId[]): Uint8Array {
  const k = kindByte(kind);
  if (k === OBJECT_KIND_CHUNK && children.length > 0) {
    throw new EmbassyError('input.malformed', `object: a chunk has no children, got ${children.length}`);
  }
  const header = new Uint8Array(OBJECT_HEADER_FIXED_SIZE + children.length * OBJECT_ID_SIZE);
  header.set(MAGIC, 0);
  header[3] = OBJECT_FORMAT_VERSION;
  header[4] = k;
  new DataView(header.buffer).setUint32(5, children.length);
  children.forEach((c, i) => {
    if (c.length !== OBJECT_ID_SIZE) {
      throw new EmbassyError('input.malformed', `object: child ${i}: expected a 32-byte id, got ${c.length} bytes`);
    }
    header.set(c, OBJECT_HEADER_FIXED_SIZE + i * OBJECT_ID_SIZE);
  });
  return header;
}

/**
 * Encodes, compresses (when that shrinks the content), pads and encrypts one object. No code
 * path returns plaintext: the only output is the sealed bytes and their id.
 */
export function sealObject(
  dek: Uint8Array,
  object: ObjectContents,
  options?: SealOptions,
): { id: ObjectId; bytes: Uint8Array } {
  const aead = createDeterministicAead(dek);
  try {
    return sealObjectWith(aead, object, options);
  } finally {
    aead.wipe();
  }
}

/** sealObject under an AEAD context (createDeterministicAead(dek)), for many objects under one key. */
export function sealObjectWith(
  aead: DeterministicAead,
  object: ObjectContents,
  options?: SealOptions,
): { id: ObjectId; bytes: Uint8Array } {
  const { content } = object;
  if (content.length > MAX_CONTENT_SIZE) {
    throw new EmbassyError('input.too-large', `object: content is ${content.length} bytes, limit is ${MAX_CONTENT_SIZE}`);
  }
  const header = encodeHeader(object.kind, object.children);
  let codec = CODEC_RAW;
  let body = content;
  if (content.length > 0) {
    const z = zstdCompress(content, options?.level ?? DEFAULT_ZSTD_LEVEL, options?.dictionary);
    if (z.length < content.length) {
      codec = CODEC_ZSTD;
      body = z;
    }
  }
  const payload = new Uint8Array(padmeLength(PAYLOAD_PREFIX_SIZE + body.length)); // zero-filled
  payload[0] = codec;
  new DataView(payload.buffer).setUint32(1, body.length);
  payload.set(body, PAYLOAD_PREFIX_SIZE);
  const sealed = aead.seal(payload, header);
  payload.fill(0);
  const bytes = new Uint8Array(header.length + sealed.length);
  bytes.set(header, 0);
  bytes.set(sealed, header.length);
  return { id: sha256(bytes), bytes };
}

/**
 * Parses the plaintext header of stored object bytes, without a key: what a mirror uses to walk
 * a version's graph. Strict: magic, version, kind, and a child count that leaves room for at
 * least the smallest sealed payload. Chunks have no children.
 */
export function parseObjectHeader(bytes: Uint8Array): ObjectHeader {
  if (bytes.length < minStoredSize(0)) {
    throw malformed(`object: expected at least ${minStoredSize(0)} bytes, got ${bytes.length}`);
  }
  if (!bytesEqual(bytes.subarray(0, 3), MAGIC)) throw malformed('object: expected magic "DEO"');
  if (bytes[3] !== OBJECT_FORMAT_VERSION) throw malformed(`object: expected format version 1, got ${bytes[3]}`);
  const k = bytes[4];
  if (k !== OBJECT_KIND_NODE && k !== OBJECT_KIND_CHUNK) throw malformed(`object: expected kind 1 or 2, got ${k}`);
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5);
  if (k === OBJECT_KIND_CHUNK && count !== 0) throw malformed(`object: a chunk has no children, got ${count}`);
  const room = Math.floor((bytes.length - minStoredSize(0)) / OBJECT_ID_SIZE);
  if (count > room) throw malformed(`object: header lists ${count} children, room for ${room}`);
  const children: ObjectId[] = [];
  for (let i = 0; i < count; i++) {
    const at = OBJECT_HEADER_FIXED_SIZE + i * OBJECT_ID_SIZE;
    children.push(bytes.slice(at, at + OBJECT_ID_SIZE));
  }
  return {
    kind: k === OBJECT_KIND_NODE ? 'node' : 'chunk',
    children,
    headerLength: OBJECT_HEADER_FIXED_SIZE + count * OBJECT_ID_SIZE,
  };
}

/**
 * Checks the id (when given), the header, authenticity under `dek`, then the payload: known
 * codec, content within bounds, exact Padmé length, all-zero padding, one well-formed zstd frame.
 */
export function openObject(dek: Uint8Array, bytes: Uint8Array, expectedId?: ObjectId, options?: OpenOptions): ObjectContents {
  const aead = createDeterministicAead(dek);
  try {
    return openObjectWith(aead, bytes, expectedId, options);
  } finally {
    aead.wipe();
  }
}

/** openObject under an AEAD context (createDeterministicAead(dek)). */
export function openObjectWith(aead: DeterministicAead, bytes: Uint8Array, expectedId?: ObjectId, options?: OpenOptions): ObjectContents {
  if (expectedId !== undefined && !bytesEqual(sha256(bytes), expectedId)) {
    throw new EmbassyError('object.id-mismatch', 'object: bytes do not hash to the expected id');
  }
  const header = parseObjectHeader(bytes);
  const payload = aead.open(bytes.subarray(header.headerLength), bytes.subarray(0, header.headerLength));
  try {
    return { kind: header.kind, children: header.children, content: decodePayload(payload, options?.dictionary) };
  } finally {
    payload.fill(0);
  }
}

function decodePayload(payload: Uint8Array, dictionary: Uint8Array | undefined): Uint8Array {
  if (payload.length < PAYLOAD_PREFIX_SIZE) throw malformed(`object payload: expected at least 5 bytes, got ${payload.length}`);
  const codec = payload[0];
  const length = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(1);
  if (length > MAX_CONTENT_SIZE) throw malformed(`object payload: content length ${length} over the limit ${MAX_CONTENT_SIZE}`);
  const end = PAYLOAD_PREFIX_SIZE + length;
  if (end > payload.length) throw malformed(`object payload: content length ${length} overruns ${payload.length} bytes`);
  if (payload.length !== padmeLength(end)) {
    throw malformed(`object payload: expected padded length ${padmeLength(end)}, got ${payload.length}`);
  }
  for (let i = end; i < payload.length; i++) {
    if (payload[i] !== 0) throw malformed('object payload: padding is not all zeros');
  }
  const body = payload.subarray(PAYLOAD_PREFIX_SIZE, end);
  if (codec === CODEC_RAW) return body.slice();
  if (codec === CODEC_ZSTD) return zstdDecompress(body, MAX_CONTENT_SIZE, dictionary);
  throw malformed(`object payload: unknown codec ${codec}`);
}
