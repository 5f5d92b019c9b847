// The Haal Centraal BRP Personen façade mounted on the serving API: POST
// /haalcentraal/api/brp/personen, answered by src/brp/query.ts in the BRP API's own shapes from
// the newest version of the BRP dataset, behind the same token, rate limit, activation and
// journal gates as every other read (the BRP law requires logging each disclosure).
import type { FastifyInstance } from 'fastify';
import { BRP_DATASET, handlePersonenQuery, type BrpData } from '../brp/query.ts';
import type { DatasetView } from './access.ts';
import type { ApiKit } from './app.ts';
import { BRP_PATH } from './openapi.ts';
import { readKey, readLookup, selectVersion } from './reads.ts';
import { JSON_CONTENT_TYPE, type TreeRecord } from '../tree/types.ts';
import { utf8Strict } from '../format/bytes.ts';

function valueOf(r: TreeRecord): unknown {
  return r.contentType === JSON_CONTENT_TYPE ? JSON.parse(utf8Strict.decode(r.value)) : undefined;
}

/** BrpData over the newest version of a dataset view: key reads and index lookups. */
export function brpDataOf(view: DatasetView): BrpData {
  const v = selectVersion(view, {});
  return {
    async getByBsn(bsns) {
      const out: { key: string; value: unknown }[] = [];
      for (const bsn of bsns) {
        const r = await readKey(view, v, bsn);
        if (r) out.push({ key: r.key, value: valueOf(r) });
      }
      return out;
    },
    async lookup(fields, values, limit) {
      // The façade bounds its own candidate sets (a birthday matches many); not the client limit.
      const found = await readLookup(view, v, { fields, values, limit }, false, Number.MAX_SAFE_INTEGER);
      return found.map((f) => ({ key: f.record.key, value: valueOf(f.record) }));
    },
  };
}

/** The BSNs a request names (for the journal of a refused request): a best effort, never throws. */
function askedBsns(body: unknown): string[] {
  const b = body as { burgerservicenummer?: unknown } | null;
  const list = b && Array.isArray(b.burgerservicenummer) ? b.burgerservicenummer : [];
  return list.filter((x): x is string => typeof x === 'string').slice(0, 100);
}

export function registerBrpRoute(api: FastifyInstance, kit: ApiKit): void {
  api.post(
    BRP_PATH,
    {
      onRequest: kit.authenticate,
      config: { rateLimit: kit.rateLimited, read: { op: 'brp.personen', dataset: BRP_DATASET, asked: askedBsns } },
    },
    async (request, reply) => {
      const answer = await kit.journaledRead(request, BRP_DATASET, async (view) => {
        const v = selectVersion(view, {});
        const r = await handlePersonenQuery(request.body, brpDataOf(view));
        return { result: r, keys: r.status < 300 ? r.keys : askedBsns(request.body), version: v.statement.version, status: r.status };
      });
      return reply.code(answer.status).header('content-type', answer.contentType).header('cache-control', 'no-store').send(Buffer.from(JSON.stringify(answer.body)));
    },
  );
}
