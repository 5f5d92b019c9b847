// followOnce in process against a real home made with the CLI (init, dataset add, ingest through
// main()): the home's log directory is the remote log and its pack store, opened for reading,
// the object source. The mirror's state and store live in a temp dir. Checked: a first pass
// gives a receipt, a second is up to date, a new version is receipted again, and the receipt
// verifies; a scrubbed loss is repaired by a full pass; a source that lacks objects leaves the
// pass incomplete without a receipt, and the next pass fetches only what is still missing; a
// divergent home log (fork, rollback, tampered entries) is refused, recorded once, nothing written.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex, utf8 } from '../format/bytes.ts';
import { cosignatureNoteSigner, formatCosignatureVerifierKey } from '../log/cosignature.ts';
import { parseObjectHeader } from '../object/object.ts';
import { Site } from '../site/site.ts';
import { LogWriter } from '../sitelog/writer.ts';
import { FsLogStore } from '../store/fs-log-store.ts';
import { MemoryLogStore } from '../store/memory-log-store.ts';
import { PackObjectStore } from '../store/pack-store.ts';
import type { LogReader } from '../store/log-store.ts';
import type { ObjectId } from '../tree/types.ts';
import { verifyLog } from '../verify/log.ts';
import { openReceipt } from '../federation/receipt.ts';
import { testIdentity } from '../../test/support/log-identity.ts';
import { runMain } from '../../test/support/run-main.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { FollowState } from './follow-state.ts';
import { followOnce, type FollowDeps, type PassOutcome } from './follow.ts';
import type { ObjectSource } from './graph.ts';
import { scrubMirror } from './scrub.ts';

const DS = 'nl.test.personen';
const HOME = 'den-haag';
const cosignSeed = sha256(utf8.encode('groningen cosign seed'));
const MIRROR_KEY = formatCosignatureVerifierKey('groningen', ed25519PublicKey(cosignSeed));

async function ok(args: string[]): Promise<void> {
  const r = await runMain(args);
  assert.equal(r.code, 0, `embassy ${args.join(' ')}: ${r.stderr}`);
}

/** Every file under dir, relative path → hex. */
function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p).toString('hex'));
    }
  };
  walk(dir);
  return out;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function idsOf(store: PackObjectStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const id of store.ids()) out.add(toHex(id));
  return out;
}

/** An ObjectSource over a pack store, optionally withholding some ids; records what was asked. */
function sourceOver(store: PackObjectStore, withhold: (hex: string) => boolean = () => false) {
  const asked: string[] = [];
  const source: ObjectSource = {
    name: HOME,
    async fetchObjects(ids: ObjectId[]) {
      return Promise.all(
        ids.map(async (id) => {
          asked.push(toHex(id));
          return withhold(toHex(id)) ? undefined : store.get(id);
        }),
      );
    },
  };
  return { source, asked };
}

interface World {
  homeDir: string;
  mirrorDir: string;
  home: Site;
  homeObjects: PackObjectStore;
  objects: PackObjectStore;
  state: FollowState;
  followDir: string;
  /** Seals version `v` of the dataset at the home (through the CLI, in process). */
  ingest(v: number): Promise<void>;
  deps(overrides?: Partial<FollowDeps>): FollowDeps;
  clock: { now: bigint };
}

