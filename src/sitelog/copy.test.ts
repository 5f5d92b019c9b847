// LogCopy against a real home log in FsLogStore directories: copied step by step across tile
// boundaries (and in other steps than the home's), the copy is byte for byte the home's log and
// verifies; every refusal (rollback, fork, entries that do not make the root, a foreign key, a
// wrong origin, a wrong entry count) throws its code with its evidence and writes nothing; the
// copy goes on correctly after each refusal and after each reopen.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { formatCheckpoint } from '../log/checkpoint.ts';
import { EMPTY_ROOT } from '../log/merkle.ts';
import { signNote } from '../log/note.ts';
import { FsLogStore } from '../store/fs-log-store.ts';
import { verifyLog } from '../verify/log.ts';
import { entry, testIdentity } from '../../test/support/log-identity.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { LogCopy, LogDivergence, type Divergence } from './copy.ts';
import { LogWriter, type LogIdentity } from './writer.ts';

const id = testIdentity('home.example/log', 1);
/** The same key as the home, other entries: what a home that forks its log would sign. */
const forkEntry = (i: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ type: 'fork', i }));

/** Every file under dir (temp files included), relative path → hex. */
function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p).toString('hex'));
    }
  };
  walk(dir);
  return out;
}

/** A home log that keeps every checkpoint note it signed, by size. */
interface Home {
  dir: string;
  store: FsLogStore;
  writer: LogWriter;
  entries: Uint8Array[];
  notes: Map<bigint, string>;
  growTo(size: number): Promise<string>;
}

async function makeHome(t: TestContext, identity: LogIdentity = id, make: (i: number) => Uint8Array = (i) => entry(i)): Promise<Home> {
  const dir = join(tempDir(t), 'home');
  const store = new FsLogStore(dir);
  const writer = await LogWriter.create(store, identity);
  const home: Home = {
    dir,
    store,
    writer,
    entries: [],
    notes: new Map([[0n, writer.note]]),
    async growTo(size) {
      const batch: Uint8Array[] = [];
      for (let i = home.entries.length; i < size; i++) batch.push(make(i));
      home.entries.push(...batch);
      const r = await writer.append(batch);
      home.notes.set(r.checkpoint.size, r.note);
      return r.note;
    },
  };
  return home;
}

async function openCopy(dir: string): Promise<{ store: FsLogStore; copy: LogCopy }> {
  const store = new FsLogStore(dir);
  return { store, copy: await LogCopy.open(store, id.origin, id.verifier) };
}

/**
 * The copy's files are the home's, byte for byte. `exact`: the copy saw every checkpoint the home
 * signed, so it has the same set of files. Otherwise the home also keeps partial tiles and
 * bundles of sizes the copy skipped (tlog-tiles leaves them in place), and only those may lack.
 */
async function assertSameLog(home: Home, copyDir: string, exact = true): Promise<void> {
  const a = filesOf(home.dir);
  const b = filesOf(copyDir);
  for (const [path, hex] of b) assert.equal(hex, a.get(path), `${path}: not the home's bytes`);
  if (exact) {
    assert.deepEqual([...b.keys()], [...a.keys()], 'the copy has exactly the files of the home log');
  } else {
    const lacking = [...a.keys()].filter((p) => !b.has(p));
    for (const p of lacking) assert.match(p, /\.p\/\d+$/, `the copy lacks ${p}, which is not an old partial tile`);
  }
  const report = await verifyLog(new FsLogStore(copyDir), id.verifier);
  assert.deepEqual(report.findings, []);
  assert.equal(report.size, home.writer.checkpoint.size);
  assert.equal(report.entriesChecked, home.writer.checkpoint.size);
}

/** Runs `act`, which must fail with `code`, and checks that nothing under `dir` changed. */
async function refusedWithoutWriting(dir: string, code: ErrorCode, act: () => Promise<unknown>): Promise<unknown> {
  const before = filesOf(dir);
  let caught: unknown;
  await assert.rejects(act(), (e) => {
    caught = e;
    return isEmbassyError(e, code);
  });
  assert.deepEqual(filesOf(dir), before, 'nothing was written');
  return caught;
}

