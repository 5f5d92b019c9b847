// Streaming line reader for NDJSON sources and change files: splits on the byte '\n', decodes with
// a fatal UTF-8 decoder, numbers lines from 1. Bounded memory: one read chunk plus at most one
// partial line, which may not grow past maxLineBytes. Complete lines of a chunk are decoded in
// one call (a '\n' byte never occurs inside a multi-byte sequence, so a chunk cut after its last
// '\n' is always whole characters); only a line that spans chunks is concatenated.
import { createReadStream } from 'node:fs';
import { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';
import { utf8Strict } from '../format/bytes.ts';
import { positionError, readError } from './record.ts';
import { Utf8Checker } from './utf8.ts';

export interface TextLine {
  /** The line without its '\n' (a trailing '\r' stays; JSON treats it as whitespace). */
  text: string;
  line: number;
}

const NL = 0x0a;
const EMPTY = new Uint8Array(0);
export const READ_CHUNK_BYTES = 1 << 20;

/** Where in `bytes` (which start at line `firstLine`) the UTF-8 breaks, as an error. */
function invalidUtf8(file: string, bytes: Uint8Array, firstLine: number): EmbassyError {
  const p = new Utf8Checker().push(bytes) ?? { index: bytes.length, line: 1 };
  // (lastIndexOf with a negative start would count from the end, hence the guard.)
  const lineStart = p.index === 0 ? 0 : bytes.lastIndexOf(NL, p.index - 1) + 1;
  return positionError('input.malformed', file, 'line', firstLine + p.line - 1, `invalid UTF-8 at byte ${p.index - lineStart + 1} of the line`);
}

/**
 * The complete lines of one read chunk, as bytes, before they are decoded or checked: what
 * readLines decodes, and what the NDJSON fast path scans without decoding. The first line may
 * have been carried over from earlier chunks (then `head` is a copy); the others are views of the
 * chunk, which is never reused. Everything readLines would refuse in this chunk after the head's
 * length check (invalid UTF-8, a line too long) is found only by decodeLineBlock, so a consumer
 * that skips decoding must call it before it acts on any line it cannot vouch for itself.
 */
export interface LineBlock {
  /** The first complete line, without its '\n'. */
  head: Uint8Array;
  /** Line number of `head`. */
  firstLine: number;
  /** The lines after the head, joined by '\n' (no '\n' at either end); empty when `lines` is 0. */
  middle: Uint8Array;
  /** middle.subarray(ends[i - 1] + 1, ends[i]) is line firstLine + 1 + i (ends[-1] = -1). */
  ends: Int32Array;
  /** How many lines `middle` holds. */
  lines: number;
  /** The partial line carried to the next chunk is already too long: the line number to name. */
  tooLongAfter: number | undefined;
}

const NO_ENDS = new Int32Array(0);

/**
 * Yields the complete lines of a file as byte blocks, one per read chunk (see LineBlock). Refuses
 * at once, as readLines does, a line found too long before its end is seen.
 */
export async function* readLineBlocks(file: string, options: { maxLineBytes: number; chunkBytes?: number }): AsyncGenerator<LineBlock> {
  const { maxLineBytes } = options;
  let carry: Uint8Array[] = [];
  let carryBytes = 0;
  let line = 0; // lines completed so far
  let ends = new Int32Array(1024);
  const stream = createReadStream(file, { highWaterMark: options.chunkBytes ?? READ_CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const first = chunk.indexOf(NL);
      if (first < 0) {
        carryBytes += chunk.length;
        if (carryBytes > maxLineBytes) throw tooLongError(file, maxLineBytes, line + 1);
        carry.push(chunk);
        continue;
      }
      let head: Uint8Array = chunk.subarray(0, first);
      if (carryBytes + first > maxLineBytes) throw tooLongError(file, maxLineBytes, line + 1);
      if (carryBytes > 0) {
        carry.push(head);
        head = Buffer.concat(carry, carryBytes + first);
        carry = [];
        carryBytes = 0;
      }
      line++;
      const firstLine = line;
      const last = chunk.lastIndexOf(NL);
      let middle: Uint8Array = EMPTY;
      let n = 0;
      if (last > first) {
        // Complete lines between the first and the last '\n'.
        middle = chunk.subarray(first + 1, last);
        for (let s = 0; ; ) {
          const e = middle.indexOf(NL, s);
          if (n === ends.length) {
            const bigger = new Int32Array(n * 2);
            bigger.set(ends);
            ends = bigger;
          }
          ends[n++] = e < 0 ? middle.length : e;
          if (e < 0) break;
          s = e + 1;
        }
        line += n;
      }
      let tooLongAfter: number | undefined;
      if (last + 1 < chunk.length) {
        carry.push(chunk.subarray(last + 1));
        carryBytes = chunk.length - last - 1;
        if (carryBytes > maxLineBytes) tooLongAfter = line + 1;
      }
      yield { head, firstLine, middle, ends: n === 0 ? NO_ENDS : ends.slice(0, n), lines: n, tooLongAfter };
      if (tooLongAfter !== undefined) throw tooLongError(file, maxLineBytes, tooLongAfter);
    }
    if (carryBytes > 0) {
      line++;
      yield { head: Buffer.concat(carry, carryBytes), firstLine: line, middle: EMPTY, ends: NO_ENDS, lines: 0, tooLongAfter: undefined };
    }
  } catch (e) {
    if (e instanceof EmbassyError) throw e;
    throw readError(file, e);
  } finally {
    stream.destroy();
  }
}

function tooLongError(file: string, maxLineBytes: number, line: number): EmbassyError {
  return positionError('input.too-large', file, 'line', line, `line is longer than ${maxLineBytes} bytes`);
}

/**
 * Decodes a block into text lines with every check readLines makes, in its order: the head's
 * UTF-8, the other lines' UTF-8, their lengths, then a partial line already too long.
 */
export function decodeLineBlock(file: string, block: LineBlock, maxLineBytes: number): TextLine[] {
  const decode = (bytes: Uint8Array, line: number): string => {
    try {
      return utf8Strict.decode(bytes);
    } catch {
      throw invalidUtf8(file, bytes, line);
    }
  };
  const batch: TextLine[] = [{ text: decode(block.head, block.firstLine), line: block.firstLine }];
  if (block.lines > 0) {
    const text = decode(block.middle, block.firstLine + 1);
    // Lines inside one chunk can only be too long when chunks are larger than the limit.
    const check = block.middle.length > maxLineBytes;
    let line = block.firstLine;
    let s = 0;
    for (;;) {
      const e = text.indexOf('\n', s);
      line++;
      const t = e < 0 ? text.slice(s) : text.slice(s, e);
      if (check && Buffer.byteLength(t, 'utf8') > maxLineBytes) throw tooLongError(file, maxLineBytes, line);
      batch.push({ text: t, line });
      if (e < 0) break;
      s = e + 1;
    }
  }
  if (block.tooLongAfter !== undefined) throw tooLongError(file, maxLineBytes, block.tooLongAfter);
  return batch;
}

/**
 * Yields the lines of a file in batches (one batch per read chunk, to keep per-line overhead
 * out of the hot loop). A last line without '\n' is a line like any other.
 */
export async function* readLines(file: string, options: { maxLineBytes: number; chunkBytes?: number }): AsyncGenerator<TextLine[]> {
  for await (const block of readLineBlocks(file, options)) yield decodeLineBlock(file, block, options.maxLineBytes);
}

/** Lines that hold no value: empty or JSON whitespace only. Skipped in NDJSON. */
export function isBlankLine(text: string): boolean {
  if (text.length === 0) return true;
  const c = text.charCodeAt(0);
  if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return /^[ \t\r]*$/.test(text);
}

/** Removes a UTF-8 byte order mark from the first line; editors on some platforms add one. */
export function stripBom(text: string, line: number): string {
  return line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
