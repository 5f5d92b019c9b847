// Plaintext binary encoding of record-tree nodes (docs/format-tree.md §T.5). The object layer
// compresses, pads and encrypts the body and keeps the child ids (an internal node's children, a
// leaf's chunks) in its plaintext header, so the body refers to them only by position.
// decodeNode is a parser of untrusted bytes: it only ever throws 'object.malformed' (bytes that
// do not parse) or 'tree.corrupt' (a node that parses but is impossible).
import { EmbassyError } from '../errors.ts';
import { utf8Strict } from '../format/bytes.ts';
import { HASH_SIZE } from '../log/merkle.ts';
import { compareKeys, encodeContentType, encodeKey } from './params.ts';
import { MAX_KEY_BYTES } from './types.ts';
import type { ChildEntry, LeafEntry, ObjectId, StoredValue, TreeNode } from './types.ts';

export const NODE_FORMAT_V1 = 1;
export const NODE_KIND_LEAF = 0;
export const NODE_KIND_INTERNAL = 1;
export const VALUE_KIND_INLINE = 0;
export const VALUE_KIND_CHUNKED = 1;
/** Levels fit the uint8 of a child entry hash; boundary ranks never exceed 64 (2^64 / 2^ℓ). */
export const MAX_TREE_LEVEL = 64;
export const OBJECT_ID_SIZE = 32;

// ---- encoding ----------------------------------------------------------------------------------

class ByteWriter {
  buf: Uint8Array;
  len = 0;

