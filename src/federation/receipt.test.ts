// Receipts: a mirror's cosignature on a home checkpoint, opened strictly (openReceipt) and checked
// against the home's own log before the home stores it (acceptReceipt, ReceiptStore). One test per
// way a receipt can be wrong, asserting the code; the store keeps the newest per site with one
// history row per new size, across a reopen; and the text opens with the generic note opener.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { isEmbassyError, type ErrorCode } from '../errors.ts';
import { utf8 } from '../format/bytes.ts';
import { formatCheckpoint, parseCheckpoint } from '../log/checkpoint.ts';
import { cosignatureNoteSigner, formatCosignatureVerifierKey } from '../log/cosignature.ts';
import { formatVerifierKey, openNote, parseNote, parseVerifierKey, signNote, type VerifierKey } from '../log/note.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { MemoryLogStore } from '../store/memory-log-store.ts';
import { entry, testIdentity } from '../../test/support/log-identity.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { MAX_RECEIPT_SIZE, cosignCheckpoint, openReceipt } from './receipt.ts';
import { ReceiptStore, RECEIPTS_FILE, acceptReceipt, type HomeLogView } from './receipt-store.ts';

const home = testIdentity('den-haag.example/embassy', 1);

function cosigner(name: string, label: string, at: bigint) {
  const seed = sha256(utf8.encode(label));
  return {
    signer: cosignatureNoteSigner(name, seed, () => at),
    vkey: formatCosignatureVerifierKey(name, ed25519PublicKey(seed)),
  };
}

const groningen = cosigner('groningen', 'groningen seed', 1_700_000_100n);
const groningenKey = groningen.vkey;
/** Another key under the same site name. */
const impostor = cosigner('groningen', 'impostor seed', 1_700_000_100n);
const luxembourg = cosigner('luxembourg', 'luxembourg seed', 1_700_000_200n);

/** The home log at sizes 0, 10 and 310, with the note of each. */
async function homeLog() {
  const store = new MemoryLogStore();
  const writer = await LogWriter.create(store, home);
  const notes = new Map<bigint, string>([[0n, writer.note]]);
  let n = 0;
  for (const size of [10, 310]) {
    const r = await writer.append(Array.from({ length: size - n }, () => entry(n++)));
    notes.set(r.checkpoint.size, r.note);
  }
  const view: HomeLogView = { origin: home.origin, verifier: home.verifier, log: store, current: writer.checkpoint };
  return { store, writer, notes, view };
}

/** A log by the home's own key with other entries: a fork. */
async function forkAt(size: number): Promise<string> {
  const w = await LogWriter.create(new MemoryLogStore(), home);
  const r = await w.append(Array.from({ length: size }, (_, i) => utf8.encode(`fork ${i}`)));
  return r.note;
}

const MIRROR = { name: 'groningen', kind: 'mirror' as const, cosignVerifierKey: groningenKey };

function rejectsWith(code: ErrorCode) {
  return (e: unknown) => isEmbassyError(e, code);
}

