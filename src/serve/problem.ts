// Errors to HTTP, in one place: every error a route throws becomes an RFC 9457
// application/problem+json body. 5xx are logged at error, 4xx at info; the detail of a 5xx is
// generic so that no internal path or state leaks to a peer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isEmbassyError, type ErrorCode } from '../errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  usage: 400,
  'input.malformed': 400,
  'json.invalid': 400,
  'input.too-large': 413,
  'tile.malformed': 404, // a path that is not a log resource names nothing
  'store.not-found': 404,
  'dataset.unknown': 404,
  'version.unknown': 404,
  'record.not-found': 404,
  'site.missing': 503,
  'store.io': 503,
  'log.locked': 503,
  'note.malformed': 400,
  'checkpoint.malformed': 400,
  'cosignature.malformed': 400,
  'note.unverified': 422,
  'note.bad-signature': 422,
  'checkpoint.origin-mismatch': 422,
  'cosignature.invalid': 422,
  'log.inconsistent': 409,
  'site.config': 403,
  'custody.none': 409,
  'custody.passphrase': 422,
  'custody.wrong-share': 422,
  'custody.short': 422,
  'custody.mismatch': 422,
  'activation.inactive': 503,
  'activation.conflict': 409,
  'activation.expired': 503,
  'auth.unauthorized': 401,
  'auth.forbidden': 403,
  'rate.limited': 429,
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, detail?: string, code?: string): Problem {
  return {
    type: code ? `https://data-embassy.example/problems/${code}` : 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail ? { detail } : {}),
  };
}

/** The one mapping from a thrown error to a problem. */
export function problemFor(err: unknown): Problem {
  if (isEmbassyError(err)) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    // An inactive mirror says why it will not serve; other 5xx details stay generic.
    return problem(status, status < 500 || err.code.startsWith('activation.') ? err.message : undefined, err.code);
  }
  const statusCode = (err as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return problem(statusCode, (err as Error).message);
  }
  return problem(500);
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).header('content-type', PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store').send(Buffer.from(JSON.stringify(p))); // a Buffer, so no charset parameter is added
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const p = problemFor(err);
  const code = isEmbassyError(err) ? err.code : (err as { code?: string })?.code;
  if (p.status >= 500) request.log.error({ err, code }, 'request failed');
  else request.log.info({ code, status: p.status }, 'request refused');
  return sendProblem(reply, p);
}
