// A followed home as an activation sees it: the mirror's verified copy of the home's log
// (<dir>/follow/<home>/log, kept by src/sync/follow.ts) read into a catalog under the home's
// verifier key from its card. The catalog names every dataset, its wrapped data keys, versions
// and the custody in force; the objects are in the mirror's own store.
import { EmbassyError } from '../errors.ts';
import { loadCatalog, type Catalog } from '../catalog/catalog.ts';
import { parseVerifierKey } from '../log/note.ts';
import type { SiteCard } from '../net/card.ts';
import { CHECKPOINT_PATH, type LogReader } from '../store/log-store.ts';
import { FollowState } from '../sync/follow-state.ts';

export interface HomeCopy {
  card: SiteCard;
  catalog: Catalog;
  log: LogReader;
}

export async function openHomeCopy(siteDir: string, card: SiteCard): Promise<HomeCopy> {
  const state = await FollowState.open(siteDir, card.name);
  const log = state.logStore();
  if ((await log.get(CHECKPOINT_PATH)) === undefined) {
    throw new EmbassyError('site.missing', `activation: this mirror holds no copy of home ${card.name}'s log yet (${state.dir})`, {
      hint: 'a mirror can serve only what it replicated while the home was up',
    });
  }
  const catalog = await loadCatalog(log, parseVerifierKey(card.logVerifierKey));
  return { card, catalog, log };
}