describe('cosignCheckpoint and openReceipt', () => {
  test('cosign, then open: the checkpoint, the cosignature time, the note with both lines', async () => {
    const { notes, writer } = await homeLog();
    const note = notes.get(310n)!;
    const receipt = cosignCheckpoint(note, groningen.signer);
    assert.ok(receipt.startsWith(note), 'the receipt is the home note with one more line');
    assert.equal(parseNote(receipt).signatures.length, 2);
    const opened = openReceipt(receipt, home.origin, home.verifier, groningenKey);
    assert.deepEqual(opened.checkpoint, writer.checkpoint);
    assert.equal(opened.cosignedAt, 1_700_000_100n);
    assert.equal(opened.note, receipt);
  });

  test('the generic note opener verifies both signatures given both public keys', async () => {
    const { notes } = await homeLog();
    const receipt = cosignCheckpoint(notes.get(10n)!, groningen.signer);
    // Both as the vkey strings any C2SP tool takes.
    const logKey = parseVerifierKey(formatVerifierKey(home.origin, (home.verifier as VerifierKey).publicKey));
    const opened = openNote(receipt, [logKey, parseVerifierKey(groningenKey)]);
    assert.deepEqual(opened.verified.map((s) => s.name), [home.origin, 'groningen']);
    assert.deepEqual(opened.unverified, []);
    assert.equal(parseCheckpoint(opened.text).size, 10n);
    // Either key alone verifies its own line and leaves the other unverified.
    assert.deepEqual(openNote(receipt, [parseVerifierKey(groningenKey)]).unverified.map((s) => s.name), [home.origin]);
  });

  test('other cosignatures on the note are dropped from the opened receipt', async () => {
    const { notes } = await homeLog();
    const note = notes.get(310n)!;
    const both = cosignCheckpoint(cosignCheckpoint(note, luxembourg.signer), groningen.signer);
    const opened = openReceipt(both, home.origin, home.verifier, groningenKey);
    assert.equal(opened.note, cosignCheckpoint(note, groningen.signer));
    assert.equal(openReceipt(both, home.origin, home.verifier, luxembourg.vkey).note, cosignCheckpoint(note, luxembourg.signer));
  });

  test('a cosignature by another key (same site name, or another site): cosignature.invalid', async () => {
    const { notes } = await homeLog();
    const note = notes.get(310n)!;
    for (const other of [impostor, luxembourg]) {
      assert.throws(() => openReceipt(cosignCheckpoint(note, other.signer), home.origin, home.verifier, groningenKey), rejectsWith('cosignature.invalid'));
    }
    // A home note without any cosignature.
    assert.throws(() => openReceipt(note, home.origin, home.verifier, groningenKey), rejectsWith('cosignature.invalid'));
  });

  test('a flipped byte in the cosignature: cosignature.invalid', async () => {
    const { notes } = await homeLog();
    const receipt = cosignCheckpoint(notes.get(310n)!, groningen.signer);
    const lines = receipt.split('\n');
    const last = lines.at(-2)!;
    const [prefix, b64] = [last.slice(0, last.lastIndexOf(' ') + 1), last.slice(last.lastIndexOf(' ') + 1)];
    const raw = Buffer.from(b64, 'base64');
    raw[raw.length - 1]! ^= 1;
    lines[lines.length - 2] = prefix + raw.toString('base64');
    assert.throws(() => openReceipt(lines.join('\n'), home.origin, home.verifier, groningenKey), rejectsWith('cosignature.invalid'));
  });

  test('a tampered checkpoint body: no signature on it verifies', async () => {
    const { notes } = await homeLog();
    const receipt = cosignCheckpoint(notes.get(310n)!, groningen.signer);
    for (const tampered of [receipt.replace('\n310\n', '\n311\n'), receipt.replace(home.origin + '\n', home.origin + '\nextension\n')]) {
      assert.notEqual(tampered, receipt);
      // The log's line is checked first, and fails first.
      assert.throws(() => openReceipt(tampered, home.origin, home.verifier, groningenKey), rejectsWith('note.bad-signature'));
    }
  });

  test('a checkpoint of another log: note.unverified; the home key with another origin: checkpoint.origin-mismatch', async () => {
    const other = testIdentity('elsewhere.example/log', 7);
    const w = await LogWriter.create(new MemoryLogStore(), other);
    const foreign = cosignCheckpoint((await w.append([entry(0)])).note, groningen.signer);
    assert.throws(() => openReceipt(foreign, home.origin, home.verifier, groningenKey), rejectsWith('note.unverified'));
    // Opened as the other log it is fine: the refusal is about whose log it is.
    assert.equal(openReceipt(foreign, other.origin, other.verifier, groningenKey).checkpoint.size, 1n);

    const { writer } = await homeLog();
    const renamed = signNote(formatCheckpoint({ ...writer.checkpoint, origin: 'elsewhere.example/log' }), [home.signer]);
    assert.throws(() => openReceipt(cosignCheckpoint(renamed, groningen.signer), home.origin, home.verifier, groningenKey), rejectsWith('checkpoint.origin-mismatch'));
  });

  test('a receipt without the log signature: note.unverified; not a note: note.malformed; too large: input.too-large', async () => {
    const { notes } = await homeLog();
    const receipt = cosignCheckpoint(notes.get(310n)!, groningen.signer);
    const lines = receipt.split('\n');
    const withoutLog = lines.filter((l) => !l.startsWith(`— ${home.origin} `)).join('\n');
    assert.notEqual(withoutLog, receipt);
    assert.throws(() => openReceipt(withoutLog, home.origin, home.verifier, groningenKey), rejectsWith('note.unverified'));
    assert.throws(() => openReceipt(parseNote(receipt).text, home.origin, home.verifier, groningenKey), rejectsWith('note.malformed'));
    assert.throws(() => openReceipt('x'.repeat(MAX_RECEIPT_SIZE + 1), home.origin, home.verifier, groningenKey), rejectsWith('input.too-large'));
    assert.throws(() => openReceipt(receipt, home.origin, home.verifier, 'not a key'), rejectsWith('key.malformed'));
  });
});

