// The serving API (DESIGN.md §7): datasets, versions, records with proofs and the BRP façade,
// built from its dependencies so tests drive it in-process with inject(). Gates, in order, each
// refusing with application/problem+json before anything is read:
//   1. a BSN in the URL (path or query) → 400, before routing and without logging the URL;
//   2. bearer token (401 auth.unauthorized, WWW-Authenticate: Bearer);
//   3. rate limit per token (429 rate.limited);
//   4. activation in force (503 activation.inactive / .expired), token scope and activation scope
//      (403 auth.forbidden), then the dataset (404).
// From gate 3 on, every request to a read operation is journaled (who, which activation, which
// dataset, which keys, status) before its response is sent; a read whose journal entry cannot be
// made durable is not served. Every response carries API-Version (NL API Design Rules).
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { problem, problemFor, sendProblem } from '../serve/problem.ts';
import type { DataAccess, DatasetView, ServingActivation } from './access.ts';
import { urlHasBsn } from './bsn-guard.ts';
import type { AccessJournal, JournalEntryInput } from './journal.ts';
import { API_BASE, API_VERSION, openApiDocument } from './openapi.ts';
import { registerBrpRoute } from './routes-brp.ts';
import { registerDataRoutes } from './routes-data.ts';
import type { TokenGrant, TokenStore } from './tokens.ts';

export interface ApiDeps {
  access: DataAccess;
  tokens: Pick<TokenStore, 'verify'>;
  journal: Pick<AccessJournal, 'append'>;
  site: { name: string; role: string };
  /** Fastify options (loggerInstance, https); none for inject() tests. Request logging is always off. */
  fastify?: FastifyServerOptions & { https?: unknown };
  /** The rate of a grant that names none. */
  rateLimit?: { defaultPerMinute: number };
  /** Extra routes (e.g. activation share submission); they get the same hooks and error mapping. */
  register?: (app: FastifyInstance) => void | Promise<void>;
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
}

/** What a read operation journals; set by its route, completed by the handler or the error handler. */
export interface JournalContext {
  op: string;
  dataset: string;
  keys: string[];
  version?: number;
  activation?: ServingActivation;
  done: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    grant: TokenGrant | null;
    journalContext: JournalContext | null;
  }
  interface FastifyContextConfig {
    /** The journaled operation of a read route, and the keys a request asks for (for refusals). */
    read?: { op: string; dataset?: string; asked: (body: unknown) => string[] };
  }
}

const DEFAULT_RATE_PER_MINUTE = 6000;

/** Helpers the route modules share. */
export interface ApiKit {
  deps: ApiDeps;
  now: () => number;
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** The rate-limit config to put in a route's `config.rateLimit`. */
  rateLimited: Record<string, never>;
  /** The activation in force, or throws 503. */
  activation: () => ServingActivation;
  /** A dataset the grant and the activation may read, or throws 403/404. */
  datasetFor: (request: FastifyRequest, id: string, activation: ServingActivation) => DatasetView;
  /** Runs a read; journals it (status 200) before the caller sends the result. */
  journaledRead: <T>(request: FastifyRequest, dataset: string, run: (view: DatasetView, activation: ServingActivation) => Promise<{ result: T; keys: string[]; version?: number; status?: number }>) => Promise<T>;
}

function inScope(scope: readonly string[], id: string): boolean {
  return scope.includes(id);
}

