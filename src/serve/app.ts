// The site node's HTTP app, built from its dependencies (log, object store, known peers) so
// that tests drive it in-process with inject(). Every request must come from a known peer: the
// client certificate's SHA-256 fingerprint must be pinned by a stored site card (no CA). The
// TLS listener (src/cli/serve.ts) also drops unknown certificates right after the handshake;
// the onRequest check here is the second, independent gate and the one inject() can exercise.
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { NoteVerifier } from '../log/note.ts';
import type { LogReader } from '../store/log-store.ts';
import type { PeerLookup } from '../net/peers.ts';
import type { SiteCard } from '../net/card.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../format/bytes.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { registerLogRoutes } from './routes-log.ts';
import { MAX_OBJECTS_PER_REQUEST, OBJECT_ID_SIZE, registerObjectRoutes, type ObjectReader } from './routes-objects.ts';
import { createMetrics, registerStatusRoutes, type SiteInfo } from './routes-status.ts';

export interface AppDeps {
  site: SiteInfo;
  log: LogReader;
  logVerifier: NoteVerifier;
  objects?: ObjectReader & { stats?: () => { objects: number } };
  peers: PeerLookup;
  /** Fingerprint (lowercase hex SHA-256 of the DER) of the client certificate; default reads the TLS socket. */
  clientFingerprint?: (request: FastifyRequest) => string | undefined;
  /** Fastify options (logger, https); none for inject() tests. */
  fastify?: FastifyServerOptions & { https?: unknown };
}

declare module 'fastify' {
  interface FastifyRequest {
    peer: SiteCard | null;
  }
}

/** The certificate the client presented on this TLS connection, as our fingerprint. */
export function socketClientFingerprint(request: FastifyRequest): string | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  return cert && cert.raw ? toHex(sha256(new Uint8Array(cert.raw))) : undefined;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify((deps.fastify && ('loggerInstance' in deps.fastify || 'logger' in deps.fastify) ? { ...deps.fastify } : { logger: false, ...deps.fastify }) as FastifyServerOptions) as unknown as FastifyInstance;
  const identify = deps.clientFingerprint ?? socketClientFingerprint;
  const objectCount = deps.objects?.stats ? () => deps.objects!.stats!().objects : undefined;
  const statusDeps = { site: deps.site, log: deps.log, logVerifier: deps.logVerifier, ...(objectCount ? { objectCount } : {}) };
  const { registry, requests, objectsServed, objectBytesServed } = createMetrics(statusDeps);

  app.decorateRequest('peer', null);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ url: request.url }, 'no such route');
    return sendProblem(reply, problem(404, 'no such resource'));
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_OBJECTS_PER_REQUEST * OBJECT_ID_SIZE }, (_req, body, done) => {
    done(null, body);
  });

  app.addHook('onRequest', async (request, reply) => {
    const fingerprint = identify(request);
    const peer = fingerprint === undefined ? undefined : deps.peers.byFingerprint(fingerprint);
    if (!peer) {
      // A fingerprint is public (it is in the card); logging it helps an operator add a missing card.
      request.log.info({ peerFingerprint: fingerprint ?? null, remoteAddress: request.ip }, 'refused: client certificate is not pinned by a known site card');
      return sendProblem(reply, problem(403, 'client certificate is not pinned by a known site card'));
    }
    request.peer = peer;
    request.log = request.log.child({ peer: peer.name });
  });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) });
  });

  registerLogRoutes(app, deps.log);
  if (deps.objects) {
    registerObjectRoutes(app, deps.objects, (n, bytes) => {
      objectsServed.inc(n);
      objectBytesServed.inc(bytes);
    });
  }
  registerStatusRoutes(app, statusDeps, registry);
  return app;
}