describe('acceptReceipt: checked against the home log', () => {
  test('receipts at, below and at size 0 of the home log are accepted', async (t) => {
    const { notes, view } = await homeLog();
    const store = ReceiptStore.open(join(tempDir(t), RECEIPTS_FILE));
    t.after(() => store.close());
    for (const size of [0n, 10n, 310n]) {
      const r = await acceptReceipt(store, view, MIRROR, cosignCheckpoint(notes.get(size)!, cosigner('groningen', 'groningen seed', 1_700_000_000n + size).signer));
      assert.equal(r.stored, true);
      assert.equal(r.receipt.size, size);
      assert.equal(r.receipt.kind, 'mirror');
      assert.equal(r.receipt.note, cosignCheckpoint(notes.get(size)!, cosigner('groningen', 'groningen seed', 1_700_000_000n + size).signer));
    }
  });

  test('a receipt beyond the home size: log.inconsistent, nothing stored', async (t) => {
    const { notes, view, writer } = await homeLog();
    const store = ReceiptStore.open(join(tempDir(t), RECEIPTS_FILE));
    t.after(() => store.close());
    // The home as it was at size 10 (it has not seen its own later checkpoint, or was rolled back).
    const older = { ...view, current: parseCheckpoint(parseNote(notes.get(10n)!).text) };
    await assert.rejects(acceptReceipt(store, older, MIRROR, cosignCheckpoint(notes.get(310n)!, groningen.signer)), rejectsWith('log.inconsistent'));
    assert.deepEqual(store.all(), []);
    assert.deepEqual(store.history(), []);
    assert.equal(writer.checkpoint.size, 310n);
  });

  test('a receipt for a tree the home never had (a fork by the same key): log.inconsistent', async (t) => {
    const { view } = await homeLog();
    const store = ReceiptStore.open(join(tempDir(t), RECEIPTS_FILE));
    t.after(() => store.close());
    for (const size of [5, 10, 310, 400]) {
      const fork = cosignCheckpoint(await forkAt(size), groningen.signer);
      // The receipt itself is fine: signed by the home key and validly cosigned.
      assert.equal(openReceipt(fork, home.origin, home.verifier, groningenKey).checkpoint.size, BigInt(size));
      await assert.rejects(acceptReceipt(store, view, MIRROR, fork), rejectsWith('log.inconsistent'), `fork of size ${size}`);
    }
    assert.deepEqual(store.all(), []);
  });

  test('the opening errors come through acceptReceipt unchanged', async (t) => {
    const { notes, view } = await homeLog();
    const store = ReceiptStore.open(join(tempDir(t), RECEIPTS_FILE));
    t.after(() => store.close());
    await assert.rejects(acceptReceipt(store, view, MIRROR, cosignCheckpoint(notes.get(310n)!, impostor.signer)), rejectsWith('cosignature.invalid'));
    await assert.rejects(acceptReceipt(store, view, { ...MIRROR, cosignVerifierKey: luxembourg.vkey }, cosignCheckpoint(notes.get(310n)!, groningen.signer)), rejectsWith('cosignature.invalid'));
    assert.deepEqual(store.all(), []);
  });
});

