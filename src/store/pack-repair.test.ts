// Tests of PackObjectStore.repairPacks(): a store damaged on disk (a flipped byte, a truncated
// pack, a deleted pack, index rows off their entries, packs the index does not know, a stray
// file) is brought back to a clean verifyPacks with exactly the bad objects lost; a crash at each
// step of the repair, then reopen, keeps every good object; an undamaged store is left as it is.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toHex } from '../format/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ObjectId } from '../tree/types.ts';
import { testObject } from './object-store.conformance.ts';
import { encodePack, scanPack } from './pack-format.ts';
import { PackIndex } from './pack-index.ts';
import { PackObjectStore, type PackRepair, type PackStep, type PackStoreOptions } from './pack-store.ts';

/** About four 1000-byte objects per pack. */
const SMALL: PackStoreOptions = { targetPackSize: 4096 };

interface Obj {
  id: ObjectId;
  bytes: Uint8Array;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'embassy-repair-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openStore(t: TestContext, dir: string, options: PackStoreOptions = SMALL): Promise<PackObjectStore> {
  const s = await PackObjectStore.open(dir, options);
  t.after(() => s.close().catch(() => undefined));
  return s;
}

const packPath = (dir: string, hex: string): string => join(dir, 'packs', hex.slice(0, 2), `${hex}.pack`);

/** Pack files on disk, by name, with the ids of their entries in pack order. */
function packsOnDisk(dir: string): { hex: string; ids: string[] }[] {
  const out: { hex: string; ids: string[] }[] = [];
  for (const sub of readdirSync(join(dir, 'packs')).sort()) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue;
    for (const f of readdirSync(join(dir, 'packs', sub)).sort()) {
      if (!f.endsWith('.pack')) continue;
      const hex = f.slice(0, 64);
      out.push({ hex, ids: scanPack(new Uint8Array(readFileSync(packPath(dir, hex)))).entries.map((e) => toHex(e.id)) });
    }
  }
  return out;
}

async function fill(store: PackObjectStore, n: number, from = 0, size = 1000): Promise<Obj[]> {
  const objs = Array.from({ length: n }, (_, i) => testObject(from + i, size));
  for (const o of objs) await store.put(o.id, o.bytes);
  await store.flush();
  return objs;
}

