// POST /add-checkpoint (c2sp.org/tlog-witness) as a Fastify plugin. Register it encapsulated,
// `app.register(witnessRoutes, deps)` (optionally with a prefix), so its catch-all body parser
// stays inside. Bodies: 200 cosignature lines; 409 the known size as text/x.tlog.size; the other
// refusals are free-form in the spec, so they are RFC 9457 problem details.
import type { FastifyInstance } from 'fastify';
import { ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE, formatAddCheckpointConflict } from '../log/witness.ts';
import type { NoteSigner } from '../log/note.ts';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.ts';
import { addCheckpoint, type WitnessFinding } from '../witness/witness.ts';
import type { WitnessState } from '../witness/state.ts';

/** Well above 63 proof lines and a checkpoint with many cosignatures; larger bodies get 413. */
export const ADD_CHECKPOINT_BODY_LIMIT = 64 * 1024;

export interface WitnessDeps {
  state: WitnessState;
  /** The site's cosignature/v1 signer (Site.cosigner(now)), timestamping with the same clock as `now`. */
  cosigner: NoteSigner;
  /** POSIX seconds. */
  now: () => bigint;
  /** Forks and rollbacks, for /status and /metrics. */
  onConflict?: (finding: WitnessFinding) => void;
}

// Log keys, bound once per request.
const K = { origin: 'origin', oldSize: 'oldSize', size: 'size', knownSize: 'knownSize', reason: 'reason', status: 'status', finding: 'finding' } as const;

const str = (n: bigint | undefined): string | undefined => (n === undefined ? undefined : n.toString());

export async function witnessRoutes(app: FastifyInstance, deps: WitnessDeps): Promise<void> {
  // The spec names no request content type: take any (or none) as raw bytes, strictly UTF-8-decoded later.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ADD_CHECKPOINT_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.post('/add-checkpoint', { bodyLimit: ADD_CHECKPOINT_BODY_LIMIT }, async (request, reply) => {
    const raw = request.body;
    const body = raw instanceof Uint8Array ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : new Uint8Array(0);
    const out = await addCheckpoint(body, deps.state, deps.cosigner, deps.now, deps.onConflict ? { onConflict: deps.onConflict } : {});
    reply.header('cache-control', 'no-store');
    if (out.status === 200) {
      request.log.info({ [K.origin]: out.origin, [K.oldSize]: str(out.oldSize), [K.size]: str(out.size) }, 'witness: cosigned');
      return reply.code(200).type('text/plain; charset=utf-8').send(out.body);
    }
    const fields = {
      [K.status]: out.status,
      [K.reason]: out.reason,
      [K.origin]: out.origin,
      [K.oldSize]: str(out.oldSize),
      [K.size]: str(out.size),
      [K.knownSize]: str(out.knownSize),
    };
    if (out.finding !== undefined) {
      // Evidence of log misbehaviour: logged louder than an ordinary refusal.
      request.log.warn({ ...fields, [K.finding]: out.finding.kind }, `witness: ${out.finding.kind} detected`);
    } else {
      request.log.info(fields, 'witness: refused');
    }
    if (out.status === 409) {
      return reply.code(409).type(ADD_CHECKPOINT_CONFLICT_CONTENT_TYPE).send(formatAddCheckpointConflict(out.knownSize!));
    }
    return reply
      .code(out.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify(problem(out.status, out.detail)));
  });
}
