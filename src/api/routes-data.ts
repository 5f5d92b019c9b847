// The generic data routes of the serving API: datasets, versions, a record by key, range scans
// and index lookups, each record optionally with its proof bundle. Record keys and index values
// travel in POST bodies only. Gates and journaling are in app.ts (ApiKit).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EmbassyError } from '../errors.ts';
import type { ApiKit } from './app.ts';
import { API_BASE, REQUEST_SCHEMAS } from './openapi.ts';
import { presentRecord, presentRecordJson, proveKeyJson, readKey, readLookup, readRange, selectVersion, type VersionSelector } from './reads.ts';

/** An answer already serialized (JSON text), sent as is. */
class JsonText {
  constructor(readonly text: string) {}
}
import type { DatasetView } from './access.ts';

interface GetBody extends VersionSelector {
  key: string;
  proof?: boolean;
}
interface RangeBody extends VersionSelector {
  from?: string;
  to?: string;
  after?: string;
  limit?: number;
}
interface LookupBody extends VersionSelector {
  fields: string[];
  values: (string | number)[];
  limit?: number;
  proof?: boolean;
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const;

function obj(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

function summary(view: DatasetView) {
  const newest = view.versions[view.versions.length - 1];
  return {
    id: view.id,
    homeOrigin: view.homeOrigin,
    homeVerifierKey: view.homeVerifierKey,
    key: view.statement.key,
    indexes: view.statement.indexes,
    version: newest?.statement.version ?? null,
    records: newest?.statement.records ?? null,
    sourceTime: newest?.statement.sourceTime ?? null,
  };
}

export function registerDataRoutes(api: FastifyInstance, kit: ApiKit): void {
  const { authenticate, rateLimited } = kit;
  const noStore = { 'cache-control': 'no-store' };

  api.get(`${API_BASE}/datasets`, { onRequest: authenticate, config: { rateLimit: rateLimited } }, async (request, reply) => {
    const a = kit.activation();
    const grant = request.grant!;
    const ids = [...a.datasets].filter((id) => grant.datasets.includes(id)).sort();
    const datasets = ids.flatMap((id) => {
      const view = kit.deps.access.dataset(id);
      return view ? [summary(view)] : [];
    });
    reply.headers(noStore);
    return { datasets };
  });

  api.get<{ Params: { id: string } }>(`${API_BASE}/datasets/:id/versions`, { onRequest: authenticate, config: { rateLimit: rateLimited }, schema: { params: idParams } }, async (request, reply) => {
    const view = kit.datasetFor(request, request.params.id, kit.activation());
    reply.headers(noStore);
    return {
      dataset: view.id,
      versions: view.versions.map((v) => ({
        version: v.statement.version,
        records: v.statement.records,
        sourceTime: v.statement.sourceTime,
        logIndex: Number(v.logIndex),
        commitment: v.statement.commitment,
      })),
    };
  });

  const selector = (b: VersionSelector): VersionSelector => ({ ...(b.version !== undefined ? { version: b.version } : {}), ...(b.at !== undefined ? { at: b.at } : {}) });

  api.post<{ Params: { id: string }; Body: GetBody }>(
    `${API_BASE}/datasets/:id/records/get`,
    {
      onRequest: authenticate,
      schema: { params: idParams, body: REQUEST_SCHEMAS.RecordGetRequest },
      config: { rateLimit: rateLimited, read: { op: 'records.get', asked: (b) => (typeof obj(b).key === 'string' ? [obj(b).key as string] : []) } },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Body: GetBody }>, reply) => {
      const b = request.body;
      const body = await kit.journaledRead<JsonText | Record<string, unknown>>(request, request.params.id, async (view) => {
        const v = selectVersion(view, selector(b));
        const base = { dataset: view.id, version: v.statement.version, sourceTime: v.statement.sourceTime };
        const notFound = () => new EmbassyError('record.not-found', `${view.id} version ${v.statement.version}: no record with that key`);
        if (b.proof) {
          // Made as text: the bundle's constant part is cached per version, the value embedded as stored.
          const p = await proveKeyJson(view, v, b.key);
          if (!p) throw notFound();
          const text = `{"dataset":${JSON.stringify(base.dataset)},"version":${base.version},"sourceTime":${JSON.stringify(base.sourceTime)},"record":${presentRecordJson(p.record)},"proof":${p.bundleJson}}`;
          return { result: new JsonText(text), keys: [b.key], version: v.statement.version };
        }
        const r = await readKey(view, v, b.key);
        if (!r) throw notFound();
        return { result: { ...base, record: presentRecord(r) }, keys: [b.key], version: v.statement.version };
      });
      reply.headers(noStore);
      if (body instanceof JsonText) return reply.type('application/json; charset=utf-8').send(body.text);
      return body;
    },
  );

  api.post<{ Params: { id: string }; Body: RangeBody }>(
    `${API_BASE}/datasets/:id/records/range`,
    {
      onRequest: authenticate,
      schema: { params: idParams, body: REQUEST_SCHEMAS.RecordRangeRequest },
      config: { rateLimit: rateLimited, read: { op: 'records.range', asked: () => [] } },
    },
    async (request, reply) => {
      const b = request.body;
      const body = await kit.journaledRead(request, request.params.id, async (view) => {
        const v = selectVersion(view, selector(b));
        const page = await readRange(view, v, {
          ...(b.from !== undefined ? { from: b.from } : {}),
          ...(b.to !== undefined ? { to: b.to } : {}),
          ...(b.after !== undefined ? { after: b.after } : {}),
          ...(b.limit !== undefined ? { limit: b.limit } : {}),
        });
        const result = {
          dataset: view.id,
          version: v.statement.version,
          sourceTime: v.statement.sourceTime,
          records: page.records.map(presentRecord),
          ...(page.next !== undefined ? { next: page.next } : {}),
        };
        return { result, keys: page.records.map((r) => r.key), version: v.statement.version };
      });
      reply.headers(noStore);
      return body;
    },
  );

  api.post<{ Params: { id: string }; Body: LookupBody }>(
    `${API_BASE}/datasets/:id/index/lookup`,
    {
      onRequest: authenticate,
      schema: { params: idParams, body: REQUEST_SCHEMAS.IndexLookupRequest },
      config: { rateLimit: rateLimited, read: { op: 'index.lookup', asked: () => [] } },
    },
    async (request, reply) => {
      const b = request.body;
      const body = await kit.journaledRead(request, request.params.id, async (view) => {
        const v = selectVersion(view, selector(b));
        const found = await readLookup(view, v, { fields: b.fields, values: b.values, ...(b.limit !== undefined ? { limit: b.limit } : {}) }, !!b.proof);
        const result = {
          dataset: view.id,
          version: v.statement.version,
          sourceTime: v.statement.sourceTime,
          records: found.map((f) => ({ ...presentRecord(f.record), ...(f.bundle ? { proof: f.bundle } : {}) })),
        };
        return { result, keys: found.map((f) => f.record.key), version: v.statement.version };
      });
      reply.headers(noStore);
      return body;
    },
  );
}