/** Puts a pack file straight into packs/, named by the hash of its bytes, as a host could. */
function plantPack(dir: string, bytes: Uint8Array): string {
  const hex = toHex(sha256(bytes));
  mkdirSync(join(dir, 'packs', hex.slice(0, 2)), { recursive: true });
  writeFileSync(packPath(dir, hex), bytes);
  return hex;
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

function quarantined(dir: string): Map<string, Buffer> {
  const q = join(dir, 'quarantine');
  if (!existsSync(q)) return new Map();
  return new Map(readdirSync(q).sort().map((f) => [f, readFileSync(join(q, f))]));
}

/** A damaged store and what a repair of it must come to. */
interface Scenario {
  dir: string;
  store: PackObjectStore;
  /** Every object whose bytes are somewhere good, and whose id must be present after a repair. */
  survivors: Obj[];
  /** Objects that were good and indexed before the repair (readable after any crash and reopen). */
  goodBefore: Obj[];
  /** Objects that must be lost: ids in objectsLost, absent after the repair. */
  lost: Obj[];
  /** Objects that are never indexed (a bad entry of a pack the index did not know). */
  neverIndexed: Obj[];
  expected: Omit<PackRepair, 'objectsLost'>;
  /** Quarantine file name → the damaged bytes it must hold. */
  quarantine: Map<string, Buffer>;
}

/**
 * Ten packs of four objects, then: a byte flipped inside an object of pack A, pack B cut inside
 * its last object, pack C deleted, in pack D one row shifted by a byte (its object is there:
 * repointed) and one row of an object of pack E moved to D (not in D: dropped), an intact pack
 * and a pack with a bad entry that the index does not know, and a stray file.
 */
async function mixedDamage(t: TestContext, fault?: PackStoreOptions['fault']): Promise<Scenario> {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  const objs = await fill(first, 40);
  await first.close();
  const byId = new Map(objs.map((o) => [toHex(o.id), o]));
  const [A, B, C, D, E] = packsOnDisk(dir);
  assert.ok(E !== undefined && A!.ids.length === 4, 'ten packs of four');
  const shifted = byId.get(D!.ids[1]!)!;
  const moved = byId.get(E.ids[2]!)!;
  const db = new Database(join(dir, 'index.sqlite'));
  db.prepare('UPDATE objects SET offset = offset + 1 WHERE id = ?').run(shifted.id);
  db.prepare('UPDATE objects SET pack = ? WHERE id = ?').run(Buffer.from(D!.hex, 'hex'), moved.id);
  db.close();

  const store = await openStore(t, dir, { ...SMALL, fault });
  const aBytes = readFileSync(packPath(dir, A!.hex));
  const flippedEntry = scanPack(new Uint8Array(aBytes)).entries[1]!;
  aBytes[flippedEntry.offset + 10]! ^= 0x40;
  writeFileSync(packPath(dir, A!.hex), aBytes);
  const bSize = readFileSync(packPath(dir, B!.hex)).length;
  truncateSync(packPath(dir, B!.hex), bSize - 60); // the trailer and 48 bytes of the last object
  const bBytes = readFileSync(packPath(dir, B!.hex));
  unlinkSync(packPath(dir, C!.hex));
  writeFileSync(join(dir, 'packs', 'notes.txt'), 'an operator was here');
  const fresh = [testObject(1000, 300), testObject(1001, 300)];
  plantPack(dir, encodePack(fresh).bytes);
  const crafted = [testObject(2000, 200), testObject(2001, 200), testObject(2002, 200)];
  const cBytes = encodePack(crafted);
  cBytes.bytes[cBytes.entries[1]!.offset + 3]! ^= 1;
  const craftedHex = plantPack(dir, cBytes.bytes); // named by its hash: only the entry is bad

  const lostIds = new Set([A!.ids[1]!, B!.ids[3]!, ...C!.ids, toHex(moved.id)]);
  const lost = [...lostIds].map((h) => byId.get(h)!);
  const survivors = [...objs.filter((o) => !lostIds.has(toHex(o.id))), ...fresh, crafted[0]!, crafted[2]!];
  return {
    dir,
    store,
    survivors,
    goodBefore: survivors.filter((o) => o !== shifted),
    lost,
    neverIndexed: [crafted[1]!],
    expected: {
      packsDropped: [C!.hex],
      packsQuarantined: sorted([A!.hex, B!.hex, craftedHex]),
      objectsSalvaged: 3 + 3 + 2,
      strays: ['packs/notes.txt'],
    },
    quarantine: new Map([
      [`${A!.hex}.pack`, aBytes],
      [`${B!.hex}.pack`, bBytes],
      [`${craftedHex}.pack`, Buffer.from(cBytes.bytes)],
    ]),
  };
}

/**
 * Bytes appended to a complete pack P: its objects are all good and the salvaged pack is P's
 * original bytes again, under P's name; a row of another pack's object moved into P is dropped.
 */
async function appendedBytes(t: TestContext, fault?: PackStoreOptions['fault']): Promise<Scenario> {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  const objs = await fill(first, 12);
  await first.close();
  const [P, Q] = packsOnDisk(dir);
  const moved = objs.find((o) => toHex(o.id) === Q!.ids[0])!;
  const db = new Database(join(dir, 'index.sqlite'));
  db.prepare('UPDATE objects SET pack = ? WHERE id = ?').run(Buffer.from(P!.hex, 'hex'), moved.id);
  db.close();
  const store = await openStore(t, dir, { ...SMALL, fault });
  appendFileSync(packPath(dir, P!.hex), Buffer.alloc(20, 0xee));
  const survivors = objs.filter((o) => o !== moved);
  return {
    dir,
    store,
    survivors,
    goodBefore: survivors,
    lost: [moved],
    neverIndexed: [],
    expected: { packsDropped: [], packsQuarantined: [P!.hex], objectsSalvaged: 4, strays: [] },
    quarantine: new Map([[`${P!.hex}.pack`, readFileSync(packPath(dir, P!.hex))]]),
  };
}

/** The state every completed repair of a scenario must leave, checked on an open store. */
async function checkRepaired(s: Scenario, store: PackObjectStore): Promise<void> {
  const all = [...s.survivors, ...s.lost, ...s.neverIndexed];
  const present = await store.has(all.map((o) => o.id));
  assert.deepEqual(present, all.map((_, i) => i < s.survivors.length), 'has() is false exactly for the lost objects');
  for (const o of s.survivors) assert.deepEqual(await store.get(o.id), o.bytes);
  for (const o of [...s.lost, ...s.neverIndexed]) assert.equal(await store.get(o.id), undefined);
  const { findings } = await store.verifyPacks();
  assert.deepEqual(findings.filter((f) => f.kind !== 'stray-file'), []);
  assert.deepEqual(findings.map((f) => f.pack), s.expected.strays);
  assert.deepEqual(quarantined(s.dir), s.quarantine, 'each damaged file once, with its damaged bytes');
  for (const hex of s.expected.packsQuarantined) {
    // Gone from packs/, unless the salvaged pack took its name (then it holds good bytes).
    if (existsSync(packPath(s.dir, hex))) assert.equal(toHex(sha256(readFileSync(packPath(s.dir, hex)))), hex);
  }
}

describe('PackObjectStore.repairPacks: a damaged store', () => {
  test('verifyPacks sees the damage; the repair drops, salvages and quarantines exactly what it must', async (t) => {
    const s = await mixedDamage(t);
    const before = await s.store.verifyPacks();
    assert.deepEqual(
      sorted(new Set(before.findings.map((f) => f.kind))),
      sorted(['pack-missing', 'pack-hash-mismatch', 'pack-incomplete', 'object-hash-mismatch', 'index-mismatch', 'pack-unindexed', 'stray-file']),
    );
    const r = await s.store.repairPacks();
    assert.deepEqual(r, { ...s.expected, objectsLost: sorted(s.lost.map((o) => toHex(o.id))) });
    await checkRepaired(s, s.store);
    for (const hex of r.packsQuarantined) assert.equal(existsSync(packPath(s.dir, hex)), false);

    // Nothing left to do, then the lost objects come back with a plain put.
    assert.deepEqual(await s.store.repairPacks(), { packsDropped: [], packsQuarantined: [], objectsSalvaged: 0, objectsLost: [], strays: s.expected.strays });
    for (const o of s.lost) await s.store.put(o.id, o.bytes);
    await s.store.flush();
    for (const o of [...s.survivors, ...s.lost]) assert.deepEqual(await s.store.get(o.id), o.bytes);
    assert.deepEqual((await s.store.verifyPacks()).findings.map((f) => f.kind), ['stray-file']);

    // Reopened: nothing to recover, quarantine/ is not taken for packs.
    await s.store.close();
    const again = await openStore(t, s.dir);
    assert.deepEqual(again.recovery, { tempFilesRemoved: 0, indexRebuilt: false, packsIndexed: [], deletionsFinished: [], missingPacks: [], damagedPacks: [] });
    for (const o of [...s.survivors, ...s.lost]) assert.deepEqual(await again.get(o.id), o.bytes);
    assert.deepEqual((await again.verifyPacks()).findings.map((f) => f.kind), ['stray-file']);
  });

  test('bytes appended to a pack: every object kept, the pack rewritten under its own name', async (t) => {
    const s = await appendedBytes(t);
    const r = await s.store.repairPacks();
    assert.deepEqual(r, { ...s.expected, objectsLost: [toHex(s.lost[0]!.id)] });
    await checkRepaired(s, s.store);
    const [name] = s.quarantine.keys();
    assert.ok(existsSync(packPath(s.dir, name!.slice(0, 64))), 'the good pack is back under the name');
    assert.equal(s.store.stats().packs, 3);
  });

  test('a put made while the repair runs, of an object the repair loses, is kept', async (t) => {
    let victim: Obj | undefined;
    let store: PackObjectStore | undefined;
    const s = await mixedDamage(t, async (step) => {
      if (step === 'repair:missing-dropped' && victim !== undefined) await store!.put(victim.id, victim.bytes);
    });
    store = s.store;
    victim = s.lost[0]!; // the object with the flipped byte, in pack A
    const r = await s.store.repairPacks();
    assert.ok(r.objectsLost.includes(toHex(victim.id)));
    await s.store.flush();
    assert.deepEqual(await s.store.get(victim.id), victim.bytes);
  });
});

describe('PackObjectStore.repairPacks: what else the host may have done', () => {
  test('an object of a deleted pack that an unindexed pack also holds is not lost', async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, dir);
    const objs = await fill(store, 8);
    const [gone, kept] = packsOnDisk(dir);
    const byId = new Map(objs.map((o) => [toHex(o.id), o]));
    const copy = byId.get(gone!.ids[2]!)!;
    unlinkSync(packPath(dir, gone!.hex));
    plantPack(dir, encodePack([copy]).bytes);
    const r = await store.repairPacks();
    assert.deepEqual(r.packsDropped, [gone!.hex]);
    assert.deepEqual(r.objectsLost, sorted(gone!.ids.filter((h) => h !== toHex(copy.id))));
    for (const h of [...kept!.ids, toHex(copy.id)]) assert.deepEqual(await store.get(byId.get(h)!.id), byId.get(h)!.bytes);
    assert.deepEqual((await store.verifyPacks()).findings, []);
  });

  test('a damaged pack changed again during the repair: the newly bad object is lost, not indexed', async (t) => {
    const dir = tempDir(t);
    let victim: { hex: string; offset: number } | undefined;
    const store = await openStore(t, dir, {
      ...SMALL,
      fault: (step) => {
        if (step !== 'repair:quarantined' || victim === undefined) return;
        const b = readFileSync(packPath(dir, victim.hex));
        b[victim.offset]! ^= 1;
        writeFileSync(packPath(dir, victim.hex), b);
      },
    });
    const objs = await fill(store, 8);
    const [P] = packsOnDisk(dir);
    const entries = scanPack(new Uint8Array(readFileSync(packPath(dir, P!.hex)))).entries;
    const b = readFileSync(packPath(dir, P!.hex));
    b[entries[0]!.offset]! ^= 1;
    writeFileSync(packPath(dir, P!.hex), b);
    victim = { hex: P!.hex, offset: entries[3]!.offset + 7 }; // bad only once the repair has scanned it
    const r = await store.repairPacks();
    assert.deepEqual(r.objectsLost, sorted([P!.ids[0]!, P!.ids[3]!]));
    assert.equal(r.objectsSalvaged, 2);
    for (const o of objs) {
      if (r.objectsLost.includes(toHex(o.id))) assert.equal(await store.get(o.id), undefined);
      else assert.deepEqual(await store.get(o.id), o.bytes);
    }
    assert.deepEqual((await store.verifyPacks()).findings, []);
  });
});