function sanitizedFastifyOptions(o: ApiDeps['fastify']): FastifyServerOptions {
  const hasLogger = o !== undefined && ('loggerInstance' in o || 'logger' in o);
  return {
    ...(hasLogger ? {} : { logger: false }),
    ...o,
    // Request lines carry URLs and headers: a URL may hold what the BSN guard refuses, a header a
    // token. Fastify's own request and error lines are off; onResponse logs the route pattern.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  } as FastifyServerOptions;
}

export function buildApiApp(deps: ApiDeps): FastifyInstance {
  const app = Fastify(sanitizedFastifyOptions(deps.fastify)) as unknown as FastifyInstance;
  const now = deps.now ?? Date.now;

  app.decorateRequest('grant', null);
  app.decorateRequest('journalContext', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('API-Version', API_VERSION);
    if (urlHasBsn(request.url)) {
      request.log.info({ code: 'input.malformed', status: 400 }, 'refused: personal identifier in the URL');
      throw new EmbassyError('input.malformed', 'personal identifiers do not belong in URLs; send them in a POST body');
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('API-Version')) reply.header('API-Version', API_VERSION);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the URL as sent.
    request.log.info({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: reply.statusCode, tokenId: request.grant?.tokenId, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  const journalEntry = (request: FastifyRequest, c: JournalContext, status: number): JournalEntryInput => {
    const g = request.grant!;
    return {
      client: g.client,
      tokenId: g.tokenId,
      activation: c.activation?.id ?? 'none',
      drill: c.activation?.drill ?? false,
      dataset: c.dataset,
      op: c.op,
      keys: c.keys,
      ...(c.version !== undefined ? { version: c.version } : {}),
      status,
    };
  };

  /** The journal context of a request to a read route, made from what the request asks for. */
  const contextOf = (request: FastifyRequest): JournalContext | null => {
    if (request.journalContext) return request.journalContext;
    const read = request.routeOptions.config?.read;
    if (!read || !request.grant) return null;
    let keys: string[] = [];
    try {
      keys = read.asked(request.body);
    } catch {
      // an unreadable body asks for nothing in particular
    }
    const dataset = read.dataset ?? String((request.params as { id?: unknown })?.id ?? '');
    request.journalContext = { op: read.op, dataset, keys, done: false };
    return request.journalContext;
  };

  app.setErrorHandler(async (err, request, reply) => {
    let p = problemFor(err);
    const code = isEmbassyError(err) ? err.code : (err as { code?: string })?.code;
    const c = contextOf(request);
    if (c && !c.done) {
      c.done = true;
      try {
        await deps.journal.append(journalEntry(request, c, p.status));
      } catch (e) {
        request.log.error({ err: e }, 'access journal: cannot record a refused read');
        p = problem(503, 'the access journal is unavailable', 'store.io');
      }
    }
    if (p.status >= 500) request.log.error({ err, code }, 'request failed');
    else request.log.info({ code, status: p.status }, 'request refused');
    if (p.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="data-embassy"');
    return sendProblem(reply, p);
  });
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ method: request.method }, 'no such route');
    return sendProblem(reply, problem(404, 'no such resource'));
  });

  const authenticate = async (request: FastifyRequest): Promise<void> => {
    const h = request.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer +([\x21-\x7e]+) *$/i.exec(h) : null;
    if (!m) throw new EmbassyError('auth.unauthorized', 'api: a bearer token is required (Authorization: Bearer <token>)');
    const grant = deps.tokens.verify(m[1]!);
    if (!grant || grant.notAfter <= now()) throw new EmbassyError('auth.unauthorized', 'api: the bearer token is not valid (unknown, revoked or expired)');
    request.grant = grant;
    request.log = request.log.child({ tokenId: grant.tokenId });
  };

  const activation = (): ServingActivation => {
    const a = deps.access.current();
    if (!a) throw new EmbassyError('activation.inactive', `${deps.site.name}: nothing is served: no activation is in force`);
    if (a.notAfter !== undefined && a.notAfter <= now()) throw new EmbassyError('activation.expired', `${deps.site.name}: the activation ${a.id} has expired`);
    return a;
  };

  const datasetFor = (request: FastifyRequest, id: string, a: ServingActivation): DatasetView => {
    if (!inScope(request.grant!.datasets, id)) throw new EmbassyError('auth.forbidden', `api: dataset ${id} is outside the token's scope`);
    if (!inScope(a.datasets, id)) throw new EmbassyError('auth.forbidden', `api: dataset ${id} is outside the activation ${a.id}`);
    const view = deps.access.dataset(id);
    if (!view) throw new EmbassyError('dataset.unknown', `dataset ${id} is not served here`);
    return view;
  };

  const journaledRead: ApiKit['journaledRead'] = async (request, dataset, run) => {
    const c = contextOf(request) ?? { op: 'read', dataset, keys: [], done: false };
    c.dataset = dataset;
    // Journaled under the activation as it is, even when it is refused below for having expired.
    const current = deps.access.current();
    if (current) c.activation = current;
    c.activation = activation();
    const view = datasetFor(request, dataset, c.activation);
    const out = await run(view, c.activation);
    c.keys = out.keys;
    if (out.version !== undefined) c.version = out.version;
    // Durable before the answer leaves: a read the journal cannot hold is not served.
    c.done = true;
    try {
      await deps.journal.append(journalEntry(request, c, out.status ?? 200));
    } catch (e) {
      request.log.error({ err: e }, 'access journal: cannot record a read; not serving it');
      throw new EmbassyError('store.io', 'the access journal is unavailable');
    }
    return out.result;
  };

  const kit: ApiKit = {
    deps,
    now,
    authenticate,
    rateLimited: {},
    activation,
    datasetFor,
    journaledRead,
  };

  void app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => request.grant?.tokenId ?? `ip:${request.ip}`,
    max: (request: FastifyRequest) => request.grant?.ratePerMinute ?? deps.rateLimit?.defaultPerMinute ?? DEFAULT_RATE_PER_MINUTE,
    errorResponseBuilder: (_request: FastifyRequest, ctx: { after: string }) => new EmbassyError('rate.limited', `api: rate limit of this token exceeded; retry after ${ctx.after}`),
  });

  void app.register(async (api) => {
    api.get(`${API_BASE}/openapi.json`, async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return openApiDocument();
    });
    api.get(`${API_BASE}/status`, async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      const a = deps.access.current();
      const live = a !== undefined && (a.notAfter === undefined || a.notAfter > now());
      return {
        site: deps.site.name,
        role: deps.site.role,
        active: live,
        ...(a && live ? { activation: { id: a.id, drill: a.drill, notAfter: a.notAfter === undefined ? null : new Date(a.notAfter).toISOString(), datasets: [...a.datasets] } } : {}),
      };
    });
    registerDataRoutes(api, kit);
    registerBrpRoute(api, kit);
    if (deps.register) await deps.register(api);
  });
  return app;
}
