// Fault injection on the log writer over the real filesystem store: fail (exception) or kill -9
// (real child process) at each step of an append — tile written, bundle written, checkpoint temp
// written, renamed — then reopen from disk and check that the log verifies, holds either the old
// or the new size (never anything in between), and that appending continues correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FsLogStore, type FsLogStep } from '../../src/store/fs-log-store.ts';
import { LogWriter } from '../../src/sitelog/writer.ts';
import { verifyLog } from '../../src/verify/log.ts';
import { hashLeaf, rootOfLeafHashes } from '../../src/log/merkle.ts';
import { entry, testIdentity } from '../support/log-identity.ts';
import { tempDir } from '../support/tmp.ts';

type Kind = 'tile' | 'entries' | 'checkpoint';
const POINTS: { step: FsLogStep; kind: Kind; occurrence: number }[] = [
  { step: 'put:temp-written', kind: 'tile', occurrence: 1 },
  { step: 'put:renamed', kind: 'tile', occurrence: 1 },
  { step: 'put:renamed', kind: 'tile', occurrence: 3 },
  { step: 'put:temp-written', kind: 'entries', occurrence: 1 },
  { step: 'put:renamed', kind: 'entries', occurrence: 1 },
  { step: 'put:renamed', kind: 'entries', occurrence: 2 },
  { step: 'commit:dirs-synced', kind: 'checkpoint', occurrence: 1 },
  { step: 'commit:temp-written', kind: 'checkpoint', occurrence: 1 },
  { step: 'commit:renamed', kind: 'checkpoint', occurrence: 1 },
];
const BASE = 300; // entries before the faulty append: one full tile and partials
const BATCH = 600; // crosses two tile boundaries and touches level 1

function kindOf(path: string): Kind {
  return path === 'checkpoint' ? 'checkpoint' : path.startsWith('tile/entries/') ? 'entries' : 'tile';
}

function expectedRoot(n: number): Uint8Array {
  // Entries are a deterministic function of their index, whichever process wrote them.
  return rootOfLeafHashes(Array.from({ length: n }, (_, i) => hashLeaf(entry(i, i < BASE ? 0 : (i - BASE) % 7))));
}

async function baseLog(dir: string): Promise<void> {
  const w = await LogWriter.create(new FsLogStore(dir), testIdentity());
  await w.append(Array.from({ length: BASE }, (_, i) => entry(i)));
}

/** Reopens from disk, checks the log, appends once more and checks again. */
async function reopenAndCheck(dir: string, label: string): Promise<bigint> {
  const id = testIdentity();
  const store = new FsLogStore(dir);
  const w = await LogWriter.open(store, id);
  const size = w.checkpoint.size;
  assert.ok(size === BigInt(BASE) || size === BigInt(BASE + BATCH), `${label}: size ${size}`);
  assert.deepEqual(w.checkpoint.root, expectedRoot(Number(size)), `${label}: root`);
  assert.deepEqual((await verifyLog(store, id.verifier)).findings, [], `${label}: verify after crash`);

  // Continue with *different* entries than the crashed append wrote, so any leftover
  // uncommitted tile or bundle that was not overwritten would be caught by verify.
  const more = Array.from({ length: 10 }, (_, i) => new TextEncoder().encode(`after-${label}-${i}`));
  await w.append(more);
  const report = await verifyLog(new FsLogStore(dir), id.verifier);
  assert.deepEqual(report.findings, [], `${label}: verify after resumed append`);
  assert.equal(report.size, size + 10n);
  return size;
}

for (const p of POINTS) {
  const label = `${p.step} on ${p.kind} #${p.occurrence}`;

  test(`fail (exception) at ${label}, reopen, verify, append`, async (t) => {
    const dir = join(tempDir(t), 'log');
    await baseLog(dir);
    let seen = 0;
    const faulty = new FsLogStore(dir, {
      fault: (step, path) => {
        if (step === p.step && kindOf(path) === p.kind && ++seen === p.occurrence) {
          throw new Error(`injected fault at ${label}`);
        }
      },
    });
    const w = await LogWriter.open(faulty, testIdentity());
    await assert.rejects(w.append(Array.from({ length: BATCH }, (_, i) => entry(BASE + i, i % 7))), /injected fault/);
    // The writer refuses to go on after a failure: it must be reopened.
    await assert.rejects(w.append([entry(0)]));
    const size = await reopenAndCheck(dir, label);
    assert.equal(size, BigInt(p.step === 'commit:renamed' ? BASE + BATCH : BASE));
  });

  test(`kill -9 at ${label}, reopen, verify, append`, async (t) => {
    const dir = join(tempDir(t), 'log');
    await baseLog(dir);
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', new URL('./append-child.ts', import.meta.url).pathname, dir, p.step, p.kind, String(p.occurrence), String(BASE), String(BATCH)],
      { encoding: 'utf8' },
    );
    assert.equal(child.signal, 'SIGKILL', `child was not killed at ${label}: ${child.stderr}`);
    await reopenAndCheck(dir, label);
  });
}