function assertDivergence(e: unknown, kind: Divergence, held: string, presented: string): void {
  assert.ok(e instanceof LogDivergence, 'a LogDivergence');
  assert.equal(e.code, 'log.inconsistent');
  assert.equal(e.evidence.kind, kind);
  assert.equal(e.evidence.held, held);
  assert.equal(e.evidence.presented, presented);
  assert.ok(e.hint !== undefined && e.hint.length > 0);
}

const STEPS = [0, 1, 255, 256, 257, 600, 70_000];

describe('LogCopy: a byte-exact copy', () => {
  test('step by step across tile boundaries, reopened after each step', { timeout: 120_000 }, async (t) => {
    const home = await makeHome(t);
    const copyDir = join(tempDir(t), 'copy');
    {
      const { copy } = await openCopy(copyDir);
      assert.equal(copy.holdsCheckpoint, false);
      assert.equal(copy.checkpoint.size, 0n);
      assert.equal(copy.note, '');
    }
    let prev = 0;
    for (const size of STEPS) {
      const note = size === 0 ? home.writer.note : await home.growTo(size);
      // Reopen from storage each step: the copy goes on from what it stored, nothing in memory.
      const { copy } = await openCopy(copyDir);
      assert.equal(copy.checkpoint.size, BigInt(prev));
      const checked = copy.check(note);
      assert.ok(checked !== undefined, `size ${size}: something to do`);
      assert.equal(checked.missing, BigInt(size - prev));
      const cp = await copy.extendTo(note, home.entries.slice(prev, size));
      assert.equal(cp.size, BigInt(size));
      assert.deepEqual(cp.root, home.writer.checkpoint.root);
      assert.equal(copy.note, note);
      assert.equal(copy.holdsCheckpoint, true);
      await assertSameLog(home, copyDir);
      // The same note again: nothing to fetch, nothing written.
      assert.equal(copy.check(note), undefined);
      await copy.extendTo(note, []);
      const reopened = await openCopy(copyDir);
      assert.equal(reopened.copy.check(note), undefined);
      assert.equal(reopened.copy.holdsCheckpoint, true);
      prev = size;
    }
    assert.ok((await home.store.list()).includes('tile/2/000.p/1'), 'the log reached level-2 tiles');
  });

  test('another copy that sees only some of the checkpoints ends byte-identical too', { timeout: 120_000 }, async (t) => {
    const home = await makeHome(t);
    for (const size of STEPS.slice(1)) await home.growTo(size);
    const copyDir = join(tempDir(t), 'copy');
    for (const size of [257n, 70_000n]) {
      const { copy } = await openCopy(copyDir);
      const from = Number(copy.checkpoint.size);
      await copy.extendTo(home.notes.get(size)!, home.entries.slice(from, Number(size)));
    }
    await assertSameLog(home, copyDir, false);
    // Partial tiles of sizes the copy never saw are the only difference.
    assert.ok(!filesOf(copyDir).has('tile/0/000.p/1'));
    assert.ok(filesOf(copyDir).has('tile/0/001.p/1'));
  });

  test('a fresh copy straight to the newest checkpoint', async (t) => {
    const home = await makeHome(t);
    await home.growTo(300);
    const note = await home.growTo(513);
    const copyDir = join(tempDir(t), 'copy');
    const { copy } = await openCopy(copyDir);
    await copy.extendTo(note, home.entries);
    await assertSameLog(home, copyDir, false);
  });
});