describe('PackObjectStore.repairPacks: a crash at each step', () => {
  for (const [name, scenario] of [
    ['mixed damage', mixedDamage],
    ['appended bytes', appendedBytes],
  ] as const) {
    test(`${name}: reopen keeps every good object, and a second repair completes`, async (t) => {
      // The steps of one undisturbed repair, in order.
      const steps: string[] = [];
      let recording = false;
      const probe = await scenario(t, (step, detail) => {
        if (recording) steps.push(`${step} ${detail}`);
      });
      recording = true;
      await probe.store.repairPacks();
      const kinds = new Set(steps.map((s) => s.split(' ')[0] as PackStep));
      const expectedKinds: PackStep[] =
        name === 'mixed damage'
          ? ['repair:missing-dropped', 'repair:pack-indexed', 'repair:rows-fixed', 'repair:quarantined', 'pack:temp-written', 'pack:renamed', 'pack:durable', 'repair:packs-durable', 'repair:index-committed', 'repair:pack-deleted', 'repair:done']
          : ['repair:missing-dropped', 'repair:quarantined', 'pack:temp-written', 'pack:renamed', 'pack:durable', 'repair:packs-durable', 'repair:index-committed', 'repair:done'];
      assert.deepEqual(sorted(kinds), sorted(expectedKinds));

      for (let i = 0; i < steps.length; i++) {
        let seen = 0;
        let armed = false;
        const s = await scenario(t, (step, detail) => {
          if (armed && seen++ === i) throw new Error(`crash at ${step} ${detail}`);
        });
        armed = true;
        await assert.rejects(s.store.repairPacks(), (e) => e instanceof Error && e.message.includes('crash at'), `step ${i}: ${steps[i]}`);
        await s.store.close();

        const reopened = await openStore(t, s.dir);
        for (const o of s.goodBefore) assert.deepEqual(await reopened.get(o.id), o.bytes, `after a crash at ${steps[i]}`);
        const r = await reopened.repairPacks();
        assert.deepEqual(r.strays, s.expected.strays);
        // Whatever was lost is in one of the two reports; nothing else is.
        for (const id of r.objectsLost) assert.ok(s.lost.some((o) => toHex(o.id) === id), `${id} lost after a crash at ${steps[i]}`);
        await checkRepaired(s, reopened);
        await reopened.close();
      }
    });
  }
});