  constructor(sizeHint: number) {
    this.buf = new Uint8Array(Math.max(64, sizeHint));
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned LEB128, minimal, for 0 ≤ n ≤ 2^53 − 1. */
  varint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  lengthPrefixed(b: Uint8Array): void {
    this.varint(b.length);
    this.bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function corrupt(message: string): EmbassyError {
  return new EmbassyError('tree.corrupt', message);
}

function checkCount(what: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) throw corrupt(`${what}: expected an integer >= ${min}, got ${n}`);
}

/**
 * Encodes a node. `children` lists an internal node's child ids, or a leaf's chunk ids in entry
 * order; the body does not repeat them. Refuses nodes that decodeNode would refuse.
 */
export function encodeNode(node: TreeNode): { body: Uint8Array; children: ObjectId[] } {
  const w = new ByteWriter(sizeHint(node));
  const children: ObjectId[] = [];
  w.byte(NODE_FORMAT_V1);
  if (node.kind === 'leaf') {
    w.byte(NODE_KIND_LEAF);
    w.varint(node.entries.length);
    let prev: string | undefined;
    for (const e of node.entries) {
      if (prev !== undefined && compareKeys(prev, e.key) >= 0) throw corrupt('leaf node: keys are not strictly increasing');
      prev = e.key;
      w.lengthPrefixed(encodeKey(e.key));
      w.lengthPrefixed(encodeContentType(e.contentType, e.key));
      encodeValue(w, e.value, children);
    }
  } else if (node.kind === 'internal') {
    const { level } = node;
    if (!Number.isInteger(level) || level < 1 || level > MAX_TREE_LEVEL) {
      throw corrupt(`internal node: expected level 1..${MAX_TREE_LEVEL}, got ${level}`);
    }
    if (node.children.length === 0) throw corrupt('internal node: expected at least one child');
    w.byte(NODE_KIND_INTERNAL);
    w.varint(level);
    w.varint(node.children.length);
    let prev: string | undefined;
    for (const c of node.children) {
      if (prev !== undefined && compareKeys(prev, c.lastKey) >= 0) throw corrupt('internal node: keys are not strictly increasing');
      prev = c.lastKey;
      checkId('internal node: child id', c.id);
      if (!(c.commitment instanceof Uint8Array) || c.commitment.length !== HASH_SIZE) throw corrupt('internal node: expected 32-byte commitments');
      checkCount('internal node: child count', c.count, 1);
      w.lengthPrefixed(encodeKey(c.lastKey));
      w.bytes(c.commitment);
      w.varint(c.count);
      children.push(c.id);
    }
  } else {
    throw corrupt(`node: unknown kind ${String((node as { kind: unknown }).kind)}`);
  }
  return { body: w.finish(), children };
}

/** Enough for the usual node in one allocation: ASCII keys, short content types. */
function sizeHint(node: TreeNode): number {
  if (node.kind === 'internal') return 8 + node.children.length * (48 + (node.children[0]?.lastKey.length ?? 0));
  let n = 8;
  for (const e of node.entries) n += 24 + e.key.length + e.contentType.length + (e.value.kind === 'inline' ? e.value.bytes.length : 48);
  return n;
}

function encodeValue(w: ByteWriter, v: StoredValue, children: ObjectId[]): void {
  if (v.kind === 'inline') {
    w.byte(VALUE_KIND_INLINE);
    w.lengthPrefixed(v.bytes);
    return;
  }
  if (v.chunks.length === 0) throw corrupt('chunked value: expected at least one chunk');
  if (!(v.hash instanceof Uint8Array) || v.hash.length !== HASH_SIZE) throw corrupt('chunked value: expected a 32-byte hash');
  let sum = 0;
  for (const c of v.chunks) {
    checkCount('chunked value: chunk size', c.size, 1);
    sum += c.size;
  }
  if (sum !== v.size) throw corrupt(`chunked value: chunk sizes add up to ${sum}, expected ${v.size}`);
  w.byte(VALUE_KIND_CHUNKED);
  w.varint(v.size);
  w.bytes(v.hash);
  w.varint(v.chunks.length);
  for (const c of v.chunks) {
    checkId('chunked value: chunk id', c.id);
    w.varint(c.size);
    children.push(c.id);
  }
}

function checkId(what: string, id: ObjectId): void {
  if (!(id instanceof Uint8Array) || id.length !== OBJECT_ID_SIZE) throw corrupt(`${what}: expected ${OBJECT_ID_SIZE} bytes`);
}

// ---- decoding ----------------------------------------------------------------------------------

function malformed(message: string): EmbassyError {
  return new EmbassyError('object.malformed', message);
}

class ByteReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  byte(what: string): number {
    if (this.pos >= this.buf.length) throw malformed(`node body: truncated in ${what}`);
    return this.buf[this.pos++]!;
  }

  /** Minimal unsigned LEB128 up to 2^53 − 1. */
  varint(what: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.byte(what);
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw malformed(`node body: non-minimal varint in ${what}`);
        if (n > Number.MAX_SAFE_INTEGER) throw malformed(`node body: varint over 2^53 - 1 in ${what}`);
        return n;
      }
      if (i === 7) throw malformed(`node body: varint longer than 8 bytes in ${what}`);
      scale *= 0x80;
    }
  }

  take(n: number, what: string): Uint8Array {
    if (n > this.buf.length - this.pos) throw malformed(`node body: truncated in ${what} (need ${n} bytes, have ${this.buf.length - this.pos})`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lengthPrefixed(what: string, max: number): Uint8Array {
    const n = this.varint(`${what} length`);
    if (n > max) throw malformed(`node body: ${what} of ${n} bytes, at most ${max} allowed`);
    return this.take(n, what);
  }
}

function decodeKey(bytes: Uint8Array, what: string): string {
  if (bytes.length === 0) throw corrupt(`${what}: empty key`);
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw malformed(`${what}: key is not valid UTF-8`);
  }
}

function decodeContentType(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e) throw malformed('leaf entry: content type is not printable ASCII');
    s += String.fromCharCode(b);
  }
  if (s.length === 0) throw malformed('leaf entry: empty content type');
  return s;
}

/** Bytewise comparison of UTF-8 keys: the same order as compareKeys. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Decodes a node body with its child ids. Strict: every count, length, level and order is
 * checked, no byte is left over and every child id is used exactly once.
 */
