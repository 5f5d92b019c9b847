// GET /status (what this site holds, as JSON), GET /health (200 "ok" when the log's checkpoint
// opens under the site's key) and GET /metrics (Prometheus text from the app's own registry:
// requests by route and status, log size, object count).
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { loadCatalog } from '../catalog/catalog.ts';
import { openCheckpoint } from '../log/checkpoint.ts';
import type { NoteVerifier } from '../log/note.ts';
import { CHECKPOINT_PATH, type LogReader } from '../store/log-store.ts';
import { problem, sendProblem } from './problem.ts';

export interface SiteInfo {
  name: string;
  role: string;
  origin: string;
}

export interface StatusDeps {
  site: SiteInfo;
  log: LogReader;
  logVerifier: NoteVerifier;
  /** Number of stored objects, if the site has an object store. */
  objectCount?: () => number;
}

async function logSize(log: LogReader, verifier: NoteVerifier): Promise<bigint> {
  const raw = await log.get(CHECKPOINT_PATH);
  if (raw === undefined) throw new Error('no checkpoint');
  return openCheckpoint(new TextDecoder().decode(raw), verifier).checkpoint.size;
}

export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  objectsServed: Counter;
  objectBytesServed: Counter;
}

export function createMetrics(deps: StatusDeps): Metrics {
  const registry = new Registry();
  const objectsServed = new Counter({ name: 'embassy_objects_served_total', help: 'Objects sent to peers (POST /objects)', registers: [registry] });
  const objectBytesServed = new Counter({ name: 'embassy_object_bytes_served_total', help: 'Object bytes sent to peers (POST /objects)', registers: [registry] });
  const requests = new Counter({
    name: 'embassy_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'embassy_log_size',
    help: 'Entries in the site log at its current checkpoint',
    registers: [registry],
    async collect() {
      try {
        this.set(Number(await logSize(deps.log, deps.logVerifier)));
      } catch {
        this.reset();
      }
    },
  });
  if (deps.objectCount) {
    const count = deps.objectCount;
    new Gauge({
      name: 'embassy_objects',
      help: 'Encrypted objects in the site store',
      registers: [registry],
      collect() {
        this.set(count());
      },
    });
  }
  return { registry, requests, objectsServed, objectBytesServed };
}

export function registerStatusRoutes(app: FastifyInstance, deps: StatusDeps, registry: Registry): void {
  app.get('/health', async (request, reply) => {
    try {
      await logSize(deps.log, deps.logVerifier);
    } catch (e) {
      request.log.error({ err: e }, 'health: log does not open');
      return sendProblem(reply, problem(503, 'log does not open'));
    }
    return reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').send('ok');
  });

  app.get('/status', async (_request, reply) => {
    const size = await logSize(deps.log, deps.logVerifier);
    const datasets: unknown[] = [];
    if (deps.site.role === 'home') {
      // TODO(issue 4): keep the catalog in memory and extend it per new checkpoint.
      const catalog = await loadCatalog(deps.log, deps.logVerifier);
      for (const [id, ds] of catalog.datasets) {
        const newest = ds.versions[ds.versions.length - 1];
        datasets.push({
          id,
          versions: ds.versions.length,
          newest: newest
            ? { version: newest.statement.version, records: newest.statement.records, sourceTime: newest.statement.sourceTime, logIndex: Number(newest.logIndex) }
            : null,
        });
      }
    }
    return reply.header('cache-control', 'no-store').send({
      name: deps.site.name,
      role: deps.site.role,
      origin: deps.site.origin,
      logSize: Number(size),
      ...(deps.objectCount ? { objects: deps.objectCount() } : {}),
      datasets,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
