// JSON array sources: one record per element of a top-level array, streamed with stream-json's
// tokenizer. Elements are assembled here rather than by stream-json's Assembler/StreamArray, which
// keep the last of duplicate member names, turn "__proto__" into a prototype, and let 1e999 become
// Infinity: the same value rules as parseJsonStrict apply to every format. Positions are element
// indices (0-based) since the tokenizer reports no line numbers.
import { createReadStream } from 'node:fs';
import type { Buffer } from 'node:buffer';
import Parser from 'stream-json/Parser.js';
import { EmbassyError } from '../errors.ts';
import { JSON_MAX_DEPTH } from '../format/canonical-json.ts';
import { compileKeySpec } from './key.ts';
import { makeSourceRecord, RAW_TO_CANONICAL_SLACK, readError, type SourceRecord } from './record.ts';
import { READ_CHUNK_BYTES } from './lines.ts';
import { Utf8Checker } from './utf8.ts';

interface Token {
  name: string;
  value?: string;
}
// stream-json's Parser is a Transform whose _transform/_flush call push() synchronously for every
// token and report syntax errors through the callback. Driving those two methods directly, with
// push() captured, gives tokens and errors in input order without stream buffering in between.
interface TokenizerInternals {
  push(token: Token | null): boolean;
  _transform(chunk: Buffer, encoding: string, callback: (e?: Error | null) => void): void;
  _flush(callback: (e?: Error | null) => void): void;
}

type Container = unknown[] | Record<string, unknown>;

class ElementAssembler {
  /** Containers open inside the current element; [0] is the element itself. */
  private readonly stack: Container[] = [];
  private readonly keys: (string | undefined)[] = [];
  private key: string | undefined;
  private opened = false;
  done = false;
  /** Index of the element being assembled (or of the next one). */
  index = 0;
  private size = 0;
  readonly elements: { value: unknown; index: number }[] = [];

  constructor(
    private readonly file: string,
    private readonly maxElementChars: number,
  ) {}

  where(): string {
    if (!this.opened) return `${this.file}: top level`;
    if (this.done) return `${this.file}: after the array`;
    return `${this.file}: element ${this.index}`;
  }

  fail(code: 'input.malformed' | 'input.too-large', message: string): EmbassyError {
    return new EmbassyError(code, `${this.where()}: ${message}`);
  }

  token(t: Token): void {
    if (!this.opened) {
      if (t.name !== 'startArray') {
        const got = t.name === 'startObject' ? 'an object' : 'a single value';
        throw this.fail('input.malformed', `expected a JSON array, got ${got}`);
      }
      this.opened = true;
      return;
    }
    this.size += 1 + (t.value?.length ?? 0);
    if (this.size > this.maxElementChars) {
      throw this.fail('input.too-large', `element is longer than ${this.maxElementChars} characters`);
    }
    switch (t.name) {
      case 'startObject':
        this.open({});
        return;
      case 'startArray':
        this.open([]);
        return;
      case 'endObject':
      case 'endArray':
        if (this.stack.length === 0) {
          this.done = true; // the top-level array closed
          return;
        }
        this.close();
        return;
      case 'keyValue':
        this.key = t.value!;
        return;
      case 'stringValue':
        this.save(t.value!);
        return;
      case 'numberValue': {
        const n = Number(t.value!);
        if (!Number.isFinite(n)) throw this.fail('input.malformed', 'json: number out of range');
        this.save(n);
        return;
      }
      case 'nullValue':
        this.save(null);
        return;
      case 'trueValue':
        this.save(true);
        return;
      case 'falseValue':
        this.save(false);
        return;
      default:
        return; // streamed chunks are switched off
    }
  }

  private open(c: Container): void {
    if (this.stack.length >= JSON_MAX_DEPTH) throw this.fail('input.malformed', `json: nesting deeper than ${JSON_MAX_DEPTH}`);
    this.stack.push(c);
    this.keys.push(this.key);
    this.key = undefined;
  }

  private close(): void {
    const c = this.stack.pop()!;
    this.key = this.keys.pop();
    this.save(c);
  }

  private save(v: unknown): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) {
      this.elements.push({ value: v, index: this.index++ });
      this.size = 0;
    } else if (Array.isArray(parent)) {
      parent.push(v);
    } else {
      const key = this.key!;
      // RFC 7493 §2.3, as in parseJsonStrict: a duplicate name is an error, not "last one wins".
      if (Object.hasOwn(parent, key)) throw this.fail('input.malformed', `json: duplicate property name ${JSON.stringify(key.slice(0, 40))}`);
      if (key === '__proto__') Object.defineProperty(parent, key, { value: v, enumerable: true, writable: true, configurable: true });
      else parent[key] = v;
      this.key = undefined;
    }
  }
}

/** Records of a file holding one JSON array, in batches of one read chunk. */
export async function* readJsonArray(file: string, keyPaths: readonly string[], maxRecordBytes: number): AsyncGenerator<SourceRecord[]> {
  const spec = compileKeySpec(keyPaths);
  const asm = new ElementAssembler(file, maxRecordBytes * RAW_TO_CANONICAL_SLACK);
  const tokenizer = new Parser({ packValues: true, streamValues: false }) as unknown as TokenizerInternals;
  tokenizer.push = (t) => {
    if (t !== null) asm.token(t);
    return true;
  };
  const syntax = (e: Error | null | undefined): void => {
    if (e) throw asm.fail('input.malformed', `json: ${e.message.replace(/^Parser /, '').toLowerCase()}`);
  };
  const records = (): SourceRecord[] => {
    const out = asm.elements.map(({ value, index }) => makeSourceRecord(value, spec, { file, unit: 'element', line: index }, maxRecordBytes));
    asm.elements.length = 0;
    return out;
  };
  const utf8 = new Utf8Checker();
  const stream = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const bad = utf8.push(chunk);
      if (bad) {
        // Elements wholly before the bad byte are checked first, so errors come in file order.
        tokenizer._transform(chunk.subarray(0, bad.index), 'buffer', syntax);
        records();
        throw asm.fail('input.malformed', `invalid UTF-8 on line ${bad.line}`);
      }
      tokenizer._transform(chunk, 'buffer', syntax);
      const batch = records();
      if (batch.length > 0) yield batch;
    }
    const bad = utf8.end();
    if (bad) throw asm.fail('input.malformed', `invalid UTF-8: the file ends inside a character`);
    tokenizer._flush((e) => {
      if (e) throw asm.fail('input.malformed', `json: unexpected end of input (${e.message.replace(/^Parser /, '').toLowerCase()})`);
    });
    if (!asm.done) throw asm.fail('input.malformed', 'json: unexpected end of input');
    const batch = records();
    if (batch.length > 0) yield batch;
  } catch (e) {
    if (e instanceof EmbassyError) throw e;
    throw readError(file, e);
  } finally {
    stream.destroy();
  }
}
