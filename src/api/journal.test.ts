// The access journal: the chain, group commit (order and durability of concurrent appends),
// detection of edited, removed, inserted and reordered lines, a torn tail cut off on open, and a
// complete bad line refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { tempDir } from '../../test/support/tmp.ts';
import { isEmbassyError, type EmbassyError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { canonicalJson } from '../format/canonical-json.ts';
import {
  AccessJournal,
  JOURNAL_FILE,
  JOURNAL_GENESIS,
  entryHashAt,
  hashJournalLine,
  verifyJournal,
  type JournalEntryInput,
} from './journal.ts';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 6);

function input(i: number, over: Partial<JournalEntryInput> = {}): JournalEntryInput {
  return { client: 'gemeente-utrecht', tokenId: '0123456789abcdef', activation: 'act-1', drill: false, dataset: 'brp', op: 'get', keys: [String(999990000 + i)], version: 3, status: 200, ...over };
}

async function writeJournal(path: string, n: number): Promise<{ seq: number; hash: string }[]> {
  const j = await AccessJournal.open(path, { now: () => T0 });
  const out = await Promise.all(Array.from({ length: n }, (_, i) => j.append(input(i + 1))));
  await j.close();
  return out;
}

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').slice(0, -1);
const setLines = (path: string, ls: string[]): void => writeFileSync(path, ls.map((l) => l + '\n').join(''));

async function rejectsCorrupt(p: Promise<unknown>, line: number, seq?: number): Promise<EmbassyError> {
  let err: unknown;
  await p.then(
    () => assert.fail('expected log.corrupt'),
    (e: unknown) => (err = e),
  );
  assert.ok(isEmbassyError(err, 'log.corrupt'), String(err));
  assert.match(err.message, new RegExp(`line ${line}${seq === undefined ? '( \\(seq \\d+\\))?' : ` \\(seq ${seq}\\)`}:`));
  return err;
}

describe('AccessJournal: the chain', () => {
  test('lines are canonical JSON with seq, prev, time and the input; hashes chain from 64 zeros', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const j = await AccessJournal.open(path, { now: () => T0 });
    assert.deepEqual(j.head(), { seq: 0, hash: JOURNAL_GENESIS });
    const a = await j.append(input(1));
    const b = await j.append(input(2, { version: undefined, drill: true, keys: [], op: 'range', status: 404 }));
    assert.deepEqual(j.head(), b);
    await j.close();

    const [l1, l2] = lines(path);
    assert.equal(l1, canonicalJson({ seq: 1, prev: JOURNAL_GENESIS, time: '2025-01-02T03:04:05.006Z', ...input(1) }));
    assert.equal(l2, '{"activation":"act-1","client":"gemeente-utrecht","dataset":"brp","drill":true,"keys":[],"op":"range","prev":"' + a.hash + '","seq":2,"status":404,"time":"2025-01-02T03:04:05.006Z","tokenId":"0123456789abcdef"}');
    // The hash is SHA-256 over the prefix and the line bytes, without the newline.
    assert.equal(a.hash, toHex(sha256(utf8.encode('data-embassy access-journal v1\n'), utf8.encode(l1!))));
    // The golden vector of docs/format.md (Access journal).
    assert.equal(a.hash, '0038862d4239a3312ac73841103f8906abf8316b3dd284e3021139e94b56f923');
    assert.equal(b.hash, hashJournalLine(utf8.encode(l2!)));
    assert.deepEqual(await verifyJournal(path), { entries: 2, head: b, warnings: [] });
    assert.equal(await entryHashAt(path, 1), a.hash);
    assert.equal(await entryHashAt(path, 3), undefined);

    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(path)).mode & 0o777, 0o700);
  });

  test('reopening continues from the head', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const first = await writeJournal(path, 3);
    const j = await AccessJournal.open(path);
    assert.deepEqual(j.head(), first[2]);
    const next = await j.append(input(4));
    assert.equal(next.seq, 4);
    await j.close();
    const seen: number[] = [];
    const r = await verifyJournal(path, (e, hash, line) => {
      assert.equal(e.seq, line);
      if (e.seq <= 3) assert.equal(hash, first[e.seq - 1]!.hash);
      seen.push(e.seq);
    });
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.deepEqual(r.head, next);
  });

  test('a missing journal verifies as empty', async (t) => {
    assert.deepEqual(await verifyJournal(join(tempDir(t), JOURNAL_FILE)), { entries: 0, head: { seq: 0, hash: JOURNAL_GENESIS }, warnings: [] });
  });

  test('one writer at a time', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const j = await AccessJournal.open(path);
    await assert.rejects(AccessJournal.open(path), (e) => isEmbassyError(e, 'log.locked'));
    await j.close();
    const again = await AccessJournal.open(path);
    await again.close();
  });

  test('bad inputs are refused and leave the chain as it was', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const j = await AccessJournal.open(path);
    t.after(() => j.close());
    const bad: unknown[] = [
      { ...input(1), client: 7 },
      { ...input(1), drill: 'no' },
      { ...input(1), keys: 'x' },
      { ...input(1), keys: [1] },
      { ...input(1), version: -1 },
      { ...input(1), version: 1.5 },
      { ...input(1), status: 99 },
      null,
    ];
    for (const b of bad) await assert.rejects(j.append(b as JournalEntryInput), (e) => isEmbassyError(e, 'input.malformed'), JSON.stringify(b));
    await assert.rejects(j.append(input(1, { keys: ['\ud800'] })), (e) => isEmbassyError(e, 'json.invalid'));
    assert.deepEqual(j.head(), { seq: 0, hash: JOURNAL_GENESIS });
    assert.equal((await j.append(input(1))).seq, 1);
  });
});

