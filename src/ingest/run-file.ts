// Encrypted run files of the external sort. Runs hold plaintext records, so they never touch the
// disk in the clear (DESIGN.md §5: "no code path writes plaintext"): blocks of about 1 MiB, each
// AES-256-GCM under a random per-sort key that lives only in memory, bound to their run, position
// and finality so that moved, dropped or cut-off blocks fail authentication. Written once, read
// once, deleted; not a stored format, so not versioned.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { EmbassyError } from '../errors.ts';

// Layout, per block:
//   uint32be(n) ‖ ciphertext (n bytes) ‖ tag (16 bytes)
//   nonce = uint32be(run id) ‖ uint64be(block number)   — unique under the key: one key per sort
//   AAD   = nonce ‖ 0x01 on the last block of the run, else 0x00

export const RUN_KEY_BYTES = 32;
export const RUN_TAG_BYTES = 16;
const HEADER_BYTES = 4;
/** Largest block plaintext: the header holds a uint32. */
const MAX_BLOCK_BYTES = 0xffff_ffff;

function nonceOf(runId: number, block: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(runId, 0);
  n.writeBigUInt64BE(BigInt(block), 4);
  return n;
}

function aadOf(nonce: Buffer, final: boolean): Buffer {
  const a = Buffer.alloc(13);
  nonce.copy(a, 0);
  a[12] = final ? 1 : 0;
  return a;
}

function ioError(what: string, e: unknown): EmbassyError {
  const code = (e as { code?: unknown } | null)?.code;
  return new EmbassyError('store.io', `sort: ${what}${typeof code === 'string' ? ` (${code})` : ''}`, {
    cause: e,
    hint: 'the sort spills runs to its temporary directory; check that it exists and has free space',
  });
}

/**
 * Writes one run. Items are framed by the caller into `block` (a Buffer of at least
 * `reserve(n)` free bytes); flush() encrypts and appends the block.
 */
export class RunWriter {
  block: Buffer;
  /** Bytes of `block` in use. */
  used = 0;
  private blocks = 0;
  private position = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fh: FileHandle,
    private readonly key: Uint8Array,
    readonly runId: number,
    private readonly blockBytes: number,
  ) {
    this.block = Buffer.allocUnsafe(blockBytes);
  }

  /** Creates the file (which must not exist), readable by this user only. */
  static async create(path: string, key: Uint8Array, runId: number, blockBytes: number): Promise<RunWriter> {
    try {
      return new RunWriter(await open(path, 'wx', 0o600), key, runId, blockBytes);
    } catch (e) {
      throw ioError('cannot create a run file', e);
    }
  }

  /**
   * Makes room for n more bytes: flushes the current block (as not final: more follows) when it
   * has items and n would overflow it, and grows the block for an item larger than a block.
   */
  async reserve(n: number): Promise<void> {
    if (this.used > 0 && this.used + n > this.blockBytes) await this.flush(false);
    if (this.used + n > this.block.length) {
      if (this.used + n > MAX_BLOCK_BYTES) throw new EmbassyError('input.too-large', `sort: item of ${n} bytes does not fit a run block`);
      const bigger = Buffer.allocUnsafe(this.used + n);
      this.block.copy(bigger, 0, 0, this.used);
      this.block = bigger;
    }
  }

  /** True when reserve(n) would have to write a block first (lets callers skip an await). */
  needsReserve(n: number): boolean {
    return (this.used > 0 && this.used + n > this.blockBytes) || this.used + n > this.block.length;
  }

  /**
   * Encrypts the block and starts appending it; the write runs while the caller fills the next
   * block (write-behind), and the one before it is awaited first, so at most one is in flight.
   */
  private async flush(final: boolean): Promise<void> {
    await this.writing;
    const nonce = nonceOf(this.runId, this.blocks);
    const c = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: RUN_TAG_BYTES });
    c.setAAD(aadOf(nonce, final));
    const ct = c.update(this.block.subarray(0, this.used));
    const tail = c.final();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(this.used, 0);
    const parts = tail.length > 0 ? [header, ct, tail, c.getAuthTag()] : [header, ct, c.getAuthTag()];
    const want = HEADER_BYTES + this.used + RUN_TAG_BYTES;
    const at = this.position;
    this.position += want;
    this.blocks++;
    this.used = 0; // the plaintext block is reused at once: the write holds only ciphertext
    this.writing = this.fh.writev(parts, at).then(
      ({ bytesWritten }) => {
        if (bytesWritten !== want) throw ioError('cannot write a run file', new Error(`short write: ${bytesWritten} of ${want} bytes`));
      },
      (e: unknown) => {
        throw ioError('cannot write a run file', e);
      },
    );
    // Marked handled here; the error surfaces at the next flush, finish or close.
    this.writing.catch(() => {});
  }

  /** Writes the last block (flagged final) and closes the file. A run has at least one item. */
  async finish(): Promise<void> {
    if (this.used === 0 && this.blocks === 0) throw new EmbassyError('store.io', 'sort: refusing to write an empty run');
    if (this.used > 0 || this.blocks === 0) await this.flush(true);
    await this.writing; // durable enough for a temporary file: written, not synced
    await this.close();
  }

  async close(): Promise<void> {
    this.block.fill(0);
    await this.writing.catch(() => {});
    try {
      await this.fh.close();
    } catch {
      // already closed
    }
  }
}

