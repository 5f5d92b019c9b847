// Re-creates the third-party Tessera 15-entry log with its key and origin, one entry per append,
// and compares every checkpoint, tile and bundle byte for byte; then verifies the third-party
// log with our verifier and checks that a flipped byte anywhere is found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519NoteSigner, parseSignerKey, parseVerifierKey } from '../../src/log/note.ts';
import { proveConsistency, proveInclusion, verifyConsistency, verifyInclusion, hashLeaf } from '../../src/log/merkle.ts';
import { tileSubtreeReader, parseTileHashes, formatTilePath } from '../../src/log/tile.ts';
import { MemoryLogStore } from '../../src/store/memory-log-store.ts';
import { FsLogStore } from '../../src/store/fs-log-store.ts';
import { LogWriter } from '../../src/sitelog/writer.ts';
import { verifyLog } from '../../src/verify/log.ts';
import { openCheckpoint } from '../../src/log/checkpoint.ts';
import { VECTORS_DIR, skipUnlessShared } from '../support/shared.ts';
import { tempDir } from '../support/tmp.ts';

const skip = skipUnlessShared('vectors/tlog-tiles-tessera');
const LOG = join(VECTORS_DIR, 'tlog-tiles-tessera', 'log');
const ORIGIN = 'example.com/log/testdata';
const VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
const SKEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';
const WORDS = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ');

function identity() {
  const s = parseSignerKey(SKEY);
  return { origin: ORIGIN, signer: ed25519NoteSigner(s.name, s.seed), verifier: parseVerifierKey(VKEY) };
}

test('tessera log re-created byte for byte, one append at a time', { skip }, async () => {
  const store = new MemoryLogStore();
  const writer = await LogWriter.create(store, identity());
  assert.deepEqual(await store.get('checkpoint'), new Uint8Array(readFileSync(join(LOG, 'checkpoint.0'))));
  let compared = 0;
  for (let n = 1; n <= WORDS.length; n++) {
    await writer.append([new TextEncoder().encode(WORDS[n - 1])]);
    for (const path of ['checkpoint', `tile/0/000.p/${n}`, `tile/entries/000.p/${n}`]) {
      const file = path === 'checkpoint' ? `checkpoint.${n}` : path;
      const want = new Uint8Array(readFileSync(join(LOG, file)));
      assert.deepEqual(await store.get(path), want, `${file} differs after ${n} entries`);
      compared++;
    }
  }
  assert.equal(compared, 45);
  // Every path we wrote exists upstream: we write nothing the spec does not define.
  for (const path of store.objects.keys()) {
    assert.ok(readFileSync(join(LOG, path)).length >= 0, `${path} not upstream`);
  }
});

test('tessera log re-created in one batch ends byte-identical to the final upstream state', { skip }, async () => {
  const store = new MemoryLogStore();
  const writer = await LogWriter.create(store, identity());
  await writer.append(WORDS.map((w) => new TextEncoder().encode(w)));
  for (const path of ['checkpoint', 'tile/0/000.p/15', 'tile/entries/000.p/15']) {
    assert.deepEqual(await store.get(path), new Uint8Array(readFileSync(join(LOG, path))), path);
  }
});

test('our verifier accepts the upstream log, and proofs from its tiles verify', { skip }, async () => {
  const store = new FsLogStore(LOG);
  const report = await verifyLog(store, parseVerifierKey(VKEY));
  assert.deepEqual(report.findings, []);
  assert.equal(report.size, 15n);
  assert.equal(report.entriesChecked, 15n);

  const { checkpoint } = openCheckpoint(readFileSync(join(LOG, 'checkpoint'), 'utf8'), parseVerifierKey(VKEY));
  const reader = tileSubtreeReader(15n, async (t) => parseTileHashes(new Uint8Array(readFileSync(join(LOG, formatTilePath(t)))), t.width));
  for (let i = 0n; i < 15n; i++) {
    const proof = await proveInclusion(i, 15n, reader);
    verifyInclusion(hashLeaf(new TextEncoder().encode(WORDS[Number(i)])), i, 15n, proof, checkpoint.root);
  }
  for (let m = 1; m <= 15; m++) {
    const old = openCheckpoint(readFileSync(join(LOG, `checkpoint.${m}`), 'utf8'), parseVerifierKey(VKEY)).checkpoint;
    const proof = await proveConsistency(BigInt(m), 15n, reader);
    verifyConsistency(BigInt(m), 15n, proof, old.root, checkpoint.root);
  }
});

test('a flipped byte in any upstream file is found by our verifier', { skip }, async (t) => {
  const files = ['checkpoint', 'tile/0/000.p/15', 'tile/entries/000.p/15'];
  for (const file of files) {
    const size = readFileSync(join(LOG, file)).length;
    for (const offset of [0, Math.floor(size / 2), size - 2]) {
      const dir = tempDir(t);
      cpSync(LOG, dir, { recursive: true });
      const bytes = readFileSync(join(dir, file));
      bytes[offset]! ^= 0x01;
      writeFileSync(join(dir, file), bytes);
      const report = await verifyLog(new FsLogStore(dir), parseVerifierKey(VKEY));
      assert.ok(report.findings.length > 0, `flip at ${file}:${offset} not found`);
    }
  }
  assert.ok(readdirSync(LOG).length > 0);
});