export function decodeNode(body: Uint8Array, children: readonly ObjectId[]): TreeNode {
  if (!(body instanceof Uint8Array)) throw malformed('node body: expected bytes');
  if (!Array.isArray(children)) throw malformed('node: expected a list of child ids');
  const r = new ByteReader(body);
  const format = r.byte('format');
  if (format !== NODE_FORMAT_V1) throw malformed(`node body: unknown format ${format}`);
  const kind = r.byte('kind');
  let node: TreeNode;
  let used = 0;
  const nextId = (what: string): ObjectId => {
    const id = children[used];
    if (id === undefined) throw malformed(`${what}: the node lists ${children.length} child ids, the body uses more`);
    if (!(id instanceof Uint8Array) || id.length !== OBJECT_ID_SIZE) throw malformed(`${what}: expected a ${OBJECT_ID_SIZE}-byte id`);
    used++;
    return id;
  };
  if (kind === NODE_KIND_LEAF) {
    const n = r.varint('entry count');
    // Every entry takes at least 5 bytes: a bound that stops a huge count before any allocation.
    if (n > body.length) throw malformed(`leaf node: ${n} entries cannot fit in ${body.length} bytes`);
    const entries: LeafEntry[] = [];
    let prev: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      const kb = r.lengthPrefixed('key', MAX_KEY_BYTES);
      if (prev !== undefined && compareBytes(prev, kb) >= 0) throw corrupt(`leaf node: key ${i} is not above key ${i - 1}`);
      prev = kb;
      const key = decodeKey(kb, `leaf entry ${i}`);
      const contentType = decodeContentType(r.lengthPrefixed('content type', 255));
      const vk = r.byte('value kind');
      let value: StoredValue;
      if (vk === VALUE_KIND_INLINE) {
        const len = r.varint('value length');
        value = { kind: 'inline', bytes: r.take(len, 'value').slice() };
      } else if (vk === VALUE_KIND_CHUNKED) {
        const size = r.varint('value size');
        const hash = r.take(HASH_SIZE, 'value hash').slice();
        const m = r.varint('chunk count');
        if (m === 0) throw corrupt(`leaf entry ${i}: chunked value without chunks`);
        if (m > body.length) throw malformed(`leaf entry ${i}: ${m} chunks cannot fit in the body`);
        const chunks: { id: ObjectId; size: number }[] = [];
        let sum = 0;
        for (let j = 0; j < m; j++) {
          const cs = r.varint('chunk size');
          if (cs === 0) throw corrupt(`leaf entry ${i}: empty chunk`);
          sum += cs;
          chunks.push({ id: nextId(`leaf entry ${i}`), size: cs });
        }
        if (sum !== size) throw corrupt(`leaf entry ${i}: chunk sizes add up to ${sum}, expected ${size}`);
        value = { kind: 'chunked', size, hash, chunks };
      } else {
        throw malformed(`leaf entry ${i}: unknown value kind ${vk}`);
      }
      entries.push({ key, contentType, value });
    }
    node = { kind: 'leaf', entries };
  } else if (kind === NODE_KIND_INTERNAL) {
    const level = r.varint('level');
    if (level < 1 || level > MAX_TREE_LEVEL) throw corrupt(`internal node: expected level 1..${MAX_TREE_LEVEL}, got ${level}`);
    const n = r.varint('child count');
    if (n === 0) throw corrupt('internal node: no children');
    if (n > body.length) throw malformed(`internal node: ${n} children cannot fit in ${body.length} bytes`);
    const entries: ChildEntry[] = [];
    let prev: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      const kb = r.lengthPrefixed('last key', MAX_KEY_BYTES);
      if (prev !== undefined && compareBytes(prev, kb) >= 0) throw corrupt(`internal node: last key ${i} is not above last key ${i - 1}`);
      prev = kb;
      const lastKey = decodeKey(kb, `internal node child ${i}`);
      const commitment = r.take(HASH_SIZE, 'commitment').slice();
      const count = r.varint('record count');
      if (count === 0) throw corrupt(`internal node child ${i}: empty subtree`);
      entries.push({ lastKey, id: nextId(`internal node child ${i}`), commitment, count });
    }
    node = { kind: 'internal', level, children: entries };
  } else {
    throw malformed(`node body: unknown kind ${kind}`);
  }
  if (r.pos !== body.length) throw malformed(`node body: ${body.length - r.pos} trailing bytes`);
  if (used !== children.length) throw malformed(`node: lists ${children.length} child ids, the body uses ${used}`);
  return node;
}
