// The admin socket of a mirror's node: the local operator's channel to its activation manager
// (docs/format-fragments/activation.md §admin). A Fastify app on a Unix socket <dir>/admin.sock,
// mode 0600, so that only the site's own user reaches it; no TLS and no token, because the file
// system is the gate. Custodians on the machine decrypt their share files in the CLI (the
// passphrase never reaches the node) and send the share bytes with the file's header. Also here:
// the public share route of the serving API, for custodians who are not on the machine, and the
// client the CLI talks to the socket with. Errors are application/problem+json both ways.
import { request as httpRequest } from 'node:http';
import { chmod, rm, stat } from 'node:fs/promises';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { EmbassyError, ERROR_CODES, type ErrorCode } from '../errors.ts';
import { fromBase64, toBase64 } from '../format/bytes.ts';
import { DEACTIVATION_REASONS, type DeactivationReason } from '../format/mirror-statements.ts';
import { openShareFile } from '../custody/share-file.ts';
import type { ActivationManager, ActivationRequest, ShareSubmission, SubmittedShareMeta } from '../activation/manager.ts';
import { parseDuration } from '../activation/duration.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';

export const ADMIN_SOCKET_FILE = 'admin.sock';
const MAX_BODY = 256 * 1024;
/** Share submissions per minute per client address on the public API (each costs an scrypt). */
export const PUBLIC_SHARE_RATE_PER_MINUTE = 10;

type Manager = Pick<ActivationManager, 'submitShare' | 'drill' | 'status' | 'deactivate' | 'extend'>;

// ---- wire format ----

/** A share as it crosses the socket: the file's header and the share bytes in base64. */
export interface WireShare {
  meta: SubmittedShareMeta & Record<string, unknown>;
  share: string;
}

/** An activation request as it crosses the socket; duration as text ("8h"). */
export interface WireRequest {
  home?: string;
  datasets?: string[];
  duration?: string;
  drill?: boolean;
  reason?: string;
}

