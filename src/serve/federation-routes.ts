// Routes between the sites of a federation (register encapsulated: it brings its own text body
// parser). Every caller is already a known peer (the onRequest gate in app.ts):
//
//   POST /notify    home → mirror: "I have a new checkpoint" (body: the signed note; a hint only,
//                   the mirror fetches and checks everything itself). 202.
//   POST /receipts  mirror → home: a receipt (the home checkpoint with the mirror's cosignature).
//                   200 {stored, size}; 422 when it does not verify; 409 when it names a tree the
//                   home does not have.
//   GET  /receipts  what this site publishes: a mirror its newest receipt per home, a home the
//                   receipts and witness cosignatures it collected.
import type { FastifyInstance } from 'fastify';
import type { SiteCard } from '../net/card.ts';
import { EmbassyError } from '../errors.ts';
import { MAX_RECEIPT_SIZE } from '../federation/receipt.ts';
import type { StoredReceipt } from '../federation/receipt-store.ts';

export interface FederationRouteDeps {
  /** Mirror: a home this site follows says it has something new. */
  onNotify?: (peer: SiteCard, note: string) => void;
  /** Home: a mirror sends a receipt. */
  receive?: (peer: SiteCard, text: string) => Promise<{ stored: boolean; receipt: StoredReceipt }>;
  /** The body of GET /receipts. */
  published: () => Promise<unknown>;
}

export async function federationRoutes(app: FastifyInstance, deps: FederationRouteDeps): Promise<void> {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: MAX_RECEIPT_SIZE }, (_req, body, done) => done(null, body));

  const text = (body: unknown): string => {
    if (typeof body !== 'string' || body.length === 0) throw new EmbassyError('input.malformed', 'expected a text/plain body');
    return body;
  };

  if (deps.onNotify) {
    const onNotify = deps.onNotify;
    app.post('/notify', { bodyLimit: MAX_RECEIPT_SIZE }, async (request, reply) => {
      onNotify(request.peer!, text(request.body));
      return reply.code(202).header('cache-control', 'no-store').send({ accepted: true });
    });
  }

  if (deps.receive) {
    const receive = deps.receive;
    app.post('/receipts', { bodyLimit: MAX_RECEIPT_SIZE }, async (request, reply) => {
      const { stored, receipt } = await receive(request.peer!, text(request.body));
      request.log.info({ site: receipt.site, size: String(receipt.size), stored }, 'receipt accepted');
      return reply.header('cache-control', 'no-store').send({ stored, site: receipt.site, size: String(receipt.size), cosignedAt: String(receipt.cosignedAt) });
    });
  }

  app.get('/receipts', async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send(await deps.published());
  });
}
