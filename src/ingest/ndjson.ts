// NDJSON sources (DESIGN.md §4 "ingest"): one JSON object per line. A line that is canonical JSON
// already (canonical-line.ts) becomes a record as it is; any other line is decoded, parsed
// strictly and canonicalised. Errors are exactly those of decoding and parsing every line in turn
// (lines.ts: decodeLineBlock keeps their order). A file read twice — the sort does that to a file
// in key order rather than spill it — is checked once (NdjsonReading).
import { crc32 } from 'node:zlib';
import { parseJsonStrict } from '../format/canonical-json.ts';
import { JSON_CONTENT_TYPE, type TreeRecord } from '../tree/types.ts';
import { findCanonicalKey, planCanonicalKeys, scanCanonicalLine } from './canonical-line.ts';
import { compileKeySpec, type KeySpec } from './key.ts';
import { decodeLineBlock, isBlankLine, readLineBlocks, stripBom, type TextLine } from './lines.ts';
import { makeSourceRecord, positionError, RAW_TO_CANONICAL_SLACK, sourceChangedError, type SourceRecord } from './record.ts';

/**
 * A record whose value is a canonical line as read: one small object, so that the hundreds of
 * thousands a sort buffers cost the garbage collector little. Its TreeRecord is made when asked
 * for, with the value as a view of the read chunk (chunks are never reused; the tree copies what
 * it keeps), so nothing long-lived is allocated per record besides this and its key.
 */
class CanonicalLineRecord implements SourceRecord {
  constructor(
    readonly key: string,
    readonly line: number,
    private readonly chunk: Uint8Array,
    private readonly start: number,
    private readonly end: number,
  ) {}

  get record(): TreeRecord {
    const { chunk, start, end } = this;
    return { key: this.key, contentType: JSON_CONTENT_TYPE, value: new Uint8Array(chunk.buffer, chunk.byteOffset + start, end - start) };
  }
}

/** Parses one decoded line the strict way: the record, or the precise error. */
function parseNdjsonLine(text: string, line: number, file: string, spec: KeySpec, maxRecordBytes: number): SourceRecord | undefined {
  if (isBlankLine(text)) return undefined;
  let value: unknown;
  try {
    value = parseJsonStrict(stripBom(text, line));
  } catch (e) {
    throw positionError('input.malformed', file, 'line', line, (e as Error).message, e);
  }
  return makeSourceRecord(value, spec, { file, unit: 'line', line }, maxRecordBytes);
}

/** Lines per CRC group of an NdjsonReading. */
const GROUP_LINES = 256;
const NEWLINE = Uint8Array.of(0x0a);

/**
 * CRC-32 of a sequence of lines, each followed by '\n', fed line by line; lines that lie one after
 * the other in the same read chunk are summed in one call.
 */
class LineCrc {
  private crc = 0;
  private bytes: Uint8Array | undefined;
  private start = 0;
  private end = 0;

  add(bytes: Uint8Array, start: number, end: number): void {
    // The next line of the same chunk starts after the '\n' that ends this span.
    if (bytes === this.bytes && start === this.end + 1) {
      this.end = end;
      return;
    }
    this.flush();
    this.bytes = bytes;
    this.start = start;
    this.end = end;
  }

  /** The CRC of the lines added since the last take(). */
  take(): number {
    this.flush();
    const c = this.crc;
    this.crc = 0;
    return c;
  }

  private flush(): void {
    if (this.bytes === undefined) return;
    this.crc = crc32(NEWLINE, crc32(this.bytes.subarray(this.start, this.end), this.crc));
    this.bytes = undefined;
  }
}

/**
 * What a first reading of an NDJSON file notes so that a second reading of the same bytes (the
 * sort reads a file that is in key order already twice rather than spill it) need not check every
 * line again: which lines were canonical JSON, and a CRC-32 of the bytes of each group of
 * GROUP_LINES lines. The second reading takes a canonical line as it is — finding its key without
 * checking the rest — and hands out the records of a group only once the group's bytes have the
 * first reading's CRC; a group that differs is 'input.malformed' ("changed while it was being
 * read"), and lines the first reading did not see are checked in full.
 */
export class NdjsonReading {
  private canonical = new Uint8Array(8192);
  private readonly crcs: number[] = [];
  private readonly crc = new LineCrc();
  /** Lines seen by the first reading. */
  private lines = 0;
  /** The first reading reached the end: its last, shorter group counts too. */
  private ended = false;
  /** A second reading has begun: the first, if still going, need not note anything more. */
  private replayed = false;
  private opened = false;

  /** Called by each reading: the first notes (undefined), every later one replays. */
  open(): NdjsonReplay | undefined {
    if (!this.opened) {
      this.opened = true;
      return undefined;
    }
    this.replayed = true;
    return new NdjsonReplay(this.canonical, this.crcs, this.ended ? this.lines : Math.floor(this.lines / GROUP_LINES) * GROUP_LINES);
  }

