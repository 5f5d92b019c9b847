// Helpers for the network and malicious-peer fault tests (test/fault/network.test.ts,
// test/fault/malicious-home.test.ts): the object graph a checkpoint commits to, read from the
// home's own log and store; an audit that watches a running mirror and checks, whenever a new
// receipt appears, that the mirror's store holds that checkpoint's whole graph (a receipt is a
// promise that the copy is complete, so a receipt for a half-written graph is the bug we hunt);
// and byte snapshots of directories, to prove that a refused pass wrote nothing.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { applyStatement, readLogEntries, type Catalog } from '../../src/catalog/catalog.ts';
import { parseStatement } from '../../src/format/statement.ts';
import { toHex } from '../../src/format/bytes.ts';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import { parseNote } from '../../src/log/note.ts';
import { parseObjectHeader } from '../../src/object/object.ts';
import { FsLogStore } from '../../src/store/fs-log-store.ts';
import { PackObjectStore } from '../../src/store/pack-store.ts';
import { retainedRoots } from '../../src/sync/follow.ts';
import type { ObjectId } from '../../src/tree/types.ts';

export { embassyAsync } from '../support/cli.ts';

/** The size of a site's own log (its checkpoint file). */
export function logSize(siteDir: string): bigint {
  return BigInt(readFileSync(join(siteDir, 'log', 'checkpoint'), 'utf8').split('\n')[1]!);
}

/** The tree size a receipt (or any checkpoint note) is for. */
export function noteSize(note: string): bigint {
  return parseCheckpoint(parseNote(note).text).size;
}

/**
 * The catalog a home log had at `size`: its entries below `size`, read from the home's log as it
 * is now (append-only, so the first `size` entries are those of the checkpoint at `size`). Only
 * `datasets` is meaningful; the checkpoint fields are placeholders.
 */
export async function catalogAt(homeDir: string, size: bigint): Promise<Catalog> {
  const log = new FsLogStore(join(homeDir, 'log'));
  const current = logSize(homeDir);
  if (size > current) throw new Error(`catalogAt: the home log has ${current} entries, asked for ${size}`);
  const catalog: Catalog = { checkpoint: { origin: '', size, root: new Uint8Array(32), extensions: [] }, checkpointNote: '', datasets: new Map(), statements: 0 };
  for await (const { index, entry } of readLogEntries(log, current)) {
    if (index >= size) break;
    catalog.statements++;
    applyStatement(catalog, parseStatement(entry), index);
  }
  return catalog;
}

export interface GraphObject {
  id: ObjectId;
  hex: string;
  /** Its children's ids, hex. */
  children: string[];
  /** Stored size in bytes. */
  size: number;
}

/** Every object of every version retained at `size` (all of them when size is omitted), walked over the home's store. */
export async function homeGraph(homeDir: string, size = logSize(homeDir)): Promise<Map<string, GraphObject>> {
  const roots = retainedRoots(await catalogAt(homeDir, size));
  const store = await PackObjectStore.openReader(join(homeDir, 'objects'));
  const out = new Map<string, GraphObject>();
  try {
    let layer = roots;
    while (layer.length > 0) {
      const next: ObjectId[] = [];
      for (const id of layer) {
        const hex = toHex(id);
        if (out.has(hex)) continue;
        const bytes = await store.get(id);
        if (bytes === undefined) throw new Error(`homeGraph: the home store lacks object ${hex}`);
        const { children } = parseObjectHeader(bytes);
        out.set(hex, { id, hex, children: children.map(toHex), size: bytes.length });
        next.push(...children);
      }
      layer = next;
    }
  } finally {
    await store.close();
  }
  return out;
}

/** Ids (hex) in a mirror's store, read beside its running writer. */
export async function storedIds(siteDir: string): Promise<Set<string>> {
  const store = await PackObjectStore.openReader(join(siteDir, 'objects'));
  try {
    const out = new Set<string>();
    for await (const id of store.ids()) out.add(toHex(id));
    return out;
  } finally {
    await store.close();
  }
}

export interface AuditReport {
  /** Receipt sizes checked (from receipts.jsonl and the receipt file), in the order seen. */
  checked: bigint[];
  /** One line per receipt whose graph was not whole in the mirror's store when it was seen. */
  violations: string[];
}

/**
 * Watches a mirror's receipts for one home while the mirror runs: every new line of
 * follow/<home>/receipts.jsonl and every new follow/<home>/receipt is checked at once against
 * the mirror's store (opened read-only beside its writer): it must hold every object of every
 * version retained at the receipt's size. The store only grows, so a check a few ms late can
 * miss a receipt given early but never flags a good one.
 */
