// Compression of object contents with Zstandard (RFC 8878) through zstd-napi, with a strict
// check of the frame before it is decompressed: exactly one frame, its content size declared in
// the header and within the caller's bound, no trailing bytes. Compressor and decompressor
// contexts are expensive to create, so they are cached per (dictionary, level).
import { Compressor, Decompressor } from 'zstd-napi';
import { EmbassyError } from '../errors.ts';

export const DEFAULT_ZSTD_LEVEL = 3;

const NO_DICTIONARY = new Uint8Array(0);
const compressors = new WeakMap<Uint8Array, Map<number, Compressor>>();
const decompressors = new WeakMap<Uint8Array, Decompressor>();

function compressorFor(level: number, dictionary: Uint8Array): Compressor {
  let byLevel = compressors.get(dictionary);
  if (byLevel === undefined) {
    byLevel = new Map();
    compressors.set(dictionary, byLevel);
  }
  let c = byLevel.get(level);
  if (c === undefined) {
    c = new Compressor();
    // Parameters first: zstd refuses parameter changes once a dictionary is loaded. The frame
    // carries its content size (decompression is bounded by it), no dictionary id (the object
    // records nothing about the dictionary; the caller keeps track of which one it used), and a
    // content checksum: without it, opening with the wrong dictionary can silently give wrong
    // content, since the AEAD authenticates the compressed bytes, not what they expand to.
    c.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: true, dictIDFlag: false });
    if (dictionary.length > 0) c.loadDictionary(dictionary);
    byLevel.set(level, c);
  }
  return c;
}

function decompressorFor(dictionary: Uint8Array): Decompressor {
  let d = decompressors.get(dictionary);
  if (d === undefined) {
    d = new Decompressor();
    if (dictionary.length > 0) d.loadDictionary(dictionary);
    decompressors.set(dictionary, d);
  }
  return d;
}

/**
 * One zstd frame of `content`. Deterministic for a given zstd library version, level and
 * dictionary. A dictionary is cached by identity: pass the same Uint8Array each time and never
 * mutate it afterwards.
 */
export function zstdCompress(content: Uint8Array, level = DEFAULT_ZSTD_LEVEL, dictionary?: Uint8Array): Uint8Array {
  if (!Number.isInteger(level) || level < -7 || level > 22) {
    throw new EmbassyError('input.malformed', `zstd: expected a compression level from -7 to 22, got ${level}`);
  }
  const out = compressorFor(level, dictionary ?? NO_DICTIONARY).compress(content);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Decompresses exactly one zstd frame whose header declares a content size of at most
 * `maxSize` and a content checksum; anything else (several frames, skippable frames, trailing
 * bytes, an undeclared or too large size, a corrupt block, a wrong dictionary) is
 * 'object.malformed'.
 */
export function zstdDecompress(frame: Uint8Array, maxSize: number, dictionary?: Uint8Array): Uint8Array {
  const size = checkSingleFrame(frame, maxSize);
  let out: Uint8Array;
  try {
    out = decompressorFor(dictionary ?? NO_DICTIONARY).decompress(frame);
  } catch (e) {
    throw new EmbassyError('object.malformed', `zstd: cannot decompress: ${(e as Error).message}`, { cause: e });
  }
  if (out.length !== size) {
    throw new EmbassyError('object.malformed', `zstd: frame declares ${size} bytes, produced ${out.length}`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

const ZSTD_MAGIC = 0xfd2fb528;
const DID_SIZES = [0, 1, 2, 4] as const;
const FCS_SIZES = [0, 2, 4, 8] as const;

function malformed(what: string): EmbassyError {
  return new EmbassyError('object.malformed', `zstd frame: ${what}`);
}

/**
 * Walks the frame header and block headers (RFC 8878 §3.1.1) without decompressing, so that the
 * decompressor never allocates more than `maxSize` bytes nor reads a second frame. Returns the
 * declared content size.
 */
export function checkSingleFrame(frame: Uint8Array, maxSize: number): number {
  // An object's frame always carries a content checksum (see compressorFor): it is what catches
  // a wrong dictionary, so a frame without one is not ours.
  const n = frame.length;
  const byte = (i: number): number => {
    if (i >= n) throw malformed('truncated');
    return frame[i]!;
  };
  const le = (at: number, len: number): number => {
    let v = 0;
    for (let i = len - 1; i >= 0; i--) v = v * 256 + byte(at + i);
    return v;
  };
  if (le(0, 4) !== ZSTD_MAGIC) throw malformed('expected the zstd magic number');
  const fhd = byte(4);
  if ((fhd & 0x08) !== 0) throw malformed('reserved header bit set');
  if ((fhd & 0x04) === 0) throw malformed('no content checksum');
  const singleSegment = (fhd & 0x20) !== 0;
  const fcsFlag = fhd >> 6;
  let p = 5 + (singleSegment ? 0 : 1) + DID_SIZES[fhd & 0x03]!;
  const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : FCS_SIZES[fcsFlag]!;
  if (fcsSize === 0) throw malformed('content size not declared');
  let size = le(p, fcsSize);
  if (fcsSize === 2) size += 256;
  p += fcsSize;
  if (size > maxSize) throw malformed(`declares ${size} bytes, limit is ${maxSize}`);
  for (;;) {
    const header = le(p, 3);
    p += 3;
    const last = (header & 1) === 1;
    const type = (header >> 1) & 3;
    const blockSize = header >>> 3;
    if (type === 3) throw malformed('reserved block type');
    p += type === 1 ? 1 : blockSize;
    if (p > n) throw malformed('truncated');
    if (last) break;
  }
  p += 4; // content checksum
  if (p !== n) throw malformed(p > n ? 'truncated' : `${n - p} bytes after the frame`);
  return size;
}
