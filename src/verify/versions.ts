// Verification of every retained version of every dataset (an fsck of a site's data).
// Blind (no keys): every object of every version's graph is present, hashes to its id, and its
// header parses — what a mirror can check. With keys: every node is decrypted and the whole tree
// is rechecked (order, boundaries, counts, chunk hashes) and its commitment recomputed and
// compared with the signed version statement. Findings are collected, never thrown.
import { EmbassyError, type ErrorCode } from '../errors.ts';
import { toHex } from '../format/bytes.ts';
import { indexRoot, retainedVersions, versionRoot, type Catalog, type DatasetInfo, type VersionInfo } from '../catalog/catalog.ts';
import { walkGraph } from '../object/walk.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { ObjectId } from '../tree/types.ts';
import { checkTree } from '../tree/check.ts';
import type { TreeParams, TreeRoot, TreeStore } from '../tree/types.ts';

export interface VersionFinding {
  code: ErrorCode;
  dataset: string;
  version: number;
  message: string;
}

export interface VersionsReport {
  versions: number;
  objects: number;
  bytes: number;
  records: number;
  findings: VersionFinding[];
}

function rootsOf(v: VersionInfo): { what: string; root: TreeRoot }[] {
  return [
    { what: 'records', root: versionRoot(v) },
    ...v.statement.indexes.map((ix) => ({ what: `index ${ix.fields.join(',')}`, root: indexRoot(v, ix.fields)! })),
  ];
}

/** Blind: presence and hash of every object reachable from every retained version. */
export async function verifyVersionsBlind(catalog: Catalog, objects: ObjectStore): Promise<VersionsReport> {
  const report: VersionsReport = { versions: 0, objects: 0, bytes: 0, records: 0, findings: [] };
  const seen = new Set<string>(); // objects shared between versions are checked once
  for (const ds of catalog.datasets.values()) {
    for (const v of retainedVersions(ds)) {
      report.versions++;
      report.records += v.statement.records;
      const where = { dataset: ds.statement.dataset, version: v.statement.version };
      const walk = await walkGraph(
        rootsOf(v).map((r) => r.root.id),
        (ids) => Promise.all(ids.map((id) => objects.get(id).catch(() => undefined))),
        { skip: (id) => seen.has(toHex(id)), onObject: (id) => void seen.add(toHex(id)) },
      );
      report.objects += walk.visited;
      report.bytes += walk.bytes;
      for (const id of walk.missing) {
        report.findings.push({ code: 'store.not-found', ...where, message: `object ${toHex(id)} is missing or unreadable` });
      }
      for (const b of walk.bad) {
        report.findings.push({ code: 'object.id-mismatch', ...where, message: `object ${toHex(b.id)}: ${b.reason}` });
      }
    }
  }
  return report;
}

/**
 * Blind, from a graph already read and hash-checked (a full pack scan gives every valid object's
 * child ids in one sequential pass): every object reachable from every retained version must be
 * in it. No further I/O.
 */
export function verifyVersionsFromGraph(catalog: Catalog, graph: Map<string, { children: ObjectId[]; size: number }>): VersionsReport {
  const report: VersionsReport = { versions: 0, objects: 0, bytes: 0, records: 0, findings: [] };
  const seen = new Set<string>();
  for (const ds of catalog.datasets.values()) {
    for (const v of retainedVersions(ds)) {
      report.versions++;
      report.records += v.statement.records;
      const where = { dataset: ds.statement.dataset, version: v.statement.version };
      const stack = rootsOf(v).map((r) => r.root.id);
      while (stack.length > 0) {
        const id = stack.pop()!;
        const hex = toHex(id);
        if (seen.has(hex)) continue;
        seen.add(hex);
        const node = graph.get(hex);
        if (!node) {
          report.findings.push({ code: 'store.not-found', ...where, message: `object ${hex} is missing or corrupt` });
          continue;
        }
        report.objects++;
        report.bytes += node.size;
        for (const c of node.children) stack.push(c);
      }
    }
  }
  return report;
}

export interface DatasetKeys {
  params: TreeParams;
  store: TreeStore;
}

/**
 * With keys: rechecks every retained version's trees and compares the recomputed commitment and
 * count with the signed statement. `open` gives the tree parameters and a decrypting store for
 * a dataset's data key.
 */
export async function verifyVersionsWithKeys(
  catalog: Catalog,
  open: (ds: DatasetInfo, dekNumber: number) => Promise<DatasetKeys>,
): Promise<VersionsReport> {
  const report: VersionsReport = { versions: 0, objects: 0, bytes: 0, records: 0, findings: [] };
  for (const ds of catalog.datasets.values()) {
    for (const v of retainedVersions(ds)) {
      report.versions++;
      const where = { dataset: ds.statement.dataset, version: v.statement.version };
      let keys: DatasetKeys;
      try {
        keys = await open(ds, v.statement.dek);
      } catch (e) {
        report.findings.push({ code: codeOf(e), ...where, message: (e as Error).message });
        continue;
      }
      for (const { what, root } of rootsOf(v)) {
        try {
          // checkTree recomputes every commitment bottom-up and compares the root's with the one
          // the statement signed, and the record count likewise.
          const shape = await checkTree(root, keys.params, keys.store, { values: true });
          report.objects += shape.nodesPerLevel.reduce((a, b) => a + b, 0);
          if (what === 'records') report.records += shape.records;
        } catch (e) {
          report.findings.push({ code: codeOf(e), ...where, message: `${what}: ${(e as Error).message}` });
        }
      }
    }
  }
  return report;
}

function codeOf(e: unknown): ErrorCode {
  return e instanceof EmbassyError ? e.code : 'tree.corrupt';
}
