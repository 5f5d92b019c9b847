// A mirror's scrub: reads every pack file and checks every object against its id (the host can
// flip, truncate or delete bytes), repairs the store (good objects out of damaged packs, lost
// ones out of the index), and checks that every retained version of every followed home still
// has its whole graph. Anything found marks those homes `needsFullWalk`: the mirror gives no
// receipt for them until a full pass has fetched the lost objects again from a peer.
import { Buffer } from 'node:buffer';
import { loadCatalog } from '../catalog/catalog.ts';
import { parseVerifierKey } from '../log/note.ts';
import { parseObjectHeader } from '../object/object.ts';
import type { PackFinding, PackObjectStore, PackRepair } from '../store/pack-store.ts';
import type { ObjectId } from '../tree/types.ts';
import { verifyVersionsFromGraph } from '../verify/versions.ts';
import type { FollowedHome } from './follow.ts';
import type { FollowState } from './follow-state.ts';

export interface ScrubReport {
  packs: number;
  objects: number;
  bytes: number;
  /** Pack-level findings before repair (stray files included). */
  findings: PackFinding[];
  repair?: PackRepair;
  /** Per home: retained versions checked and objects of their graphs missing after repair. */
  homes: { home: string; versions: number; missing: number; needsFullWalk: boolean }[];
  /** True when anything was damaged or missing. */
  damaged: boolean;
}

export async function scrubMirror(objects: PackObjectStore, homes: { home: FollowedHome; state: FollowState }[]): Promise<ScrubReport> {
  // One sequential pass checks every pack and collects the stored graph; after a repair, one more.
  const readGraph = async () => {
    const graph = new Map<string, { children: ObjectId[]; size: number }>();
    const scan = await objects.verifyPacks({
      onObject: (id, bytes) => {
        try {
          graph.set(Buffer.from(id).toString('hex'), { children: parseObjectHeader(bytes).children, size: bytes.length });
        } catch {
          // hashes to its id but is not an object: missing below if a version needs it
        }
      },
    });
    return { scan, graph };
  };
  let { scan, graph } = await readGraph();
  const damage = scan.findings.filter((f) => f.kind !== 'stray-file');
  const report: ScrubReport = { packs: scan.packs, objects: scan.objects, bytes: scan.bytes, findings: scan.findings, homes: [], damaged: damage.length > 0 };
  if (damage.length > 0) {
    report.repair = await objects.repairPacks();
    ({ graph } = await readGraph());
  }
  const summary = damage.map((f) => `${f.kind} ${f.pack}${f.object ? ` ${f.object}` : ''}`).slice(0, 5).join('; ');
  for (const { home, state } of homes) {
    let versions = 0;
    let missing = 0;
    if ((await state.logStore().get('checkpoint')) !== undefined) {
      const catalog = await loadCatalog(state.logStore(), parseVerifierKey(home.logVerifierKey));
      const v = verifyVersionsFromGraph(catalog, graph);
      versions = v.versions;
      missing = v.findings.length;
    }
    const needsFullWalk = report.damaged || missing > 0;
    if (needsFullWalk) {
      report.damaged = true;
      const why = missing > 0 ? `${missing} objects of retained versions missing${summary ? `; ${summary}` : ''}` : summary;
      await state.update((s) => ({ ...s, needsFullWalk: true, damage: `${new Date().toISOString()}: ${why}` }));
    }
    report.homes.push({ home: home.name, versions, missing, needsFullWalk });
  }
  return report;
}
