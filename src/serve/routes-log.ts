// The site's log as C2SP tlog-tiles resources under /log/ (checkpoint, tile/<L>/<N>[.p/<W>],
// tile/entries/<N>[.p/<W>]). Only paths that parseTilePath accepts reach the store. Caching per
// tlog-tiles: the checkpoint changes, so no-store; a tile or bundle path (full or partial) names
// bytes that never change once a checkpoint covers them, so public, a year, immutable.
import type { FastifyInstance } from 'fastify';
import { EmbassyError } from '../errors.ts';
import { parseTilePath } from '../log/tile.ts';
import { CHECKPOINT_PATH, type LogReader } from '../store/log-store.ts';

export const CHECKPOINT_CACHE_CONTROL = 'no-store';
export const TILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

export function registerLogRoutes(app: FastifyInstance, log: LogReader): void {
  app.get('/log/checkpoint', async (_request, reply) => {
    const bytes = await log.get(CHECKPOINT_PATH);
    if (bytes === undefined) throw new EmbassyError('store.not-found', 'log: no checkpoint');
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', CHECKPOINT_CACHE_CONTROL)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  app.get('/log/tile/*', async (request, reply) => {
    const path = `tile/${(request.params as { '*': string })['*']}`;
    parseTilePath(path); // tile.malformed → 404 before any store access
    const bytes = await log.get(path);
    if (bytes === undefined) throw new EmbassyError('store.not-found', `log: no ${path}`);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', TILE_CACHE_CONTROL)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