/** A home with one sealed version, a mirror that follows nothing yet. Closed by the caller. */
async function makeWorld(t: TestContext): Promise<World> {
  const root = tempDir(t);
  const homeDir = join(root, 'home');
  const mirrorDir = join(root, 'mirror');
  await ok(['init', '--dir', homeDir, '--name', HOME, '--role', 'home', '--origin', 'den-haag.example/embassy', '--json']);
  await ok(['dataset', 'add', '--dir', homeDir, '--id', DS, '--key', 'bsn', '--index', 'postcode', '--json']);
  const ingest = async (v: number): Promise<void> => {
    const file = join(root, `v${v}.ndjson`);
    const lines = Array.from({ length: 1500 }, (_, i) =>
      JSON.stringify({ bsn: String(100_000_000 + i), naam: `Persoon ${i}`, postcode: `${1000 + (i % 300)}AB`, versie: i % 7 === 0 ? v : 1 }),
    );
    writeFileSync(file, lines.join('\n') + '\n');
    await ok(['ingest', '--dir', homeDir, '--dataset', DS, file, '--source-time', `2026-0${v}-01T06:00:00Z`, '--json']);
  };
  await ingest(1);
  const home = await Site.open(homeDir);
  const homeObjects = await PackObjectStore.openReader(home.objectsDir());
  const objects = await PackObjectStore.open(join(mirrorDir, 'objects'));
  const state = await FollowState.open(mirrorDir, HOME);
  const clock = { now: 1_800_000_000n };
  const cosigner = cosignatureNoteSigner('groningen', cosignSeed, () => clock.now);
  const world: World = {
    homeDir,
    mirrorDir,
    home,
    homeObjects,
    objects,
    state,
    followDir: join(mirrorDir, 'follow', HOME),
    ingest,
    clock,
    deps: (overrides = {}) => ({
      home: { name: HOME, origin: home.config.origin, logVerifierKey: home.config.logVerifierKey },
      remoteLog: home.logStore(),
      sources: [sourceOver(homeObjects).source],
      objects,
      state,
      cosigner,
      // Small batches and flushes, so that a pass takes many requests and commits.
      graph: { batchSize: 16, flushBytes: 16 * 1024 },
      ...overrides,
    }),
  };
  return world;
}

async function closeWorld(w: World): Promise<void> {
  await w.objects.close();
  await w.homeObjects.close();
}

function homeCheckpoint(w: World): string {
  return readFileSync(join(w.homeDir, 'log', 'checkpoint'), 'utf8');
}

/** The receipt is the home's current checkpoint, cosigned by this mirror's key. */
function assertReceiptFor(w: World, o: PassOutcome): void {
  const opened = openReceipt(o.receipt!, w.home.config.origin, w.home.logVerifier(), MIRROR_KEY);
  const home = homeCheckpoint(w);
  assert.equal(String(opened.checkpoint.size), home.split('\n')[1]);
  assert.ok(o.receipt!.startsWith(home), 'the receipt is the home note with the cosignature added');
  assert.equal(opened.cosignedAt, w.clock.now);
}

/** Every object stored in the mirror has its children stored (the graph invariant). */
async function assertClosed(store: PackObjectStore): Promise<void> {
  const held = await idsOf(store);
  for (const hex of held) {
    const bytes = (await store.get(Buffer.from(hex, 'hex')))!;
    for (const c of parseObjectHeader(bytes).children) assert.ok(held.has(toHex(c)), `stored ${hex} but not its child ${toHex(c)}`);
  }
}