export class ReceiptAudit {
  private readonly report: AuditReport = { checked: [], violations: [] };
  private lines = 0;
  private lastNote = '';
  private readonly graphs = new Map<bigint, Map<string, GraphObject>>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private failure: unknown;

  private constructor(
    private readonly mirrorDir: string,
    private readonly homeDir: string,
    private readonly home: string,
  ) {}

  static start(mirrorDir: string, homeDir: string, home: string, intervalMs = 20): ReceiptAudit {
    const audit = new ReceiptAudit(mirrorDir, homeDir, home);
    audit.timer = setInterval(() => {
      audit.running = audit.running.then(() => audit.tick()).catch((e: unknown) => {
        audit.failure ??= e;
      });
    }, intervalMs);
    audit.timer.unref(); // a test that fails before stop() must still end
    return audit;
  }

  /** Checks once more, stops watching and returns what was seen; throws if the audit itself failed. */
  async stop(): Promise<AuditReport> {
    clearInterval(this.timer);
    await this.running;
    await this.tick();
    if (this.failure !== undefined) throw this.failure;
    return { checked: [...this.report.checked], violations: [...this.report.violations] };
  }

  /** The report so far (the audit keeps running). */
  snapshot(): AuditReport {
    return { checked: [...this.report.checked], violations: [...this.report.violations] };
  }

  private async tick(): Promise<void> {
    const dir = join(this.mirrorDir, 'follow', this.home);
    const fresh: { size: bigint; what: string }[] = [];
    const history = join(dir, 'receipts.jsonl');
    if (existsSync(history)) {
      const lines = readFileSync(history, 'utf8').split('\n');
      // Only complete lines (a line is written whole and then fsynced; the last may still be torn).
      const complete = lines.slice(0, -1);
      for (let i = this.lines; i < complete.length; i++) fresh.push({ size: BigInt((JSON.parse(complete[i]!) as { size: string }).size), what: `receipts.jsonl line ${i + 1}` });
      this.lines = Math.max(this.lines, complete.length);
    }
    const receiptPath = join(dir, 'receipt');
    if (existsSync(receiptPath)) {
      const note = readFileSync(receiptPath, 'utf8');
      if (note !== this.lastNote) {
        this.lastNote = note;
        fresh.push({ size: noteSize(note), what: 'receipt file' });
      }
    }
    if (fresh.length === 0) return;
    const held = await storedIds(this.mirrorDir);
    for (const { size, what } of fresh) {
      let graph = this.graphs.get(size);
      if (graph === undefined) {
        graph = await homeGraph(this.homeDir, size);
        this.graphs.set(size, graph);
      }
      const lacking = [...graph.keys()].filter((hex) => !held.has(hex));
      this.report.checked.push(size);
      if (lacking.length > 0) this.report.violations.push(`${what}: receipt for size ${size} while the store lacks ${lacking.length} of its ${graph.size} objects (first ${lacking[0]})`);
    }
  }
}

/** Every file under `dir` (recursively) with the SHA-256 of its bytes, by relative path. */
export function snapshotFiles(dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const rel = relative(dir, path);
      if (skip(rel)) continue;
      if (statSync(path).isDirectory()) walk(path);
      else out.set(rel, createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/**
 * Checks the mirror store's invariant (src/sync/graph.ts): an object is stored only with every
 * object below it, and every stored object hashes to its id (get() checks). Returns the
 * problems found, empty when the store is whole.
 */
export async function storeProblems(siteDir: string): Promise<string[]> {
  const store = await PackObjectStore.openReader(join(siteDir, 'objects'));
  const problems: string[] = [];
  try {
    const ids: ObjectId[] = [];
    for await (const id of store.ids()) ids.push(id);
    for (const id of ids) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await store.get(id);
      } catch (e) {
        problems.push(`object ${toHex(id)}: ${(e as Error).message}`);
        continue;
      }
      if (bytes === undefined) {
        problems.push(`object ${toHex(id)}: listed but not readable`);
        continue;
      }
      const children = parseObjectHeader(bytes).children;
      const held = children.length === 0 ? [] : await store.has(children);
      const lacking = children.filter((_, i) => !held[i]);
      if (lacking.length > 0) problems.push(`object ${toHex(id)}: stored without ${lacking.length} of its ${children.length} children`);
    }
  } finally {
    await store.close();
  }
  return problems;
}