describe('AccessJournal: group commit', () => {
  test('concurrent appends get seq in call order, all resolve, all are durable and chained', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const j = await AccessJournal.open(path);
    const n = 2000;
    const resolvedOrder: number[] = [];
    const ps = Array.from({ length: n }, (_, i) =>
      j.append(input(i, { keys: [`k${i}`] })).then((r) => {
        resolvedOrder.push(r.seq);
        return r;
      }),
    );
    // A second wave while the first is in flight.
    const more = Array.from({ length: 100 }, (_, i) => j.append(input(n + i, { keys: [`k${n + i}`] })));
    const all = await Promise.all([...ps, ...more]);
    assert.deepEqual(all.map((r) => r.seq), Array.from({ length: n + 100 }, (_, i) => i + 1));
    assert.deepEqual(resolvedOrder.slice(0, n), Array.from({ length: n }, (_, i) => i + 1), 'acknowledged in order');
    assert.deepEqual(j.head(), all.at(-1));
    await j.close();

    // What resolved is on disk: every line, in call order, chained.
    const ls = lines(path);
    assert.equal(ls.length, n + 100);
    ls.forEach((l, i) => assert.deepEqual(JSON.parse(l).keys, [`k${i}`]));
    const v = await verifyJournal(path);
    assert.equal(v.entries, n + 100);
    assert.deepEqual(v.head, all.at(-1));
  });

  test('close waits for pending appends', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const j = await AccessJournal.open(path);
    const ps = Array.from({ length: 50 }, (_, i) => j.append(input(i)));
    await j.close();
    assert.equal((await Promise.all(ps)).length, 50);
    assert.equal(lines(path).length, 50);
    await assert.rejects(j.append(input(51)), (e) => isEmbassyError(e, 'store.io'));
  });
  test('a failed write refuses its batch and every later append; a reopen keeps what was acknowledged', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const j = await AccessJournal.open(path);
    const first = await j.append(input(1));
    // Fault: the file handle goes bad under the journal (as a disk error would make it).
    await (j as unknown as { fh: FileHandle }).fh.close();
    const batch = [j.append(input(2)), j.append(input(3))];
    for (const p of batch) await assert.rejects(p, (e) => isEmbassyError(e, 'store.io'));
    await assert.rejects(j.append(input(4)), (e) => isEmbassyError(e, 'store.io'), 'fails closed');
    await j.close().catch(() => undefined); // releases the lock even so
    const again = await AccessJournal.open(path);
    assert.deepEqual(again.head(), first);
    await again.close();
  });
});