describe('followOnce', () => {
  test('first pass receipted, second up to date, a new version receipted again', { timeout: 120_000 }, async (t) => {
    const w = await makeWorld(t);
    try {
      const first = await followOnce(w.deps());
      assert.equal(first.status, 'receipted', first.error?.message);
      assert.equal(first.size, homeCheckpoint(w).split('\n')[1]);
      assert.equal(first.versions, 1);
      assert.equal(first.graph!.complete, true);
      assertReceiptFor(w, first);
      // Every object of the home, and nothing else, now at the mirror; the copy is the home's log.
      const homeIds = await idsOf(w.homeObjects);
      assert.ok(homeIds.size > 20, `${homeIds.size} objects`);
      assert.deepEqual(await idsOf(w.objects), homeIds);
      assert.equal(first.graph!.fetched, homeIds.size);
      const copy = new FsLogStore(join(w.followDir, 'log'));
      assert.equal(utf8.encode(homeCheckpoint(w)).length, (await copy.get('checkpoint'))!.length);
      assert.equal(new TextDecoder().decode((await copy.get('checkpoint'))!), homeCheckpoint(w));
      assert.deepEqual((await verifyLog(copy, w.home.logVerifier())).findings, []);
      // Durable state: the receipt, one history line, the last pass.
      assert.equal(await w.state.readReceipt(), first.receipt);
      assert.deepEqual((await w.state.receiptHistory()).map((h) => [h.size, h.cosignedAt]), [[first.size, String(w.clock.now)]]);
      assert.equal((await w.state.read()).lastPass?.status, 'receipted');

      w.clock.now += 60n;
      const second = await followOnce(w.deps());
      assert.equal(second.status, 'up-to-date');
      assert.equal(second.receipt, first.receipt, 'the receipt already given, not a new one');
      assert.equal(second.graph, undefined, 'nothing was walked');
      assert.equal((await w.state.receiptHistory()).length, 1);
      assert.equal((await w.state.read()).lastPass?.status, 'up-to-date');

      await w.ingest(2);
      const before = await idsOf(w.objects);
      const third = await followOnce(w.deps());
      assert.equal(third.status, 'receipted', third.error?.message);
      assert.equal(BigInt(third.size), BigInt(first.size) + 1n);
      assert.equal(third.versions, 2);
      assertReceiptFor(w, third);
      const homeIds2 = await idsOf(w.homeObjects);
      assert.deepEqual(await idsOf(w.objects), homeIds2);
      // Only what was new was fetched.
      assert.equal(third.graph!.fetched, [...homeIds2].filter((h) => !before.has(h)).length);
      assert.ok(third.graph!.fetched < homeIds2.size);
      assert.deepEqual((await w.state.receiptHistory()).map((h) => h.size), [first.size, third.size]);
      assert.equal(await w.state.readReceipt(), third.receipt);
    } finally {
      await closeWorld(w);
    }
  });

  test('a lost object is not noticed by a normal pass; after a scrub a full pass fetches it again', { timeout: 120_000 }, async (t) => {
    const w = await makeWorld(t);
    try {
      const first = await followOnce(w.deps());
      assert.equal(first.status, 'receipted');
      // Lose one leaf object (no children) from the mirror's store.
      let victim: string | undefined;
      for (const hex of await idsOf(w.objects)) {
        if (parseObjectHeader((await w.objects.get(Buffer.from(hex, 'hex')))!).children.length === 0) {
          victim = hex;
          break;
        }
      }
      assert.ok(victim);
      await w.objects.collectGarbage((id) => toHex(id) !== victim);
      assert.deepEqual(await w.objects.has([Buffer.from(victim, 'hex')]), [false]);

      // Held roots are taken as complete subgraphs: only a scrub finds the hole.
      const blind = await followOnce(w.deps());
      assert.equal(blind.status, 'up-to-date');
      assert.deepEqual(await w.objects.has([Buffer.from(victim, 'hex')]), [false]);

      const scrub = await scrubMirror(w.objects, [{ home: w.deps().home, state: w.state }]);
      assert.equal(scrub.damaged, true);
      assert.deepEqual(scrub.homes.map((h) => [h.home, h.missing > 0, h.needsFullWalk]), [[HOME, true, true]]);
      assert.equal((await w.state.read()).needsFullWalk, true);
      const receiptFile = readOptional(join(w.followDir, 'receipt'));
      const history = readOptional(join(w.followDir, 'receipts.jsonl'));

      // A full pass whose source also lacks it: incomplete, still marked, receipt files untouched.
      const lacking = await followOnce(w.deps({ sources: [sourceOver(w.homeObjects, (h) => h === victim).source] }));
      assert.equal(lacking.status, 'incomplete');
      assert.equal(lacking.error?.code, 'sync.incomplete');
      assert.deepEqual(lacking.graph!.missing, [victim]);
      assert.equal(lacking.receipt, undefined);
      assert.equal((await w.state.read()).needsFullWalk, true);

      const { source, asked } = sourceOver(w.homeObjects);
      const full = await followOnce(w.deps({ sources: [source] }));
      assert.equal(full.status, 'up-to-date', full.error?.message);
      assert.equal(full.graph!.fetched, 1, 'only the lost object is fetched; the rest is read and checked locally');
      assert.deepEqual(asked, [victim]);
      assert.deepEqual(await w.objects.has([Buffer.from(victim, 'hex')]), [true]);
      assert.equal((await w.state.read()).needsFullWalk, false);
      assert.equal(readOptional(join(w.followDir, 'receipt')), receiptFile);
      assert.equal(readOptional(join(w.followDir, 'receipts.jsonl')), history);
      const clean = await scrubMirror(w.objects, [{ home: w.deps().home, state: w.state }]);
      assert.equal(clean.damaged, false);
      await assertClosed(w.objects);
    } finally {
      await closeWorld(w);
    }
  });

  test('a source missing objects: incomplete, no receipt; the next pass fetches only what is missing', { timeout: 120_000 }, async (t) => {
    const w = await makeWorld(t);
    try {
      const first = await followOnce(w.deps());
      assert.equal(first.status, 'receipted');
      await w.ingest(2);
      const held = await idsOf(w.objects);
      const fresh = [...(await idsOf(w.homeObjects))].filter((h) => !held.has(h));
      assert.ok(fresh.length > 4, `${fresh.length} new objects`);
      // Withhold every third new leaf: every node above is fetched, so the walk reaches them all.
      const leaves: string[] = [];
      for (const h of fresh) if (parseObjectHeader((await w.homeObjects.get(Buffer.from(h, 'hex')))!).children.length === 0) leaves.push(h);
      const withheld = new Set(leaves.filter((_, i) => i % 3 === 0));
      assert.ok(withheld.size > 0 && withheld.size < fresh.length);
      const receiptFile = readOptional(join(w.followDir, 'receipt'));
      const history = readOptional(join(w.followDir, 'receipts.jsonl'));
      assert.ok(receiptFile !== undefined && history !== undefined);

      const partial = await followOnce(w.deps({ sources: [sourceOver(w.homeObjects, (h) => withheld.has(h)).source] }));
      assert.equal(partial.status, 'incomplete');
      assert.equal(partial.error?.code, 'sync.incomplete');
      assert.equal(partial.receipt, undefined);
      assert.deepEqual(new Set(partial.graph!.missing), withheld);
      assert.equal(partial.graph!.complete, false);
      assert.equal(readOptional(join(w.followDir, 'receipt')), receiptFile);
      assert.equal(readOptional(join(w.followDir, 'receipts.jsonl')), history);
      assert.equal((await w.state.read()).lastPass?.status, 'incomplete');
      // The log copy moved on (it is the home's signed log); only the receipt waits.
      assert.equal(new TextDecoder().decode((await w.state.logStore().get('checkpoint'))!), homeCheckpoint(w));
      await assertClosed(w.objects);

      // No source at all: incomplete too.
      const none = await followOnce(w.deps({ sources: [] }));
      assert.equal(none.status, 'incomplete');

      const stored = await idsOf(w.objects);
      const still = fresh.filter((h) => !stored.has(h));
      assert.ok(still.length < fresh.length, 'the incomplete pass kept what was whole');
      const done = await followOnce(w.deps());
      assert.equal(done.status, 'receipted', done.error?.message);
      assert.equal(done.graph!.fetched, still.length);
      assertReceiptFor(w, done);
      assert.equal((await w.state.receiptHistory()).length, 2);
    } finally {
      await closeWorld(w);
    }
  });

  test('a source serving bytes that do not hash to their id is not trusted', { timeout: 120_000 }, async (t) => {
    const w = await makeWorld(t);
    try {
      const real = sourceOver(w.homeObjects).source;
      const liar: ObjectSource = {
        name: 'liar',
        async fetchObjects(ids) {
          const got = await real.fetchObjects(ids);
          return got.map((b) => (b === undefined ? b : Uint8Array.from(b, (x, i) => (i === b.length - 1 ? x ^ 1 : x))));
        },
      };
      const o = await followOnce(w.deps({ sources: [liar] }));
      assert.equal(o.status, 'incomplete');
      assert.deepEqual(await idsOf(w.objects), new Set());
      assert.ok(o.graph!.failures.some((f) => f.error.startsWith('object.id-mismatch')));
      // With the honest home after the liar, the pass completes.
      const fixed = await followOnce(w.deps({ sources: [liar, real] }));
      assert.equal(fixed.status, 'receipted');
    } finally {
      await closeWorld(w);
    }
  });

  describe('a divergent home log is refused, recorded once, and nothing is written', () => {
    async function refusedTwice(w: World, remoteLog: LogReader, kind: string): Promise<void> {
      const logBefore = filesOf(join(w.followDir, 'log'));
      const receiptFile = readOptional(join(w.followDir, 'receipt'));
      const history = readOptional(join(w.followDir, 'receipts.jsonl'));
      const objectsBefore = await idsOf(w.objects);
      const held = new TextDecoder().decode((await w.state.logStore().get('checkpoint'))!);
      const recorded = (await w.state.read()).divergences.length;
      for (let i = 0; i < 2; i++) {
        const o = await followOnce(w.deps({ remoteLog }));
        assert.equal(o.status, 'refused');
        assert.equal(o.error?.code, 'log.inconsistent');
        assert.equal(o.divergence?.kind, kind);
        assert.equal(o.divergence?.held, held);
        assert.equal(o.receipt, undefined);
        assert.equal(o.size, held.split('\n')[1], 'the size is the copy’s');
      }
      const s = await w.state.read();
      assert.equal(s.divergences.length, recorded + 1, 'recorded once');
      const d = s.divergences.at(-1)!;
      assert.equal(d.kind, kind);
      assert.equal(d.held, held);
      assert.equal(d.presented, new TextDecoder().decode((await remoteLog.get('checkpoint'))!));
      assert.ok(!Number.isNaN(Date.parse(d.at)));
      assert.equal(s.lastPass?.status, 'refused');
      assert.deepEqual(filesOf(join(w.followDir, 'log')), logBefore);
      assert.equal(readOptional(join(w.followDir, 'receipt')), receiptFile);
      assert.equal(readOptional(join(w.followDir, 'receipts.jsonl')), history);
      assert.deepEqual(await idsOf(w.objects), objectsBefore);
    }

    test('fork, rollback and tampered entries; the real home is followed again afterwards', { timeout: 120_000 }, async (t) => {
      const w = await makeWorld(t);
      try {
        const first = await followOnce(w.deps());
        assert.equal(first.status, 'receipted');
        // Keep the home log as it is now, for a rollback later.
        const atV1 = new MemoryLogStore();
        for (const [path, hex] of filesOf(join(w.homeDir, 'log'))) {
          if (path === 'checkpoint') await atV1.commit(Buffer.from(hex, 'hex'));
          else if (!path.startsWith('.')) await atV1.put(path, Buffer.from(hex, 'hex'));
        }

        // Fork: the home's own key signs other entries of the same size.
        const identity = await w.home.logIdentity();
        const fork = new MemoryLogStore();
        await (await LogWriter.create(fork, identity)).append(Array.from({ length: Number(first.size) }, (_, i) => utf8.encode(`{"fork":${i}}`)));
        await refusedTwice(w, fork, 'fork');

        await w.ingest(2);
        const second = await followOnce(w.deps());
        assert.equal(second.status, 'receipted');

        // Rollback: the home shows the checkpoint from before version 2.
        await refusedTwice(w, atV1, 'rollback');

        // Tampered entries: the home's new checkpoint, a byte of the new entry flipped on the way.
        await w.ingest(3);
        const home = w.home.logStore();
        const tampering: LogReader = {
          async get(path) {
            const bytes = await home.get(path);
            if (bytes === undefined || !path.startsWith('tile/entries/')) return bytes;
            bytes[bytes.length - 2]! ^= 0x01;
            return bytes;
          },
        };
        await refusedTwice(w, tampering, 'entries-mismatch');
        assert.equal((await w.state.read()).divergences.length, 3);

        const back = await followOnce(w.deps());
        assert.equal(back.status, 'receipted', back.error?.message);
        assertReceiptFor(w, back);
        assert.equal((await w.state.receiptHistory()).length, 3);
      } finally {
        await closeWorld(w);
      }
    });

    test('a home checkpoint signed by another key is refused (not recorded as a divergence)', { timeout: 120_000 }, async (t) => {
      const w = await makeWorld(t);
      try {
        const other = new MemoryLogStore();
        // The home's origin and key name, another key.
        await (await LogWriter.create(other, testIdentity(w.home.config.origin, 9))).append([utf8.encode('{}')]);
        const o = await followOnce(w.deps({ remoteLog: other }));
        assert.equal(o.status, 'refused');
        assert.equal(o.error?.code, 'note.unverified');
        assert.equal(o.divergence, undefined);
        assert.deepEqual((await w.state.read()).divergences, []);
        assert.equal(await w.state.readReceipt(), undefined);
        // A home without a checkpoint (not reachable, or empty): incomplete, try again later.
        const empty = await followOnce(w.deps({ remoteLog: new MemoryLogStore() }));
        assert.equal(empty.status, 'incomplete');
        assert.equal(empty.error?.code, 'store.io');
      } finally {
        await closeWorld(w);
      }
    });
  });
});
