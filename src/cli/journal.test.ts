// `embassy journal verify|show` in real processes against a real site: a journal written by
// AccessJournal, access-digest statements appended to the site's log as a mirror's node does, and the tampering only a digest can catch (a cut tail, a re-chained forgery).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/support/tmp.ts';
import { embassy } from '../../test/support/cli.ts';
import { AccessJournal, JOURNAL_FILE, JOURNAL_GENESIS, hashJournalLine, type JournalEntryInput } from '../api/journal.ts';
import { canonicalJson } from '../format/canonical-json.ts';
import { utf8 } from '../format/bytes.ts';
import { EXIT } from './exit-codes.ts';
import { encodeStatement } from '../format/statement.ts';
import { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';

const input = (i: number, activation: string): JournalEntryInput => ({
  client: 'gemeente-utrecht', tokenId: '0123456789abcdef', activation, drill: activation === 'drill-1', dataset: 'brp', op: 'get', keys: [`99999${i}`], version: 2, status: 200,
});

async function makeSite(t: import('node:test').TestContext): Promise<{ dir: string; heads: { seq: number; hash: string }[] }> {
  const dir = join(tempDir(t), 'lux');
  const init = embassy(['init', '--dir', dir, '--name', 'luxembourg', '--role', 'mirror']);
  assert.equal(init.status, EXIT.OK, init.stderr);
  const j = await AccessJournal.open(join(dir, JOURNAL_FILE));
  const heads = await Promise.all([1, 2, 3, 4, 5].map((i) => j.append(input(i, i <= 3 ? 'act-1' : 'drill-1'))));
  await j.close();
  return { dir, heads };
}

/** Appends an access-digest statement to the site's log, as a mirror's node does (`statement add` refuses the reserved type). */
function addDigest(dir: string, activation: string, head: { seq: number; hash: string }): Promise<void> {
  return appendStatement(dir, { type: 'access-digest', activation, seq: head.seq, head: head.hash, at: '2025-01-02T03:04:05.006Z' });
}

async function appendStatement(dir: string, statement: unknown): Promise<void> {
  const site = await Site.open(dir);
  await site.withLock(async () => {
    const writer = await LogWriter.open(site.logStore(), await site.logIdentity());
    await writer.append([encodeStatement(statement)]);
  });
}

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').slice(0, -1);

describe('embassy journal (real processes)', () => {
  test('verify: chain and digests ok; show: every entry or one activation', async (t) => {
    const { dir, heads } = await makeSite(t);
    const empty = embassy(['journal', 'verify', '--dir', dir, '--json']);
    assert.equal(empty.status, EXIT.OK, empty.stderr);
    assert.deepEqual({ ...empty.json(), journal: undefined, logSize: undefined }, {
      ok: true, journal: undefined, logSize: undefined, entries: 5, head: heads[4], digestsChecked: 0, digests: 0, findings: [], warnings: [],
    });

    await addDigest(dir, 'act-1', heads[2]!);
    await addDigest(dir, 'drill-1', heads[4]!);
    const v = embassy(['journal', 'verify', '--dir', dir, '--json']);
    assert.equal(v.status, EXIT.OK, v.stdout + v.stderr);
    assert.equal(v.json().digestsChecked, 2);
    const text = embassy(['journal', 'verify', '--dir', dir]);
    assert.match(text.stdout, /5 entries, head seq 5 .*\n.*2 journal digest\(s\) \(access-digest, deactivation\), 2 checked.*\nok\n/);

    const all = embassy(['journal', 'show', '--dir', dir, '--json']);
    assert.equal(all.status, EXIT.OK, all.stderr);
    assert.deepEqual(all.json().map((e: { seq: number }) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(all.json()[2].hash, heads[2]!.hash);
    const drill = embassy(['journal', 'show', '--dir', dir, '--activation', 'drill-1']);
    assert.equal(drill.status, EXIT.OK, drill.stderr);
    const shown = drill.stdout.split('\n').slice(0, -1);
    assert.equal(shown.length, 2);
    assert.match(shown[0]!, /^ {5}4 {2}\d{4}-.*Z {2}gemeente-utrecht \(0123456789abcdef\) {2}drill-1 \[drill\] {2}brp@2 get 200 {2}999994$/);
    assert.match(embassy(['journal', 'show', '--dir', dir, '--activation', 'none']).stdout, /no entries under activation none \(5 in the journal\)/);
  });

  test('an edited line breaks the chain: verify and show exit 5 naming the line', async (t) => {
    const { dir } = await makeSite(t);
    const path = join(dir, JOURNAL_FILE);
    const ls = lines(path);
    ls[1] = ls[1]!.replace('999992', '999999');
    writeFileSync(path, ls.map((l) => l + '\n').join(''));
    const v = embassy(['journal', 'verify', '--dir', dir, '--json']);
    assert.equal(v.status, EXIT.INTEGRITY, v.stderr);
    assert.equal(v.json().ok, false);
    assert.match(v.json().findings[0].message, /line 3 \(seq 3\): prev does not match the hash of line 2/);
    const s = embassy(['journal', 'show', '--dir', dir, '--json']);
    assert.equal(s.status, EXIT.INTEGRITY);
    assert.equal(s.stdout, '', 'nothing shown from a broken journal');
    assert.equal(JSON.parse(s.stderr).error.code, 'log.corrupt');
  });

  test('a cut tail and a re-chained forgery pass the chain check but not the digests', async (t) => {
    const { dir, heads } = await makeSite(t);
    await addDigest(dir, 'drill-1', heads[4]!);
    await appendStatement(dir, { type: 'deactivation', activation: 'act-1', reason: 'operator', journal: { seq: 3, head: heads[2]!.hash }, at: '2025-01-02T03:04:05.006Z' });
    assert.equal(embassy(['journal', 'verify', '--dir', dir, '--json']).json().digestsChecked, 2);
    const path = join(dir, JOURNAL_FILE);
    const original = readFileSync(path);
    const backup = join(dir, 'journal.backup');
    cpSync(path, backup);

    // Cut after entry 3: the chain is fine, the digest for seq 5 has nothing to match.
    writeFileSync(path, lines(path).slice(0, 3).map((l) => l + '\n').join(''));
    const cut = embassy(['journal', 'verify', '--dir', dir, '--json']);
    assert.equal(cut.status, EXIT.INTEGRITY, cut.stdout);
    assert.match(cut.json().findings[0].message, /records seq 5, but the journal has 3 entries: it was cut short or replaced/);

    // Entry 4 rewritten and everything after it re-chained: only the digest shows it.
    const ls = original.toString('utf8').split('\n').slice(0, -1);
    let prev = heads[2]!.hash;
    for (let i = 3; i < ls.length; i++) {
      const e = JSON.parse(ls[i]!);
      if (i === 3) e.keys = ['111111'];
      e.prev = prev;
      ls[i] = canonicalJson(e);
      prev = hashJournalLine(utf8.encode(ls[i]!));
    }
    writeFileSync(path, ls.map((l) => l + '\n').join(''));
    const forged = embassy(['journal', 'verify', '--dir', dir, '--json']);
    assert.equal(forged.status, EXIT.INTEGRITY, forged.stdout);
    assert.equal(forged.json().entries, 5);
    assert.equal(forged.json().findings.length, 1, 'the deactivation digest at seq 3 still matches');
    assert.match(forged.json().findings[0].message, /journal entry 5 does not match the access-digest at log entry \d+ \(activation drill-1\)/);

    // The whole journal removed while the log says there were 5 entries.
    writeFileSync(path, '');
    const gone = embassy(['journal', 'verify', '--dir', dir]);
    assert.equal(gone.status, EXIT.INTEGRITY);
    assert.match(gone.stdout, /FINDING log.corrupt: the log's deactivation .*records seq 3, but the journal has 0 entries/);
    assert.match(gone.stdout, /FINDING log.corrupt: the log's access-digest .*records seq 5, but the journal has 0 entries/);

    cpSync(backup, path);
    assert.equal(embassy(['journal', 'verify', '--dir', dir]).status, EXIT.OK);
  });

  test('a digest of the empty journal matches 64 zeros (or an empty head); a torn tail is a warning', async (t) => {
    const { dir } = await makeSite(t);
    await addDigest(dir, 'act-0', { seq: 0, hash: JOURNAL_GENESIS });
    await addDigest(dir, 'act-0', { seq: 0, hash: '' });
    writeFileSync(join(dir, JOURNAL_FILE), readFileSync(join(dir, JOURNAL_FILE), 'utf8') + '{"activation":"act');
    const v = embassy(['journal', 'verify', '--dir', dir, '--json']);
    assert.equal(v.status, EXIT.OK, v.stdout);
    assert.equal(v.json().digestsChecked, 2);
    assert.match(v.json().warnings[0], /18 bytes without a newline after line 5/);
  });

  test('a missing site is a site error', (t) => {
    assert.equal(embassy(['journal', 'verify', '--dir', join(tempDir(t), 'none')]).status, EXIT.SITE);
  });
});