describe('ReceiptStore', () => {
  test('keeps the newest per site, one history row per new size, and survives a reopen', async (t) => {
    const { notes, view } = await homeLog();
    const path = join(tempDir(t), RECEIPTS_FILE);
    let store = ReceiptStore.open(path);
    const at = (size: bigint, time: bigint, who = 'groningen', label = 'groningen seed') =>
      cosignCheckpoint(notes.get(size)!, cosigner(who, label, time).signer);
    const accept = (text: string, site: Parameters<typeof acceptReceipt>[2] = MIRROR) => acceptReceipt(store, view, site, text);

    assert.equal((await accept(at(10n, 100n))).stored, true);
    assert.equal((await accept(at(310n, 200n))).stored, true);
    // Older, or the same size and not later: kept out, the newest stays.
    const stale = await accept(at(10n, 300n));
    assert.equal(stale.stored, false);
    assert.equal(stale.receipt.size, 310n);
    assert.equal(stale.receipt.cosignedAt, 200n);
    assert.equal((await accept(at(310n, 200n))).stored, false);
    assert.equal((await accept(at(310n, 150n))).stored, false);
    // Same size, later: replaces the note, adds no history row.
    const later = await accept(at(310n, 400n));
    assert.equal(later.stored, true);
    assert.equal(later.receipt.cosignedAt, 400n);
    assert.equal(later.receipt.note, at(310n, 400n));

    // Another site, and a witness, side by side.
    const lux = { name: 'luxembourg', kind: 'mirror' as const, cosignVerifierKey: luxembourg.vkey };
    assert.equal((await accept(at(10n, 500n, 'luxembourg', 'luxembourg seed'), lux)).stored, true);
    const witness = cosigner('auditor', 'auditor seed', 600n);
    assert.equal((await accept(cosignCheckpoint(notes.get(310n)!, witness.signer), { name: 'auditor', kind: 'witness', cosignVerifierKey: witness.vkey })).stored, true);

    const expectState = (s: ReceiptStore): void => {
      assert.deepEqual(s.all().map((r) => [r.site, r.kind, r.size, r.cosignedAt]), [
        ['auditor', 'witness', 310n, 600n],
        ['groningen', 'mirror', 310n, 400n],
        ['luxembourg', 'mirror', 10n, 500n],
      ]);
      assert.deepEqual(s.history('groningen').map((r) => [r.size, r.cosignedAt]), [[10n, 100n], [310n, 200n]]);
      assert.deepEqual(s.history().map((r) => r.site), ['groningen', 'groningen', 'luxembourg', 'auditor']);
      assert.equal(s.get('groningen')!.note, at(310n, 400n));
      assert.equal(s.get('nobody'), undefined);
      // What is stored opens as a receipt again.
      assert.equal(openReceipt(s.get('groningen')!.note, home.origin, home.verifier, groningenKey).cosignedAt, 400n);
    };
    expectState(store);
    store.close();
    store = ReceiptStore.open(path);
    t.after(() => store.close());
    expectState(store);
    // And the reopened store still refuses the older one.
    assert.equal((await accept(at(10n, 900n))).stored, false);
  });

  test('put compares sizes as numbers, not text', (t) => {
    const store = ReceiptStore.open(join(tempDir(t), RECEIPTS_FILE));
    t.after(() => store.close());
    const r = (size: bigint, cosignedAt: bigint) => ({ site: 's', kind: 'mirror' as const, size, cosignedAt, note: `n${size}` });
    assert.equal(store.put(r(9n, 1n), 1), true);
    assert.equal(store.put(r(10n, 1n), 2), true);
    assert.equal(store.put(r(9n, 5n), 3), false);
    assert.equal(store.get('s')!.size, 10n);
    assert.equal(store.get('s')!.receivedAtMs, 2);
    assert.deepEqual(store.history('s').map((h) => h.size), [9n, 10n]);
  });
});