function malformed(what: string): EmbassyError {
  return new EmbassyError('input.malformed', `admin: ${what}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

export function parseWireShare(v: unknown): ShareSubmission {
  const o = obj(v, 'a share');
  const m = obj(o.meta, 'share meta');
  for (const k of ['home', 'homeVerifierKey', 'custodian', 'kekFingerprint']) if (typeof m[k] !== 'string' || (m[k] as string).length > 1024) throw malformed(`share meta: ${k} must be a string`);
  if (typeof m.epoch !== 'number' || !Number.isSafeInteger(m.epoch)) throw malformed('share meta: epoch must be an integer');
  const share = typeof o.share === 'string' ? fromBase64(o.share) : undefined;
  if (!share || share.length === 0 || share.length > 1024) throw malformed('share must be base64 of the share bytes');
  return {
    meta: { home: m.home as string, homeVerifierKey: m.homeVerifierKey as string, custodian: m.custodian as string, epoch: m.epoch, kekFingerprint: m.kekFingerprint as string },
    share,
  };
}

export function parseWireRequest(v: unknown): ActivationRequest {
  if (v === undefined || v === null) return {};
  const o = obj(v, 'the request');
  const r: ActivationRequest = {};
  if (o.home !== undefined) {
    if (typeof o.home !== 'string' || o.home.length > 63) throw malformed('home must be a site name');
    r.home = o.home;
  }
  if (o.datasets !== undefined) {
    if (!Array.isArray(o.datasets) || o.datasets.length === 0 || !o.datasets.every((d) => typeof d === 'string' && d.length <= 128)) throw malformed('datasets must be a list of dataset ids');
    r.datasets = o.datasets as string[];
  }
  if (o.duration !== undefined) {
    if (typeof o.duration !== 'string') throw malformed('duration must be text like 8h');
    r.durationMs = parseDuration(o.duration, 'duration');
  }
  if (o.drill !== undefined) {
    if (typeof o.drill !== 'boolean') throw malformed('drill must be a boolean');
    r.drill = o.drill;
  }
  if (o.reason !== undefined) {
    if (typeof o.reason !== 'string' || o.reason.length > 500 || /[\u0000-\u001f]/.test(o.reason)) throw malformed('reason must be one line of at most 500 characters');
    r.reason = o.reason;
  }
  return r;
}

export function toWireShare(s: { meta: SubmittedShareMeta; share: Uint8Array }): WireShare {
  return { meta: { ...s.meta }, share: toBase64(s.share) };
}

// ---- the socket's app ----

export function buildAdminApp(manager: Manager, fastify: FastifyServerOptions = { logger: false }): FastifyInstance {
  const app = Fastify({ bodyLimit: MAX_BODY, ...fastify }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_request, reply) => sendProblem(reply, problem(404, 'no such admin resource')));

  app.get('/status', async () => manager.status());

  app.post('/shares', async (request) => {
    const body = obj(request.body, 'the body');
    const sub = parseWireShare(body);
    return manager.submitShare({ ...sub, request: parseWireRequest(body.request) });
  });

  app.post('/drill', async (request) => {
    const body = obj(request.body, 'the body');
    if (!Array.isArray(body.shares) || body.shares.length === 0 || body.shares.length > 255) throw malformed('shares must be a non-empty list');
    const { drill: _d, ...req } = parseWireRequest(body.request);
    return manager.drill(body.shares.map(parseWireShare), req);
  });

  app.post('/deactivate', async (request) => {
    const body = request.body === undefined || request.body === null ? {} : obj(request.body, 'the body');
    const reason = (body.reason ?? 'operator') as DeactivationReason;
    if (!DEACTIVATION_REASONS.includes(reason) || reason === 'restart' || reason === 'drill-complete' || reason === 'expired') {
      throw malformed('reason must be operator or shutdown');
    }
    return manager.deactivate(reason);
  });

  app.post('/extend', async (request) => {
    const body = obj(request.body, 'the body');
    if (!Array.isArray(body.shares) || body.shares.length === 0 || body.shares.length > 255) throw malformed('shares must be a non-empty list');
    if (typeof body.duration !== 'string') throw malformed('duration must be text like 8h');
    return manager.extend(body.shares.map(parseWireShare), parseDuration(body.duration, 'duration'));
  });
  return app;
}

/**
 * Listens on the socket: a stale socket file (a node that died) is removed first; the socket is
 * made 0600 before anything can be done through it (requests wait for the chmod). Returns the
 * closer, which stops the app and removes the file.
 */
export async function listenAdmin(app: FastifyInstance, socketPath: string): Promise<() => Promise<void>> {
  const existing = await stat(socketPath).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket()) throw new EmbassyError('site.config', `admin: ${socketPath} exists and is not a socket`, { hint: 'move it away' });
    await rm(socketPath, { force: true });
  }
  let ready!: () => void;
  const gate = new Promise<void>((r) => (ready = r));
  app.addHook('onRequest', async () => gate);
  try {
    await app.listen({ path: socketPath });
    await chmod(socketPath, 0o600);
  } catch (e) {
    await app.close().catch(() => undefined);
    throw new EmbassyError('store.io', `admin: cannot listen on ${socketPath}: ${(e as Error).message}`);
  }
  ready();
  return async () => {
    await app.close();
    await rm(socketPath, { force: true });
  };
}

// ---- the public share route (serving API, HTTPS) ----

/**
 * POST /api/v1/activation/shares {share: <share file text>, passphrase, request?}: for a custodian
 * who is not on the machine. The share file is opened here (scrypt, so the route is rate
 * limited per client address); the passphrase is dropped right after. Drills are not started
 * from outside: they are the operator's (the admin socket).
 */
export function publicShareRoutes(manager: Pick<ActivationManager, 'submitShare'>, base = '/api/v1'): (app: FastifyInstance) => void {
  return (app) => {
    app.post(`${base}/activation/shares`, { bodyLimit: 128 * 1024, config: { rateLimit: { max: PUBLIC_SHARE_RATE_PER_MINUTE, timeWindow: 60_000, keyGenerator: (r: { ip: string }) => `share:${r.ip}` } } }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const body = obj(request.body, 'the body');
      if (typeof body.share !== 'string' || typeof body.passphrase !== 'string') throw malformed('expected {share: <share file text>, passphrase}');
      const req = parseWireRequest(body.request);
      if (req.drill) throw new EmbassyError('activation.conflict', 'activation: drills are started by the operator on the machine (`embassy drill`)');
      const opened = await openShareFile(body.share, body.passphrase, 'the submitted share');
      try {
        const r = await manager.submitShare({ meta: opened.meta, share: opened.share, request: req });
        return { custodian: r.custodian, have: r.have, need: r.need, state: r.status.state, ...(r.activated ? { activated: r.activated } : {}) };
      } finally {
        opened.share.fill(0);
      }
    });
  };
}

// ---- the client (CLI side) ----

const ADMIN_CODES = new Set<string>(ERROR_CODES);

/** Sends one request over the admin socket; a problem answer becomes the EmbassyError it stands for. */
export function adminRequest(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath, method, path, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            reject(new EmbassyError('input.malformed', `admin: ${path} answered ${res.statusCode} with a body that is not JSON`));
            return;
          }
          if (res.statusCode === 200) {
            resolve(parsed);
            return;
          }
          const p = (parsed ?? {}) as { type?: string; detail?: string; title?: string };
          const code = typeof p.type === 'string' ? p.type.slice(p.type.lastIndexOf('/') + 1) : '';
          reject(new EmbassyError(ADMIN_CODES.has(code) ? (code as ErrorCode) : 'store.io', p.detail ?? `admin: ${path} answered ${res.statusCode} ${p.title ?? ''}`.trim()));
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        reject(new EmbassyError('site.missing', `admin: no node is running for this site (no socket at ${socketPath})`, {
          hint: 'start it with `embassy serve --dir DIR`; activation happens inside the running mirror node',
        }));
      } else if (e.code === 'EACCES') {
        reject(new EmbassyError('site.config', `admin: ${socketPath} is not ours to use (${e.code})`, { hint: 'run as the user that runs the node' }));
      } else {
        reject(new EmbassyError('store.io', `admin: ${socketPath}: ${e.message}`));
      }
    });
    req.end(payload);
  });
}