describe('PackObjectStore.repairPacks: an undamaged store', () => {
  /** Pack files and index rows, read with the store closed. */
  function snapshot(dir: string): unknown {
    const files = packsOnDisk(dir).map((p) => [p.hex, toHex(sha256(readFileSync(packPath(dir, p.hex))))]);
    const index = PackIndex.open(join(dir, 'index.sqlite'));
    try {
      const packs = index.packs().map((p) => ({ ...p, id: toHex(p.id), rows: index.objectsOfPack(p.id).map((e) => [toHex(e.id), e.offset, e.length]) }));
      return { files, packs, quarantine: existsSync(join(dir, 'quarantine')) };
    } finally {
      index.close();
    }
  }

  for (let seed = 0; seed < 6; seed++) {
    test(`shape ${seed}: the repair changes nothing`, async (t) => {
      const dir = tempDir(t);
      const target = [2048, 4096, 64 * 1024][seed % 3]!;
      const store = await openStore(t, dir, { targetPackSize: target });
      const n = 3 + seed * 11;
      const objs = Array.from({ length: n }, (_, i) => testObject(seed * 1000 + i));
      for (const o of objs) await store.put(o.id, o.bytes);
      await store.flush();
      if (seed % 2 === 1) await store.collectGarbage((id) => id[0]! % 3 !== 0); // leaves rewritten packs
      await store.close();
      const before = snapshot(dir);

      const again = await openStore(t, dir, { targetPackSize: target });
      const r = await again.repairPacks();
      assert.deepEqual(r, { packsDropped: [], packsQuarantined: [], objectsSalvaged: 0, objectsLost: [], strays: [] });
      await again.close();
      assert.deepEqual(snapshot(dir), before);
    });
  }
});
