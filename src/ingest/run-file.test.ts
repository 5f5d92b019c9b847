import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { isEmbassyError } from '../errors.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { RunReader, RunWriter } from './run-file.ts';

const key = new Uint8Array(32).fill(7);
const BLOCK = 64;

/** Writes blocks of 40 bytes each: block i is filled with the byte i. */
async function writeRun(path: string, blocks: number, runId = 1, k = key): Promise<void> {
  const w = await RunWriter.create(path, k, runId, BLOCK);
  for (let i = 0; i < blocks; i++) {
    await w.reserve(40);
    w.block.fill(i, w.used, w.used + 40);
    w.used += 40;
  }
  await w.finish();
}

async function readRun(path: string, runId = 1, k = key): Promise<Buffer[]> {
  const r = await RunReader.open(path, k, runId);
  const out: Buffer[] = [];
  try {
    for (let b = await r.next(); b !== undefined; b = await r.next()) out.push(Buffer.from(b));
  } finally {
    await r.close();
  }
  return out;
}

const BLOCK_ON_DISK = 4 + 40 + 16;

async function assertAuthFails(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => isEmbassyError(e, 'crypto.auth-failed'));
}

describe('run files', () => {
  test('round trip, block by block; the file holds no plaintext', async (t) => {
    const path = join(tempDir(t), 'run');
    await writeRun(path, 5);
    const disk = readFileSync(path);
    assert.equal(disk.length, 5 * BLOCK_ON_DISK);
    assert.equal(disk.indexOf(Buffer.alloc(8, 3)), -1);
    const blocks = await readRun(path);
    assert.deepEqual(
      blocks,
      [0, 1, 2, 3, 4].map((i) => Buffer.alloc(40, i)),
    );
  });

  test('an item larger than a block gets a block of its own', async (t) => {
    const path = join(tempDir(t), 'run');
    const w = await RunWriter.create(path, key, 0, BLOCK);
    for (const n of [10, 200, 10]) {
      await w.reserve(n);
      w.block.fill(n & 0xff, w.used, w.used + n);
      w.used += n;
    }
    await w.finish();
    assert.deepEqual(
      (await readRun(path, 0)).map((b) => b.length),
      [10, 200, 10],
    );
  });

  test('a run cut at a block boundary fails (the final flag)', async (t) => {
    const path = join(tempDir(t), 'run');
    await writeRun(path, 3);
    writeFileSync(path, readFileSync(path).subarray(0, 2 * BLOCK_ON_DISK));
    await assertAuthFails(readRun(path));
  });

  test('a run cut inside a block fails', async (t) => {
    const path = join(tempDir(t), 'run');
    await writeRun(path, 3);
    writeFileSync(path, readFileSync(path).subarray(0, 3 * BLOCK_ON_DISK - 1));
    await assertAuthFails(readRun(path));
  });

  test('swapped blocks fail (the block number)', async (t) => {
    const path = join(tempDir(t), 'run');
    await writeRun(path, 3);
    const d = readFileSync(path);
    const a = d.subarray(0, BLOCK_ON_DISK);
    const b = d.subarray(BLOCK_ON_DISK, 2 * BLOCK_ON_DISK);
    writeFileSync(path, Buffer.concat([b, a, d.subarray(2 * BLOCK_ON_DISK)]));
    await assertAuthFails(readRun(path));
  });

  test('a block from another run fails (the run id)', async (t) => {
    const dir = tempDir(t);
    await writeRun(join(dir, 'a'), 1, 1);
    await writeRun(join(dir, 'b'), 1, 2);
    writeFileSync(join(dir, 'a'), readFileSync(join(dir, 'b')));
    await assertAuthFails(readRun(join(dir, 'a'), 1));
  });

  test('a flipped bit, a wrong key, an empty file fail', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'run');
    await writeRun(path, 2);
    const d = readFileSync(path);
    d[10]! ^= 1;
    writeFileSync(path, d);
    await assertAuthFails(readRun(path));
    await writeRun(join(dir, 'ok'), 2);
    await assertAuthFails(readRun(join(dir, 'ok'), 1, new Uint8Array(32)));
    writeFileSync(join(dir, 'empty'), '');
    await assertAuthFails(readRun(join(dir, 'empty')));
  });

  test('run files are created private and never overwritten', async (t) => {
    const path = join(tempDir(t), 'run');
    await writeRun(path, 1);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await assert.rejects(RunWriter.create(path, key, 1, BLOCK), (e: unknown) => isEmbassyError(e, 'store.io'));
  });
});