describe('verifyJournal: tampering', () => {
  test('an edited line is detected at the line after it', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    await writeJournal(path, 5);
    const ls = lines(path);
    ls[2] = ls[2]!.replace('999990003', '999990099');
    setLines(path, ls);
    const e = await rejectsCorrupt(verifyJournal(path), 4, 4);
    assert.match(e.message, /prev does not match the hash of line 3/);
    assert.ok(!e.message.includes('999990099'), 'no record keys in errors');
  });

  test('a removed line is detected', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    await writeJournal(path, 5);
    const ls = lines(path);
    ls.splice(1, 1);
    setLines(path, ls);
    await rejectsCorrupt(verifyJournal(path), 2, 3);
    // The first line removed: seq 2 where 1 was due.
    const path2 = join(tempDir(t), JOURNAL_FILE);
    await writeJournal(path2, 3);
    setLines(path2, lines(path2).slice(1));
    await rejectsCorrupt(verifyJournal(path2), 1, 2);
  });

  test('an inserted line is detected, even one with the right seq and prev', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const heads = await writeJournal(path, 4);
    const ls = lines(path);
    // A forged line 3 that chains from line 2: the old line 3 (now line 4) no longer fits.
    const forged = canonicalJson({ seq: 3, prev: heads[1]!.hash, time: '2025-01-02T03:04:05.006Z', ...input(77) });
    ls.splice(2, 0, forged);
    setLines(path, ls);
    await rejectsCorrupt(verifyJournal(path), 4, 3);
  });

  test('reordered lines are detected', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    await writeJournal(path, 5);
    const ls = lines(path);
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    setLines(path, ls);
    const e = await rejectsCorrupt(verifyJournal(path), 2, 3);
    assert.match(e.message, /expected seq 2/);
  });

  test('malformed lines: each refused with its line number', async (t) => {
    const dir = tempDir(t);
    const cases: [string, (ls: string[]) => void][] = [
      ['not json', (ls) => (ls[1] = 'hello')],
      ['empty line', (ls) => (ls[1] = '')],
      ['not canonical', (ls) => (ls[1] = ls[1]!.replace('{', '{ '))],
      ['unknown field', (ls) => (ls[1] = canonicalJson({ ...JSON.parse(ls[1]!), extra: 1 }))],
      ['bad prev', (ls) => (ls[1] = canonicalJson({ ...JSON.parse(ls[1]!), prev: 'x' }))],
      ['bad time', (ls) => (ls[1] = canonicalJson({ ...JSON.parse(ls[1]!), time: '2025-01-02' }))],
      ['missing field', (ls) => {
        const { status: _s, ...rest } = JSON.parse(ls[1]!);
        ls[1] = canonicalJson(rest);
      }],
      ['array', (ls) => (ls[1] = '[]')],
      ['invalid utf-8', (ls) => (ls[1] = ls[1]!.replace('gemeente', 'gem\udfffente'))],
    ];
    for (const [name, mutate] of cases) {
      const path = join(dir, name.replace(/\W/g, '_'), JOURNAL_FILE);
      await writeJournal(path, 3);
      const ls = lines(path);
      mutate(ls);
      if (name === 'invalid utf-8') {
        writeFileSync(path, Buffer.concat(ls.map((l) => Buffer.concat([Buffer.from(l.replace('\udfff', ''), 'utf8'), Buffer.from([0x0a])]))));
        const buf = readFileSync(path);
        const at = buf.indexOf('gem', buf.indexOf(0x0a) + 1);
        writeFileSync(path, Buffer.concat([buf.subarray(0, at + 3), Buffer.from([0xff]), buf.subarray(at + 3)]));
      } else setLines(path, ls);
      await rejectsCorrupt(verifyJournal(path), 2);
    }
  });
});

describe('AccessJournal.open: crash recovery', () => {
  test('a torn final line is cut off with a warning, and appends continue the chain', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    const heads = await writeJournal(path, 3);
    const full = readFileSync(path);
    appendFileSync(path, '{"activation":"act-1","client":"gem');
    const v = await verifyJournal(path);
    assert.equal(v.entries, 3);
    assert.equal(v.warnings.length, 1, 'reported, not an error, by the read-only check');
    const warned: string[] = [];
    const j = await AccessJournal.open(path, { onWarning: (w) => warned.push(w) });
    assert.equal(warned.length, 1);
    assert.match(warned[0]!, /35 bytes without a newline after line 3.*cut off/);
    assert.deepEqual(j.warnings, warned);
    assert.deepEqual(readFileSync(path), full);
    assert.deepEqual(j.head(), heads[2]);
    assert.equal((await j.append(input(4))).seq, 4);
    await j.close();
    assert.equal((await verifyJournal(path)).entries, 4);
  });

  test('a complete final line that does not verify is refused, and the file is left as it was', async (t) => {
    const path = join(tempDir(t), JOURNAL_FILE);
    await writeJournal(path, 3);
    appendFileSync(path, canonicalJson({ seq: 4, prev: JOURNAL_GENESIS, time: '2025-01-02T03:04:05.006Z', ...input(4) }) + '\n');
    const before = readFileSync(path);
    await rejectsCorrupt(AccessJournal.open(path), 4, 4);
    assert.deepEqual(readFileSync(path), before);
    // The lock was released: once repaired, it opens.
    setLines(path, lines(path).slice(0, 3));
    const j = await AccessJournal.open(path);
    await j.close();
  });
});
