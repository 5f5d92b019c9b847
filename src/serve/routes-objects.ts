// POST /objects: batch fetch of encrypted objects for mirrors. Request body: concatenated
// 32-byte object ids (application/octet-stream, 1..MAX_OBJECTS_PER_REQUEST). Response, streamed
// in request order: for each id, id ‖ uint32be length ‖ bytes, with length 0xFFFFFFFF and no
// bytes for an object this site does not hold. Objects are ciphertext: no key is involved, and
// the client re-checks every object against its id.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { EmbassyError } from '../errors.ts';
import type { ObjectId } from '../tree/types.ts';

export const OBJECT_ID_SIZE = 32;
export const MAX_OBJECTS_PER_REQUEST = 4096;
export const MISSING_OBJECT_LENGTH = 0xffffffff;

export interface ObjectReader {
  get(id: ObjectId): Promise<Uint8Array | undefined>;
}

/**
 * `served` counts what is sent (objects and bytes). An object this site holds but cannot read
 * intact (damaged on disk) is answered as missing, so the mirror asks another peer instead of
 * losing the whole batch.
 */
export function registerObjectRoutes(app: FastifyInstance, objects: ObjectReader, served?: (objects: number, bytes: number) => void): void {
  app.post('/objects', async (request, reply) => {
    const body = request.body;
    if (!(body instanceof Uint8Array)) {
      throw new EmbassyError('input.malformed', 'objects: expected an application/octet-stream body of object ids');
    }
    if (body.length === 0 || body.length % OBJECT_ID_SIZE !== 0) {
      throw new EmbassyError('input.malformed', `objects: body of ${body.length} bytes is not a non-empty list of 32-byte ids`);
    }
    const count = body.length / OBJECT_ID_SIZE;
    if (count > MAX_OBJECTS_PER_REQUEST) {
      throw new EmbassyError('input.too-large', `objects: ${count} ids is over ${MAX_OBJECTS_PER_REQUEST} per request`);
    }
    const ids = Array.from({ length: count }, (_, i) => new Uint8Array(body.subarray(i * OBJECT_ID_SIZE, (i + 1) * OBJECT_ID_SIZE)));
    async function* frames(): AsyncGenerator<Buffer> {
      for (const id of ids) {
        let bytes: Uint8Array | undefined;
        try {
          bytes = await objects.get(id);
        } catch (e) {
          request.log.warn({ object: Buffer.from(id).toString('hex'), error: (e as Error).message }, 'objects: stored object unreadable, answered as missing');
          bytes = undefined;
        }
        if (bytes !== undefined) served?.(1, bytes.length);
        const header = Buffer.alloc(OBJECT_ID_SIZE + 4);
        header.set(id, 0);
        header.writeUInt32BE(bytes === undefined ? MISSING_OBJECT_LENGTH : bytes.length, OBJECT_ID_SIZE);
        yield header;
        if (bytes !== undefined && bytes.length > 0) yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
    }
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', 'no-store')
      .send(Readable.from(frames(), { objectMode: false }));
  });
}