describe('LogCopy: refusals write nothing and carry evidence', () => {
  /** A home at 600 and a copy that holds 257 (a partial tile and a partial bundle). */
  async function setup(t: TestContext) {
    const home = await makeHome(t);
    for (const size of [1, 255, 256, 257, 600]) await home.growTo(size);
    const copyDir = join(tempDir(t), 'copy');
    const { copy } = await openCopy(copyDir);
    await copy.extendTo(home.notes.get(257n)!, home.entries.slice(0, 257));
    return { home, copyDir, copy, held: home.notes.get(257n)! };
  }

  /** After a refusal the same copy, and a reopened one, still extend to the real checkpoint. */
  async function goesOn(home: Home, copyDir: string, copy: LogCopy): Promise<void> {
    await copy.extendTo(home.notes.get(600n)!, home.entries.slice(257, 600));
    await assertSameLog(home, copyDir, false);
    const reopened = await openCopy(copyDir);
    assert.equal(reopened.copy.check(home.notes.get(600n)!), undefined);
  }

  test('rollback: a smaller checkpoint of the same log', async (t) => {
    const { home, copyDir, copy, held } = await setup(t);
    for (const size of [256n, 1n, 0n]) {
      const older = home.notes.get(size)!;
      assert.throws(() => copy.check(older), (e) => (assertDivergence(e, 'rollback', held, older), true));
      const e = await refusedWithoutWriting(copyDir, 'log.inconsistent', () => copy.extendTo(older, []));
      assertDivergence(e, 'rollback', held, older);
    }
    await goesOn(home, copyDir, copy);
  });

  test('fork at the same size: the same key signed other entries', async (t) => {
    const { home, copyDir, copy, held } = await setup(t);
    const fork = await makeHome(t, id, forkEntry);
    const forked = await fork.growTo(257);
    assert.equal(fork.writer.checkpoint.size, 257n);
    assert.throws(() => copy.check(forked), (e) => (assertDivergence(e, 'fork', held, forked), true));
    const e = await refusedWithoutWriting(copyDir, 'log.inconsistent', () => copy.extendTo(forked, []));
    assertDivergence(e, 'fork', held, forked);
    await goesOn(home, copyDir, copy);
  });

  test('fork at a larger size: its entries do not make its root on top of the copy', async (t) => {
    const { home, copyDir, copy, held } = await setup(t);
    const fork = await makeHome(t, id, forkEntry);
    const forked = await fork.growTo(600);
    assert.equal(copy.check(forked)?.missing, 343n, 'the check alone cannot tell: it asks for the entries');
    const e = await refusedWithoutWriting(copyDir, 'log.inconsistent', () => copy.extendTo(forked, fork.entries.slice(257, 600)));
    assertDivergence(e, 'entries-mismatch', held, forked);
    await goesOn(home, copyDir, copy);
  });

  test('tampered entries under the real checkpoint', async (t) => {
    const { home, copyDir, copy, held } = await setup(t);
    const note = home.notes.get(600n)!;
    for (const at of [257, 300, 599]) {
      const entries = home.entries.slice(257, 600).map((e) => e.slice());
      entries[at - 257]![3]! ^= 0x01;
      const e = await refusedWithoutWriting(copyDir, 'log.inconsistent', () => copy.extendTo(note, entries));
      assertDivergence(e, 'entries-mismatch', held, note);
    }
    // Entries swapped in order: the same bytes, another tree.
    const swapped = home.entries.slice(257, 600);
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    await refusedWithoutWriting(copyDir, 'log.inconsistent', () => copy.extendTo(note, swapped));
    await goesOn(home, copyDir, copy);
  });

  test('tampered entries on a fresh copy: the evidence holds no earlier note', async (t) => {
    const home = await makeHome(t);
    const note = await home.growTo(300);
    const copyDir = join(tempDir(t), 'copy');
    const { copy } = await openCopy(copyDir);
    const entries = home.entries.map((e) => e.slice());
    entries[42]![5]! ^= 0x20;
    const e = await refusedWithoutWriting(copyDir, 'log.inconsistent', () => copy.extendTo(note, entries));
    assertDivergence(e, 'entries-mismatch', '', note);
    assert.equal(copy.holdsCheckpoint, false);
    assert.deepEqual(filesOf(copyDir), new Map(), 'a fresh copy stays empty');
    await copy.extendTo(note, home.entries);
    await assertSameLog(home, copyDir);
  });

  test('a size-0 checkpoint with a root other than the empty tree is refused on a fresh copy', async (t) => {
    const copyDir = join(tempDir(t), 'copy');
    const { copy } = await openCopy(copyDir);
    const bogusRoot = EMPTY_ROOT.slice();
    bogusRoot[0]! ^= 1;
    const note = signNote(formatCheckpoint({ origin: id.origin, size: 0n, root: bogusRoot, extensions: [] }), [id.signer]);
    const e = await refusedWithoutWriting(copyDir, 'log.inconsistent', () => copy.extendTo(note, []));
    assertDivergence(e, 'entries-mismatch', '', note);
    assert.equal(copy.holdsCheckpoint, false);
  });

  test('a checkpoint signed by another key: note.unverified', async (t) => {
    const { home, copyDir, copy } = await setup(t);
    const impostor = await makeHome(t, testIdentity(id.origin, 9));
    for (const size of [257, 600]) {
      const note = await impostor.growTo(size);
      assert.throws(() => copy.check(note), (e) => isEmbassyError(e, 'note.unverified'));
      await refusedWithoutWriting(copyDir, 'note.unverified', () => copy.extendTo(note, impostor.entries.slice(257, size)));
    }
    await goesOn(home, copyDir, copy);
  });

  test('a checkpoint by the log key for another origin: checkpoint.origin-mismatch', async (t) => {
    const { home, copyDir, copy } = await setup(t);
    const cp = { ...home.writer.checkpoint, origin: 'elsewhere.example/log' };
    const note = signNote(formatCheckpoint(cp), [id.signer]);
    assert.throws(() => copy.check(note), (e) => isEmbassyError(e, 'checkpoint.origin-mismatch'));
    await refusedWithoutWriting(copyDir, 'checkpoint.origin-mismatch', () => copy.extendTo(note, home.entries.slice(257, 600)));
    await goesOn(home, copyDir, copy);
  });

  test('a wrong number of entries: input.malformed', async (t) => {
    const { home, copyDir, copy } = await setup(t);
    const note = home.notes.get(600n)!;
    for (const entries of [[], home.entries.slice(257, 599), home.entries.slice(256, 600), [...home.entries.slice(257, 600), entry(600)]]) {
      await refusedWithoutWriting(copyDir, 'input.malformed', () => copy.extendTo(note, entries));
    }
    // At the size it holds, entries are not looked at: nothing to do.
    await copy.extendTo(home.notes.get(257n)!, [entry(1)]);
    await goesOn(home, copyDir, copy);
  });

  test('a note that is not a signed note at all: note.malformed', async (t) => {
    const { home, copyDir, copy } = await setup(t);
    const text = formatCheckpoint(home.writer.checkpoint);
    await refusedWithoutWriting(copyDir, 'note.malformed', () => copy.extendTo(text, home.entries.slice(257, 600)));
    await goesOn(home, copyDir, copy);
  });
});

describe('LogCopy: opening', () => {
  test('a copy whose stored checkpoint is by another key does not open', async (t) => {
    const other = await makeHome(t, testIdentity(id.origin, 9));
    await other.growTo(3);
    await assert.rejects(LogCopy.open(new FsLogStore(other.dir), id.origin, id.verifier), (e) => isEmbassyError(e, 'note.unverified'));
  });

  test('a damaged right-edge tile in the copy is found on open (log.corrupt)', async (t) => {
    const home = await makeHome(t);
    const note = await home.growTo(257);
    const copyDir = join(tempDir(t), 'copy');
    await (await openCopy(copyDir)).copy.extendTo(note, home.entries);
    const store = new FsLogStore(copyDir);
    const tile = (await store.get('tile/0/001.p/1'))!;
    tile[0]! ^= 1;
    await store.put('tile/0/001.p/1', tile);
    await assert.rejects(LogCopy.open(store, id.origin, id.verifier), (e) => isEmbassyError(e, 'log.corrupt'));
  });
});
