// Streaming UTF-8 validation (Unicode 15 §3.9, Table 3-7: no overlongs, no surrogates, nothing
// above U+10FFFF) that knows where it failed: the byte offset and the line, counted as '\n' bytes.
// Parsers that decode leniently (csv-parse, stream-json) are fed only bytes that passed here, so a
// record never silently gains a U+FFFD that was not in the source.

export interface Utf8Problem {
  /** Offset of the first offending byte in the chunk passed to push(), or the chunk's length. */
  index: number;
  /** 1-based line of the offending byte (the line where a truncated sequence started). */
  line: number;
  /** Offset from the start of the stream. */
  offset: number;
}

export class Utf8Checker {
  // Continuation bytes still needed by the current sequence, and the range allowed for the next.
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;
  private consumed = 0;
  private line = 1;

  /** Checks the next chunk; undefined when it is fine so far, else where it broke. */
  push(chunk: Uint8Array): Utf8Problem | undefined {
    let need = this.need;
    let lo = this.lo;
    let hi = this.hi;
    let line = this.line;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i]!;
      if (need === 0) {
        if (b < 0x80) {
          if (b === 0x0a) line++;
          continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
          need = 2;
          if (b === 0xe0) lo = 0xa0; // overlong
          else if (b === 0xed) hi = 0x9f; // surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3;
          if (b === 0xf0) lo = 0x90; // overlong
          else if (b === 0xf4) hi = 0x8f; // above U+10FFFF
        } else {
          return this.fail(i, line);
        }
      } else {
        if (b < lo || b > hi) return this.fail(i, line);
        lo = 0x80;
        hi = 0xbf;
        need--;
      }
    }
    this.need = need;
    this.lo = lo;
    this.hi = hi;
    this.line = line;
    this.consumed += n;
    return undefined;
  }

  /** At the end of input: a sequence cut short is a problem too. */
  end(): Utf8Problem | undefined {
    return this.need === 0 ? undefined : { index: 0, line: this.line, offset: this.consumed };
  }

  private fail(index: number, line: number): Utf8Problem {
    return { index, line, offset: this.consumed + index };
  }
}
