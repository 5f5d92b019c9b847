// Helpers for the mirror kill -9 test (mirror-kill.test.ts): run `embassy` as a real child
// process and SIGKILL it at a chosen point (a fixed delay after its start, after it took the site
// lock or wrote its first pack, or once the store has gained N pack files); reopen a killed
// mirror's store and check what is durable (every stored object's children are stored); walk a
// home's object graph from its catalog; read a node's /metrics over mutual TLS.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBASSY_BIN } from '../support/cli.ts';
import { loadCatalog } from '../../src/catalog/catalog.ts';
import { toHex } from '../../src/format/bytes.ts';
import { parseNote } from '../../src/log/note.ts';
import { parseSiteCard } from '../../src/net/card.ts';
import { PeerClient } from '../../src/net/client.ts';
import { parseObjectHeader } from '../../src/object/object.ts';
import { Site } from '../../src/site/site.ts';
import { PackObjectStore, type PackRecovery } from '../../src/store/pack-store.ts';
import { retainedRoots } from '../../src/sync/follow.ts';
import type { ObjectId } from '../../src/tree/types.ts';

/** Pack files named under <objects>/packs (renamed into place; what is still in tmp/ is not counted). */
export function countPacks(objectsDir: string): number {
  let n = 0;
  let subdirs: string[];
  try {
    subdirs = readdirSync(join(objectsDir, 'packs'));
  } catch {
    return 0;
  }
  for (const d of subdirs) {
    try {
      n += readdirSync(join(objectsDir, 'packs', d)).filter((f) => f.endsWith('.pack')).length;
    } catch {
      // not a directory
    }
  }
  return n;
}

/** Resolves once `objectsDir` holds at least `count` pack files (polled every 5 ms). */
export async function untilPacks(objectsDir: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (countPacks(objectsDir) < count) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} packs in ${objectsDir}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** When to kill: at the first of these that comes (none: run to the end). */
export interface KillPoint {
  label: string;
  /** Ms after the spawn. */
  afterMs?: number;
  /** Ms after the process took the site lock (the lock file names its pid): its pass has begun. */
  afterLockMs?: number;
  /** Ms after the first pack file this process wrote: it is fetching and storing. */
  afterFirstPackMs?: number;
  /** Once the store holds this many more pack files than before the spawn. */
  packsGained?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function lockHolder(siteDir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(siteDir, 'lock'), 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

/**
 * Runs `embassy args` on the site in `siteDir` and SIGKILLs it at `point` (the lock file and the
 * pack count are polled every 5 ms); resolves once it has exited, killed or not (it may finish
 * first).
 */
export function runEmbassy(args: string[], siteDir: string, point: Omit<KillPoint, 'label'> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const objectsDir = join(siteDir, 'objects');
    const baseline = countPacks(objectsDir);
    const child = spawn(process.execPath, [EMBASSY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timers: NodeJS.Timeout[] = [];
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const after = (ms: number | undefined): void => {
      if (ms === 0) kill();
      else if (ms !== undefined) timers.push(setTimeout(kill, ms));
    };
    after(point.afterMs);
    let locked = false;
    let packed = false;
    const poll = setInterval(() => {
      if (!locked && lockHolder(siteDir) === child.pid) {
        locked = true;
        after(point.afterLockMs);
      }
      if (!locked) return;
      const packs = countPacks(objectsDir);
      if (!packed && packs > baseline) {
        packed = true;
        after(point.afterFirstPackMs);
      }
      if (point.packsGained !== undefined && packs >= baseline + point.packsGained) kill();
    }, 5);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface StoreState {
  /** Hex ids of every object in the index after recovery. */
  ids: Set<string>;
  /** "parent → child" for every stored object with a child that is not stored. */
  orphans: string[];
  recovery: PackRecovery;
}

/**
 * Opens a (killed) mirror's store as its writer — recovery runs, a dead writer's lock is taken
 * over — reads every stored object and checks that its children are stored too; then closes it.
 */
export async function inspectStore(objectsDir: string): Promise<StoreState> {
  const store = await PackObjectStore.open(objectsDir);
  try {
    const children = new Map<string, ObjectId[]>();
    for await (const id of store.ids()) {
      const bytes = await store.get(id);
      if (bytes === undefined) throw new Error(`stored object ${toHex(id)} cannot be read back`);
      children.set(toHex(id), parseObjectHeader(bytes).children);
    }
    const orphans: string[] = [];
    for (const [parent, kids] of children) {
      for (const k of kids) if (!children.has(toHex(k))) orphans.push(`${parent} → ${toHex(k)}`);
    }
    return { ids: new Set(children.keys()), orphans, recovery: store.recovery };
  } finally {
    await store.close();
  }
}

export interface HomeGraph {
  /** Hex ids of every object of every retained version. */
  ids: Set<string>;
  /** The home's checkpoint size. */
  size: bigint;
  /** The checkpoint note's text (without signatures). */
  checkpointText: string;
}

/** Every object reachable from the retained roots of the home's catalog, read from its store. */
export async function homeGraph(homeDir: string): Promise<HomeGraph> {
  const site = await Site.open(homeDir);
  const catalog = await loadCatalog(site.logStore(), site.logVerifier());
  const store = await PackObjectStore.openReader(site.objectsDir());
  try {
    const ids = new Set<string>();
    let layer: ObjectId[] = retainedRoots(catalog);
    while (layer.length > 0) {
      const next: ObjectId[] = [];
      for (const id of layer) {
        const hex = toHex(id);
        if (ids.has(hex)) continue;
        ids.add(hex);
        const bytes = await store.get(id);
        if (bytes === undefined) throw new Error(`home object ${hex} is missing from ${site.objectsDir()}`);
        next.push(...parseObjectHeader(bytes).children);
      }
      layer = next;
    }
    return { ids, size: catalog.checkpoint.size, checkpointText: parseNote(catalog.checkpointNote).text };
  } finally {
    await store.close();
  }
}

/**
 * embassy_objects_served_total from a peer's GET /metrics, asked over mutual TLS as `siteDir`
 * (its TLS identity) of the peer whose card is at `<siteDir>/peers/<peer>.json`.
 */
export async function objectsServed(siteDir: string, peer: string): Promise<number> {
  const site = await Site.open(siteDir);
  const card = parseSiteCard(readFileSync(join(siteDir, 'peers', `${peer}.json`)));
  const client = new PeerClient(await site.readTlsIdentity());
  try {
    const res = await client.request(card, 'GET', 'metrics');
    if (res.status !== 200) throw new Error(`GET /metrics of ${peer} answered ${res.status}`);
    const m = /^embassy_objects_served_total (\S+)$/m.exec(new TextDecoder().decode(res.body));
    if (m === null) throw new Error(`GET /metrics of ${peer} has no embassy_objects_served_total`);
    return Number(m[1]);
  } finally {
    client.close();
  }
}