/** Reads one run back, block by block, authenticating each. */
export class RunReader {
  private position = 0;
  private blocks = 0;
  private done = false;
  private ahead: Promise<Buffer | undefined> | undefined;

  private constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    private readonly key: Uint8Array,
    readonly runId: number,
  ) {}

  static async open(path: string, key: Uint8Array, runId: number): Promise<RunReader> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const { size } = await fh.stat();
      return new RunReader(fh, size, key, runId);
    } catch (e) {
      await fh?.close().catch(() => {});
      throw ioError('cannot open a run file', e);
    }
  }

  private corrupt(): EmbassyError {
    return new EmbassyError('crypto.auth-failed', `sort: run ${this.runId} block ${this.blocks} does not authenticate (altered or truncated on disk)`);
  }

  private async readAt(n: number): Promise<Buffer> {
    if (this.position + n > this.size) throw this.corrupt();
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    try {
      while (got < n) {
        const { bytesRead } = await this.fh.read(buf, got, n - got, this.position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } catch (e) {
      throw ioError('cannot read a run file', e);
    }
    if (got !== n) throw this.corrupt();
    this.position += n;
    return buf;
  }

  /**
   * The next block's plaintext, or undefined after the final block. The block after it is read
   * ahead while the caller works through this one.
   */
  async next(): Promise<Buffer | undefined> {
    const p = this.ahead ?? this.readBlock();
    this.ahead = undefined;
    const block = await p;
    if (block !== undefined && !this.done) {
      this.ahead = this.readBlock();
      this.ahead.catch(() => {}); // handled when awaited by the next call (or dropped by close)
    }
    return block;
  }

  private async readBlock(): Promise<Buffer | undefined> {
    if (this.done) return undefined;
    const header = await this.readAt(HEADER_BYTES);
    const n = header.readUInt32BE(0);
    const sealed = await this.readAt(n + RUN_TAG_BYTES);
    // A block is final exactly when it ends the file; the AAD makes the writer's flag agree.
    const final = this.position === this.size;
    const nonce = nonceOf(this.runId, this.blocks);
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, nonce, { authTagLength: RUN_TAG_BYTES });
      d.setAAD(aadOf(nonce, final));
      d.setAuthTag(sealed.subarray(n));
      const head = d.update(sealed.subarray(0, n));
      const tail = d.final();
      plain = tail.length > 0 ? Buffer.concat([head, tail]) : head;
    } catch {
      throw this.corrupt();
    }
    this.blocks++;
    if (final) this.done = true;
    return plain;
  }

  async close(): Promise<void> {
    await this.ahead?.catch(() => {});
    this.ahead = undefined;
    try {
      await this.fh.close();
    } catch {
      // already closed
    }
  }
}