  /** First reading: notes line `line` (1-based, in order), bytes [start, end) of `bytes`. */
  note(line: number, bytes: Uint8Array, start: number, end: number, canonical: boolean): void {
    if (this.replayed) return;
    const i = line - 1;
    if (i >> 3 >= this.canonical.length) {
      const bigger = new Uint8Array(this.canonical.length * 2);
      bigger.set(this.canonical);
      this.canonical = bigger;
    }
    if (canonical) this.canonical[i >> 3]! |= 1 << (i & 7);
    this.crc.add(bytes, start, end);
    this.lines = line;
    if (line % GROUP_LINES === 0) this.crcs.push(this.crc.take());
  }

  /** First reading: the file ended. */
  end(): void {
    if (this.replayed || this.ended) return;
    this.ended = true;
    if (this.lines % GROUP_LINES !== 0) this.crcs.push(this.crc.take());
  }
}

/** One second reading against an NdjsonReading (see there). */
class NdjsonReplay {
  private readonly crc = new LineCrc();
  /** Records of the current group, held until its CRC is checked. */
  held: SourceRecord[] = [];

  constructor(
    private readonly canonical: Uint8Array,
    private readonly crcs: readonly number[],
    /** Lines that can be trusted, given the CRC of their group. */
    private readonly known: number,
  ) {}

  /** Whether line `line` is one the first reading saw in a group it has the CRC of. */
  knows(line: number): boolean {
    return line <= this.known;
  }

  wasCanonical(line: number): boolean {
    const i = line - 1;
    return (this.canonical[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  /** Adds a known line's bytes; at the end of its group, checks the CRC and releases the held records into `out`. */
  check(line: number, bytes: Uint8Array, start: number, end: number, file: string, out: SourceRecord[]): void {
    this.crc.add(bytes, start, end);
    if (line % GROUP_LINES !== 0 && line !== this.known) return;
    if (this.crc.take() !== this.crcs[Math.ceil(line / GROUP_LINES) - 1]) throw sourceChangedError(file);
    for (const r of this.held) out.push(r);
    this.held = [];
  }
}

/** The records of an NDJSON file in file order, a read chunk at a time. */
export async function* readNdjson(file: string, keyPaths: readonly string[], maxRecordBytes: number, reading?: NdjsonReading): AsyncGenerator<SourceRecord[]> {
  const spec = compileKeySpec(keyPaths);
  const plan = planCanonicalKeys(spec);
  const maxLineBytes = maxRecordBytes * RAW_TO_CANONICAL_SLACK;
  const replay = reading?.open();
  const first = replay === undefined ? reading : undefined;
  for await (const block of readLineBlocks(file, { maxLineBytes })) {
    const batch: SourceRecord[] = [];
    // Lines that are already canonical JSON become records as they are (canonical-line.ts).
    // The first line that is not has the whole block checked by decodeLineBlock before it is
    // parsed, so errors come in the same order as if every line had been decoded and parsed.
    // (decodeLineBlock throws when the block ends in a partial line that is already too long.)
    let checked: TextLine[] | undefined = block.tooLongAfter === undefined ? undefined : decodeLineBlock(file, block, maxLineBytes);
    const strict = (index: number, line: number): SourceRecord | undefined => {
      checked ??= decodeLineBlock(file, block, maxLineBytes);
      return parseNdjsonLine(checked[index]!.text, line, file, spec, maxRecordBytes);
    };
    const take = (bytes: Uint8Array, start: number, end: number, index: number): void => {
      const line = block.firstLine + index;
      if (replay !== undefined && replay.knows(line)) {
        // Read before, checked then: a canonical line needs only its key found.
        const found = plan !== undefined && replay.wasCanonical(line) ? findCanonicalKey(bytes, start, end, plan) : undefined;
        const r = found === undefined ? strict(index, line) : new CanonicalLineRecord(found.key, line, bytes, start, found.valueEnd);
        if (r !== undefined) replay.held.push(r);
        replay.check(line, bytes, start, end, file, batch);
        return;
      }
      if (plan !== undefined) {
        const fast = scanCanonicalLine(bytes, start, end, plan, maxRecordBytes);
        if (fast !== undefined) {
          first?.note(line, bytes, start, end, true);
          batch.push(new CanonicalLineRecord(fast.key, line, bytes, start, fast.valueEnd));
          return;
        }
      }
      const r = strict(index, line);
      first?.note(line, bytes, start, end, false);
      if (r !== undefined) batch.push(r);
    };
    take(block.head, 0, block.head.length, 0);
    let s = 0;
    for (let i = 0; i < block.lines; i++) {
      const e = block.ends[i]!;
      take(block.middle, s, e, i + 1);
      s = e + 1;
    }
    yield batch;
  }
  first?.end();
  // A second reading that saw fewer lines than the first: the file is not the same.
  if (replay !== undefined && replay.held.length > 0) throw sourceChangedError(file);
}
